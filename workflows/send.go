package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/capturekit/alipay-capture/alipay"
)

// sendCapture sends (or resends) the capture request in one bounded series and applies the
// answer. resolved is true when the outcome is final. A matching notification that arrives while
// the call is being retried resolves the capture and abandons the call.
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
	r.heldF = nil
	callCtx, abandon := workflow.WithCancel(ctx)
	defer abandon()
	callCtx = workflow.WithActivityOptions(callCtx, r.sendOptions(now))
	req := alipay.CaptureRequest{
		CaptureRequestID: r.st.CaptureRequestID,
		PaymentID:        r.in.PaymentID,
		CaptureAmount:    r.in.Amount,
		IsLastCapture:    r.in.IsLastCapture,
	}
	fut := workflow.ExecuteActivity(callCtx, ActivityCapture, CaptureActivityInput{Merchant: r.in.Merchant, Request: req, NotAfter: r.cutoff})

	var (
		res      CaptureActivityResult
		callErr  error
		answered bool // set by the future's callback: IsReady alone may skip it (defect of the first release)
		byNote   *alipay.CaptureNotification
	)
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(fut, func(f workflow.Future) { callErr, answered = f.Get(ctx, &res), true })
	sel.AddReceive(r.notifications, func(c workflow.ReceiveChannel, more bool) { byNote = r.receiveNotification(ctx, c) })
	for {
		sel.Select(ctx)
		if byNote != nil {
			abandon()
			return true, r.applyNotification(ctx, byNote)
		}
		if answered || (r.legacy() && fut.IsReady()) {
			break
		}
	}

	if callErr == nil {
		r.noteEvents(res.EventsOn)
	}
	if callErr != nil {
		var appErr *temporal.ApplicationError
		if errors.As(callErr, &appErr) && (appErr.Type() == ErrTypeRefused || appErr.Type() == ErrTypeConfig) {
			var result alipay.Result
			var attempt int
			_ = appErr.Details(&result, &attempt)
			if !r.legacy() && (r.ambiguous || attempt > 1) {
				// Rule 2: an earlier send of this id may have captured; an inquiry decides.
				r.log.Warn("F answer after an ambiguous send of the same request; an inquiry decides",
					"captureRequestId", req.CaptureRequestID, "result", result.String())
				r.ambiguous, r.heldF, r.inquireNow = true, &result, true
				return false, r.enterUnknown(ctx, result)
			}
			r.st.ResolvedBy = ResolvedByResponse
			return true, r.fail(ctx, result)
		}
		// The series of sends ended without a trustworthy answer, or the activity refused to send
		// past the cut-off: the request may or may not have taken effect. Only a notification or
		// an inquiry can tell.
		r.ambiguous = true
		r.log.Info("capture call gave no answer", "captureRequestId", req.CaptureRequestID, "err", callErr)
		return false, r.enterUnknown(ctx, alipay.Result{ResultCode: CodeNoAnswer, ResultStatus: alipay.StatusUnknown, ResultMessage: callErr.Error()})
	}
	if res.Result.ResultStatus == alipay.StatusSuccess {
		r.st.ResolvedBy = ResolvedByResponse
		return true, r.succeed(ctx, res.Result, res.CaptureID, res.CaptureAmount, res.CaptureTime)
	}
	r.ambiguous = true
	return false, r.enterUnknown(ctx, res.Result)
}

// sendOptions bounds one series of sends: the first release retried until the cut-off; now at
// most sendsPerSeries sends, about a minute, then inquiries take over (rule 3).
func (r *run) sendOptions(now time.Time) workflow.ActivityOptions {
	untilCut := r.cutoff.Sub(now)
	opts := workflow.ActivityOptions{
		ScheduleToCloseTimeout: untilCut,
		StartToCloseTimeout:    min(r.in.Policy.CallTimeout, untilCut),
		RetryPolicy:            retryPolicy(time.Minute),
	}
	if !r.legacy() {
		opts.RetryPolicy.InitialInterval = 5 * time.Second
		opts.RetryPolicy.MaximumAttempts = sendsPerSeries
	}
	return opts
}
