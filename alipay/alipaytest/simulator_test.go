package alipaytest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
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

// receiver is a merchant notification endpoint: it verifies what arrives with Antom's public
// key and refuses the first failFirst valid deliveries with HTTP 500.
type receiver struct {
	t        *testing.T
	verifier interface {
		Verify(method, path string, header http.Header, body []byte) (*alipay.Notification, error)
	}
	failFirst int
	mu        sync.Mutex
	valid     int
	refused   int
	got       chan *alipay.CaptureNotification
	srv       *httptest.Server
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	r := &receiver{t: t, failFirst: failFirst, got: make(chan *alipay.CaptureNotification, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		n, err := r.verifier.Verify(req.Method, req.URL.Path, req.Header, body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil {
			r.refused++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		r.valid++
		if r.valid <= r.failFirst {
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		c, err := n.Capture()
		if err != nil {
			t.Errorf("bad capture notification: %v", err)
		}
		r.got <- c
		alipay.WriteAck(w)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) url() string { return r.srv.URL + "/alipay/notify" }

func (r *receiver) next(t *testing.T) *alipay.CaptureNotification {
	t.Helper()
	select {
	case c := <-r.got:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no notification arrived")
		return nil
	}
}

func (r *receiver) counts() (valid, refused int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.valid, r.refused
}

// start returns a simulator notifying rec, with scale making Antom's 24-hour resend schedule
// last scale×24h, and a client for it.
func start(t *testing.T, rec *receiver, scale float64) (*alipaytest.Server, *alipay.Client) {
	t.Helper()
	cfg := alipaytest.Config{TimeScale: scale}
	if rec != nil {
		cfg.NotifyURL = rec.url()
	}
	sim := alipaytest.NewServer(cfg)
	t.Cleanup(sim.Close)
	if rec != nil {
		rec.verifier = alipay.NotificationVerifier{ClientID: sim.ClientID(), AntomPublicKey: sim.AntomPublicKey()}
	}
	c, err := alipay.NewClient(sim.Config())
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

func captureOnce(t *testing.T, sim *alipaytest.Server, c *alipay.Client, sc alipaytest.Scenario) (string, *alipay.CaptureResponse) {
	t.Helper()
	p, err := sim.Authorize(alipaytest.Authorization{Amount: usd10, Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Capture(context.Background(), alipay.CaptureRequest{CaptureRequestID: "req-" + p.PaymentID, PaymentID: p.PaymentID, CaptureAmount: usd10})
	if err != nil {
		t.Fatal(err)
	}
	return p.PaymentID, resp
}

// waitLedger polls the simulator's ledger until ok holds: deliveries finish asynchronously.
func waitLedger(t *testing.T, sim *alipaytest.Server, id string, ok func(alipaytest.Payment) bool) alipaytest.Payment {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, _ := sim.Payment(id)
		if ok(p) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("ledger never reached the expected state: %+v", p)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func acked(p alipaytest.Payment) bool {
	if len(p.Notifications) == 0 {
		return false
	}
	for _, n := range p.Notifications {
		if !n.Acked {
			return false
		}
	}
	return true
}

func TestNotifyCaptureOnSuccess(t *testing.T) {
	rec := newReceiver(t, 0)
	sim, c := start(t, rec, 1e-4)
	id, resp := captureOnce(t, sim, c, alipaytest.Scenario{})
	n := rec.next(t)
	if !n.Succeeded() || n.PaymentID != id || n.CaptureRequestID != "req-"+id || n.CaptureID != resp.CaptureID || n.CaptureAmount != usd10 {
		t.Fatalf("notification %+v for response %+v", n, resp)
	}
	p := waitLedger(t, sim, id, acked)
	if p.Notifications[0].Attempts != 1 {
		t.Errorf("attempts %d, want 1", p.Notifications[0].Attempts)
	}
}

func TestNotifyAfterInProcess(t *testing.T) {
	rec := newReceiver(t, 0)
	sim, c := start(t, rec, 1e-4)
	for _, to := range []string{"S", "F"} {
		id, resp := captureOnce(t, sim, c, alipaytest.Scenario{Result: "U", ResolveTo: to, FailCode: "PROCESS_FAIL", ResolveAfter: alipaytest.Duration(10 * time.Minute)})
		if resp.Result.ResultCode != alipay.CodeCaptureInProcess {
			t.Fatalf("first answer %v", resp.Result)
		}
		n := rec.next(t)
		if n.PaymentID != id || n.Result.ResultStatus != to {
			t.Fatalf("notification %+v, want %s for %s", n, to, id)
		}
		if to == "F" && n.Result.ResultCode != "PROCESS_FAIL" {
			t.Errorf("failure code %s", n.Result.ResultCode)
		}
	}
}

func TestNotifyResentUntilAcknowledged(t *testing.T) {
	rec := newReceiver(t, 3)
	sim, c := start(t, rec, 1e-5)
	id, _ := captureOnce(t, sim, c, alipaytest.Scenario{})
	rec.next(t)
	p := waitLedger(t, sim, id, acked)
	if p.Notifications[0].Attempts != 4 {
		t.Errorf("attempts %d, want 4 (3 refused, then acknowledged)", p.Notifications[0].Attempts)
	}
}

func TestNotifyGivesUpAfterAntomSchedule(t *testing.T) {
	rec := newReceiver(t, 1000)
	sim, c := start(t, rec, 1e-5) // 24 h 22 min of schedule in under a second
	id, _ := captureOnce(t, sim, c, alipaytest.Scenario{})
	p := waitLedger(t, sim, id, func(p alipaytest.Payment) bool {
		return len(p.Notifications) == 1 && p.Notifications[0].Attempts == len(alipaytest.ResendSchedule)
	})
	if p.Notifications[0].Acked || p.Notifications[0].LastStatus != 500 {
		t.Errorf("record %+v", p.Notifications[0])
	}
	sim.Close() // waits for the delivery goroutine: no ninth attempt may follow
	if valid, _ := rec.counts(); valid != 8 {
		t.Errorf("receiver saw %d deliveries, want 8", valid)
	}
}

func TestNotifyDuplicatesAndBadSignature(t *testing.T) {
	rec := newReceiver(t, 0)
	sim, c := start(t, rec, 1e-4)
	id, _ := captureOnce(t, sim, c, alipaytest.Scenario{DuplicateNotifications: 2, BadSignatureNotification: true})
	for i := 0; i < 3; i++ {
		if n := rec.next(t); n.PaymentID != id {
			t.Fatalf("notification for %s", n.PaymentID)
		}
	}
	p := waitLedger(t, sim, id, acked)
	if len(p.Notifications) != 3 {
		t.Fatalf("%d notification records, want 3", len(p.Notifications))
	}
	for _, n := range p.Notifications {
		if !n.BadSignatureSent || n.Attempts != 2 {
			t.Errorf("record %+v: want a refused forged delivery, then an acknowledged one", n)
		}
	}
	if _, refused := rec.counts(); refused != 3 {
		t.Errorf("receiver refused %d deliveries, want 3", refused)
	}
}

func TestNoNotify(t *testing.T) {
	rec := newReceiver(t, 0)
	sim, c := start(t, rec, 1e-4)
	id, _ := captureOnce(t, sim, c, alipaytest.Scenario{NoNotify: true})
	sim.Close()
	if p, _ := sim.Payment(id); len(p.Notifications) != 0 {
		t.Errorf("notifications %+v", p.Notifications)
	}
	if valid, refused := rec.counts(); valid+refused != 0 {
		t.Errorf("receiver got %d deliveries", valid+refused)
	}
}

func TestBadRequestSignatureGetsUnsignedSignatureInvalid(t *testing.T) {
	sim, _ := start(t, nil, 1)
	body := []byte(`{"captureRequestId":"r","paymentId":"p","captureAmount":{"currency":"USD","value":"1"}}`)
	req, _ := http.NewRequest("POST", sim.URL+alipay.PathCapture, bytes.NewReader(body))
	req.Header.Set("Client-Id", sim.ClientID())
	req.Header.Set("Request-Time", "1")
	req.Header.Set("Signature", "algorithm=RSA256,keyVersion=1,signature=AAAA")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Result alipay.Result }
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if out.Result.ResultCode != alipay.CodeSignatureInvalid || resp.Header.Get("Signature") != "" {
		t.Fatalf("result %v, signature header %q", out.Result, resp.Header.Get("Signature"))
	}
}

func TestUnknownClientID(t *testing.T) {
	sim, _ := start(t, nil, 1)
	cfg := sim.Config()
	cfg.ClientID = "SOMEONE_ELSE"
	c, _ := alipay.NewClient(cfg)
	resp, err := c.InquiryPayment(context.Background(), alipay.InquiryRequest{PaymentID: "x"})
	if err != nil || resp.Result.ResultCode != alipay.CodeKeyNotFound {
		t.Fatalf("%+v, %v", resp, err)
	}
}

func TestAuthorizeValidates(t *testing.T) {
	sim, _ := start(t, nil, 1)
	for name, a := range map[string]alipaytest.Authorization{
		"bad amount":   {Amount: alipay.Amount{Currency: "USD", Value: "1.00"}},
		"bad result":   {Amount: usd10, Scenario: alipaytest.Scenario{Result: "X"}},
		"bad resolve":  {Amount: usd10, Scenario: alipaytest.Scenario{Result: "U", ResolveTo: "U"}},
		"resolve on S": {Amount: usd10, Scenario: alipaytest.Scenario{ResolveTo: "S"}},
		"negative":     {Amount: usd10, Scenario: alipaytest.Scenario{ServerErrorCalls: -1}},
		"long id":      {Amount: usd10, PaymentID: strings.Repeat("p", 65)},
	} {
		if _, err := sim.Authorize(a); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := sim.Authorize(alipaytest.Authorization{PaymentID: "dup", Amount: usd10}); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Authorize(alipaytest.Authorization{PaymentID: "dup", Amount: usd10}); err == nil {
		t.Error("duplicate payment id accepted")
	}
}

func TestDefaultExpiryIsScaledWeek(t *testing.T) {
	sim, _ := start(t, nil, 1.0/3600) // an hour is a second
	now := time.Now()
	p, err := sim.Authorize(alipaytest.Authorization{Amount: usd10, AuthorizedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	want := now.Add(168 * time.Second)
	if d := p.AuthExpiryTime.Sub(want); d < -time.Second || d > time.Second {
		t.Errorf("authExpiryTime %v, want about %v", p.AuthExpiryTime, want)
	}
}

func TestAdminAPI(t *testing.T) {
	sim, c := start(t, nil, 1)
	post := func(path, body string) (*http.Response, []byte) {
		resp, err := http.Post(sim.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, b := post("/admin/payments", `{"paymentId":"ADMIN1","amount":{"currency":"USD","value":"1000"},"scenario":{"result":"U","resolveAfter":"1h"}}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	var p alipaytest.Payment
	if err := json.Unmarshal(b, &p); err != nil || p.PaymentID != "ADMIN1" || p.Scenario.Result != "U" || time.Duration(p.Scenario.ResolveAfter) != time.Hour {
		t.Fatalf("created %+v, %v", p, err)
	}
	for _, bad := range []string{`{"amount":{"currency":"USD","value":"ten"}}`, `{"amount":{"currency":"USD","value":"1"},"unknown":1}`, `{`} {
		if resp, b := post("/admin/payments", bad); resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "error") {
			t.Errorf("create %s: %d %s", bad, resp.StatusCode, b)
		}
	}
	if resp, _ := post("/admin/payments/ADMIN1/resolve", `{"status":"S"}`); resp.StatusCode != http.StatusConflict {
		t.Errorf("resolve with nothing in process: %d", resp.StatusCode)
	}
	if _, err := c.Capture(context.Background(), alipay.CaptureRequest{CaptureRequestID: "a1", PaymentID: "ADMIN1", CaptureAmount: usd10}); err != nil {
		t.Fatal(err)
	}
	if resp, b := post("/admin/payments/ADMIN1/resolve", `{"status":"S"}`); resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"capturesSucceeded":1`) {
		t.Errorf("resolve: %d %s", resp.StatusCode, b)
	}
	if resp, _ := post("/admin/payments/NOPE/resolve", `{"status":"S"}`); resp.StatusCode != http.StatusNotFound {
		t.Errorf("resolve unknown: %d", resp.StatusCode)
	}
	get := func(path string) (int, []byte) {
		resp, err := http.Get(sim.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, b := get("/admin/payments/ADMIN1"); code != 200 || !strings.Contains(string(b), `"capturesExecuted":1`) || !strings.Contains(string(b), `"state":"CAPTURED"`) {
		t.Errorf("get: %d %s", code, b)
	}
	if code, _ := get("/admin/payments/NOPE"); code != 404 {
		t.Errorf("get unknown: %d", code)
	}
	if code, b := get("/admin/payments"); code != 200 || !strings.Contains(string(b), "ADMIN1") {
		t.Errorf("list: %d %s", code, b)
	}
	code, b := get("/admin/public-key")
	if code != 200 {
		t.Fatalf("public key: %d", code)
	}
	k, err := alipay.ParsePublicKey(string(b))
	if err != nil || !k.Equal(sim.AntomPublicKey()) {
		t.Errorf("public key does not parse to the simulator's: %v", err)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("healthz: %d", code)
	}
}

// TestMoneyTruthScenarios: the scenarios that test the workflow's money-truth rules behave as
// their documentation says.
func TestMoneyTruthScenarios(t *testing.T) {
	srv := alipaytest.NewServer(alipaytest.Config{})
	defer srv.Close()
	c, err := alipay.NewClient(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	capture := func(pid string, amt alipay.Amount) (*alipay.CaptureResponse, error) {
		return c.Capture(ctx, alipay.CaptureRequest{CaptureRequestID: pid + "-cap-1", PaymentID: pid, CaptureAmount: amt})
	}
	authorize := func(sc alipaytest.Scenario) string {
		p, err := srv.Authorize(alipaytest.Authorization{Amount: usd10, Scenario: sc})
		if err != nil {
			t.Fatal(err)
		}
		return p.PaymentID
	}

	// Unsigned responses: the answer cannot be trusted, but the capture took effect.
	pid := authorize(alipaytest.Scenario{UnsignedResponses: 1})
	if _, err := capture(pid, usd10); !errors.Is(err, alipay.ErrOutcomeUnknown) {
		t.Errorf("unsigned response: %v, want ErrOutcomeUnknown", err)
	}
	if resp, err := capture(pid, usd10); err != nil || resp.Result.ResultStatus != alipay.StatusSuccess {
		t.Errorf("signed repeat: %+v, %v", resp, err)
	}
	if p, _ := srv.Payment(pid); p.CapturesSucceeded != 1 || p.CaptureCalls != 2 {
		t.Errorf("ledger %+v", p)
	}

	// A repeat answered F, while the capture stands.
	pid = authorize(alipaytest.Scenario{RepeatFailCode: alipay.CodeSystemError})
	if resp, err := capture(pid, usd10); err != nil || resp.Result.ResultStatus != alipay.StatusSuccess {
		t.Fatalf("first: %+v, %v", resp, err)
	}
	if resp, err := capture(pid, usd10); err != nil || resp.Result.ResultCode != alipay.CodeSystemError {
		t.Errorf("repeat: %+v, %v, want F SYSTEM_ERROR", resp, err)
	}
	if p, _ := srv.Payment(pid); p.CapturesSucceeded != 1 {
		t.Errorf("ledger %+v", p)
	}

	// A first answer F, while the capture stands; the repeat tells the truth.
	pid = authorize(alipaytest.Scenario{FalseFailCode: alipay.CodeProcessFail})
	if resp, err := capture(pid, usd10); err != nil || resp.Result.ResultStatus != alipay.StatusFail || resp.Result.ResultCode != alipay.CodeProcessFail {
		t.Errorf("false answer: %+v, %v, want F PROCESS_FAIL", resp, err)
	}
	if resp, err := capture(pid, usd10); err != nil || resp.Result.ResultStatus != alipay.StatusSuccess {
		t.Errorf("repeat after the false answer: %+v, %v", resp, err)
	}
	if p, _ := srv.Payment(pid); p.CapturesSucceeded != 1 {
		t.Errorf("ledger %+v", p)
	}

	// Another amount captured than requested.
	usd9 := alipay.Amount{Currency: "USD", Value: "900"}
	pid = authorize(alipaytest.Scenario{CapturedAmount: usd9})
	if resp, err := capture(pid, usd10); err != nil || resp.CaptureAmount != usd9 {
		t.Errorf("captured amount: %+v, %v", resp, err)
	}
	if resp, err := capture(pid, usd10); err != nil || resp.Result.ResultStatus != alipay.StatusSuccess {
		t.Errorf("repeat of the same request: %+v, %v", resp, err)
	}
}

// TestNotifyFaults: dropped deliveries never arrive; delayed ones arrive late and their
// acknowledgement is ignored, while resends go on on Antom's schedule.
func TestNotifyFaults(t *testing.T) {
	rec := newReceiver(t, 0)
	sim := alipaytest.NewServer(alipaytest.Config{NotifyURL: rec.url(), TimeScale: 1e-5, NotifyFaults: alipaytest.NotifyFaults{DropRate: 1}})
	rec.verifier = alipay.NotificationVerifier{ClientID: sim.ClientID(), AntomPublicKey: sim.AntomPublicKey()}
	c, err := alipay.NewClient(sim.Config())
	if err != nil {
		t.Fatal(err)
	}
	id, _ := captureOnce(t, sim, c, alipaytest.Scenario{})
	p := waitLedger(t, sim, id, func(p alipaytest.Payment) bool {
		return len(p.Notifications) == 1 && p.Notifications[0].Attempts == len(alipaytest.ResendSchedule)
	})
	sim.Close()
	if n := p.Notifications[0]; n.Acked || n.Dropped != len(alipaytest.ResendSchedule) {
		t.Errorf("all dropped: %+v", n)
	}
	if valid, _ := rec.counts(); valid != 0 {
		t.Errorf("%d dropped deliveries arrived", valid)
	}

	rec = newReceiver(t, 0)
	sim = alipaytest.NewServer(alipaytest.Config{NotifyURL: rec.url(), TimeScale: 1e-5, NotifyFaults: alipaytest.NotifyFaults{DelayRate: 1, Delay: 50 * time.Millisecond}})
	rec.verifier = alipay.NotificationVerifier{ClientID: sim.ClientID(), AntomPublicKey: sim.AntomPublicKey()}
	if c, err = alipay.NewClient(sim.Config()); err != nil {
		t.Fatal(err)
	}
	id, _ = captureOnce(t, sim, c, alipaytest.Scenario{})
	rec.next(t) // a delayed delivery still arrives
	p = waitLedger(t, sim, id, func(p alipaytest.Payment) bool {
		return len(p.Notifications) == 1 && p.Notifications[0].Attempts == len(alipaytest.ResendSchedule)
	})
	if n := p.Notifications[0]; n.Acked || n.Delayed != len(alipaytest.ResendSchedule) {
		t.Errorf("all delayed: %+v", n)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) { // late deliveries run in their own goroutines
		if valid, _ := rec.counts(); valid == len(alipaytest.ResendSchedule) {
			break
		}
		if time.Now().After(deadline) {
			valid, _ := rec.counts()
			t.Fatalf("%d delayed deliveries arrived, want all %d", valid, len(alipaytest.ResendSchedule))
		}
	}
	sim.Close()
	if p, _ := sim.Payment(id); p.Notifications[0].Acked {
		t.Error("a late delivery's acknowledgement counted")
	}
}

// TestPartialCaptures: a payment whose method allows partial captures takes several, in total at
// most the authorized amount, until a last capture (or the rest) closes it; a one-time payment
// takes its full amount once (spec §4).
func TestPartialCaptures(t *testing.T) {
	sim, c := start(t, nil, 1)
	ctx := context.Background()
	capture := func(pid, id, usd string, last *bool) alipay.Result {
		t.Helper()
		resp, err := c.Capture(ctx, alipay.CaptureRequest{CaptureRequestID: id, PaymentID: pid,
			CaptureAmount: alipay.MustParseDecimal("USD", usd), IsLastCapture: last})
		if err != nil {
			t.Fatalf("capture %s: %v", id, err)
		}
		return resp.Result
	}
	code := func(r alipay.Result) string { return r.ResultStatus + " " + r.ResultCode }

	t.Run("split shipment closed by isLastCapture", func(t *testing.T) {
		p, err := sim.Authorize(alipaytest.Authorization{Amount: usd10, PartialCaptures: true})
		if err != nil {
			t.Fatal(err)
		}
		if r := capture(p.PaymentID, p.PaymentID+"-cap-1", "4.00", alipay.Bool(false)); code(r) != "S SUCCESS" {
			t.Fatalf("first partial: %v", r)
		}
		if l, _ := sim.Payment(p.PaymentID); l.State != alipaytest.StatePartiallyCaptured || l.Captured.Value != "400" {
			t.Errorf("after 4.00: %s, captured %v", l.State, l.Captured)
		}
		if r := capture(p.PaymentID, p.PaymentID+"-cap-2", "7.00", nil); code(r) != "F "+alipay.CodeCaptureAmountExceed {
			t.Errorf("more than the remaining 6.00: %v", r)
		}
		if r := capture(p.PaymentID, p.PaymentID+"-cap-3", "3.00", alipay.Bool(true)); code(r) != "S SUCCESS" {
			t.Fatalf("last: %v", r)
		}
		l, _ := sim.Payment(p.PaymentID)
		if l.State != alipaytest.StateCaptured || l.Captured.Value != "700" || l.CapturesSucceeded != 2 {
			t.Errorf("after the last capture: %s, captured %v, %d succeeded", l.State, l.Captured, l.CapturesSucceeded)
		}
		if r := capture(p.PaymentID, p.PaymentID+"-cap-4", "1.00", nil); code(r) != "F "+alipay.CodeOrderStatusInvalid {
			t.Errorf("after the last capture: %v", r)
		}
	})

	t.Run("capturing the rest closes it", func(t *testing.T) {
		p, _ := sim.Authorize(alipaytest.Authorization{Amount: usd10, PartialCaptures: true})
		capture(p.PaymentID, p.PaymentID+"-cap-1", "6.00", nil)
		capture(p.PaymentID, p.PaymentID+"-cap-2", "4.00", nil)
		if l, _ := sim.Payment(p.PaymentID); l.State != alipaytest.StateCaptured || l.Captured != usd10 {
			t.Errorf("%s, captured %v", l.State, l.Captured)
		}
	})

	t.Run("count limit", func(t *testing.T) {
		p, _ := sim.Authorize(alipaytest.Authorization{Amount: usd10, PartialCaptures: true, MaxCaptures: 1})
		capture(p.PaymentID, p.PaymentID+"-cap-1", "1.00", nil)
		if r := capture(p.PaymentID, p.PaymentID+"-cap-2", "1.00", nil); code(r) != "F "+alipay.CodePaymentCountExceedLimit {
			t.Errorf("second capture over the limit: %v", r)
		}
	})

	t.Run("one-time payment: the full amount, once", func(t *testing.T) {
		p, _ := sim.Authorize(alipaytest.Authorization{Amount: usd10})
		if r := capture(p.PaymentID, p.PaymentID+"-cap-1", "4.00", alipay.Bool(false)); code(r) != "F "+alipay.CodeMultiCaptureNotSupport {
			t.Errorf("partial capture of a one-time payment: %v", r)
		}
		if r := capture(p.PaymentID, p.PaymentID+"-cap-2", "10.00", nil); code(r) != "S SUCCESS" {
			t.Fatalf("full capture after the refused partial one: %v", r)
		}
		if r := capture(p.PaymentID, p.PaymentID+"-cap-3", "10.00", nil); code(r) != "F "+alipay.CodeMultiCaptureNotSupport {
			t.Errorf("second capture: %v", r)
		}
	})

	t.Run("no cancel after a partial capture", func(t *testing.T) {
		p, _ := sim.Authorize(alipaytest.Authorization{Amount: usd10, PartialCaptures: true})
		capture(p.PaymentID, p.PaymentID+"-cap-1", "1.00", nil)
		resp, err := c.Cancel(ctx, alipay.CancelRequest{PaymentID: p.PaymentID})
		if err != nil || code(resp.Result) != "F "+alipay.CodeOrderStatusInvalid {
			t.Errorf("cancel after a partial capture: %+v, %v", resp, err)
		}
	})

	if _, err := sim.Authorize(alipaytest.Authorization{Amount: usd10, MaxCaptures: 2}); err == nil {
		t.Error("maxCaptures without partialCaptures accepted")
	}
}

// TestSeveralAccounts: each merchant account has its own Client-Id and key pairs. An account
// never sees another's payments, responses are signed with the account's Antom key, and its
// notifications carry its Client-Id and verify only with its Antom key.
func TestSeveralAccounts(t *testing.T) {
	rec := newReceiver(t, 0)
	sim := alipaytest.NewServer(alipaytest.Config{NotifyURL: rec.url(), Accounts: []alipaytest.Account{{ClientID: "EU"}}})
	t.Cleanup(sim.Close)
	cfgA, cfgB := sim.Config(), sim.ConfigFor("EU")
	if cfgA.AntomPublicKey.Equal(cfgB.AntomPublicKey) || cfgA.PrivateKey.Equal(cfgB.PrivateKey) {
		t.Fatal("the two accounts share keys")
	}
	rec.verifier = alipay.NotificationVerifiers{
		{Merchant: "default", ClientID: cfgA.ClientID, AntomPublicKey: cfgA.AntomPublicKey},
		{Merchant: "europe", ClientID: "EU", AntomPublicKey: cfgB.AntomPublicKey},
	}
	clientA, _ := alipay.NewClient(cfgA)
	clientB, _ := alipay.NewClient(cfgB)
	ctx := context.Background()

	p, err := sim.Authorize(alipaytest.Authorization{ClientID: "EU", Amount: usd10, Scenario: alipaytest.Scenario{Result: "U", ResolveTo: "S"}})
	if err != nil || p.ClientID != "EU" {
		t.Fatalf("%+v, %v", p, err)
	}
	if resp, err := clientA.InquiryPayment(ctx, alipay.InquiryRequest{PaymentID: p.PaymentID}); err != nil || resp.Result.ResultCode != alipay.CodeOrderNotExist {
		t.Errorf("the other account's inquiry: %+v, %v", resp, err)
	}
	req := alipay.CaptureRequest{CaptureRequestID: p.PaymentID + "-cap-1", PaymentID: p.PaymentID, CaptureAmount: usd10}
	if resp, err := clientA.Capture(ctx, req); err != nil || resp.Result.ResultCode != alipay.CodeAuthNotFound {
		t.Errorf("the other account's capture: %+v, %v", resp, err)
	}
	wrongKey := cfgB
	wrongKey.AntomPublicKey = cfgA.AntomPublicKey
	if c, _ := alipay.NewClient(wrongKey); c != nil {
		if _, err := c.InquiryPayment(ctx, alipay.InquiryRequest{PaymentID: p.PaymentID}); err == nil {
			t.Error("a response of the second account verified with the first account's Antom key")
		}
	}
	if resp, err := clientB.Capture(ctx, req); err != nil || resp.Result.ResultStatus != alipay.StatusUnknown {
		t.Fatalf("the account's capture: %+v, %v", resp, err)
	}
	if n := rec.next(t); !n.Succeeded() || n.PaymentID != p.PaymentID {
		t.Errorf("notification %+v", n)
	}
	if valid, refused := rec.counts(); valid != 1 || refused != 0 {
		t.Errorf("%d valid, %d refused notifications", valid, refused)
	}
}
