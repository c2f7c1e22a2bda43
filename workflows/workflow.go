package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/capturekit/alipay-capture/alipay"
)

// CaptureWorkflow guards one authorization until it closes in a state that agrees with Antom's
// ledger (docs/design.md). It captures nothing by itself: each capture request (the capture Update)
// becomes a record of the ledger (ledger.go), sent one at a time with a captureRequestId derived
// from its key and resolved by Antom's answer, a notification or an inquiry (send.go). While no
// capture runs, the deadline guard warns and applies policy.onDeadline at the cut-off
// (guard.go). Notifications reach their record at any moment (notify.go).
func CaptureWorkflow(ctx workflow.Context, in CaptureInput) (*Result, error) {
	return captureWorkflow(ctx, in, Options{})
}

func captureWorkflow(ctx workflow.Context, in CaptureInput, o Options) (*Result, error) {
	w := newCaptureRun(ctx, in, o)
	if err := w.setup(ctx); err != nil {
		return nil, err
	}
	if countOnce(ctx, o.counted, "start") {
		w.metrics.Counter(MetricStarted).Inc(1)
	}
	return w.finish(ctx, w.run(ctx))
}

// captureRun is the state of one CaptureWorkflow execution.
type captureRun struct {
	in       CaptureInput // with the policy defaults
	merchant string
	log      log.Logger
	metrics  client.MetricsHandler
	counted  *runSet // the runs whose start and close this worker counted
	notes    workflow.ReceiveChannel
	l        *ledger
	base     Status    // the fields not derived from the ledger
	cutoff   time.Time // no capture is sent at or after it
	lookups  int       // inquiries made to find the deadline
	active   *record   // the record whose capture runs now

	inquireNow bool // the next inquiry is due at once (an F after an ambiguous send)

	cancelRequested bool  // the cancel Update waits for the main loop to serve it
	cancelServed    bool  // its attempt was made
	cancelErr       error // its outcome, for the update caller
	voiding         bool  // the deadline guard's own void runs (policy.onDeadline=cancel)

	warned          int  // how many of policy.warnBefore were given
	deadlineCapture bool // the guard asked for the remainder's capture (policy.onDeadline=capture)

	shown      State // the CaptureStatus written last
	shownOnce  bool  // the other search attributes and the memo were checked once
	uncaptured int64 // MemoUncaptured as written last, in minor units; 0: never written
	ev         eventStream
}

func newCaptureRun(ctx workflow.Context, in CaptureInput, o Options) *captureRun {
	merchant := MerchantName(in.Merchant)
	in.Policy = in.Policy.WithDefaults()
	w := &captureRun{
		in:       in,
		merchant: merchant,
		log:      log.With(workflow.GetLogger(ctx), "merchant", merchant),
		metrics:  workflow.GetMetricsHandler(ctx).WithTags(map[string]string{LabelMerchant: merchant}),
		notes:    workflow.GetSignalChannel(ctx, SignalNotifyCapture),
		l:        newLedger(in),
		counted:  o.counted,
		base:     Status{PaymentID: in.PaymentID, Merchant: merchant, OrderID: in.OrderID, Policy: in.Policy},
	}
	w.ev.workerSends = o.Events
	if s, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(AttrStatus); ok {
		w.shown = State(s) // written by the start (capture.Client)
	}
	return w
}

// setup registers the query and update handlers before anything else runs.
func (w *captureRun) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (Status, error) { return w.status(), nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateCancel, w.handleCancel,
		workflow.UpdateHandlerOptions{Validator: w.validateCancel}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateCapture, w.handleCapture,
		workflow.UpdateHandlerOptions{Validator: w.validateCapture})
}

// status is the status query's answer, derived from the ledger.
func (w *captureRun) status() Status {
	st := w.base
	st.Inquiries = 0
	w.l.fill(&st)
	st.Inquiries += w.lookups
	return st
}

// run guards the authorization until it closes. Its only errors are the workflow's own
// (cancellation in Temporal): every outcome of a capture is a value in the ledger.
func (w *captureRun) run(ctx workflow.Context) error {
	if err := w.in.Validate(); err != nil {
		w.l.close(ending{state: StateFailed, code: CodeInvalidInput, msg: "invalid capture input: " + err.Error()})
		w.log.Warn("capture not started", "reason", err)
		return nil
	}
	if err := w.resolveDeadline(ctx); err != nil || w.l.closed() {
		return err
	}
	w.show(ctx)
	for !w.l.closed() {
		w.drain(ctx)
		switch rec := w.l.next(); {
		case w.cancelRequested:
			w.serveCancel(ctx)
		case w.l.closed():
		case rec != nil:
			if err := w.capture(ctx, rec); err != nil {
				return err
			}
		default:
			if err := w.guard(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// resolveDeadline sets the deadline from the input, else from inquiryPayment; without one the
// authorization closes FAILED, having sent nothing.
func (w *captureRun) resolveDeadline(ctx workflow.Context) error {
	dl := w.in.Deadline()
	if dl.IsZero() {
		w.lookups++
		inq, err := w.inquire(ctx, InquiryActivityInput{Merchant: w.in.Merchant, PaymentID: w.in.PaymentID}, true)
		switch {
		case temporal.IsCanceledError(err):
			return err
		case err != nil:
			code := CodeNoDeadline
			if res, ok := refusal(err); ok && res.ResultCode != "" {
				code = res.ResultCode // e.g. ORDER_NOT_EXIST: Antom does not know the payment
			}
			w.l.close(ending{state: StateFailed, code: code, msg: "looking up the authorization deadline with inquiryPayment: " + err.Error()})
			return nil
		case !inq.AuthExpiryTime.IsZero():
			dl = inq.AuthExpiryTime.UTC()
		case !inq.PaymentTime.IsZero():
			dl = inq.PaymentTime.Add(AuthorizationWindow).UTC()
		default:
			w.l.close(ending{state: StateFailed, code: CodeNoDeadline,
				msg: "no capture deadline: the input has neither authorizedAt nor authExpiresAt and inquiryPayment reported neither authExpiryTime nor paymentTime"})
			return nil
		}
	}
	w.base.Deadline = dl
	w.cutoff = dl.Add(-w.in.Policy.DeadlineMargin)
	return nil
}

// finish closes the run: it ends what is still open, answers every request, hands over the
// events, reads every notification accepted until the very end, and turns the final state into
// the workflow's result or error (rule 4: a closed workflow always carries a final state).
func (w *captureRun) finish(ctx workflow.Context, err error) (*Result, error) {
	cancelled := temporal.IsCanceledError(err)
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	if cancelled {
		w.closeCancelled()
	}
	st := w.status()
	w.l.answerUnsent("the authorization closed first (" + string(st.State) + ": " + st.ResultMessage + ")")
	if w.cancelRequested && !w.cancelServed {
		w.cancelErr = temporal.NewNonRetryableApplicationError("the authorization closed before the cancel was served ("+string(st.State)+")", ErrTypeCaptureClosed, nil)
		w.cancelRequested, w.cancelServed = false, true
	}
	w.show(ctx)
	w.closeEvents(ctx)
	for {
		_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
		w.awaitEvents(ctx)
		if !w.drain(ctx) {
			break
		}
	}
	st = w.status()
	if countOnce(ctx, w.counted, "finish") {
		tagged := w.metrics.WithTags(map[string]string{LabelOutcome: string(st.State), LabelResolvedBy: st.ResolvedBy, LabelCode: st.ResultCode})
		tagged.Counter(MetricFinished).Inc(1)
		tagged.Counter(MetricResultCodes).Inc(1)
		tagged.Timer(MetricTimeToResult).Record(workflow.Now(ctx).Sub(workflow.GetInfo(ctx).WorkflowStartTime))
	}
	if cancelled {
		return nil, err
	}
	return closeResult(st)
}

// closeResult is the workflow's result for a final status: CAPTURED and CANCELLED complete,
// the others fail with an application error whose details hold the status.
func closeResult(st Status) (*Result, error) {
	opts := temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{st}}
	switch st.State {
	case StateCaptured, StateCancelled:
		return &st, nil
	case StateExpired:
		return nil, temporal.NewApplicationErrorWithOptions(fmt.Sprintf("authorization of payment %s (%s) expired at %s uncaptured: %s",
			st.PaymentID, st.Authorized, st.Deadline.Format(time.RFC3339), st.ResultMessage), ErrTypeAuthorizationExpired, opts)
	case StateUnresolved:
		return nil, temporal.NewApplicationErrorWithOptions(fmt.Sprintf("capture %s of payment %s (%s) unresolved after the deadline: %s; ask Antom, then settle it by hand",
			st.CaptureRequestID, st.PaymentID, st.Amount, st.ResultMessage), ErrTypeUnresolved, opts)
	}
	errType := ErrTypeCaptureFailed
	if st.ResultCode == CodeInvalidInput {
		errType = ErrTypeInvalidInput
	}
	if (alipay.Result{ResultCode: st.ResultCode, ResultStatus: alipay.StatusFail}).Action() == alipay.ActionBusinessFailure {
		// An expected refusal, not a fault of the system: the SDK does not log it as an error.
		opts.Category = temporal.ApplicationErrorCategoryBenign
	}
	return nil, temporal.NewApplicationErrorWithOptions(fmt.Sprintf("capture of %s for payment %s failed: %s %s",
		st.Amount, st.PaymentID, st.ResultCode, st.ResultMessage), errType, opts)
}

// closeCancelled ends a run cancelled in Temporal: a capture in flight becomes UNRESOLVED
// (Antom may have captured and nobody will now find out); what was captured stays CAPTURED.
func (w *captureRun) closeCancelled() {
	msg := "workflow cancelled in Temporal before a capture was sent"
	for _, r := range w.l.records {
		if r.inFlight() && r.sent() {
			r.apply(outcome{kind: outUnresolved, by: ResolvedByTimeout, result: alipay.Result{ResultCode: CodeWorkflowCancelled},
				message: "workflow cancelled in Temporal after the capture was sent; check the payment with inquiryPayment"})
			w.log.Error("capture workflow cancelled with a capture outcome unknown", "captureRequestId", r.CaptureRequestID)
		}
	}
	if w.l.captured() > 0 {
		msg = "workflow cancelled in Temporal after part of the authorization was captured; the rest lapses"
	}
	w.l.close(ending{state: StateFailed, by: ResolvedByTimeout, code: CodeWorkflowCancelled, msg: msg})
}

// show writes CaptureStatus when the derived state changed and, the first time, the search
// attributes and memo the start did not write, so that the Temporal UI shows where the money
// stands without opening the workflow. It decides from the start's own attributes, which are
// in the history.
func (w *captureRun) show(ctx workflow.Context) {
	state := w.l.state()
	var updates []temporal.SearchAttributeUpdate
	if state != w.shown {
		updates = append(updates, AttrStatus.ValueSet(string(state)))
	}
	if !w.shownOnce && w.in.Validate() == nil {
		w.shownOnce = true
		updates = append(updates, w.missingAttributes(ctx)...)
		if workflow.GetInfo(ctx).Memo.GetFields()[MemoAmount] == nil {
			memo := map[string]any{MemoAmount: w.in.Amount.String(), MemoPaymentID: w.in.PaymentID}
			if w.in.OrderID != "" {
				memo[MemoOrderID] = w.in.OrderID
			}
			if err := workflow.UpsertMemo(ctx, memo); err != nil {
				w.log.Error("memo not written", "err", err)
			}
		}
	}
	w.showUncaptured(ctx)
	if len(updates) == 0 {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		w.log.Error("search attributes not written", "err", err)
		return
	}
	w.shown = state
}

// showUncaptured writes MemoUncaptured while the authorization is open with part of it
// captured, each time that part grows, so that the census counts what may still lapse, not the
// whole authorization. Histories recorded before the change replay without it.
func (w *captureRun) showUncaptured(ctx workflow.Context) {
	left := w.l.units - w.l.captured()
	if w.l.closed() || w.l.captured() == 0 || left == w.uncaptured {
		return
	}
	if workflow.GetVersion(ctx, changeMemoUncaptured, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	if err := workflow.UpsertMemo(ctx, map[string]any{MemoUncaptured: w.l.amount(left).String()}); err != nil {
		w.log.Error("memo not written", "err", err)
		return
	}
	w.uncaptured = left
}

func (w *captureRun) missingAttributes(ctx workflow.Context) []temporal.SearchAttributeUpdate {
	have := workflow.GetTypedSearchAttributes(ctx)
	var updates []temporal.SearchAttributeUpdate
	for _, kv := range []struct {
		key temporal.SearchAttributeKeyKeyword
		v   string
	}{{AttrPaymentID, w.in.PaymentID}, {AttrOrderID, w.in.OrderID}, {AttrMerchant, w.in.Merchant}} {
		if got, ok := have.GetKeyword(kv.key); kv.v != "" && (!ok || got != kv.v) {
			updates = append(updates, kv.key.ValueSet(kv.v))
		}
	}
	if got, ok := have.GetTime(AttrDeadline); !w.base.Deadline.IsZero() && (!ok || !got.Equal(w.base.Deadline)) {
		updates = append(updates, AttrDeadline.ValueSet(w.base.Deadline))
	}
	return updates
}

// wait blocks until done holds, routing every notification that arrives meanwhile, or until d
// has passed: d < 0 waits for done alone, d == 0 only takes the notifications already there.
// timedOut reports that d passed first.
func (w *captureRun) wait(ctx workflow.Context, d time.Duration, summary string, done func() bool) (timedOut bool, err error) {
	var timer workflow.Future
	if d > 0 {
		tctx, stop := workflow.WithCancel(ctx)
		defer stop()
		timer = workflow.NewTimerWithOptions(tctx, d, workflow.TimerOptions{Summary: summary})
	}
	for {
		w.drain(ctx)
		switch {
		case done():
			return false, nil
		case d == 0:
			return true, nil
		case timer != nil && timer.IsReady():
			// A timer also ends when the workflow is cancelled in Temporal: that is not a timeout.
			if err := timer.Get(ctx, nil); temporal.IsCanceledError(err) {
				return false, err
			}
			return true, nil
		}
		if err := workflow.Await(ctx, func() bool {
			return done() || w.notes.Len() > 0 || timer != nil && timer.IsReady()
		}); err != nil {
			return false, err
		}
	}
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
