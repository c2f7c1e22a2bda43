package alipay

import "testing"

// TestResultAction covers every capture result code of the spec's table and the rules for
// codes that are not in it.
func TestResultAction(t *testing.T) {
	tests := []struct {
		code, status string
		want         Action
	}{
		{CodeSuccess, StatusSuccess, ActionDone},
		{CodeCaptureInProcess, StatusUnknown, ActionWait},
		{CodeUnknownException, StatusUnknown, ActionRetry},
		{CodeTrafficExceedLimit, StatusUnknown, ActionRetry},
		{CodeAuthExpired, StatusFail, ActionBusinessFailure},
		{CodeAuthCancelled, StatusFail, ActionBusinessFailure},
		{CodeOrderIsCanceled, StatusFail, ActionBusinessFailure},
		{CodeAuthNotFound, StatusFail, ActionBusinessFailure},
		{CodeOrderStatusInvalid, StatusFail, ActionBusinessFailure},
		{CodeCaptureAmountExceed, StatusFail, ActionBusinessFailure},
		{CodeMultiCaptureNotSupport, StatusFail, ActionBusinessFailure},
		{CodePaymentCountExceedLimit, StatusFail, ActionBusinessFailure},
		{CodeProcessFail, StatusFail, ActionBusinessFailure},
		{"RISK_REJECT", StatusFail, ActionBusinessFailure},
		{"USER_BALANCE_NOT_ENOUGH", StatusFail, ActionBusinessFailure},
		{"CURRENCY_NOT_SUPPORT", StatusFail, ActionBusinessFailure},
		{"INVALID_CONTRACT", StatusFail, ActionBusinessFailure},
		{"NO_PAY_OPTIONS", StatusFail, ActionBusinessFailure},
		{CodeRepeatReqInconsistent, StatusFail, ActionConfigFailure},
		{CodeParamIllegal, StatusFail, ActionConfigFailure},
		{CodeAccessDenied, StatusFail, ActionConfigFailure},
		{CodeKeyNotFound, StatusFail, ActionConfigFailure},
		{CodeSignatureInvalid, StatusFail, ActionConfigFailure},
		{CodeMerchantNotRegistered, StatusFail, ActionConfigFailure},
		{CodeInvalidAPI, StatusFail, ActionConfigFailure},
		{CodeNoInterfaceDef, StatusFail, ActionConfigFailure},
		{CodeMethodNotSupported, StatusFail, ActionConfigFailure},
		{CodeMediaTypeNotAcceptable, StatusFail, ActionConfigFailure},
		{CodeSystemError, StatusFail, ActionConfigFailure},
		{"SOMETHING_NEW", StatusFail, ActionBusinessFailure}, // unknown F is final
		{"SOMETHING_NEW", StatusUnknown, ActionWait},         // unknown U is unknown
		{"SOMETHING_NEW", StatusSuccess, ActionDone},
		{CodeSuccess, "", ActionNone},
		{CodeSuccess, "X", ActionNone},
	}
	for _, tt := range tests {
		r := Result{ResultCode: tt.code, ResultStatus: tt.status}
		if got := r.Action(); got != tt.want {
			t.Errorf("%s/%s: Action() = %v, want %v", tt.code, tt.status, got, tt.want)
		}
	}
	for a, final := range map[Action]bool{ActionDone: true, ActionBusinessFailure: true, ActionConfigFailure: true, ActionWait: false, ActionRetry: false, ActionNone: false} {
		if a.Final() != final {
			t.Errorf("%v.Final() = %v", a, a.Final())
		}
	}
}
