package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/internal/temporaltest"
	"github.com/capturekit/alipay-capture/workflows"
)

var usd10 = alipay.Amount{Currency: "USD", Value: "1000"}

type env struct {
	sim  *alipaytest.Server
	dial dialer
	cc   capture.Client
}

func setup(t *testing.T) *env {
	t.Helper()
	srv, sim := temporaltest.StartCaptureSystem(t, "starter-test")
	cc := capture.Client{Temporal: srv.Client, TaskQueue: "starter-test"}
	return &env{sim: sim, cc: cc, dial: func(context.Context) (capture.Client, func(), error) { return cc, func() {}, nil }}
}

func (e *env) authorize(t *testing.T, sc alipaytest.Scenario) string {
	t.Helper()
	p, err := e.sim.Authorize(alipaytest.Authorization{Amount: usd10, Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	return p.PaymentID
}

// starter runs the command line and returns its exit code, stdout and stderr.
func (e *env) starter(stdin string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	var d dialer
	if e != nil {
		d = e.dial
	}
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut, d)
	return code, out.String(), errOut.String()
}

func TestCaptureCommand(t *testing.T) {
	e := setup(t)
	pid := e.authorize(t, alipaytest.Scenario{})
	args := []string{"capture", "--payment-id", pid, "--amount", "10.00", "--currency", "USD", "--order-id", "ORD-9",
		"--authorized-at", time.Now().UTC().Format(time.RFC3339), "--wait"}
	code, out, errOut := e.starter("", args...)
	if code != exitOK || !strings.Contains(out, "started: capture/"+pid) || !strings.Contains(out, "CAPTURED: 10.00 USD") {
		t.Fatalf("first: %d %q %q", code, out, errOut)
	}
	code, out, _ = e.starter("", args...)
	if code != exitOK || !strings.Contains(out, "already started") {
		t.Fatalf("second: %d %q", code, out)
	}
	if n := e.sim.CapturesSucceeded(pid); n != 1 {
		t.Errorf("%d captures", n)
	}
	code, out, _ = e.starter("", "status", pid)
	var st workflows.Status
	if code != exitOK || json.Unmarshal([]byte(out), &st) != nil || st.State != workflows.StateCaptured || st.OrderID != "ORD-9" {
		t.Errorf("status: %d %s", code, out)
	}

	failing := e.authorize(t, alipaytest.Scenario{Result: "F", FailCode: "RISK_REJECT"})
	code, _, errOut = e.starter("", "capture", "--payment-id", failing, "--amount", "10", "--currency", "usd",
		"--authorized-at", time.Now().UTC().Format(time.RFC3339), "--wait")
	if code != exitNotCaptured || !strings.Contains(errOut, "RISK_REJECT") {
		t.Errorf("failed capture: %d %q", code, errOut)
	}
	if code, _, _ := e.starter("", "status", "NO-SUCH"); code != exitNotFound {
		t.Errorf("status of unknown payment: exit %d", code)
	}

	var list []capture.Summary
	deadline := time.Now().Add(10 * time.Second)
	for len(list) != 1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond) // visibility lags the workflow a moment
		_, out, _ = e.starter("", "list", "--status", "FAILED")
		list = nil
		_ = json.Unmarshal([]byte(out), &list)
	}
	if len(list) != 1 || list[0].PaymentID != failing || list[0].Merchant != workflows.DefaultMerchant {
		t.Errorf("list --status FAILED: %s", out)
	}
	for merchant, want := range map[string]int{workflows.DefaultMerchant: 1, "europe": 0} {
		_, out, _ = e.starter("", "list", "--status", "FAILED", "--merchant", merchant)
		list = nil
		if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != want {
			t.Errorf("list --status FAILED --merchant %s: %s, want %d", merchant, out, want)
		}
	}
}

// TestCaptureRefusesAnotherAmount: a second capture of a payment for a different amount is the
// caller's mistake: refused with exit 2, nothing started.
func TestCaptureRefusesAnotherAmount(t *testing.T) {
	e := setup(t)
	pid := e.authorize(t, alipaytest.Scenario{})
	at := time.Now().UTC().Format(time.RFC3339)
	if code, _, errOut := e.starter("", "capture", "--payment-id", pid, "--amount", "10.00", "--currency", "USD", "--authorized-at", at, "--wait"); code != exitOK {
		t.Fatalf("capture: %d %s", code, errOut)
	}
	code, out, errOut := e.starter("", "capture", "--payment-id", pid, "--amount", "12.00", "--currency", "USD", "--authorized-at", at)
	if code != exitUsage || !strings.Contains(errOut, "asked for 10.00 USD, not 12.00 USD") || strings.Contains(out, "already started") {
		t.Errorf("another amount: %d %q %q", code, out, errOut)
	}
	if p, _ := e.sim.Payment(pid); p.CaptureCalls != 1 {
		t.Errorf("%d capture calls", p.CaptureCalls)
	}
}

// TestUnknownPaymentEndsFailed: a payment Antom does not know (no --authorized-at, so the
// deadline lookup gets ORDER_NOT_EXIST) ends FAILED, and status says so.
func TestUnknownPaymentEndsFailed(t *testing.T) {
	e := setup(t)
	code, _, errOut := e.starter("", "capture", "--payment-id", "NOT-AT-ANTOM", "--amount", "10.00", "--currency", "USD", "--wait")
	if code != exitNotCaptured || !strings.Contains(errOut, "ORDER_NOT_EXIST") {
		t.Errorf("capture: %d %q", code, errOut)
	}
	code, out, _ := e.starter("", "status", "NOT-AT-ANTOM")
	var st workflows.Status
	if code != exitOK || json.Unmarshal([]byte(out), &st) != nil || st.State != workflows.StateFailed || st.ResultCode != alipay.CodeOrderNotExist {
		t.Errorf("status: %d %s", code, out)
	}
}

func TestCancelCommand(t *testing.T) {
	e := setup(t)
	pid := e.authorize(t, alipaytest.Scenario{})
	code, _, errOut := e.starter("", "authorize", "--payment-id", pid, "--amount", "10.00", "--currency", "USD",
		"--authorized-at", time.Now().UTC().Format(time.RFC3339))
	if code != exitOK {
		t.Fatalf("authorize: %d %s", code, errOut)
	}
	code, out, errOut := e.starter("", "cancel", "--reason", "customer cancelled", pid)
	if code != exitOK || !strings.Contains(out, "CANCELLED") {
		t.Fatalf("cancel: %d %q %q", code, out, errOut)
	}
	if p, _ := e.sim.Payment(pid); p.State != alipaytest.StateCancelled {
		t.Errorf("ledger state %s", p.State)
	}
	// Cancelling it again: it has finished, which is not "no capture".
	code, out, errOut = e.starter("", "cancel", pid)
	if code != exitFinished || !strings.Contains(errOut, "is CANCELLED") {
		t.Errorf("cancel of a finished capture: %d %q %q", code, out, errOut)
	}
	// Capturing the voided authorization: finished, nothing captured (rule 13).
	code, out, errOut = e.starter("", "capture", "--payment-id", pid, "--amount", "10.00", "--currency", "USD",
		"--authorized-at", time.Now().UTC().Format(time.RFC3339))
	if code != exitFinished || strings.Contains(out, "already started") {
		t.Errorf("capture of a voided authorization: %d %q %q", code, out, errOut)
	}
	if code, _, _ := e.starter("", "cancel", "NO-SUCH"); code != exitNotFound {
		t.Errorf("cancel of no capture: exit %d", code)
	}
}

func TestBatchCommand(t *testing.T) {
	e := setup(t)
	a, b := e.authorize(t, alipaytest.Scenario{}), e.authorize(t, alipaytest.Scenario{})
	now := time.Now().UTC().Format(time.RFC3339)
	csvIn := "payment_id,amount,currency,order_id,authorized_at\n" +
		a + ",10.00,USD,O1," + now + "\n" +
		b + ",10.00,USD,O2," + now + "\n" +
		"BAD,ten,USD,O3," + now + "\n" +
		a + ",10.00,USD,O1," + now + "\n" // a duplicate shipment event
	code, out, errOut := e.starter(csvIn, "batch", "--concurrency", "2")
	if code != exitUsage || !strings.Contains(errOut, "4 rows: 2 started, 1 already started, 1 invalid, 0 failed") {
		t.Fatalf("batch: %d %q %q", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var third batchResult
	if len(lines) != 4 || json.Unmarshal([]byte(lines[2]), &third) != nil || third.Result != "invalid" || third.Line != 4 || !strings.Contains(third.Error, "amount") {
		t.Errorf("results %q", out)
	}
	for _, pid := range []string{a, b} {
		if _, err := e.cc.Wait(context.Background(), pid); err != nil {
			t.Errorf("%s: %v", pid, err)
		}
	}

	jsonl := `{"paymentId":"` + a + `","amount":"10.00","currency":"USD","authorizedAt":"` + now + `"}` + "\n"
	if code, _, errOut := e.starter(jsonl, "batch", "--format", "jsonl"); code != exitOK || !strings.Contains(errOut, "1 already started") {
		t.Errorf("jsonl: %d %q", code, errOut)
	}
}

func TestUsageErrors(t *testing.T) {
	var e *env // none of these may reach Temporal
	tests := []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{}, "Usage: starter"},
		{"", []string{"frobnicate"}, "unknown command"},
		{"", []string{"capture", "--amount", "1", "--currency", "USD"}, "payment id is required"},
		{"", []string{"capture", "--payment-id", "P", "--amount", "1.001", "--currency", "USD"}, "fraction digits"},
		{"", []string{"capture", "--payment-id", "P", "--amount", "1", "--currency", "XYZ"}, "ISO 4217"},
		{"", []string{"capture", "--payment-id", "P", "--amount", "1", "--currency", "USD", "--authorized-at", "yesterday"}, "RFC 3339"},
		{"", []string{"capture", "--nope"}, "flag provided but not defined"},
		{"", []string{"status"}, "status: want exactly one PAYMENT_ID, got 0 arguments"},
		{"", []string{"cancel", "A", "B"}, "cancel: want exactly one PAYMENT_ID, got 2 arguments"},
		{"", []string{"list", "--status", "DONE"}, "not a capture state"},
		{"", []string{"list", "--merchant", "asia pacific"}, "list: --merchant: merchant \"asia pacific\": use letters"},
		{"", []string{"capture", "--payment-id", "P", "--amount", "1", "--currency", "USD", "--merchant", "a/b"}, "use letters, digits"},
		{"", []string{"batch", "--format", "xml"}, "want csv or jsonl"},
		{"amount,currency\n1,USD\n", []string{"batch"}, "payment_id is required"},
		{"payment_id,amount,currency,colour\n", []string{"batch"}, `unknown column "colour"`},
		{"", []string{"batch"}, "no rows"},
	}
	for _, tt := range tests {
		code, _, errOut := e.starter(tt.stdin, tt.args...)
		if code != exitUsage || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 mentioning %q", tt.args, code, errOut, tt.want)
		}
	}
	if _, _, errOut := e.starter("", "status"); !strings.Contains(errOut, "Flags:\n  -summary") {
		t.Errorf("status usage does not list its flag: %q", errOut)
	}
	if code, _, errOut := e.starter("", "help"); code != exitOK || !strings.Contains(errOut, "Examples:") {
		t.Errorf("help: %d", code)
	}
	if code, _, errOut := e.starter("", "capture", "--help"); code != exitOK || !strings.Contains(errOut, "Example:") {
		t.Errorf("capture --help: %d %q", code, errOut)
	}
}

func TestTemporalUnreachable(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"status", "P"}, strings.NewReader(""), &out, &errOut, dial)
	if code != exitError || !strings.Contains(errOut.String(), "TEMPORAL_ADDRESS") {
		t.Errorf("exit %d, %q", code, errOut.String())
	}
}
