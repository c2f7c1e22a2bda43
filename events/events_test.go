package events_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/events"
)

var secret = []byte("whsec-test-0123456789abcdef")

func TestVerifyRefusesForgeriesAndStaleEvents(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	body := []byte(`{"id":"evt_1","type":"capture.succeeded","paymentId":"P1"}`)
	good := events.Sign(secret, now, body)
	if err := events.Verify(secret, good, body, now.Add(time.Minute), 0); err != nil {
		t.Fatalf("genuine event: %v", err)
	}
	for name, c := range map[string]struct {
		header string
		body   string
		now    time.Time
		want   error
	}{
		"another secret":        {events.Sign([]byte("not-the-secret-at-all"), now, body), string(body), now, events.ErrBadSignature},
		"body changed":          {good, strings.Replace(string(body), "P1", "P2", 1), now, events.ErrBadSignature},
		"timestamp changed":     {strings.Replace(good, "t=", "t=1", 1), string(body), now, events.ErrBadSignature},
		"replayed an hour late": {good, string(body), now.Add(time.Hour), events.ErrStale},
		"from the future":       {good, string(body), now.Add(-time.Hour), events.ErrStale},
		"no header":             {"", string(body), now, events.ErrNoSignature},
		"no v1":                 {"t=1700000000", string(body), now, events.ErrNoSignature},
	} {
		if err := events.Verify(secret, c.header, []byte(c.body), c.now, 0); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

// TestSenderToVerifier: what Sender posts, Verifier accepts; a receiver's non-2xx answer is an
// error, so that the delivery is retried.
func TestSenderToVerifier(t *testing.T) {
	var got []events.Event
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := events.Verifier{Secret: secret}.Event(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if r.Header.Get(events.IDHeader) != e.ID {
			t.Errorf("id header %q for event %s", r.Header.Get(events.IDHeader), e.ID)
		}
		got = append(got, e)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	e := events.Event{ID: "evt_run_1", Type: events.CaptureSucceeded, Seq: 1, Time: time.Now().UTC().Truncate(time.Second),
		PaymentID: "P1", Merchant: "default", State: "CAPTURED", Amount: alipay.Amount{Currency: "USD", Value: "1000"},
		CapturedAmount: alipay.Amount{Currency: "USD", Value: "1000"}}
	if err := (events.Sender{URL: srv.URL, Secret: secret}).Send(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != e.ID || !got[0].Time.Equal(e.Time) || got[0].CapturedAmount != e.CapturedAmount {
		t.Fatalf("received %+v", got)
	}
	status = http.StatusServiceUnavailable
	if err := (events.Sender{URL: srv.URL, Secret: secret}).Send(context.Background(), e); err == nil || !strings.Contains(err.Error(), "HTTP 503") {
		t.Errorf("503 answer: %v", err)
	}
	if err := (events.Sender{URL: srv.URL, Secret: []byte("wrong-secret-wrong-secret")}).Send(context.Background(), e); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("forged by a wrong secret: %v", err)
	}
}

// TestVerifierRefusesWhatIsNotAnEvent: a correctly signed body that is not a capture event
// (an id, type or paymentId missing, or not JSON), or one larger than MaxBody, is refused.
func TestVerifierRefusesWhatIsNotAnEvent(t *testing.T) {
	post := func(body []byte) (events.Event, error) {
		r := httptest.NewRequest(http.MethodPost, "/capture-events", strings.NewReader(string(body)))
		r.Header.Set(events.SignatureHeader, events.Sign(secret, time.Now(), body))
		return events.Verifier{Secret: secret}.Event(r)
	}
	if e, err := post([]byte(`{"id":"evt_1","type":"capture.succeeded","paymentId":"P1"}`)); err != nil || e.ID != "evt_1" {
		t.Fatalf("a genuine event: %+v, %v", e, err)
	}
	for name, body := range map[string]string{
		"no id":        `{"type":"capture.succeeded","paymentId":"P1"}`,
		"no type":      `{"id":"evt_1","paymentId":"P1"}`,
		"no paymentId": `{"id":"evt_1","type":"capture.succeeded"}`,
		"not JSON":     `id=evt_1`,
	} {
		if _, err := post([]byte(body)); err == nil || !strings.Contains(err.Error(), "not a capture event") {
			t.Errorf("%s: %v, want refused as not a capture event", name, err)
		}
	}
	big := []byte(`{"id":"evt_1","type":"capture.succeeded","paymentId":"P1","orderId":"` + strings.Repeat("x", events.MaxBody) + `"}`)
	if _, err := post(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a body over MaxBody: %v, want refused for its size", err)
	}
}
