package workflows

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/capturekit/alipay-capture/alipay"
)

// The authorization's lifecycle (workflow version 2, DESIGN §2 "Authorization lifecycle"):
//
//	start ─► (AwaitCapture? wait : one capture request of Amount)
//	PENDING / PARTIALLY_CAPTURED ─ capture Update ─► one capture's send-and-resolve loop
//	  (send.go, resolve.go, every money-truth rule) ─► S: captured += amount;
//	  closed by isLastCapture, by nothing remaining, or for a one-time payment ─► CAPTURED
//	  F MULTI_CAPTURE_NOT_SUPPORTED / PAYMENT_COUNT_EXCEED_LIMIT, or any F of a partial
//	  capture ─► that capture FAILED, the workflow waits for another request
//	  any other end of a capture ends the authorization (FAILED, EXPIRED, CANCELLED,
//	  UNRESOLVED; CAPTURED when part was captured before)
//	while waiting: the deadline guard (guard.go) warns, and at the cut-off applies
//	policy.onDeadline.
//
// Captures run one at a time in arrival order; capture n has the request id
// "<paymentId>-cap-<n>", fixed before its first send.

// StartKey is the idempotency key of the capture a start without AwaitCapture asks for, and of
// the payment's one full capture that capture.Client.Start asks for.
const StartKey = "start"

// authorization is the lifecycle's state: the authorized amount and every capture request.
type authorization struct {
	units    int64 // authorized amount, minor units
	currency string
	captures []*captureEntry
	next     int            // index in captures of the next capture to run
	byKey    map[string]int // idempotency key → index in captures (lookups only)
	captured int64          // minor units Antom captured
	closed   bool           // a last capture, or nothing remains: no more captures
	warned   int            // how many of policy.warnBefore have been given
	// deadlineCapture: the guard asked for the remainder's capture (policy.onDeadline=capture).
	deadlineCapture bool
	// startIsLast is the start input's isLastCapture, sent as it was with the start's capture.
	startIsLast *bool
}

type captureEntry struct {
	rec      CaptureRecord
	answered bool // the first answer is known: the caller's Update may return
}

// lifecycle runs the authorization until a final state, and answers the capture requests that
// never got their turn.
func (r *run) lifecycle(ctx workflow.Context) error {
	err := r.runLifecycle(ctx)
	r.answerUnsent()
	return err
}

func (r *run) runLifecycle(ctx workflow.Context) error {
	if !r.in.AwaitCapture {
		r.enqueue(CaptureRequest{Amount: r.in.Amount, IsLastCapture: r.in.IsLastCapture != nil && *r.in.IsLastCapture, Key: StartKey})
	}
	if err := r.resolveDeadline(ctx); err != nil {
		return err
	}
	if r.in.AwaitCapture {
		if err := r.showPending(ctx); err != nil {
			return err
		}
	}
	for {
		if r.auth.next < len(r.auth.captures) {
			c := r.auth.captures[r.auth.next]
			r.auth.next++
			if done, err := r.runCapture(ctx, c); done || err != nil {
				return err
			}
			continue
		}
		if done, err := r.guard(ctx); done || err != nil {
			return err
		}
	}
}

// showPending makes the waiting authorization visible as PENDING, with its deadline, unless the
// start wrote all of that already (in.StartedVisible, as capture.Client does). It decides from the
// input, never from the search attributes it reads back, which a replay may see otherwise.
func (r *run) showPending(ctx workflow.Context) error {
	if r.in.StartedVisible && (!r.in.AuthExpiresAt.IsZero() || !r.in.AuthorizedAt.IsZero()) {
		r.visible = true
		return nil
	}
	return r.upsertVisibility(ctx)
}

// initAuthorization sets up the lifecycle's state from the (valid) input, before any capture
// request can arrive.
func (r *run) initAuthorization() {
	a := &r.auth
	auth := r.in.Authorized()
	a.units, _ = auth.MinorUnits()
	a.currency = auth.Currency
	a.byKey = map[string]int{}
	a.startIsLast = r.in.IsLastCapture
	r.refreshTotals()
}

// enqueue records a new capture request; it runs when its turn comes.
func (r *run) enqueue(req CaptureRequest) *captureEntry {
	a := &r.auth
	seq := max(r.in.Attempt, 1) + len(a.captures)
	c := &captureEntry{rec: CaptureRecord{Seq: seq, Key: req.Key, CaptureRequestID: CaptureRequestID(r.in.PaymentID, seq),
		Amount: req.Amount, IsLastCapture: req.IsLastCapture, State: StatePending}}
	a.byKey[req.Key] = len(a.captures)
	a.captures = append(a.captures, c)
	r.refreshTotals()
	return c
}

// runCapture runs one capture through every money-truth rule and decides whether the
// authorization ends with it.
func (r *run) runCapture(ctx workflow.Context, c *captureEntry) (done bool, err error) {
	r.beginCapture(c)
	if c.rec.Key == StartKey && r.in.CaptureAt.After(workflow.Now(ctx)) {
		// The start asked to hold the capture until captureAt: the caller hears PENDING now;
		// cancel works meanwhile.
		c.rec.State, c.answered = StatePending, true
		r.refreshTotals()
		if !r.visible {
			if err := r.upsertVisibility(ctx); err != nil {
				return true, err
			}
		}
		if done, err := r.waitUntilCaptureAt(ctx); done || err != nil {
			c.rec.State, c.rec.ResultCode, c.rec.ResultMessage = StateCancelled, CodeNotSent, "the authorization was cancelled before captureAt"
			r.refreshTotals()
			return true, err
		}
		c.rec.State = StateCapturing
	}
	if !workflow.Now(ctx).Before(r.cutoff) {
		c.rec.State, c.rec.ResultCode, c.rec.ResultMessage = StateExpired, CodeNotSent, "the cut-off passed before the capture was sent"
		c.answered = true
		return true, r.atCutoff(ctx, "authorization deadline passed before the capture was sent")
	}
	resolved, err := r.sendCapture(ctx)
	c.answered = true
	c.rec.State = StateUnknown
	if resolved || err != nil {
		c.rec.State = r.st.State
	}
	r.recordCapture(c)
	if err == nil && !resolved {
		err = r.awaitOutcome(ctx)
	}
	c.rec.State = r.st.State
	r.recordCapture(c)
	done, err = r.afterCapture(ctx, c, err)
	r.emitCaptureOutcome(ctx, c)
	return done, err
}

// beginCapture points the send-and-resolve loop at capture c.
func (r *run) beginCapture(c *captureEntry) {
	r.in.Amount = c.rec.Amount
	switch {
	case c.rec.Key == StartKey:
		r.in.IsLastCapture = r.auth.startIsLast
	case r.in.PartialCaptures || c.rec.IsLastCapture:
		last := c.rec.IsLastCapture
		r.in.IsLastCapture = &last
	default:
		r.in.IsLastCapture = nil
	}
	r.ambiguous, r.heldF, r.inquireNow = false, nil, false
	st := &r.st
	st.CaptureRequestID, st.CaptureID, st.CapturedAmount, st.CaptureTime = c.rec.CaptureRequestID, "", alipay.Amount{}, ""
	st.ResultCode, st.ResultMessage, st.ResolvedBy, st.Discrepancy = "", "", "", ""
	st.Overdue, st.ResolveBy = false, time.Time{} // CaptureCalls and Inquiries count for the whole authorization
	c.rec.State = StateCapturing
	r.refreshTotals()
}

// recordCapture copies the loop's view of the current capture into its record.
func (r *run) recordCapture(c *captureEntry) {
	c.rec.CaptureID, c.rec.CapturedAmount = r.st.CaptureID, r.st.CapturedAmount
	c.rec.ResolvedBy, c.rec.ResultCode, c.rec.ResultMessage = r.st.ResolvedBy, r.st.ResultCode, r.st.ResultMessage
	c.rec.Discrepancy = r.st.Discrepancy
	r.refreshTotals()
}

// afterCapture applies a capture's end to the authorization: done when the workflow ends, with
// err its error (nil for a completed workflow).
func (r *run) afterCapture(ctx workflow.Context, c *captureEntry, err error) (done bool, _ error) {
	a := &r.auth
	switch c.rec.State {
	case StateCaptured:
		got := c.rec.CapturedAmount
		if got.IsZero() {
			got = c.rec.Amount
		}
		units, _ := got.MinorUnits()
		a.captured += units
		r.refreshTotals()
		if err := r.recordCapturedIDs(ctx); err != nil {
			return true, err
		}
		if !r.in.PartialCaptures || c.rec.IsLastCapture || a.units-a.captured <= 0 {
			a.closed = true
			return true, err // CAPTURED, written by succeed
		}
		return false, r.waitForMore(ctx)
	case StateFailed:
		if c.rec.ResultCode == alipay.CodeMultiCaptureNotSupport || c.rec.ResultCode == alipay.CodePaymentCountExceedLimit || r.in.PartialCaptures {
			r.log.Warn("capture refused; the authorization stays open for another capture request",
				"captureRequestId", c.rec.CaptureRequestID, "result", c.rec.ResultCode)
			return false, r.waitForMore(ctx)
		}
	}
	if a.captured > 0 && c.rec.State != StateUnresolved {
		// The authorization ended (expired, cancelled at Antom) after part of it was captured:
		// money moved, so the workflow completes CAPTURED; the records say what happened after.
		return true, r.closeCaptured(ctx, string(c.rec.State)+" after a partial capture: "+c.rec.ResultMessage)
	}
	return true, err
}

// recordCapturedIDs keeps the memo's request ids equal to those of the captures that succeeded,
// when they are not just the first capture's (which the start wrote).
func (r *run) recordCapturedIDs(ctx workflow.Context) error {
	var ids []string
	for _, c := range r.auth.captures {
		if c.rec.State == StateCaptured {
			ids = append(ids, c.rec.CaptureRequestID)
		}
	}
	if len(ids) == 1 && ids[0] == CaptureRequestID(r.in.PaymentID, max(r.in.Attempt, 1)) {
		return nil
	}
	return workflow.UpsertMemo(ctx, map[string]any{MemoCaptureRequestID: strings.Join(ids, ",")})
}

// waitForMore returns the workflow to waiting for capture requests after a capture that did not
// end the authorization.
func (r *run) waitForMore(ctx workflow.Context) error {
	r.st.State = StatePending
	if r.auth.captured > 0 {
		r.st.State = StatePartiallyCaptured
	}
	r.st.NextInquiryAt = time.Time{}
	return r.upsertStatusOnly(ctx)
}

// closeCaptured ends an authorization of which something was captured.
func (r *run) closeCaptured(ctx workflow.Context, why string) error {
	r.st.State = StateCaptured
	if why != "" {
		r.st.ResultMessage = why
		r.st.ResolvedBy = ResolvedByDeadline
	}
	return r.upsertStatusOnly(ctx)
}

// answerUnsent answers the capture requests still waiting their turn when the workflow ends:
// not sent, for the reason the authorization ended.
func (r *run) answerUnsent() {
	for _, c := range r.auth.captures[r.auth.next:] {
		c.rec.State, c.rec.ResultCode = StateFailed, CodeNotSent
		if r.st.State.Final() {
			c.rec.State, c.rec.ResultCode = r.st.State, r.st.ResultCode
		}
		c.rec.ResultMessage = "not sent: the authorization ended first (" + r.st.ResultMessage + ")"
		c.answered = true
	}
	r.auth.next = len(r.auth.captures)
	r.refreshTotals()
}

// refreshTotals recomputes the status's list of captures and its totals.
func (r *run) refreshTotals() {
	a := &r.auth
	r.st.Captures = make([]CaptureRecord, 0, len(a.captures))
	for _, c := range a.captures {
		r.st.Captures = append(r.st.Captures, c.rec)
	}
	inFlight := r.inFlightUnits()
	amount := func(units int64) alipay.Amount {
		return alipay.Amount{Currency: a.currency, Value: strconv.FormatInt(units, 10)}
	}
	r.st.Authorized, r.st.Captured, r.st.InFlight = amount(a.units), amount(a.captured), amount(inFlight)
	r.st.Remaining = amount(max(a.units-a.captured-inFlight, 0))
}

// inFlightUnits sums the captures requested and not yet final, in minor units.
func (r *run) inFlightUnits() int64 {
	var units int64
	for _, c := range r.auth.captures {
		if !c.rec.State.Final() {
			u, _ := c.rec.Amount.MinorUnits()
			units += u
		}
	}
	return units
}

// remaining is what may still be requested, in minor units.
func (r *run) remaining() int64 { return r.auth.units - r.auth.captured - r.inFlightUnits() }

// validateCapture refuses a capture request before anything is written to the history; the
// error's type says whether the request conflicts with the authorization or comes too late.
func (r *run) validateCapture(ctx workflow.Context, req CaptureRequest) error {
	conflict := func(format string, a ...any) error {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, a...), ErrTypeCaptureConflict, nil)
	}
	closed := func(format string, a ...any) error {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, a...), ErrTypeCaptureClosed, nil)
	}
	if req.Key == "" || len(req.Key) > 256 {
		return conflict("key: give an idempotency key of 1 to 256 characters, e.g. the shipment id")
	}
	if req.Merchant != "" && req.Merchant != r.st.Merchant {
		return conflict("payment %s is captured by merchant account %q, not %q", r.in.PaymentID, r.st.Merchant, req.Merchant)
	}
	if i, seen := r.auth.byKey[req.Key]; seen {
		if prev := r.auth.captures[i].rec; prev.Amount != req.Amount {
			return conflict("payment %s is already being captured for %s, not %s (key %q)", r.in.PaymentID, prev.Amount, req.Amount, req.Key)
		}
		return nil // the same request again: its capture is returned
	}
	if err := req.Amount.Validate(); err != nil {
		return conflict("amount: %v", err)
	}
	auth := r.in.Authorized()
	want, _ := req.Amount.MinorUnits()
	switch {
	case r.st.State.Final():
		return closed("the authorization is closed (%s)", r.st.State)
	case r.auth.closed || r.lastRequested():
		return closed("the authorization is closed for capture: its last capture was requested")
	case r.cancelRequested || r.st.State == StateCancelled:
		return closed("the authorization is being cancelled")
	case !r.cutoff.IsZero() && !workflow.Now(ctx).Before(r.cutoff):
		return closed("the capture cut-off %s has passed", r.cutoff.Format(time.RFC3339))
	case req.Amount.Currency != auth.Currency:
		return conflict("amount %s: the authorization is in %s", req.Amount, auth.Currency)
	case !r.in.PartialCaptures && req.Amount != auth:
		return conflict("payment %s is already being captured for %s, not %s: it captures its full authorized amount once (the start did not allow partial captures)",
			r.in.PaymentID, auth, req.Amount)
	case want > r.remaining():
		return conflict("amount %s is more than the %s that remains of the authorized %s", req.Amount,
			alipay.Amount{Currency: auth.Currency, Value: strconv.FormatInt(r.remaining(), 10)}, auth)
	}
	return nil
}

// captureInFlight reports a capture that was sent and has no final outcome yet.
func (r *run) captureInFlight() bool {
	for _, c := range r.auth.captures[:r.auth.next] {
		if !c.rec.State.Final() && c.rec.State != StatePending {
			return true
		}
	}
	return false
}

// lastRequested reports a capture marked last that is in flight or succeeded.
func (r *run) lastRequested() bool {
	for _, c := range r.auth.captures {
		if c.rec.IsLastCapture && (c.rec.State == StateCaptured || !c.rec.State.Final()) {
			return true
		}
	}
	return false
}

// handleCapture records the request (or finds it by its key) and returns the capture's first
// answer once it is known.
func (r *run) handleCapture(ctx workflow.Context, req CaptureRequest) (CaptureReply, error) {
	c, duplicate := (*captureEntry)(nil), false
	if i, seen := r.auth.byKey[req.Key]; seen {
		c, duplicate = r.auth.captures[i], true
	} else {
		c = r.enqueue(req)
		r.log.Info("capture requested", "key", req.Key, "amount", req.Amount.String(), "captureRequestId", c.rec.CaptureRequestID)
	}
	if err := workflow.Await(ctx, func() bool { return c.answered }); err != nil {
		return CaptureReply{}, err
	}
	return CaptureReply{Seq: c.rec.Seq, CaptureRequestID: c.rec.CaptureRequestID, State: c.rec.State,
		ResultCode: c.rec.ResultCode, ResultMessage: c.rec.ResultMessage, Duplicate: duplicate}, nil
}
