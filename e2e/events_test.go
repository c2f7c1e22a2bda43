package e2e_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/events"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestCaptureEventsToTheMerchant: the worker process with EVENTS_URL posts a capture's events to
// the merchant's endpoint, where the events package verifies them; a forged post is refused.
func TestCaptureEventsToTheMerchant(t *testing.T) {
	secret := "e2e-events-secret-0123456789"
	var mu sync.Mutex
	var got []events.Event
	forged := 0
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := events.Verifier{Secret: []byte(secret)}.Event(r)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			forged++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		got = append(got, e)
	}))
	defer rc.Close()
	s := startSystemOn(t, nil, "EVENTS_URL="+rc.URL+"/capture-events", "EVENTS_SECRET="+secret)

	pid := s.authorize(alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: alipaytest.Duration(10 * time.Minute)})
	res, err := s.captureAndWait(input(pid, time.Hour))
	if err != nil || res.State != workflows.StateCaptured {
		t.Fatalf("%+v, %v", res, err)
	}
	s.waitFor("the capture.succeeded event", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) > 0
	})
	mu.Lock()
	e := got[0]
	mu.Unlock()
	if e.Type != events.CaptureSucceeded || e.PaymentID != pid || e.Seq != 1 || e.State != string(workflows.StateCaptured) ||
		e.CapturedAmount != usd10 || e.CaptureID != res.CaptureID || e.Merchant != workflows.DefaultMerchant {
		t.Errorf("event %+v", e)
	}

	// Someone without the secret posts an event: the consumer package refuses it.
	body := `{"id":"evt_forged","type":"capture.succeeded","paymentId":"` + pid + `"}`
	req, _ := http.NewRequest(http.MethodPost, rc.URL+"/capture-events", strings.NewReader(body))
	req.Header.Set(events.SignatureHeader, events.Sign([]byte("not-the-secret-0123456789"), time.Now(), []byte(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if resp.StatusCode != http.StatusUnauthorized || forged != 1 {
		t.Errorf("forged event: HTTP %d, %d refused", resp.StatusCode, forged)
	}
}
