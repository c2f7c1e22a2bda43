// Package e2e tests the whole system as users run it: a real Temporal dev server, and the
// simulator, webhook and worker as separate processes built from this repository, talking over
// loopback HTTP and gRPC.
package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/internal/temporaltest"
	"github.com/capturekit/alipay-capture/workflows"
)

var binDir string // the project's binaries, built once by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "alipay-capture-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	cmd := exec.Command("go", "build", "-o", dir+"/", "../worker", "../webhook", "../simulator")
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

// proc is one of the project's processes.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

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
	t          *testing.T
	dbFile     string
	hostPort   string
	dev        *testsuite.DevServer
	keyDir     string
	simURL     string
	webhookURL string
	workerEnv  []string
	procs      map[string]*proc
	cc         capture.Client
	tc         client.Client
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startSystem(t *testing.T) *system {
	t.Helper()
	dir := t.TempDir()
	s := &system{t: t, dbFile: filepath.Join(dir, "temporal.db"), hostPort: freeAddr(t), keyDir: filepath.Join(dir, "keys"), procs: map[string]*proc{}}
	s.startTemporal()
	t.Cleanup(func() {
		for _, p := range s.procs {
			p.stop()
		}
		if s.dev != nil {
			_ = s.dev.Stop()
		}
		if t.Failed() {
			for name, p := range s.procs {
				t.Logf("--- %s output ---\n%s", name, tail(p.out.String(), 4000))
			}
		}
	})
	var err error
	s.tc, err = client.Dial(client.Options{HostPort: s.hostPort, Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.tc.Close)
	s.cc = capture.Client{Temporal: s.tc, TaskQueue: "e2e"}

	simAddr, hookAddr := freeAddr(t), freeAddr(t)
	s.simURL, s.webhookURL = "http://"+simAddr, "http://"+hookAddr
	s.start("simulator", "SIM_LISTEN="+simAddr, "SIM_CLIENT_ID=E2E_MERCHANT", "SIM_KEY_DIR="+s.keyDir,
		"SIM_NOTIFY_URL="+s.webhookURL+"/alipay/notify", "SIM_TIME_SCALE=0.001")
	s.waitHealthy(s.simURL + "/healthz")
	common := []string{"TEMPORAL_ADDRESS=" + s.hostPort, "ALIPAY_CLIENT_ID=E2E_MERCHANT",
		"ALIPAY_PUBLIC_KEY_FILE=" + filepath.Join(s.keyDir, "antom_public_key.pem")}
	s.start("webhook", append(common, "WEBHOOK_LISTEN="+hookAddr)...)
	s.waitHealthy(s.webhookURL + "/healthz")
	s.workerEnv = append(common, "ALIPAY_BASE_URL="+s.simURL, "CAPTURE_TASK_QUEUE=e2e",
		"ALIPAY_PRIVATE_KEY_FILE="+filepath.Join(s.keyDir, "merchant_private_key.pem"),
		"WORKER_METRICS_LISTEN="+freeAddr(t), "WORKER_STOP_TIMEOUT=10s")
	s.start("worker", s.workerEnv...)
	return s
}

func (s *system) startTemporal() {
	s.t.Helper()
	path, err := temporaltest.CLIPath()
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s.dev, err = testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:     path,
		DBFilename:       s.dbFile,
		LogLevel:         "error",
		SearchAttributes: temporaltest.SearchAttributes(),
		ClientOptions:    &client.Options{HostPort: s.hostPort, Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))},
		Stdout:           io.Discard,
		Stderr:           io.Discard,
	})
	if err != nil {
		s.t.Fatalf("start Temporal: %v", err)
	}
}

func (s *system) stopTemporal() {
	if err := s.dev.Stop(); err != nil {
		s.t.Logf("stop Temporal: %v", err)
	}
	s.dev = nil
}

func (s *system) start(name string, env ...string) *proc {
	s.t.Helper()
	p := &proc{name: name, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(binDir, name))
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	s.procs[name] = p
	return p
}

// stop asks the process to stop and kills it if it does not.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (s *system) waitHealthy(url string) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s never became healthy: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// authorize creates an authorization in the simulator process through its admin API.
func (s *system) authorize(sc alipaytest.Scenario) string {
	s.t.Helper()
	body, _ := json.Marshal(alipaytest.Authorization{Amount: usd10, Scenario: sc})
	resp, err := http.Post(s.simURL+"/admin/payments", "application/json", bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var p alipaytest.Payment
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&p) != nil {
		s.t.Fatalf("authorize: HTTP %d", resp.StatusCode)
	}
	return p.PaymentID
}

func (s *system) ledger(paymentID string) alipaytest.Payment {
	s.t.Helper()
	resp, err := http.Get(s.simURL + "/admin/payments/" + paymentID)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var p alipaytest.Payment
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
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
	it := s.tc.GetWorkflowHistory(context.Background(), workflows.WorkflowID(paymentID), "", false, 0)
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
