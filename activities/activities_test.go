package activities_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/capturekit/alipay-capture/activities"
	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/workflows"
)

var usd10 = alipay.Amount{Currency: "USD", Value: "1000"}

func setup(t *testing.T) (*alipaytest.Server, *activities.Activities) {
	t.Helper()
	sim := alipaytest.NewServer(alipaytest.Config{})
	t.Cleanup(sim.Close)
	c, err := alipay.NewClient(sim.Config())
	if err != nil {
		t.Fatal(err)
	}
	return sim, &activities.Activities{Antom: c}
}

func capture(a *activities.Activities, paymentID string) (workflows.CaptureActivityResult, error) {
	return a.Capture(context.Background(), workflows.CaptureActivityInput{
		Request:  alipay.CaptureRequest{CaptureRequestID: workflows.CaptureRequestID(paymentID, workflows.StartKey), PaymentID: paymentID, CaptureAmount: usd10},
		NotAfter: time.Now().Add(time.Hour),
	})
}

// wantAppError checks err's application error type, retryability and result code detail.
func wantAppError(t *testing.T, err error, errType string, retryable bool, code string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("err = %v, want an application error %s", err, errType)
	}
	if appErr.Type() != errType || appErr.NonRetryable() == retryable {
		t.Fatalf("err type %s non-retryable %v, want %s retryable %v (%v)", appErr.Type(), appErr.NonRetryable(), errType, retryable, err)
	}
	if code != "" {
		var r alipay.Result
		if err := appErr.Details(&r); err != nil || r.ResultCode != code {
			t.Fatalf("details %+v (%v), want result code %s", r, err, code)
		}
	}
}

func TestCaptureOutcomes(t *testing.T) {
	sim, a := setup(t)
	authorize := func(sc alipaytest.Scenario) string {
		p, err := sim.Authorize(alipaytest.Authorization{Amount: usd10, Scenario: sc})
		if err != nil {
			t.Fatal(err)
		}
		return p.PaymentID
	}

	res, err := capture(a, authorize(alipaytest.Scenario{}))
	if err != nil || res.Result.ResultStatus != "S" || res.CaptureID == "" || res.CaptureAmount != usd10 {
		t.Fatalf("S: %+v, %v", res, err)
	}
	res, err = capture(a, authorize(alipaytest.Scenario{Result: "U"}))
	if err != nil || res.Result.ResultCode != alipay.CodeCaptureInProcess {
		t.Fatalf("U: %+v, %v", res, err)
	}
	_, err = capture(a, authorize(alipaytest.Scenario{Result: "F", FailCode: "RISK_REJECT"}))
	wantAppError(t, err, workflows.ErrTypeRefused, false, "RISK_REJECT")
	// A business refusal is expected, not a fault: benign, so the SDK does not log it as an
	// error. It carries the attempt number, which tells the workflow whether it answers a resend.
	var appErr *temporal.ApplicationError
	var r alipay.Result
	var attempt int
	if !errors.As(err, &appErr) || appErr.Category() != temporal.ApplicationErrorCategoryBenign || appErr.Details(&r, &attempt) != nil || attempt != 1 {
		t.Errorf("refusal: category %v, attempt %d", appErr.Category(), attempt)
	}

	_, err = capture(a, authorize(alipaytest.Scenario{UnknownExceptionCalls: 1}))
	wantAppError(t, err, workflows.ErrTypeRetrySameID, true, "")

	_, err = capture(a, authorize(alipaytest.Scenario{ServerErrorCalls: 1}))
	wantAppError(t, err, workflows.ErrTypeOutcomeUnknown, true, "")

	_, err = capture(a, "NO_SUCH_PAYMENT")
	wantAppError(t, err, workflows.ErrTypeRefused, false, alipay.CodeAuthNotFound)

	// Same id, other amount: a bug on our side, for an operator.
	id := authorize(alipaytest.Scenario{})
	if _, err := capture(a, id); err != nil {
		t.Fatal(err)
	}
	_, err = a.Capture(context.Background(), workflows.CaptureActivityInput{
		Request: alipay.CaptureRequest{CaptureRequestID: workflows.CaptureRequestID(id, workflows.StartKey), PaymentID: id, CaptureAmount: alipay.Amount{Currency: "USD", Value: "999"}},
	})
	wantAppError(t, err, workflows.ErrTypeConfig, false, alipay.CodeRepeatReqInconsistent)
	if !errors.As(err, &appErr) || appErr.Category() == temporal.ApplicationErrorCategoryBenign {
		t.Error("a configuration failure is marked benign: it must alert")
	}
}

func TestCaptureTransportFailures(t *testing.T) {
	sim, _ := setup(t)
	cfg := sim.Config()
	cfg.BaseURL = "http://127.0.0.1:1" // nothing listens there
	c, _ := alipay.NewClient(cfg)
	a := &activities.Activities{Antom: c}
	_, err := capture(a, "P")
	wantAppError(t, err, workflows.ErrTypeNotSent, true, "")

	// Antom cannot verify our signature: a configuration error, not retried.
	cfg = sim.Config()
	cfg.PrivateKey = otherKey(t)
	c, _ = alipay.NewClient(cfg)
	_, err = capture(&activities.Activities{Antom: c}, "P")
	wantAppError(t, err, workflows.ErrTypeConfig, false, alipay.CodeSignatureInvalid)
}

func TestCaptureRefusesPastTheCutoff(t *testing.T) {
	sim, a := setup(t)
	p, _ := sim.Authorize(alipaytest.Authorization{Amount: usd10})
	now := time.Now()
	a.Now = func() time.Time { return now }
	_, err := a.Capture(context.Background(), workflows.CaptureActivityInput{
		Request:  alipay.CaptureRequest{CaptureRequestID: "x", PaymentID: p.PaymentID, CaptureAmount: usd10},
		NotAfter: now,
	})
	wantAppError(t, err, workflows.ErrTypeDeadlinePassed, false, "")
	if got, _ := sim.Payment(p.PaymentID); got.CaptureCalls != 0 {
		t.Errorf("a capture was sent past the cut-off")
	}
}

func TestInquiryPayment(t *testing.T) {
	sim, a := setup(t)
	p, _ := sim.Authorize(alipaytest.Authorization{Amount: usd10, Scenario: alipaytest.Scenario{Result: "U"}})
	reqID := workflows.CaptureRequestID(p.PaymentID, workflows.StartKey)
	in := workflows.InquiryActivityInput{PaymentID: p.PaymentID, CaptureRequestID: reqID}

	res, err := a.InquiryPayment(context.Background(), in)
	if err != nil || res.Found || !res.AuthExpiryTime.Equal(p.AuthExpiryTime) || res.PaymentTime.IsZero() {
		t.Fatalf("before capture: %+v, %v", res, err)
	}
	if _, err := capture(a, p.PaymentID); err != nil {
		t.Fatal(err)
	}
	res, err = a.InquiryPayment(context.Background(), in)
	if err != nil || !res.Found || res.TransactionStatus != alipay.TxProcessing {
		t.Fatalf("in process: %+v, %v", res, err)
	}
	if err := sim.Resolve(p.PaymentID, "S", ""); err != nil {
		t.Fatal(err)
	}
	res, err = a.InquiryPayment(context.Background(), in)
	if err != nil || res.TransactionStatus != alipay.TxSuccess || res.CaptureID == "" || res.TransactionResult.ResultCode != alipay.CodeSuccess || res.CaptureAmount != usd10 {
		t.Fatalf("captured: %+v, %v", res, err)
	}
	_, err = a.InquiryPayment(context.Background(), workflows.InquiryActivityInput{PaymentID: "NOPE"})
	wantAppError(t, err, workflows.ErrTypeRefused, false, alipay.CodeOrderNotExist)
}

func TestCancel(t *testing.T) {
	sim, a := setup(t)
	p, _ := sim.Authorize(alipaytest.Authorization{Amount: usd10})
	res, err := a.Cancel(context.Background(), workflows.CancelActivityInput{PaymentID: p.PaymentID})
	if err != nil || res.ResultStatus != "S" {
		t.Fatalf("cancel: %+v, %v", res, err)
	}
	captured, _ := sim.Authorize(alipaytest.Authorization{Amount: usd10})
	if _, err := capture(a, captured.PaymentID); err != nil {
		t.Fatal(err)
	}
	_, err = a.Cancel(context.Background(), workflows.CancelActivityInput{PaymentID: captured.PaymentID})
	wantAppError(t, err, workflows.ErrTypeRefused, false, alipay.CodeOrderStatusInvalid)
}

type unknownCancel struct{ activities.Antom }

func (unknownCancel) Cancel(context.Context, alipay.CancelRequest) (*alipay.CancelResponse, error) {
	return &alipay.CancelResponse{Result: alipay.Result{ResultCode: alipay.CodeUnknownException, ResultStatus: "U"}}, nil
}

func TestCancelUnknownIsRetried(t *testing.T) {
	a := &activities.Activities{Antom: unknownCancel{}}
	_, err := a.Cancel(context.Background(), workflows.CancelActivityInput{PaymentID: "P"})
	wantAppError(t, err, workflows.ErrTypeRetrySameID, true, "")
}

func otherKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestMerchantAccounts: each activity uses the client of its input's merchant account; an
// account the worker does not know is retried without sending anything, and the error names it.
func TestMerchantAccounts(t *testing.T) {
	sim := alipaytest.NewServer(alipaytest.Config{Accounts: []alipaytest.Account{{ClientID: "EU"}}})
	t.Cleanup(sim.Close)
	cA, _ := alipay.NewClient(sim.Config())
	cB, _ := alipay.NewClient(sim.ConfigFor("EU"))
	a := &activities.Activities{Antom: cA, Merchants: map[string]activities.Antom{"europe": cB}}
	p, err := sim.Authorize(alipaytest.Authorization{ClientID: "EU", Amount: usd10})
	if err != nil {
		t.Fatal(err)
	}
	in := workflows.CaptureActivityInput{
		Request:  alipay.CaptureRequest{CaptureRequestID: workflows.CaptureRequestID(p.PaymentID, workflows.StartKey), PaymentID: p.PaymentID, CaptureAmount: usd10},
		NotAfter: time.Now().Add(time.Hour),
	}
	// The default account's client does not find the second account's payment.
	_, err = a.Capture(context.Background(), in)
	wantAppError(t, err, workflows.ErrTypeRefused, false, alipay.CodeAuthNotFound)

	in.Merchant = "europe"
	res, err := a.Capture(context.Background(), in)
	if err != nil || res.Result.ResultStatus != alipay.StatusSuccess {
		t.Fatalf("capture with the account's client: %+v, %v", res, err)
	}
	inq, err := a.InquiryPayment(context.Background(), workflows.InquiryActivityInput{Merchant: "europe", PaymentID: p.PaymentID, CaptureRequestID: in.Request.CaptureRequestID})
	if err != nil || !inq.Found || inq.TransactionStatus != alipay.TxSuccess {
		t.Errorf("inquiry with the account's client: %+v, %v", inq, err)
	}

	calls := sim.Payments()[0].CaptureCalls
	in.Merchant = "asia"
	_, err = a.Capture(context.Background(), in)
	wantAppError(t, err, workflows.ErrTypeNotSent, true, "")
	if !strings.Contains(err.Error(), `merchant account "asia" is not configured`) || sim.Payments()[0].CaptureCalls != calls {
		t.Errorf("unknown account: %v, %d calls (was %d)", err, sim.Payments()[0].CaptureCalls, calls)
	}
	if _, err := (&activities.Activities{Merchants: map[string]activities.Antom{"europe": cB}}).Cancel(context.Background(), workflows.CancelActivityInput{PaymentID: p.PaymentID}); err == nil ||
		!strings.Contains(err.Error(), `"default" is not configured`) {
		t.Errorf("no default account: %v", err)
	}
}
