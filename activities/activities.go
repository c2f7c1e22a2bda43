// Package activities holds the Temporal activities of CaptureWorkflow: Capture, InquiryPayment
// and Cancel over an alipay.Client. They map Antom's outcomes to what Temporal should do: a
// verified answer is returned, an unknown outcome is a retryable error (the retry resends the
// same captureRequestId), and a final refusal is a non-retryable error carrying the result code.
package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/events"
	"github.com/capturekit/alipay-capture/workflows"
)

// Antom is the part of alipay.Client the activities use; *alipay.Client implements it.
type Antom interface {
	Capture(ctx context.Context, req alipay.CaptureRequest) (*alipay.CaptureResponse, error)
	InquiryPayment(ctx context.Context, req alipay.InquiryRequest) (*alipay.InquiryResponse, error)
	Cancel(ctx context.Context, req alipay.CancelRequest) (*alipay.CancelResponse, error)
}

// Activities are registered with a worker as a struct, so that their names are the method names
// (workflows.ActivityCapture, …).
type Activities struct {
	// Antom is the client of the account named workflows.DefaultMerchant, unless Merchants has one.
	Antom Antom
	// Merchants holds the clients of the merchant accounts by name, for a worker serving several.
	Merchants map[string]Antom
	// Events posts capture events to the merchant's endpoint (EVENTS_URL); nil when not set.
	Events *events.Sender
	// TakeCensus lists the running captures (capture.Client.Snapshot); nil on workers that
	// do not take it.
	TakeCensus func(ctx context.Context) (workflows.CensusSnapshot, error)
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
}

// client returns the Antom client of a merchant account. An account this worker does not know
// is an error that is retried (nothing was sent): during a rolling deployment of a new registry
// another worker, or this one restarted, may know it; meanwhile the activity's error says which
// account is missing.
func (a *Activities) client(merchant string) (Antom, error) {
	name := workflows.MerchantName(merchant)
	if c, ok := a.Merchants[name]; ok {
		return c, nil
	}
	if name == workflows.DefaultMerchant && a.Antom != nil {
		return a.Antom, nil
	}
	return nil, temporal.NewApplicationError(fmt.Sprintf(
		"merchant account %q is not configured on this worker (add it to ALIPAY_MERCHANTS_FILE, or set ALIPAY_CLIENT_ID for %q); nothing was sent",
		name, workflows.DefaultMerchant), workflows.ErrTypeNotSent)
}

func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Capture sends one capture request. It returns S and U answers; F answers, and calls that
// cannot be sent or answered, are errors (see the package comment). It refuses to send at or
// after in.NotAfter.
func (a *Activities) Capture(ctx context.Context, in workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
	if !in.NotAfter.IsZero() && !a.now().Before(in.NotAfter) {
		return workflows.CaptureActivityResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("not sending capture %s: the cut-off %s has passed", in.Request.CaptureRequestID, in.NotAfter.Format(time.RFC3339)),
			workflows.ErrTypeDeadlinePassed, nil)
	}
	antom, err := a.client(in.Merchant)
	if err != nil {
		return workflows.CaptureActivityResult{}, err
	}
	resp, err := antom.Capture(ctx, in.Request)
	if err != nil {
		return workflows.CaptureActivityResult{}, callError(ctx, err)
	}
	if err := resultError(ctx, "capture", resp.Result); err != nil {
		return workflows.CaptureActivityResult{}, err
	}
	return workflows.CaptureActivityResult{
		EventsOn:      a.Events != nil,
		Result:        resp.Result,
		CaptureID:     resp.CaptureID,
		CaptureAmount: resp.CaptureAmount,
		CaptureTime:   resp.CaptureTime,
	}, nil
}

// InquiryPayment looks up the payment and the CAPTURE transaction of in.CaptureRequestID.
func (a *Activities) InquiryPayment(ctx context.Context, in workflows.InquiryActivityInput) (workflows.InquiryActivityResult, error) {
	antom, err := a.client(in.Merchant)
	if err != nil {
		return workflows.InquiryActivityResult{}, err
	}
	resp, err := antom.InquiryPayment(ctx, alipay.InquiryRequest{PaymentID: in.PaymentID})
	if err != nil {
		return workflows.InquiryActivityResult{}, callError(ctx, err)
	}
	if resp.Result.ResultStatus != alipay.StatusSuccess {
		if err := resultError(ctx, "inquiryPayment", resp.Result); err != nil {
			return workflows.InquiryActivityResult{}, err
		}
		// U with a wait code: Antom could not answer now.
		return workflows.InquiryActivityResult{}, temporal.NewApplicationError("inquiryPayment: "+resp.Result.String(), workflows.ErrTypeRetrySameID)
	}
	out := workflows.InquiryActivityResult{PaymentStatus: resp.PaymentStatus, EventsOn: a.Events != nil}
	out.AuthExpiryTime, _ = resp.AuthExpiry()
	if t, err := alipay.ParseTime(resp.PaymentTime); err == nil {
		out.PaymentTime = t
	}
	if in.CaptureRequestID != "" {
		if tx, ok := resp.CaptureTransaction(in.CaptureRequestID); ok {
			out.Found = true
			out.TransactionStatus = tx.TransactionStatus
			out.CaptureID = tx.TransactionID
			out.CaptureAmount = tx.TransactionAmount
			out.CaptureTime = tx.TransactionTime
			if tx.TransactionResult != nil {
				out.TransactionResult = *tx.TransactionResult
			}
		}
	}
	return out, nil
}

// Cancel voids the authorization. S returns its result; F is a non-retryable error.
func (a *Activities) Cancel(ctx context.Context, in workflows.CancelActivityInput) (alipay.Result, error) {
	antom, err := a.client(in.Merchant)
	if err != nil {
		return alipay.Result{}, err
	}
	resp, err := antom.Cancel(ctx, alipay.CancelRequest{PaymentID: in.PaymentID})
	if err != nil {
		return alipay.Result{}, callError(ctx, err)
	}
	if resp.Result.ResultStatus == alipay.StatusUnknown {
		// Antom asks for the same cancel again (UNKNOWN_EXCEPTION, rate limit, …).
		return alipay.Result{}, temporal.NewApplicationError("cancel: "+resp.Result.String(), workflows.ErrTypeRetrySameID)
	}
	if err := resultError(ctx, "cancel", resp.Result); err != nil {
		return alipay.Result{}, err
	}
	return resp.Result, nil
}

// DeliverEvent posts one capture event; an error (the receiver is down or did not answer 2xx) is
// retried by the delivery workflow. A worker without EVENTS_URL fails it (retryably too), so that
// a worker that has it takes the retry.
func (a *Activities) DeliverEvent(ctx context.Context, e events.Event) error {
	if a.Events == nil {
		return temporal.NewApplicationError("EVENTS_URL is not set on this worker; another worker will deliver event "+e.ID, workflows.ErrTypeNotSent)
	}
	return a.Events.Send(ctx, e)
}

// Census takes the census of the running captures for the census workflow (a local activity).
func (a *Activities) Census(ctx context.Context) (workflows.CensusSnapshot, error) {
	if a.TakeCensus == nil {
		return workflows.CensusSnapshot{}, temporal.NewApplicationError("this worker takes no census", workflows.ErrTypeNotSent)
	}
	return a.TakeCensus(ctx)
}

// resultError maps a verified result to an activity error, or nil for S and "wait" U answers.
// Refusals carry the result and the attempt number as details: an F on a later attempt answers a
// resend, which the workflow does not take as final by itself (docs/design.md, rule 2). A business
// refusal is an expected outcome, marked benign so that the SDK does not log it as an error.
func resultError(ctx context.Context, op string, r alipay.Result) error {
	switch r.Action() {
	case alipay.ActionDone, alipay.ActionWait:
		return nil
	case alipay.ActionRetry:
		return temporal.NewApplicationError(op+": Antom asks to resend: "+r.String(), workflows.ErrTypeRetrySameID)
	case alipay.ActionConfigFailure:
		return refusal(ctx, op+": request or configuration error: "+r.String(), workflows.ErrTypeConfig, r)
	default: // business failure
		return refusal(ctx, op+": refused by Antom: "+r.String(), workflows.ErrTypeRefused, r)
	}
}

func refusal(ctx context.Context, msg, errType string, r alipay.Result) error {
	opts := temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{r, attempt(ctx)}}
	if errType == workflows.ErrTypeRefused {
		opts.Category = temporal.ApplicationErrorCategoryBenign
	}
	return temporal.NewApplicationErrorWithOptions(msg, errType, opts)
}

// attempt returns the activity's attempt number (1 for the first), or 1 outside an activity.
func attempt(ctx context.Context) int {
	if !activity.IsActivity(ctx) {
		return 1
	}
	return int(activity.GetInfo(ctx).Attempt)
}

// callError maps an alipay call error: unsent and unknown outcomes are retried; a rejected
// signature is a configuration error.
func callError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, alipay.ErrSignatureRejected):
		r := alipay.Result{ResultCode: alipay.CodeSignatureInvalid, ResultStatus: alipay.StatusFail, ResultMessage: err.Error()}
		return refusal(ctx, err.Error(), workflows.ErrTypeConfig, r)
	case errors.Is(err, alipay.ErrInvalidRequest):
		r := alipay.Result{ResultCode: alipay.CodeParamIllegal, ResultStatus: alipay.StatusFail, ResultMessage: err.Error()}
		return refusal(ctx, err.Error(), workflows.ErrTypeConfig, r)
	case errors.Is(err, alipay.ErrNotSent):
		return temporal.NewApplicationError(err.Error(), workflows.ErrTypeNotSent)
	default:
		return temporal.NewApplicationError(err.Error(), workflows.ErrTypeOutcomeUnknown)
	}
}
