package events_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/events"
)

// An order service's endpoint for capture events: verify, deduplicate on the event id, act,
// then answer 2xx (anything else, or no answer, makes alipay-capture deliver it again).
func Example() {
	secret := []byte("whsec-example") // EVENTS_SECRET, shared with the worker
	v := events.Verifier{Secret: secret}
	seen := map[string]bool{}
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := v.Event(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized) // forged, stale or malformed
			return
		}
		if !seen[e.ID] {
			seen[e.ID] = true
			switch e.Type {
			case events.CaptureSucceeded:
				fmt.Printf("order %s paid: %s captured, %s remaining\n", e.OrderID, e.CapturedAmount, e.Remaining)
			case events.AuthorizationExpiring:
				fmt.Printf("order %s: ship or cancel before %s\n", e.OrderID, e.Deadline)
			case events.CaptureFailed, events.AuthorizationExpired:
				fmt.Printf("order %s not paid: %s %s\n", e.OrderID, e.ResultCode, e.ResultMessage)
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer endpoint.Close()

	// What the worker sends (EVENTS_URL), twice, as a redelivery would.
	e := events.Event{ID: "evt_1", Type: events.CaptureSucceeded, Seq: 1, PaymentID: "PAY1", OrderID: "ORDER-1", State: "PARTIALLY_CAPTURED",
		CapturedAmount: alipay.MustParseDecimal("USD", "4.00"), Remaining: alipay.MustParseDecimal("USD", "6.00")}
	for range 2 {
		fmt.Println(events.Sender{URL: endpoint.URL, Secret: secret}.Send(context.Background(), e))
	}
	fmt.Println(events.Sender{URL: endpoint.URL, Secret: []byte("not the secret")}.Send(context.Background(), e) != nil)
	// Output:
	// order ORDER-1 paid: 4.00 USD captured, 6.00 USD remaining
	// <nil>
	// <nil>
	// true
}
