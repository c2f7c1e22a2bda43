package capture_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/capturekit/alipay-capture/activities"
	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/internal/temporaltest"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestCensusWorkflow: the census is taken by one workflow on any worker, every interval, and
// every worker reads its latest census (LatestCensus) instead of listing the running captures
// itself. It is one entry in the workflow list however many censuses it takes, and it replaces
// the census schedule of earlier releases.
func TestCensusWorkflow(t *testing.T) {
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
	// A third authorization, of 25.00, with 10.00 of it captured: 15.00 is still at risk.
	usd25 := alipay.Amount{Currency: "USD", Value: "2500"}
	split, err := sim.Authorize(alipaytest.Authorization{Amount: usd25, PartialCaptures: true, Scenario: alipaytest.Scenario{NoNotify: true}})
	if err != nil {
		t.Fatal(err)
	}
	auth := workflows.CaptureInput{PaymentID: split.PaymentID, Amount: usd25, PartialCaptures: true, AuthorizedAt: time.Now(),
		Policy: workflows.Policy{InquirySchedule: []time.Duration{time.Hour}}}
	if got, err := captures.Capture(ctx, auth, workflows.CaptureRequest{Amount: usd10, Key: "SHIP-1"}); err != nil || got.Capture == nil || got.Capture.State != workflows.StateCaptured {
		t.Fatalf("the partial capture: %+v, %v", got, err)
	}
	if _, err := census.LatestCensus(ctx); err == nil {
		t.Error("a census before the census workflow runs")
	}
	// The schedule an earlier release created goes.
	if _, err := srv.Client.ScheduleClient().Create(ctx, client.ScheduleOptions{ID: workflows.LegacyCensusScheduleID,
		Spec:   client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}}},
		Action: &client.ScheduleWorkflowAction{ID: "capture-census", Workflow: "CaptureCensusWorkflow", TaskQueue: "census-test"}}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		if started, err := census.KeepCensus(ctx, 2*time.Second); err != nil || started != want {
			t.Fatalf("KeepCensus #%d: started %v, %v; want %v", i+1, started, err, want)
		}
	}
	if _, err := srv.Client.ScheduleClient().GetHandle(ctx, workflows.LegacyCensusScheduleID).Describe(ctx); err == nil {
		t.Error("the census schedule of an earlier release is still there")
	}
	var first capture.Census
	atRisk := func(c capture.Census) string {
		return c.AtRisk[capture.Pot{Merchant: workflows.DefaultMerchant, Currency: "USD"}].String()
	}
	// The amount at risk: 10.00 twice, and the 15.00 the partial capture left (not its 25.00).
	eventually(t, "the census of the three running captures, 35.00 at risk", func() bool {
		var err error
		first, err = census.LatestCensus(ctx)
		return err == nil && first.Running == 3 && first.Unknown == 2 && atRisk(first) == "3500"
	})
	if first.ListCalls != 1 || first.At.IsZero() {
		t.Errorf("census %+v", first)
	}
	eventually(t, "the next census, an interval later", func() bool {
		next, err := census.LatestCensus(ctx)
		return err == nil && next.At.After(first.At)
	})
	resp, err := srv.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: "WorkflowType = '" + workflows.CensusWorkflowType + "'"})
	if err != nil || len(resp.GetExecutions()) != 1 {
		t.Errorf("census runs in the workflow list: %d (%v), want 1", len(resp.GetExecutions()), err)
	}
	// A run continues as new at 10,000 events: at 7 events a census or fewer it holds 1,400
	// censuses, over 5 h at 15 s, so an hour of the list shows at most 2 census runs.
	events, censuses := 0, 0
	it := srv.Client.GetWorkflowHistory(ctx, workflows.CensusWorkflowID, "", false, 0)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		events++
		if e.GetMarkerRecordedEventAttributes() != nil {
			censuses++
		}
	}
	if censuses < 2 || float64(events)/float64(censuses) > 7 {
		t.Errorf("%d history events for %d censuses: over 7 a census", events, censuses)
	}
}
