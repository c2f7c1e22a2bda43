package e2e_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/internal/temporaltest"
	"github.com/capturekit/alipay-capture/workflows"
)

// runOnce runs one of the binaries to completion and returns its exit code and output.
func runOnce(t *testing.T, name string, env ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, name))
	cmd.Env = append(os.Environ(), env...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("%s did not exit on bad configuration", name)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	return 0, string(out)
}

func TestProcessesRefuseBadConfiguration(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(key, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"worker", []string{"ALIPAY_CLIENT_ID="}, "no Antom merchant account: set ALIPAY_CLIENT_ID (and its keys), or ALIPAY_MERCHANTS_FILE"},
		{"worker", []string{"ALIPAY_CLIENT_ID=", "ALIPAY_MERCHANTS_FILE=" + filepath.Join(dir, "missing.yaml")}, "ALIPAY_MERCHANTS_FILE: open"},
		{"worker", []string{"ALIPAY_CLIENT_ID=C", "ALIPAY_PRIVATE_KEY_FILE=" + key, "ALIPAY_PUBLIC_KEY=x"}, "ALIPAY_PRIVATE_KEY_FILE (" + key + "): invalid key"},
		{"worker", []string{"ALIPAY_CLIENT_ID=C", "ALIPAY_PRIVATE_KEY_FILE=" + filepath.Join(dir, "missing.pem")}, "ALIPAY_PRIVATE_KEY_FILE: open"},
		{"worker", []string{"WORKER_STOP_TIMEOUT=soon"}, "WORKER_STOP_TIMEOUT"},
		{"webhook", []string{"ALIPAY_CLIENT_ID=C", "WEBHOOK_PATH=notify"}, "must start with /"},
		{"webhook", []string{"ALIPAY_CLIENT_ID=C"}, "ALIPAY_PUBLIC_KEY (or ALIPAY_PUBLIC_KEY_FILE) is not set"},
		{"simulator", []string{"SIM_TIME_SCALE=-1"}, "SIM_TIME_SCALE must be positive"},
		{"codecserver", nil, "CAPTURE_CODEC_KEYS (or CAPTURE_CODEC_KEYS_FILE) is not set"},
		{"codecserver", []string{"CAPTURE_CODEC_KEYS=k1:" + strings.Repeat("A", 43) + "=", "CODEC_SERVER_TOKEN=short"}, "CODEC_SERVER_TOKEN: want at least 16 characters"},
	}
	pub := filepath.Join(dir, "antom.pem")
	sim := alipaytest.NewServer(alipaytest.Config{})
	defer sim.Close()
	writeKeys(t, filepath.Join(dir, "merchant.pem"), pub, sim.Config())
	tests = append(tests, struct {
		name string
		env  []string
		want string
	}{"webhook", []string{"ALIPAY_CLIENT_ID=C", "ALIPAY_PUBLIC_KEY_FILE=" + pub, "WEBHOOK_PPROF_LISTEN=0.0.0.0:6060"}, "must be a loopback address"})
	if code, out := runStarter(t, []string{"CAPTURE_CODEC_KEYS=k1:AAAA"}, "status", "P1"); code == 0 || !strings.Contains(out, `CAPTURE_CODEC_KEYS: key "k1": 3 bytes, want 32`) {
		t.Errorf("starter with a malformed codec key: exit %d, %q", code, out)
	}
	for _, tt := range tests {
		code, out := runOnce(t, tt.name, tt.env...)
		if code == 0 || !strings.Contains(out, tt.want) {
			t.Errorf("%s %v: exit %d, output %q; want a non-zero exit saying %q", tt.name, tt.env, code, out, tt.want)
		}
		if strings.Contains(out, "panic") {
			t.Errorf("%s panicked: %s", tt.name, out)
		}
	}
}

// TestWorkerRefusesNamespaceWithoutSearchAttributes starts a dev server without them.
func TestWorkerRefusesNamespaceWithoutSearchAttributes(t *testing.T) {
	srv := temporaltest.StartWith(t, temporal.NewSearchAttributes(workflows.AttrPaymentID.ValueSet("")))
	sim := alipaytest.NewServer(alipaytest.Config{})
	defer sim.Close()
	keys := t.TempDir()
	priv, pub := filepath.Join(keys, "m.pem"), filepath.Join(keys, "a.pem")
	cfg := sim.Config()
	writeKeys(t, priv, pub, cfg)
	code, out := runOnce(t, "worker", "TEMPORAL_ADDRESS="+srv.Address, "ALIPAY_CLIENT_ID="+cfg.ClientID,
		"ALIPAY_BASE_URL="+sim.URL, "ALIPAY_PRIVATE_KEY_FILE="+priv, "ALIPAY_PUBLIC_KEY_FILE="+pub, "WORKER_METRICS_LISTEN=")
	if code == 0 || !strings.Contains(out, "CaptureStatus is missing") || !strings.Contains(out, "CaptureDeadline is missing") {
		t.Errorf("exit %d: %s", code, out)
	}
}

// TestWebhookRefusesAMissingNamespace: with a wrong TEMPORAL_NAMESPACE every notification would
// look like one for no running capture, so the receiver refuses to start.
func TestWebhookRefusesAMissingNamespace(t *testing.T) {
	srv := temporaltest.Start(t)
	sim := alipaytest.NewServer(alipaytest.Config{})
	defer sim.Close()
	keys := t.TempDir()
	priv, pub := filepath.Join(keys, "m.pem"), filepath.Join(keys, "a.pem")
	writeKeys(t, priv, pub, sim.Config())
	code, out := runOnce(t, "webhook", "TEMPORAL_ADDRESS="+srv.Address, "TEMPORAL_NAMESPACE=no-such-namespace",
		"ALIPAY_CLIENT_ID="+sim.ClientID(), "ALIPAY_PUBLIC_KEY_FILE="+pub, "WEBHOOK_LISTEN="+freeAddr(t))
	if code == 0 || !strings.Contains(out, "TEMPORAL_NAMESPACE") || !strings.Contains(out, `does not exist (create it: temporal operator namespace create --namespace no-such-namespace)`) {
		t.Errorf("exit %d: %s", code, out)
	}
}

// TestWorkerShutdownLetsTheCaptureFinish: SIGTERM while a capture call is in flight; the worker
// waits for it, so the capture is not sent a second time.
func TestWorkerShutdownLetsTheCaptureFinish(t *testing.T) {
	s := startSystem(t)
	pid := s.authorize(alipaytest.Scenario{DelayResponse: alipaytest.Duration(2 * time.Second), NoNotify: true})
	in := input(pid, time.Hour)
	in.Policy.CallTimeout = 20 * time.Second
	// The capture request returns with Antom's (held) answer: send it aside, and stop the worker
	// while the call is in flight.
	started := make(chan error, 1)
	go func() { _, err := s.cc.Start(context.Background(), in); started <- err }()
	s.waitFor("the capture to reach Antom", func() bool { return s.ledger(pid).CaptureCalls == 1 })
	s.StopWorker() // SIGTERM, waits for the exit
	if !strings.Contains(s.out.String(), `[worker] {"time"`) || !strings.Contains(s.out.String(), "worker stopped gracefully") {
		t.Errorf("worker output lacks a graceful stop:\n%s", tail(s.out.String(), 2000))
	}
	s.StartWorker()
	res, err := s.cc.Wait(context.Background(), pid)
	if err != nil || res.State != workflows.StateCaptured {
		t.Fatalf("%+v, %v", res, err)
	}
	if err := <-started; err != nil {
		t.Errorf("capture request: %v", err)
	}
	if p := s.ledger(pid); p.CaptureCalls != 1 {
		t.Errorf("%d capture calls: the in-flight call was abandoned and retried", p.CaptureCalls)
	}
}
