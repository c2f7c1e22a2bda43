package alipaytest

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
)

// Scenario scripts how the simulator answers captures of one authorization. The zero value is
// the happy path: the first capture succeeds at once and a notifyCapture is sent.
type Scenario struct {
	// Result of a capture that passes Antom's checks: "S" (default), "F", or "U"
	// (CAPTURE_IN_PROCESS, resolved later per ResolveTo).
	Result string `json:"result,omitempty"`
	// FailCode is the result code of an F, directly or after U. Default PROCESS_FAIL.
	FailCode string `json:"failCode,omitempty"`
	// ResolveTo is what a U becomes: "S", "F", or "" to stay in process until Resolve is called
	// (or forever, which lets an authorization run out).
	ResolveTo string `json:"resolveTo,omitempty"`
	// ResolveAfter is how long a U stays in process, in simulated time (see Config.TimeScale).
	ResolveAfter Duration `json:"resolveAfter,omitempty"`
	// NoNotify suppresses notifyCapture, so that only inquiryPayment can tell the outcome.
	NoNotify bool `json:"noNotify,omitempty"`
	// UnknownExceptionCalls answers the first N capture calls with U/UNKNOWN_EXCEPTION, doing
	// nothing, as Antom does when it wants the same request again.
	UnknownExceptionCalls int `json:"unknownExceptionCalls,omitempty"`
	// ServerErrorCalls answers the first N capture calls with HTTP 500 and no signed body,
	// doing nothing. They are counted before UnknownExceptionCalls.
	ServerErrorCalls int `json:"serverErrorCalls,omitempty"`
	// DelayResponse commits the first capture and then holds its response this long (real time,
	// not scaled), so that a client with a shorter timeout never sees the answer.
	DelayResponse Duration `json:"delayResponse,omitempty"`
	// DuplicateNotifications sends each notifyCapture this many extra times, each acknowledged
	// separately, as Antom's resends do.
	DuplicateNotifications int `json:"duplicateNotifications,omitempty"`
	// BadSignatureNotification signs the first delivery of each notification with a key that is
	// not Antom's; the following resends are signed correctly.
	BadSignatureNotification bool `json:"badSignatureNotification,omitempty"`
	// UnsignedResponses sends the first N capture responses without a signature (as a proxy
	// that strips headers would); the requests are processed as usual.
	UnsignedResponses int `json:"unsignedResponses,omitempty"`
	// RepeatFailCode answers every repeat of a capture request that already took effect with F
	// and this code (e.g. SYSTEM_ERROR) instead of the capture's state, as a faulty Antom might;
	// the capture itself stands. With DelayResponse it makes "executed, answered too late, then
	// refused on the resend".
	RepeatFailCode string `json:"repeatFailCode,omitempty"`
	// FalseFailCode, if set, answers the first capture that takes effect with F and this code,
	// although the capture goes on as Result says: its notification (or an inquiry) then
	// contradicts the answer, as Antom's own word for the same request may.
	FalseFailCode string `json:"falseFailCode,omitempty"`
	// CapturedAmount, if set, is what a capture actually captures, and what responses,
	// notifications and inquiries report, whatever amount was requested.
	CapturedAmount alipay.Amount `json:"capturedAmount,omitzero"`
}

// Validate reports what is wrong with s.
func (s Scenario) Validate() error {
	switch s.Result {
	case "", alipay.StatusSuccess, alipay.StatusFail:
	case alipay.StatusUnknown:
		if s.ResolveTo != "" && s.ResolveTo != alipay.StatusSuccess && s.ResolveTo != alipay.StatusFail {
			return fmt.Errorf("scenario.resolveTo %q: want S, F or empty", s.ResolveTo)
		}
	default:
		return fmt.Errorf("scenario.result %q: want S, F or U", s.Result)
	}
	if s.ResolveTo != "" && s.Result != alipay.StatusUnknown {
		return fmt.Errorf("scenario.resolveTo is only for result U")
	}
	if !s.CapturedAmount.IsZero() {
		if err := s.CapturedAmount.Validate(); err != nil {
			return fmt.Errorf("scenario.capturedAmount: %w", err)
		}
	}
	if s.UnknownExceptionCalls < 0 || s.ServerErrorCalls < 0 || s.DuplicateNotifications < 0 || s.UnsignedResponses < 0 {
		return fmt.Errorf("scenario counts must not be negative")
	}
	if s.ResolveAfter < 0 || s.DelayResponse < 0 {
		return fmt.Errorf("scenario durations must not be negative")
	}
	return nil
}

func (s Scenario) failCode() string {
	if s.FailCode == "" {
		return alipay.CodeProcessFail
	}
	return s.FailCode
}

// Duration is a time.Duration that reads and writes JSON as Go duration text ("90s", "2m").
type Duration time.Duration

// MarshalJSON writes d as "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "1m30s" (or a number of nanoseconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("duration must be text such as \"2m\": %w", err)
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
