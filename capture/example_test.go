package capture_test

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/workflows"
)

// An order service captures a shipment of an authorization, then reads where the
// authorization stands (README: A first capture). Compiled, not run: it needs Temporal.
func ExampleClient_Capture() {
	var temporalClient client.Client // client.Dial(client.Options{HostPort: "localhost:7233"})
	ctx, authorizedAt := context.Background(), time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	run := func() error {
		cc := capture.Client{Temporal: temporalClient} // task queue alipay-capture
		// The authorization: what the captures may add up to.
		auth := workflows.CaptureInput{
			PaymentID: "2026110212345", OrderID: "ORD-77", PartialCaptures: true,
			Amount: alipay.MustParseDecimal("USD", "25.00"), AuthorizedAt: authorizedAt,
		}
		shipped, err := cc.Capture(ctx, auth, workflows.CaptureRequest{
			Amount: alipay.MustParseDecimal("USD", "10.00"), Key: "SHIPMENT-1", // your idempotency key
		})
		if err != nil {
			return err // errors.Is(err, capture.ErrConflict): another amount for the key, more than remains, …
		}
		if shipped.Capture != nil {
			fmt.Println(shipped.Capture.State) // CAPTURED, FAILED, or UNKNOWN: follow it with Status
		}
		st, err := cc.Status(ctx, auth.PaymentID) // st.State, st.Captured, st.Remaining, st.Captures
		fmt.Println(st.Captured, err)
		return nil
	}
	_ = run
}
