package workflows_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestOversizedNotificationIsBounded: a notification whose free text is far beyond Antom's
// bounds (a 1 MiB resultMessage, 200,000 characters JSON escapes six-fold) resolves the capture
// like any other, and its text reaches the status cut to alipay.MaxTextLength, marked: no
// result, failure or query answer can outgrow Temporal's limits.
func TestOversizedNotificationIsBounded(t *testing.T) {
	for _, tt := range []struct {
		name    string
		status  string
		message string
	}{
		{"F with a 1 MiB message", "F", strings.Repeat("x", 1<<20)},
		{"S with 200,000 '<'", "S", strings.Repeat("<", 200_000)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.capture = inProcess
			n := note(tt.status, reqID)
			n.Result.ResultMessage = tt.message
			h.signal(time.Minute, n)
			h.run(input())
			var st workflows.Status
			if tt.status == "S" {
				st = h.result()
			} else {
				st = h.failure(workflows.ErrTypeCaptureFailed)
			}
			rec := st.Captures[0]
			if rec.ResolvedBy != workflows.ResolvedByNotification || !strings.HasSuffix(rec.ResultMessage, alipay.TruncatedMark) ||
				len([]rune(rec.ResultMessage)) > alipay.MaxTextLength+len([]rune(alipay.TruncatedMark)) {
				t.Errorf("record %s by %s with a %d-byte message, want the notification's, cut to %d characters", rec.State, rec.ResolvedBy, len(rec.ResultMessage), alipay.MaxTextLength)
			}
			if b, _ := json.Marshal(st); len(b) > 16<<10 {
				t.Errorf("the final status is %d bytes", len(b))
			}
		})
	}
}

// TestDuplicatesChangeNothing: a thousand copies of a notification the capture already holds
// add no record, no contradiction and nothing to the status (the webhook does not signal
// them at all once it knows; see receiver.TestResendsTheCaptureHoldsAreNotSignalled).
func TestDuplicatesChangeNothing(t *testing.T) {
	h := newHarness(t)
	in := authorizeInput(true)
	k1 := h.update(time.Hour, "k1", workflows.CaptureRequest{Amount: usd4, Key: "K1"})
	n := note("S", id("K1"))
	n.CaptureAmount, n.CaptureID = usd4, "CAP1"
	h.env.RegisterDelayedCallback(func() {
		for range 1000 {
			h.env.SignalWorkflow(workflows.SignalNotifyCapture, n)
		}
	}, 2*time.Hour)
	var before, after workflows.Status
	h.env.RegisterDelayedCallback(func() { before = h.query() }, 90*time.Minute)
	h.env.RegisterDelayedCallback(func() { after = h.query() }, 3*time.Hour)
	h.update(4*time.Hour, "k2", workflows.CaptureRequest{Amount: usd6, Key: "K2", IsLastCapture: true})
	h.authorize(in)
	st := h.result()
	if k1.err != nil || len(st.Captures) != 2 || st.Captures[0].Contradiction != "" || st.Captured != usd10 {
		t.Errorf("final %+v", st)
	}
	b1, _ := json.Marshal(before.Captures)
	b2, _ := json.Marshal(after.Captures)
	if string(b1) != string(b2) {
		t.Errorf("the duplicates changed the records:\n%s\n%s", b1, b2)
	}
}

// TestSOfAnotherAmountForACapturedRecord (rule 5, 7): Antom's S for a CAPTURED record, with
// another captured amount than the record holds, is a contradiction the record keeps; the totals
// keep the first answer, so nothing is captured twice or left uncounted without a person seeing it.
func TestSOfAnotherAmountForACapturedRecord(t *testing.T) {
	h := newHarness(t)
	in := authorizeInput(true)
	h.update(time.Hour, "k1", workflows.CaptureRequest{Amount: usd4, Key: "K1"})
	n := note("S", id("K1"))
	n.CaptureAmount = alipay.MustParseDecimal("USD", "3.00")
	h.signal(2*time.Hour, n)
	h.update(3*time.Hour, "k2", workflows.CaptureRequest{Amount: usd6, Key: "K2", IsLastCapture: true})
	h.authorize(in)
	st := h.result()
	rec, _ := st.RecordOfKey("K1")
	if !strings.Contains(rec.Contradiction, "3.00 USD") || rec.CapturedAmount != usd4 || st.Captured != usd10 {
		t.Errorf("K1 %+v; captured %v: want the S for 3.00 USD recorded as a contradiction, the totals unchanged", rec, st.Captured)
	}
}
