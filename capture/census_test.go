package capture_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/capturekit/alipay-capture/activities"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/internal/temporaltest"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestCensusSchedule: the census is taken once, by the schedule's workflow on any worker, and
// every worker reads that result (LatestCensus) instead of listing the running captures itself.
func TestCensusSchedule(t *testing.T) {
	srv, sim := temporaltest.StartCaptureSystem(t, "capture-test")
	ctx := context.Background()
	captures := capture.Client{Temporal: srv.Client, TaskQueue: "capture-test"}
	census := capture.Client{Temporal: srv.Client, TaskQueue: "census-test"}
	srv.StartWorker(t, "census-test", &activities.Activities{TakeCensus: func(ctx context.Context) (workflows.CensusSnapshot, error) {
		cs, err := census.Census(ctx, time.Now(), 24*time.Hour)
		return cs.Snapshot(), err
	}})
	for range 2 {
		p, err := sim.Authorize(alipaytest.Authorization{Amount: usd10, Scenario: alipaytest.Scenario{Result: "U", NoNotify: true}})
		if err != nil {
			t.Fatal(err)
		}
		in := workflows.CaptureInput{PaymentID: p.PaymentID, Amount: usd10, AuthorizedAt: time.Now(), Policy: workflows.Policy{InquirySchedule: []time.Duration{time.Hour}}}
		if _, err := captures.Start(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := census.LatestCensus(ctx); err == nil {
		t.Error("a census before the schedule exists")
	}
	for i, want := range []bool{true, false} {
		if created, err := census.ScheduleCensus(ctx, time.Hour); err != nil || created != want {
			t.Fatalf("ScheduleCensus #%d: created %v, %v; want %v", i+1, created, err, want)
		}
	}
	if err := srv.Client.ScheduleClient().GetHandle(ctx, workflows.CensusScheduleID).Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	var got capture.Census
	eventually(t, "the scheduled census of the two running captures", func() bool {
		var err error
		got, err = census.LatestCensus(ctx)
		return err == nil && got.Running == 2 && got.Unknown == 2
	})
	if v := got.AtRisk[capture.Pot{Merchant: workflows.DefaultMerchant, Currency: "USD"}]; v == nil || v.String() != "2000" || got.ListCalls != 1 || got.At.IsZero() {
		t.Errorf("census %+v", got)
	}
}
