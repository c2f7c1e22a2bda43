package receiver_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/capturekit/alipay-capture/activities"
	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/internal/temporaltest"
	"github.com/capturekit/alipay-capture/webhook/receiver"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestNotificationResolvesWorkflowOnRealServer: simulator → receiver → real Temporal → the
// waiting CaptureWorkflow, resolved by the notification; a duplicate for the finished workflow
// is acknowledged.
func TestNotificationResolvesWorkflowOnRealServer(t *testing.T) {
	srv := temporaltest.Start(t)
	h := &receiver.Handler{Path: "/alipay/notify", Temporal: srv.Client, Logger: slog.New(slog.DiscardHandler)}
	hs := httptest.NewServer(receiver.Routes(h))
	defer hs.Close()
	sim := alipaytest.NewServer(alipaytest.Config{NotifyURL: hs.URL + "/alipay/notify", TimeScale: 1e-3})
	defer sim.Close()
	h.Verifier = alipay.NotificationVerifier{ClientID: sim.ClientID(), AntomPublicKey: sim.AntomPublicKey()}
	antom, err := alipay.NewClient(sim.Config())
	if err != nil {
		t.Fatal(err)
	}
	srv.StartWorker(t, "receiver-test", &activities.Activities{Antom: antom})

	// In process for 2 simulated minutes (0.12 s), then S with a duplicate notification; the
	// workflow's first inquiry would come only after an hour.
	p, err := sim.Authorize(alipaytest.Authorization{Amount: usd10, Scenario: alipaytest.Scenario{
		Result: "U", ResolveTo: "S", ResolveAfter: alipaytest.Duration(2 * time.Minute), DuplicateNotifications: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cc := capture.Client{Temporal: srv.Client, TaskQueue: "receiver-test"}
	if _, err := cc.Start(ctx, workflows.CaptureInput{PaymentID: p.PaymentID, Amount: usd10, AuthorizedAt: time.Now(),
		Policy: workflows.Policy{InquirySchedule: []time.Duration{time.Hour}}}); err != nil {
		t.Fatal(err)
	}
	res, err := cc.Wait(ctx, p.PaymentID)
	if err != nil {
		t.Fatal(err)
	}
	if res.State != workflows.StateCaptured || res.ResolvedBy != workflows.ResolvedByNotification || res.Inquiries != 0 {
		t.Errorf("result %+v", res)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _ := sim.Payment(p.PaymentID)
		if len(got.Notifications) == 2 && got.Notifications[0].Acked && got.Notifications[1].Acked {
			if got.CapturesSucceeded != 1 || got.CaptureCalls != 1 {
				t.Errorf("ledger %+v", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("notifications not both acknowledged: %+v", got.Notifications)
		}
		time.Sleep(5 * time.Millisecond) // deliveries run in the simulator's goroutines
	}
}
