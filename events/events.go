// Package events is the capture events alipay-capture posts to the merchant's own services
// (EVENTS_URL): money captured, refused, about to lapse, lapsed, voided, unresolved, or captured
// for another amount. An order service uses it to trust what arrives: Verifier checks the
// Capture-Signature header (HMAC-SHA256 over the timestamp and the raw body, keyed with
// EVENTS_SECRET) and refuses forgeries and stale replays, then decodes the Event. The worker
// uses Sender to post them. It imports nothing of Temporal.
//
// Delivery is at least once and in order per capture: an event may arrive again (deduplicate on
// Event.ID) but never before an earlier event of the same capture.
package events

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
)

// Event types.
const (
	// CaptureSucceeded: Antom captured (part of) the authorization: mark the order paid.
	CaptureSucceeded = "capture.succeeded"
	// CaptureFailed: Antom refused a capture: contact the customer, or try another capture.
	CaptureFailed = "capture.failed"
	// CaptureUnresolved: Antom's answer never came; someone must settle the payment by hand.
	CaptureUnresolved = "capture.unresolved"
	// CaptureDiscrepancy: Antom captured another amount than requested (or did not say how
	// much); it follows the capture.succeeded of the same capture.
	CaptureDiscrepancy = "capture.discrepancy"
	// AuthorizationExpiring: the deadline is near with part of the authorization uncaptured:
	// ship (and capture) or cancel now.
	AuthorizationExpiring = "authorization.expiring"
	// AuthorizationExpired: the authorization lapsed with nothing captured.
	AuthorizationExpired = "authorization.expired"
	// AuthorizationCancelled: the authorization was voided (or Antom reports it cancelled).
	AuthorizationCancelled = "authorization.cancelled"
)

// Header names of an event request.
const (
	// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">".
	SignatureHeader = "Capture-Signature"
	// IDHeader repeats Event.ID, for receivers that deduplicate before reading the body.
	IDHeader = "Capture-Event-Id"
)

// Event is one capture event, the JSON body of an event request. Amounts are minor units in
// strings, as Antom writes them ("1000" USD is 10.00 USD).
type Event struct {
	// ID is unique per event and the same on every delivery of it.
	ID   string    `json:"id"`
	Type string    `json:"type"`
	Time time.Time `json:"time"` // when it happened
	// Seq numbers the events of one capture workflow from 1, in the order they happened.
	Seq       int    `json:"seq"`
	PaymentID string `json:"paymentId"`
	Merchant  string `json:"merchant"`
	OrderID   string `json:"orderId,omitempty"`
	// State is the authorization's capture state after the event (CAPTURED, PARTIALLY_CAPTURED,
	// PENDING, FAILED, EXPIRED, CANCELLED, UNRESOLVED, …).
	State string `json:"state"`

	// The capture the event is about (capture.* events).
	CaptureRequestID string        `json:"captureRequestId,omitempty"`
	CaptureID        string        `json:"captureId,omitempty"`
	Amount           alipay.Amount `json:"amount,omitzero"`         // requested
	CapturedAmount   alipay.Amount `json:"capturedAmount,omitzero"` // Antom's
	ResultCode       string        `json:"resultCode,omitempty"`
	ResultMessage    string        `json:"resultMessage,omitempty"`
	Discrepancy      string        `json:"discrepancy,omitempty"`

	// The authorization's totals after the event.
	Authorized alipay.Amount `json:"authorized,omitzero"`
	Captured   alipay.Amount `json:"captured,omitzero"`
	Remaining  alipay.Amount `json:"remaining,omitzero"`
	Deadline   time.Time     `json:"deadline,omitzero"`
}

// Errors of Verify, for errors.Is.
var (
	ErrNoSignature  = errors.New("no " + SignatureHeader + " header, or one without t= and v1=")
	ErrBadSignature = errors.New("signature does not match the body and timestamp")
	ErrStale        = errors.New("signature timestamp outside the tolerance")
)

// DefaultTolerance is how far a signature's timestamp may be from now.
const DefaultTolerance = 5 * time.Minute

// Sign returns the Capture-Signature header value of body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks header (the Capture-Signature value) against body: a v1 signature made with
// secret over the header's timestamp and the body, with the timestamp within tolerance of now
// (0: DefaultTolerance), so that a captured request cannot be replayed later.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		ok = ok || hmac.Equal(s, want)
	}
	if !ok {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed %s ago", ErrStale, d.Round(time.Second))
	}
	return nil
}

// Parse decodes an event body (already verified).
func Parse(body []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		return e, fmt.Errorf("not a capture event: %w", err)
	}
	if e.ID == "" || e.Type == "" || e.PaymentID == "" {
		return e, errors.New("not a capture event: id, type or paymentId missing")
	}
	return e, nil
}

// MaxBody is the largest event body Verifier reads; events are about a kilobyte.
const MaxBody = 64 << 10

// Verifier checks event requests for a receiver. Secret is required.
type Verifier struct {
	Secret []byte
	// Tolerance bounds the age of a signature (default DefaultTolerance).
	Tolerance time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Event reads r's body, verifies its signature and returns the event. An error means: answer
// 4xx (401 for a bad or stale signature) and do not act on it.
func (v Verifier) Event(r *http.Request) (Event, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return Event{}, err
	}
	if len(body) > MaxBody {
		return Event{}, fmt.Errorf("event body larger than %d bytes", MaxBody)
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	if err := Verify(v.Secret, r.Header.Get(SignatureHeader), body, now, v.Tolerance); err != nil {
		return Event{}, err
	}
	return Parse(body)
}

// Sender posts events to a merchant's endpoint. URL and Secret are required.
type Sender struct {
	URL    string
	Secret []byte
	// HTTPClient posts; default a client with a 10 s timeout.
	HTTPClient *http.Client
	// Now returns the signing time; nil means time.Now.
	Now func() time.Time
}

// Send posts e once, signed; it returns nil only when the receiver answered 2xx.
func (s Sender) Send(ctx context.Context, e Event) error {
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("EVENTS_URL: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(s.Secret, now, body))
	req.Header.Set(IDHeader, e.ID)
	hc := s.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("posting event %s: %w", e.ID, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("posting event %s: HTTP %d %s", e.ID, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}
