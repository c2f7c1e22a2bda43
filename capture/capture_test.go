package capture_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/internal/temporaltest"
	"github.com/capturekit/alipay-capture/workflows"
)

var usd10 = alipay.Amount{Currency: "USD", Value: "1000"}

type env struct {
	sim *alipaytest.Server
	cc  capture.Client
}

func setup(t *testing.T) env {
	t.Helper()
	srv, sim := temporaltest.StartCaptureSystem(t, "capture-test")
	return env{sim: sim, cc: capture.Client{Temporal: srv.Client, TaskQueue: "capture-test"}}
}

func (e env) authorize(t *testing.T, sc alipaytest.Scenario) string {
	t.Helper()
	p, err := e.sim.Authorize(alipaytest.Authorization{Amount: usd10, Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	return p.PaymentID
}

// eventually polls the visibility store, which lags the workflow by a moment.
// eventually polls f for up to a minute: visibility and scheduled workflows lag, more so on a
// busy machine.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s never happened", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestStartIsIdempotentAndFollowable(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	pid := e.authorize(t, alipaytest.Scenario{})
	in := workflows.CaptureInput{PaymentID: pid, Amount: usd10, OrderID: "ORD-1", AuthorizedAt: time.Now()}
	first, err := e.cc.Start(ctx, in)
	if err != nil || first.AlreadyStarted || first.RunID == "" || first.WorkflowID != "capture/"+pid {
		t.Fatalf("first start: %+v, %v", first, err)
	}
	second, err := e.cc.Start(ctx, in) // a second shipment event while it runs or after it finished
	if err != nil || !second.AlreadyStarted || second.RunID != first.RunID {
		t.Fatalf("second start: %+v, %v", second, err)
	}
	res, err := e.cc.Wait(ctx, pid)
	if err != nil || res.State != workflows.StateCaptured {
		t.Fatalf("wait: %+v, %v", res, err)
	}
	third, err := e.cc.Start(ctx, in) // after completion
	if err != nil || !third.AlreadyStarted || third.RunID != first.RunID {
		t.Fatalf("start after completion: %+v, %v", third, err)
	}
	if n := e.sim.CapturesSucceeded(pid); n != 1 {
		t.Errorf("%d captures in the ledger", n)
	}
	st, err := e.cc.Status(ctx, pid)
	if err != nil || st.State != workflows.StateCaptured || st.CaptureCalls != 1 {
		t.Errorf("status: %+v, %v", st, err)
	}

	var list []capture.Summary
	eventually(t, "listing by CaptureStatus", func() bool {
		list, err = e.cc.List(ctx, capture.Filter{State: workflows.StateCaptured})
		return err == nil && len(list) == 1 && list[0].Execution == "Completed"
	})
	if list[0].PaymentID != pid || list[0].OrderID != "ORD-1" || list[0].Deadline.IsZero() {
		t.Errorf("summary %+v", list[0])
	}
	// Search by AlipayPaymentId, as an operator would in the UI.
	eventually(t, "search by AlipayPaymentId", func() bool {
		it := 0
		resp, err := e.cc.Temporal.ListWorkflow(ctx, listRequest("AlipayPaymentId = '"+pid+"'"))
		if err == nil {
			it = len(resp.GetExecutions())
		}
		return it == 1
	})
}

func TestWaitReportsFailure(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	pid := e.authorize(t, alipaytest.Scenario{Result: "F", FailCode: "RISK_REJECT"})
	if _, err := e.cc.Start(ctx, workflows.CaptureInput{PaymentID: pid, Amount: usd10, AuthorizedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	res, err := e.cc.Wait(ctx, pid)
	var out *capture.Outcome
	if !errors.Is(err, capture.ErrNotCaptured) || !errors.As(err, &out) || out.ResultCode != "RISK_REJECT" || res.State != workflows.StateFailed {
		t.Fatalf("wait: %+v, %v", res, err)
	}
	eventually(t, "listing FAILED", func() bool {
		l, err := e.cc.List(ctx, capture.Filter{State: workflows.StateFailed})
		return err == nil && len(l) == 1 && l[0].Execution == "Failed"
	})
}

func TestCancelBeforeCapture(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	pid := e.authorize(t, alipaytest.Scenario{})
	if _, err := e.cc.Authorize(ctx, workflows.CaptureInput{PaymentID: pid, Amount: usd10, AuthorizedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	res, err := e.cc.Cancel(ctx, pid, "order cancelled by the customer")
	if err != nil || res.State != workflows.StateCancelled {
		t.Fatalf("cancel: %+v, %v", res, err)
	}
	if p, _ := e.sim.Payment(pid); p.State != alipaytest.StateCancelled || p.CaptureCalls != 0 {
		t.Errorf("ledger %+v", p)
	}
	if _, err := e.cc.Cancel(ctx, "NO-SUCH-PAYMENT", "x"); !errors.Is(err, capture.ErrNotFound) {
		t.Errorf("cancel unknown: %v", err)
	}
	if _, err := e.cc.Status(ctx, "NO-SUCH-PAYMENT"); !errors.Is(err, capture.ErrNotFound) {
		t.Errorf("status unknown: %v", err)
	}
}

func TestStartRefusesInvalidInput(t *testing.T) {
	cc := capture.Client{} // never reached: validation comes first
	_, err := cc.Start(context.Background(), workflows.CaptureInput{PaymentID: "P", Amount: alipay.Amount{Currency: "USD", Value: "10.00"}})
	if err == nil || !strings.Contains(err.Error(), "amount") {
		t.Errorf("err = %v", err)
	}
}

func TestFilterQuery(t *testing.T) {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	q := capture.Filter{State: workflows.StateUnknown, DeadlineWithin: 24 * time.Hour, OpenOnly: true, Now: now}.Query()
	want := "CaptureStatus = 'UNKNOWN' AND CaptureDeadline BETWEEN '2026-11-02T09:00:00Z' AND '2026-11-03T09:00:00Z' AND ExecutionStatus = 'Running' AND WorkflowType = 'CaptureWorkflow'"
	if q != want {
		t.Errorf("query\n%s\nwant\n%s", q, want)
	}
	for merchant, want := range map[string]string{
		"europe": "AlipayMerchant = 'europe' AND WorkflowType = 'CaptureWorkflow'",
		// Captures started without AlipayMerchant belong to the default account.
		workflows.DefaultMerchant: "(AlipayMerchant = 'default' OR AlipayMerchant IS NULL) AND WorkflowType = 'CaptureWorkflow'",
	} {
		if q := (capture.Filter{Merchant: merchant}).Query(); q != want {
			t.Errorf("merchant %s: query\n%s\nwant\n%s", merchant, q, want)
		}
	}
}

func listRequest(q string) *workflowservice.ListWorkflowExecutionsRequest {
	return &workflowservice.ListWorkflowExecutionsRequest{Query: q}
}

func TestCensus(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	start := func(usd string, expiresIn time.Duration) string {
		p, err := e.sim.Authorize(alipaytest.Authorization{Amount: alipay.MustParseDecimal("USD", usd), Scenario: alipaytest.Scenario{Result: "U", NoNotify: true}})
		if err != nil {
			t.Fatal(err)
		}
		in := workflows.CaptureInput{PaymentID: p.PaymentID, Amount: p.Amount, AuthExpiresAt: time.Now().Add(expiresIn),
			Policy: workflows.Policy{InquirySchedule: []time.Duration{time.Hour}}}
		if _, err := e.cc.Start(ctx, in); err != nil {
			t.Fatal(err)
		}
		return p.PaymentID
	}
	start("10.50", 2*time.Hour)                   // near its deadline
	start("0.25", 5*24*time.Hour)                 // not near
	done := e.authorize(t, alipaytest.Scenario{}) // captured: not at risk
	if _, err := e.cc.Start(ctx, workflows.CaptureInput{PaymentID: done, Amount: usd10, AuthorizedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cc.Wait(ctx, done); err != nil {
		t.Fatal(err)
	}
	var c capture.Census
	eventually(t, "both open captures counted as UNKNOWN", func() bool {
		var err error
		c, err = e.cc.Census(ctx, time.Now(), 24*time.Hour)
		return err == nil && c.Running == 2 && c.Unknown == 2
	})
	if c.NearDeadline != 1 || c.AtRisk[capture.Pot{Merchant: workflows.DefaultMerchant, Currency: "USD"}].String() != "1075" || c.AtRiskNearDeadline[capture.Pot{Merchant: workflows.DefaultMerchant, Currency: "USD"}].String() != "1050" {
		t.Errorf("census %+v (at risk %v, near %v)", c, c.AtRisk, c.AtRiskNearDeadline)
	}
	if c.Overdue != 0 {
		t.Errorf("overdue now: %d", c.Overdue)
	}
	// Three hours on, the first is past its deadline and still waiting for Antom: overdue.
	if later, err := e.cc.Census(ctx, time.Now().Add(3*time.Hour), 24*time.Hour); err != nil || later.Overdue != 1 {
		t.Errorf("overdue three hours on: %d, %v", later.Overdue, err)
	}
}

// TestStartFixesThePolicyInTheHistory (docs/design.md, rule 8): the input written at start carries
// the policy with its defaults, so a release with other defaults cannot change a running capture.
func TestStartFixesThePolicyInTheHistory(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	pid := e.authorize(t, alipaytest.Scenario{})
	in := workflows.CaptureInput{PaymentID: pid, Amount: usd10, AuthorizedAt: time.Now(), Policy: workflows.Policy{CallTimeout: 5 * time.Second}}
	if _, err := e.cc.Start(ctx, in); err != nil {
		t.Fatal(err)
	}
	it := e.cc.Temporal.GetWorkflowHistory(ctx, workflows.WorkflowID(pid), "", false, 0)
	first, err := it.Next()
	if err != nil {
		t.Fatal(err)
	}
	var got workflows.CaptureInput
	if err := converter.GetDefaultDataConverter().FromPayloads(first.GetWorkflowExecutionStartedEventAttributes().GetInput(), &got); err != nil {
		t.Fatal(err)
	}
	want := workflows.DefaultPolicy()
	want.CallTimeout = 5 * time.Second
	if !reflect.DeepEqual(got.Policy, want) {
		t.Errorf("policy in the history %+v, want %+v", got.Policy, want)
	}
}
