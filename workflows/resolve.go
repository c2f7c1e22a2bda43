package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/capturekit/alipay-capture/alipay"
)

// awaitOutcome waits in UNKNOWN until a notification or an inquiry resolves the capture. Before
// the deadline an inquiry that finds no capture resends the same request; at the deadline a
// capture still in process makes the workflow overdue, and policy.resolveWithin later it closes
// UNRESOLVED (rule 1).
func (r *run) awaitOutcome(ctx workflow.Context) error {
	for i := 0; ; i++ {
		sched := r.in.Policy.InquirySchedule
		wait := sched[min(i, len(sched)-1)]
		if r.inquireNow {
			wait, r.inquireNow = 0, false // rule 2: an F after an ambiguous send is checked at once
		}
		now := workflow.Now(ctx)
		atDeadline, atGiveUp := false, false
		if !r.st.Overdue {
			if until := r.st.Deadline.Sub(now); wait >= until {
				wait, atDeadline = max(until, 0), true
			}
		} else if until := r.st.ResolveBy.Sub(now); wait >= until {
			wait, atGiveUp = max(until, 0), true
		}

		note, err := r.waitForNotification(ctx, wait)
		if err != nil {
			return err
		}
		if note != nil {
			return r.applyNotification(ctx, note)
		}
		if atDeadline && r.legacy() {
			return r.legacyFinalInquiry(ctx)
		}
		inq, err := r.inquire(ctx, false)
		switch {
		case err != nil && atGiveUp:
			return r.unresolved(ctx, "inquiryPayment gave no answer: "+err.Error())
		case err != nil && atDeadline:
			r.markOverdue(ctx, "inquiryPayment gave no answer at the deadline")
			continue
		case err != nil:
			r.log.Info("inquiry gave no answer; waiting for the next", "err", err)
			continue
		}
		pastDeadline := atDeadline || r.st.Overdue
		done, resend, err := r.applyInquiry(ctx, inq, pastDeadline)
		if done || err != nil {
			if done && atDeadline && r.st.ResolvedBy == ResolvedByInquiry {
				r.st.ResolvedBy = ResolvedByDeadline
			}
			return err
		}
		switch {
		case atGiveUp:
			return r.unresolved(ctx, "capture still "+inq.TransactionStatus+" at Antom")
		case atDeadline:
			r.markOverdue(ctx, "capture still "+inq.TransactionStatus+" at Antom")
		case resend:
			resolved, err := r.sendCapture(ctx)
			if resolved || err != nil {
				return err
			}
		}
	}
}

// waitForNotification waits up to wait for a notification of our capture request, and returns
// it, or nil when the wait ended first.
func (r *run) waitForNotification(ctx workflow.Context, wait time.Duration) (*alipay.CaptureNotification, error) {
	if wait <= 0 {
		return r.receiveNotification(ctx, nil), nil
	}
	r.st.NextInquiryAt = workflow.Now(ctx).Add(wait)
	defer func() { r.st.NextInquiryAt = time.Time{} }()
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	timer := workflow.NewTimerWithOptions(timerCtx, wait, workflow.TimerOptions{Summary: "next inquiry"})
	var (
		note   *alipay.CaptureNotification
		fired  bool
		timErr error
	)
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(timer, func(f workflow.Future) { fired, timErr = true, f.Get(ctx, nil) })
	sel.AddReceive(r.notifications, func(c workflow.ReceiveChannel, more bool) { note = r.receiveNotification(ctx, c) })
	for note == nil && !fired {
		sel.Select(ctx)
	}
	if note != nil {
		return note, nil
	}
	return nil, timErr
}

// markOverdue keeps a capture that Antom still reports in process past the deadline open.
func (r *run) markOverdue(ctx workflow.Context, why string) {
	if r.st.Overdue {
		return
	}
	r.st.Overdue = true
	r.st.ResolveBy = r.st.Deadline.Add(r.in.Policy.ResolveWithin)
	r.log.Warn("authorization deadline passed with the capture outcome unknown; staying UNKNOWN (overdue) and inquiring",
		"reason", why, "captureRequestId", r.st.CaptureRequestID, "resolveBy", r.st.ResolveBy)
}

// legacyFinalInquiry is the first release's end of the wait, kept for its running captures: at
// the deadline the capture is CAPTURED if Antom says so, FAILED if Antom says it failed, else
// EXPIRED. It retries until Antom answers.
func (r *run) legacyFinalInquiry(ctx workflow.Context) error {
	// A notification that raced the deadline timer still counts.
	if note := r.receiveNotification(ctx, nil); note != nil {
		return r.applyNotification(ctx, note)
	}
	inq, err := r.inquire(ctx, true)
	if err != nil {
		return err
	}
	if done, _, err := r.applyInquiry(ctx, inq, false); done || err != nil {
		if r.st.ResolvedBy == ResolvedByInquiry {
			r.st.ResolvedBy = ResolvedByDeadline
		}
		return err
	}
	msg := "authorization deadline reached; no capture found"
	if inq.Found {
		msg = "authorization deadline reached; capture still " + inq.TransactionStatus
	}
	return r.expire(ctx, msg)
}

// applyInquiry applies an inquiry's view of our capture: done when it resolved the capture,
// resend when Antom has no trace of the request. Past the deadline, a capture absent or failed
// ends EXPIRED. An F held after an ambiguous send stands when the capture is absent.
func (r *run) applyInquiry(ctx workflow.Context, inq InquiryActivityResult, pastDeadline bool) (done, resend bool, err error) {
	switch {
	case !inq.Found && pastDeadline:
		return true, false, r.expire(ctx, "authorization deadline reached; Antom has no capture for the request")
	case !inq.Found && r.heldF != nil:
		r.st.ResolvedBy = ResolvedByResponse
		return true, false, r.fail(ctx, *r.heldF)
	case !inq.Found:
		return false, true, nil
	}
	switch inq.TransactionStatus {
	case alipay.TxSuccess:
		r.st.ResolvedBy = ResolvedByInquiry
		res := inq.TransactionResult
		if res.ResultStatus == "" {
			res = alipay.Result{ResultCode: alipay.CodeSuccess, ResultStatus: alipay.StatusSuccess}
		}
		return true, false, r.succeed(ctx, res, inq.CaptureID, inq.CaptureAmount, inq.CaptureTime)
	case alipay.TxFail:
		r.st.ResolvedBy = ResolvedByInquiry
		res := inq.TransactionResult
		if res.ResultStatus == "" {
			res = alipay.Result{ResultCode: "CAPTURE_FAILED", ResultStatus: alipay.StatusFail, ResultMessage: "inquiryPayment reports the capture as FAIL"}
		}
		if pastDeadline {
			return true, false, r.expire(ctx, "authorization deadline reached; Antom reports the capture failed: "+res.String())
		}
		return true, false, r.fail(ctx, res)
	}
	return false, false, nil // PROCESSING or another non-final state: keep waiting
}

// inquire calls inquiryPayment. final inquiries retry until Antom answers; others give up after
// a while and let the next scheduled inquiry try again.
func (r *run) inquire(ctx workflow.Context, final bool) (InquiryActivityResult, error) {
	opts := workflow.ActivityOptions{
		StartToCloseTimeout: r.in.Policy.CallTimeout,
		RetryPolicy:         retryPolicy(5 * time.Minute),
	}
	if !final {
		opts.ScheduleToCloseTimeout = 10 * time.Minute
	}
	r.st.Inquiries++
	var res InquiryActivityResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), ActivityInquiryPayment,
		InquiryActivityInput{Merchant: r.in.Merchant, PaymentID: r.in.PaymentID, CaptureRequestID: r.st.CaptureRequestID}).Get(ctx, &res)
	if err == nil {
		r.noteEvents(res.EventsOn)
	}
	if err == nil && res.Found && res.TransactionStatus != alipay.TxSuccess && res.TransactionStatus != alipay.TxFail {
		r.st.ResultCode, r.st.ResultMessage = res.TransactionResult.ResultCode, res.TransactionResult.ResultMessage
	}
	return res, err
}

// receiveNotification takes every buffered notification from c (or the signal channel when c is
// nil) and returns the first one for our captureRequestId; others are logged and dropped.
func (r *run) receiveNotification(ctx workflow.Context, c workflow.ReceiveChannel) *alipay.CaptureNotification {
	if c == nil {
		c = r.notifications
	}
	var match *alipay.CaptureNotification
	for {
		var n alipay.CaptureNotification
		if !c.ReceiveAsync(&n) {
			return match
		}
		switch {
		case match != nil:
			// Already resolved by an earlier one in this batch: duplicates change nothing.
		case n.PaymentID == r.in.PaymentID && n.CaptureRequestID != r.st.CaptureRequestID && n.Result.ResultStatus == alipay.StatusSuccess:
			// Money moved under another request id of this payment (an earlier attempt): not
			// ours to apply, but an operator must see it.
			r.log.Warn("S notification for another capture request of this payment", "captureRequestId", n.CaptureRequestID,
				"captureId", n.CaptureID, "amount", n.CaptureAmount.String())
		case n.CaptureRequestID != r.st.CaptureRequestID || n.PaymentID != r.in.PaymentID:
			r.log.Info("ignoring notification for another capture", "captureRequestId", n.CaptureRequestID, "paymentId", n.PaymentID)
		case n.Result.ResultStatus != alipay.StatusSuccess && n.Result.ResultStatus != alipay.StatusFail:
			r.log.Info("ignoring notification without a final result", "result", n.Result.String())
		default:
			nn := n
			match = &nn
		}
	}
}

func (r *run) applyNotification(ctx workflow.Context, n *alipay.CaptureNotification) error {
	r.st.ResolvedBy = ResolvedByNotification
	if n.Result.ResultStatus == alipay.StatusSuccess {
		return r.succeed(ctx, n.Result, n.CaptureID, n.CaptureAmount, n.CaptureTime)
	}
	return r.fail(ctx, n.Result)
}

func (r *run) enterUnknown(ctx workflow.Context, res alipay.Result) error {
	r.st.ResultCode, r.st.ResultMessage = res.ResultCode, res.ResultMessage
	if r.st.State == StateUnknown {
		return nil
	}
	r.st.State = StateUnknown
	return r.upsertVisibility(ctx)
}

// succeed records a capture Antom reports done. The captured amount is Antom's; one that differs
// from the request, or is missing, is a discrepancy an operator must see (rule 5).
func (r *run) succeed(ctx workflow.Context, res alipay.Result, captureID string, amount alipay.Amount, at string) error {
	r.st.State = StateCaptured
	r.st.ResultCode, r.st.ResultMessage = res.ResultCode, res.ResultMessage
	r.st.CaptureID, r.st.CaptureTime = captureID, at
	r.st.CapturedAmount = amount
	r.st.Overdue, r.st.ResolveBy = false, time.Time{}
	switch {
	case amount.IsZero():
		r.st.Discrepancy = fmt.Sprintf("Antom reported no captured amount; requested %s", r.in.Amount)
	case amount != r.in.Amount:
		r.st.Discrepancy = fmt.Sprintf("Antom captured %s; requested %s", amount, r.in.Amount)
	}
	if r.st.Discrepancy != "" {
		r.log.Warn("captured amount differs from the request", "discrepancy", r.st.Discrepancy, "captureId", captureID, "resolvedBy", r.st.ResolvedBy)
		r.metrics.Counter(MetricDiscrepancies).Inc(1)
	}
	return r.upsertVisibility(ctx)
}

// fail records a definitive F. AUTH_EXPIRED ends EXPIRED and AUTH_CANCELLED or ORDER_IS_CANCELED
// end CANCELLED (rule 6); every other code ends FAILED.
func (r *run) fail(ctx workflow.Context, res alipay.Result) error {
	r.st.ResultCode, r.st.ResultMessage = res.ResultCode, res.ResultMessage
	r.st.Overdue, r.st.ResolveBy = false, time.Time{}
	if !r.legacy() {
		switch res.ResultCode {
		case alipay.CodeAuthExpired:
			return r.closeExpired(ctx, "Antom reports the authorization expired: "+res.String())
		case alipay.CodeAuthCancelled, alipay.CodeOrderIsCanceled:
			r.st.State = StateCancelled
			return r.upsertVisibility(ctx)
		}
	}
	r.st.State = StateFailed
	if err := r.upsertVisibility(ctx); err != nil {
		return err
	}
	opts := temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{r.st}}
	if res.Action() == alipay.ActionBusinessFailure {
		// An expected refusal, not a fault of the system: the SDK does not log it as an error.
		opts.Category = temporal.ApplicationErrorCategoryBenign
	}
	return temporal.NewApplicationErrorWithOptions(
		fmt.Sprintf("capture of %s for payment %s failed: %s", r.in.Amount, r.in.PaymentID, res), ErrTypeCaptureFailed, opts)
}

// expire ends the capture EXPIRED because of the deadline.
func (r *run) expire(ctx workflow.Context, msg string) error {
	r.st.ResolvedBy = ResolvedByDeadline
	r.st.ResultCode, r.st.ResultMessage = alipay.CodeAuthExpired, msg
	return r.closeExpired(ctx, msg)
}

func (r *run) closeExpired(ctx workflow.Context, msg string) error {
	r.st.State = StateExpired
	r.st.Overdue, r.st.ResolveBy = false, time.Time{}
	if err := r.upsertVisibility(ctx); err != nil {
		return err
	}
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("authorization of payment %s (%s) expired at %s uncaptured: %s", r.in.PaymentID, r.in.Amount, r.st.Deadline.Format(time.RFC3339), msg),
		ErrTypeAuthorizationExpired, nil, r.st)
}

// unresolved closes an overdue capture that Antom did not resolve within policy.resolveWithin.
func (r *run) unresolved(ctx workflow.Context, msg string) error {
	r.st.State, r.st.ResolvedBy = StateUnresolved, ResolvedByTimeout
	r.st.ResultMessage = msg
	r.log.Error("capture closed UNRESOLVED: Antom's answer did not come within policy.resolveWithin", "captureRequestId", r.st.CaptureRequestID, "reason", msg)
	if err := r.upsertVisibility(ctx); err != nil {
		return err
	}
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("capture %s of payment %s (%s) unresolved %v after the deadline: %s; ask Antom, then settle it by hand",
			r.st.CaptureRequestID, r.in.PaymentID, r.in.Amount, r.in.Policy.ResolveWithin, msg),
		ErrTypeUnresolved, nil, r.st)
}
