package workflows_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/capturekit/alipay-capture/activities"
	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/internal/temporaltest"
	"github.com/capturekit/alipay-capture/webhook/receiver"
	"github.com/capturekit/alipay-capture/workflows"
)

var record = flag.Bool("record", false, "also run the week-long path, and add every history not yet in testdata/ to the replay corpus")

// TestCapturePathsOnRealServer runs the capture paths on a real Temporal dev server against the
// simulator and the webhook receiver, checks their outcome, history size and Antom calls, and
// replays each fresh history. With -record it also runs the U→inquiry→deadline path (Antom's
// week at 1/10,000 speed: the same schedule, inquiries and events as the real 7 days, in about a
// minute) and adds the histories to the replay corpus in testdata/ (never overwriting one: the
// corpus only grows, see corpus.txt):
//
//	TEMPORAL_CLI=$(scripts/temporal-cli) go test -run TestCapturePathsOnRealServer -v ./workflows/ -record
func TestCapturePathsOnRealServer(t *testing.T) {
	srv := temporaltest.Start(t)
	c := srv.Client
	ctx := context.Background()
	const tq = "record-histories"

	h := &receiver.Handler{Path: "/alipay/notify", Temporal: c, TaskQueue: tq, Logger: slog.New(slog.DiscardHandler)}
	hs := httptest.NewServer(receiver.Routes(h))
	defer hs.Close()
	sim := alipaytest.NewServer(alipaytest.Config{NotifyURL: hs.URL + "/alipay/notify", TimeScale: 1e-3})
	defer sim.Close()
	h.Verifier = alipay.NotificationVerifier{ClientID: sim.ClientID(), AntomPublicKey: sim.AntomPublicKey()}
	antom, err := alipay.NewClient(sim.Config())
	if err != nil {
		t.Fatal(err)
	}
	srv.StartWorker(t, tq, &activities.Activities{Antom: antom})
	cc := capture.Client{Temporal: c, TaskQueue: tq}

	// splitShipment authorizes 10.00, then captures 4.00 and the last 6.00 by key.
	splitShipment := func(in workflows.CaptureInput) (capture.Started, error) {
		in.PartialCaptures = true
		if _, err := cc.Authorize(ctx, in); err != nil {
			return capture.Started{}, err
		}
		if _, err := cc.Capture(ctx, in, workflows.CaptureRequest{Amount: alipay.MustParseDecimal("USD", "4.00"), Key: "ship-1"}); err != nil {
			return capture.Started{}, err
		}
		return cc.Capture(ctx, in, workflows.CaptureRequest{Amount: alipay.MustParseDecimal("USD", "6.00"), IsLastCapture: true, Key: "ship-2"})
	}
	scaled := func(d time.Duration) time.Duration { return d / 10000 }
	var weekSchedule []time.Duration
	for _, d := range workflows.DefaultPolicy().InquirySchedule {
		weekSchedule = append(weekSchedule, scaled(d))
	}
	now := func(pid string) workflows.CaptureInput {
		return workflows.CaptureInput{PaymentID: pid, Amount: usd10, OrderID: "ORDER-" + pid, AuthorizedAt: time.Now(),
			Policy: workflows.Policy{InquirySchedule: []time.Duration{time.Second}, CallTimeout: 10 * time.Second}}
	}
	// short: a deadline seconds away, inquiring every second.
	short := func(pid string) workflows.CaptureInput {
		in := now(pid)
		in.AuthorizedAt, in.AuthExpiresAt = time.Time{}, time.Now().Add(6*time.Second) // the capture must be sent within 5 s, even on a busy machine
		in.Policy.DeadlineMargin, in.Policy.ResolveWithin = time.Second, time.Hour
		return in
	}
	waitStatus := func(pid string, cond func(workflows.Status) bool) {
		deadline := time.Now().Add(time.Minute)
		for {
			if st, err := cc.Status(ctx, pid); err == nil && cond(st) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: status never reached the expected point", pid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	paths := []struct {
		name        string
		scenario    alipaytest.Scenario
		input       func(pid string) workflows.CaptureInput
		during      func(pid string) // acts on the running capture
		state       workflows.State
		resolvedBy  string
		maxEvents   int // 0: not checked
		captureCall int // capture calls Antom must see; 0: not checked
		week        bool
		partial     bool // the payment method allows partial captures
		// start, if set, starts the path instead of capture.Client.Start(input).
		start func(in workflows.CaptureInput) (capture.Started, error)
	}{
		// NoNotify: Antom's notification of a synchronous S races the workflow's completion and
		// can add a workflow task (UnhandledCommand) to the history; the S path is measured without.
		// The S path is the start, one workflow task, the Update accepted, one upsert (CAPTURING
		// and the missing search attributes), the capture activity, a second task, the upsert of
		// CAPTURED, the Update completed and the close. Whether the worker sends events comes from
		// the capture's answer at no cost; on the F path, whose answer is an error, from a
		// side-effect marker.
		{name: "s", scenario: alipaytest.Scenario{NoNotify: true}, input: now, state: workflows.StateCaptured, resolvedBy: workflows.ResolvedByResponse, maxEvents: 15, captureCall: 1},
		{name: "u_notification", scenario: alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: alipaytest.Duration(time.Second * 1000)},
			input: func(pid string) workflows.CaptureInput {
				in := now(pid)
				in.Policy.InquirySchedule = []time.Duration{time.Hour}
				return in
			},
			state: workflows.StateCaptured, resolvedBy: workflows.ResolvedByNotification, maxEvents: 27, captureCall: 1},
		{name: "u_inquiry", scenario: alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: alipaytest.Duration(500 * time.Millisecond * 1000), NoNotify: true},
			input: now, state: workflows.StateCaptured, resolvedBy: workflows.ResolvedByInquiry, maxEvents: 32, captureCall: 1},
		{name: "f", scenario: alipaytest.Scenario{Result: "F", FailCode: "RISK_REJECT", NoNotify: true}, input: now,
			state: workflows.StateFailed, resolvedBy: workflows.ResolvedByResponse, maxEvents: 18, captureCall: 1},
		{name: "cancel", input: now, start: func(in workflows.CaptureInput) (capture.Started, error) { return cc.Authorize(ctx, in) },
			during: func(pid string) {
				waitStatus(pid, func(st workflows.Status) bool { return st.State == workflows.StatePending })
				if _, err := cc.Cancel(ctx, pid, "order cancelled"); err != nil {
					t.Errorf("cancel: %v", err)
				}
			}, state: workflows.StateCancelled, resolvedBy: workflows.ResolvedByCancel},
		{name: "resend_after_absent_inquiry", scenario: alipaytest.Scenario{ServerErrorCalls: 3, NoNotify: true}, input: now,
			state: workflows.StateCaptured, resolvedBy: workflows.ResolvedByResponse, captureCall: 4},
		{name: "deadline_from_inquiry", scenario: alipaytest.Scenario{NoNotify: true},
			input: func(pid string) workflows.CaptureInput { in := now(pid); in.AuthorizedAt = time.Time{}; return in },
			state: workflows.StateCaptured, resolvedBy: workflows.ResolvedByResponse, captureCall: 1},
		{name: "overdue_then_late_s", scenario: alipaytest.Scenario{Result: "U", NoNotify: true}, input: short,
			during: func(pid string) {
				waitStatus(pid, func(st workflows.Status) bool { return st.Overdue })
				if err := sim.Resolve(pid, "S", ""); err != nil {
					t.Error(err)
				}
			}, state: workflows.StateCaptured, resolvedBy: workflows.ResolvedByInquiry, captureCall: 1},
		// The first send is executed and answered after the call timed out; the resend gets F.
		{name: "ambiguous_send_then_f", scenario: alipaytest.Scenario{DelayResponse: alipaytest.Duration(20 * time.Second), RepeatFailCode: alipay.CodeSystemError, NoNotify: true},
			input: func(pid string) workflows.CaptureInput {
				in := now(pid)
				in.Policy.CallTimeout = 2 * time.Second
				return in
			},
			state: workflows.StateCaptured, resolvedBy: workflows.ResolvedByInquiry},
		{name: "unresolved_then_contradiction", scenario: alipaytest.Scenario{Result: "U"},
			input: func(pid string) workflows.CaptureInput {
				in := short(pid)
				in.Policy.ResolveWithin = 2 * time.Second
				return in
			},
			state: workflows.StateUnresolved, resolvedBy: workflows.ResolvedByTimeout, captureCall: 1},
		// The authorization's lifecycle (version 2): guarded from authorization, split shipments,
		// and the deadline guard's three policies.
		{name: "split_shipment", scenario: alipaytest.Scenario{NoNotify: true}, partial: true, input: now,
			start: splitShipment, state: workflows.StateCaptured, resolvedBy: workflows.ResolvedByResponse, captureCall: 2},
		// The same after change memo-uncaptured: the memo says what the first shipment left.
		{name: "split_shipment_memo_uncaptured", scenario: alipaytest.Scenario{NoNotify: true}, partial: true, input: now,
			start: splitShipment, state: workflows.StateCaptured, resolvedBy: workflows.ResolvedByResponse, captureCall: 2},
		// Rule 12: a notification contradicts an earlier capture of an open authorization (its F).
		{name: "contradiction_open", scenario: alipaytest.Scenario{Result: "U", NoNotify: true}, partial: true, input: now,
			start: func(in workflows.CaptureInput) (capture.Started, error) {
				in.PartialCaptures = true
				return cc.Capture(ctx, in, workflows.CaptureRequest{Amount: usd4, Key: "ship-1"})
			},
			during: func(pid string) {
				if err := sim.Resolve(pid, "F", ""); err != nil {
					t.Error(err)
				}
				waitStatus(pid, func(st workflows.Status) bool { return st.State == workflows.StatePending })
				n := workflows.Notification{CaptureNotification: alipay.CaptureNotification{NotifyType: alipay.NotifyTypeCaptureResult,
					PaymentID: pid, CaptureRequestID: workflows.CaptureRequestID(pid, "ship-1"), CaptureID: "LATE-S", CaptureAmount: usd4,
					Result: alipay.Result{ResultCode: alipay.CodeSuccess, ResultStatus: alipay.StatusSuccess, ResultMessage: "success"}}}
				if err := c.SignalWorkflow(ctx, workflows.WorkflowID(pid), "", workflows.SignalNotifyCapture, n); err != nil {
					t.Error(err)
				}
				waitStatus(pid, func(st workflows.Status) bool { return st.Captured == usd4 })
				in := now(pid)
				in.PartialCaptures = true
				if _, err := cc.Capture(ctx, in, workflows.CaptureRequest{Amount: usd6, IsLastCapture: true, Key: "ship-2"}); err != nil {
					t.Error(err)
				}
				if err := sim.Resolve(pid, "S", ""); err != nil {
					t.Error(err)
				}
			}, state: workflows.StateCaptured, resolvedBy: workflows.ResolvedByInquiry, captureCall: 2},
		// Two callers send the same key at once: one capture.
		{name: "same_key_twice", scenario: alipaytest.Scenario{NoNotify: true}, input: now,
			start: func(in workflows.CaptureInput) (capture.Started, error) {
				req := workflows.CaptureRequest{Amount: usd10, IsLastCapture: true, Key: "ship-1"}
				errs := make(chan error, 1)
				go func() { _, err := cc.Capture(ctx, in, req); errs <- err }()
				started, err := cc.Capture(ctx, in, req)
				return started, errors.Join(err, <-errs)
			}, state: workflows.StateCaptured, resolvedBy: workflows.ResolvedByResponse, captureCall: 1},
		{name: "nobody_shipped_lapse", input: short,
			start: func(in workflows.CaptureInput) (capture.Started, error) {
				in.Policy.WarnBefore = []time.Duration{4 * time.Second, 3 * time.Second}
				return cc.Authorize(ctx, in)
			}, state: workflows.StateExpired, resolvedBy: workflows.ResolvedByDeadline},
		{name: "nobody_shipped_cancel", input: short,
			start: func(in workflows.CaptureInput) (capture.Started, error) {
				in.Policy.OnDeadline = workflows.OnDeadlineCancel
				return cc.Authorize(ctx, in)
			}, state: workflows.StateCancelled, resolvedBy: workflows.ResolvedByDeadline},
		{name: "nobody_shipped_capture", scenario: alipaytest.Scenario{NoNotify: true}, input: short,
			start: func(in workflows.CaptureInput) (capture.Started, error) {
				in.Policy.OnDeadline = workflows.OnDeadlineCapture
				return cc.Authorize(ctx, in)
			}, state: workflows.StateCaptured, resolvedBy: workflows.ResolvedByResponse, captureCall: 1},
		{name: "u_inquiry_deadline", week: true,
			// In process all week, failed an hour before the deadline (the simulator runs at 1/1,000).
			scenario: alipaytest.Scenario{Result: "U", ResolveTo: "F", NoNotify: true, ResolveAfter: alipaytest.Duration(scaled(workflows.AuthorizationWindow-time.Hour) * 1000)},
			input: func(pid string) workflows.CaptureInput {
				return workflows.CaptureInput{PaymentID: pid, Amount: usd10, AuthExpiresAt: time.Now().Add(scaled(workflows.AuthorizationWindow)),
					Policy: workflows.Policy{InquirySchedule: weekSchedule, DeadlineMargin: scaled(workflows.DefaultPolicy().DeadlineMargin),
						ResolveWithin: scaled(workflows.DefaultPolicy().ResolveWithin)}}
			}, state: workflows.StateExpired, resolvedBy: workflows.ResolvedByDeadline, captureCall: 1},
	}
	for _, p := range paths {
		if p.week && !*record {
			continue
		}
		pay, err := sim.Authorize(alipaytest.Authorization{Amount: usd10, Scenario: p.scenario, PartialCaptures: p.partial})
		if err != nil {
			t.Fatal(err)
		}
		// Started as services start it, through capture.Client (search attributes and memo set
		// at start, the policy written into the input).
		start := func(in workflows.CaptureInput) (capture.Started, error) { return cc.Start(ctx, in) }
		if p.start != nil {
			start = p.start
		}
		started, err := start(p.input(pay.PaymentID))
		if err != nil {
			t.Fatal(err)
		}
		if p.during != nil {
			p.during(pay.PaymentID)
		}
		res, werr := cc.Wait(ctx, pay.PaymentID)
		var out *capture.Outcome
		if werr != nil && !errors.As(werr, &out) {
			t.Fatalf("%s: %v", p.name, werr)
		}
		ledger, _ := sim.Payment(pay.PaymentID)
		history := fetchHistory(t, c, started.WorkflowID, started.RunID)
		t.Logf("%-30s %3d events; Antom calls: %d capture, %d inquiryPayment; %s by %s",
			p.name, len(history.Events), ledger.CaptureCalls, ledger.InquiryCalls, res.State, res.ResolvedBy)
		if res.State != p.state || res.ResolvedBy != p.resolvedBy {
			t.Errorf("%s: ended %s by %s (%v), want %s by %s", p.name, res.State, res.ResolvedBy, werr, p.state, p.resolvedBy)
		}
		if p.maxEvents > 0 && len(history.Events) > p.maxEvents {
			var types []string
			for _, e := range history.Events {
				types = append(types, e.GetEventType().String())
			}
			t.Errorf("%s: %d history events, target at most %d: %v", p.name, len(history.Events), p.maxEvents, types)
		}
		if (ledger.CapturesSucceeded > 1 && !p.partial) || (p.captureCall > 0 && ledger.CaptureCalls != p.captureCall) {
			t.Errorf("%s: Antom saw %d capture calls (%d succeeded), want %d", p.name, ledger.CaptureCalls, ledger.CapturesSucceeded, p.captureCall)
		}
		replayAndRecord(t, p.name, history)

		if p.state == workflows.StateUnresolved {
			// The success that follows the close contradicts it: the receiver records it as a
			// reconciliation workflow, which inquiryPayment confirms.
			if err := sim.Resolve(pay.PaymentID, "S", ""); err != nil {
				t.Fatal(err)
			}
			rid := workflows.ReconcileWorkflowID(pay.PaymentID, workflows.CaptureRequestID(pay.PaymentID, workflows.StartKey), alipay.StatusSuccess)
			var run client.WorkflowRun
			deadline := time.Now().Add(time.Minute)
			for run == nil {
				if _, err := c.DescribeWorkflowExecution(ctx, rid, ""); err == nil {
					run = c.GetWorkflow(ctx, rid, "")
				} else if time.Now().After(deadline) {
					t.Fatalf("no reconciliation workflow %s: %v", rid, err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			var appErr *temporal.ApplicationError
			if err := run.Get(ctx, nil); !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTypeContradictionConfirmed {
				t.Errorf("reconciliation: %v, want %s", err, workflows.ErrTypeContradictionConfirmed)
			}
			replayAndRecord(t, "reconcile_confirmed", fetchHistory(t, c, rid, run.GetRunID()))
		}
	}
}

func fetchHistory(t *testing.T, c client.Client, id, runID string) *historypb.History {
	t.Helper()
	var events []*historypb.HistoryEvent
	it := c.GetWorkflowHistory(context.Background(), id, runID, false, 0)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	return &historypb.History{Events: events}
}

// replayAndRecord replays a fresh history and, with -record, adds it to the corpus as
// history_<name>.json unless that file exists.
func replayAndRecord(t *testing.T, name string, history *historypb.History) {
	t.Helper()
	// Replayed as the corpus test will: from its JSON form.
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(history)
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := client.HistoryFromJSON(bytes.NewReader(b), client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	replayer := newReplayer(t, name)
	if err := replayer.ReplayWorkflowHistory(nil, fromJSON); err != nil {
		t.Errorf("%s: replaying its own history: %v", name, err)
	}
	if !*record {
		return
	}
	file := "history_" + name + ".json"
	path := filepath.Join("testdata", file)
	if _, err := os.Stat(path); err == nil {
		t.Logf("%s exists; not overwritten (the corpus only grows)", path)
		return
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join("testdata", "corpus.txt"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(file + "\n"); err != nil {
		t.Fatal(err)
	}
}
