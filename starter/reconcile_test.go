package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestReconcileCommand: of five closed captures (captured as asked; refused; captured for another
// amount, which Antom's ledger bears out; unresolved, which Antom has since captured; unresolved,
// which Antom has since failed), the sweep reports the last two, exits 1, and with --record
// records each once as a reconciliation.
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
	// A deadline 10 s away: the capture must be sent within 9 s (the margin is 1 s), even on a
	// busy machine.
	unresolved := start(alipaytest.Scenario{Result: "U", NoNotify: true}, 10*time.Second)
	unresolvedF := start(alipaytest.Scenario{Result: "U", NoNotify: true}, 10*time.Second)
	for pid, want := range map[string]workflows.State{captured: workflows.StateCaptured, refused: workflows.StateFailed, less: workflows.StateCaptured,
		unresolved: workflows.StateUnresolved, unresolvedF: workflows.StateUnresolved} {
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
	if err := e.sim.Resolve(unresolvedF, "F", "PROCESS_FAIL"); err != nil { // or fails
		t.Fatal(err)
	}

	var rows []capture.Disagreement
	var errOut string
	eventually(t, "the five closed captures listed", func() bool {
		var code int
		var out string
		code, out, errOut = e.starter("", "reconcile", "--since", "1h", "--json")
		rows = nil
		return code == exitError && json.Unmarshal([]byte(out), &rows) == nil && strings.Contains(errOut, "5 of 5 closed captures checked")
	})
	byPayment := map[string]capture.Disagreement{}
	for _, d := range rows {
		byPayment[d.PaymentID] = d
	}
	if d := byPayment[unresolved]; len(rows) != 2 || d.ClosedState != workflows.StateUnresolved ||
		d.AntomCaptured != usd10 || d.Captured.Value != "0" || !strings.Contains(d.Detail, "Antom captured 10.00 USD") {
		t.Fatalf("disagreements %+v\n%s", rows, errOut)
	}
	if d := byPayment[unresolvedF]; d.AntomCaptured.Value != "0" || !strings.Contains(d.Detail, "unresolved; Antom now reports") {
		t.Errorf("the unresolved capture Antom failed: %+v", d)
	}
	if !strings.Contains(errOut, "2 disagree, 0 not checked") {
		t.Errorf("summary: %s", errOut)
	}

	// The table, and the disagreement recorded, once however often the sweep runs.
	for range 2 {
		code, out, errOut := e.starter("", "reconcile", "--since", "1h", "--record")
		captured := workflows.ReconcileWorkflowID(unresolved, workflows.CaptureRequestID(unresolved, workflows.StartKey), alipay.StatusSuccess)
		failed := workflows.ReconcileWorkflowID(unresolvedF, workflows.CaptureRequestID(unresolvedF, workflows.StartKey), alipay.StatusFail)
		if code != exitError || !strings.Contains(out, "PAYMENT") || !strings.Contains(out, captured) || !strings.Contains(out, failed) {
			t.Fatalf("reconcile --record: %d\n%s\n%s", code, out, errOut)
		}
	}
	eventually(t, "the recorded reconciliations listed", func() bool {
		l, err := e.cc.List(ctx, capture.Filter{State: workflows.StateContradiction})
		return err == nil && len(l) == 2
	})
	// Antom confirms the capture (a contradiction someone must settle); the failure settles the
	// unresolved one (nothing to settle).
	var confirmed *temporal.ApplicationError
	if err := workflowErr(e, workflows.ReconcileWorkflowID(unresolved, workflows.CaptureRequestID(unresolved, workflows.StartKey), alipay.StatusSuccess)); !errors.As(err, &confirmed) ||
		confirmed.Type() != workflows.ErrTypeContradictionConfirmed {
		t.Errorf("reconciliation of the captured one: %v", err)
	}
	if err := workflowErr(e, workflows.ReconcileWorkflowID(unresolvedF, workflows.CaptureRequestID(unresolvedF, workflows.StartKey), alipay.StatusFail)); err != nil {
		t.Errorf("reconciliation of the failed one: %v", err)
	}

	// Nothing closed in the window: nothing to disagree with, exit 0.
	if code, out, errOut := e.starter("", "reconcile", "--since", "1ms"); code != exitOK || out != "" || !strings.Contains(errOut, "0 closed captures checked") {
		t.Errorf("empty window: %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := e.starter("", "reconcile"); code != exitUsage || !strings.Contains(errOut, "--since is required") {
		t.Errorf("no --since: %d %s", code, errOut)
	}
}

// workflowErr waits for a workflow's end and returns its error.
func workflowErr(e *env, id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return e.cc.Temporal.GetWorkflow(ctx, id, "").Get(ctx, nil)
}
