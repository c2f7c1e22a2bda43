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
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/webhook/receiver"
	"github.com/capturekit/alipay-capture/workflows"
)

var usd10 = alipay.Amount{Currency: "USD", Value: "1000"}

// fakeTemporal records signals and answers with scripted errors (narrow unit tests only; the
// real server is exercised in server_test.go).
type fakeTemporal struct {
	mu      sync.Mutex
	errs    []error // returned by successive calls, then nil
	calls   int
	signals []workflows.Notification
	ids     []string
	// closed, if set, describes the finished workflow; nil answers NotFound (never ran).
	closed  *workflowpb.WorkflowExecutionInfo
	final   func(paymentID string) workflows.Status // the closed run's result
	started []client.StartWorkflowOptions
	inputs  []workflows.ReconcileInput
	// describeErr, resultErr and startErr fail the first describe, read of the closed run's
	// result and start of a reconciliation workflow, once each.
	describeErr, resultErr, startErr error
	reads                            int // results read
	// running, if set, answers the status query of a running capture; nil: no worker answers.
	running func(paymentID string) workflows.Status
	queries int
}

func (f *fakeTemporal) QueryWorkflow(_ context.Context, id, _, query string, _ ...any) (converter.EncodedValue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries++
	if f.running == nil || query != workflows.QueryStatus {
		return nil, context.DeadlineExceeded
	}
	return statusValue(f.running(strings.TrimPrefix(id, "capture/"))), nil
}

// statusValue is a query's answer holding a Status.
type statusValue workflows.Status

func (v statusValue) HasValue() bool { return true }
func (v statusValue) Get(p any) error {
	*p.(*workflows.Status) = workflows.Status(v)
	return nil
}

// once returns *err and clears it.
func once(err *error) error {
	e := *err
	*err = nil
	return e
}

func (f *fakeTemporal) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := once(&f.describeErr); err != nil {
		return nil, err
	}
	if f.closed == nil {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: f.closed}, nil
}

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := once(&f.startErr); err != nil {
		return nil, err
	}
	f.started = append(f.started, o)
	f.inputs = append(f.inputs, args[0].(workflows.ReconcileInput))
	return nil, nil
}

// finished makes f answer for a capture workflow closed in state, whose one record is reqID
// ("" for the payment's capture under workflows.StartKey).
func (f *fakeTemporal) finished(state workflows.State, reqID string) {
	f.closed = &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: "capture/x", RunId: "run-1"},
		Status:    enumspb.WORKFLOW_EXECUTION_STATUS_FAILED,
	}
	f.final = func(paymentID string) workflows.Status {
		id := reqID
		if id == "" {
			id = workflows.CaptureRequestID(paymentID, workflows.StartKey)
		}
		rec := workflows.CaptureRecord{Seq: 1, Key: workflows.StartKey, CaptureRequestID: id, State: state}
		if state == workflows.StateCaptured {
			rec.CapturedAmount = usd10
		}
		return workflows.Status{State: state, PaymentID: paymentID, CaptureRequestID: id, Captures: []workflows.CaptureRecord{rec}}
	}
}

func (f *fakeTemporal) GetWorkflow(_ context.Context, id, runID string) client.WorkflowRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return fakeRun{id: id, runID: runID, st: f.final(strings.TrimPrefix(id, "capture/")), err: once(&f.resultErr)}
}

// fakeRun is a closed run whose result is st, or err.
type fakeRun struct {
	id, runID string
	st        workflows.Status
	err       error
}

func (r fakeRun) GetID() string                  { return r.id }
func (r fakeRun) GetRunID() string               { return r.runID }
func (r fakeRun) GetFirstExecutionRunID() string { return r.runID }
func (r fakeRun) Get(_ context.Context, v any) error {
	if r.err != nil {
		return r.err
	}
	*v.(*workflows.Status) = r.st
	return nil
}
func (r fakeRun) GetWithOptions(ctx context.Context, v any, _ client.WorkflowRunGetOptions) error {
	return r.Get(ctx, v)
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
	f.signals = append(f.signals, arg.(workflows.Notification))
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
			match := label == ""
			for _, l := range m.GetLabel() {
				match = match || (l.GetName() != "merchant" && l.GetValue() == label)
			}
			if match {
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
	if _, err := s.client.Capture(context.Background(), alipay.CaptureRequest{CaptureRequestID: workflows.CaptureRequestID(p.PaymentID, workflows.StartKey), PaymentID: p.PaymentID, CaptureAmount: usd10}); err != nil {
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

// TestNotificationForAFinishedCapture: a result that agrees with the finished capture is
// acknowledged; one that contradicts it is recorded as a reconciliation workflow, then
// acknowledged (docs/design.md, rule 7).
func TestNotificationForAFinishedCapture(t *testing.T) {
	for _, tt := range []struct {
		name        string
		scenario    alipaytest.Scenario
		state       workflows.State
		otherID     bool
		contradicts bool
	}{
		{"S for CAPTURED", alipaytest.Scenario{}, workflows.StateCaptured, false, false},
		{"F for FAILED", alipaytest.Scenario{Result: "F"}, workflows.StateFailed, false, false},
		{"S for EXPIRED", alipaytest.Scenario{}, workflows.StateExpired, false, true},
		{"S for FAILED", alipaytest.Scenario{}, workflows.StateFailed, false, true},
		{"F for CAPTURED", alipaytest.Scenario{Result: "F"}, workflows.StateCaptured, false, true},
		{"S of another request for CAPTURED", alipaytest.Scenario{}, workflows.StateCaptured, true, true},
		{"F of another request for CAPTURED", alipaytest.Scenario{Result: "F"}, workflows.StateCaptured, true, false},
		{"F for EXPIRED", alipaytest.Scenario{Result: "F"}, workflows.StateExpired, false, false},
		{"F for CANCELLED", alipaytest.Scenario{Result: "F"}, workflows.StateCancelled, false, false},
		{"F for UNRESOLVED", alipaytest.Scenario{Result: "F"}, workflows.StateUnresolved, false, true},
		{"S of another amount for CAPTURED", alipaytest.Scenario{CapturedAmount: alipay.Amount{Currency: "USD", Value: "999"}}, workflows.StateCaptured, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, "", serviceerror.NewNotFound("workflow execution already completed"))
			s.temporal.finished(tt.state, "")
			if tt.otherID {
				s.temporal.finished(tt.state, "OTHER-cap-2")
			}
			p := s.captureAndWait(t, tt.scenario, acked)
			if p.Notifications[0].Attempts != 1 {
				t.Errorf("attempts %d: a finished workflow must not cause resends", p.Notifications[0].Attempts)
			}
			orphaned, contradicting := s.metric(t, "alipay_capture_notifications_orphaned_total", ""), s.metric(t, "alipay_capture_notifications_contradicting_total", "")
			if !tt.contradicts {
				if orphaned != 1 || contradicting != 0 || len(s.temporal.started) != 0 {
					t.Errorf("orphaned %v, contradicting %v, %d started; want an acknowledged duplicate", orphaned, contradicting, len(s.temporal.started))
				}
				return
			}
			if contradicting != 1 || len(s.temporal.started) != 1 {
				t.Fatalf("contradicting %v, %d reconciliations started", contradicting, len(s.temporal.started))
			}
			o, in := s.temporal.started[0], s.temporal.inputs[0]
			if o.ID != workflows.ReconcileWorkflowID(p.PaymentID, p.Captures[0].CaptureRequestID, in.Notification.Result.ResultStatus) ||
				o.TaskQueue != workflows.DefaultTaskQueue || in.ClosedState != tt.state || in.ClosedRunID != "run-1" {
				t.Errorf("started %+v with %+v", o, in)
			}
			if wantAmount := (tt.state == workflows.StateCaptured && !tt.otherID); wantAmount != (in.ClosedAmount == usd10) {
				t.Errorf("closedAmount %v: the closed record's captured amount goes with a contradiction of a CAPTURED record", in.ClosedAmount)
			}
		})
	}
}

// TestNotificationForAPaymentNeverCapturedHere: an automatic capture's result (no workflow ever
// ran for the payment) is relayed to WEBHOOK_FORWARD_URL, or refused without it, never dropped.
func TestNotificationForAPaymentNeverCapturedHere(t *testing.T) {
	s := newStack(t, "", serviceerror.NewNotFound("workflow not found"), serviceerror.NewNotFound("workflow not found"))
	p := s.captureAndWait(t, alipaytest.Scenario{}, func(p alipaytest.Payment) bool {
		return len(p.Notifications) > 0 && p.Notifications[0].Attempts >= 2
	})
	if rec := p.Notifications[0]; rec.Acked || rec.LastStatus != http.StatusNotImplemented {
		t.Errorf("without a forward URL: %+v, want refused with 501 so that Antom resends", rec)
	}
	if got := s.metric(t, "alipay_capture_notifications_refused_total", "unknown_payment"); got < 2 {
		t.Errorf("refused{unknown_payment} = %v", got)
	}

	var relayed []byte
	downstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		relayed, _ = io.ReadAll(r.Body)
		alipay.WriteAck(w)
	}))
	defer downstream.Close()
	s = newStack(t, downstream.URL, serviceerror.NewNotFound("workflow not found"))
	p = s.captureAndWait(t, alipaytest.Scenario{}, acked)
	if !bytes.Contains(relayed, []byte(p.PaymentID)) || p.Notifications[0].Attempts != 1 {
		t.Errorf("relayed %s; delivery %+v", relayed, p.Notifications[0])
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

// TestFinishedCaptureAcknowledgedOnlyOnceJudged: a notification for a finished capture is
// acknowledged only once the receiver has read the closed run and, for a contradiction,
// recorded the reconciliation workflow; any of these failing refuses it with 503, so that Antom
// resends, and the resend is then handled in full.
func TestFinishedCaptureAcknowledgedOnlyOnceJudged(t *testing.T) {
	unavailable := serviceerror.NewUnavailable("frontend down")
	for _, tt := range []struct {
		name      string
		state     workflows.State
		fail      func(*fakeTemporal)
		reconcile bool
	}{
		{"describe fails", workflows.StateCaptured, func(f *fakeTemporal) { f.describeErr = unavailable }, false},
		{"final status unreadable", workflows.StateCaptured, func(f *fakeTemporal) { f.resultErr = unavailable }, false},
		{"reconciliation not started", workflows.StateFailed, func(f *fakeTemporal) { f.startErr = unavailable }, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, "", serviceerror.NewNotFound("workflow execution already completed"), serviceerror.NewNotFound("workflow execution already completed"))
			s.temporal.finished(tt.state, "")
			tt.fail(s.temporal)
			p := s.captureAndWait(t, alipaytest.Scenario{}, acked)
			if n := p.Notifications[0]; n.Attempts != 2 {
				t.Errorf("%d deliveries: want the first refused (503) and the resend acknowledged", n.Attempts)
			}
			if got := len(s.temporal.started); tt.reconcile != (got == 1) || got > 1 {
				t.Errorf("%d reconciliation workflows started, want %v", got, tt.reconcile)
			}
			if got := s.metric(t, "alipay_capture_notifications_signal_failed_total", ""); got != 1 {
				t.Errorf("signal_failed = %v, want 1 (the refused delivery)", got)
			}
		})
	}
}

// TestNotificationWhileANewRunStarts: the signal found no running capture, but by the time the
// receiver looks, a new run of the payment is running: the notification is refused so that
// Antom's resend reaches that run; it is not judged against any closed run.
func TestNotificationWhileANewRunStarts(t *testing.T) {
	s := newStack(t, "", serviceerror.NewNotFound("workflow execution already completed"))
	s.temporal.finished(workflows.StateFailed, "")
	s.temporal.closed.Status = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	p := s.captureAndWait(t, alipaytest.Scenario{}, acked)
	if n := p.Notifications[0]; n.Attempts != 2 || len(s.temporal.signals) != 1 {
		t.Errorf("%d deliveries, %d signalled: want the first refused and the resend signalled to the new run", n.Attempts, len(s.temporal.signals))
	}
	if s.temporal.reads != 0 || len(s.temporal.started) != 0 {
		t.Errorf("%d closed results read, %d reconciliations: a running workflow was judged as closed", s.temporal.reads, len(s.temporal.started))
	}
}

// TestMerchantTravelsWithTheNotification (rule 15): the account whose key verified a
// notification goes with its signal and with its reconciliation; a finished capture of another
// account is never judged against it.
func TestMerchantTravelsWithTheNotification(t *testing.T) {
	eu := func(s *stack) {
		s.handler.Verifier = alipay.NotificationVerifier{Merchant: "eu", ClientID: s.sim.ClientID(), AntomPublicKey: s.sim.AntomPublicKey()}
	}
	t.Run("signal", func(t *testing.T) {
		s := newStack(t, "")
		eu(s)
		s.captureAndWait(t, alipaytest.Scenario{}, acked)
		if len(s.temporal.signals) != 1 || s.temporal.signals[0].Merchant != "eu" {
			t.Errorf("signalled %+v, want merchant eu", s.temporal.signals)
		}
	})
	t.Run("reconciliation", func(t *testing.T) {
		s := newStack(t, "", serviceerror.NewNotFound("workflow execution already completed"))
		eu(s)
		s.temporal.finished(workflows.StateFailed, "")
		final := s.temporal.final
		s.temporal.final = func(pid string) workflows.Status { st := final(pid); st.Merchant = "eu"; return st }
		s.captureAndWait(t, alipaytest.Scenario{}, acked)
		if len(s.temporal.inputs) != 1 || s.temporal.inputs[0].Merchant != "eu" {
			t.Errorf("reconciliations %+v, want one for merchant eu", s.temporal.inputs)
		}
	})
	t.Run("another account's finished capture", func(t *testing.T) {
		s := newStack(t, "", serviceerror.NewNotFound("workflow execution already completed"), serviceerror.NewNotFound("workflow execution already completed"))
		eu(s)
		s.temporal.finished(workflows.StateFailed, "") // the default account's capture
		p := s.captureAndWait(t, alipaytest.Scenario{}, func(p alipaytest.Payment) bool {
			return len(p.Notifications) > 0 && p.Notifications[0].Attempts >= 2
		})
		if n := p.Notifications[0]; n.Acked || len(s.temporal.started) != 0 {
			t.Errorf("delivery %+v, %d reconciliations: want it refused (relayed, no forward URL), never judged against the other account's capture", n, len(s.temporal.started))
		}
	})
}

// TestResendsTheCaptureHoldsAreNotSignalled: Antom's resends of a notification this receiver
// signalled are acknowledged without a signal once the running capture holds it (its record
// final and agreeing), so that resends cannot grow the history; when the capture does not hold
// it yet, or no worker answers the query, every delivery is signalled.
func TestResendsTheCaptureHoldsAreNotSignalled(t *testing.T) {
	for _, tt := range []struct {
		name    string
		state   workflows.State // the record's state in the running capture; "" for no answer
		status  string          // the notification's
		signals int
	}{
		{"held", workflows.StateCaptured, "S", 1},
		{"held F", workflows.StateFailed, "F", 1},
		{"still in flight", workflows.StateUnknown, "S", 4},
		{"an F still in flight", workflows.StateUnknown, "F", 4},
		{"no worker answers", "", "S", 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, "")
			if tt.state != "" {
				s.temporal.running = func(pid string) workflows.Status {
					id := workflows.CaptureRequestID(pid, workflows.StartKey)
					return workflows.Status{State: tt.state, PaymentID: pid,
						Captures: []workflows.CaptureRecord{{CaptureRequestID: id, State: tt.state, CapturedAmount: usd10}}}
				}
			}
			body := `{"notifyType":"CAPTURE_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"},"captureRequestId":"` +
				workflows.CaptureRequestID("PAY1", workflows.StartKey) + `","paymentId":"PAY1","captureId":"CAP1","captureAmount":{"currency":"USD","value":"1000"}}`
			if tt.status == "F" {
				body = `{"notifyType":"CAPTURE_RESULT","result":{"resultCode":"PROCESS_FAIL","resultStatus":"F","resultMessage":"failed"},"captureRequestId":"` +
					workflows.CaptureRequestID("PAY1", workflows.StartKey) + `","paymentId":"PAY1"}`
			}
			for i := range 4 { // one after the other, as Antom's resends come
				resp := s.signedPost(t, body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("delivery %d: HTTP %d", i+1, resp.StatusCode)
				}
			}
			if got := len(s.temporal.signals); got != tt.signals {
				t.Errorf("%d signals for 4 deliveries, want %d", got, tt.signals)
			}
			if got := s.metric(t, "alipay_capture_notifications_duplicate_total", ""); got != float64(4-tt.signals) {
				t.Errorf("duplicate = %v, want %d", got, 4-tt.signals)
			}
		})
	}
}

// TestNotifyTypeLabelsAreBounded: a notifyType nobody documents counts under "other", so that
// signed notifications cannot grow /metrics.
func TestNotifyTypeLabelsAreBounded(t *testing.T) {
	s := newStack(t, "")
	for i := range 20 {
		resp := s.signedPost(t, `{"notifyType":"INVENTED_`+strconv.Itoa(i)+`","paymentId":"P1"}`)
		resp.Body.Close()
	}
	resp := s.signedPost(t, paymentResult)
	resp.Body.Close()
	if other, known := s.metric(t, "alipay_capture_notifications_received_total", "other"),
		s.metric(t, "alipay_capture_notifications_received_total", "PAYMENT_RESULT"); other != 20 || known != 1 {
		t.Errorf("received{other} = %v, {PAYMENT_RESULT} = %v; want 20 and 1", other, known)
	}
}
