// An order service's side of alipay-capture in TypeScript, with Temporal's @temporalio/client:
// guard an authorization from the moment it succeeds, capture a split shipment by key, send the
// same shipment again, read the status, and void an authorization that will not ship.
// Usage: node dist/order-service.js '{"address":…,"paymentId":…,"unshippedPaymentId":…,"currency":"USD"}'
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import {
  AlipayMerchant, AlipayPaymentId, CaptureStatus, taskQueue, workflowId, workflowType,
  type CaptureInput, type CaptureReply, type CaptureRequest, type Status,
} from './contract.js';

interface Job { address: string; namespace?: string; taskQueue?: string; paymentId: string; unshippedPaymentId: string; currency: string }

const job: Job = JSON.parse(process.argv[2]);
const connection = await Connection.connect({ address: job.address });
const client = new Client({ connection, namespace: job.namespace ?? 'default' });
const queue = job.taskQueue ?? taskQueue;

// The start options every caller uses: the id from the payment, the policies of docs/contract.md,
// and the search attributes that make the capture findable before its first task runs.
function startOptions(input: CaptureInput) {
  return {
    workflowId: workflowId(input.paymentId),
    taskQueue: queue,
    args: [input] as [CaptureInput],
    workflowIdConflictPolicy: 'USE_EXISTING' as const,
    workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY' as const,
    typedSearchAttributes: [
      { key: AlipayPaymentId, value: input.paymentId },
      { key: CaptureStatus, value: 'PENDING' },
      { key: AlipayMerchant, value: input.merchant ?? 'default' },
    ],
  };
}

// On authorization: guard it (a start captures nothing by itself).
const authorization: CaptureInput = {
  paymentId: job.paymentId, amount: { currency: job.currency, value: '2500' }, orderId: 'ORD-77',
  authorizedAt: new Date().toISOString(), partialCaptures: true, policy: { inquirySchedule: ['5s'] },
};
const guarded = await client.workflow.start(workflowType, startOptions(authorization));

// On each shipment: the capture Update with Update-with-Start, keyed by the shipment.
async function ship(request: CaptureRequest): Promise<CaptureReply> {
  return client.workflow.executeUpdateWithStart('capture', {
    args: [request],
    startWorkflowOperation: new WithStartWorkflowOperation(workflowType, startOptions(authorization)),
  }) as Promise<CaptureReply>;
}
const first = await ship({ amount: { currency: job.currency, value: '1000' }, key: 'SHIP-1' });
// The same shipment again (a retried event): the same capture, nothing sent twice.
const again = await ship({ amount: { currency: job.currency, value: '1000' }, key: 'SHIP-1' });
const midway: Status = await guarded.query<Status>('status');
const second = await ship({ amount: { currency: job.currency, value: '1500' }, key: 'SHIP-2', isLastCapture: true });
// The last capture closed the authorization: its result is the final status, and a key's answer
// after the close is its record there (a new start of a completed capture is refused).
const closed = (await guarded.result()) as Status;
const afterClose = closed.captures?.find((c) => c.key === 'SHIP-1');

// An order that will not ship: void its authorization (before any capture was sent).
const unshipped = await client.workflow.start(workflowType, startOptions({
  paymentId: job.unshippedPaymentId, amount: { currency: job.currency, value: '900' }, authorizedAt: new Date().toISOString(),
}));
const cancelled = (await unshipped.executeUpdate('cancel', { args: ['order cancelled'] })) as Status;

console.log(JSON.stringify({ first, again, midway, second, closed, afterClose, cancelled }));
await connection.close();
