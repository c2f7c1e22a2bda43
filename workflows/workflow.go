package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/capturekit/alipay-capture/alipay"
)

// CaptureWorkflow captures one authorization exactly once, before it lapses.
//
// It sends the capture with a captureRequestId fixed before the first send. S ends it CAPTURED,
// F ends it FAILED. U or no answer makes it UNKNOWN: then the first of a notifyCapture signal for
// that id, an inquiry (on the policy's schedule) that finds the capture, or the deadline
// (followed by one last inquiry) resolves it. An inquiry that finds no capture resends the same
// request. No capture is sent at or after the deadline minus the policy's margin.
func CaptureWorkflow(ctx workflow.Context, in CaptureInput) (*Result, error) {
	if err := in.Validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("invalid capture input: "+err.Error(), ErrTypeInvalidInput, nil)
	}
	r := &run{
		in:            in.withDefaults(),
		log:           workflow.GetLogger(ctx),
		notifications: workflow.GetSignalChannel(ctx, SignalNotifyCapture),
	}
	r.st = Status{
		State:            StatePending,
		PaymentID:        in.PaymentID,
		OrderID:          in.OrderID,
		Amount:           in.Amount,
		CaptureRequestID: CaptureRequestID(in.PaymentID, r.in.Attempt),
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (Status, error) { return r.st, nil }); err != nil {
		return nil, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateCancel, r.handleCancel,
		workflow.UpdateHandlerOptions{Validator: r.validateCancel}); err != nil {
		return nil, err
	}
	metrics := workflow.GetMetricsHandler(ctx)
	metrics.Counter(MetricStarted).Inc(1)
	res, err := r.execute(ctx)
	// Replay-safe: the SDK emits workflow metrics only when the code runs for the first time.
	if r.st.State != StatePending && r.st.State != StateCapturing && r.st.State != StateUnknown {
		tagged := metrics.WithTags(map[string]string{"outcome": string(r.st.State), "resolved_by": r.st.ResolvedBy})
		tagged.Counter(MetricFinished).Inc(1)
		tagged.Timer(MetricTimeToResult).Record(workflow.Now(ctx).Sub(workflow.GetInfo(ctx).WorkflowStartTime))
	}
	return res, err
}

// run is the state of one CaptureWorkflow execution.
type run struct {
	in            CaptureInput
	st            Status
	log           log.Logger
	notifications workflow.ReceiveChannel
	cutoff        time.Time // no capture is sent at or after it
	visible       bool      // the search attributes and memo have been written once

	cancelRequested bool  // set by the cancel update; the main loop serves it while PENDING
	cancelServed    bool  // the main loop has made the cancel attempt
	cancelErr       error // its outcome, for the update caller
}

func (r *run) execute(ctx workflow.Context) (*Result, error) {
	if err := r.resolveDeadline(ctx); err != nil {
		return nil, err
	}
	if r.in.CaptureAt.After(workflow.Now(ctx)) {
		// Show the waiting capture as PENDING; an immediate capture shows up as CAPTURING.
		if err := r.upsertVisibility(ctx); err != nil {
			return nil, err
		}
	}
	if done, err := r.waitUntilCaptureAt(ctx); done || err != nil {
		return r.finish(ctx, err)
	}
	if !workflow.Now(ctx).Before(r.cutoff) {
		return r.finish(ctx, r.expire(ctx, "authorization deadline passed before the capture was sent", false))
	}
	resolved, err := r.sendCapture(ctx)
	if err != nil || resolved {
		return r.finish(ctx, err)
	}
	return r.finish(ctx, r.awaitOutcome(ctx))
}

// resolveDeadline sets the deadline from the input, else from inquiryPayment.
func (r *run) resolveDeadline(ctx workflow.Context) error {
	switch {
	case !r.in.AuthExpiresAt.IsZero():
		r.st.Deadline = r.in.AuthExpiresAt.UTC()
	case !r.in.AuthorizedAt.IsZero():
		r.st.Deadline = r.in.AuthorizedAt.Add(AuthorizationWindow).UTC()
	default:
		inq, err := r.inquire(ctx, true)
		if err != nil {
			return temporal.NewNonRetryableApplicationError(
				"looking up the authorization deadline with inquiryPayment: "+err.Error(), ErrTypeInvalidInput, err)
		}
		switch {
		case !inq.AuthExpiryTime.IsZero():
			r.st.Deadline = inq.AuthExpiryTime.UTC()
		case !inq.PaymentTime.IsZero():
			r.st.Deadline = inq.PaymentTime.Add(AuthorizationWindow).UTC()
		default:
			return temporal.NewNonRetryableApplicationError(
				"no capture deadline: the input has neither authorizedAt nor authExpiresAt and inquiryPayment reported neither authExpiryTime nor paymentTime",
				ErrTypeInvalidInput, nil)
		}
	}
	r.cutoff = r.st.Deadline.Add(-r.in.Policy.DeadlineMargin)
	return nil
}

// waitUntilCaptureAt holds a PENDING capture until CaptureAt, serving cancel requests meanwhile.
// done is true when the workflow ended (cancelled or expired) while waiting.
func (r *run) waitUntilCaptureAt(ctx workflow.Context) (done bool, err error) {
	for {
		wait := r.in.CaptureAt.Sub(workflow.Now(ctx))
		if untilCut := r.cutoff.Sub(workflow.Now(ctx)); untilCut < wait {
			wait = untilCut
		}
		if wait <= 0 && !r.cancelRequested {
			return false, nil
		}
		if !r.cancelRequested {
			if _, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return r.cancelRequested }); err != nil {
				return true, err
			}
		}
		if !r.cancelRequested {
			continue
		}
		r.cancelErr = r.cancel(ctx)
		r.cancelServed, r.cancelRequested = true, false
		if r.cancelErr == nil {
			return true, nil
		}
	}
}

// validateCancel admits a cancel only while no capture has been sent.
func (r *run) validateCancel(reason string) error {
	switch {
	case r.cancelRequested:
		return errors.New("a cancel is already in progress")
	case r.st.State != StatePending:
		return fmt.Errorf("cannot cancel: the capture is %s (a capture in flight or done cannot be cancelled; refund it instead)", r.st.State)
	}
	return nil
}

// handleCancel asks the main loop to void the authorization and returns its outcome.
func (r *run) handleCancel(ctx workflow.Context, reason string) (*Result, error) {
	r.log.Info("cancel requested", "reason", reason)
	r.cancelRequested, r.cancelServed = true, false
	if err := workflow.Await(ctx, func() bool { return r.cancelServed }); err != nil {
		return nil, err
	}
	if r.cancelErr != nil {
		return nil, r.cancelErr
	}
	st := r.st
	return &st, nil
}

// cancel calls Antom's cancel; on S the capture ends CANCELLED. On a refusal the capture stays
// PENDING and the error goes back to the update's caller.
func (r *run) cancel(ctx workflow.Context) error {
	opts := workflow.ActivityOptions{
		StartToCloseTimeout:    r.in.Policy.CallTimeout,
		ScheduleToCloseTimeout: 10 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{ErrTypeRefused, ErrTypeConfig},
		},
	}
	var res alipay.Result
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), ActivityCancel,
		CancelActivityInput{PaymentID: r.in.PaymentID}).Get(ctx, &res)
	if err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			return temporal.NewApplicationError("Antom refused the cancel: "+appErr.Message(), appErr.Type())
		}
		return fmt.Errorf("cancel: %w", err)
	}
	r.st.State = StateCancelled
	r.st.ResolvedBy = ResolvedByCancel
	r.st.ResultCode, r.st.ResultMessage = res.ResultCode, res.ResultMessage
	return r.upsertVisibility(ctx)
}

// sendCapture sends (or resends) the capture request and applies the answer. resolved is true
// when the outcome is final. A matching notification that arrives while the call is being
// retried resolves the capture and abandons the call.
func (r *run) sendCapture(ctx workflow.Context) (resolved bool, err error) {
	now := workflow.Now(ctx)
	if !now.Before(r.cutoff) {
		return false, nil
	}
	if r.st.State != StateCapturing {
		r.st.State = StateCapturing
		if err := r.upsertVisibility(ctx); err != nil {
			return false, err
		}
	}
	r.st.CaptureCalls++
	callCtx, abandon := workflow.WithCancel(ctx)
	defer abandon()
	callCtx = workflow.WithActivityOptions(callCtx, workflow.ActivityOptions{
		ScheduleToCloseTimeout: r.cutoff.Sub(now),
		StartToCloseTimeout:    min(r.in.Policy.CallTimeout, r.cutoff.Sub(now)),
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{ErrTypeRefused, ErrTypeConfig, ErrTypeDeadlinePassed},
		},
	})
	req := alipay.CaptureRequest{
		CaptureRequestID: r.st.CaptureRequestID,
		PaymentID:        r.in.PaymentID,
		CaptureAmount:    r.in.Amount,
		IsLastCapture:    r.in.IsLastCapture,
	}
	fut := workflow.ExecuteActivity(callCtx, ActivityCapture, CaptureActivityInput{Request: req, NotAfter: r.cutoff})

	var (
		res     CaptureActivityResult
		callErr error
		byNote  *alipay.CaptureNotification
	)
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(fut, func(f workflow.Future) { callErr = f.Get(ctx, &res) })
	sel.AddReceive(r.notifications, func(c workflow.ReceiveChannel, more bool) { byNote = r.receiveNotification(ctx, c) })
	for {
		sel.Select(ctx)
		if byNote != nil {
			abandon()
			return true, r.applyNotification(ctx, byNote)
		}
		if fut.IsReady() {
			break
		}
	}

	if callErr != nil {
		var appErr *temporal.ApplicationError
		if errors.As(callErr, &appErr) && (appErr.Type() == ErrTypeRefused || appErr.Type() == ErrTypeConfig) {
			var result alipay.Result
			_ = appErr.Details(&result)
			r.st.ResolvedBy = ResolvedByResponse
			return true, r.fail(ctx, result)
		}
		// Retries ran out at the cut-off, or the activity refused to send past it: the request
		// may or may not have taken effect. Only a notification or an inquiry can tell.
		r.log.Info("capture call gave no answer", "captureRequestId", req.CaptureRequestID, "err", callErr)
		return false, r.enterUnknown(ctx, alipay.Result{ResultCode: "NO_ANSWER", ResultStatus: alipay.StatusUnknown, ResultMessage: callErr.Error()})
	}
	if res.Result.ResultStatus == alipay.StatusSuccess {
		r.st.ResolvedBy = ResolvedByResponse
		return true, r.succeed(ctx, res.Result, res.CaptureID, res.CaptureAmount, res.CaptureTime)
	}
	return false, r.enterUnknown(ctx, res.Result)
}

// awaitOutcome waits in UNKNOWN for a notification, an inquiry or the deadline to resolve the
// capture.
func (r *run) awaitOutcome(ctx workflow.Context) error {
	for i := 0; ; i++ {
		sched := r.in.Policy.InquirySchedule
		wait := sched[min(i, len(sched)-1)]
		now := workflow.Now(ctx)
		untilDeadline := r.st.Deadline.Sub(now)
		atDeadline := wait >= untilDeadline
		if atDeadline {
			wait = max(untilDeadline, 0)
		}
		r.st.NextInquiryAt = now.Add(wait)

		timerCtx, cancelTimer := workflow.WithCancel(ctx)
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
		r.st.NextInquiryAt = time.Time{}
		if note != nil {
			cancelTimer()
			return r.applyNotification(ctx, note)
		}
		cancelTimer()
		if timErr != nil {
			return timErr
		}

		if atDeadline {
			return r.finalInquiry(ctx)
		}
		inq, err := r.inquire(ctx, false)
		if err != nil {
			r.log.Info("inquiry gave no answer; waiting for the next", "err", err)
			continue
		}
		done, resend, err := r.applyInquiry(ctx, inq)
		if done || err != nil {
			return err
		}
		if resend {
			resolved, err := r.sendCapture(ctx)
			if resolved || err != nil {
				return err
			}
		}
	}
}

// finalInquiry runs at the deadline: the capture is CAPTURED if Antom says so, FAILED if Antom
// says it failed, else EXPIRED. It retries until Antom answers: the outcome is never guessed.
func (r *run) finalInquiry(ctx workflow.Context) error {
	// A notification that raced the deadline timer still counts.
	if note := r.receiveNotification(ctx, nil); note != nil {
		return r.applyNotification(ctx, note)
	}
	inq, err := r.inquire(ctx, true)
	if err != nil {
		return err
	}
	if done, _, err := r.applyInquiry(ctx, inq); done || err != nil {
		if r.st.ResolvedBy == ResolvedByInquiry {
			r.st.ResolvedBy = ResolvedByDeadline
		}
		return err
	}
	msg := "authorization deadline reached; no capture found"
	if inq.Found {
		msg = "authorization deadline reached; capture still " + inq.TransactionStatus
	}
	return r.expire(ctx, msg, true)
}

// applyInquiry applies an inquiry's view of our capture: done when it resolved the capture,
// resend when Antom has no trace of the request.
func (r *run) applyInquiry(ctx workflow.Context, inq InquiryActivityResult) (done, resend bool, err error) {
	if !inq.Found {
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
		return true, false, r.fail(ctx, res)
	}
	return false, false, nil // PROCESSING or another non-final state: keep waiting
}

// inquire calls inquiryPayment. final inquiries retry until Antom answers; others give up after
// a while and let the next scheduled inquiry try again.
func (r *run) inquire(ctx workflow.Context, final bool) (InquiryActivityResult, error) {
	opts := workflow.ActivityOptions{
		StartToCloseTimeout: r.in.Policy.CallTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Minute,
			NonRetryableErrorTypes: []string{ErrTypeRefused, ErrTypeConfig},
		},
	}
	if !final {
		opts.ScheduleToCloseTimeout = 10 * time.Minute
	}
	r.st.Inquiries++
	var res InquiryActivityResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), ActivityInquiryPayment,
		InquiryActivityInput{PaymentID: r.in.PaymentID, CaptureRequestID: r.st.CaptureRequestID}).Get(ctx, &res)
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

func (r *run) succeed(ctx workflow.Context, res alipay.Result, captureID string, amount alipay.Amount, at string) error {
	r.st.State = StateCaptured
	r.st.ResultCode, r.st.ResultMessage = res.ResultCode, res.ResultMessage
	r.st.CaptureID, r.st.CaptureTime = captureID, at
	r.st.CapturedAmount = amount
	if amount.IsZero() {
		r.st.CapturedAmount = r.in.Amount
	}
	return r.upsertVisibility(ctx)
}

func (r *run) fail(ctx workflow.Context, res alipay.Result) error {
	r.st.State = StateFailed
	r.st.ResultCode, r.st.ResultMessage = res.ResultCode, res.ResultMessage
	if err := r.upsertVisibility(ctx); err != nil {
		return err
	}
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("capture of %s for payment %s failed: %s", r.in.Amount, r.in.PaymentID, res), ErrTypeCaptureFailed, nil, r.st)
}

func (r *run) expire(ctx workflow.Context, msg string, sent bool) error {
	r.st.State = StateExpired
	r.st.ResolvedBy = ResolvedByDeadline
	r.st.ResultCode, r.st.ResultMessage = alipay.CodeAuthExpired, msg
	if err := r.upsertVisibility(ctx); err != nil {
		return err
	}
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("authorization of payment %s (%s) expired at %s uncaptured: %s", r.in.PaymentID, r.in.Amount, r.st.Deadline.Format(time.RFC3339), msg),
		ErrTypeAuthorizationExpired, nil, r.st)
}

// finish turns the final state into the workflow's result or error.
func (r *run) finish(ctx workflow.Context, err error) (*Result, error) {
	if err != nil {
		return nil, err
	}
	// Let a cancel update return its answer before the workflow completes.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return nil, err
	}
	st := r.st
	return &st, nil
}

// upsertVisibility writes the state's search attribute (and, the first time, the other search
// attributes and the memo) so that the Temporal UI shows where the money stands without opening
// the workflow.
func (r *run) upsertVisibility(ctx workflow.Context) error {
	first := !r.visible
	r.visible = true
	updates := []temporal.SearchAttributeUpdate{AttrStatus.ValueSet(string(r.st.State))}
	if first {
		updates = append(updates, AttrPaymentID.ValueSet(r.in.PaymentID), AttrDeadline.ValueSet(r.st.Deadline))
		if r.in.OrderID != "" {
			updates = append(updates, AttrOrderID.ValueSet(r.in.OrderID))
		}
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		return err
	}
	if first {
		memo := map[string]any{"amount": r.in.Amount.String(), "paymentId": r.in.PaymentID}
		if r.in.OrderID != "" {
			memo["orderId"] = r.in.OrderID
		}
		return workflow.UpsertMemo(ctx, memo)
	}
	return nil
}
