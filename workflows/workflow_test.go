package workflows_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/capturekit/alipay-capture/activities"
	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/workflows"
)

var (
	t0    = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	usd10 = alipay.Amount{Currency: "USD", Value: "1000"}
	reqID = workflows.CaptureRequestID("PAY1", workflows.StartKey)
)

var (
	resS = alipay.Result{ResultCode: alipay.CodeSuccess, ResultStatus: alipay.StatusSuccess, ResultMessage: "success"}
	resU = alipay.Result{ResultCode: alipay.CodeCaptureInProcess, ResultStatus: alipay.StatusUnknown, ResultMessage: "in process"}
)

// harness runs CaptureWorkflow in the SDK's test environment (time skipping) with scripted
// activities, and records what the workflow did.
type harness struct {
	t          *testing.T
	env        *testsuite.TestWorkflowEnvironment
	captureReq []alipay.CaptureRequest // every capture activity attempt, in order
	captureAt  []time.Time             // workflow time of each attempt
	inquiries  []time.Time
	cancels    int
	merchants  []string // "<activity>:<merchant>" of every activity attempt, in order
	statuses   []string // CaptureStatus values upserted, in order
	statusAt   []time.Time
	anyID      bool // inquiries may name a capture request id this run never sent (reconciliation)
	// inquiryTakes and cancelTakes are how long (workflow time) the activities take to answer.
	inquiryTakes, cancelTakes time.Duration
	started                   bool // run sent the start capture: its PENDING before the Update is the test environment's
	attrs                     map[string]any
	memo                      map[string]any   // the last memo upserted
	memos                     []map[string]any // every memo upserted, in order

	capture func(n int, in workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error)
	inquiry func(n int) (workflows.InquiryActivityResult, error)
	cancel  func() (alipay.Result, error)
}

// newEnv returns a test environment that logs only warnings and errors.
func newEnv() *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn + 1}))))
	return s.NewTestWorkflowEnvironment()
}

func newHarness(t *testing.T) *harness { return newHarnessWith(t, workflows.Options{}) }

// newHarnessWith returns a harness whose workflows are registered with o, as a worker does.
func newHarnessWith(t *testing.T, o workflows.Options) *harness {
	h := &harness{t: t, env: newEnv(), attrs: map[string]any{}}
	h.env.SetStartTime(t0)
	workflows.RegisterWith(h.env, o)
	h.env.RegisterActivity(&activities.Activities{})
	h.env.OnActivity(workflows.ActivityCapture, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
			h.captureReq = append(h.captureReq, in.Request)
			h.captureAt = append(h.captureAt, h.env.Now())
			h.merchants = append(h.merchants, "capture:"+in.Merchant)
			res, err := workflows.CaptureActivityResult{Result: resS, CaptureID: "CAP1", CaptureAmount: in.Request.CaptureAmount}, error(nil)
			if h.capture != nil {
				res, err = h.capture(len(h.captureReq), in)
			}
			res.EventsOn = o.Events // as the real activity reports its worker's configuration
			return res, err
		})
	h.env.OnActivity(workflows.ActivityInquiryPayment, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in workflows.InquiryActivityInput) (workflows.InquiryActivityResult, error) {
			h.inquiries = append(h.inquiries, h.env.Now())
			h.merchants = append(h.merchants, "inquiry:"+in.Merchant)
			if !h.anyID && in.CaptureRequestID != "" && !slices.ContainsFunc(h.captureReq, func(r alipay.CaptureRequest) bool { return r.CaptureRequestID == in.CaptureRequestID }) {
				t.Errorf("inquiry for captureRequestId %q, which was never sent", in.CaptureRequestID)
			}
			res, err := workflows.InquiryActivityResult{Found: true, TransactionStatus: alipay.TxProcessing}, error(nil)
			if h.inquiry != nil {
				res, err = h.inquiry(len(h.inquiries))
			}
			res.EventsOn = o.Events
			return res, err
		}).AfterFn(func() time.Duration { return h.inquiryTakes })
	h.env.OnActivity(workflows.ActivityCancel, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in workflows.CancelActivityInput) (alipay.Result, error) {
			h.cancels++
			h.merchants = append(h.merchants, "cancel:"+in.Merchant)
			if h.cancel == nil {
				return resS, nil
			}
			return h.cancel()
		}).AfterFn(func() time.Duration { return h.cancelTakes })
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		for k, v := range sa.GetUntypedValues() {
			h.attrs[k.GetName()] = v
			if k.GetName() == workflows.SearchAttrStatus {
				h.statuses = append(h.statuses, v.(string))
				h.statusAt = append(h.statusAt, h.env.Now())
			}
		}
	})
	h.env.OnUpsertMemo(mock.Anything).Return(nil).Run(func(args mock.Arguments) {
		h.memo = args.Get(0).(map[string]any)
		h.memos = append(h.memos, h.memo)
	})
	return h
}

func input() workflows.CaptureInput {
	return workflows.CaptureInput{PaymentID: "PAY1", Amount: usd10, OrderID: "ORDER-7", AuthorizedAt: t0.Add(-time.Hour)}
}

// run starts the workflow with in and, at once, the capture of the whole authorized amount under
// workflows.StartKey, as capture.Client.Start sends it with Update-with-Start.
func (h *harness) run(in workflows.CaptureInput) {
	h.t.Helper()
	h.started = true
	startCapture(h.env, in)
	h.authorize(in)
}

// startCapture sends the capture of the whole authorized amount under workflows.StartKey as
// soon as the workflow runs. The test environment delivers it after the workflow's first
// task (a real server delivers an Update-with-Start in that task).
func startCapture(env *testsuite.TestWorkflowEnvironment, in workflows.CaptureInput) {
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(workflows.UpdateCapture, "start", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(error) {}, OnComplete: func(any, error) {},
		}, workflows.CaptureRequest{Amount: in.Amount, IsLastCapture: true, Key: workflows.StartKey})
	}, 0)
}

// authorize starts the workflow with in and no capture request, as capture.Client.Authorize does.
func (h *harness) authorize(in workflows.CaptureInput) {
	h.t.Helper()
	h.env.ExecuteWorkflow(workflows.WorkflowType, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
}

// result returns the completed workflow's result, failing the test on a workflow error.
func (h *harness) result() workflows.Result {
	h.t.Helper()
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow failed: %v", err)
	}
	var r workflows.Result
	if err := h.env.GetWorkflowResult(&r); err != nil {
		h.t.Fatal(err)
	}
	return r
}

// failure returns the workflow's application error of the given type and its Status details.
func (h *harness) failure(errType string) workflows.Status {
	h.t.Helper()
	err := h.env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != errType {
		h.t.Fatalf("workflow error %v, want application error %s", err, errType)
	}
	if appErr.NonRetryable() != true {
		h.t.Errorf("%s is retryable", errType)
	}
	var st workflows.Status
	if err := appErr.Details(&st); err != nil {
		h.t.Fatalf("details: %v", err)
	}
	return st
}

func (h *harness) query() workflows.Status {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(workflows.QueryStatus)
	if err != nil {
		h.t.Fatalf("query: %v", err)
	}
	var st workflows.Status
	if err := v.Get(&st); err != nil {
		h.t.Fatal(err)
	}
	return st
}

func (h *harness) signal(at time.Duration, n alipay.CaptureNotification) {
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(workflows.SignalNotifyCapture, n) }, at)
}

// signalFrom signals n at workflow time at as the receiver does after verifying it with
// merchant's Antom key.
func (h *harness) signalFrom(at time.Duration, merchant string, n alipay.CaptureNotification) {
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(workflows.SignalNotifyCapture, workflows.Notification{Merchant: merchant, CaptureNotification: n})
	}, at)
}

func note(status string, id string) alipay.CaptureNotification {
	n := alipay.CaptureNotification{NotifyType: alipay.NotifyTypeCaptureResult, CaptureRequestID: id, PaymentID: "PAY1", CaptureAmount: usd10}
	if status == "S" {
		n.Result, n.CaptureID, n.CaptureTime = resS, "CAP-N", "2026-11-02T10:00:00Z"
	} else {
		n.Result = alipay.Result{ResultCode: "PROCESS_FAIL", ResultStatus: alipay.StatusFail, ResultMessage: "declined"}
	}
	return n
}

func inProcess(int, workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
	return workflows.CaptureActivityResult{Result: resU}, nil
}

func (h *harness) wantCaptureIDs(n int) {
	h.t.Helper()
	if len(h.captureReq) != n {
		h.t.Fatalf("%d capture calls, want %d", len(h.captureReq), n)
	}
	for _, r := range h.captureReq {
		if r.CaptureRequestID != reqID || r.PaymentID != "PAY1" || r.CaptureAmount != usd10 {
			h.t.Errorf("capture request %+v, want id %s for PAY1 %v", r, reqID, usd10)
		}
	}
}

func (h *harness) wantStatuses(want ...string) {
	h.t.Helper()
	got := h.statuses
	if h.started && len(got) > 0 && got[0] == string(workflows.StatePending) && (len(want) == 0 || want[0] != got[0]) {
		got = got[1:]
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		h.t.Errorf("CaptureStatus went %v, want %v", h.statuses, want)
	}
}

func TestCaptureSucceedsAtOnce(t *testing.T) {
	h := newHarness(t)
	h.run(input())
	r := h.result()
	if r.State != workflows.StateCaptured || r.ResolvedBy != workflows.ResolvedByResponse || r.CaptureID != "CAP1" ||
		r.CapturedAmount != usd10 || r.CaptureCalls != 1 || r.Inquiries != 0 || r.CaptureRequestID != reqID {
		t.Errorf("result %+v", r)
	}
	if want := t0.Add(-time.Hour).Add(7 * 24 * time.Hour); !r.Deadline.Equal(want) {
		t.Errorf("deadline %v, want %v", r.Deadline, want)
	}
	h.wantCaptureIDs(1)
	h.wantStatuses("CAPTURING", "CAPTURED")
	if h.attrs[workflows.SearchAttrPaymentID] != "PAY1" || h.attrs[workflows.SearchAttrOrderID] != "ORDER-7" {
		t.Errorf("search attributes %v", h.attrs)
	}
	if d, ok := h.attrs[workflows.SearchAttrDeadline].(time.Time); !ok || !d.Equal(r.Deadline) {
		t.Errorf("CaptureDeadline %v, want %v", h.attrs[workflows.SearchAttrDeadline], r.Deadline)
	}
	if h.memo["amount"] != "10.00 USD" || h.memo["orderId"] != "ORDER-7" {
		t.Errorf("memo %v", h.memo)
	}
}

func TestCaptureRefused(t *testing.T) {
	for _, errType := range []string{workflows.ErrTypeRefused, workflows.ErrTypeConfig} {
		h := newHarness(t)
		h.capture = func(int, workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
			r := alipay.Result{ResultCode: "RISK_REJECT", ResultStatus: "F", ResultMessage: "risk"}
			return workflows.CaptureActivityResult{}, temporal.NewNonRetryableApplicationError("refused", errType, nil, r)
		}
		h.run(input())
		st := h.failure(workflows.ErrTypeCaptureFailed)
		if st.State != workflows.StateFailed || st.ResultCode != "RISK_REJECT" || st.ResolvedBy != workflows.ResolvedByResponse {
			t.Errorf("%s: status %+v", errType, st)
		}
		h.wantCaptureIDs(1)
		h.wantStatuses("CAPTURING", "FAILED")
	}
}

func TestUnknownThenNotification(t *testing.T) {
	for _, status := range []string{"S", "F"} {
		h := newHarness(t)
		h.capture = inProcess
		h.signal(time.Minute, note(status, reqID)) // before the first inquiry at 2 min
		var mid workflows.Status
		h.env.RegisterDelayedCallback(func() { mid = h.query() }, 30*time.Second)
		h.run(input())
		if mid.State != workflows.StateUnknown || mid.ResultCode != alipay.CodeCaptureInProcess || !mid.NextInquiryAt.Equal(t0.Add(2*time.Minute)) || mid.CaptureCalls != 1 {
			t.Errorf("status while waiting: %+v", mid)
		}
		var st workflows.Status
		if status == "S" {
			st = h.result()
			if st.State != workflows.StateCaptured || st.CaptureID != "CAP-N" || st.CaptureTime == "" {
				t.Errorf("result %+v", st)
			}
			h.wantStatuses("CAPTURING", "UNKNOWN", "CAPTURED")
		} else {
			st = h.failure(workflows.ErrTypeCaptureFailed)
			if st.State != workflows.StateFailed || st.ResultCode != "PROCESS_FAIL" {
				t.Errorf("status %+v", st)
			}
			h.wantStatuses("CAPTURING", "UNKNOWN", "FAILED")
		}
		if st.ResolvedBy != workflows.ResolvedByNotification || st.Inquiries != 0 {
			t.Errorf("%s: resolved by %s after %d inquiries", status, st.ResolvedBy, st.Inquiries)
		}
		h.wantCaptureIDs(1)
	}
}

func TestUnknownThenInquiry(t *testing.T) {
	tx := func(status string, r alipay.Result) workflows.InquiryActivityResult {
		return workflows.InquiryActivityResult{Found: true, TransactionStatus: status, TransactionResult: r, CaptureID: "CAP-I", CaptureAmount: usd10}
	}
	failRes := alipay.Result{ResultCode: "PROCESS_FAIL", ResultStatus: "F"}
	tests := []struct {
		name      string
		answers   []workflows.InquiryActivityResult
		state     workflows.State
		inquiries int
	}{
		{"success", []workflows.InquiryActivityResult{tx(alipay.TxSuccess, resS)}, workflows.StateCaptured, 1},
		{"fail", []workflows.InquiryActivityResult{tx(alipay.TxFail, failRes)}, workflows.StateFailed, 1},
		{"processing then success", []workflows.InquiryActivityResult{tx(alipay.TxProcessing, resU), tx(alipay.TxProcessing, resU), tx(alipay.TxSuccess, resS)}, workflows.StateCaptured, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.capture = inProcess
			h.inquiry = func(n int) (workflows.InquiryActivityResult, error) { return tt.answers[n-1], nil }
			h.run(input())
			var st workflows.Status
			if tt.state == workflows.StateCaptured {
				st = h.result()
				if st.CaptureID != "CAP-I" {
					t.Errorf("capture id %q", st.CaptureID)
				}
			} else {
				st = h.failure(workflows.ErrTypeCaptureFailed)
				if st.ResultCode != "PROCESS_FAIL" {
					t.Errorf("code %s", st.ResultCode)
				}
			}
			if st.State != tt.state || st.ResolvedBy != workflows.ResolvedByInquiry || st.Inquiries != tt.inquiries {
				t.Errorf("status %+v", st)
			}
			// Inquiries follow the schedule: 2 min, then 10 and 10 more.
			want := []time.Duration{2 * time.Minute, 12 * time.Minute, 22 * time.Minute}
			for i, at := range h.inquiries {
				if got := at.Sub(t0); got < want[i] || got > want[i]+time.Minute {
					t.Errorf("inquiry %d at +%v, want +%v", i+1, got, want[i])
				}
			}
			h.wantCaptureIDs(1)
		})
	}
}

func TestNotificationBeforeTheWorkflowWaits(t *testing.T) {
	h := newHarness(t)
	// The notification is signalled while the capture call is still running: the workflow sees
	// the U answer first and must find the buffered notification when it starts waiting.
	h.capture = func(int, workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
		h.env.SignalWorkflow(workflows.SignalNotifyCapture, note("S", reqID))
		return workflows.CaptureActivityResult{Result: resU}, nil
	}
	h.run(input())
	st := h.result()
	if st.State != workflows.StateCaptured || st.ResolvedBy != workflows.ResolvedByNotification || len(h.inquiries) != 0 {
		t.Errorf("status %+v after %d inquiries", st, len(h.inquiries))
	}
}

func TestNotificationStopsCaptureRetries(t *testing.T) {
	h := newHarness(t)
	h.capture = func(int, workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
		return workflows.CaptureActivityResult{}, temporal.NewApplicationError("timeout", workflows.ErrTypeOutcomeUnknown)
	}
	// The series sends at +0 s, +5 s and +15 s; the notification comes between the second and
	// the third.
	h.signal(10*time.Second, note("S", reqID))
	h.run(input())
	st := h.result()
	if st.State != workflows.StateCaptured || st.ResolvedBy != workflows.ResolvedByNotification {
		t.Errorf("status %+v", st)
	}
	n := len(h.captureReq)
	if n != 2 {
		t.Errorf("%d capture attempts, want the 2 sent before the notification", n)
	}
	for i, at := range h.captureAt {
		if at.Sub(t0) > 10*time.Second {
			t.Errorf("attempt %d at +%v, after the notification should have stopped the series", i+1, at.Sub(t0))
		}
	}
	h.wantCaptureIDs(n)
}

func TestDuplicateAndForeignNotifications(t *testing.T) {
	h := newHarness(t)
	h.capture = inProcess
	// An S for a request this authorization never sent is money Antom moved for it: recorded,
	// counted and flagged (rule 12); the capture in flight is still resolved by its inquiry. A
	// notification for another payment changes nothing.
	h.signal(time.Minute, note("S", "SOMEONE-ELSE-cap-1"))
	h.signal(time.Minute, note("F", "SOMEONE-ELSE-cap-2")) // nothing moved: no record, the capture in flight untouched
	foreignOtherPayment := note("S", reqID)
	foreignOtherPayment.PaymentID = "PAY2"
	h.signal(time.Minute, foreignOtherPayment)
	h.inquiry = func(int) (workflows.InquiryActivityResult, error) {
		return workflows.InquiryActivityResult{Found: true, TransactionStatus: alipay.TxSuccess, TransactionResult: resS, CaptureID: "CAP-I"}, nil
	}
	h.run(input())
	if st := h.result(); len(st.Captures) != 2 || st.Captures[0].ResolvedBy != workflows.ResolvedByInquiry || st.Captures[0].CaptureID != "CAP-I" ||
		st.Captures[1].CaptureRequestID != "SOMEONE-ELSE-cap-1" || st.Captures[1].Contradiction == "" || st.Captured.Value != "2000" {
		t.Errorf("foreign notifications: %+v", st)
	}

	// Duplicates: the first resolves, the rest change nothing.
	h = newHarness(t)
	h.capture = inProcess
	h.signal(time.Minute, note("S", reqID))
	h.signal(time.Minute, note("S", reqID))
	h.signal(time.Minute, note("F", reqID)) // a contradicting late copy must not flip the result
	h.run(input())
	if st := h.result(); st.State != workflows.StateCaptured || st.ResolvedBy != workflows.ResolvedByNotification {
		t.Errorf("duplicates: %+v", st)
	}
	h.wantStatuses("CAPTURING", "UNKNOWN", "CAPTURED")
}

// TestRetriesReuseTheRequestID runs the real activities against a scripted Antom: unknown
// exceptions, transport errors and unsigned answers are retried, always with the same id, in
// series of at most three sends; an inquiry that finds no capture starts the next series.
func TestRetriesReuseTheRequestID(t *testing.T) {
	env := newEnv()
	env.SetStartTime(t0)
	fake := &scriptedAntom{captures: []func() (*alipay.CaptureResponse, error){
		func() (*alipay.CaptureResponse, error) {
			return &alipay.CaptureResponse{Result: alipay.Result{ResultCode: alipay.CodeUnknownException, ResultStatus: "U"}}, nil
		},
		func() (*alipay.CaptureResponse, error) {
			return nil, &alipay.CallError{Op: "capture", Kind: alipay.ErrOutcomeUnknown, Err: errors.New("connection reset")}
		},
		func() (*alipay.CaptureResponse, error) {
			return nil, &alipay.CallError{Op: "capture", Kind: alipay.ErrNotSent, Err: errors.New("connection refused")}
		},
		func() (*alipay.CaptureResponse, error) {
			return &alipay.CaptureResponse{Result: alipay.Result{ResultCode: alipay.CodeTrafficExceedLimit, ResultStatus: "U"}}, nil
		},
		func() (*alipay.CaptureResponse, error) {
			return &alipay.CaptureResponse{Result: resS, CaptureID: "CAP9", CaptureAmount: usd10}, nil
		},
	}}
	env.RegisterWorkflow(workflows.CaptureWorkflow)
	env.RegisterActivity(&activities.Activities{Antom: fake, Now: env.Now})
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	env.OnUpsertMemo(mock.Anything).Return(nil)
	startCapture(env, input())
	env.ExecuteWorkflow(workflows.CaptureWorkflow, input())
	var r workflows.Result
	if err := env.GetWorkflowResult(&r); err != nil {
		t.Fatal(err)
	}
	if r.State != workflows.StateCaptured || r.CaptureID != "CAP9" || r.CaptureCalls != 2 || r.Inquiries != 1 {
		t.Errorf("result %+v, want two series of sends with one inquiry between", r)
	}
	if len(fake.ids) != 5 {
		t.Fatalf("%d capture attempts, want 5", len(fake.ids))
	}
	for _, id := range fake.ids {
		if id != reqID {
			t.Errorf("attempt sent captureRequestId %q, want %q every time", id, reqID)
		}
	}
}

type scriptedAntom struct {
	captures []func() (*alipay.CaptureResponse, error)
	ids      []string
}

func (s *scriptedAntom) Capture(_ context.Context, req alipay.CaptureRequest) (*alipay.CaptureResponse, error) {
	s.ids = append(s.ids, req.CaptureRequestID)
	return s.captures[min(len(s.ids), len(s.captures))-1]()
}

// InquiryPayment finds no capture: the request never took effect.
func (s *scriptedAntom) InquiryPayment(_ context.Context, req alipay.InquiryRequest) (*alipay.InquiryResponse, error) {
	return &alipay.InquiryResponse{Result: resS, PaymentID: req.PaymentID, PaymentStatus: alipay.TxSuccess}, nil
}

func (s *scriptedAntom) Cancel(context.Context, alipay.CancelRequest) (*alipay.CancelResponse, error) {
	return nil, errors.New("not scripted")
}

func TestInquiryFindsNoCaptureSoTheSameRequestIsResent(t *testing.T) {
	h := newHarness(t)
	h.capture = func(n int, in workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
		if n == 1 {
			return workflows.CaptureActivityResult{Result: resU}, nil
		}
		return workflows.CaptureActivityResult{Result: resS, CaptureID: "CAP2"}, nil
	}
	h.inquiry = func(int) (workflows.InquiryActivityResult, error) {
		return workflows.InquiryActivityResult{Found: false}, nil
	}
	h.run(input())
	st := h.result()
	if st.State != workflows.StateCaptured || st.CaptureCalls != 2 || st.ResolvedBy != workflows.ResolvedByResponse || st.CaptureID != "CAP2" {
		t.Errorf("status %+v", st)
	}
	h.wantCaptureIDs(2)
	if got := h.captureAt[1].Sub(t0); got < 2*time.Minute {
		t.Errorf("resent at +%v, before the first inquiry", got)
	}
}

// TestUnknownUntilTheDeadline: a capture UNKNOWN all week is inquired on the schedule; at the
// deadline Antom's answer decides, and a capture still PROCESSING stays open (overdue) until
// Antom answers or policy.resolveWithin runs out (docs/design.md, rule 1).
func TestUnknownUntilTheDeadline(t *testing.T) {
	deadline := t0.Add(7 * 24 * time.Hour).Add(-time.Hour)
	processing := workflows.InquiryActivityResult{Found: true, TransactionStatus: alipay.TxProcessing, TransactionResult: resU}
	late := workflows.InquiryActivityResult{Found: true, TransactionStatus: alipay.TxSuccess, TransactionResult: resS, CaptureID: "LATE", CaptureAmount: usd10}
	tests := []struct {
		name       string
		atDeadline workflows.InquiryActivityResult
		afterward  func(h *harness) workflows.InquiryActivityResult // answers past the deadline
		note       time.Duration                                    // a notification S this long after the deadline
		state      workflows.State
		resolvedBy string
	}{
		{name: "absent at the deadline", atDeadline: workflows.InquiryActivityResult{}, state: workflows.StateExpired, resolvedBy: workflows.ResolvedByDeadline},
		{name: "failed at the deadline", atDeadline: workflows.InquiryActivityResult{Found: true, TransactionStatus: alipay.TxFail}, state: workflows.StateExpired, resolvedBy: workflows.ResolvedByDeadline},
		{name: "success at the deadline", atDeadline: late, state: workflows.StateCaptured, resolvedBy: workflows.ResolvedByDeadline},
		{name: "processing, then a late success by inquiry", atDeadline: processing, afterward: func(h *harness) workflows.InquiryActivityResult {
			if h.env.Now().Before(deadline.Add(3 * 24 * time.Hour)) {
				return processing
			}
			return late
		}, state: workflows.StateCaptured, resolvedBy: workflows.ResolvedByInquiry},
		{name: "processing, then a late notification", atDeadline: processing, note: 40 * time.Hour, state: workflows.StateCaptured, resolvedBy: workflows.ResolvedByNotification},
		{name: "processing until resolveWithin", atDeadline: processing, state: workflows.StateUnresolved, resolvedBy: workflows.ResolvedByTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.capture = inProcess
			var lastAt time.Time
			h.inquiry = func(n int) (workflows.InquiryActivityResult, error) {
				now := h.env.Now()
				switch {
				case now.Before(deadline):
					return processing, nil
				case now.Equal(deadline):
					return tt.atDeadline, nil
				}
				lastAt = now
				if tt.afterward != nil {
					return tt.afterward(h), nil
				}
				return processing, nil
			}
			var overdue workflows.Status
			h.env.RegisterDelayedCallback(func() { overdue = h.query() }, deadline.Sub(t0)+time.Hour)
			if tt.note > 0 {
				h.signal(deadline.Sub(t0)+tt.note, note("S", reqID))
			}
			h.run(input())
			var st workflows.Status
			switch tt.state {
			case workflows.StateCaptured:
				st = h.result()
			case workflows.StateExpired:
				st = h.failure(workflows.ErrTypeAuthorizationExpired)
			case workflows.StateUnresolved:
				st = h.failure(workflows.ErrTypeUnresolved)
				if want := deadline.Add(30 * 24 * time.Hour); !lastAt.Equal(want) {
					t.Errorf("last inquiry at %v, want at resolveWithin %v", lastAt, want)
				}
			}
			if st.State != tt.state || st.ResolvedBy != tt.resolvedBy || st.Overdue != (tt.state == workflows.StateUnresolved) {
				t.Errorf("status %+v, want %s resolved by %s", st, tt.state, tt.resolvedBy)
			}
			h.wantStatuses("CAPTURING", "UNKNOWN", string(tt.state))
			if tt.atDeadline.TransactionStatus == alipay.TxProcessing {
				if overdue.State != workflows.StateUnknown || !overdue.Overdue || !overdue.ResolveBy.Equal(deadline.Add(30*24*time.Hour)) {
					t.Errorf("an hour after the deadline: %+v, want UNKNOWN and overdue", overdue)
				}
			}
			// At +2m, 12m, 22m, 1h22m, 3h22m, 9h22m, then every 6 h while before the deadline
			// (+167 h): 26 more; then one at the deadline.
			if n := len(h.inquiries); tt.atDeadline.TransactionStatus != alipay.TxProcessing && n != 33 {
				t.Errorf("%d inquiries over the week", n)
			}
			for _, at := range h.captureAt {
				if !at.Before(deadline.Add(-workflows.DefaultPolicy().DeadlineMargin)) {
					t.Errorf("capture sent at %v, past the cut-off", at)
				}
			}
			h.wantCaptureIDs(1)
		})
	}
}

// TestLegacyCapturesKeepTheirLogic: a capture whose history was recorded by the first release
// (no version marker) keeps that release's behaviour when replayed and continued, here EXPIRED
// at the deadline while Antom still reports PROCESSING.
func TestStartedAfterTheDeadline(t *testing.T) {
	for name, in := range map[string]workflows.CaptureInput{
		"authorizedAt":      {PaymentID: "PAY1", Amount: usd10, AuthorizedAt: t0.Add(-8 * 24 * time.Hour)},
		"authExpiresAt":     {PaymentID: "PAY1", Amount: usd10, AuthExpiresAt: t0.Add(-time.Second)},
		"inside the margin": {PaymentID: "PAY1", Amount: usd10, AuthExpiresAt: t0.Add(5 * time.Minute)},
	} {
		h := newHarness(t)
		h.run(in)
		st := h.failure(workflows.ErrTypeAuthorizationExpired)
		if st.State != workflows.StateExpired || len(h.captureReq) != 0 || st.CaptureCalls != 0 {
			t.Errorf("%s: status %+v after %d capture calls", name, st, len(h.captureReq))
		}
	}
}

func TestDeadlineFromInquiry(t *testing.T) {
	h := newHarness(t)
	expiry := t0.Add(3 * 24 * time.Hour)
	h.inquiry = func(int) (workflows.InquiryActivityResult, error) {
		return workflows.InquiryActivityResult{AuthExpiryTime: expiry, PaymentStatus: alipay.TxSuccess}, nil
	}
	h.run(workflows.CaptureInput{PaymentID: "PAY1", Amount: usd10})
	st := h.result()
	if !st.Deadline.Equal(expiry) || st.Inquiries != 1 || st.State != workflows.StateCaptured {
		t.Errorf("status %+v", st)
	}

	h = newHarness(t)
	h.inquiry = func(int) (workflows.InquiryActivityResult, error) { return workflows.InquiryActivityResult{}, nil }
	h.run(workflows.CaptureInput{PaymentID: "PAY1", Amount: usd10})
	if st := h.failure(workflows.ErrTypeCaptureFailed); st.State != workflows.StateFailed || st.ResultCode != workflows.CodeNoDeadline || len(h.captureReq) != 0 {
		t.Errorf("no deadline anywhere: %+v, %d captures", st, len(h.captureReq))
	}
	h.wantStatuses("FAILED")
}

func TestCancel(t *testing.T) {
	in := input()

	// Before the capture: the authorization is voided and the workflow ends CANCELLED.
	h := newHarness(t)
	var accepted bool
	var updErr error
	var updRes workflows.Result
	h.env.RegisterDelayedCallback(func() {
		if st := h.query(); st.State != workflows.StatePending {
			t.Errorf("state before the capture: %s", st.State)
		}
		h.env.UpdateWorkflow(workflows.UpdateCancel, "u1", &testsuite.TestUpdateCallback{
			OnAccept: func() { accepted = true },
			OnReject: func(err error) { updErr = err },
			OnComplete: func(r any, err error) {
				updErr = err
				if r != nil {
					updRes = *r.(*workflows.Result)
				}
			},
		}, "order not shipped")
	}, time.Hour)
	h.authorize(in)
	st := h.result()
	if !accepted || updErr != nil || updRes.State != workflows.StateCancelled {
		t.Errorf("update: accepted %v, err %v, result %+v", accepted, updErr, updRes)
	}
	if st.State != workflows.StateCancelled || st.ResolvedBy != workflows.ResolvedByCancel || h.cancels != 1 || len(h.captureReq) != 0 {
		t.Errorf("status %+v, %d cancels, %d captures", st, h.cancels, len(h.captureReq))
	}
	h.wantStatuses("PENDING", "CANCELLED")

	// Antom refuses the cancel: the caller hears why, and a later capture request goes ahead.
	h = newHarness(t)
	h.cancel = func() (alipay.Result, error) {
		r := alipay.Result{ResultCode: alipay.CodeCancelWindowExceed, ResultStatus: "F"}
		return alipay.Result{}, temporal.NewNonRetryableApplicationError("refused", workflows.ErrTypeRefused, nil, r)
	}
	updErr = nil
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(workflows.UpdateCancel, "u2", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { updErr = err },
			OnComplete: func(_ any, err error) { updErr = err },
		}, "x")
	}, time.Hour)
	h.update(2*time.Hour, "ship", workflows.CaptureRequest{Amount: usd10, IsLastCapture: true, Key: "ship-1"})
	h.authorize(in)
	if updErr == nil || !strings.Contains(updErr.Error(), "refused") {
		t.Errorf("refused cancel: update error %v", updErr)
	}
	if st := h.result(); st.State != workflows.StateCaptured || len(h.captureAt) != 1 || !h.captureAt[0].Equal(t0.Add(2*time.Hour)) {
		t.Errorf("after a refused cancel: %+v, captured at %v", st, h.captureAt)
	}

	// After a capture was sent: refused by the validator, nothing is cancelled.
	h = newHarness(t)
	h.capture = inProcess
	var rejected error
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(workflows.UpdateCancel, "u3", &testsuite.TestUpdateCallback{
			OnAccept: func() { t.Error("cancel accepted while a capture is in flight") },
			OnReject: func(err error) { rejected = err }, OnComplete: func(any, error) {},
		}, "too late")
	}, time.Minute)
	h.signal(5*time.Minute, note("S", reqID))
	h.run(input())
	if rejected == nil || !strings.Contains(rejected.Error(), "UNKNOWN") || h.cancels != 0 {
		t.Errorf("rejection %v, %d cancels", rejected, h.cancels)
	}
	if st := h.result(); st.State != workflows.StateCaptured {
		t.Errorf("state %s", st.State)
	}
}

// TestStartCapturesNothing: a start alone (rule 11) sends no capture; the authorization lapses
// at its deadline.
func TestStartCapturesNothing(t *testing.T) {
	h := newHarness(t)
	h.authorize(input())
	st := h.failure(workflows.ErrTypeAuthorizationExpired)
	if len(h.captureReq) != 0 || st.State != workflows.StateExpired || len(st.Captures) != 0 {
		t.Errorf("status %+v, %d captures", st, len(h.captureReq))
	}
}

func TestCaptureActivityNeverRunsPastTheCutoff(t *testing.T) {
	h := newHarness(t)
	in := input()
	in.AuthorizedAt = time.Time{}
	in.AuthExpiresAt = t0.Add(2 * time.Hour)
	in.Policy.DeadlineMargin = time.Hour
	h.capture = func(int, workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
		return workflows.CaptureActivityResult{}, temporal.NewApplicationError("no answer", workflows.ErrTypeOutcomeUnknown)
	}
	h.inquiry = func(int) (workflows.InquiryActivityResult, error) { return workflows.InquiryActivityResult{}, nil }
	h.run(in)
	st := h.failure(workflows.ErrTypeAuthorizationExpired)
	if len(h.captureReq) < 5 {
		t.Errorf("only %d attempts", len(h.captureReq))
	}
	for _, at := range h.captureAt {
		if !at.Before(t0.Add(time.Hour)) {
			t.Errorf("attempt at +%v, past the cut-off at +1h", at.Sub(t0))
		}
	}
	if st.ResolvedBy != workflows.ResolvedByDeadline {
		t.Errorf("status %+v", st)
	}
}

func TestInvalidInput(t *testing.T) {
	bad := map[string]workflows.CaptureInput{
		"no payment":      {Amount: usd10, AuthorizedAt: t0},
		"long payment":    {PaymentID: strings.Repeat("p", 65), Amount: usd10, AuthorizedAt: t0},
		"float amount":    {PaymentID: "P", Amount: alipay.Amount{Currency: "USD", Value: "10.00"}, AuthorizedAt: t0},
		"no currency":     {PaymentID: "P", Amount: alipay.Amount{Value: "1000"}, AuthorizedAt: t0},
		"expiry < auth":   {PaymentID: "P", Amount: usd10, AuthorizedAt: t0, AuthExpiresAt: t0.Add(-time.Hour)},
		"zero wait":       {PaymentID: "P", Amount: usd10, AuthorizedAt: t0, Policy: workflows.Policy{InquirySchedule: []time.Duration{time.Minute, 0}}},
		"huge margin":     {PaymentID: "P", Amount: usd10, AuthorizedAt: t0, Policy: workflows.Policy{DeadlineMargin: 8 * 24 * time.Hour}},
		"negative margin": {PaymentID: "P", Amount: usd10, AuthorizedAt: t0, Policy: workflows.Policy{DeadlineMargin: -time.Second}},
	}
	for name, in := range bad {
		h := newHarness(t)
		h.authorize(in)
		var appErr *temporal.ApplicationError
		err := h.env.GetWorkflowError()
		if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTypeInvalidInput || !appErr.NonRetryable() {
			t.Errorf("%s: %v, want a non-retryable InvalidInput", name, err)
		}
		var st workflows.Status
		if err := appErr.Details(&st); err != nil || st.State != workflows.StateFailed || st.ResultCode != workflows.CodeInvalidInput {
			t.Errorf("%s: status %+v (%v), want FAILED %s", name, st, err, workflows.CodeInvalidInput)
		}
		h.wantStatuses("FAILED")
		if len(h.captureReq)+len(h.inquiries) != 0 {
			t.Errorf("%s: called Antom", name)
		}
	}
}

func TestCaptureRequestID(t *testing.T) {
	long := strings.Repeat("9", 64)
	tests := []struct{ payment, key string }{
		{"2024110212345", workflows.StartKey}, {"2024110212345", "ship-1"}, {long, workflows.StartKey}, {long, "ship-1"},
		{long[:59], "1"}, {long[:59] + "1", ""}, {"a:b", "c"}, {"a", "b:c"}, {"P", strings.Repeat("k", workflows.MaxKeyLength)},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		id := workflows.CaptureRequestID(tt.payment, tt.key)
		if len(id) != 64 || !strings.HasPrefix(id, "cap-") {
			t.Errorf("CaptureRequestID(%q, %q) = %q (%d characters)", tt.payment, tt.key, id, len(id))
		}
		if id != workflows.CaptureRequestID(tt.payment, tt.key) {
			t.Errorf("not deterministic: %q", id)
		}
		if seen[id] {
			t.Errorf("duplicate id %q for (%q, %q)", id, tt.payment, tt.key)
		}
		seen[id] = true
	}
	// The form is a contract (other languages derive it): pin one value.
	if got := workflows.CaptureRequestID("PAY1", "start"); got != pinnedStartID {
		t.Errorf("CaptureRequestID(PAY1, start) = %q, want %q", got, pinnedStartID)
	}
	if got := workflows.WorkflowID("PAY1"); got != "capture/PAY1" {
		t.Errorf("WorkflowID = %q", got)
	}
}

// pinnedStartID is CaptureRequestID("PAY1", "start"), computed independently: "cap-" and the
// first 60 hex digits of SHA-256("4:PAY1:start").
const pinnedStartID = "cap-ef78b12bd0164c52dfc34340240b430fd83de683fb5e875b39dcd777c95e"
