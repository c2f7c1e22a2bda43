package alipay

import (
	"errors"
	"fmt"
	"time"
)

// API paths on an Antom host (production form; see SandboxPath).
const (
	PathCapture        = "/ams/api/v1/payments/capture"
	PathInquiryPayment = "/ams/api/v1/payments/inquiryPayment"
	PathCancel         = "/ams/api/v1/payments/cancel"
)

// maxIDLen is Antom's limit on paymentId, captureRequestId and paymentRequestId.
const maxIDLen = 64

// ErrInvalidRequest is wrapped by errors about a request that was refused before sending.
var ErrInvalidRequest = errors.New("invalid request")

// Bool returns a pointer to b, for CaptureRequest.IsLastCapture.
func Bool(b bool) *bool { return &b }

// CaptureRequest asks Antom to capture an authorized payment.
type CaptureRequest struct {
	// CaptureRequestID is the merchant's idempotency key for this capture (≤ 64 characters).
	// Resending the same id with the same body never captures twice.
	CaptureRequestID string `json:"captureRequestId"`
	// PaymentID is Antom's id of the authorized payment (≤ 64 characters).
	PaymentID     string `json:"paymentId"`
	CaptureAmount Amount `json:"captureAmount"`
	// IsLastCapture is optional: nil leaves it out; false and true are both sent, unlike the
	// official SDK, which cannot send false.
	IsLastCapture *bool `json:"isLastCapture,omitempty"`
	// CaptureType is optional and passed through.
	CaptureType string `json:"captureType,omitempty"`
}

// Validate reports what is wrong with r before anything is sent.
func (r CaptureRequest) Validate() error {
	if err := checkID("captureRequestId", r.CaptureRequestID); err != nil {
		return err
	}
	if err := checkID("paymentId", r.PaymentID); err != nil {
		return err
	}
	if err := r.CaptureAmount.Validate(); err != nil {
		return fmt.Errorf("%w: captureAmount: %w", ErrInvalidRequest, err)
	}
	return nil
}

// CaptureResponse is Antom's answer to a capture request.
type CaptureResponse struct {
	Result              Result `json:"result"`
	CaptureRequestID    string `json:"captureRequestId,omitempty"`
	CaptureID           string `json:"captureId,omitempty"`
	PaymentID           string `json:"paymentId,omitempty"`
	CaptureAmount       Amount `json:"captureAmount,omitzero"`
	CaptureTime         string `json:"captureTime,omitempty"`
	AcquirerReferenceNo string `json:"acquirerReferenceNo,omitempty"`
}

// InquiryRequest asks for the state of a payment and its transactions. PaymentID wins when
// both ids are given.
type InquiryRequest struct {
	PaymentID        string `json:"paymentId,omitempty"`
	PaymentRequestID string `json:"paymentRequestId,omitempty"`
}

// Validate reports what is wrong with r before anything is sent.
func (r InquiryRequest) Validate() error { return checkPaymentRef(r.PaymentID, r.PaymentRequestID) }

// Payment and transaction status values in inquiryPayment responses.
const (
	TxSuccess    = "SUCCESS"
	TxFail       = "FAIL"
	TxProcessing = "PROCESSING"
	TxCancelled  = "CANCELLED"
	TxPending    = "PENDING"
)

// Transaction types in inquiryPayment responses.
const (
	TxTypePayment       = "PAYMENT"
	TxTypeRefund        = "REFUND"
	TxTypeCapture       = "CAPTURE"
	TxTypeCancel        = "CANCEL"
	TxTypeAuthorization = "AUTHORIZATION"
	TxTypeVoid          = "VOID"
	TxTypeIncremental   = "INCREMENTAL"
)

// InquiryResponse is Antom's answer to inquiryPayment. Result is about the inquiry call only;
// the payment's state is PaymentStatus and, for captures, Transactions.
type InquiryResponse struct {
	Result               Result        `json:"result"`
	PaymentRequestID     string        `json:"paymentRequestId,omitempty"`
	PaymentID            string        `json:"paymentId,omitempty"`
	PaymentAmount        Amount        `json:"paymentAmount,omitzero"`
	PaymentStatus        string        `json:"paymentStatus,omitempty"`
	PaymentResultCode    string        `json:"paymentResultCode,omitempty"`
	PaymentResultMessage string        `json:"paymentResultMessage,omitempty"`
	PaymentCreateTime    string        `json:"paymentCreateTime,omitempty"`
	PaymentTime          string        `json:"paymentTime,omitempty"`
	AuthExpiryTime       string        `json:"authExpiryTime,omitempty"`
	Transactions         []Transaction `json:"transactions,omitempty"`
}

// Transaction is one entry of an inquiryPayment response: a capture, refund, cancel, ….
type Transaction struct {
	TransactionType      string  `json:"transactionType"`
	TransactionStatus    string  `json:"transactionStatus"`
	TransactionRequestID string  `json:"transactionRequestId,omitempty"`
	TransactionID        string  `json:"transactionId,omitempty"`
	TransactionAmount    Amount  `json:"transactionAmount,omitzero"`
	TransactionTime      string  `json:"transactionTime,omitempty"`
	TransactionResult    *Result `json:"transactionResult,omitempty"`
}

// CaptureTransaction returns the CAPTURE transaction whose request id is captureRequestID. When
// none exists the capture request never took effect, and resending the same request is safe.
func (r *InquiryResponse) CaptureTransaction(captureRequestID string) (Transaction, bool) {
	for _, t := range r.Transactions {
		if t.TransactionType == TxTypeCapture && t.TransactionRequestID == captureRequestID {
			return t, true
		}
	}
	return Transaction{}, false
}

// AuthExpiry parses AuthExpiryTime; ok is false when it is absent or malformed.
func (r *InquiryResponse) AuthExpiry() (t time.Time, ok bool) {
	t, err := ParseTime(r.AuthExpiryTime)
	return t, err == nil
}

// CancelRequest asks Antom to void an uncaptured authorization. PaymentID wins when both ids
// are given.
type CancelRequest struct {
	PaymentID        string `json:"paymentId,omitempty"`
	PaymentRequestID string `json:"paymentRequestId,omitempty"`
}

// Validate reports what is wrong with r before anything is sent.
func (r CancelRequest) Validate() error { return checkPaymentRef(r.PaymentID, r.PaymentRequestID) }

// CancelResponse is Antom's answer to cancel.
type CancelResponse struct {
	Result           Result `json:"result"`
	PaymentID        string `json:"paymentId,omitempty"`
	PaymentRequestID string `json:"paymentRequestId,omitempty"`
	CancelTime       string `json:"cancelTime,omitempty"`
}

// FormatTime formats t as Antom's body timestamps: ISO 8601 with offset, second precision.
func FormatTime(t time.Time) string { return t.Format(time.RFC3339) }

// ParseTime parses an Antom body timestamp (ISO 8601 with offset, e.g. 2022-09-19T09:59:17-07:00).
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("empty time")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q is not ISO 8601 with offset: %w", s, err)
	}
	return t, nil
}

func checkID(field, v string) error {
	switch {
	case v == "":
		return fmt.Errorf("%w: %s is empty", ErrInvalidRequest, field)
	case len(v) > maxIDLen:
		return fmt.Errorf("%w: %s is %d characters, Antom allows %d", ErrInvalidRequest, field, len(v), maxIDLen)
	}
	return nil
}

func checkPaymentRef(paymentID, paymentRequestID string) error {
	if paymentID == "" && paymentRequestID == "" {
		return fmt.Errorf("%w: paymentId or paymentRequestId is required", ErrInvalidRequest)
	}
	if paymentID != "" {
		return checkID("paymentId", paymentID)
	}
	return checkID("paymentRequestId", paymentRequestID)
}
