package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/codec"
	"github.com/capturekit/alipay-capture/internal/stack"
	"github.com/capturekit/alipay-capture/workflows"
)

// chromiumBinary finds Chromium: $CHROMIUM (scripts/test sets it, from scripts/chromium) or
// PATH. A missing Chromium fails the test: it is never skipped.
func chromiumBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found: run scripts/chromium (installs Debian's chromium package) or set CHROMIUM")
	return ""
}

// runScript runs the Node.js script in dir with job as its one argument (JSON), for at most 3
// minutes, and decodes the JSON it prints into out.
func runScript(t *testing.T, dir, script string, job, out any) {
	t.Helper()
	arg, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script, string(arg))
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	res, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s\n%s", script, err, res, stderr.String())
	}
	if err := json.Unmarshal(res, out); err != nil {
		t.Fatalf("%s printed what is not its JSON (%v): %s", script, err, res)
	}
}

// startUITest prepares a test of the Web UI: it skips in -short mode, finds Chromium, installs
// e2e/ui's packages beside script, and starts the local stack with a Web UI on a free port (and
// codecKeys, if given).
func startUITest(t *testing.T, script, codecKeys string) (browser, scripts string, st *stack.Stack) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the local stack and a browser")
	}
	browser = chromiumBinary(t)
	scripts = npmPackage(t, "ui", "playwright-core", "package.json", "package-lock.json", script)
	out := &syncBuffer{}
	addr := freeAddr(t)
	var uiPort int
	fmt.Sscanf(addr[strings.LastIndex(addr, ":")+1:], "%d", &uiPort)
	st, err := stack.Start(context.Background(), stack.Options{Dir: t.TempDir(), UIPort: uiPort, TimeScale: 0.001, Output: out,
		WorkerEnv: []string{"WORKER_CENSUS_INTERVAL=1s"}, CodecKeys: codecKeys})
	if err != nil {
		t.Fatalf("start the system: %v\n%s", err, tail(out.String(), 4000))
	}
	t.Cleanup(st.Stop)
	return browser, scripts, st
}

// TestWebUIShowsCaptures opens the local stack's Web UI in headless Chromium with the view of
// docs/operations.md (the captures' query, the three columns): the list shows the captures with CaptureStatus,
// AlipayPaymentId and AlipayMerchant, the default list is not filled by the census, and a
// capture's page opens. It writes the screenshots; UPDATE_SCREENSHOTS=1 copies them into docs/.
func TestWebUIShowsCaptures(t *testing.T) {
	browser, scripts, st := startUITest(t, "screenshots.mjs", "")
	ctx := context.Background()

	var pids []string
	start := func(a alipaytest.Authorization, merchant string, wait bool) {
		p, err := st.Authorize(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		in := workflows.CaptureInput{PaymentID: p.PaymentID, Merchant: merchant, Amount: p.Amount, OrderID: "ORD-" + p.PaymentID[len(p.PaymentID)-4:],
			AuthorizedAt: time.Now(), Policy: workflows.Policy{InquirySchedule: []time.Duration{time.Hour}}}
		if _, err := st.Capture.Start(ctx, in); err != nil {
			t.Fatal(err)
		}
		if wait {
			if res, err := st.Capture.Wait(ctx, p.PaymentID); err != nil || res.State != workflows.StateCaptured {
				t.Fatalf("%s: %+v, %v", p.PaymentID, res, err)
			}
		}
		pids = append(pids, p.PaymentID)
	}
	usd := alipay.Amount{Currency: "USD", Value: "2500"}
	start(alipaytest.Authorization{Amount: usd}, "", true)
	start(alipaytest.Authorization{ClientID: stack.SecondClientID, Amount: alipay.Amount{Currency: "EUR", Value: "990"}}, stack.SecondMerchant, true)
	start(alipaytest.Authorization{Amount: usd, Scenario: alipaytest.Scenario{Result: "U", NoNotify: true}}, "", false)
	desc, err := st.Temporal().DescribeWorkflowExecution(ctx, workflows.WorkflowID(pids[0]), "")
	if err != nil {
		t.Fatal(err)
	}
	shots := t.TempDir()
	var got struct{ Header, Rows, DefaultRows, WorkflowPage string }
	runScript(t, scripts, "screenshots.mjs", map[string]any{"ui": st.UIURL, "chromium": browser, "out": shots, "paymentIds": pids,
		"workflowId": workflows.WorkflowID(pids[0]), "runId": desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()}, &got)
	for _, col := range []string{workflows.SearchAttrStatus, workflows.SearchAttrPaymentID, workflows.SearchAttrMerchant} {
		if !strings.Contains(got.Header, col) {
			t.Errorf("the list's columns lack %s: %q", col, got.Header)
		}
	}
	for _, want := range append(slices.Clone(pids), "CAPTURED", "UNKNOWN", stack.SecondMerchant) {
		if !strings.Contains(got.Rows, want) {
			t.Errorf("the captures' list lacks %q:\n%s", want, got.Rows)
		}
	}
	// One row per run, each with a "Select Workflow <id>" box.
	if n := strings.Count(got.DefaultRows, "Select Workflow "+workflows.CensusWorkflowID+"\n"); n > 1 || !strings.Contains(got.DefaultRows, "Select Workflow ") {
		t.Errorf("the default list shows %d census runs:\n%s", n, got.DefaultRows)
	}
	if !strings.Contains(got.WorkflowPage, pids[0]) {
		t.Errorf("the capture's page does not show its payment id:\n%s", tail(got.WorkflowPage, 2000))
	}
	for _, f := range []string{"ui-captures.png", "ui-capture.png"} {
		b, err := os.ReadFile(filepath.Join(shots, f))
		if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) || len(b) < 10_000 {
			t.Errorf("%s: %d bytes, %v", f, len(b), err)
			continue
		}
		if os.Getenv("UPDATE_SCREENSHOTS") != "" {
			if err := os.WriteFile(filepath.Join("..", "docs", f), b, 0o644); err != nil {
				t.Error(err)
			}
		}
	}
}

// TestWebUIDecryptsThroughTheCodecServer: on the local stack with payload encryption, where
// Temporal stores only ciphertext (TestCodecHidesPayloads), the Web UI shows a capture's input
// and final status decrypted, through the codec server the stack points it at.
func TestWebUIDecryptsThroughTheCodecServer(t *testing.T) {
	browser, scripts, st := startUITest(t, "decoded.mjs", codec.NewKey("test-1"))
	ctx := context.Background()
	p, err := st.Authorize(ctx, alipaytest.Authorization{Amount: usd10})
	if err != nil {
		t.Fatal(err)
	}
	in := input(p.PaymentID, time.Hour)
	in.OrderID = "ORDER-" + p.PaymentID
	if _, err := st.Capture.Start(ctx, in); err != nil {
		t.Fatal(err)
	}
	if res, err := st.Capture.Wait(ctx, p.PaymentID); err != nil || res.State != workflows.StateCaptured {
		t.Fatalf("%+v, %v", res, err)
	}
	desc, err := st.Temporal().DescribeWorkflowExecution(ctx, workflows.WorkflowID(p.PaymentID), "")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Found      bool
		CodecCalls []int
		Text       string
	}
	runScript(t, scripts, "decoded.mjs", map[string]any{"ui": st.UIURL, "chromium": browser, "out": t.TempDir(),
		"workflowId": workflows.WorkflowID(p.PaymentID), "runId": desc.GetWorkflowExecutionInfo().GetExecution().GetRunId(), "expect": in.OrderID}, &got)
	if !got.Found || !strings.Contains(got.Text, `"state": "CAPTURED"`) || strings.Contains(got.Text, codec.Encoding) {
		t.Errorf("the capture's page does not show its input and status decrypted:\n%s", tail(got.Text, 3000))
	}
	if len(got.CodecCalls) == 0 || slices.ContainsFunc(got.CodecCalls, func(c int) bool { return c != 200 }) {
		t.Errorf("the UI's calls to the codec server answered %v, want 200s", got.CodecCalls)
	}
}
