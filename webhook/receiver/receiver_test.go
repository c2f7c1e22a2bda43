package receiver_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/api/serviceerror"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/webhook/receiver"
	"github.com/capturekit/alipay-capture/workflows"
)

var usd10 = alipay.Amount{Currency: "USD", Value: "1000"}

// fakeTemporal records signals and answers with scripted errors (narrow unit tests only; the
// real server is exercised in receiver_server_test.go).
type fakeTemporal struct {
	mu      sync.Mutex
	errs    []error // returned by successive calls, then nil
	calls   int
	signals []*alipay.CaptureNotification
	ids     []string
}

func (f *fakeTemporal) SignalWorkflow(_ context.Context, id, runID, name string, arg any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if name != workflows.SignalNotifyCapture || runID != "" {
		return errors.New("unexpected signal " + name)
	}
	if f.calls <= len(f.errs) && f.errs[f.calls-1] != nil {
		return f.errs[f.calls-1]
	}
	f.ids = append(f.ids, id)
	f.signals = append(f.signals, arg.(*alipay.CaptureNotification))
	return nil
}

type stack struct {
	sim      *alipaytest.Server
	temporal *fakeTemporal
	handler  *receiver.Handler
	srv      *httptest.Server
	client   *alipay.Client
	antomKey *rsa.PrivateKey
	metrics  *prometheus.Registry
}

// metric returns the value of the named counter with the given label value ("" for none).
func (s *stack) metric(t *testing.T, name, label string) float64 {
	t.Helper()
	families, err := s.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if label == "" || (len(m.GetLabel()) > 0 && m.GetLabel()[0].GetValue() == label) {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func newStack(t *testing.T, forward string, errs ...error) *stack {
	t.Helper()
	s := &stack{temporal: &fakeTemporal{errs: errs}}
	s.metrics = prometheus.NewRegistry()
	s.handler = &receiver.Handler{Path: "/alipay/notify", Temporal: s.temporal, ForwardURL: forward,
		Logger: slog.New(slog.DiscardHandler), Metrics: receiver.NewMetrics(s.metrics)}
	s.srv = httptest.NewServer(receiver.Routes(s.handler))
	t.Cleanup(s.srv.Close)
	var err error
	if s.antomKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	s.sim = alipaytest.NewServer(alipaytest.Config{NotifyURL: s.srv.URL + "/alipay/notify", TimeScale: 1e-4, AntomPrivateKey: s.antomKey})
	t.Cleanup(s.sim.Close)
	s.handler.Verifier = alipay.NotificationVerifier{ClientID: s.sim.ClientID(), AntomPublicKey: s.sim.AntomPublicKey()}
	if s.client, err = alipay.NewClient(s.sim.Config()); err != nil {
		t.Fatal(err)
	}
	return s
}

// captureAndWait captures a payment with the scenario and waits until the simulator's
// notification deliveries are over (acknowledged or not).
func (s *stack) captureAndWait(t *testing.T, sc alipaytest.Scenario, done func(alipaytest.Payment) bool) alipaytest.Payment {
	t.Helper()
	p, err := s.sim.Authorize(alipaytest.Authorization{Amount: usd10, Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.Capture(context.Background(), alipay.CaptureRequest{CaptureRequestID: workflows.CaptureRequestID(p.PaymentID, 1), PaymentID: p.PaymentID, CaptureAmount: usd10}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _ := s.sim.Payment(p.PaymentID)
		if done(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("notification deliveries did not finish: %+v", got.Notifications)
		}
		time.Sleep(2 * time.Millisecond) // deliveries run in the simulator's goroutines
	}
}

func acked(p alipaytest.Payment) bool { return len(p.Notifications) > 0 && p.Notifications[0].Acked }

func TestCaptureNotificationIsSignalledThenAcknowledged(t *testing.T) {
	s := newStack(t, "")
	p := s.captureAndWait(t, alipaytest.Scenario{}, acked)
	if len(s.temporal.signals) != 1 || s.temporal.ids[0] != workflows.WorkflowID(p.PaymentID) {
		t.Fatalf("signals %v to %v", s.temporal.signals, s.temporal.ids)
	}
	n := s.temporal.signals[0]
	if !n.Succeeded() || n.CaptureRequestID != p.Captures[0].CaptureRequestID || n.CaptureID != p.Captures[0].CaptureID || n.CaptureAmount != usd10 {
		t.Errorf("signalled %+v for capture %+v", n, p.Captures[0])
	}
	if p.Notifications[0].Attempts != 1 {
		t.Errorf("attempts %d", p.Notifications[0].Attempts)
	}
}

func TestForgedNotificationIsRefusedAndNotSignalled(t *testing.T) {
	s := newStack(t, "")
	p := s.captureAndWait(t, alipaytest.Scenario{BadSignatureNotification: true}, acked)
	rec := p.Notifications[0]
	if !rec.BadSignatureSent || rec.Attempts != 2 || s.temporal.calls != 1 {
		t.Errorf("record %+v, %d signal calls; want the forged delivery refused without a signal", rec, s.temporal.calls)
	}
	// And by hand: a forged body gets 401.
	resp, err := http.Post(s.srv.URL+"/alipay/notify", "application/json", strings.NewReader(`{"notifyType":"CAPTURE_RESULT"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || s.temporal.calls != 1 {
		t.Errorf("unsigned: %d, %d signal calls", resp.StatusCode, s.temporal.calls)
	}
	if bad, malformed := s.metric(t, "alipay_capture_notifications_refused_total", "bad_signature"),
		s.metric(t, "alipay_capture_notifications_refused_total", "malformed"); bad != 1 || malformed != 1 {
		t.Errorf("refused{bad_signature} = %v and {malformed} = %v, want 1 each (the forged delivery; the post without headers)", bad, malformed)
	}
	if got := s.metric(t, "alipay_capture_notifications_signalled_total", "S"); got != 1 {
		t.Errorf("signalled{S} = %v, want 1", got)
	}
}

func TestTemporalUnavailableMeans5xxAndAntomResends(t *testing.T) {
	s := newStack(t, "", serviceerror.NewUnavailable("frontend down"), context.DeadlineExceeded)
	p := s.captureAndWait(t, alipaytest.Scenario{}, acked)
	if rec := p.Notifications[0]; rec.Attempts != 3 {
		t.Errorf("attempts %d, want 2 refused with 5xx and one acknowledged", rec.Attempts)
	}
	if len(s.temporal.signals) != 1 {
		t.Errorf("%d signals recorded", len(s.temporal.signals))
	}
	if got := s.metric(t, "alipay_capture_notifications_signal_failed_total", ""); got != 2 {
		t.Errorf("signal_failed = %v, want 2", got)
	}
}

func TestNotificationForNoRunningWorkflowIsAcknowledged(t *testing.T) {
	s := newStack(t, "", serviceerror.NewNotFound("workflow execution already completed"))
	p := s.captureAndWait(t, alipaytest.Scenario{}, acked)
	if p.Notifications[0].Attempts != 1 {
		t.Errorf("attempts %d: a finished workflow must not cause resends", p.Notifications[0].Attempts)
	}
	if got := s.metric(t, "alipay_capture_notifications_orphaned_total", ""); got != 1 {
		t.Errorf("orphaned = %v, want 1", got)
	}
}

// signed builds a notification signed with the simulator's Antom key, as Antom would send it.
func (s *stack) signedPost(t *testing.T, body string) *http.Response {
	t.Helper()
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	sig, err := alipay.Sign(s.antomKey, alipay.Message{Method: "POST", Path: "/alipay/notify", ClientID: s.sim.ClientID(), Time: ts, Body: []byte(body)})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", s.srv.URL+"/alipay/notify", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	req.Header.Set("Client-Id", s.sim.ClientID())
	req.Header.Set("Request-Time", ts)
	req.Header.Set("Signature", "algorithm=RSA256,keyVersion=1,signature="+sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

const paymentResult = `{"notifyType":"PAYMENT_RESULT","paymentId":"P1","result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}`

func TestOtherNotificationsAreRefusedWithoutForward(t *testing.T) {
	s := newStack(t, "")
	resp := s.signedPost(t, paymentResult)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented || s.temporal.calls != 0 {
		t.Errorf("status %d, %d signals", resp.StatusCode, s.temporal.calls)
	}
}

func TestOtherNotificationsAreRelayed(t *testing.T) {
	var got *http.Request
	var gotBody []byte
	downstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		gotBody, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"downstream":true}`)
	}))
	defer downstream.Close()
	s := newStack(t, downstream.URL+"/payments")
	resp := s.signedPost(t, paymentResult)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || string(body) != `{"downstream":true}` {
		t.Errorf("relayed answer %d %s", resp.StatusCode, body)
	}
	if got == nil || !bytes.Equal(gotBody, []byte(paymentResult)) || got.Header.Get("Signature") == "" || got.Header.Get("Client-Id") != s.sim.ClientID() {
		t.Errorf("downstream got %v %s", got, gotBody)
	}
}

func TestBadHTTPInput(t *testing.T) {
	s := newStack(t, "")
	big := bytes.Repeat([]byte("x"), receiver.MaxBody+1)
	resp, err := http.Post(s.srv.URL+"/alipay/notify", "application/json", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("too large: %d", resp.StatusCode)
	}
	resp, _ = http.Get(s.srv.URL + "/alipay/notify")
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
	resp, _ = http.Get(s.srv.URL + "/healthz")
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz: %d", resp.StatusCode)
	}
	if s.temporal.calls != 0 {
		t.Errorf("%d signals", s.temporal.calls)
	}
}
