// An order service's capture, through Temporal's TypeScript client, as docs/contract.md describes: the
// `capture` Update sent with Update-with-Start by two callers at once for one shipment, then the
// same shipment again after the authorization closed. Prints what it saw as one JSON object.
// Usage: node capture.mjs '{"address":…,"taskQueue":…,"paymentId":…,"amount":{…},"key":…}'
import { createHash } from 'node:crypto';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';

const job = JSON.parse(process.argv[2]);
const connection = await Connection.connect({ address: job.address });
const client = new Client({ connection, namespace: job.namespace ?? 'default' });
const workflowId = `capture/${job.paymentId}`;

// The start input a caller of another language might send, with a field the workflow does not
// know (authorizedAmount): the start itself must capture nothing.
const input = { paymentId: job.paymentId, amount: job.amount, authorizedAmount: job.amount, partialCaptures: true };
const request = { amount: job.amount, key: job.key, isLastCapture: true };

function capture() {
  const startWorkflowOperation = new WithStartWorkflowOperation('CaptureWorkflow', {
    workflowId,
    taskQueue: job.taskQueue,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
  });
  return client.workflow.executeUpdateWithStart('capture', { args: [request], startWorkflowOperation });
}

const replies = await Promise.all([capture(), capture()]);
const closed = await client.workflow.getHandle(workflowId).result();

// After the close, the same key: the start is refused, and the answer is the key's record.
let afterClose;
try {
  afterClose = { reply: await capture() };
} catch (err) {
  const record = (await client.workflow.getHandle(workflowId).result()).captures.find((c) => c.key === job.key);
  afterClose = { error: err.name, record };
}

const digest = createHash('sha256').update(`${job.paymentId.length}:${job.paymentId}:${job.key}`).digest('hex');
console.log(JSON.stringify({ replies, closed, afterClose, requestId: 'cap-' + digest.slice(0, 60) }));
await connection.close();
