package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/client"

	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/codec"
	"github.com/capturekit/alipay-capture/internal/stack"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestCodecHidesPayloads: with CAPTURE_CODEC_KEYS, a captured and a refused capture leave no
// payment id, amount or order id in any payload, memo or failure of their raw histories (read
// without the codec); with the codec, the status query and starter status read it all.
func TestCodecHidesPayloads(t *testing.T) {
	keys := codec.NewKey("test-1")
	out := &syncBuffer{}
	st, err := stack.Start(context.Background(), stack.Options{Dir: t.TempDir(), TimeScale: 0.001, Output: out, CodecKeys: keys})
	if err != nil {
		t.Fatalf("start the system: %v\n%s", err, tail(out.String(), 4000))
	}
	defer st.Stop()
	ctx := context.Background()
	var pids []string
	for _, sc := range []alipaytest.Scenario{{}, {Result: "F", FailCode: "RISK_REJECT"}} {
		p, err := st.Authorize(ctx, alipaytest.Authorization{Amount: usd10, Scenario: sc})
		if err != nil {
			t.Fatal(err)
		}
		in := input(p.PaymentID, 0)
		in.OrderID = "ORDER-" + p.PaymentID
		in.Policy.InquirySchedule = nil
		if _, err := st.Capture.Start(ctx, in); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Capture.Wait(ctx, p.PaymentID); err != nil && !errors.As(err, new(*capture.Outcome)) {
			t.Fatal(err)
		}
		pids = append(pids, p.PaymentID)
	}

	plain, err := client.Dial(client.Options{HostPort: st.HostPort})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	for _, pid := range pids {
		secrets := []string{pid, "ORDER-" + pid, "10.00", `"1000"`}
		payloads, failures := 0, 0
		it := plain.GetWorkflowHistory(ctx, workflows.WorkflowID(pid), "", false, 0)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			err = proxy.VisitPayloads(ctx, e, proxy.VisitPayloadsOptions{SkipSearchAttributes: true,
				Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
					for _, p := range ps {
						payloads++
						if string(p.GetMetadata()["encoding"]) != codec.Encoding {
							t.Errorf("%s: event %d (%s) holds a payload encoded %q", pid, e.GetEventId(), e.GetEventType(), p.GetMetadata()["encoding"])
						}
						for _, s := range secrets {
							if strings.Contains(string(p.GetData()), s) {
								t.Errorf("%s: event %d holds %q in a payload", pid, e.GetEventId(), s)
							}
						}
					}
					return ps, nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			_ = proxy.VisitFailures(ctx, e, proxy.VisitFailuresOptions{Visitor: func(_ *proxy.VisitFailuresContext, f *failurepb.Failure) error {
				failures++
				for _, s := range secrets {
					if strings.Contains(f.GetMessage()+f.GetStackTrace(), s) {
						t.Errorf("%s: event %d holds %q in a failure's message", pid, e.GetEventId(), s)
					}
				}
				return nil
			}})
		}
		if payloads < 5 {
			t.Errorf("%s: %d payloads in the history", pid, payloads)
		}
		// The memo, as visibility lists it.
		resp, err := plain.ListWorkflow(ctx, listRequest("AlipayPaymentId = '"+pid+"'"))
		if err != nil || len(resp.GetExecutions()) != 1 {
			t.Fatalf("list %s: %v", pid, err)
		}
		for k, p := range resp.GetExecutions()[0].GetMemo().GetFields() {
			for _, s := range secrets {
				if strings.Contains(string(p.GetData()), s) {
					t.Errorf("%s: memo %s holds %q", pid, k, s)
				}
			}
		}
	}
	// Without the codec, the status cannot be read; with it, all of it.
	if _, err := (capture.Client{Temporal: plain}).Status(ctx, pids[0]); err == nil {
		t.Error("the status query decoded without the codec")
	}
	stat, err := st.Capture.Status(ctx, pids[0])
	if err != nil || stat.State != workflows.StateCaptured || stat.OrderID != "ORDER-"+pids[0] || stat.Captured != usd10 {
		t.Errorf("status with the codec: %+v, %v", stat, err)
	}
	// Rotation: key B added and made first still reads what A wrote; B alone names A's key id.
	keyB := codec.NewKey("test-2")
	for _, tt := range []struct {
		keys string
		ok   bool
	}{{keyB + "," + keys, true}, {keyB, false}} {
		ks, err := codec.Load(tt.keys, "")
		if err != nil {
			t.Fatal(err)
		}
		o := client.Options{HostPort: st.HostPort}
		ks.Apply(&o)
		c, err := client.Dial(o)
		if err != nil {
			t.Fatal(err)
		}
		got, err := capture.Client{Temporal: c, DataConverter: o.DataConverter}.Status(ctx, pids[0])
		c.Close()
		switch {
		case tt.ok && (err != nil || got.State != workflows.StateCaptured):
			t.Errorf("keys %v: %+v, %v", ks.IDs(), got, err)
		case !tt.ok && (err == nil || !strings.Contains(err.Error(), `"test-1"`)):
			t.Errorf("keys %v: %v, want an error naming key test-1", ks.IDs(), err)
		}
	}

	withKeys := st.TemporalEnv()
	withoutKeys := slices.DeleteFunc(slices.Clone(withKeys), func(kv string) bool { return strings.HasPrefix(kv, "CAPTURE_CODEC_KEYS=") })
	if len(withoutKeys) == len(withKeys) {
		t.Fatal("the stack's Temporal environment lacks CAPTURE_CODEC_KEYS")
	}
	code, text := runStarter(t, withKeys, "status", pids[1])
	var failed workflows.Status
	if code != 0 || json.Unmarshal([]byte(text), &failed) != nil || failed.State != workflows.StateFailed || failed.ResultCode != "RISK_REJECT" {
		t.Errorf("starter status with the codec: exit %d\n%s", code, text)
	}
	if code, text := runStarter(t, withoutKeys, "status", pids[1]); code == 0 {
		t.Errorf("starter status without the codec read an encrypted status:\n%s", text)
	}
}

// runStarter runs the starter binary with env (and nothing else of the test's environment that
// configures it) and returns its exit code and stdout.
func runStarter(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "starter"), args...)
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "CAPTURE_CODEC_KEYS") }), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out) + stderr.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}
