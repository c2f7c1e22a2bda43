// The contract of alipay-capture for a TypeScript order service (docs/contract.md): the names and
// the JSON of what crosses into Temporal. Amounts are integer minor units in strings.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const workflowType = 'CaptureWorkflow';
export const taskQueue = 'alipay-capture';
export const workflowId = (paymentId: string) => `capture/${paymentId}`;

export interface Amount { currency: string; value: string }

/** The start's input: the authorization. Durations are strings like "10m". */
export interface CaptureInput {
  paymentId: string;
  merchant?: string;
  amount: Amount; // the authorized amount
  orderId?: string;
  authorizedAt?: string; // RFC 3339
  authExpiresAt?: string;
  partialCaptures?: boolean;
  policy?: {
    inquirySchedule?: string[];
    deadlineMargin?: string;
    callTimeout?: string;
    resolveWithin?: string;
    warnBefore?: string[];
    onDeadline?: 'lapse' | 'cancel' | 'capture';
  };
}

/** The `capture` Update's argument. */
export interface CaptureRequest { amount: Amount; key: string; isLastCapture?: boolean; merchant?: string }

export type State = 'PENDING' | 'PARTIALLY_CAPTURED' | 'CAPTURING' | 'UNKNOWN' | 'CAPTURED' | 'FAILED' | 'EXPIRED' | 'CANCELLED' | 'UNRESOLVED';

/** The `capture` Update's result. */
export interface CaptureReply {
  seq: number;
  captureRequestId: string;
  state: State;
  resultCode?: string;
  resultMessage?: string;
  duplicate?: boolean;
}

/** One capture request's record in Status.captures. */
export interface CaptureRecord {
  seq: number;
  key: string;
  captureRequestId: string;
  amount: Amount;
  state: State;
  capturedAmount?: Amount;
  resolvedBy?: string;
  resultCode?: string;
  discrepancy?: string;
  contradiction?: string;
}

/** The `status` query's answer, and a closed workflow's result. */
export interface Status {
  state: State;
  paymentId: string;
  merchant?: string;
  resultCode?: string;
  resultMessage?: string;
  deadline?: string;
  captures?: CaptureRecord[];
  authorized?: Amount;
  captured?: Amount;
  inFlight?: Amount;
  remaining?: Amount;
}

export const AlipayPaymentId = defineSearchAttributeKey('AlipayPaymentId', SearchAttributeType.KEYWORD);
export const CaptureStatus = defineSearchAttributeKey('CaptureStatus', SearchAttributeType.KEYWORD);
export const AlipayMerchant = defineSearchAttributeKey('AlipayMerchant', SearchAttributeType.KEYWORD);
