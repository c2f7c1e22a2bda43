// Package e2e tests the whole system as users run it: a real Temporal dev server, and the
// simulator, webhook and worker as separate processes built from this repository (package
// internal/stack), talking over loopback HTTP and gRPC.
package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/internal/stack"
	"github.com/capturekit/alipay-capture/internal/temporaltest"
	"github.com/capturekit/alipay-capture/workflows"
)

var binDir string // the project's binaries, for tests that run one on its own

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "alipay-capture-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	cmd := exec.Command("go", "build", "-o", dir+"/", "../worker", "../webhook", "../simulator", "../starter", "../codecserver")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the binaries:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var usd10 = alipay.Amount{Currency: "USD", Value: "1000"}

// syncBuffer collects the processes' output for assertions and failure reports.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// system is one running copy of everything.
type system struct {
	*stack.Stack
	t   *testing.T
	out *syncBuffer
	cc  capture.Client
}

// startSystem runs everything on a Temporal dev server.
func startSystem(t *testing.T) *system { return startSystemOn(t, nil) }

// startSystemOn runs everything on a PostgreSQL-backed Temporal server configured by pg, or on a
// dev server when pg is nil; workerEnv adds to the worker's configuration.
func startSystemOn(t *testing.T, pg *temporaltest.ClusterOptions, workerEnv ...string) *system {
	t.Helper()
	out := &syncBuffer{}
	st, err := stack.Start(context.Background(), stack.Options{
		Dir:       t.TempDir(),
		TimeScale: 0.001,
		WorkerEnv: append([]string{"WORKER_STOP_TIMEOUT=10s", "WORKER_CENSUS_INTERVAL=2s"}, workerEnv...),
		Output:    out,
		Postgres:  pg,
	})
	if err != nil {
		t.Fatalf("start the system: %v\n%s", err, tail(out.String(), 4000))
	}
	s := &system{Stack: st, t: t, out: out, cc: st.Capture}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- processes' output ---\n%s", tail(out.String(), 6000))
			if log := st.TemporalLog(6000); log != "" {
				t.Logf("--- temporal-server log ---\n%s", log)
			}
		}
		st.Stop()
	})
	return s
}

// with returns s reporting to t, for a subtest.
func (s *system) with(t *testing.T) *system {
	c := *s
	c.t = t
	return &c
}

func freeAddr(t *testing.T) string {
	t.Helper()
	a, err := temporaltest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// authorize creates an authorization in the simulator process through its admin API.
func (s *system) authorize(sc alipaytest.Scenario) string {
	s.t.Helper()
	p, err := s.Authorize(context.Background(), alipaytest.Authorization{Amount: usd10, Scenario: sc})
	if err != nil {
		s.t.Fatal(err)
	}
	return p.PaymentID
}

func (s *system) ledger(paymentID string) alipaytest.Payment {
	s.t.Helper()
	p, err := s.Payment(context.Background(), paymentID)
	if err != nil {
		s.t.Fatal(err)
	}
	return p
}

// waitFor polls cond: the processes under test are asynchronous by nature.
func (s *system) waitFor(what string, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// input is a capture of usd10 authorized now, with a policy that inquires every interval.
func input(pid string, inquiry time.Duration) workflows.CaptureInput {
	return workflows.CaptureInput{PaymentID: pid, Amount: usd10, AuthorizedAt: time.Now(),
		Policy: workflows.Policy{InquirySchedule: []time.Duration{inquiry}, CallTimeout: 2 * time.Second}}
}

// captureAndWait starts a capture and waits for its outcome.
func (s *system) captureAndWait(in workflows.CaptureInput) (workflows.Result, error) {
	s.t.Helper()
	if _, err := s.cc.Start(context.Background(), in); err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	return s.cc.Wait(ctx, in.PaymentID)
}

// signals counts the notifyCapture signals in a workflow's history.
func (s *system) signals(paymentID string) int {
	s.t.Helper()
	n := 0
	it := s.Temporal().GetWorkflowHistory(context.Background(), workflows.WorkflowID(paymentID), "", false, 0)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			s.t.Fatal(err)
		}
		if a := e.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == workflows.SignalNotifyCapture {
			n++
		}
	}
	return n
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

func listRequest(q string) *workflowservice.ListWorkflowExecutionsRequest {
	return &workflowservice.ListWorkflowExecutionsRequest{Query: q}
}

// writeKeys writes the merchant private key and Antom public key of an alipay.Config as PEM files.
func writeKeys(t *testing.T, priv, pub string, cfg alipay.Config) {
	t.Helper()
	if err := os.WriteFile(priv, alipay.PrivateKeyPEM(cfg.PrivateKey), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, alipay.PublicKeyPEM(cfg.AntomPublicKey), 0o600); err != nil {
		t.Fatal(err)
	}
}
