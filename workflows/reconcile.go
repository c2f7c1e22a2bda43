package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/capturekit/alipay-capture/alipay"
)

// ReconcileWorkflowType is the registered name of ReconcileWorkflow.
const ReconcileWorkflowType = "ReconcileCaptureWorkflow"

// StateContradiction is the CaptureStatus of a reconciliation workflow: operators list them with
// CaptureStatus="CONTRADICTION".
const StateContradiction State = "CONTRADICTION"

// ErrTypeContradictionConfirmed: Antom confirms a result that contradicts a closed capture
// (details: ReconcileResult); an operator must settle the payment.
const ErrTypeContradictionConfirmed = "ContradictionConfirmed"

// ReconcileWorkflowID returns the id of the reconciliation of one capture request's result, so
// that Antom's resends of the same notification record it once.
func ReconcileWorkflowID(paymentID, captureRequestID, resultStatus string) string {
	return "reconcile/" + paymentID + "/" + captureRequestID + "/" + resultStatus
}

// ReconcileInput is a notification whose result contradicts a closed capture (docs/design.md, rule 7).
type ReconcileInput struct {
	// Merchant is the account whose Client-Id the notification came for ("" for DefaultMerchant).
	Merchant     string                     `json:"merchant,omitempty"`
	Notification alipay.CaptureNotification `json:"notification"`
	// ClosedState and ClosedRunID describe the capture workflow the notification contradicts.
	ClosedState State  `json:"closedState"`
	ClosedRunID string `json:"closedRunId,omitempty"`
	// ClosedAmount is what the closed capture's record of the request says Antom captured (for
	// an S whose amount differs from it).
	ClosedAmount alipay.Amount `json:"closedAmount,omitzero"`
}

// ReconcileResult is what inquiryPayment says of the contradicting notification.
type ReconcileResult struct {
	ReconcileInput
	// TransactionStatus is Antom's status of the notification's capture request ("" if absent).
	TransactionStatus string        `json:"transactionStatus,omitempty"`
	CaptureID         string        `json:"captureId,omitempty"`
	CaptureAmount     alipay.Amount `json:"captureAmount,omitzero"`
	// Verdict says who is right, in a sentence for the operator.
	Verdict string `json:"verdict"`
}

// ReconcileWorkflow records, durably and visibly, a capture result that arrived for a closed
// capture and contradicts it, then asks inquiryPayment which is right. It fails with
// ErrTypeContradictionConfirmed when Antom confirms the notification (the closed capture's state
// is wrong: someone must settle the payment) and completes when Antom agrees with the closed
// capture. The webhook starts it and acknowledges the notification once it is started.
func ReconcileWorkflow(ctx workflow.Context, in ReconcileInput) (*ReconcileResult, error) {
	n := in.Notification
	log := workflow.GetLogger(ctx)
	log.Warn("capture result contradicts a closed capture", "paymentId", n.PaymentID, "captureRequestId", n.CaptureRequestID,
		"result", n.Result.String(), "closedState", in.ClosedState)
	if err := workflow.UpsertTypedSearchAttributes(ctx, AttrPaymentID.ValueSet(n.PaymentID), AttrStatus.ValueSet(string(StateContradiction))); err != nil {
		return nil, err
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    DefaultPolicy().CallTimeout,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy:            retryPolicy(10 * time.Minute),
	})
	res := &ReconcileResult{ReconcileInput: in}
	var inq InquiryActivityResult
	err := workflow.ExecuteActivity(ctx, ActivityInquiryPayment, InquiryActivityInput{Merchant: in.Merchant, PaymentID: n.PaymentID, CaptureRequestID: n.CaptureRequestID}).Get(ctx, &inq)
	if err != nil {
		res.Verdict = "inquiryPayment gave no answer within a day: check the payment with Antom by hand"
		return nil, temporal.NewNonRetryableApplicationError(res.Verdict+": "+err.Error(), ErrTypeContradictionConfirmed, err, res)
	}
	if inq.Found {
		res.TransactionStatus, res.CaptureID, res.CaptureAmount = inq.TransactionStatus, inq.CaptureID, inq.CaptureAmount
	}
	captured := inq.Found && inq.TransactionStatus == alipay.TxSuccess
	switch {
	case n.Result.ResultStatus == alipay.StatusSuccess && captured && in.ClosedState == StateCaptured && !in.ClosedAmount.IsZero():
		res.Verdict = fmt.Sprintf("Antom reports capture %s of request %s as %s; the closed capture recorded %s: settle the difference",
			inq.CaptureID, n.CaptureRequestID, inq.CaptureAmount, in.ClosedAmount)
	case n.Result.ResultStatus == alipay.StatusSuccess && captured:
		res.Verdict = fmt.Sprintf("Antom confirms capture %s (%s) of request %s: the capture workflow closed %s, but the money was captured",
			inq.CaptureID, inq.CaptureAmount, n.CaptureRequestID, in.ClosedState)
	case n.Result.ResultStatus == alipay.StatusFail && !captured && in.ClosedState == StateCaptured:
		res.Verdict = fmt.Sprintf("Antom reports request %s %s: the capture workflow closed CAPTURED, but Antom has no successful capture for it",
			n.CaptureRequestID, orAbsent(inq.TransactionStatus))
	case in.ClosedState == StateUnresolved && !captured && inq.Found && inq.TransactionStatus == alipay.TxFail:
		res.Verdict = fmt.Sprintf("Antom reports request %s FAIL: the UNRESOLVED capture was not captured; nothing to settle", n.CaptureRequestID)
		return res, nil
	default:
		res.Verdict = fmt.Sprintf("Antom's inquiry (%s) agrees with the closed capture (%s); the notification was not confirmed",
			orAbsent(inq.TransactionStatus), in.ClosedState)
		return res, nil
	}
	log.Error("contradiction confirmed by inquiryPayment", "paymentId", n.PaymentID, "verdict", res.Verdict)
	return nil, temporal.NewNonRetryableApplicationError(res.Verdict, ErrTypeContradictionConfirmed, nil, res)
}

func orAbsent(s string) string {
	if s == "" {
		return "absent"
	}
	return s
}
