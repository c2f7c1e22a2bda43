package events_test

import (
	"log"
	"net/http"
	"os"

	"github.com/capturekit/alipay-capture/events"
)

// An order service's endpoint for capture events: verify, deduplicate on the event id, act,
// then answer 2xx (anything else, or no answer, makes alipay-capture deliver it again).
func Example() {
	v := events.Verifier{Secret: []byte(os.Getenv("EVENTS_SECRET"))}
	http.HandleFunc("POST /capture-events", func(w http.ResponseWriter, r *http.Request) {
		e, err := v.Event(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized) // forged, stale or malformed
			return
		}
		switch e.Type {
		case events.CaptureSucceeded:
			log.Printf("order %s paid: %s captured, %s remaining", e.OrderID, e.CapturedAmount, e.Remaining)
		case events.AuthorizationExpiring:
			log.Printf("order %s: ship or cancel before %s", e.OrderID, e.Deadline)
		case events.CaptureFailed, events.AuthorizationExpired:
			log.Printf("order %s not paid: %s %s", e.OrderID, e.ResultCode, e.ResultMessage)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
