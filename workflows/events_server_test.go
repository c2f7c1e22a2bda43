package workflows_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/capturekit/alipay-capture/activities"
	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/events"
	"github.com/capturekit/alipay-capture/internal/temporaltest"
	"github.com/capturekit/alipay-capture/workflows"
)

// eventsReceiver is a merchant's endpoint for capture events: it refuses the first delivery
// (HTTP 503, as a receiver being deployed does), then verifies each one with the events package
// and records it.
type eventsReceiver struct {
	mu      sync.Mutex
	refused int
	forged  int
	got     map[string][]events.Event // by payment id, in arrival order
}

func (rc *eventsReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e, err := events.Verifier{Secret: eventsSecret}.Event(r)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	switch {
	case err != nil:
		rc.forged++
		http.Error(w, err.Error(), http.StatusUnauthorized)
	case rc.refused == 0:
		rc.refused++
		http.Error(w, "deploying", http.StatusServiceUnavailable)
	default:
		rc.got[e.PaymentID] = append(rc.got[e.PaymentID], e)
		w.WriteHeader(http.StatusNoContent)
	}
}

// types returns the types of a payment's events, deduplicated by id (delivery is at least once).
func (rc *eventsReceiver) types(pid string) ([]string, []int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	var seqs []int
	seen := map[string]bool{}
	for _, e := range rc.got[pid] {
		if !seen[e.ID] {
			seen[e.ID] = true
			out, seqs = append(out, e.Type), append(seqs, e.Seq)
		}
	}
	return out, seqs
}

var eventsSecret = []byte("whsec-0123456789abcdef")

// TestEventsOnRealServer: a worker with EVENTS_URL on a real Temporal server posts each capture's
// events, signed, in order, to a receiver that refuses the first delivery; every delivery
// workflow ends with all delivered; the histories replay (and, with -record, join the corpus).
func TestEventsOnRealServer(t *testing.T) {
	srv := temporaltest.Start(t)
	ctx := context.Background()
	const tq = "events-test"
	rc := &eventsReceiver{got: map[string][]events.Event{}}
	hs := httptest.NewServer(rc)
	defer hs.Close()
	sim := alipaytest.NewServer(alipaytest.Config{TimeScale: 1e-3})
	defer sim.Close()
	antom, err := alipay.NewClient(sim.Config())
	if err != nil {
		t.Fatal(err)
	}
	srv.StartWorker(t, tq, &activities.Activities{Antom: antom, Events: &events.Sender{URL: hs.URL, Secret: eventsSecret}})
	cc := capture.Client{Temporal: srv.Client, TaskQueue: tq}

	authorize := func(partial bool) string {
		p, err := sim.Authorize(alipaytest.Authorization{Amount: usd10, PartialCaptures: partial})
		if err != nil {
			t.Fatal(err)
		}
		return p.PaymentID
	}
	in := func(pid string) workflows.CaptureInput {
		return workflows.CaptureInput{PaymentID: pid, Amount: usd10, OrderID: "ORDER-" + pid, AuthorizedAt: time.Now(),
			Policy: workflows.Policy{CallTimeout: 10 * time.Second}}
	}
	// One capture of the whole amount.
	single := authorize(false)
	if _, err := cc.Start(ctx, in(single)); err != nil {
		t.Fatal(err)
	}
	// A split shipment.
	split := authorize(true)
	auth := in(split)
	auth.PartialCaptures = true
	if _, err := cc.Authorize(ctx, auth); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Capture(ctx, auth, workflows.CaptureRequest{Amount: usd4, Key: "ship-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Capture(ctx, auth, workflows.CaptureRequest{Amount: usd6, IsLastCapture: true, Key: "ship-2"}); err != nil {
		t.Fatal(err)
	}

	for pid, want := range map[string][]string{
		single: {events.CaptureSucceeded},
		split:  {events.CaptureSucceeded, events.CaptureSucceeded},
	} {
		res, err := cc.Wait(ctx, pid)
		if err != nil || res.State != workflows.StateCaptured {
			t.Fatalf("%s: %+v, %v", pid, res, err)
		}
		desc, err := srv.Client.DescribeWorkflowExecution(ctx, workflows.WorkflowID(pid), "")
		if err != nil {
			t.Fatal(err)
		}
		runID := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
		var delivery workflows.EventsResult
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err = srv.Client.GetWorkflow(wctx, workflows.EventsWorkflowID(pid, runID), "").Get(wctx, &delivery)
		cancel()
		if err != nil || delivery.Delivered != len(want) || len(delivery.Abandoned) != 0 {
			t.Fatalf("%s: delivery %+v, %v", pid, delivery, err)
		}
		got, seqs := rc.types(pid)
		if !slices.Equal(got, want) || !slices.IsSorted(seqs) || seqs[0] != 1 {
			t.Errorf("%s: events %v (seq %v), want %v in order", pid, got, seqs, want)
		}
		name := map[string]string{single: "events_s", split: "events_split_shipment"}[pid]
		replayAndRecord(t, name, fetchHistory(t, srv.Client, workflows.WorkflowID(pid), runID))
		replayAndRecord(t, name+"_delivery", fetchHistory(t, srv.Client, workflows.EventsWorkflowID(pid, runID), ""))
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.refused != 1 || rc.forged != 0 {
		t.Errorf("receiver refused %d, saw %d forged", rc.refused, rc.forged)
	}
}
