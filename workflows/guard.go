package workflows

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/events"
)

// The deadline guard: while no capture runs, it waits for a capture request, a cancel, a
// notification, a warning time or the cut-off; it warns policy.warnBefore the deadline if part of
// the authorization is uncaptured, and at the cut-off applies policy.onDeadline to the
// remainder: lapse, cancel (void), or capture.

func (w *captureRun) guard(ctx workflow.Context) error {
	now := workflow.Now(ctx)
	w.warnIfDue(ctx, now)
	act := w.deadlineActionAt()
	if !now.Before(act) {
		return w.onDeadline(ctx)
	}
	wake := act
	if wb, ok := w.nextWarning(); ok && wb.Before(wake) {
		wake = wb
	}
	_, err := w.wait(ctx, wake.Sub(now), "deadline guard", func() bool {
		return w.l.next() != nil || w.cancelRequested || w.l.closed()
	})
	return err
}

// deadlineActionAt is when the guard applies policy.onDeadline: at the cut-off, or for capture
// early enough before it for one bounded series of sends.
func (w *captureRun) deadlineActionAt() time.Time {
	if w.in.Policy.OnDeadline == OnDeadlineCapture {
		return w.cutoff.Add(-time.Duration(sendsPerSeries) * (w.in.Policy.CallTimeout + 5*time.Second))
	}
	return w.cutoff
}

// nextWarning is the next warning time not yet given (policy.warnBefore, in its order).
func (w *captureRun) nextWarning() (time.Time, bool) {
	wb := w.in.Policy.WarnBefore
	if w.warned >= len(wb) {
		return time.Time{}, false
	}
	return w.base.Deadline.Add(-wb[w.warned]), true
}

// warnIfDue gives the warnings whose time has come (one log line and one count however many
// are due at once, as when the workflow starts late).
func (w *captureRun) warnIfDue(ctx workflow.Context, now time.Time) {
	due := false
	for {
		wb, ok := w.nextWarning()
		if !ok || now.Before(wb) {
			break
		}
		w.warned++
		due = true
	}
	if !due || w.l.remaining() <= 0 {
		return
	}
	w.base.Expiring = true
	w.log.Warn("authorization expiring with part uncaptured", "paymentId", w.in.PaymentID, "deadline", w.base.Deadline,
		"remaining", w.l.amount(w.l.remaining()).String(), "onDeadline", w.in.Policy.OnDeadline)
	w.metrics.Counter(MetricExpiring).Inc(1)
	w.emit(ctx, events.AuthorizationExpiring, nil)
}

// onDeadline applies policy.onDeadline to the uncaptured remainder.
func (w *captureRun) onDeadline(ctx workflow.Context) error {
	switch w.in.Policy.OnDeadline {
	case OnDeadlineCapture:
		if units := w.l.remaining(); units > 0 && !w.deadlineCapture && workflow.Now(ctx).Before(w.cutoff) {
			w.deadlineCapture = true
			w.log.Info("capturing the remainder before the cut-off (policy.onDeadline=capture)", "remaining", w.l.amount(units).String())
			w.l.add(CaptureRequest{Amount: w.l.amount(units), IsLastCapture: true, Key: "deadline"})
			return nil
		}
	case OnDeadlineCancel:
		if w.l.captured() == 0 {
			w.voiding = true
			res, err := w.void(ctx)
			w.voiding = false
			if temporal.IsCanceledError(err) {
				return err
			}
			if err == nil {
				w.l.close(ending{state: StateCancelled, by: ResolvedByDeadline, code: res.ResultCode,
					msg: "voided at the cut-off (policy.onDeadline=cancel): " + res.ResultMessage})
				w.show(ctx)
				return nil
			}
			w.log.Warn("voiding the authorization at the cut-off failed; it lapses", "err", err)
		}
	}
	msg := "the cut-off passed with nothing captured"
	if w.l.captured() > 0 {
		msg = "the remainder " + w.l.amount(max(w.l.remaining(), 0)).String() + " lapsed at the cut-off"
	}
	w.l.close(ending{state: StateExpired, by: ResolvedByDeadline, code: alipay.CodeAuthExpired, msg: msg})
	w.show(ctx)
	return nil
}

// validateCancel admits a cancel only when the main loop will serve it before any send (rule
// 14): the authorization is open, nothing was captured, no capture is requested or in flight,
// and the guard is not voiding it already.
func (w *captureRun) validateCancel(reason string) error {
	switch {
	case w.l.closed():
		return fmt.Errorf("cannot cancel: the authorization is closed (%s)", w.l.state())
	case w.cancelRequested:
		return errors.New("a cancel is already in progress")
	case w.voiding:
		return errors.New("cannot cancel: the authorization is being voided at the cut-off (policy.onDeadline=cancel)")
	case w.l.busy():
		return fmt.Errorf("cannot cancel: a capture is requested or in flight (%s); a capture cannot be cancelled, refund it instead", w.l.state())
	case w.l.captured() > 0:
		return errors.New("cannot cancel: part of the authorization was captured, and Antom cannot void the rest (it lapses at the deadline)")
	}
	return nil
}

// handleCancel asks the main loop to void the authorization and returns its outcome.
func (w *captureRun) handleCancel(ctx workflow.Context, reason string) (*Result, error) {
	w.log.Info("cancel requested", "reason", reason)
	w.cancelRequested, w.cancelServed = true, false
	if err := workflow.Await(ctx, func() bool { return w.cancelServed }); err != nil {
		return nil, err
	}
	if w.cancelErr != nil {
		return nil, w.cancelErr
	}
	st := w.status()
	return &st, nil
}

// serveCancel voids the authorization for the cancel Update: on S it closes CANCELLED; on a
// refusal it stays open and the error goes back to the caller.
func (w *captureRun) serveCancel(ctx workflow.Context) {
	res, err := w.void(ctx)
	w.cancelRequested, w.cancelServed, w.cancelErr = false, true, err
	if err == nil {
		w.l.close(ending{state: StateCancelled, by: ResolvedByCancel, code: res.ResultCode, msg: res.ResultMessage})
		w.show(ctx)
	}
}

// void calls Antom's cancel.
func (w *captureRun) void(ctx workflow.Context) (alipay.Result, error) {
	opts := workflow.ActivityOptions{
		StartToCloseTimeout:    w.in.Policy.CallTimeout,
		ScheduleToCloseTimeout: 10 * time.Minute,
		RetryPolicy:            retryPolicy(time.Minute),
	}
	var res alipay.Result
	fut := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), ActivityCancel,
		CancelActivityInput{Merchant: w.in.Merchant, PaymentID: w.in.PaymentID})
	if _, err := w.wait(ctx, -1, "", fut.IsReady); err != nil {
		return res, err
	}
	if err := fut.Get(ctx, &res); err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			return res, temporal.NewApplicationError("Antom refused the cancel: "+appErr.Message(), appErr.Type())
		}
		return res, fmt.Errorf("cancel: %w", err)
	}
	return res, nil
}

// validateCapture refuses a capture request before anything is written to the history; the
// error's type says whether the request conflicts with the authorization or comes too late.
// A key already seen is admitted when it asks for the same amount: its record answers it.
func (w *captureRun) validateCapture(ctx workflow.Context, req CaptureRequest) error {
	conflict := func(format string, a ...any) error {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, a...), ErrTypeCaptureConflict, nil)
	}
	closed := func(format string, a ...any) error {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, a...), ErrTypeCaptureClosed, nil)
	}
	if req.Key == "" || len(req.Key) > MaxKeyLength {
		return conflict("key: give an idempotency key of 1 to %d characters, e.g. the shipment id", MaxKeyLength)
	}
	if req.Merchant != "" && MerchantName(req.Merchant) != w.merchant {
		return conflict("payment %s is captured by merchant account %q, not %q", w.in.PaymentID, w.merchant, req.Merchant)
	}
	if prev := w.l.byKey(req.Key); prev != nil {
		if prev.Amount != req.Amount {
			return conflict("payment %s: key %q already asked for %s, not %s", w.in.PaymentID, req.Key, prev.Amount, req.Amount)
		}
		return nil
	}
	if err := req.Amount.Validate(); err != nil {
		return conflict("amount: %v", err)
	}
	want, _ := req.Amount.MinorUnits()
	switch {
	case w.l.closed():
		return closed("the authorization is closed (%s): nothing was captured for key %q", w.l.state(), req.Key)
	case w.l.lastRequested():
		return closed("the authorization is closed for capture: its last capture was requested")
	case w.cancelRequested || w.voiding:
		return closed("the authorization is being cancelled")
	case !w.cutoff.IsZero() && !workflow.Now(ctx).Before(w.cutoff):
		return closed("the capture cut-off %s has passed", w.cutoff.Format(time.RFC3339))
	case req.Amount.Currency != w.in.Amount.Currency:
		return conflict("amount %s: the authorization is in %s", req.Amount, w.in.Amount.Currency)
	case !w.in.PartialCaptures && req.Amount != w.in.Amount:
		return conflict("payment %s is authorized for %s, not %s: it captures its full authorized amount once (the start did not allow partial captures)",
			w.in.PaymentID, w.in.Amount, req.Amount)
	case want > w.l.remaining():
		return conflict("amount %s is more than the %s that remains of the authorized %s", req.Amount,
			alipay.Amount{Currency: w.in.Amount.Currency, Value: strconv.FormatInt(max(w.l.remaining(), 0), 10)}, w.in.Amount)
	}
	return nil
}

// handleCapture records the request (or finds it by its key) and answers from its record once
// the capture has its first answer.
func (w *captureRun) handleCapture(ctx workflow.Context, req CaptureRequest) (CaptureReply, error) {
	rec, duplicate := w.l.byKey(req.Key), true
	if rec == nil {
		rec, duplicate = w.l.add(req), false
		w.log.Info("capture requested", "key", req.Key, "amount", req.Amount.String(), "captureRequestId", rec.CaptureRequestID)
	}
	if err := workflow.Await(ctx, func() bool { return rec.answered }); err != nil {
		return CaptureReply{}, err
	}
	return ReplyOf(rec.CaptureRecord, duplicate), nil
}
