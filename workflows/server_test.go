package workflows_test

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/internal/temporaltest"
	"github.com/capturekit/alipay-capture/workflows"
)

var record = flag.Bool("record", false, "also run the week-long path and write every history to testdata/")

// TestCapturePathsOnRealServer runs the main capture paths on a real Temporal dev server against
// the simulator, checks their outcome, history size and Antom calls, and replays each fresh
// history. With -record it also runs the U→inquiry→deadline path (Antom's week at 1/10,000
// speed: the same schedule, inquiries and events as the real 7 days, in about a minute) and
// writes all histories to testdata/ for TestReplayRecordedHistories:
//
//	TEMPORAL_CLI=$(scripts/temporal-cli) go test -run TestCapturePathsOnRealServer -record -v ./workflows/
func TestCapturePathsOnRealServer(t *testing.T) {
	srv := temporaltest.Start(t)
	c := srv.Client
	ctx := context.Background()

	var sim *alipaytest.Server
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		v := alipay.NotificationVerifier{ClientID: sim.ClientID(), AntomPublicKey: sim.AntomPublicKey()}
		n, err := v.Verify(r.Method, r.URL.Path, r.Header, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		cn, err := n.Capture()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := c.SignalWorkflow(r.Context(), workflows.WorkflowID(cn.PaymentID), "", workflows.SignalNotifyCapture, cn); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		alipay.WriteAck(w)
	}))
	defer receiver.Close()
	sim = alipaytest.NewServer(alipaytest.Config{NotifyURL: receiver.URL + "/alipay/notify"})
	defer sim.Close()
	antom, err := alipay.NewClient(sim.Config())
	if err != nil {
		t.Fatal(err)
	}

	const tq = "record-histories"
	srv.StartWorker(t, tq, antom)

	scaled := func(d time.Duration) time.Duration { return d / 10000 }
	var weekSchedule []time.Duration
	for _, d := range workflows.DefaultPolicy().InquirySchedule {
		weekSchedule = append(weekSchedule, scaled(d))
	}
	paths := []struct {
		name      string
		scenario  alipaytest.Scenario
		state     workflows.State
		maxEvents int
		inquiries int // Antom inquiryPayment calls; -1: not checked
		input     func(pid string) workflows.CaptureInput
	}{
		// NoNotify: Antom's notification of a synchronous S races the workflow's completion and
		// can add a workflow task (UnhandledCommand) to the history; the S path is measured without.
		{"s", alipaytest.Scenario{NoNotify: true}, workflows.StateCaptured, 15, 0, func(pid string) workflows.CaptureInput {
			return workflows.CaptureInput{PaymentID: pid, Amount: usd10, OrderID: "ORDER-" + pid, AuthorizedAt: time.Now()}
		}},
		{"u_notification", alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: alipaytest.Duration(time.Second)}, workflows.StateCaptured, 25, 0, func(pid string) workflows.CaptureInput {
			return workflows.CaptureInput{PaymentID: pid, Amount: usd10, AuthorizedAt: time.Now()}
		}},
		{"u_inquiry", alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: alipaytest.Duration(500 * time.Millisecond), NoNotify: true}, workflows.StateCaptured, 30, 1, func(pid string) workflows.CaptureInput {
			return workflows.CaptureInput{PaymentID: pid, Amount: usd10, AuthorizedAt: time.Now(), Policy: workflows.Policy{InquirySchedule: []time.Duration{time.Second}}}
		}},
		{"u_inquiry_deadline", alipaytest.Scenario{Result: "U", NoNotify: true}, workflows.StateExpired, 400, -1, func(pid string) workflows.CaptureInput {
			return workflows.CaptureInput{PaymentID: pid, Amount: usd10, AuthExpiresAt: time.Now().Add(scaled(workflows.AuthorizationWindow)),
				Policy: workflows.Policy{InquirySchedule: weekSchedule, DeadlineMargin: scaled(workflows.DefaultPolicy().DeadlineMargin)}}
		}},
	}
	for _, p := range paths {
		if p.state == workflows.StateExpired && !*record {
			continue
		}
		pay, err := sim.Authorize(alipaytest.Authorization{Amount: usd10, Scenario: p.scenario})
		if err != nil {
			t.Fatal(err)
		}
		// Started as services start it, through capture.Client (search attributes and memo set
		// at start, the policy written into the input).
		started, err := capture.Client{Temporal: c, TaskQueue: tq}.Start(ctx, p.input(pay.PaymentID))
		if err != nil {
			t.Fatal(err)
		}
		run := c.GetWorkflow(ctx, started.WorkflowID, started.RunID)
		var res workflows.Result
		werr := run.Get(ctx, &res)
		state := res.State
		var appErr *temporal.ApplicationError
		if errors.As(werr, &appErr) {
			var st workflows.Status
			_ = appErr.Details(&st)
			state = st.State
		}
		var events []*historypb.HistoryEvent
		it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, 0)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			events = append(events, e)
		}
		history := &historypb.History{Events: events}
		ledger, _ := sim.Payment(pay.PaymentID)
		t.Logf("%-20s %3d events; Antom calls: %d capture, %d inquiryPayment; %s",
			p.name, len(events), ledger.CaptureCalls, ledger.InquiryCalls, state)
		if state != p.state {
			t.Errorf("%s: ended %s (%v), want %s", p.name, state, werr, p.state)
		}
		if len(events) > p.maxEvents {
			var types []string
			for _, e := range events {
				types = append(types, e.GetEventType().String())
			}
			t.Errorf("%s: %d history events, target at most %d: %v", p.name, len(events), p.maxEvents, types)
		}
		if ledger.CaptureCalls != 1 || ledger.CapturesSucceeded > 1 || (p.inquiries >= 0 && ledger.InquiryCalls != p.inquiries) {
			t.Errorf("%s: Antom saw %d capture and %d inquiry calls, want 1 and %d", p.name, ledger.CaptureCalls, ledger.InquiryCalls, p.inquiries)
		}
		replayer := worker.NewWorkflowReplayer()
		workflows.Register(replayer)
		if err := replayer.ReplayWorkflowHistory(nil, history); err != nil {
			t.Errorf("%s: replaying its own history: %v", p.name, err)
		}
		if *record {
			b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(history)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join("testdata", "history_"+p.name+".json"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
