package alipay

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestNotificationBounds (spec §9): a verified capture notification whose identifiers cannot be
// Antom's is malformed; its free text is cut to its bound, marked.
func TestNotificationBounds(t *testing.T) {
	body := func(pid, reqID, message string) []byte {
		return []byte(`{"notifyType":"CAPTURE_RESULT","result":{"resultCode":"PROCESS_FAIL","resultStatus":"F","resultMessage":"` + message +
			`"},"captureRequestId":"` + reqID + `","paymentId":"` + pid + `","captureTime":"` + strings.Repeat("t", 500) + `"}`)
	}
	c, err := ParseCaptureNotification(body("PAY1", "cap-1", strings.Repeat("é", 100_000)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(c.Result.ResultMessage, TruncatedMark) || utf8.RuneCountInString(c.Result.ResultMessage) != MaxTextLength+utf8.RuneCountInString(TruncatedMark) ||
		len(c.CaptureTime) > 100 {
		t.Errorf("message of %d runes, captureTime of %d bytes: want both cut to their bounds", utf8.RuneCountInString(c.Result.ResultMessage), len(c.CaptureTime))
	}
	if c, err := ParseCaptureNotification(body("PAY1", "cap-1", "declined")); err != nil || c.Result.ResultMessage != "declined" {
		t.Errorf("a message within its bound is kept: %+v, %v", c, err)
	}
	for name, b := range map[string][]byte{
		"paymentId of 65 characters":    body(strings.Repeat("P", 65), "cap-1", "x"),
		"paymentId with a control char": body(`PAY\u0001`, "cap-1", "x"),
		"non-ASCII captureRequestId":    body("PAY1", `cap-\u00e9`, "x"),
		"captureRequestId with a space": body("PAY1", "cap 1", "x"),
	} {
		if _, err := ParseCaptureNotification(b); err == nil || !strings.Contains(err.Error(), "Id") {
			t.Errorf("%s: %v, want malformed, naming the identifier", name, err)
		}
	}
}

// TestResponseBounds: a verified answer's free text is cut to its bounds; an identifier that
// cannot be Antom's makes it no answer.
func TestResponseBounds(t *testing.T) {
	r := CaptureResponse{Result: Result{ResultCode: strings.Repeat("C", 500), ResultStatus: "S", ResultMessage: strings.Repeat("<", 10_000)},
		CaptureAmount: Amount{Currency: "USD", Value: strings.Repeat("9", 10_000)}}
	if err := r.check(); err != nil {
		t.Fatal(err)
	}
	if len(r.Result.ResultCode) > 100 || !strings.HasSuffix(r.Result.ResultMessage, TruncatedMark) || len(r.CaptureAmount.Value) > 50 {
		t.Errorf("code %d bytes, message %d bytes, amount %d bytes: want them cut", len(r.Result.ResultCode), len(r.Result.ResultMessage), len(r.CaptureAmount.Value))
	}
	if err := (&CaptureResponse{Result: Result{ResultStatus: "S"}, CaptureID: strings.Repeat("c", 65)}).check(); err == nil {
		t.Error("a captureId of 65 characters was taken")
	}
	inq := InquiryResponse{Result: Result{ResultStatus: "S"}, Transactions: []Transaction{{TransactionRequestID: "cap\x00", TransactionResult: &Result{}}}}
	if err := inq.check(); err == nil {
		t.Error("a transactionRequestId with a NUL was taken")
	}
}
