package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/capturekit/alipay-capture/alipay"
)

// capture runs one capture request to its final state through every money-truth rule, then
// applies it to the authorization.
func (w *captureRun) capture(ctx workflow.Context, rec *record) error {
	w.active, w.l.focus = rec, rec
	defer func() { w.active = nil }()
	if !workflow.Now(ctx).Before(w.cutoff) {
		rec.apply(outcome{kind: outExpired, by: ResolvedByDeadline, result: alipay.Result{ResultCode: CodeNotSent},
			message: "the cut-off passed before the capture was sent"})
	} else if err := w.send(ctx, rec); err != nil {
		return err
	}
	if rec.inFlight() {
		if err := w.awaitOutcome(ctx, rec); err != nil {
			return err
		}
	}
	w.recordFinal(ctx, rec)
	return nil
}

// recordFinal applies a record that reached its final state to the authorization: its totals,
// whether it closes, the search attributes and the events.
func (w *captureRun) recordFinal(ctx workflow.Context, rec *record) {
	w.l.settle(rec)
	if rec.Discrepancy != "" {
		w.log.Warn("captured amount differs from the request", "discrepancy", rec.Discrepancy, "captureId", rec.CaptureID, "resolvedBy", rec.ResolvedBy)
		w.metrics.Counter(MetricDiscrepancies).Inc(1)
	}
	if rec.State == StateFailed && !w.l.closed() {
		w.log.Warn("capture refused; the authorization stays open for another capture request",
			"captureRequestId", rec.CaptureRequestID, "result", rec.ResultCode)
	}
	w.show(ctx)
	w.emitCaptureOutcome(ctx, rec)
}

// send sends (or resends) the record's request in one bounded series and applies the answer. A
// notification that resolves the record while the call is retried abandons the call.
func (w *captureRun) send(ctx workflow.Context, rec *record) error {
	now := workflow.Now(ctx)
	if !now.Before(w.cutoff) {
		return nil
	}
	rec.apply(outcome{kind: outSent})
	w.show(ctx)
	callCtx, abandon := workflow.WithCancel(ctx)
	defer abandon()
	req := alipay.CaptureRequest{
		CaptureRequestID: rec.CaptureRequestID,
		PaymentID:        w.in.PaymentID,
		CaptureAmount:    rec.Amount,
	}
	if w.in.PartialCaptures || rec.IsLastCapture {
		// Sent explicitly on every capture of a payment that allows several: one Antom API
		// documents it as defaulting to true.
		req.IsLastCapture = alipay.Bool(rec.IsLastCapture)
	}
	fut := workflow.ExecuteActivity(workflow.WithActivityOptions(callCtx, w.sendOptions(now)), ActivityCapture,
		CaptureActivityInput{Merchant: w.in.Merchant, Request: req, NotAfter: w.cutoff})
	if _, err := w.wait(ctx, -1, "", func() bool { return fut.IsReady() || !rec.inFlight() }); err != nil {
		return err
	}
	if !rec.inFlight() {
		return nil // a notification resolved it
	}
	var res CaptureActivityResult
	callErr := fut.Get(ctx, &res)
	if callErr == nil {
		w.noteEvents(res.EventsOn)
	}
	if result, attempt, ok := refusalAttempt(callErr); ok {
		if rec.ambiguous || attempt > 1 {
			// Rule 2: an earlier send of this id may have captured; an inquiry decides.
			w.log.Warn("F answer after an ambiguous send of the same request; an inquiry decides",
				"captureRequestId", rec.CaptureRequestID, "result", result.String())
			rec.apply(outcome{kind: outUnknown, result: result})
			rec.heldF, w.inquireNow = &result, true
			return nil
		}
		rec.apply(outcome{kind: outFailed, by: ResolvedByResponse, result: result})
		return nil
	}
	switch {
	case callErr != nil:
		// The series ended without a trustworthy answer, or the activity refused to send past the
		// cut-off: the request may or may not have taken effect. Only a notification or an
		// inquiry can tell.
		w.log.Info("capture call gave no answer", "captureRequestId", rec.CaptureRequestID, "err", callErr)
		rec.apply(outcome{kind: outUnknown, result: alipay.Result{ResultCode: CodeNoAnswer, ResultStatus: alipay.StatusUnknown, ResultMessage: callErr.Error()}})
	case res.Result.ResultStatus == alipay.StatusSuccess:
		rec.apply(outcome{kind: outSucceeded, by: ResolvedByResponse, result: res.Result, id: res.CaptureID, amount: res.CaptureAmount, at: res.CaptureTime})
	default:
		rec.apply(outcome{kind: outUnknown, result: res.Result})
	}
	if rec.inFlight() { // a final record is shown once applied to the authorization
		w.show(ctx)
	}
	return nil
}

// sendOptions bounds one series of sends: at most sendsPerSeries sends, about a minute, then
// inquiries take over (rule 3); never past the cut-off.
func (w *captureRun) sendOptions(now time.Time) workflow.ActivityOptions {
	untilCut := w.cutoff.Sub(now)
	opts := workflow.ActivityOptions{
		ScheduleToCloseTimeout: untilCut,
		StartToCloseTimeout:    min(w.in.Policy.CallTimeout, untilCut),
		RetryPolicy:            retryPolicy(time.Minute),
	}
	opts.RetryPolicy.InitialInterval = 5 * time.Second
	opts.RetryPolicy.MaximumAttempts = sendsPerSeries
	return opts
}

// refusalAttempt returns the verified F inside an activity error, and the attempt that got it.
func refusalAttempt(err error) (alipay.Result, int, bool) {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || (appErr.Type() != ErrTypeRefused && appErr.Type() != ErrTypeConfig) {
		return alipay.Result{}, 0, false
	}
	var result alipay.Result
	var attempt int
	_ = appErr.Details(&result, &attempt)
	return result, attempt, true
}

func refusal(err error) (alipay.Result, bool) {
	res, _, ok := refusalAttempt(err)
	return res, ok
}

// awaitOutcome waits until a notification or an inquiry resolves the record. Before the deadline
// an inquiry that finds no capture resends the same request; at the deadline a capture still in
// process becomes overdue, and policy.resolveWithin later UNRESOLVED (rule 1).
func (w *captureRun) awaitOutcome(ctx workflow.Context, rec *record) error {
	sched := w.in.Policy.InquirySchedule
	for i := 0; rec.inFlight(); i++ {
		wait := sched[min(i, len(sched)-1)]
		if w.inquireNow {
			wait, w.inquireNow = 0, false // rule 2: an F after an ambiguous send is checked at once
		}
		now := workflow.Now(ctx)
		atDeadline, atGiveUp := false, false
		if !rec.Overdue {
			if until := w.base.Deadline.Sub(now); wait >= until {
				wait, atDeadline = max(until, 0), true
			}
		} else if until := rec.ResolveBy.Sub(now); wait >= until {
			wait, atGiveUp = max(until, 0), true
		}
		w.base.NextInquiryAt = now.Add(wait)
		_, err := w.wait(ctx, wait, "next inquiry", func() bool { return !rec.inFlight() })
		w.base.NextInquiryAt = time.Time{}
		if err != nil || !rec.inFlight() {
			return err
		}
		rec.Inquiries++
		inq, err := w.inquire(ctx, InquiryActivityInput{Merchant: w.in.Merchant, PaymentID: w.in.PaymentID, CaptureRequestID: rec.CaptureRequestID}, false)
		if temporal.IsCanceledError(err) {
			return err
		}
		if !rec.inFlight() {
			return nil // a notification resolved it meanwhile
		}
		switch {
		case err != nil && atGiveUp:
			w.unresolved(rec, "inquiryPayment gave no answer: "+err.Error())
			continue
		case err != nil && atDeadline:
			w.markOverdue(rec, "inquiryPayment gave no answer at the deadline")
			continue
		case err != nil:
			w.log.Info("inquiry gave no answer; waiting for the next", "err", err)
			continue
		}
		resend := w.applyInquiry(rec, inq, atDeadline || rec.Overdue, atDeadline)
		switch {
		case !rec.inFlight():
		case atGiveUp:
			w.unresolved(rec, "capture still "+inq.TransactionStatus+" at Antom")
		case atDeadline:
			w.markOverdue(rec, "capture still "+inq.TransactionStatus+" at Antom")
		case resend:
			if err := w.send(ctx, rec); err != nil {
				return err
			}
		}
		if rec.inFlight() {
			w.show(ctx)
		}
	}
	return nil
}

// applyInquiry applies an inquiry's view of the record: resend when Antom has no trace of the
// request. Past the deadline a capture absent or failed ends EXPIRED. An F held after an
// ambiguous send stands when the capture is absent.
func (w *captureRun) applyInquiry(rec *record, inq InquiryActivityResult, pastDeadline, atDeadline bool) (resend bool) {
	by := ResolvedByInquiry
	if atDeadline {
		by = ResolvedByDeadline
	}
	switch {
	case !inq.Found && pastDeadline:
		rec.apply(outcome{kind: outExpired, by: ResolvedByDeadline, message: "authorization deadline reached; Antom has no capture for the request"})
		return false
	case !inq.Found && rec.heldF != nil:
		rec.apply(outcome{kind: outFailed, by: ResolvedByResponse, result: *rec.heldF})
		return false
	case !inq.Found:
		return true
	}
	res := inq.TransactionResult
	switch inq.TransactionStatus {
	case alipay.TxSuccess:
		if res.ResultStatus == "" {
			res = alipay.Result{ResultCode: alipay.CodeSuccess, ResultStatus: alipay.StatusSuccess}
		}
		rec.apply(outcome{kind: outSucceeded, by: by, result: res, id: inq.CaptureID, amount: inq.CaptureAmount, at: inq.CaptureTime})
	case alipay.TxFail:
		if res.ResultStatus == "" {
			res = alipay.Result{ResultCode: "CAPTURE_FAILED", ResultStatus: alipay.StatusFail, ResultMessage: "inquiryPayment reports the capture as FAIL"}
		}
		if pastDeadline {
			rec.apply(outcome{kind: outExpired, by: ResolvedByDeadline, message: "authorization deadline reached; Antom reports the capture failed: " + res.String()})
			return false
		}
		rec.apply(outcome{kind: outFailed, by: ResolvedByInquiry, result: res})
	default: // PROCESSING or another non-final state: keep waiting
		rec.apply(outcome{kind: outUnknown, result: res})
	}
	return false
}

// inquire calls inquiryPayment. final inquiries retry until Antom answers; others give up after
// a while and let the next scheduled inquiry try again.
func (w *captureRun) inquire(ctx workflow.Context, in InquiryActivityInput, final bool) (InquiryActivityResult, error) {
	opts := workflow.ActivityOptions{
		StartToCloseTimeout: w.in.Policy.CallTimeout,
		RetryPolicy:         retryPolicy(5 * time.Minute),
	}
	if !final {
		opts.ScheduleToCloseTimeout = 10 * time.Minute
	}
	var res InquiryActivityResult
	fut := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), ActivityInquiryPayment, in)
	if _, err := w.wait(ctx, -1, "", fut.IsReady); err != nil {
		return res, err
	}
	err := fut.Get(ctx, &res)
	if err == nil {
		w.noteEvents(res.EventsOn)
	}
	return res, err
}

// markOverdue keeps a capture that Antom still reports in process past the deadline open.
func (w *captureRun) markOverdue(rec *record, why string) {
	if rec.Overdue {
		return
	}
	rec.Overdue, rec.ResolveBy = true, w.base.Deadline.Add(w.in.Policy.ResolveWithin)
	w.log.Warn("authorization deadline passed with the capture outcome unknown; staying UNKNOWN (overdue) and inquiring",
		"reason", why, "captureRequestId", rec.CaptureRequestID, "resolveBy", rec.ResolveBy)
}

// unresolved closes an overdue capture that Antom did not resolve within policy.resolveWithin.
func (w *captureRun) unresolved(rec *record, msg string) {
	rec.apply(outcome{kind: outUnresolved, by: ResolvedByTimeout, message: msg})
	w.log.Error("capture closed UNRESOLVED: Antom's answer did not come within policy.resolveWithin", "captureRequestId", rec.CaptureRequestID, "reason", msg)
}
