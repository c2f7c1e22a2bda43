package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestAuditFindsEachContradiction feeds the audit one payment per kind of contradiction, and
// payments that agree with the ledger, and checks it reports exactly the former.
func TestAuditFindsEachContradiction(t *testing.T) {
	usd := alipay.Amount{Currency: "USD", Value: "1000"}
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	input := func(id string) workflows.CaptureInput {
		return workflows.CaptureInput{PaymentID: id, Amount: usd, AuthExpiresAt: t0.Add(time.Minute), Policy: workflows.Policy{DeadlineMargin: 10 * time.Second}}
	}
	closed := func(id string, state workflows.State, amount alipay.Amount) *payment {
		return &payment{scenario: "test", id: id, input: input(id), closed: true,
			status: workflows.Status{State: state, CaptureRequestID: id + "-cap-1", CapturedAmount: amount,
				Captures: []workflows.CaptureRecord{{CaptureRequestID: id + "-cap-1", State: state, CapturedAmount: amount}}}}
	}
	succeeded := func(id string, amount alipay.Amount, acked bool) alipaytest.Payment {
		return alipaytest.Payment{PaymentID: id, CapturesExecuted: 1, CapturesSucceeded: 1, LastCaptureCallAt: t0,
			Captures:      []alipaytest.Capture{{CaptureRequestID: id + "-cap-1", Amount: amount, Status: alipaytest.CaptureSucceeded}},
			Notifications: []alipaytest.Notification{{CaptureRequestID: id + "-cap-1", Acked: acked}}}
	}
	usd4, usd6 := alipay.Amount{Currency: "USD", Value: "400"}, alipay.Amount{Currency: "USD", Value: "600"}
	// split: two shipments; the second's record ends in second.
	split := func(id string, second workflows.State) *payment {
		p := closed(id, workflows.StateCaptured, usd)
		p.shipments = 2
		p.status.Captures = []workflows.CaptureRecord{
			{CaptureRequestID: id + "-1", State: workflows.StateCaptured, CapturedAmount: usd4},
			{CaptureRequestID: id + "-2", State: second, CapturedAmount: usd6},
		}
		return p
	}
	splitLedger := func(id string) alipaytest.Payment {
		return alipaytest.Payment{PaymentID: id, CapturesExecuted: 2, CapturesSucceeded: 2, LastCaptureCallAt: t0, Captures: []alipaytest.Capture{
			{CaptureRequestID: id + "-1", Amount: usd4, Status: alipaytest.CaptureSucceeded},
			{CaptureRequestID: id + "-2", Amount: usd6, Status: alipaytest.CaptureSucceeded}}}
	}
	// twoRuns: the first shipment's run was cancelled in Temporal; the second is a new run's.
	twoRuns := func(id string) *payment {
		p := split(id, workflows.StateCaptured)
		first := workflows.Status{State: workflows.StateFailed, Captures: p.status.Captures[:1]}
		p.earlier, p.status.Captures = &first, p.status.Captures[1:]
		return p
	}
	payments := []*payment{
		closed("OK-CAPTURED", workflows.StateCaptured, usd),
		closed("OK-FAILED", workflows.StateFailed, alipay.Amount{}),
		closed("OK-UNRESOLVED", workflows.StateUnresolved, alipay.Amount{}),
		closed("OK-RECONCILED", workflows.StateUnresolved, alipay.Amount{}), // then a late S, recorded
		closed("TWICE", workflows.StateCaptured, usd),
		closed("LATE", workflows.StateCaptured, usd),
		closed("FAILED-BUT-CAPTURED", workflows.StateFailed, alipay.Amount{}),
		closed("WRONG-AMOUNT", workflows.StateCaptured, usd),
		{scenario: "test", id: "OPEN", input: input("OPEN"), status: workflows.Status{State: workflows.StateUnknown}},
		{scenario: "test", id: "NOT-STARTED", startErr: errors.New("unavailable")},
		split("OK-SPLIT", workflows.StateCaptured),
		split("SPLIT-UNCOUNTED", workflows.StateFailed),  // the second shipment's record says FAILED
		split("OK-SPLIT-FLAGGED", workflows.StateFailed), // … and Antom's S for it came after the close, recorded
		twoRuns("OK-TWO-RUNS"),
	}
	ledger := map[string]alipaytest.Payment{
		"OK-CAPTURED":         succeeded("OK-CAPTURED", usd, true),
		"OK-FAILED":           {PaymentID: "OK-FAILED", Captures: []alipaytest.Capture{{CaptureRequestID: "OK-FAILED-cap-1", Status: alipaytest.CaptureFailed}}},
		"OK-UNRESOLVED":       succeeded("OK-UNRESOLVED", usd, false),
		"OK-RECONCILED":       succeeded("OK-RECONCILED", usd, true),
		"TWICE":               {PaymentID: "TWICE", CapturesExecuted: 2, CapturesSucceeded: 2, Captures: succeeded("TWICE", usd, false).Captures},
		"LATE":                {PaymentID: "LATE", LastCaptureCallAt: t0.Add(55 * time.Second), Captures: succeeded("LATE", usd, false).Captures},
		"FAILED-BUT-CAPTURED": succeeded("FAILED-BUT-CAPTURED", usd, false),
		"WRONG-AMOUNT":        succeeded("WRONG-AMOUNT", alipay.Amount{Currency: "USD", Value: "999"}, false),
		"OPEN":                succeeded("OPEN", usd, false),
		"OK-SPLIT":            splitLedger("OK-SPLIT"),
		"SPLIT-UNCOUNTED":     splitLedger("SPLIT-UNCOUNTED"),
		"OK-SPLIT-FLAGGED":    splitLedger("OK-SPLIT-FLAGGED"),
		"OK-TWO-RUNS":         splitLedger("OK-TWO-RUNS"),
	}
	reconciled := map[string]bool{workflows.ReconcileWorkflowID("OK-RECONCILED", "OK-RECONCILED-cap-1", "S"): true,
		workflows.ReconcileWorkflowID("OK-SPLIT-FLAGGED", "OK-SPLIT-FLAGGED-2", "S"): true}
	got := map[string]string{}
	for _, c := range audit(payments, ledger, reconciled) {
		got[c.paymentID] += c.kind + ";"
	}
	want := map[string]string{
		"TWICE":               kindTwice,
		"LATE":                kindLate,
		"FAILED-BUT-CAPTURED": kindDisagrees,
		"WRONG-AMOUNT":        kindDisagrees,
		"OPEN":                kindOpen,
		"NOT-STARTED":         kindNoStart,
		"SPLIT-UNCOUNTED":     kindDisagrees,
	}
	for id, kind := range want {
		if !strings.Contains(got[id], kind) {
			t.Errorf("%s: audit found %q, want %q", id, got[id], kind)
		}
	}
	for id, kinds := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("%s agrees with the ledger, but the audit reported %q", id, kinds)
		}
	}

	// An acknowledged S that the workflow did not apply and nobody recorded.
	lost := closed("LOST", workflows.StateExpired, alipay.Amount{})
	found := audit([]*payment{lost}, map[string]alipaytest.Payment{"LOST": succeeded("LOST", usd, true)}, nil)
	var kinds []string
	for _, c := range found {
		kinds = append(kinds, c.kind)
	}
	if !strings.Contains(strings.Join(kinds, ";"), kindNotApplied) {
		t.Errorf("lost notification: %v", kinds)
	}
}
