package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestReconcileCommand: of four closed captures (captured as asked; refused; captured for another
// amount, which Antom's ledger bears out; unresolved, which Antom has since captured), the sweep
// reports the last alone, exits 1, and with --record records it once as a reconciliation.
func TestReconcileCommand(t *testing.T) {
	e := setup(t)
	cfg := e.sim.Config()
	t.Setenv("ALIPAY_CLIENT_ID", cfg.ClientID)
	t.Setenv("ALIPAY_BASE_URL", e.sim.URL)
	t.Setenv("ALIPAY_PRIVATE_KEY", alipay.EncodePrivateKey(cfg.PrivateKey))
	t.Setenv("ALIPAY_PUBLIC_KEY", alipay.EncodePublicKey(cfg.AntomPublicKey))
	ctx := context.Background()
	usd9 := alipay.Amount{Currency: "USD", Value: "900"}
	start := func(sc alipaytest.Scenario, expiresIn time.Duration) string {
		pid := e.authorize(t, sc)
		in := workflows.CaptureInput{PaymentID: pid, Amount: usd10, AuthExpiresAt: time.Now().Add(expiresIn),
			Policy: workflows.Policy{InquirySchedule: []time.Duration{time.Second}, DeadlineMargin: time.Second, ResolveWithin: 2 * time.Second, CallTimeout: 5 * time.Second}}
		if _, err := e.cc.Start(ctx, in); err != nil {
			t.Fatal(err)
		}
		return pid
	}
	captured := start(alipaytest.Scenario{}, time.Hour)
	refused := start(alipaytest.Scenario{Result: "F", FailCode: "RISK_REJECT"}, time.Hour)
	less := start(alipaytest.Scenario{CapturedAmount: usd9}, time.Hour)
	unresolved := start(alipaytest.Scenario{Result: "U", NoNotify: true}, 5*time.Second)
	for pid, want := range map[string]workflows.State{captured: workflows.StateCaptured, refused: workflows.StateFailed, less: workflows.StateCaptured, unresolved: workflows.StateUnresolved} {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		res, _ := e.cc.Wait(wctx, pid)
		cancel()
		if res.State != want {
			t.Fatalf("%s: %s, want %s", pid, res.State, want)
		}
	}
	if err := e.sim.Resolve(unresolved, "S", ""); err != nil { // Antom captures after all
		t.Fatal(err)
	}

	var rows []capture.Disagreement
	var errOut string
	eventually(t, "the four closed captures listed", func() bool {
		var code int
		var out string
		code, out, errOut = e.starter("", "reconcile", "--since", "1h", "--json")
		rows = nil
		return code == exitError && json.Unmarshal([]byte(out), &rows) == nil && strings.Contains(errOut, "4 of 4 closed captures checked")
	})
	if len(rows) != 1 || rows[0].PaymentID != unresolved || rows[0].ClosedState != workflows.StateUnresolved ||
		rows[0].AntomCaptured != usd10 || rows[0].Captured.Value != "0" || !strings.Contains(rows[0].Detail, "Antom captured 10.00 USD") {
		t.Fatalf("disagreements %+v\n%s", rows, errOut)
	}
	if !strings.Contains(errOut, "1 disagree, 0 not checked") {
		t.Errorf("summary: %s", errOut)
	}

	// The table, and the disagreement recorded, once however often the sweep runs.
	for range 2 {
		code, out, errOut := e.starter("", "reconcile", "--since", "1h", "--record")
		id := workflows.ReconcileWorkflowID(unresolved, workflows.CaptureRequestID(unresolved, 1), alipay.StatusSuccess)
		if code != exitError || !strings.Contains(out, "PAYMENT") || !strings.Contains(out, unresolved) || !strings.Contains(out, id) {
			t.Fatalf("reconcile --record: %d\n%s\n%s", code, out, errOut)
		}
	}
	eventually(t, "the recorded contradiction listed", func() bool {
		l, err := e.cc.List(ctx, capture.Filter{State: workflows.StateContradiction})
		return err == nil && len(l) == 1 && l[0].PaymentID == unresolved
	})

	// Nothing closed in the window: nothing to disagree with, exit 0.
	if code, out, errOut := e.starter("", "reconcile", "--since", "1ms"); code != exitOK || out != "" || !strings.Contains(errOut, "0 closed captures checked") {
		t.Errorf("empty window: %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := e.starter("", "reconcile"); code != exitUsage || !strings.Contains(errOut, "--since is required") {
		t.Errorf("no --since: %d %s", code, errOut)
	}
}
