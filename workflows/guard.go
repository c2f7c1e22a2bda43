package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/capturekit/alipay-capture/events"
)

// The deadline guard (workflow version 2): while the authorization waits for capture requests
// it warns policy.warnBefore the deadline if part of it is still uncaptured, and at the cut-off
// applies policy.onDeadline to the remainder: lapse, cancel (void), or capture.

// guard waits for a capture request, a cancel request, a warning time or the cut-off. done is
// true when the workflow ended while waiting.
func (r *run) guard(ctx workflow.Context) (done bool, err error) {
	for {
		now := workflow.Now(ctx)
		r.warnIfDue(ctx, now)
		act := r.deadlineActionAt()
		if !now.Before(act) {
			return r.onDeadline(ctx)
		}
		wake := act
		if w, ok := r.nextWarning(); ok && w.Before(wake) {
			wake = w
		}
		if _, err := workflow.AwaitWithTimeout(ctx, wake.Sub(now), func() bool {
			return r.auth.next < len(r.auth.captures) || r.cancelRequested
		}); err != nil {
			return true, err
		}
		if r.cancelRequested {
			r.cancelErr = r.cancel(ctx)
			r.cancelServed, r.cancelRequested = true, false
			if r.cancelErr == nil {
				return true, nil // CANCELLED
			}
		}
		if r.auth.next < len(r.auth.captures) {
			return false, nil
		}
	}
}

// deadlineActionAt is when the guard applies policy.onDeadline: at the cut-off, or for capture
// early enough before it for one bounded series of sends.
func (r *run) deadlineActionAt() time.Time {
	if r.in.Policy.OnDeadline == OnDeadlineCapture {
		return r.cutoff.Add(-time.Duration(sendsPerSeries) * (r.in.Policy.CallTimeout + 5*time.Second))
	}
	return r.cutoff
}

// nextWarning is the next warning time not yet given (policy.warnBefore, in its order).
func (r *run) nextWarning() (time.Time, bool) {
	wb := r.in.Policy.WarnBefore
	if r.auth.warned >= len(wb) {
		return time.Time{}, false
	}
	return r.st.Deadline.Add(-wb[r.auth.warned]), true
}

// warnIfDue gives the warnings whose time has come (one log line and one count however many
// are due at once, as when the workflow starts late).
func (r *run) warnIfDue(ctx workflow.Context, now time.Time) {
	due := false
	for {
		w, ok := r.nextWarning()
		if !ok || now.Before(w) {
			break
		}
		r.auth.warned++
		due = true
	}
	if !due || r.remaining() <= 0 {
		return
	}
	r.st.Expiring = true
	r.log.Warn("authorization expiring with part uncaptured", "paymentId", r.in.PaymentID, "deadline", r.st.Deadline,
		"remaining", r.st.Remaining.String(), "onDeadline", r.in.Policy.OnDeadline)
	r.metrics.Counter(MetricExpiring).Inc(1)
	r.emit(ctx, events.AuthorizationExpiring, nil)
}

// onDeadline applies policy.onDeadline to the uncaptured remainder.
func (r *run) onDeadline(ctx workflow.Context) (done bool, err error) {
	switch r.in.Policy.OnDeadline {
	case OnDeadlineCapture:
		if units := r.remaining(); units > 0 && !r.auth.deadlineCapture && workflow.Now(ctx).Before(r.cutoff) {
			r.auth.deadlineCapture = true
			r.log.Info("capturing the remainder before the cut-off (policy.onDeadline=capture)", "remaining", r.st.Remaining.String())
			r.enqueue(CaptureRequest{Amount: r.st.Remaining, IsLastCapture: true, Key: "deadline"})
			return false, nil
		}
	case OnDeadlineCancel:
		if r.auth.captured == 0 {
			err := r.cancel(ctx)
			if err == nil {
				r.st.ResolvedBy = ResolvedByDeadline
				r.st.ResultMessage = "voided at the cut-off (policy.onDeadline=cancel): " + r.st.ResultMessage
				return true, r.upsertStatusOnly(ctx)
			}
			r.log.Warn("voiding the authorization at the cut-off failed; it lapses", "err", err)
		}
	}
	return true, r.atCutoff(ctx, "the cut-off passed with nothing captured")
}

// atCutoff ends the authorization at the cut-off: CAPTURED when part was captured (the rest
// lapses), else EXPIRED.
func (r *run) atCutoff(ctx workflow.Context, why string) error {
	if r.auth.captured > 0 {
		return r.closeCaptured(ctx, "the remainder "+r.st.Remaining.String()+" lapsed at the cut-off")
	}
	return r.expire(ctx, why)
}
