package alipay

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Bounds of what Antom sends (spec §9): identifiers are printable ASCII of at most MaxIDLength
// characters, and free text is cut to MaxTextLength characters, with TruncatedMark, before it
// reaches a workflow history, a failure or a query result. A verified notification or answer
// therefore never exceeds Temporal's payload limits, whatever its signed bytes hold.
const (
	MaxIDLength   = 64
	MaxTextLength = 256
	// TruncatedMark ends a text that was cut to its bound.
	TruncatedMark = "…[truncated]"
	// maxShortText bounds codes, times and reference numbers.
	maxShortText = 64
)

// CheckID reports what is wrong with an identifier Antom sent (paymentId, captureRequestId,
// captureId): empty, longer than MaxIDLength, or not printable ASCII.
func CheckID(field, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("no %s", field)
	case len(s) > MaxIDLength:
		return fmt.Errorf("%s is %d bytes, at most %d allowed", field, len(s), MaxIDLength)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return fmt.Errorf("%s %q holds a character other than printable ASCII", field, s)
		}
	}
	return nil
}

// BoundText cuts s to MaxTextLength characters, marking the cut; invalid UTF-8 is replaced.
func BoundText(s string) string { return boundTo(s, MaxTextLength) }

func boundTo(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	cut, count := 0, 0
	for i := range s {
		if count == n {
			cut = i
			break
		}
		count++
	}
	return s[:cut] + TruncatedMark
}

// bound cuts the result's fields to their bounds.
func (r *Result) bound() {
	r.ResultCode = boundTo(r.ResultCode, maxShortText)
	r.ResultStatus = boundTo(r.ResultStatus, 8)
	r.ResultMessage = BoundText(r.ResultMessage)
}

// bound cuts an amount that cannot be one (see Amount.Validate) to a length that can be shown.
func (a *Amount) bound() {
	a.Currency = boundTo(a.Currency, 8)
	a.Value = boundTo(a.Value, maxValueDigits+2)
}

// checkIDs checks the identifiers that are set.
func checkIDs(ids map[string]string) error {
	for _, field := range []string{"paymentId", "paymentRequestId", "captureRequestId", "captureId", "transactionRequestId", "transactionId"} {
		if s, ok := ids[field]; ok && s != "" {
			if err := CheckID(field, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// check bounds a verified capture answer; an identifier that cannot be Antom's makes it no answer.
func (r *CaptureResponse) check() error {
	r.Result.bound()
	r.CaptureAmount.bound()
	r.CaptureTime, r.AcquirerReferenceNo = boundTo(r.CaptureTime, maxShortText), boundTo(r.AcquirerReferenceNo, maxShortText)
	return checkIDs(map[string]string{"captureRequestId": r.CaptureRequestID, "captureId": r.CaptureID, "paymentId": r.PaymentID})
}

// check bounds a verified inquiry answer.
func (r *InquiryResponse) check() error {
	r.Result.bound()
	r.PaymentAmount.bound()
	r.PaymentStatus, r.PaymentResultCode = boundTo(r.PaymentStatus, maxShortText), boundTo(r.PaymentResultCode, maxShortText)
	r.PaymentResultMessage = BoundText(r.PaymentResultMessage)
	r.PaymentCreateTime, r.PaymentTime = boundTo(r.PaymentCreateTime, maxShortText), boundTo(r.PaymentTime, maxShortText)
	r.AuthExpiryTime = boundTo(r.AuthExpiryTime, maxShortText)
	if err := checkIDs(map[string]string{"paymentId": r.PaymentID, "paymentRequestId": r.PaymentRequestID}); err != nil {
		return err
	}
	for i := range r.Transactions {
		t := &r.Transactions[i]
		t.TransactionType, t.TransactionStatus = boundTo(t.TransactionType, maxShortText), boundTo(t.TransactionStatus, maxShortText)
		t.TransactionTime = boundTo(t.TransactionTime, maxShortText)
		t.TransactionAmount.bound()
		if t.TransactionResult != nil {
			t.TransactionResult.bound()
		}
		if err := checkIDs(map[string]string{"transactionRequestId": t.TransactionRequestID, "transactionId": t.TransactionID}); err != nil {
			return fmt.Errorf("transaction %d: %w", i, err)
		}
	}
	return nil
}

// check bounds a verified cancel answer.
func (r *CancelResponse) check() error {
	r.Result.bound()
	r.CancelTime = boundTo(r.CancelTime, maxShortText)
	return checkIDs(map[string]string{"paymentId": r.PaymentID, "paymentRequestId": r.PaymentRequestID})
}

// check bounds a verified capture notification; an identifier that cannot be Antom's makes it
// malformed.
func (c *CaptureNotification) check() error {
	c.Result.bound()
	c.CaptureAmount.bound()
	c.CaptureTime, c.AcquirerReferenceNo = boundTo(c.CaptureTime, maxShortText), boundTo(c.AcquirerReferenceNo, maxShortText)
	if err := CheckID("paymentId", c.PaymentID); err != nil {
		return err
	}
	if err := CheckID("captureRequestId", c.CaptureRequestID); err != nil {
		return err
	}
	return checkIDs(map[string]string{"captureId": c.CaptureID})
}

// Bounded returns c with every field cut to its bound (identifiers to MaxIDLength, free text
// to MaxTextLength, marked), for a consumer that must hold whatever it is given, such as a
// workflow receiving a notification as a signal.
func (c CaptureNotification) Bounded() CaptureNotification {
	c.NotifyType = boundTo(c.NotifyType, maxShortText)
	c.PaymentID, c.CaptureRequestID, c.CaptureID = boundTo(c.PaymentID, MaxIDLength), boundTo(c.CaptureRequestID, MaxIDLength), boundTo(c.CaptureID, MaxIDLength)
	c.Result.bound()
	c.CaptureAmount.bound()
	c.CaptureTime, c.AcquirerReferenceNo = boundTo(c.CaptureTime, maxShortText), boundTo(c.AcquirerReferenceNo, maxShortText)
	return c
}
