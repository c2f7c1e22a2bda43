package e2e_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestMoneyTruthRules exercises each money-truth rule of docs/design.md through all the processes,
// with the simulator scripted for it: a closed capture always agrees with Antom's ledger.
func TestMoneyTruthRules(t *testing.T) {
	s := startSystem(t)
	ctx := context.Background()
	// short runs a capture with a deadline seconds away (the capture must be sent within the first
	// expiresIn - 1 s, even on a busy machine), inquiring every second.
	short := func(pid string, expiresIn, resolveWithin time.Duration) workflows.CaptureInput {
		in := input(pid, time.Second)
		in.AuthorizedAt, in.AuthExpiresAt = time.Time{}, time.Now().Add(expiresIn)
		in.Policy.DeadlineMargin, in.Policy.ResolveWithin = time.Second, resolveWithin
		return in
	}
	outcome := func(res workflows.Result, err error) workflows.Status {
		t.Helper()
		var out *capture.Outcome
		if err != nil && !errors.As(err, &out) {
			t.Fatalf("no outcome: %v", err)
		}
		return res
	}

	t.Run("rule 1: processing past the deadline stays open, then the late success is captured", func(t *testing.T) {
		pid := s.authorize(alipaytest.Scenario{Result: "U", NoNotify: true}) // in process until resolved below
		if _, err := s.cc.Start(ctx, short(pid, 6*time.Second, time.Hour)); err != nil {
			t.Fatal(err)
		}
		s.waitFor("the capture to be overdue", func() bool {
			st, err := s.cc.Status(ctx, pid)
			return err == nil && st.State == workflows.StateUnknown && st.Overdue
		})
		if err := s.Resolve(ctx, pid, "S", ""); err != nil {
			t.Fatal(err)
		}
		res, err := s.cc.Wait(ctx, pid)
		if err != nil || res.State != workflows.StateCaptured || res.ResolvedBy != workflows.ResolvedByInquiry || res.Overdue {
			t.Fatalf("%+v, %v", res, err)
		}
		if p := s.ledger(pid); p.CapturesSucceeded != 1 || p.CaptureCalls != 1 {
			t.Errorf("ledger: %d succeeded of %d calls", p.CapturesSucceeded, p.CaptureCalls)
		}
	})

	t.Run("rules 1 and 7: UNRESOLVED after resolveWithin; the success that follows is recorded for reconciliation", func(t *testing.T) {
		pid := s.authorize(alipaytest.Scenario{Result: "U"}) // in process until resolved below, then notified
		st := outcome(s.captureAndWait(short(pid, 6*time.Second, 2*time.Second)))
		if st.State != workflows.StateUnresolved || st.ResolvedBy != workflows.ResolvedByTimeout {
			t.Fatalf("%+v", st)
		}
		s.waitFor("UNRESOLVED in visibility", func() bool {
			resp, err := s.Temporal().ListWorkflow(ctx, listRequest("AlipayPaymentId = '"+pid+"' AND CaptureStatus = 'UNRESOLVED'"))
			return err == nil && len(resp.GetExecutions()) == 1
		})
		if err := s.Resolve(ctx, pid, "S", ""); err != nil {
			t.Fatal(err)
		}
		s.waitFor("the late notification acknowledged", func() bool {
			p := s.ledger(pid)
			return len(p.Notifications) == 1 && p.Notifications[0].Acked
		})
		// Acknowledged only once recorded: the reconciliation workflow exists, and confirms it.
		rid := workflows.ReconcileWorkflowID(pid, workflows.CaptureRequestID(pid, workflows.StartKey), alipay.StatusSuccess)
		var res workflows.ReconcileResult
		err := s.Temporal().GetWorkflow(ctx, rid, "").Get(ctx, &res)
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTypeContradictionConfirmed || appErr.Details(&res) != nil {
			t.Fatalf("reconciliation %s: %v", rid, err)
		}
		if res.ClosedState != workflows.StateUnresolved || res.TransactionStatus != alipay.TxSuccess || !strings.Contains(res.Verdict, "money was captured") {
			t.Errorf("reconciliation result %+v", res)
		}
		s.waitFor("the contradiction listed", func() bool {
			l, err := s.cc.List(ctx, capture.Filter{State: workflows.StateContradiction})
			return err == nil && len(l) > 0 && strings.Contains(l[0].PaymentID, pid)
		})
	})

	t.Run("rule 2: executed, answered too late, then F on the resend: the inquiry finds the capture", func(t *testing.T) {
		pid := s.authorize(alipaytest.Scenario{DelayResponse: alipaytest.Duration(10 * time.Second), RepeatFailCode: alipay.CodeSystemError, NoNotify: true})
		in := input(pid, time.Hour) // no scheduled inquiry would come in time: the F itself triggers one
		res, err := s.captureAndWait(in)
		if err != nil || res.State != workflows.StateCaptured || res.ResolvedBy != workflows.ResolvedByInquiry {
			t.Fatalf("%+v, %v", res, err)
		}
		if p := s.ledger(pid); p.CapturesSucceeded != 1 || p.CaptureCalls < 2 {
			t.Errorf("ledger: %d succeeded of %d calls", p.CapturesSucceeded, p.CaptureCalls)
		}
	})

	t.Run("rule 3: unverifiable answers stop after three sends; the inquiry resolves", func(t *testing.T) {
		pid := s.authorize(alipaytest.Scenario{UnsignedResponses: 1000, NoNotify: true})
		res, err := s.captureAndWait(input(pid, time.Second))
		if err != nil || res.State != workflows.StateCaptured || res.ResolvedBy != workflows.ResolvedByInquiry {
			t.Fatalf("%+v, %v", res, err)
		}
		if p := s.ledger(pid); p.CaptureCalls != 3 || p.CapturesSucceeded != 1 {
			t.Errorf("ledger: %d calls, %d succeeded; want a series of exactly 3 sends", p.CaptureCalls, p.CapturesSucceeded)
		}
	})

	t.Run("rule 4: a payment Antom does not know closes FAILED, visible and counted", func(t *testing.T) {
		pid := "UNKNOWN-AT-ANTOM-" + time.Now().Format("150405.000")
		in := input(pid, time.Second)
		in.AuthorizedAt = time.Time{} // the deadline lookup gets ORDER_NOT_EXIST
		st := outcome(s.captureAndWait(in))
		if st.State != workflows.StateFailed || st.ResultCode != alipay.CodeOrderNotExist {
			t.Fatalf("%+v", st)
		}
		s.waitFor("FAILED in visibility", func() bool {
			resp, err := s.Temporal().ListWorkflow(ctx, listRequest("AlipayPaymentId = '"+pid+"' AND CaptureStatus = 'FAILED'"))
			return err == nil && len(resp.GetExecutions()) == 1
		})
		resp, err := http.Get(s.MetricsURL)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		found := false
		for _, line := range strings.Split(string(b), "\n") {
			found = found || (strings.HasPrefix(line, "alipay_capture_result_codes_total{") && strings.Contains(line, `code="ORDER_NOT_EXIST"`) && strings.Contains(line, `outcome="FAILED"`))
		}
		if !found {
			t.Errorf("worker /metrics lacks the finished capture with its code:\n%s", b)
		}
	})

	t.Run("rule 5: another amount captured is CAPTURED with a discrepancy", func(t *testing.T) {
		usd9 := alipay.Amount{Currency: "USD", Value: "900"}
		pid := s.authorize(alipaytest.Scenario{CapturedAmount: usd9})
		res, err := s.captureAndWait(input(pid, time.Hour))
		if err != nil || res.State != workflows.StateCaptured || res.CapturedAmount != usd9 || !strings.Contains(res.Discrepancy, "9.00 USD") {
			t.Fatalf("%+v, %v", res, err)
		}
	})

	t.Run("rule 6: AUTH_CANCELLED ends CANCELLED and AUTH_EXPIRED ends EXPIRED", func(t *testing.T) {
		for code, want := range map[string]workflows.State{alipay.CodeAuthCancelled: workflows.StateCancelled, alipay.CodeAuthExpired: workflows.StateExpired} {
			pid := s.authorize(alipaytest.Scenario{Result: "F", FailCode: code, NoNotify: true})
			st := outcome(s.captureAndWait(input(pid, time.Hour)))
			if st.State != want || st.ResultCode != code || st.ResolvedBy != workflows.ResolvedByResponse {
				t.Errorf("%s: %+v", code, st)
			}
		}
	})
}
