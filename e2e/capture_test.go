package e2e_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/internal/stack"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestCapturePaths runs each capture path through all the processes.
func TestCapturePaths(t *testing.T) {
	s := startSystem(t)
	for _, p := range capturePaths {
		t.Run(p.name, func(t *testing.T) { p.run(t, s.with(t)) })
	}
}

// capturePaths are TestCapturePaths' cases, by name, so that the PostgreSQL suite runs the same
// code for some of them.
var capturePaths = []struct {
	name string
	run  func(t *testing.T, s *system)
}{

	{"S", func(t *testing.T, s *system) {
		pid := s.authorize(alipaytest.Scenario{})
		res, err := s.captureAndWait(input(pid, time.Hour))
		if err != nil || res.State != workflows.StateCaptured || res.CaptureID == "" {
			t.Fatalf("%+v, %v", res, err)
		}
		if p := s.ledger(pid); p.CapturesSucceeded != 1 || p.CaptureCalls != 1 {
			t.Errorf("ledger: %d succeeded of %d calls", p.CapturesSucceeded, p.CaptureCalls)
		}
	}},

	{"F", func(t *testing.T, s *system) {
		pid := s.authorize(alipaytest.Scenario{Result: "F", FailCode: "USER_BALANCE_NOT_ENOUGH"})
		res, err := s.captureAndWait(input(pid, time.Hour))
		var out *capture.Outcome
		if !errors.As(err, &out) || res.State != workflows.StateFailed || res.ResultCode != "USER_BALANCE_NOT_ENOUGH" {
			t.Fatalf("%+v, %v", res, err)
		}
	}},

	{"U then notification", func(t *testing.T, s *system) {
		pid := s.authorize(alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: alipaytest.Duration(10 * time.Minute)}) // 0.6 s
		res, err := s.captureAndWait(input(pid, time.Hour))
		if err != nil || res.State != workflows.StateCaptured || res.ResolvedBy != workflows.ResolvedByNotification || res.Inquiries != 0 {
			t.Fatalf("%+v, %v", res, err)
		}
	}},

	{"U then inquiry without notification", func(t *testing.T, s *system) {
		pid := s.authorize(alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: alipaytest.Duration(10 * time.Minute), NoNotify: true})
		res, err := s.captureAndWait(input(pid, time.Second))
		if err != nil || res.State != workflows.StateCaptured || res.ResolvedBy != workflows.ResolvedByInquiry {
			t.Fatalf("%+v, %v", res, err)
		}
	}},

	{"notification before the workflow waits", func(t *testing.T, s *system) {
		// The capture resolves at once after answering U: the notification is signalled while
		// the workflow is still handling the U answer.
		pid := s.authorize(alipaytest.Scenario{Result: "U", ResolveTo: "S"})
		res, err := s.captureAndWait(input(pid, time.Hour))
		if err != nil || res.State != workflows.StateCaptured || res.ResolvedBy != workflows.ResolvedByNotification {
			t.Fatalf("%+v, %v", res, err)
		}
	}},

	{"duplicate notifications", func(t *testing.T, s *system) {
		pid := s.authorize(alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: alipaytest.Duration(10 * time.Minute), DuplicateNotifications: 3})
		res, err := s.captureAndWait(input(pid, time.Hour))
		if err != nil || res.State != workflows.StateCaptured {
			t.Fatalf("%+v, %v", res, err)
		}
		s.waitFor("all four copies acknowledged", func() bool {
			p := s.ledger(pid)
			acked := 0
			for _, n := range p.Notifications {
				if n.Acked {
					acked++
				}
			}
			return acked == 4
		})
		if p := s.ledger(pid); p.CapturesSucceeded != 1 {
			t.Errorf("%d captures", p.CapturesSucceeded)
		}
	}},

	{"expiry with a short deadline", func(t *testing.T, s *system) {
		// In process past the deadline, then failed: nothing was captured (EXPIRED).
		pid := s.authorize(alipaytest.Scenario{Result: "U", ResolveTo: "F", ResolveAfter: alipaytest.Duration(5 * time.Second * 1000), NoNotify: true})
		in := input(pid, time.Second)
		in.AuthorizedAt = time.Time{}
		in.AuthExpiresAt = time.Now().Add(4 * time.Second)
		in.Policy.DeadlineMargin = time.Second
		res, err := s.captureAndWait(in)
		var out *capture.Outcome
		if !errors.As(err, &out) || res.State != workflows.StateExpired || res.ResolvedBy != workflows.ResolvedByDeadline {
			t.Fatalf("%+v, %v", res, err)
		}
	}},

	{"duplicate start on shipment", func(t *testing.T, s *system) {
		pid := s.authorize(alipaytest.Scenario{})
		in := input(pid, time.Hour)
		a, err1 := s.cc.Start(context.Background(), in)
		b, err2 := s.cc.Start(context.Background(), in)
		if err1 != nil || err2 != nil || a.AlreadyStarted || !b.AlreadyStarted || a.RunID != b.RunID {
			t.Fatalf("%+v %v / %+v %v", a, err1, b, err2)
		}
		if _, err := s.cc.Wait(context.Background(), pid); err != nil {
			t.Fatal(err)
		}
		if p := s.ledger(pid); p.CapturesSucceeded != 1 || p.CaptureCalls != 1 {
			t.Errorf("ledger: %d succeeded of %d calls", p.CapturesSucceeded, p.CaptureCalls)
		}
	}},

	{"forged notification refused, nothing signalled", func(t *testing.T, s *system) {
		pid := s.authorize(alipaytest.Scenario{Result: "U", NoNotify: true})
		if _, err := s.cc.Start(context.Background(), input(pid, time.Hour)); err != nil {
			t.Fatal(err)
		}
		s.waitFor("the capture to be UNKNOWN", func() bool {
			st, err := s.cc.Status(context.Background(), pid)
			return err == nil && st.State == workflows.StateUnknown
		})
		body := `{"notifyType":"CAPTURE_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S"},"captureRequestId":"` +
			workflows.CaptureRequestID(pid, workflows.StartKey) + `","paymentId":"` + pid + `","captureAmount":{"currency":"USD","value":"1000"}}`
		req, _ := http.NewRequest("POST", s.WebhookURL+"/alipay/notify", strings.NewReader(body))
		req.Header.Set("Client-Id", stack.ClientID)
		req.Header.Set("Request-Time", "1700000000000")
		req.Header.Set("Signature", "algorithm=RSA256,keyVersion=1,signature=Zm9yZ2Vk")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("forged notification: HTTP %d", resp.StatusCode)
		}
		st, err := s.cc.Status(context.Background(), pid)
		if err != nil || st.State != workflows.StateUnknown || s.signals(pid) != 0 {
			t.Errorf("after the forgery: %+v, %d signals", st, s.signals(pid))
		}
		// The simulator's own forged-then-genuine delivery: the genuine one resolves it.
		pid2 := s.authorize(alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: alipaytest.Duration(10 * time.Minute), BadSignatureNotification: true})
		res, err := s.captureAndWait(input(pid2, time.Hour))
		if err != nil || res.ResolvedBy != workflows.ResolvedByNotification || s.signals(pid2) != 1 {
			t.Errorf("%+v, %v, %d signals", res, err, s.signals(pid2))
		}
		if n := s.ledger(pid2).Notifications[0]; !n.BadSignatureSent || n.Attempts < 2 {
			t.Errorf("delivery %+v", n)
		}
	}},

	{"status query and search by AlipayPaymentId", func(t *testing.T, s *system) {
		pid := s.authorize(alipaytest.Scenario{})
		in := input(pid, time.Hour)
		in.OrderID = "ORD-E2E"
		if _, err := s.captureAndWait(in); err != nil {
			t.Fatal(err)
		}
		st, err := s.cc.Status(context.Background(), pid)
		if err != nil || st.State != workflows.StateCaptured || st.OrderID != "ORD-E2E" || st.CaptureRequestID != workflows.CaptureRequestID(pid, workflows.StartKey) {
			t.Errorf("status %+v, %v", st, err)
		}
		s.waitFor("the capture to be searchable", func() bool {
			resp, err := s.Temporal().ListWorkflow(context.Background(), listRequest("AlipayPaymentId = '"+pid+"' AND CaptureStatus = 'CAPTURED'"))
			return err == nil && len(resp.GetExecutions()) == 1
		})
	}},

	{"metrics endpoints", func(t *testing.T, s *system) {
		resp, err := http.Get(s.WebhookURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{"alipay_capture_notifications_signalled_total", `reason="bad_signature"`, "go_goroutines"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("webhook /metrics lacks %s", want)
			}
		}
	}},
}

// TestWorkerKilledDuringCapture: the worker process dies (SIGKILL) while Antom holds the
// response to a capture it already committed; a new worker finishes the job with exactly one
// capture in Antom's ledger.
func TestWorkerKilledDuringCapture(t *testing.T) { workerKilledDuringCapture(t, startSystem(t)) }

func workerKilledDuringCapture(t *testing.T, s *system) {
	pid := s.authorize(alipaytest.Scenario{DelayResponse: alipaytest.Duration(30 * time.Second), NoNotify: true})
	// The capture request returns with Antom's first answer, which the worker's death delays:
	// send it aside.
	started := make(chan error, 1)
	go func() { _, err := s.cc.Start(context.Background(), input(pid, time.Hour)); started <- err }()
	s.waitFor("the capture to reach Antom", func() bool { return s.ledger(pid).CaptureCalls == 1 })
	s.KillWorker()
	s.StartWorker()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := s.cc.Wait(ctx, pid)
	if err != nil || res.State != workflows.StateCaptured {
		t.Fatalf("%+v, %v", res, err)
	}
	if err := <-started; err != nil {
		t.Errorf("capture request: %v", err)
	}
	p := s.ledger(pid)
	if p.CapturesSucceeded != 1 || p.CapturesExecuted != 1 || p.CaptureCalls < 2 {
		t.Errorf("ledger: %d succeeded, %d executed, %d calls; want exactly one capture, reached again by the retry", p.CapturesSucceeded, p.CapturesExecuted, p.CaptureCalls)
	}
	for _, c := range p.Captures {
		if c.CaptureRequestID != workflows.CaptureRequestID(pid, workflows.StartKey) {
			t.Errorf("capture request id %s", c.CaptureRequestID)
		}
	}
}

// TestTemporalDownWhenNotificationArrives: the webhook answers 5xx while Temporal is down, the
// simulator resends on Antom's schedule, and the capture completes once Temporal is back.
func TestTemporalDownWhenNotificationArrives(t *testing.T) {
	temporalDownWhenNotificationArrives(t, startSystem(t))
}

func temporalDownWhenNotificationArrives(t *testing.T, s *system) {
	pid := s.authorize(alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: alipaytest.Duration(time.Hour)}) // 3.6 s
	if _, err := s.cc.Start(context.Background(), input(pid, 24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	s.waitFor("the capture to be UNKNOWN", func() bool {
		st, err := s.cc.Status(context.Background(), pid)
		return err == nil && st.State == workflows.StateUnknown
	})
	if err := s.StopTemporal(); err != nil {
		t.Fatal(err)
	}
	s.waitFor("a notification refused with 5xx", func() bool {
		p := s.ledger(pid)
		return len(p.Notifications) == 1 && p.Notifications[0].Attempts >= 1 && p.Notifications[0].LastStatus == http.StatusServiceUnavailable
	})
	if err := s.StartTemporal(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := s.cc.Wait(ctx, pid)
	if err != nil || res.State != workflows.StateCaptured || res.ResolvedBy != workflows.ResolvedByNotification {
		t.Fatalf("%+v, %v", res, err)
	}
	n := s.ledger(pid).Notifications[0]
	if !n.Acked || n.Attempts < 2 {
		t.Errorf("delivery %+v: want refused first, acknowledged after a resend", n)
	}
	if res.CapturedAmount != usd10 || res.Amount != usd10 {
		t.Errorf("amounts %+v", res)
	}
}
