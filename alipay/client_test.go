package alipay_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
)

var usd10 = alipay.Amount{Currency: "USD", Value: "1000"}

// newSim starts a simulator whose simulated minutes last milliseconds, and a client for it.
func newSim(t *testing.T, notifyURL string) (*alipaytest.Server, *alipay.Client) {
	t.Helper()
	sim := alipaytest.NewServer(alipaytest.Config{NotifyURL: notifyURL, TimeScale: 1e-4})
	t.Cleanup(sim.Close)
	c, err := alipay.NewClient(sim.Config())
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

func authorize(t *testing.T, sim *alipaytest.Server, sc alipaytest.Scenario) string {
	t.Helper()
	p, err := sim.Authorize(alipaytest.Authorization{Amount: usd10, Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	return p.PaymentID
}

func capture(t *testing.T, c *alipay.Client, paymentID, reqID string, amt alipay.Amount) (*alipay.CaptureResponse, error) {
	t.Helper()
	return c.Capture(context.Background(), alipay.CaptureRequest{CaptureRequestID: reqID, PaymentID: paymentID, CaptureAmount: amt})
}

func wantResult(t *testing.T, resp *alipay.CaptureResponse, err error, code string, action alipay.Action) {
	t.Helper()
	if err != nil {
		t.Fatalf("capture: %v", err)
	}
	if resp.Result.ResultCode != code || resp.Result.Action() != action {
		t.Fatalf("result %v (action %v), want %s (%v)", resp.Result, resp.Result.Action(), code, action)
	}
}

func TestCaptureSuccessIsIdempotent(t *testing.T) {
	sim, c := newSim(t, "")
	id := authorize(t, sim, alipaytest.Scenario{})
	resp, err := capture(t, c, id, "cap-1", usd10)
	wantResult(t, resp, err, alipay.CodeSuccess, alipay.ActionDone)
	if resp.CaptureID == "" || resp.CaptureAmount != usd10 || resp.CaptureRequestID != "cap-1" || resp.PaymentID != id {
		t.Errorf("success response lacks fields: %+v", resp)
	}
	if _, err := alipay.ParseTime(resp.CaptureTime); err != nil {
		t.Errorf("captureTime: %v", err)
	}
	again, err := capture(t, c, id, "cap-1", usd10)
	wantResult(t, again, err, alipay.CodeSuccess, alipay.ActionDone)
	if again.CaptureID != resp.CaptureID {
		t.Errorf("repeat returned another capture id %q, want %q", again.CaptureID, resp.CaptureID)
	}
	p, _ := sim.Payment(id)
	if p.CapturesExecuted != 1 || p.CapturesSucceeded != 1 || p.CaptureCalls != 2 {
		t.Errorf("ledger: executed %d, succeeded %d, calls %d; want 1, 1, 2", p.CapturesExecuted, p.CapturesSucceeded, p.CaptureCalls)
	}
}

func TestCaptureRefusals(t *testing.T) {
	sim, c := newSim(t, "")
	captured := authorize(t, sim, alipaytest.Scenario{})
	if _, err := capture(t, c, captured, "first", usd10); err != nil {
		t.Fatal(err)
	}
	expired, err := sim.Authorize(alipaytest.Authorization{Amount: usd10, AuthorizedAt: time.Now().Add(-8 * 24 * time.Hour), AuthExpiryTime: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	fresh := func() string { return authorize(t, sim, alipaytest.Scenario{}) }
	tests := []struct {
		name, paymentID, reqID string
		amount                 alipay.Amount
		code                   string
		action                 alipay.Action
	}{
		{"same id other amount", captured, "first", alipay.Amount{Currency: "USD", Value: "999"}, alipay.CodeRepeatReqInconsistent, alipay.ActionConfigFailure},
		{"second capture", captured, "second", usd10, alipay.CodeMultiCaptureNotSupport, alipay.ActionBusinessFailure},
		{"expired", expired.PaymentID, "x", usd10, alipay.CodeAuthExpired, alipay.ActionBusinessFailure},
		{"more than authorized", fresh(), "x1", alipay.Amount{Currency: "USD", Value: "1001"}, alipay.CodeCaptureAmountExceed, alipay.ActionBusinessFailure},
		{"much more than authorized", fresh(), "x2", alipay.Amount{Currency: "USD", Value: "99999"}, alipay.CodeCaptureAmountExceed, alipay.ActionBusinessFailure},
		{"partial", fresh(), "x3", alipay.Amount{Currency: "USD", Value: "500"}, alipay.CodeMultiCaptureNotSupport, alipay.ActionBusinessFailure},
		{"other currency", fresh(), "x4", alipay.Amount{Currency: "EUR", Value: "1000"}, alipay.CodeParamIllegal, alipay.ActionConfigFailure},
		{"unknown payment", "NO_SUCH_PAYMENT", "x5", usd10, alipay.CodeAuthNotFound, alipay.ActionBusinessFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := capture(t, c, tt.paymentID, tt.reqID, tt.amount)
			wantResult(t, resp, err, tt.code, tt.action)
		})
	}
	if p, _ := sim.Payment(captured); p.CapturesSucceeded != 1 {
		t.Errorf("captured payment has %d successful captures", p.CapturesSucceeded)
	}
	if p, _ := sim.Payment(expired.PaymentID); p.State != alipaytest.StateExpired || p.CapturesExecuted != 0 {
		t.Errorf("expired payment: state %s, executed %d", p.State, p.CapturesExecuted)
	}
}

func TestCaptureScriptedFailure(t *testing.T) {
	sim, c := newSim(t, "")
	id := authorize(t, sim, alipaytest.Scenario{Result: "F", FailCode: "RISK_REJECT"})
	resp, err := capture(t, c, id, "r1", usd10)
	wantResult(t, resp, err, "RISK_REJECT", alipay.ActionBusinessFailure)
	// The final F is remembered for the id: a repeat returns it and executes nothing.
	resp, err = capture(t, c, id, "r1", usd10)
	wantResult(t, resp, err, "RISK_REJECT", alipay.ActionBusinessFailure)
	if p, _ := sim.Payment(id); p.CapturesExecuted != 1 || p.CapturesSucceeded != 0 {
		t.Errorf("ledger: %+v", p)
	}
}

func TestCaptureInProcessResolvedByInquiry(t *testing.T) {
	sim, c := newSim(t, "")
	id := authorize(t, sim, alipaytest.Scenario{Result: "U", NoNotify: true}) // resolved by hand below
	resp, err := capture(t, c, id, "u1", usd10)
	wantResult(t, resp, err, alipay.CodeCaptureInProcess, alipay.ActionWait)

	inq, err := c.InquiryPayment(context.Background(), alipay.InquiryRequest{PaymentID: id})
	if err != nil {
		t.Fatal(err)
	}
	tx, ok := inq.CaptureTransaction("u1")
	if !ok || tx.TransactionStatus != alipay.TxProcessing {
		t.Fatalf("capture transaction %+v, %v; want PROCESSING", tx, ok)
	}
	if _, ok := inq.CaptureTransaction("other"); ok {
		t.Error("found a capture transaction for a request id never sent")
	}
	if exp, ok := inq.AuthExpiry(); !ok || exp.Before(time.Now()) {
		t.Errorf("authExpiryTime %q", inq.AuthExpiryTime)
	}
	// Same id while in process: still in process, nothing new executed.
	resp, err = capture(t, c, id, "u1", usd10)
	wantResult(t, resp, err, alipay.CodeCaptureInProcess, alipay.ActionWait)

	if err := sim.Resolve(id, "S", ""); err != nil {
		t.Fatal(err)
	}
	inq, err = c.InquiryPayment(context.Background(), alipay.InquiryRequest{PaymentID: id})
	if err != nil {
		t.Fatal(err)
	}
	tx, _ = inq.CaptureTransaction("u1")
	if tx.TransactionStatus != alipay.TxSuccess || tx.TransactionID == "" || tx.TransactionResult == nil || tx.TransactionResult.ResultCode != alipay.CodeSuccess {
		t.Fatalf("after resolve: %+v", tx)
	}
	if p, _ := sim.Payment(id); p.CapturesExecuted != 1 || p.CapturesSucceeded != 1 || len(p.Notifications) != 0 {
		t.Errorf("ledger: %+v", p)
	}
}

func TestCaptureInProcessResolvesToFailure(t *testing.T) {
	sim, c := newSim(t, "")
	id := authorize(t, sim, alipaytest.Scenario{Result: "U", ResolveTo: "F", FailCode: "PROCESS_FAIL", NoNotify: true})
	resp, err := capture(t, c, id, "u2", usd10)
	wantResult(t, resp, err, alipay.CodeCaptureInProcess, alipay.ActionWait)
	deadline := time.Now().Add(10 * time.Second)
	for {
		inq, err := c.InquiryPayment(context.Background(), alipay.InquiryRequest{PaymentID: id})
		if err != nil {
			t.Fatal(err)
		}
		tx, _ := inq.CaptureTransaction("u2")
		if tx.TransactionStatus == alipay.TxFail {
			if tx.TransactionResult.ResultCode != "PROCESS_FAIL" {
				t.Errorf("result %v", tx.TransactionResult)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("capture never resolved: %+v", tx)
		}
		time.Sleep(5 * time.Millisecond) // polling a resolution scheduled by the simulator
	}
}

func TestCaptureUnknownExceptionThenSuccess(t *testing.T) {
	sim, c := newSim(t, "")
	id := authorize(t, sim, alipaytest.Scenario{UnknownExceptionCalls: 2})
	for i := 0; i < 2; i++ {
		resp, err := capture(t, c, id, "same", usd10)
		wantResult(t, resp, err, alipay.CodeUnknownException, alipay.ActionRetry)
	}
	resp, err := capture(t, c, id, "same", usd10)
	wantResult(t, resp, err, alipay.CodeSuccess, alipay.ActionDone)
	if p, _ := sim.Payment(id); p.CaptureCalls != 3 || p.CapturesExecuted != 1 {
		t.Errorf("ledger: calls %d executed %d", p.CaptureCalls, p.CapturesExecuted)
	}
}

func TestCaptureServerErrorIsOutcomeUnknown(t *testing.T) {
	sim, c := newSim(t, "")
	id := authorize(t, sim, alipaytest.Scenario{ServerErrorCalls: 1})
	_, err := capture(t, c, id, "s1", usd10)
	var ce *alipay.CallError
	if !errors.Is(err, alipay.ErrOutcomeUnknown) || !errors.As(err, &ce) || ce.StatusCode != 500 || ce.Op != "capture" {
		t.Fatalf("err = %v, want ErrOutcomeUnknown with HTTP 500", err)
	}
	resp, err := capture(t, c, id, "s1", usd10)
	wantResult(t, resp, err, alipay.CodeSuccess, alipay.ActionDone)
}

// TestCaptureCommittedButResponseLost: the capture happens, the answer arrives after the client
// gave up. The client must say "outcome unknown", and resending the same id must find the
// capture, not make another.
func TestCaptureCommittedButResponseLost(t *testing.T) {
	sim, _ := newSim(t, "")
	cfg := sim.Config()
	cfg.Timeout = 100 * time.Millisecond
	c, err := alipay.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	id := authorize(t, sim, alipaytest.Scenario{DelayResponse: alipaytest.Duration(5 * time.Second)})
	_, err = capture(t, c, id, "d1", usd10)
	if !errors.Is(err, alipay.ErrOutcomeUnknown) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrOutcomeUnknown caused by the deadline", err)
	}
	if p, _ := sim.Payment(id); p.CapturesSucceeded != 1 {
		t.Fatalf("capture was not committed before the delay: %+v", p)
	}
	resp, err := capture(t, c, id, "d1", usd10)
	wantResult(t, resp, err, alipay.CodeSuccess, alipay.ActionDone)
	if p, _ := sim.Payment(id); p.CapturesExecuted != 1 {
		t.Errorf("executed %d captures, want 1", p.CapturesExecuted)
	}
}

func TestCaptureNotSent(t *testing.T) {
	sim, c := newSim(t, "")
	// Invalid requests never leave.
	for name, req := range map[string]alipay.CaptureRequest{
		"no request id": {PaymentID: "p", CaptureAmount: usd10},
		"long id":       {CaptureRequestID: strings.Repeat("x", 65), PaymentID: "p", CaptureAmount: usd10},
		"no payment":    {CaptureRequestID: "r", CaptureAmount: usd10},
		"float amount":  {CaptureRequestID: "r", PaymentID: "p", CaptureAmount: alipay.Amount{Currency: "USD", Value: "10.00"}},
	} {
		_, err := c.Capture(context.Background(), req)
		if !errors.Is(err, alipay.ErrNotSent) || !errors.Is(err, alipay.ErrInvalidRequest) {
			t.Errorf("%s: err = %v, want ErrNotSent and ErrInvalidRequest", name, err)
		}
	}
	if n := len(sim.Payments()); n != 0 {
		t.Fatalf("ledger has %d payments", n)
	}

	// Connection refused: nothing listens on the port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := sim.Config()
	cfg.BaseURL = "http://" + addr
	refused, _ := alipay.NewClient(cfg)
	_, err = capture(t, refused, "p", "r", usd10)
	if !errors.Is(err, alipay.ErrNotSent) {
		t.Errorf("connection refused: err = %v, want ErrNotSent", err)
	}

	// A context cancelled before the call.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Capture(ctx, alipay.CaptureRequest{CaptureRequestID: "r", PaymentID: "p", CaptureAmount: usd10})
	if !errors.Is(err, alipay.ErrNotSent) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}

func TestCaptureSignatureRejected(t *testing.T) {
	sim, _ := newSim(t, "")
	cfg := sim.Config()
	wrong, _ := rsa.GenerateKey(rand.Reader, 2048)
	cfg.PrivateKey = wrong
	c, _ := alipay.NewClient(cfg)
	id := authorize(t, sim, alipaytest.Scenario{})
	_, err := capture(t, c, id, "k1", usd10)
	if !errors.Is(err, alipay.ErrSignatureRejected) || errors.Is(err, alipay.ErrOutcomeUnknown) {
		t.Fatalf("err = %v, want ErrSignatureRejected", err)
	}
	if p, _ := sim.Payment(id); p.CaptureCalls != 0 {
		t.Errorf("simulator processed a badly signed request")
	}
}

func TestCaptureUntrustedResponses(t *testing.T) {
	sim, _ := newSim(t, "")
	id := authorize(t, sim, alipaytest.Scenario{})

	// A response signed with a key that is not Antom's is not an answer, even if it says S.
	cfg := sim.Config()
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	cfg.AntomPublicKey = &other.PublicKey
	c, _ := alipay.NewClient(cfg)
	_, err := capture(t, c, id, "v1", usd10)
	if !errors.Is(err, alipay.ErrOutcomeUnknown) || !errors.Is(err, alipay.ErrBadSignature) {
		t.Fatalf("wrong Antom key: err = %v, want ErrOutcomeUnknown wrapping ErrBadSignature", err)
	}

	// Hand-made responses from a fake Antom.
	success := `{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"},"captureId":"c"}`
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"unsigned success", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, success) }},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>gateway</html>") }},
		{"HTTP 502", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "bad gateway", 502) }},
		{"garbage signature", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Client-Id", r.Header.Get("Client-Id"))
			w.Header().Set("Response-Time", "2024-01-01T00:00:00Z")
			w.Header().Set("Signature", "algorithm=RSA256,keyVersion=1,signature=AAAA")
			io.WriteString(w, success)
		}},
		{"signature header without algorithm", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Client-Id", r.Header.Get("Client-Id"))
			w.Header().Set("Response-Time", "2024-01-01T00:00:00Z")
			w.Header().Set("Signature", "signature=AAAA")
			io.WriteString(w, success)
		}},
		{"other Client-Id", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Client-Id", "SOMEONE_ELSE")
			w.Header().Set("Response-Time", "2024-01-01T00:00:00Z")
			w.Header().Set("Signature", "algorithm=RSA256,keyVersion=1,signature=AAAA")
			io.WriteString(w, success)
		}},
		{"reset after request", func(w http.ResponseWriter, r *http.Request) {
			io.ReadAll(r.Body)
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := httptest.NewServer(tt.handler)
			defer fake.Close()
			cfg := sim.Config()
			cfg.BaseURL = fake.URL
			c, _ := alipay.NewClient(cfg)
			resp, err := capture(t, c, "p", "r", usd10)
			if !errors.Is(err, alipay.ErrOutcomeUnknown) || resp != nil {
				t.Fatalf("resp %+v, err = %v; want no response and ErrOutcomeUnknown", resp, err)
			}
		})
	}
}

// signingFake is a fake Antom that signs whatever body it is given, correctly, with key.
func signingFake(t *testing.T, key *rsa.PrivateKey, body string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts := time.Now().Format(time.RFC3339)
		sig, err := alipay.Sign(key, alipay.Message{Method: "POST", Path: r.URL.Path, ClientID: r.Header.Get("Client-Id"), Time: ts, Body: []byte(body)})
		if err != nil {
			t.Error(err)
		}
		w.Header().Set("Client-Id", r.Header.Get("Client-Id"))
		w.Header().Set("Response-Time", ts)
		w.Header().Set("Signature", "algorithm=RSA256, keyVersion=1, signature="+sig)
		io.WriteString(w, body)
	}))
}

func TestCaptureSignedButMeaningless(t *testing.T) {
	antom, _ := rsa.GenerateKey(rand.Reader, 2048)
	merchant, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, body := range map[string]string{
		"no status":      `{"result":{"resultCode":"SUCCESS"}}`,
		"invented state": `{"result":{"resultCode":"SUCCESS","resultStatus":"Y"}}`,
		"not an object":  `[1,2,3]`,
	} {
		fake := signingFake(t, antom, body)
		c, _ := alipay.NewClient(alipay.Config{ClientID: "C", BaseURL: fake.URL, PrivateKey: merchant, AntomPublicKey: &antom.PublicKey})
		_, err := capture(t, c, "p", "r", usd10)
		if !errors.Is(err, alipay.ErrOutcomeUnknown) {
			t.Errorf("%s: err = %v, want ErrOutcomeUnknown", name, err)
		}
		fake.Close()
	}
	// The same fake with a proper body is an answer (spaces after commas in the header included).
	fake := signingFake(t, antom, `{"result":{"resultCode":"SUCCESS","resultStatus":"S"},"captureId":"c9"}`)
	defer fake.Close()
	c, _ := alipay.NewClient(alipay.Config{ClientID: "C", BaseURL: fake.URL, PrivateKey: merchant, AntomPublicKey: &antom.PublicKey})
	resp, err := capture(t, c, "p", "r", usd10)
	if err != nil || resp.CaptureID != "c9" {
		t.Fatalf("resp %+v, err %v", resp, err)
	}
}

// TestSandboxPathsAreSignedAndSent: a SANDBOX_ Client-Id calls the sandbox paths, and the
// simulator verifies the signature over them.
func TestSandboxPathsAreSignedAndSent(t *testing.T) {
	sim, err := alipaytest.New(alipaytest.Config{ClientID: "SANDBOX_5YTEST"})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	var mu sync.Mutex
	var paths []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		sim.ServeHTTP(w, r)
	}))
	defer hs.Close()
	c, err := alipay.NewClient(sim.ClientConfig(hs.URL))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := sim.Authorize(alipaytest.Authorization{Amount: usd10})
	resp, err := capture(t, c, p.PaymentID, "sb", usd10)
	wantResult(t, resp, err, alipay.CodeSuccess, alipay.ActionDone)
	if _, err := c.InquiryPayment(context.Background(), alipay.InquiryRequest{PaymentID: p.PaymentID}); err != nil {
		t.Fatal(err)
	}
	want := []string{"/ams/sandbox/api/v1/payments/capture", "/ams/sandbox/api/v1/payments/inquiryPayment"}
	if strings.Join(paths, ",") != strings.Join(want, ",") {
		t.Errorf("paths %v, want %v", paths, want)
	}
}

func TestCancel(t *testing.T) {
	sim, c := newSim(t, "")
	ctx := context.Background()
	open := authorize(t, sim, alipaytest.Scenario{})
	resp, err := c.Cancel(ctx, alipay.CancelRequest{PaymentID: open})
	if err != nil || resp.Result.Action() != alipay.ActionDone || resp.CancelTime == "" {
		t.Fatalf("cancel: %+v, %v", resp, err)
	}
	resp, err = c.Cancel(ctx, alipay.CancelRequest{PaymentID: open})
	if err != nil || resp.Result.Action() != alipay.ActionDone {
		t.Fatalf("repeated cancel: %+v, %v", resp, err)
	}
	cr, err := capture(t, c, open, "after-cancel", usd10)
	wantResult(t, cr, err, alipay.CodeAuthCancelled, alipay.ActionBusinessFailure)

	captured := authorize(t, sim, alipaytest.Scenario{})
	if _, err := capture(t, c, captured, "c", usd10); err != nil {
		t.Fatal(err)
	}
	resp, err = c.Cancel(ctx, alipay.CancelRequest{PaymentID: captured})
	if err != nil || resp.Result.ResultCode != alipay.CodeOrderStatusInvalid {
		t.Fatalf("cancel after capture: %+v, %v", resp, err)
	}
	resp, err = c.Cancel(ctx, alipay.CancelRequest{PaymentID: "nope"})
	if err != nil || resp.Result.ResultCode != alipay.CodeOrderNotExist {
		t.Fatalf("cancel unknown: %+v, %v", resp, err)
	}
	if _, err := c.Cancel(ctx, alipay.CancelRequest{}); !errors.Is(err, alipay.ErrNotSent) {
		t.Fatalf("cancel without id: %v", err)
	}
	if p, _ := sim.Payment(open); p.State != alipaytest.StateCancelled {
		t.Errorf("state %s", p.State)
	}
}

func TestNewClientValidates(t *testing.T) {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	good := alipay.Config{ClientID: "C", PrivateKey: k, AntomPublicKey: &k.PublicKey}
	if _, err := alipay.NewClient(good); err != nil {
		t.Fatalf("good config: %v", err)
	}
	tests := map[string]struct {
		mod  func(*alipay.Config)
		want string
	}{
		"client id":   {func(c *alipay.Config) { c.ClientID = "" }, "ClientID"},
		"private key": {func(c *alipay.Config) { c.PrivateKey = nil }, "PrivateKey"},
		"public key":  {func(c *alipay.Config) { c.AntomPublicKey = nil }, "AntomPublicKey"},
		"scheme":      {func(c *alipay.Config) { c.BaseURL = "ftp://x" }, "BaseURL"},
		"no host":     {func(c *alipay.Config) { c.BaseURL = "https://" }, "BaseURL"},
		"query":       {func(c *alipay.Config) { c.BaseURL = "https://x?y=1" }, "BaseURL"},
		"timeout":     {func(c *alipay.Config) { c.Timeout = -time.Second }, "Timeout"},
	}
	for name, tt := range tests {
		cfg := good
		tt.mod(&cfg)
		_, err := alipay.NewClient(cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one naming %s", name, err, tt.want)
		}
	}
}

func TestNewClientLeavesHTTPClientAlone(t *testing.T) {
	sim, _ := newSim(t, "")
	hc := &http.Client{Timeout: 42 * time.Second}
	cfg := sim.Config()
	cfg.HTTPClient = hc
	c, err := alipay.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	id := authorize(t, sim, alipaytest.Scenario{})
	if _, err := capture(t, c, id, "h", usd10); err != nil {
		t.Fatal(err)
	}
	if hc.Timeout != 42*time.Second || hc.CheckRedirect != nil {
		t.Errorf("the caller's http.Client was modified: %+v", hc)
	}
}

func TestIsLastCaptureTriState(t *testing.T) {
	for _, tt := range []struct {
		v    *bool
		want string
	}{{nil, ""}, {alipay.Bool(false), `"isLastCapture":false`}, {alipay.Bool(true), `"isLastCapture":true`}} {
		b, _ := json.Marshal(alipay.CaptureRequest{CaptureRequestID: "r", PaymentID: "p", CaptureAmount: usd10, IsLastCapture: tt.v})
		if tt.want == "" && strings.Contains(string(b), "isLastCapture") || !strings.Contains(string(b), tt.want) {
			t.Errorf("%v: %s", tt.v, b)
		}
	}
}

func BenchmarkCaptureRoundTrip(b *testing.B) {
	sim := alipaytest.NewServer(alipaytest.Config{})
	defer sim.Close()
	c, _ := alipay.NewClient(sim.Config())
	for b.Loop() {
		p, err := sim.Authorize(alipaytest.Authorization{Amount: usd10})
		if err != nil {
			b.Fatal(err)
		}
		resp, err := c.Capture(context.Background(), alipay.CaptureRequest{CaptureRequestID: "bench/" + p.PaymentID, PaymentID: p.PaymentID, CaptureAmount: usd10})
		if err != nil || resp.Result.ResultStatus != alipay.StatusSuccess {
			b.Fatal(resp, err)
		}
	}
}

// TestCaptureResponseForAnotherClientID: a response naming another Client-Id is not an answer to
// this merchant, even when Antom's key signed it; the same response naming ours is.
func TestCaptureResponseForAnotherClientID(t *testing.T) {
	antom, _ := rsa.GenerateKey(rand.Reader, 2048)
	merchant, _ := rsa.GenerateKey(rand.Reader, 2048)
	const success = `{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"},"captureId":"c"}`
	for _, tt := range []struct {
		clientID string
		answer   bool
	}{{"C", true}, {"SOMEONE_ELSE", false}} {
		fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ts := time.Now().Format(time.RFC3339)
			sig, err := alipay.Sign(antom, alipay.Message{Method: "POST", Path: r.URL.Path, ClientID: r.Header.Get("Client-Id"), Time: ts, Body: []byte(success)})
			if err != nil {
				t.Error(err)
			}
			w.Header().Set("Client-Id", tt.clientID)
			w.Header().Set("Response-Time", ts)
			w.Header().Set("Signature", "algorithm=RSA256, keyVersion=1, signature="+sig)
			io.WriteString(w, success)
		}))
		c, _ := alipay.NewClient(alipay.Config{ClientID: "C", BaseURL: fake.URL, PrivateKey: merchant, AntomPublicKey: &antom.PublicKey})
		resp, err := capture(t, c, "p", "r", usd10)
		fake.Close()
		switch {
		case tt.answer && (err != nil || resp.Result.ResultStatus != alipay.StatusSuccess):
			t.Errorf("response for our Client-Id: %+v, %v; want the S", resp, err)
		case !tt.answer && (!errors.Is(err, alipay.ErrOutcomeUnknown) || !errors.Is(err, alipay.ErrBadSignature) || resp != nil):
			t.Errorf("response for Client-Id %s: %+v, %v; want no answer (ErrOutcomeUnknown, ErrBadSignature)", tt.clientID, resp, err)
		}
	}
}
