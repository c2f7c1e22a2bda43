package e2e_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestTypeScriptCaller (rule 11, rule 13): an order service using Temporal's TypeScript client
// from npm sends the capture Update with Update-with-Start, as README describes, from two callers
// at once, with a start input that carries fields the workflow does not know. Antom sees one
// capture, under the request id the key gives in Go and in JavaScript alike; the same key after
// the close is answered from its record, and nothing is captured again.
func TestTypeScriptCaller(t *testing.T) {
	node := nodeModules(t)
	s := startSystem(t)
	pid := s.authorize(alipaytest.Scenario{NoNotify: true})
	tq := s.cc.TaskQueue
	if tq == "" {
		tq = workflows.DefaultTaskQueue
	}
	var got struct {
		Replies    []workflows.CaptureReply `json:"replies"`
		Closed     workflows.Status         `json:"closed"`
		AfterClose struct {
			Error  string                  `json:"error"`
			Record workflows.CaptureRecord `json:"record"`
			Reply  *workflows.CaptureReply `json:"reply"`
		} `json:"afterClose"`
		RequestID string `json:"requestId"`
	}
	runScript(t, node, "capture.mjs", map[string]any{"address": s.HostPort, "taskQueue": tq, "paymentId": pid, "amount": usd10, "key": "SHIP-1"}, &got)
	want := workflows.CaptureRequestID(pid, "SHIP-1")
	if got.RequestID != want {
		t.Errorf("request id in JavaScript %s, in Go %s", got.RequestID, want)
	}
	if len(got.Replies) != 2 || got.Replies[0].CaptureRequestID != want || got.Replies[1].CaptureRequestID != want ||
		got.Replies[0].Duplicate == got.Replies[1].Duplicate {
		t.Errorf("replies %+v: want one capture %s and its duplicate", got.Replies, want)
	}
	if got.Closed.State != workflows.StateCaptured || got.Closed.Captured != usd10 || len(got.Closed.Captures) != 1 {
		t.Errorf("closed %+v", got.Closed)
	}
	if got.AfterClose.Reply != nil || got.AfterClose.Error == "" || got.AfterClose.Record.CaptureRequestID != want ||
		got.AfterClose.Record.State != workflows.StateCaptured {
		t.Errorf("the same key after the close: %+v", got.AfterClose)
	}
	if p := s.ledger(pid); p.CaptureCalls != 1 || p.CapturesSucceeded != 1 {
		t.Errorf("Antom saw %d capture calls, %d succeeded; want one", p.CaptureCalls, p.CapturesSucceeded)
	}
}

// nodeModules installs examples/typescript's locked npm packages into the user cache, once per
// lockfile, copies its sources there, compiles the TypeScript (tsc) and returns the directory
// to run its scripts in.
func nodeModules(t *testing.T) string {
	t.Helper()
	dir := npmPackage(t, filepath.Join("..", "examples", "typescript"), "typescript",
		"package.json", "package-lock.json", "tsconfig.json", "capture.mjs", "contract.ts", "order-service.ts")
	tsc := exec.Command("node", filepath.Join("node_modules", "typescript", "bin", "tsc"), "-p", ".")
	tsc.Dir = dir
	if out, err := tsc.CombinedOutput(); err != nil {
		t.Fatalf("tsc in %s: %v\n%s", dir, err, out)
	}
	return dir
}

// npmPackage copies files of the npm package in src into the user cache, in a folder per
// lockfile, installs its locked packages there once (npm ci; installed names one of them) and
// returns the folder.
func npmPackage(t *testing.T, src, installed string, files ...string) string {
	t.Helper()
	if _, err := exec.LookPath("npm"); err != nil {
		t.Fatalf("npm is needed (Node.js 20): %v", err)
	}
	lock, err := os.ReadFile(filepath.Join(src, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(lock)
	dir := filepath.Join(cache, "alipay-capture", "npm", hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", installed)); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	return dir
}

// TestTypeScriptOrderService runs examples/typescript/order-service.ts (Temporal's TypeScript
// client): an authorization guarded from the start, a split shipment captured by key, the same
// shipment again, the status midway and the final one, and an unshipped order voided.
func TestTypeScriptOrderService(t *testing.T) {
	node := nodeModules(t)
	s := startSystem(t)
	usd25 := alipay.Amount{Currency: "USD", Value: "2500"}
	split, err := s.Authorize(context.Background(), alipaytest.Authorization{Amount: usd25, PartialCaptures: true, Scenario: alipaytest.Scenario{NoNotify: true}})
	if err != nil {
		t.Fatal(err)
	}
	unshipped, err := s.Authorize(context.Background(), alipaytest.Authorization{Amount: alipay.Amount{Currency: "USD", Value: "900"}})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		First, Again, Second workflows.CaptureReply
		Midway, Closed       workflows.Status
		AfterClose           workflows.CaptureRecord
		Cancelled            workflows.Status
	}
	runScript(t, node, filepath.Join("dist", "order-service.js"),
		map[string]any{"address": s.HostPort, "paymentId": split.PaymentID, "unshippedPaymentId": unshipped.PaymentID, "currency": "USD"}, &got)
	ship1 := workflows.CaptureRequestID(split.PaymentID, "SHIP-1")
	if got.First.CaptureRequestID != ship1 || got.First.State != workflows.StateCaptured || got.First.Duplicate {
		t.Errorf("first shipment %+v", got.First)
	}
	if got.Again.CaptureRequestID != ship1 || !got.Again.Duplicate {
		t.Errorf("the same shipment again %+v, want the first capture, marked duplicate", got.Again)
	}
	if got.Midway.State != workflows.StatePartiallyCaptured || got.Midway.Captured != usd10 || got.Midway.Remaining.Value != "1500" {
		t.Errorf("status midway %+v", got.Midway)
	}
	if got.Second.State != workflows.StateCaptured || got.Closed.State != workflows.StateCaptured || got.Closed.Captured != usd25 || len(got.Closed.Captures) != 2 {
		t.Errorf("last shipment %+v, closed %+v", got.Second, got.Closed)
	}
	if got.AfterClose.CaptureRequestID != ship1 || got.AfterClose.State != workflows.StateCaptured {
		t.Errorf("SHIP-1's record after the close %+v", got.AfterClose)
	}
	if got.Cancelled.State != workflows.StateCancelled {
		t.Errorf("unshipped order %+v", got.Cancelled)
	}
	if p := s.ledger(split.PaymentID); p.CaptureCalls != 2 || p.CapturesSucceeded != 2 {
		t.Errorf("Antom saw %d capture calls, %d succeeded; want two", p.CaptureCalls, p.CapturesSucceeded)
	}
	if p := s.ledger(unshipped.PaymentID); p.CaptureCalls != 0 || p.CancelCalls != 1 {
		t.Errorf("unshipped: %d capture calls, %d cancels; want none and one", p.CaptureCalls, p.CancelCalls)
	}
}
