package capture

import (
	"errors"
	"testing"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestAnswerFromClosed (rule 13): after the authorization closed, a capture request is answered
// from its key's record: the same key and amount get the record, a new key ErrFinished (nothing
// was captured for it), the same key for another amount ErrConflict. A voided authorization has
// no record for any key.
func TestAnswerFromClosed(t *testing.T) {
	usd4, usd6, usd10 := alipay.MustParseDecimal("USD", "4.00"), alipay.MustParseDecimal("USD", "6.00"), alipay.MustParseDecimal("USD", "10.00")
	split := workflows.Status{State: workflows.StateCaptured, PaymentID: "P", Captures: []workflows.CaptureRecord{
		{Seq: 1, Key: "K1", CaptureRequestID: workflows.CaptureRequestID("P", "K1"), Amount: usd4, State: workflows.StateCaptured, ResultCode: alipay.CodeSuccess},
		{Seq: 2, Key: "K2", CaptureRequestID: workflows.CaptureRequestID("P", "K2"), Amount: usd6, IsLastCapture: true, State: workflows.StateCaptured, ResultCode: alipay.CodeSuccess},
	}}
	voided := workflows.Status{State: workflows.StateCancelled, PaymentID: "P"}
	for _, tt := range []struct {
		name string
		st   workflows.Status
		req  workflows.CaptureRequest
		want error // nil: the record's reply
	}{
		{"same key, same amount", split, workflows.CaptureRequest{Key: "K2", Amount: usd6}, nil},
		{"same key, another amount", split, workflows.CaptureRequest{Key: "K2", Amount: usd4}, ErrConflict},
		{"new key for the authorized amount", split, workflows.CaptureRequest{Key: workflows.StartKey, Amount: usd10}, ErrFinished},
		{"after a void", voided, workflows.CaptureRequest{Key: workflows.StartKey, Amount: usd10}, ErrFinished},
	} {
		t.Run(tt.name, func(t *testing.T) {
			started, err := answerFromClosed(tt.st, "capture/P", "run-1", tt.req)
			if tt.want != nil {
				if !errors.Is(err, tt.want) || started.Capture != nil {
					t.Errorf("%+v, %v; want %v", started, err, tt.want)
				}
				return
			}
			rec, _ := tt.st.RecordOfKey(tt.req.Key)
			if err != nil || started.Capture == nil || !started.AlreadyStarted || started.Capture.CaptureRequestID != rec.CaptureRequestID ||
				started.Capture.State != workflows.StateCaptured || !started.Capture.Duplicate {
				t.Errorf("%+v (%+v), %v", started, started.Capture, err)
			}
		})
	}
}
