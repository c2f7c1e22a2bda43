package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/capturekit/alipay-capture/alipay"
)

// drain routes every notification waiting in the signal channel to its record (rule 12). It
// reports whether any changed the ledger.
func (w *captureRun) drain(ctx workflow.Context) bool {
	changed := false
	for {
		var n Notification
		if !w.notes.ReceiveAsync(&n) {
			return changed
		}
		if w.route(ctx, n) {
			changed = true
		}
	}
}

// route applies one notification: to the record in flight it resolves it; agreeing with a final
// record it changes nothing; contradicting a final record, or naming a capture this
// authorization never sent, it changes the record to what Antom did and counts the
// contradiction where operators see it.
func (w *captureRun) route(ctx workflow.Context, n Notification) bool {
	n.CaptureNotification = n.Bounded() // whoever signalled it, nothing it holds outgrows the status
	status := n.Result.ResultStatus
	switch {
	case MerchantName(n.Merchant) != w.merchant:
		w.log.Warn("notification verified under another merchant account; not applied (rule 15)",
			"notificationMerchant", MerchantName(n.Merchant), "captureRequestId", n.CaptureRequestID)
		return false
	case n.PaymentID != w.in.PaymentID:
		w.log.Warn("notification for another payment; not applied", "paymentId", n.PaymentID, "captureRequestId", n.CaptureRequestID)
		return false
	case status != alipay.StatusSuccess && status != alipay.StatusFail:
		w.log.Info("ignoring notification without a final result", "result", n.Result.String())
		return false
	}
	rec := w.l.byRequestID(n.CaptureRequestID)
	if rec == nil {
		if status != alipay.StatusSuccess {
			w.log.Info("F notification for a capture request this authorization never sent; nothing moved", "captureRequestId", n.CaptureRequestID)
			return false
		}
		rec = w.l.addForeign(n.CaptureNotification)
		w.contradiction(ctx, rec, status)
		return true
	}
	o := outcome{kind: outFailed, by: ResolvedByNotification, result: n.Result}
	if status == alipay.StatusSuccess {
		o = outcome{kind: outSucceeded, by: ResolvedByNotification, result: n.Result, id: n.CaptureID, amount: n.CaptureAmount, at: n.CaptureTime}
	}
	wasFinal := rec.State.Final()
	if !rec.apply(o) {
		return false
	}
	switch {
	case wasFinal:
		w.contradiction(ctx, rec, status)
	case rec != w.active:
		// A request not yet sent in this run, that an earlier run of the payment sent.
		w.recordFinal(ctx, rec)
	}
	return true
}

// contradiction makes a notification that contradicted the ledger durable (its record says so),
// visible and counted (rule 7, from inside the workflow).
func (w *captureRun) contradiction(ctx workflow.Context, rec *record, status string) {
	w.log.Error("capture notification contradicts the authorization's ledger; recorded", "captureRequestId", rec.CaptureRequestID,
		"state", rec.State, "contradiction", rec.Contradiction)
	w.metrics.WithTags(map[string]string{LabelResult: status}).Counter(MetricContradictions).Inc(1)
	w.l.settle(rec)
	w.show(ctx)
}
