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

var (
	usd4 = alipay.MustParseDecimal("USD", "4.00")
	usd6 = alipay.MustParseDecimal("USD", "6.00")
)

// reply is what a capture Update's caller got.
type reply struct {
	accepted bool
	rejected error
	done     bool
	res      workflows.CaptureReply
	err      error
}

// update sends the capture Update at workflow time at and records the outcome in r.
func (h *harness) update(at time.Duration, id string, req workflows.CaptureRequest) *reply {
	r := &reply{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(workflows.UpdateCapture, id, &testsuite.TestUpdateCallback{
			OnAccept: func() { r.accepted = true },
			OnReject: func(err error) { r.rejected = err },
			OnComplete: func(v any, err error) {
				r.done, r.err = true, err
				if v != nil {
					r.res = v.(workflows.CaptureReply)
				}
			},
		}, req)
	}, at)
	return r
}

// authorizeInput starts the workflow at authorization: it waits for capture requests.
func authorizeInput(partial bool) workflows.CaptureInput {
	in := input()
	in.PartialCaptures = partial
	return in
}

// id is the capture request id of key on PAY1.
func id(key string) string { return workflows.CaptureRequestID("PAY1", key) }

// TestSplitShipment: two partial captures of one authorization, the second marked last; each
// Update returns its capture's request id and first answer; the totals follow, and the memo
// says what the first left uncaptured (the census counts it at risk).
func TestSplitShipment(t *testing.T) {
	h := newHarness(t)
	first := h.update(time.Hour, "u1", workflows.CaptureRequest{Amount: usd4, Key: "ship-1"})
	var between workflows.Status
	h.env.RegisterDelayedCallback(func() { between = h.query() }, 2*time.Hour)
	second := h.update(3*time.Hour, "u2", workflows.CaptureRequest{Amount: usd6, Key: "ship-2", IsLastCapture: true})
	h.authorize(authorizeInput(true))
	st := h.result()

	if !first.accepted || first.err != nil || first.res.State != workflows.StateCaptured || first.res.CaptureRequestID != id("ship-1") {
		t.Errorf("first update: %+v", first)
	}
	if !second.accepted || second.err != nil || second.res.State != workflows.StateCaptured || second.res.CaptureRequestID != id("ship-2") || second.res.Seq != 2 {
		t.Errorf("second update: %+v", second)
	}
	if between.State != workflows.StatePartiallyCaptured || between.Captured.Value != "400" || between.Remaining.Value != "600" || len(between.Captures) != 1 {
		t.Errorf("between the shipments: %s, captured %v, remaining %v, %d captures", between.State, between.Captured, between.Remaining, len(between.Captures))
	}
	if st.State != workflows.StateCaptured || st.Captured.Value != "1000" || st.Remaining.Value != "0" || len(st.Captures) != 2 ||
		st.Captures[1].State != workflows.StateCaptured || !st.Captures[1].IsLastCapture || st.Captures[0].Key != "ship-1" {
		t.Errorf("final status %+v", st)
	}
	if len(h.captureReq) != 2 || h.captureReq[0].CaptureRequestID != id("ship-1") || h.captureReq[1].CaptureRequestID != id("ship-2") ||
		h.captureReq[0].CaptureAmount != usd4 || h.captureReq[1].CaptureAmount != usd6 ||
		h.captureReq[0].IsLastCapture == nil || *h.captureReq[0].IsLastCapture || h.captureReq[1].IsLastCapture == nil || !*h.captureReq[1].IsLastCapture {
		t.Errorf("capture requests %+v", h.captureReq)
	}
	h.wantStatuses("PENDING", "CAPTURING", "PARTIALLY_CAPTURED", "CAPTURING", "CAPTURED")
	var uncaptured []any
	for _, m := range h.memos {
		if v, ok := m[workflows.MemoUncaptured]; ok {
			uncaptured = append(uncaptured, v)
		}
	}
	if len(uncaptured) != 1 || uncaptured[0] != "6.00 USD" {
		t.Errorf("memo %q written %v, want once, 6.00 USD", workflows.MemoUncaptured, uncaptured)
	}
}

// TestSameKeyTwice: the same idempotency key twice returns the same capture; one is sent.
func TestSameKeyTwice(t *testing.T) {
	h := newHarness(t)
	a := h.update(time.Hour, "u1", workflows.CaptureRequest{Amount: usd10, Key: "ship-1"})
	b := h.update(time.Hour, "u2", workflows.CaptureRequest{Amount: usd10, Key: "ship-1"})
	h.authorize(authorizeInput(false))
	st := h.result()
	if a.err != nil || b.err != nil || a.res.CaptureRequestID != id("ship-1") || b.res.CaptureRequestID != id("ship-1") || !b.res.Duplicate || a.res.Duplicate {
		t.Errorf("replies %+v / %+v", a, b)
	}
	if len(h.captureReq) != 1 || st.State != workflows.StateCaptured || len(st.Captures) != 1 {
		t.Errorf("%d capture calls, status %+v", len(h.captureReq), st)
	}
}

// TestCaptureRequestsRefused: the validator refuses, before anything is written, what cannot
// be captured.
func TestCaptureRequestsRefused(t *testing.T) {
	in := authorizeInput(true)
	h := newHarness(t)
	h.capture = inProcess // the first capture stays in flight
	n4 := note("S", id("ship-1"))
	n4.CaptureAmount = usd4
	h.signal(10*time.Hour, n4)
	h.update(time.Hour, "first", workflows.CaptureRequest{Amount: usd4, Key: "ship-1"})
	cases := map[string]struct {
		req  workflows.CaptureRequest
		want string
	}{
		"no key":                   {workflows.CaptureRequest{Amount: usd4}, "idempotency key"},
		"zero":                     {workflows.CaptureRequest{Amount: alipay.Amount{Currency: "USD", Value: "0"}, Key: "k1"}, "amount"},
		"other currency":           {workflows.CaptureRequest{Amount: alipay.MustParseDecimal("EUR", "1.00"), Key: "k2"}, "in USD"},
		"more than the remainder":  {workflows.CaptureRequest{Amount: usd10, Key: "k3"}, "more than the 6.00 USD that remains"},
		"same key, another amount": {workflows.CaptureRequest{Amount: usd6, Key: "ship-1"}, `key "ship-1" already asked for 4.00 USD, not 6.00 USD`},
	}
	got := map[string]*reply{}
	for name, c := range cases {
		got[name] = h.update(2*time.Hour, name, c.req)
	}
	h.authorize(in)
	for name, c := range cases {
		if r := got[name]; r.accepted || r.rejected == nil || !strings.Contains(r.rejected.Error(), c.want) {
			t.Errorf("%s: accepted %v, rejected %v; want %q", name, r.accepted, r.rejected, c.want)
		}
	}
	if len(h.captureReq) != 1 {
		t.Errorf("%d capture calls, want 1", len(h.captureReq))
	}

	// Once a last capture is requested, nothing more is taken.
	h = newHarness(t)
	h.capture = inProcess
	n := note("S", id("ship-1"))
	n.CaptureAmount = usd4
	h.signal(10*time.Hour, n)
	h.update(time.Hour, "last", workflows.CaptureRequest{Amount: usd4, Key: "ship-1", IsLastCapture: true})
	after := h.update(2*time.Hour, "after last", workflows.CaptureRequest{Amount: usd4, Key: "k4"})
	h.authorize(in)
	if after.accepted || after.rejected == nil || !strings.Contains(after.rejected.Error(), "last capture") {
		t.Errorf("after the last capture: %+v", after)
	}
	if st := h.result(); st.State != workflows.StateCaptured || st.Captured != usd4 || st.Remaining.Value != "600" || st.ResolvedBy != workflows.ResolvedByNotification {
		t.Errorf("closed by the last capture: %+v", st)
	}
	if closedAt := h.env.Now().Sub(t0); closedAt != 10*time.Hour {
		t.Errorf("closed at +%v, want at the last capture's S (+10h), not at the deadline", closedAt)
	}

	// A one-time payment takes its full amount only; after the cut-off nothing is taken.
	h = newHarness(t)
	partial := h.update(time.Hour, "partial", workflows.CaptureRequest{Amount: usd4, Key: "k"})
	late := h.update(7*24*time.Hour, "late", workflows.CaptureRequest{Amount: usd10, Key: "k2"})
	h.authorize(authorizeInput(false))
	if partial.accepted || partial.rejected == nil || !strings.Contains(partial.rejected.Error(), "full authorized amount once") {
		t.Errorf("partial capture of a one-time payment: %+v", partial)
	}
	if late.accepted {
		t.Errorf("capture after the cut-off accepted")
	}
	if st := h.failure(workflows.ErrTypeAuthorizationExpired); st.State != workflows.StateExpired || len(h.captureReq) != 0 {
		t.Errorf("nobody shipped: %+v, %d captures", st, len(h.captureReq))
	}
}

// TestMultiCaptureRefusedByAntom: the start said partial captures are allowed, Antom says they
// are not: that capture fails clearly and the workflow still takes a full capture.
func TestMultiCaptureRefusedByAntom(t *testing.T) {
	h := newHarness(t)
	h.capture = func(n int, in workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
		if n == 1 {
			r := alipay.Result{ResultCode: alipay.CodeMultiCaptureNotSupport, ResultStatus: alipay.StatusFail, ResultMessage: "full amount only"}
			return workflows.CaptureActivityResult{}, temporal.NewNonRetryableApplicationError("refused", workflows.ErrTypeRefused, nil, r, 1)
		}
		return workflows.CaptureActivityResult{Result: resS, CaptureID: "CAP2", CaptureAmount: in.Request.CaptureAmount}, nil
	}
	partial := h.update(time.Hour, "u1", workflows.CaptureRequest{Amount: usd4, Key: "ship-1"})
	full := h.update(2*time.Hour, "u2", workflows.CaptureRequest{Amount: usd10, Key: "ship-all"})
	h.authorize(authorizeInput(true))
	st := h.result()
	if partial.res.State != workflows.StateFailed || partial.res.ResultCode != alipay.CodeMultiCaptureNotSupport {
		t.Errorf("partial capture: %+v", partial)
	}
	if full.res.State != workflows.StateCaptured || st.State != workflows.StateCaptured || st.Captured != usd10 || len(st.Captures) != 2 {
		t.Errorf("full capture %+v; status %+v", full, st)
	}
	h.wantStatuses("PENDING", "CAPTURING", "PENDING", "CAPTURING", "CAPTURED")
}

// TestNobodyShipped: an authorization nobody captures is warned about 48 h and 24 h before its
// deadline, then policy.onDeadline applies at the cut-off.
func TestNobodyShipped(t *testing.T) {
	deadline := t0.Add(-time.Hour).Add(workflows.AuthorizationWindow)
	for _, tt := range []struct {
		onDeadline string
		state      workflows.State
		errType    string
	}{
		{workflows.OnDeadlineLapse, workflows.StateExpired, workflows.ErrTypeAuthorizationExpired},
		{workflows.OnDeadlineCancel, workflows.StateCancelled, ""},
		{workflows.OnDeadlineCapture, workflows.StateCaptured, ""},
	} {
		t.Run(tt.onDeadline, func(t *testing.T) {
			h := newHarness(t)
			in := authorizeInput(false)
			in.Policy.OnDeadline = tt.onDeadline
			var before, warned workflows.Status
			h.env.RegisterDelayedCallback(func() { before = h.query() }, deadline.Add(-49*time.Hour).Sub(t0))
			h.env.RegisterDelayedCallback(func() { warned = h.query() }, deadline.Add(-47*time.Hour).Sub(t0))
			h.authorize(in)
			var st workflows.Status
			if tt.errType != "" {
				st = h.failure(tt.errType)
			} else {
				st = h.result()
			}
			if before.Expiring || !warned.Expiring || warned.State != workflows.StatePending {
				t.Errorf("expiring flag: %v before the warning, %v (%s) after", before.Expiring, warned.Expiring, warned.State)
			}
			if st.State != tt.state {
				t.Errorf("final %+v", st)
			}
			cut := deadline.Add(-workflows.DefaultPolicy().DeadlineMargin)
			switch tt.onDeadline {
			case workflows.OnDeadlineCancel:
				if h.cancels != 1 || len(h.captureReq) != 0 {
					t.Errorf("%d cancels, %d captures", h.cancels, len(h.captureReq))
				}
			case workflows.OnDeadlineCapture:
				if len(h.captureReq) != 1 || h.captureReq[0].CaptureAmount != usd10 || !h.captureAt[0].Before(cut) ||
					h.captureReq[0].IsLastCapture == nil || !*h.captureReq[0].IsLastCapture {
					t.Errorf("captures %+v at %v (cut-off %v)", h.captureReq, h.captureAt, cut)
				}
			default:
				if h.cancels != 0 || len(h.captureReq) != 0 {
					t.Errorf("lapse: %d cancels, %d captures", h.cancels, len(h.captureReq))
				}
			}
		})
	}
}

// TestCancelledInTemporalAfterAPartialCapture: a workflow cancelled in Temporal while it waits
// with part captured closes CAPTURED (money moved, nothing in flight), not UNRESOLVED.
func TestCancelledInTemporalAfterAPartialCapture(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, "u1", workflows.CaptureRequest{Amount: usd4, Key: "ship-1"})
	h.env.RegisterDelayedCallback(h.env.CancelWorkflow, 2*time.Hour)
	h.authorize(authorizeInput(true))
	if !temporal.IsCanceledError(h.env.GetWorkflowError()) {
		t.Errorf("workflow error %v, want cancelled", h.env.GetWorkflowError())
	}
	if got := h.statuses[len(h.statuses)-1]; got != string(workflows.StateCaptured) {
		t.Errorf("CaptureStatus %v, want it to end CAPTURED", h.statuses)
	}
}
