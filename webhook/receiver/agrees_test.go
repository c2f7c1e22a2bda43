package receiver

import (
	"testing"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestAgreesWithSeveralCaptures: a closed authorization with two successful partial captures
// agrees with a late S for either of them, and contradicts an S for a request it never sent.
func TestAgreesWithSeveralCaptures(t *testing.T) {
	s := func(id string) *alipay.CaptureNotification {
		return &alipay.CaptureNotification{CaptureRequestID: id, Result: alipay.Result{ResultStatus: alipay.StatusSuccess}}
	}
	ids := "P-cap-1,P-cap-2"
	for id, want := range map[string]bool{"P-cap-1": true, "P-cap-2": true, "P-cap-3": false} {
		if got := agrees(s(id), workflows.StateCaptured, ids); got != want {
			t.Errorf("S for %s with %s: agrees %v, want %v", id, ids, got, want)
		}
	}
}
