package capture

import (
	"context"
	"testing"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/workflows"
)

// abortingTemporal aborts the first Updates it is sent as Temporal does when their workflow task
// failed (WorkflowNotReady), then accepts (narrow unit test; capture_test.go runs a real server).
type abortingTemporal struct {
	client.Client
	aborts, calls int
}

func (f *abortingTemporal) NewWithStartWorkflowOperation(client.StartWorkflowOptions, any, ...any) client.WithStartWorkflowOperation {
	return nil
}

func (f *abortingTemporal) UpdateWithStartWorkflow(context.Context, client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.calls++
	if f.calls <= f.aborts {
		return nil, serviceerror.NewWorkflowNotReady("Unable to perform workflow execution update due to unexpected workflow task failure.")
	}
	return acceptedUpdate{}, nil
}

type acceptedUpdate struct{}

func (acceptedUpdate) WorkflowID() string { return "capture/P" }
func (acceptedUpdate) RunID() string      { return "run" }
func (acceptedUpdate) UpdateID() string   { return "u" }
func (acceptedUpdate) Get(_ context.Context, v any) error {
	*v.(*workflows.CaptureReply) = workflows.CaptureReply{State: workflows.StateCaptured}
	return nil
}

// TestCaptureSentAgainWhenTemporalAbortsIt: an Update Temporal aborted (it was never accepted) is
// sent again, a bounded number of times; the key makes the resend safe.
func TestCaptureSentAgainWhenTemporalAbortsIt(t *testing.T) {
	in := workflows.CaptureInput{PaymentID: "P", Amount: alipay.MustParseDecimal("USD", "10.00")}
	req := workflows.CaptureRequest{Amount: in.Amount, Key: workflows.StartKey}
	f := &abortingTemporal{aborts: 2}
	got, err := Client{Temporal: f}.Capture(context.Background(), in, req)
	if err != nil || got.Capture == nil || got.Capture.State != workflows.StateCaptured || f.calls != 3 {
		t.Errorf("after 2 aborts: %+v, %v, %d sends; want captured on the third", got, err, f.calls)
	}
	f = &abortingTemporal{aborts: 100}
	if _, err := (Client{Temporal: f}).Capture(context.Background(), in, req); err == nil || f.calls != updateAttempts {
		t.Errorf("always aborted: %v after %d sends, want an error after %d", err, f.calls, updateAttempts)
	}
}
