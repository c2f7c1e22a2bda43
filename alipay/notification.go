package alipay

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// NotifyTypeCaptureResult is the notifyType of notifyCapture.
const NotifyTypeCaptureResult = "CAPTURE_RESULT"

// AckBody is the exact acknowledgement Antom expects, with HTTP 200, for a notification. Without
// it Antom resends the notification (up to 8 times within about 24 hours).
var AckBody = []byte(`{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}`)

// Reasons for refusing a notification. A refusal error wraps one of these or ErrBadSignature.
var (
	ErrWrongClientID         = errors.New("notification Client-Id is not ours")
	ErrMalformedNotification = errors.New("malformed notification")
)

// RefusalReasons are the values RefusalReason returns.
var RefusalReasons = []string{"bad_signature", "client_id", "malformed", "other"}

// RefusalReason names why err refused a notification, as a short label for logs and metrics:
// one of RefusalReasons.
func RefusalReason(err error) string {
	switch {
	case errors.Is(err, ErrBadSignature):
		return RefusalReasons[0]
	case errors.Is(err, ErrWrongClientID):
		return RefusalReasons[1]
	case errors.Is(err, ErrMalformedNotification):
		return RefusalReasons[2]
	}
	return RefusalReasons[3]
}

// NotificationVerifier verifies notifications that Antom sends to the merchant. Its zero value
// refuses everything.
type NotificationVerifier struct {
	// Merchant names the account in the merchant registry; Verify copies it into the
	// Notification, so that the receiver routes and labels by account.
	Merchant       string
	ClientID       string         // the merchant's Client-Id; notifications for others are refused
	AntomPublicKey *rsa.PublicKey // Antom's public key
	// AntomPublicKeys are further keys accepted while Antom rotates its key.
	AntomPublicKeys []*rsa.PublicKey
}

// Notification is a verified notification of any type. Body holds the exact bytes Antom sent,
// so that notifications this project does not handle can be relayed unchanged.
type Notification struct {
	NotifyType  string
	PaymentID   string
	ClientID    string
	Merchant    string // the verifier's Merchant
	RequestTime string
	Body        []byte
}

// Verify checks a notification as it arrived: method, the request path of the endpoint it was
// sent to (part of the signed content), its headers and its raw body. It returns the
// notification, or an error that says why it was refused (see RefusalReason). A notifyType
// this package does not know is not an error.
func (v NotificationVerifier) Verify(method, path string, header http.Header, body []byte) (*Notification, error) {
	if method != http.MethodPost {
		return nil, fmt.Errorf("%w: method %s, want POST", ErrMalformedNotification, method)
	}
	clientID := header.Get(headerClientID)
	if clientID == "" {
		return nil, fmt.Errorf("%w: no Client-Id header", ErrMalformedNotification)
	}
	if clientID != v.ClientID {
		return nil, fmt.Errorf("%w: got %q", ErrWrongClientID, truncate(clientID, 64))
	}
	reqTime := header.Get(headerRequestTime)
	if reqTime == "" {
		return nil, fmt.Errorf("%w: no Request-Time header", ErrMalformedNotification)
	}
	h, err := ParseSignatureHeader(header.Get(headerSignature))
	if err != nil {
		return nil, err
	}
	keys := append([]*rsa.PublicKey{v.AntomPublicKey}, v.AntomPublicKeys...)
	if err := verifyAny(keys, Message{Method: method, Path: path, ClientID: clientID, Time: reqTime, Body: body}, h.Signature); err != nil {
		return nil, err
	}
	var head struct {
		NotifyType string `json:"notifyType"`
		PaymentID  string `json:"paymentId"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return nil, fmt.Errorf("%w: body is not a JSON object: %w", ErrMalformedNotification, err)
	}
	if head.NotifyType == "" {
		return nil, fmt.Errorf("%w: no notifyType", ErrMalformedNotification)
	}
	// Bounded for logs and labels; the body keeps the signed bytes.
	return &Notification{NotifyType: boundTo(head.NotifyType, maxShortText), PaymentID: boundTo(head.PaymentID, MaxIDLength),
		ClientID: clientID, Merchant: v.Merchant, RequestTime: reqTime, Body: body}, nil
}

// NotificationVerifiers verifies notifications for several merchant accounts: the notification's
// Client-Id header picks the account, whose Antom keys alone may verify it, so that one
// account's key never vouches for another's notification. An unknown Client-Id is refused with
// ErrWrongClientID.
type NotificationVerifiers []NotificationVerifier

// Verify verifies the notification with the verifier of its Client-Id (see
// NotificationVerifier.Verify).
func (vs NotificationVerifiers) Verify(method, path string, header http.Header, body []byte) (*Notification, error) {
	clientID := header.Get(headerClientID)
	for _, v := range vs {
		if v.ClientID == clientID && clientID != "" {
			return v.Verify(method, path, header, body)
		}
	}
	if clientID == "" {
		return nil, fmt.Errorf("%w: no Client-Id header", ErrMalformedNotification)
	}
	return nil, fmt.Errorf("%w: got %q, which no configured merchant account has", ErrWrongClientID, truncate(clientID, 64))
}

// CaptureNotification is the body of notifyCapture (notifyType CAPTURE_RESULT): the final result,
// S or F, of one capture request.
type CaptureNotification struct {
	NotifyType          string `json:"notifyType"`
	Result              Result `json:"result"`
	CaptureRequestID    string `json:"captureRequestId"`
	PaymentID           string `json:"paymentId"`
	CaptureID           string `json:"captureId,omitempty"`
	CaptureAmount       Amount `json:"captureAmount,omitzero"`
	CaptureTime         string `json:"captureTime,omitempty"`
	AcquirerReferenceNo string `json:"acquirerReferenceNo,omitempty"`
}

// Capture decodes n as a capture notification. It fails, wrapping ErrMalformedNotification, when
// n is of another type or lacks what a capture result needs.
func (n *Notification) Capture() (*CaptureNotification, error) {
	if n.NotifyType != NotifyTypeCaptureResult {
		return nil, fmt.Errorf("%w: notifyType %q is not %s", ErrMalformedNotification, truncate(n.NotifyType, 64), NotifyTypeCaptureResult)
	}
	return ParseCaptureNotification(n.Body)
}

// ParseCaptureNotification decodes and checks an already verified notifyCapture body: its
// identifiers must be Antom's (CheckID), and its free text is cut to its bounds.
func ParseCaptureNotification(body []byte) (*CaptureNotification, error) {
	var c CaptureNotification
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedNotification, err)
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedNotification, err)
	}
	switch {
	case c.NotifyType != NotifyTypeCaptureResult:
		return nil, fmt.Errorf("%w: notifyType %q is not %s", ErrMalformedNotification, truncate(c.NotifyType, 64), NotifyTypeCaptureResult)
	case c.Result.ResultStatus != StatusSuccess && c.Result.ResultStatus != StatusFail:
		return nil, fmt.Errorf("%w: capture result status %q, want S or F", ErrMalformedNotification, truncate(c.Result.ResultStatus, 8))
	case c.CaptureRequestID == "":
		return nil, fmt.Errorf("%w: no captureRequestId", ErrMalformedNotification)
	case c.PaymentID == "":
		return nil, fmt.Errorf("%w: no paymentId", ErrMalformedNotification)
	}
	if c.Result.ResultStatus == StatusSuccess || !c.CaptureAmount.IsZero() {
		if err := c.CaptureAmount.Validate(); err != nil {
			return nil, fmt.Errorf("%w: captureAmount: %w", ErrMalformedNotification, err)
		}
	}
	return &c, nil
}

// Succeeded reports whether the capture was made.
func (c *CaptureNotification) Succeeded() bool { return c.Result.ResultStatus == StatusSuccess }

// WriteAck writes Antom's acknowledgement (HTTP 200 and AckBody) to w.
func WriteAck(w http.ResponseWriter) {
	w.Header().Set("Content-Type", contentTypeJSON)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(AckBody)
}

// IsAck reports whether an HTTP status and body are Antom's acknowledgement. Field order and
// white space do not matter; the values do.
func IsAck(status int, body []byte) bool {
	if status != http.StatusOK {
		return false
	}
	var a struct {
		Result Result `json:"result"`
	}
	if json.Unmarshal(body, &a) != nil {
		return false
	}
	return a.Result == Result{ResultCode: CodeSuccess, ResultStatus: StatusSuccess, ResultMessage: "success"}
}
