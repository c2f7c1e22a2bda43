package workflows_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/workflows"
)

// The tests of docs/design.md's money-truth rules that the first release broke, one per defect.

// refusedOn returns the Capture activity's error for a verified F answer on the given attempt.
func refusedOn(attempt int, errType, code string) error {
	r := alipay.Result{ResultCode: code, ResultStatus: alipay.StatusFail, ResultMessage: "refused"}
	return temporal.NewApplicationErrorWithOptions("refused", errType, temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{r, attempt}})
}

func noAnswer(int, workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
	return workflows.CaptureActivityResult{}, temporal.NewApplicationError("timeout", workflows.ErrTypeOutcomeUnknown)
}

// TestFAfterAnAmbiguousSendIsCheckedByInquiry (rule 2): the first send timed out (it may have
// captured), the resend got an F: an inquiry decides, whatever the F's code.
func TestFAfterAnAmbiguousSendIsCheckedByInquiry(t *testing.T) {
	found := func(status string) workflows.InquiryActivityResult {
		return workflows.InquiryActivityResult{Found: true, TransactionStatus: status, TransactionResult: resS, CaptureID: "CAP-I", CaptureAmount: usd10}
	}
	tests := []struct {
		name    string
		errType string
		code    string
		inquiry workflows.InquiryActivityResult
		state   workflows.State
		code2   string // the result code the capture ends with
	}{
		{"SYSTEM_ERROR, Antom captured", workflows.ErrTypeConfig, alipay.CodeSystemError, found(alipay.TxSuccess), workflows.StateCaptured, alipay.CodeSuccess},
		{"unsigned SIGNATURE_INVALID, Antom captured", workflows.ErrTypeConfig, alipay.CodeSignatureInvalid, found(alipay.TxSuccess), workflows.StateCaptured, alipay.CodeSuccess},
		{"ACCESS_DENIED, Antom has no capture", workflows.ErrTypeConfig, alipay.CodeAccessDenied, workflows.InquiryActivityResult{}, workflows.StateFailed, alipay.CodeAccessDenied},
		{"RISK_REJECT, Antom reports FAIL", workflows.ErrTypeRefused, "RISK_REJECT", workflows.InquiryActivityResult{Found: true, TransactionStatus: alipay.TxFail,
			TransactionResult: alipay.Result{ResultCode: "RISK_REJECT", ResultStatus: "F"}}, workflows.StateFailed, "RISK_REJECT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.capture = func(n int, _ workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
				if n == 1 {
					return noAnswer(n, workflows.CaptureActivityInput{})
				}
				return workflows.CaptureActivityResult{}, refusedOn(n, tt.errType, tt.code)
			}
			h.inquiry = func(int) (workflows.InquiryActivityResult, error) { return tt.inquiry, nil }
			h.run(input())
			var st workflows.Status
			if tt.state == workflows.StateCaptured {
				st = h.result()
			} else {
				st = h.failure(workflows.ErrTypeCaptureFailed)
			}
			if st.State != tt.state || st.ResultCode != tt.code2 || st.Inquiries != 1 {
				t.Errorf("status %+v, want %s with %s after one inquiry", st, tt.state, tt.code2)
			}
			if len(h.inquiries) != 1 || h.inquiries[0].Sub(t0) > time.Minute {
				t.Errorf("inquiries at %v, want one at once", h.inquiries)
			}
			h.wantCaptureIDs(2)
		})
	}

	// The ambiguity may come from an earlier series: U, inquiry finds nothing, resend gets F.
	h := newHarness(t)
	h.capture = func(n int, _ workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
		if n == 1 {
			return workflows.CaptureActivityResult{Result: resU}, nil
		}
		return workflows.CaptureActivityResult{}, refusedOn(1, workflows.ErrTypeConfig, alipay.CodeSystemError)
	}
	h.inquiry = func(n int) (workflows.InquiryActivityResult, error) {
		if n == 1 {
			return workflows.InquiryActivityResult{}, nil
		}
		return found(alipay.TxSuccess), nil
	}
	h.run(input())
	if st := h.result(); st.State != workflows.StateCaptured || st.ResolvedBy != workflows.ResolvedByInquiry {
		t.Errorf("F after a U of the same id: %+v", st)
	}

	// Without an ambiguous send an F is final at once.
	h = newHarness(t)
	h.capture = func(n int, _ workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
		return workflows.CaptureActivityResult{}, refusedOn(1, workflows.ErrTypeConfig, alipay.CodeSystemError)
	}
	h.run(input())
	if st := h.failure(workflows.ErrTypeCaptureFailed); st.ResultCode != alipay.CodeSystemError || len(h.inquiries) != 0 {
		t.Errorf("plain F: %+v after %d inquiries", st, len(h.inquiries))
	}
}

// TestUnverifiableAnswersAreBounded (rule 3): answers that can never be trusted stop the sends
// after three, within about a minute; the capture shows UNKNOWN and inquiries take over.
func TestUnverifiableAnswersAreBounded(t *testing.T) {
	h := newHarness(t)
	h.capture = noAnswer
	var mid workflows.Status
	h.env.RegisterDelayedCallback(func() { mid = h.query() }, 90*time.Second)
	h.inquiry = func(int) (workflows.InquiryActivityResult, error) {
		return workflows.InquiryActivityResult{Found: true, TransactionStatus: alipay.TxSuccess, TransactionResult: resS, CaptureID: "CAP-I", CaptureAmount: usd10}, nil
	}
	h.run(input())
	if mid.State != workflows.StateUnknown || mid.ResultCode != workflows.CodeNoAnswer {
		t.Errorf("after 90 s: %+v, want UNKNOWN", mid)
	}
	if len(h.captureReq) != 3 || h.captureAt[2].Sub(t0) > time.Minute {
		t.Errorf("%d sends, at %v; want 3 within a minute", len(h.captureReq), h.captureAt)
	}
	st := h.result()
	if st.State != workflows.StateCaptured || st.ResolvedBy != workflows.ResolvedByInquiry || st.CaptureCalls != 1 {
		t.Errorf("status %+v", st)
	}
	h.wantStatuses("CAPTURING", "UNKNOWN", "CAPTURED")
}

// TestCancelledInTemporalStillClosesFinal (rule 4): a workflow cancelled from Temporal (the UI's
// Cancel button) closes FAILED when nothing was sent and UNRESOLVED when a capture was.
func TestCancelledInTemporalStillClosesFinal(t *testing.T) {
	for _, tt := range []struct {
		name    string
		pending bool // nothing asked for yet
		state   workflows.State
	}{
		{"pending", true, workflows.StateFailed},
		{"unknown", false, workflows.StateUnresolved},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.capture = inProcess
			h.env.RegisterDelayedCallback(h.env.CancelWorkflow, time.Hour)
			if tt.pending {
				h.authorize(input())
			} else {
				h.run(input())
			}
			if !temporal.IsCanceledError(h.env.GetWorkflowError()) {
				t.Errorf("workflow error %v, want cancelled", h.env.GetWorkflowError())
			}
			if got := h.statuses[len(h.statuses)-1]; got != string(tt.state) {
				t.Errorf("CaptureStatus %v, want it to end %s", h.statuses, tt.state)
			}
		})
	}
}

// TestAmountsAreCompared (rule 5): an S for another amount, by response, notification or
// inquiry, is CAPTURED with the amount Antom reports and a discrepancy; the totals count
// Antom's amount.
func TestAmountsAreCompared(t *testing.T) {
	usd9 := alipay.Amount{Currency: "USD", Value: "900"}
	t.Run("response", func(t *testing.T) {
		h := newHarness(t)
		h.capture = func(int, workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
			return workflows.CaptureActivityResult{Result: resS, CaptureID: "CAP1", CaptureAmount: usd9}, nil
		}
		h.run(input())
		if st := h.result(); st.CapturedAmount != usd9 || st.Discrepancy != "Antom captured 9.00 USD; requested 10.00 USD" ||
			st.Captured != usd9 || st.Remaining.Value != "100" {
			t.Errorf("status %+v; want Antom's 9.00 USD in the totals, 1.00 USD remaining", st)
		}
	})
	t.Run("notification", func(t *testing.T) {
		h := newHarness(t)
		h.capture = inProcess
		n := note("S", reqID)
		n.CaptureAmount = alipay.Amount{Currency: "EUR", Value: "1000"}
		h.signal(time.Minute, n)
		h.run(input())
		if st := h.result(); st.CapturedAmount != n.CaptureAmount || st.Discrepancy == "" || st.ResolvedBy != workflows.ResolvedByNotification {
			t.Errorf("status %+v", st)
		}
	})
	t.Run("inquiry without an amount", func(t *testing.T) {
		h := newHarness(t)
		h.capture = inProcess
		h.inquiry = func(int) (workflows.InquiryActivityResult, error) {
			return workflows.InquiryActivityResult{Found: true, TransactionStatus: alipay.TxSuccess, TransactionResult: resS, CaptureID: "CAP-I"}, nil
		}
		h.run(input())
		if st := h.result(); !st.CapturedAmount.IsZero() || st.Discrepancy != "Antom reported no captured amount; requested 10.00 USD" {
			t.Errorf("status %+v", st)
		}
	})
	t.Run("same amount", func(t *testing.T) {
		h := newHarness(t)
		h.run(input())
		if st := h.result(); st.Discrepancy != "" || st.CapturedAmount != usd10 {
			t.Errorf("status %+v", st)
		}
	})
}

// TestResultCodesMapToStates (rule 6).
func TestResultCodesMapToStates(t *testing.T) {
	for _, tt := range []struct {
		code    string
		state   workflows.State
		errType string // "" when the workflow completes
	}{
		{alipay.CodeAuthExpired, workflows.StateExpired, workflows.ErrTypeAuthorizationExpired},
		{alipay.CodeAuthCancelled, workflows.StateCancelled, ""},
		{alipay.CodeOrderIsCanceled, workflows.StateCancelled, ""},
		{"SOMETHING_NEW", workflows.StateFailed, workflows.ErrTypeCaptureFailed},
	} {
		t.Run(tt.code, func(t *testing.T) {
			h := newHarness(t)
			h.capture = func(int, workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
				return workflows.CaptureActivityResult{}, refusedOn(1, workflows.ErrTypeRefused, tt.code)
			}
			h.run(input())
			var st workflows.Status
			if tt.errType == "" {
				st = h.result()
			} else {
				st = h.failure(tt.errType)
			}
			if st.State != tt.state || st.ResultCode != tt.code || st.ResolvedBy != workflows.ResolvedByResponse {
				t.Errorf("status %+v, want %s", st, tt.state)
			}
			h.wantStatuses("CAPTURING", string(tt.state))
		})
	}
}

// TestPolicyDefaultsAreFrozen (rule 8): the defaults of the running version must not change; a
// release that wants other defaults adds a workflow version and keeps these for running captures.
func TestPolicyDefaultsAreFrozen(t *testing.T) {
	want := workflows.Policy{
		InquirySchedule: []time.Duration{2 * time.Minute, 10 * time.Minute, 10 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour},
		DeadlineMargin:  10 * time.Minute, CallTimeout: 30 * time.Second, ResolveWithin: 30 * 24 * time.Hour,
		WarnBefore: []time.Duration{48 * time.Hour, 24 * time.Hour}, OnDeadline: workflows.OnDeadlineLapse,
	}
	if got := workflows.DefaultPolicy(); !reflect.DeepEqual(got, want) {
		t.Errorf("DefaultPolicy() = %+v; the defaults of release 0.1.0 are frozen: running captures keep their input's policy, and a new default needs a CHANGELOG entry", got)
	}
	// The capture reports the policy it runs with.
	h := newHarness(t)
	in := input()
	in.Policy.CallTimeout = 5 * time.Second
	h.run(in)
	want.CallTimeout = 5 * time.Second
	if st := h.result(); !reflect.DeepEqual(st.Policy, want) {
		t.Errorf("status policy %+v, want %+v", st.Policy, want)
	}
}

// TestHeldFWaitsForAnAnswer: when the inquiry that must decide an F after an ambiguous send gives
// no answer, the next one follows the schedule (no tight loop), and its answer decides.
func TestHeldFWaitsForAnAnswer(t *testing.T) {
	h := newHarness(t)
	h.capture = func(n int, _ workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
		if n == 1 {
			return noAnswer(n, workflows.CaptureActivityInput{})
		}
		return workflows.CaptureActivityResult{}, refusedOn(n, workflows.ErrTypeConfig, alipay.CodeSystemError)
	}
	h.inquiry = func(n int) (workflows.InquiryActivityResult, error) {
		if n == 1 {
			return workflows.InquiryActivityResult{}, temporal.NewNonRetryableApplicationError("inquiry refused", workflows.ErrTypeConfig, nil)
		}
		return workflows.InquiryActivityResult{Found: true, TransactionStatus: alipay.TxSuccess, TransactionResult: resS, CaptureAmount: usd10}, nil
	}
	h.run(input())
	if st := h.result(); st.State != workflows.StateCaptured || st.Inquiries != 2 {
		t.Errorf("status %+v", st)
	}
	if gap := h.inquiries[1].Sub(h.inquiries[0]); gap < 2*time.Minute {
		t.Errorf("second inquiry %v after the first, want the schedule's 2 min", gap)
	}
}

// TestReconcileWorkflow: a contradicting result is confirmed or not by inquiryPayment.
func TestReconcileWorkflow(t *testing.T) {
	success := workflows.InquiryActivityResult{Found: true, TransactionStatus: alipay.TxSuccess, CaptureID: "CAP9", CaptureAmount: usd10}
	for _, tt := range []struct {
		name      string
		result    string
		closed    workflows.State
		inquiry   workflows.InquiryActivityResult
		confirmed bool
		verdict   string // in the result's verdict
	}{
		{"S for EXPIRED, Antom captured", "S", workflows.StateExpired, success, true, "Antom confirms capture CAP9 (10.00 USD)"},
		{"S for FAILED, Antom has nothing", "S", workflows.StateFailed, workflows.InquiryActivityResult{}, false, "inquiry (absent) agrees with the closed capture (FAILED)"},
		{"F for CAPTURED, Antom has nothing", "F", workflows.StateCaptured, workflows.InquiryActivityResult{}, true, "Antom has no successful capture for it"},
		{"F for CAPTURED, Antom captured", "F", workflows.StateCaptured, success, false, "inquiry (SUCCESS) agrees with the closed capture (CAPTURED)"},
		{"F for UNRESOLVED, Antom failed it", "F", workflows.StateUnresolved, workflows.InquiryActivityResult{Found: true, TransactionStatus: alipay.TxFail}, false, "was not captured; nothing to settle"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.anyID = true
			h.inquiry = func(int) (workflows.InquiryActivityResult, error) { return tt.inquiry, nil }
			h.env.ExecuteWorkflow(workflows.ReconcileWorkflowType, workflows.ReconcileInput{Merchant: "europe", Notification: note(tt.result, reqID), ClosedState: tt.closed})
			err := h.env.GetWorkflowError()
			if len(h.merchants) != 1 || h.merchants[0] != "inquiry:europe" {
				t.Errorf("activities %v, want one inquiry with the notification's account", h.merchants)
			}
			var res workflows.ReconcileResult
			var appErr *temporal.ApplicationError
			confirmed := errors.As(err, &appErr) && appErr.Type() == workflows.ErrTypeContradictionConfirmed
			switch {
			case confirmed != tt.confirmed || (!confirmed && err != nil):
				t.Fatalf("error %v, want confirmed %v", err, tt.confirmed)
			case confirmed:
				if derr := appErr.Details(&res); derr != nil {
					t.Fatalf("confirmed without the result in its details: %v", derr)
				}
			default:
				if gerr := h.env.GetWorkflowResult(&res); gerr != nil {
					t.Fatal(gerr)
				}
			}
			if !strings.Contains(res.Verdict, tt.verdict) || res.Merchant != "europe" || res.ClosedState != tt.closed ||
				res.TransactionStatus != tt.inquiry.TransactionStatus || res.CaptureID != tt.inquiry.CaptureID {
				t.Errorf("result %+v, want the verdict %q and Antom's view of the request", res, tt.verdict)
			}
			if h.attrs[workflows.SearchAttrStatus] != string(workflows.StateContradiction) || h.attrs[workflows.SearchAttrPaymentID] != "PAY1" {
				t.Errorf("search attributes %v", h.attrs)
			}
		})
	}
}

// TestNoAnswerPastTheDeadlineEndsUnresolved (rule 4): when inquiryPayment keeps refusing after
// the deadline, the capture is not left UNKNOWN forever, nor guessed: it closes UNRESOLVED.
func TestNoAnswerPastTheDeadlineEndsUnresolved(t *testing.T) {
	h := newHarness(t)
	h.capture = inProcess
	in := input()
	in.Policy.ResolveWithin = 24 * time.Hour
	deadline := in.AuthorizedAt.Add(workflows.AuthorizationWindow)
	h.inquiry = func(int) (workflows.InquiryActivityResult, error) {
		if h.env.Now().Before(deadline) {
			return workflows.InquiryActivityResult{Found: true, TransactionStatus: alipay.TxProcessing, TransactionResult: resU}, nil
		}
		return workflows.InquiryActivityResult{}, temporal.NewNonRetryableApplicationError("denied", workflows.ErrTypeConfig, nil,
			alipay.Result{ResultCode: alipay.CodeAccessDenied, ResultStatus: alipay.StatusFail})
	}
	h.run(in)
	st := h.failure(workflows.ErrTypeUnresolved)
	if st.State != workflows.StateUnresolved || !st.Overdue {
		t.Errorf("status %+v", st)
	}
	h.wantStatuses("CAPTURING", "UNKNOWN", "UNRESOLVED")
}
