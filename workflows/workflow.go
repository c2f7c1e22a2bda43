package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/capturekit/alipay-capture/alipay"
)

// CaptureWorkflow captures one authorization exactly once, before it lapses, and closes only in
// a state that agrees with Antom's ledger (DESIGN §2, money-truth rules).
//
// It sends the capture with a captureRequestId fixed before the first send, in short bounded
// series. S ends it CAPTURED, F ends it FAILED (unless an earlier send of the same id was
// ambiguous: then an inquiry decides). U or no answer makes it UNKNOWN: then the first of a
// notifyCapture signal for that id, or an inquiry (on the policy's schedule) that finds the
// capture, resolves it; an inquiry that finds no capture resends the same request. No capture is
// sent at or after the deadline minus the policy's margin. A capture still in process at the
// deadline stays UNKNOWN (overdue) and closes UNRESOLVED only after policy.resolveWithin.
func CaptureWorkflow(ctx workflow.Context, in CaptureInput) (*Result, error) {
	return captureWorkflow(ctx, in, Options{})
}

func captureWorkflow(ctx workflow.Context, in CaptureInput, o Options) (*Result, error) {
	merchant := MerchantName(in.Merchant)
	r := &run{
		v:             workflow.GetVersion(ctx, changeMoneyTruth, versionLegacy, currentVersion),
		in:            in,
		log:           log.With(workflow.GetLogger(ctx), "merchant", merchant),
		metrics:       workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"merchant": merchant}),
		notifications: workflow.GetSignalChannel(ctx, SignalNotifyCapture),
	}
	r.ev.workerSends = o.Events
	r.st = Status{State: StatePending, PaymentID: in.PaymentID, Merchant: merchant, OrderID: in.OrderID, Amount: in.Amount}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (Status, error) { return r.st, nil }); err != nil {
		return nil, err
	}
	r.metrics.Counter(MetricStarted).Inc(1)
	res, err := r.start(ctx)
	// Replay-safe: the SDK emits workflow metrics only when the code runs for the first time.
	if r.st.State.Final() {
		tagged := r.metrics.WithTags(map[string]string{"outcome": string(r.st.State), "resolved_by": r.st.ResolvedBy, "code": r.st.ResultCode})
		tagged.Counter(MetricFinished).Inc(1)
		tagged.Timer(MetricTimeToResult).Record(workflow.Now(ctx).Sub(workflow.GetInfo(ctx).WorkflowStartTime))
	}
	return res, err
}

// run is the state of one CaptureWorkflow execution.
type run struct {
	v             workflow.Version // logic version recorded in the history
	in            CaptureInput     // with the policy defaults of v
	st            Status
	log           log.Logger
	metrics       client.MetricsHandler
	notifications workflow.ReceiveChannel
	cutoff        time.Time // no capture is sent at or after it
	visible       bool      // the search attributes and memo have been written once

	// ambiguous: a send of the request id had an unknown outcome, so an F answer to a resend is
	// not final by itself (rule 2).
	ambiguous bool
	// heldF is such an F answer, waiting for an inquiry to confirm or overturn it.
	heldF *alipay.Result
	// inquireNow: the next inquiry is due at once (heldF was just set), not on the schedule.
	inquireNow bool

	cancelRequested bool  // set by the cancel update; the main loop serves it while PENDING
	cancelServed    bool  // the main loop has made the cancel attempt
	cancelErr       error // its outcome, for the update caller

	auth authorization // version 2: the whole authorization and its captures (lifecycle.go)
	ev   eventStream   // capture events (events.go)
}

// legacy reports whether the history was recorded by the first release's logic, which running
// captures of that release keep.
func (r *run) legacy() bool { return r.v == versionLegacy }

// start validates the input and runs the capture to its end.
func (r *run) start(ctx workflow.Context) (*Result, error) {
	if err := r.in.Validate(); err != nil {
		msg := "invalid capture input: " + err.Error()
		if r.legacy() {
			return nil, temporal.NewNonRetryableApplicationError(msg, ErrTypeInvalidInput, nil)
		}
		return r.finish(ctx, r.refuseToStart(ctx, CodeInvalidInput, msg, ErrTypeInvalidInput))
	}
	r.in.Policy = r.in.Policy.or(defaultPolicy(r.v))
	if r.in.Attempt == 0 {
		r.in.Attempt = 1
	}
	r.st.CaptureRequestID = CaptureRequestID(r.in.PaymentID, r.in.Attempt)
	if !r.legacy() {
		r.st.Policy = r.in.Policy
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateCancel, r.handleCancel,
		workflow.UpdateHandlerOptions{Validator: r.validateCancel}); err != nil {
		return nil, err
	}
	if r.v >= versionLifecycle {
		r.initAuthorization()
		if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateCapture, r.handleCapture,
			workflow.UpdateHandlerOptions{Validator: r.validateCapture}); err != nil {
			return nil, err
		}
		return r.finish(ctx, r.lifecycle(ctx))
	}
	return r.finish(ctx, r.execute(ctx))
}

func (r *run) execute(ctx workflow.Context) error {
	if err := r.resolveDeadline(ctx); err != nil {
		return err
	}
	if r.in.CaptureAt.After(workflow.Now(ctx)) {
		// Show the waiting capture as PENDING; an immediate capture shows up as CAPTURING.
		if err := r.upsertVisibility(ctx); err != nil {
			return err
		}
	}
	if done, err := r.waitUntilCaptureAt(ctx); done || err != nil {
		return err
	}
	if !workflow.Now(ctx).Before(r.cutoff) {
		return r.expire(ctx, "authorization deadline passed before the capture was sent")
	}
	resolved, err := r.sendCapture(ctx)
	if err != nil || resolved {
		return err
	}
	return r.awaitOutcome(ctx)
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
			msg := "looking up the authorization deadline with inquiryPayment: " + err.Error()
			if r.legacy() {
				return temporal.NewNonRetryableApplicationError(msg, ErrTypeInvalidInput, err)
			}
			code := CodeNoDeadline
			var appErr *temporal.ApplicationError
			var res alipay.Result
			if errors.As(err, &appErr) && appErr.Details(&res) == nil && res.ResultCode != "" {
				code = res.ResultCode // e.g. ORDER_NOT_EXIST: Antom does not know the payment
			}
			return r.refuseToStart(ctx, code, msg, ErrTypeCaptureFailed)
		}
		switch {
		case !inq.AuthExpiryTime.IsZero():
			r.st.Deadline = inq.AuthExpiryTime.UTC()
		case !inq.PaymentTime.IsZero():
			r.st.Deadline = inq.PaymentTime.Add(AuthorizationWindow).UTC()
		default:
			msg := "no capture deadline: the input has neither authorizedAt nor authExpiresAt and inquiryPayment reported neither authExpiryTime nor paymentTime"
			if r.legacy() {
				return temporal.NewNonRetryableApplicationError(msg, ErrTypeInvalidInput, nil)
			}
			return r.refuseToStart(ctx, CodeNoDeadline, msg, ErrTypeCaptureFailed)
		}
	}
	r.cutoff = r.st.Deadline.Add(-r.in.Policy.DeadlineMargin)
	return nil
}

// refuseToStart closes a capture that sent nothing as FAILED with code and msg (rule 4).
func (r *run) refuseToStart(ctx workflow.Context, code, msg, errType string) error {
	r.log.Warn("capture not started", "code", code, "reason", msg)
	r.st.State, r.st.ResultCode, r.st.ResultMessage = StateFailed, code, msg
	if err := r.upsertStatusOnly(ctx); err != nil {
		return err
	}
	return temporal.NewNonRetryableApplicationError(msg, errType, nil, r.st)
}

// finish turns the final state into the workflow's result or error. A workflow cancelled in
// Temporal still closes with a final state (rule 4).
func (r *run) finish(ctx workflow.Context, err error) (*Result, error) {
	if err != nil {
		if !r.legacy() && !r.st.State.Final() && temporal.IsCanceledError(err) {
			err = r.closeCancelled(ctx, err)
			r.closeEvents(ctx)
			return nil, err
		}
		if r.v >= versionLifecycle {
			// Let capture requests answered at the end return their answer.
			_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
		}
		r.closeEvents(ctx)
		return nil, err
	}
	// Let a cancel update return its answer before the workflow completes.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return nil, err
	}
	r.closeEvents(ctx)
	st := r.st
	return &st, nil
}

// closeCancelled records the final state of a workflow cancelled in Temporal: FAILED when nothing
// was sent (the authorization stands; a new start may capture it), UNRESOLVED when a capture was
// in flight, because Antom may have captured and nobody will now find out, and (version 2)
// CAPTURED when earlier captures took part of the authorization and none is in flight.
func (r *run) closeCancelled(ctx workflow.Context, cause error) error {
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	sent := r.st.CaptureCalls > 0
	if r.v >= versionLifecycle {
		sent = r.captureInFlight() // captures that ended before the cancel are settled
	}
	r.st.ResolvedBy, r.st.ResultCode = ResolvedByTimeout, CodeWorkflowCancelled
	r.st.NextInquiryAt = time.Time{}
	if r.v >= versionLifecycle {
		r.answerUnsent()
	}
	switch {
	case !sent && r.auth.captured > 0:
		r.st.State = StateCaptured
		r.st.ResultMessage = "workflow cancelled in Temporal after part of the authorization was captured; the rest lapses"
	case sent:
		r.st.State = StateUnresolved
		r.st.ResultMessage = "workflow cancelled in Temporal after a capture was sent; check the payment with inquiryPayment"
		r.log.Error("capture workflow cancelled with a capture outcome unknown", "captureRequestId", r.st.CaptureRequestID)
	default:
		r.st.State = StateFailed
		r.st.ResultMessage = "workflow cancelled in Temporal before a capture was sent"
	}
	if err := r.upsertStatusOnly(ctx); err != nil {
		return err
	}
	return cause
}

// upsertVisibility writes the state's search attribute (and, the first time, the other search
// attributes and the memo that the starter did not set already) so that the Temporal UI shows
// where the money stands without opening the workflow.
func (r *run) upsertVisibility(ctx workflow.Context) error {
	first := !r.visible
	r.visible = true
	updates := []temporal.SearchAttributeUpdate{AttrStatus.ValueSet(string(r.st.State))}
	if first {
		have := workflow.GetTypedSearchAttributes(ctx)
		missing := func(v string, key temporal.SearchAttributeKeyKeyword) bool {
			got, ok := have.GetKeyword(key)
			return v != "" && (r.legacy() || !ok || got != v)
		}
		if missing(r.in.PaymentID, AttrPaymentID) {
			updates = append(updates, AttrPaymentID.ValueSet(r.in.PaymentID))
		}
		if got, ok := have.GetTime(AttrDeadline); r.legacy() || !ok || !got.Equal(r.st.Deadline) {
			updates = append(updates, AttrDeadline.ValueSet(r.st.Deadline))
		}
		if missing(r.in.OrderID, AttrOrderID) {
			updates = append(updates, AttrOrderID.ValueSet(r.in.OrderID))
		}
		if r.in.Merchant != "" && !r.in.StartedVisible {
			// Decided from the input alone; capture.Client sets it at start.
			updates = append(updates, AttrMerchant.ValueSet(r.in.Merchant))
		}
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		return err
	}
	if first && (r.legacy() || workflow.GetInfo(ctx).Memo.GetFields()[MemoAmount] == nil) {
		memo := map[string]any{MemoAmount: r.in.Amount.String(), MemoPaymentID: r.in.PaymentID}
		if r.in.OrderID != "" {
			memo[MemoOrderID] = r.in.OrderID
		}
		if !r.legacy() {
			memo[MemoCaptureRequestID] = r.st.CaptureRequestID
		}
		return workflow.UpsertMemo(ctx, memo)
	}
	return nil
}

// upsertStatusOnly writes CaptureStatus alone, for closes where the other attributes may be
// unusable (bad input) or already written.
func (r *run) upsertStatusOnly(ctx workflow.Context) error {
	return workflow.UpsertTypedSearchAttributes(ctx, AttrStatus.ValueSet(string(r.st.State)))
}

// waitUntilCaptureAt holds a PENDING capture until CaptureAt, serving cancel requests meanwhile.
// done is true when the workflow ended (cancelled) while waiting.
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
		RetryPolicy:            retryPolicy(time.Minute),
	}
	var res alipay.Result
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), ActivityCancel,
		CancelActivityInput{Merchant: r.in.Merchant, PaymentID: r.in.PaymentID}).Get(ctx, &res)
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

// retryPolicy is the one retry policy of the workflow's activities: exponential from 1 s up to
// maxInterval, never retrying a verified refusal or configuration error.
func retryPolicy(maxInterval time.Duration) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        maxInterval,
		NonRetryableErrorTypes: []string{ErrTypeRefused, ErrTypeConfig, ErrTypeDeadlinePassed},
	}
}
