package e2e_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

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
	job, _ := json.Marshal(map[string]any{"address": s.HostPort, "taskQueue": tq, "paymentId": pid, "amount": usd10, "key": "SHIP-1"})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(node, "capture.mjs"), string(job))
	cmd.Dir = node
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("the TypeScript caller: %v\n%s\n%s", err, out, stderr)
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
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
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

// nodeModules installs e2e/typescript's locked npm packages into the user cache, once per
// lockfile, and returns the directory to run its script in.
func nodeModules(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("npm"); err != nil {
		t.Fatalf("npm is needed for the TypeScript caller (Node.js 20): %v", err)
	}
	lock, err := os.ReadFile(filepath.Join("typescript", "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(lock)
	dir := filepath.Join(cache, "alipay-capture", "npm", hex.EncodeToString(sum[:8]))
	for _, f := range []string{"package.json", "package-lock.json", "capture.mjs"} {
		b, err := os.ReadFile(filepath.Join("typescript", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@temporalio", "client")); err == nil {
		return dir
	}
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
	return dir
}
