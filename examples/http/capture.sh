#!/usr/bin/env bash
# An order service's capture through Temporal's own HTTP API, with curl only: the `capture`
# Update sent with Update-with-Start (execute-multi-operation), the same shipment again, and the
# capture found by its search attributes. docs/contract.md gives every name used here.
#
#   TEMPORAL_HTTP=http://localhost:7243 examples/http/capture.sh PAYMENT_ID VALUE CURRENCY KEY
#
# VALUE is the authorized amount in minor units ("1000" is 10.00 USD), captured in full under
# KEY (e.g. the shipment id). Each response is printed as one JSON line.
set -euo pipefail
if [ $# -ne 4 ]; then
  echo "usage: TEMPORAL_HTTP=http://host:port $0 PAYMENT_ID VALUE CURRENCY KEY" >&2
  exit 2
fi
http=${TEMPORAL_HTTP:?set TEMPORAL_HTTP to the HTTP API of Temporal, e.g. http://localhost:7243}
ns=${TEMPORAL_NAMESPACE:-default}
tq=${CAPTURE_TASK_QUEUE:-alipay-capture}
pid=$1 value=$2 currency=$3 key=$4

# The start (the authorization, with the search attributes and memo capture.Client sets) and the
# capture request in one atomic call. The update id is derived from the key, so that a retry of
# this call is the same request.
capture() {
  curl -sS --fail-with-body -X POST "$http/api/v1/namespaces/$ns/workflows/execute-multi-operation" \
    -H 'Content-Type: application/json' -d @- <<JSON
{"namespace": "$ns", "operations": [
  {"startWorkflow": {
    "namespace": "$ns", "workflowId": "capture/$pid", "requestId": "start-$pid",
    "workflowType": {"name": "CaptureWorkflow"}, "taskQueue": {"name": "$tq"},
    "input": [{"paymentId": "$pid", "amount": {"currency": "$currency", "value": "$value"}}],
    "workflowIdConflictPolicy": "WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING",
    "workflowIdReusePolicy": "WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY",
    "searchAttributes": {"indexedFields": {"AlipayPaymentId": "$pid", "CaptureStatus": "PENDING", "AlipayMerchant": "default"}},
    "memo": {"fields": {"paymentId": "$pid"}}}},
  {"updateWorkflow": {
    "namespace": "$ns", "workflowExecution": {"workflowId": "capture/$pid"},
    "request": {"meta": {"updateId": "capture-$key"},
      "input": {"name": "capture", "args": [{"amount": {"currency": "$currency", "value": "$value"}, "key": "$key", "isLastCapture": true}]}},
    "waitPolicy": {"lifecycleStage": "UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED"}}}
]}
JSON
  echo
}

capture          # the reply's outcome.success[0] is the CaptureReply: captureRequestId, state
capture          # the same key again: the same capture, sent once
# Captures by search attribute (the status query needs the workflow id in the URL path, which the
# HTTP API cannot carry for ids with a "/": use the gRPC API, or a Temporal SDK, for it).
curl -sS --fail-with-body -G "$http/api/v1/namespaces/$ns/workflows" --data-urlencode "query=AlipayPaymentId=\"$pid\""
echo
