#!/bin/sh
# Prepares a Temporal namespace for alipay-capture: creates the namespace if it is missing and
# registers the five search attributes CaptureWorkflow writes. Safe to run again.
#
#   deploy/temporal/setup.sh [temporal CLI connection flags, e.g. --address host:7233 --tls-cert-path ...]
#
# It needs the temporal CLI: on PATH, or where scripts/temporal-cli builds it. docker-compose.yml runs it in temporalio/admin-tools (with
# TEMPORAL_ADDRESS set); the tests run it against their PostgreSQL-backed server, so this one
# file is what both use. TEMPORAL_NAMESPACE (default "default") names the namespace;
# NAMESPACE_RETENTION (default 720h, 30 days) is the retention of a namespace it creates.
set -eu
if ! command -v temporal >/dev/null 2>&1; then
  # In a checkout, the CLI that scripts/temporal-cli builds into the user cache.
  cached="${XDG_CACHE_HOME:-$HOME/.cache}/alipay-capture/bin"
  if [ -x "$cached/temporal" ]; then
    PATH="$cached:$PATH"
  else
    echo "setup.sh: the temporal CLI is not on PATH: install it (https://docs.temporal.io/cli), or in a checkout run scripts/temporal-cli, which builds it into $cached" >&2
    exit 2
  fi
fi
ns=${TEMPORAL_NAMESPACE:-default}
if ! temporal operator namespace describe --namespace "$ns" "$@" >/dev/null 2>&1; then
  echo "creating namespace $ns"
  temporal operator namespace create --namespace "$ns" --retention "${NAMESPACE_RETENTION:-720h}" "$@"
fi
# A new namespace is usable once the frontend's namespace cache has refreshed (10 s by default).
waited=0
until temporal operator search-attribute list --namespace "$ns" "$@" >/dev/null 2>&1; do
  if [ "$waited" -ge 60 ]; then
    echo "namespace $ns is not usable after 60 s:" >&2
    temporal operator search-attribute list --namespace "$ns" "$@" >&2
    exit 1
  fi
  sleep 1
  waited=$((waited + 1))
done
for sa in AlipayPaymentId=Keyword CaptureStatus=Keyword OrderId=Keyword CaptureDeadline=Datetime AlipayMerchant=Keyword; do
  name=${sa%%=*}
  type=${sa##*=}
  if temporal operator search-attribute list --namespace "$ns" "$@" | grep -qw "$name"; then
    continue
  fi
  echo "registering search attribute $name ($type) in $ns"
  temporal operator search-attribute create --namespace "$ns" --name "$name" --type "$type" "$@"
done
echo "namespace $ns is ready for alipay-capture"
