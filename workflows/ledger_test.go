package workflows_test

import (
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/workflows"
)

// The authorization's own ledger (docs/design.md, rules 9–15): one test per way a caller, Antom or
// Temporal can reach a record out of the happy order.

// processFail is Antom's plain F for a capture.
func processFail(n int) error {
	r := alipay.Result{ResultCode: "PROCESS_FAIL", ResultStatus: alipay.StatusFail, ResultMessage: "declined"}
	return temporal.NewNonRetryableApplicationError("refused", workflows.ErrTypeRefused, nil, r, n)
}

// TestContradictionOfAnOpenAuthorizationCounts (rule 12): K1 gets a plain F and the
// authorization stays open; Antom later notifies S for K1. The S is applied to K1's record (its
// money counts, flagged as a contradiction), so that K2 may take only what remains and the close
// says what Antom holds.
func TestContradictionOfAnOpenAuthorizationCounts(t *testing.T) {
	t.Run("another shipment follows", func(t *testing.T) {
		h := newHarness(t)
		h.capture = func(n int, in workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
			if n == 1 {
				return workflows.CaptureActivityResult{}, processFail(n)
			}
			return workflows.CaptureActivityResult{Result: resS, CaptureID: "CAP2", CaptureAmount: in.Request.CaptureAmount}, nil
		}
		k1 := h.update(time.Hour, "k1", workflows.CaptureRequest{Amount: usd4, Key: "K1"})
		late := note("S", id("K1"))
		late.CaptureAmount = usd4
		h.signal(2*time.Hour, late)
		tooMuch := h.update(3*time.Hour, "k2-all", workflows.CaptureRequest{Amount: usd10, Key: "K2", IsLastCapture: true})
		k2 := h.update(4*time.Hour, "k2", workflows.CaptureRequest{Amount: usd6, Key: "K2", IsLastCapture: true})
		h.authorize(authorizeInput(true))
		st := h.result()
		if k1.res.State != workflows.StateFailed {
			t.Errorf("K1's first answer: %+v", k1.res)
		}
		if tooMuch.accepted || tooMuch.rejected == nil || !strings.Contains(tooMuch.rejected.Error(), "6.00 USD that remains") {
			t.Errorf("10.00 after the contradicting S: accepted %v, %v", tooMuch.accepted, tooMuch.rejected)
		}
		if k2.err != nil || k2.res.State != workflows.StateCaptured {
			t.Errorf("K2: %+v", k2)
		}
		rec, _ := st.RecordOfKey("K1")
		if st.State != workflows.StateCaptured || st.Captured != usd10 || rec.State != workflows.StateCaptured || rec.Contradiction == "" || rec.CapturedAmount != usd4 {
			t.Errorf("closed %s, captured %v; K1 %+v", st.State, st.Captured, rec)
		}
	})
	t.Run("nothing more ships", func(t *testing.T) {
		h := newHarness(t)
		h.capture = func(n int, _ workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
			return workflows.CaptureActivityResult{}, processFail(n)
		}
		h.update(time.Hour, "k1", workflows.CaptureRequest{Amount: usd4, Key: "K1"})
		late := note("S", id("K1"))
		late.CaptureAmount = usd4
		h.signal(2*time.Hour, late)
		h.authorize(authorizeInput(true))
		st := h.result() // not EXPIRED: Antom holds 4.00
		if st.State != workflows.StateCaptured || st.Captured != usd4 || st.Captures[0].Contradiction == "" {
			t.Errorf("closed %+v", st)
		}
	})
}

// TestRequestIDComesFromTheKey (rule 10): the request id is the key's, whatever the record's
// place in the ledger, so that a new run (after a cancel in Temporal) never resends another
// capture's id.
func TestRequestIDComesFromTheKey(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, "k2", workflows.CaptureRequest{Amount: usd4, Key: "K2"})
	h.update(2*time.Hour, "k1", workflows.CaptureRequest{Amount: usd6, Key: "K1", IsLastCapture: true})
	h.authorize(authorizeInput(true))
	h.result()
	if len(h.captureReq) != 2 || h.captureReq[0].CaptureRequestID != id("K2") || h.captureReq[1].CaptureRequestID != id("K1") {
		t.Errorf("capture requests %+v, want K2's id then K1's", h.captureReq)
	}
}

// TestUnsentCaptureIsNotReportedCaptured (rule 13): K1 captured, K2 and K3 queued; K2's F
// ORDER_IS_CANCELED closes the authorization; K3 was never sent and says so.
func TestUnsentCaptureIsNotReportedCaptured(t *testing.T) {
	h := newHarness(t)
	h.capture = func(n int, in workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
		switch n {
		case 1:
			return workflows.CaptureActivityResult{Result: resS, CaptureID: "CAP1", CaptureAmount: in.Request.CaptureAmount}, nil
		case 2:
			return workflows.CaptureActivityResult{Result: resU}, nil
		}
		r := alipay.Result{ResultCode: alipay.CodeOrderIsCanceled, ResultStatus: alipay.StatusFail, ResultMessage: "order cancelled"}
		return workflows.CaptureActivityResult{}, temporal.NewNonRetryableApplicationError("refused", workflows.ErrTypeRefused, nil, r, 1)
	}
	usd3, usd2 := alipay.MustParseDecimal("USD", "3.00"), alipay.MustParseDecimal("USD", "2.00")
	h.inquiry = func(int) (workflows.InquiryActivityResult, error) { return workflows.InquiryActivityResult{}, nil } // absent: resend
	h.update(time.Hour, "k1", workflows.CaptureRequest{Amount: usd4, Key: "K1"})
	h.update(2*time.Hour, "k2", workflows.CaptureRequest{Amount: usd3, Key: "K2"})
	k3 := h.update(2*time.Hour+time.Second, "k3", workflows.CaptureRequest{Amount: usd2, Key: "K3"})
	h.authorize(authorizeInput(true))
	st := h.result()
	rec3, _ := st.RecordOfKey("K3")
	if k3.err != nil || k3.res.State != workflows.StateFailed || k3.res.ResultCode != workflows.CodeNotSent {
		t.Errorf("K3's answer: %+v", k3)
	}
	if rec3.State != workflows.StateFailed || rec3.ResultCode != workflows.CodeNotSent || rec3.Sends != 0 {
		t.Errorf("K3's record %+v", rec3)
	}
	if rec2, _ := st.RecordOfKey("K2"); rec2.State != workflows.StateCancelled || st.State != workflows.StateCaptured || st.Captured != usd4 {
		t.Errorf("closed %s with %v captured; K2 %+v", st.State, st.Captured, rec2)
	}
	for _, r := range h.captureReq {
		if r.CaptureRequestID == id("K3") {
			t.Errorf("K3 was sent")
		}
	}
}

// TestCancelIsAlwaysServed (rule 14): a cancel that arrives while the deadline's own void runs is
// refused (it would not be served); one that arrives while the deadline is looked up is served
// before any send, and the run closes.
func TestCancelIsAlwaysServed(t *testing.T) {
	cancelAt := func(h *harness, at time.Duration) *reply {
		r := &reply{}
		h.env.RegisterDelayedCallback(func() {
			h.env.UpdateWorkflow(workflows.UpdateCancel, "cancel", &testsuite.TestUpdateCallback{
				OnAccept: func() { r.accepted = true }, OnReject: func(err error) { r.rejected = err },
				OnComplete: func(_ any, err error) { r.done, r.err = true, err },
			}, "order cancelled")
		}, at)
		return r
	}
	t.Run("during the deadline's void", func(t *testing.T) {
		h := newHarness(t)
		h.cancelTakes = time.Hour
		in := authorizeInput(false)
		in.Policy.OnDeadline = workflows.OnDeadlineCancel
		cut := in.Deadline().Add(-workflows.DefaultPolicy().DeadlineMargin)
		r := cancelAt(h, cut.Sub(t0)+30*time.Minute)
		h.authorize(in)
		st := h.result()
		if st.State != workflows.StateCancelled || h.cancels != 1 {
			t.Errorf("closed %+v after %d voids", st, h.cancels)
		}
		// The void serves the authorization's end; a second cancel would not be served, so it
		// is refused at once, with the reason.
		if r.accepted || r.rejected == nil || !strings.Contains(r.rejected.Error(), "being voided at the cut-off") {
			t.Errorf("cancel during the void: accepted %v, rejected %v; want refused because the void runs", r.accepted, r.rejected)
		}
	})
	t.Run("during the deadline lookup", func(t *testing.T) {
		h := newHarness(t)
		h.inquiryTakes = time.Hour
		h.inquiry = func(int) (workflows.InquiryActivityResult, error) {
			return workflows.InquiryActivityResult{AuthExpiryTime: t0.Add(3 * 24 * time.Hour), PaymentStatus: alipay.TxSuccess}, nil
		}
		r := cancelAt(h, 30*time.Minute)
		h.authorize(workflows.CaptureInput{PaymentID: "PAY1", Amount: usd10})
		st := h.result()
		if !r.done || r.err != nil || st.State != workflows.StateCancelled || h.cancels != 1 || len(h.captureReq) != 0 {
			t.Errorf("cancel %+v; closed %+v after %d voids, %d captures", r, st, h.cancels, len(h.captureReq))
		}
	})
}

// TestNoCaptureByAStart (rule 11): a start input carrying the fields a caller of another language
// might send (amount, authorizedAmount, partialCaptures) captures nothing until a capture
// request names a key.
func TestNoCaptureByAStart(t *testing.T) {
	h := newHarness(t)
	in := authorizeInput(true)
	in.Policy.OnDeadline = workflows.OnDeadlineLapse
	k := h.update(time.Hour, "k", workflows.CaptureRequest{Amount: usd10, Key: "K1", IsLastCapture: true})
	h.authorize(in)
	st := h.result()
	if len(h.captureReq) != 1 || h.captureReq[0].CaptureRequestID != id("K1") || k.res.State != workflows.StateCaptured || st.Captured != usd10 {
		t.Errorf("%d captures %+v; status %+v", len(h.captureReq), h.captureReq, st)
	}
}

// TestInvalidCapturedAmountCountsTheRequest (rule 9): an S whose captured amount is unreadable or
// in another currency counts the requested amount toward the total (flagged), so the remainder
// never reopens.
func TestInvalidCapturedAmountCountsTheRequest(t *testing.T) {
	for name, amt := range map[string]alipay.Amount{
		"foreign currency": alipay.MustParseDecimal("EUR", "4.00"),
		"invalid":          {Currency: "USD", Value: "4.00"},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.capture = func(int, workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
				return workflows.CaptureActivityResult{Result: resS, CaptureID: "CAP", CaptureAmount: amt}, nil
			}
			h.update(time.Hour, "k1", workflows.CaptureRequest{Amount: usd4, Key: "K1"})
			more := h.update(2*time.Hour, "k2", workflows.CaptureRequest{Amount: usd10, Key: "K2"})
			h.authorize(authorizeInput(true))
			if st := h.result(); st.Captured != usd4 || st.Captures[0].Discrepancy == "" {
				t.Errorf("captured %v, discrepancy %q", st.Captured, st.Captures[0].Discrepancy)
			}
			if more.accepted || more.rejected == nil || !strings.Contains(more.rejected.Error(), "6.00 USD that remains") {
				t.Errorf("10.00 after 4.00 was captured (reported %v): accepted %v, %v", amt, more.accepted, more.rejected)
			}
		})
	}
}

// TestIsLastCaptureSentOnEveryPartialCapture: isLastCapture is explicit on every capture of a
// payment that allows several, the start key's included (one Antom API defaults it to true).
func TestIsLastCaptureSentOnEveryPartialCapture(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, "start", workflows.CaptureRequest{Amount: usd4, Key: workflows.StartKey})
	h.update(2*time.Hour, "last", workflows.CaptureRequest{Amount: usd6, Key: "K2", IsLastCapture: true})
	h.authorize(authorizeInput(true))
	h.result()
	if len(h.captureReq) != 2 || h.captureReq[0].IsLastCapture == nil || *h.captureReq[0].IsLastCapture ||
		h.captureReq[1].IsLastCapture == nil || !*h.captureReq[1].IsLastCapture {
		t.Errorf("capture requests %+v", h.captureReq)
	}
}

// TestStatusAgrees: a closed authorization agrees with a late S for any of its CAPTURED records,
// with an F for a record that captured nothing (FAILED, EXPIRED, CANCELLED), and with an F for a request it never sent; an S
// for a request it never sent, or for a record that captured nothing, contradicts it.
func TestStatusAgrees(t *testing.T) {
	st := workflows.Status{State: workflows.StateCaptured, Captures: []workflows.CaptureRecord{
		{CaptureRequestID: "R1", State: workflows.StateCaptured},
		{CaptureRequestID: "R2", State: workflows.StateFailed},
		{CaptureRequestID: "R3", State: workflows.StateCaptured},
		{CaptureRequestID: "R4", State: workflows.StateUnresolved},
		{CaptureRequestID: "R5", State: workflows.StateExpired},
		{CaptureRequestID: "R6", State: workflows.StateCancelled},
		{CaptureRequestID: "R7", State: workflows.StateCaptured, CapturedAmount: usd10},
	}}
	n := func(id, status string) alipay.CaptureNotification {
		c := alipay.CaptureNotification{CaptureRequestID: id, Result: alipay.Result{ResultStatus: status}}
		if id == "R7" {
			c.CaptureAmount = usd10
		}
		return c
	}
	for _, tt := range []struct {
		id, status string
		agrees     bool
	}{
		{"R1", "S", true}, {"R3", "S", true}, {"R2", "F", true}, {"R9", "F", true},
		{"R2", "S", false}, {"R9", "S", false}, {"R1", "F", false}, {"R4", "F", false}, {"R4", "S", false},
		{"R5", "F", true}, {"R6", "F", true}, {"R5", "S", false}, {"R6", "S", false}, {"R7", "S", true},
	} {
		if got := st.Agrees(n(tt.id, tt.status)); got != tt.agrees {
			t.Errorf("%s for %s: agrees %v, want %v", tt.status, tt.id, got, tt.agrees)
		}
	}
	// An S of another amount than the record's is a discrepancy of a closed capture (rule 7).
	other := n("R7", "S")
	other.CaptureAmount = alipay.MustParseDecimal("USD", "9.99")
	if st.Agrees(other) {
		t.Error("an S for 9.99 USD agrees with a record that captured 10.00 USD")
	}
}
