package alipay

import (
	"maps"
	"slices"
)

// Result status values: Antom's verdict on a call.
const (
	StatusSuccess = "S" // the operation succeeded
	StatusFail    = "F" // the operation failed for good (for this request id)
	StatusUnknown = "U" // the outcome is not known yet
)

// Result codes this project branches on. Every other code is classified by its status.
const (
	CodeSuccess                 = "SUCCESS"
	CodeCaptureInProcess        = "CAPTURE_IN_PROCESS"
	CodeUnknownException        = "UNKNOWN_EXCEPTION"
	CodeTrafficExceedLimit      = "REQUEST_TRAFFIC_EXCEED_LIMIT"
	CodeAuthExpired             = "AUTH_EXPIRED"
	CodeAuthCancelled           = "AUTH_CANCELLED"
	CodeOrderIsCanceled         = "ORDER_IS_CANCELED"
	CodeAuthNotFound            = "AUTH_NOT_FOUND"
	CodeOrderStatusInvalid      = "ORDER_STATUS_INVALID"
	CodeCaptureAmountExceed     = "CAPTURE_AMOUNT_EXCEED_AUTH_LIMIT"
	CodeMultiCaptureNotSupport  = "MULTI_CAPTURE_NOT_SUPPORTED"
	CodePaymentCountExceedLimit = "PAYMENT_COUNT_EXCEED_LIMIT"
	CodeRepeatReqInconsistent   = "REPEAT_REQ_INCONSISTENT"
	CodeProcessFail             = "PROCESS_FAIL"
	CodeParamIllegal            = "PARAM_ILLEGAL"
	CodeAccessDenied            = "ACCESS_DENIED"
	CodeKeyNotFound             = "KEY_NOT_FOUND"
	CodeSignatureInvalid        = "SIGNATURE_INVALID"
	CodeMerchantNotRegistered   = "MERCHANT_NOT_REGISTERED"
	CodeInvalidAPI              = "INVALID_API"
	CodeNoInterfaceDef          = "NO_INTERFACE_DEF"
	CodeMethodNotSupported      = "METHOD_NOT_SUPPORTED"
	CodeMediaTypeNotAcceptable  = "MEDIA_TYPE_NOT_ACCEPTABLE"
	CodeSystemError             = "SYSTEM_ERROR"
	CodeCancelWindowExceed      = "CANCEL_WINDOW_EXCEED"
	CodeOrderNotExist           = "ORDER_NOT_EXIST"
)

// Result is the result object of every Antom response and notification.
type Result struct {
	ResultCode    string `json:"resultCode"`
	ResultStatus  string `json:"resultStatus"`
	ResultMessage string `json:"resultMessage,omitempty"`
}

// Action is what a caller must do with an answered result.
type Action int

// The actions, one for each way a capture result can be handled.
const (
	// ActionNone: the result has no valid status; treat the outcome as unknown.
	ActionNone Action = iota
	// ActionDone: the operation succeeded.
	ActionDone
	// ActionWait: in process; wait for notifyCapture or inquire, do not resend yet.
	ActionWait
	// ActionRetry: not processed this time; send again later with the same request id and body.
	ActionRetry
	// ActionBusinessFailure: final refusal of this capture (expired, cancelled, risk, amount, …).
	ActionBusinessFailure
	// ActionConfigFailure: final; the request or the merchant's set-up is wrong and an operator
	// must act (bad key, bad parameters, REPEAT_REQ_INCONSISTENT, SYSTEM_ERROR).
	ActionConfigFailure
)

var actionNames = [...]string{"none", "done", "wait", "retry", "business-failure", "config-failure"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "invalid"
}

// Final reports whether the action ends the operation for this request id.
func (a Action) Final() bool {
	return a == ActionDone || a == ActionBusinessFailure || a == ActionConfigFailure
}

// configFailures are F codes that mean our request or configuration is wrong, not the payer's
// or the payment's state: they need an operator, not a business decision.
var configFailures = map[string]bool{
	CodeParamIllegal: true, CodeAccessDenied: true, CodeKeyNotFound: true,
	CodeSignatureInvalid: true, CodeMerchantNotRegistered: true, CodeInvalidAPI: true,
	CodeNoInterfaceDef: true, CodeMethodNotSupported: true, CodeMediaTypeNotAcceptable: true,
	CodeSystemError: true, CodeRepeatReqInconsistent: true,
}

// ConfigFailureCodes returns the F codes that mean our request or configuration is wrong (the
// codes of ActionConfigFailure), sorted.
func ConfigFailureCodes() []string { return slices.Sorted(maps.Keys(configFailures)) }

// retrySameID are U codes after which Antom asks for the same request again.
var retrySameID = map[string]bool{
	CodeUnknownException:   true,
	CodeTrafficExceedLimit: true,
}

// Action classifies r per Antom's capture result table: S is done; CAPTURE_IN_PROCESS and unknown U
// codes wait for a notification or an inquiry; UNKNOWN_EXCEPTION and REQUEST_TRAFFIC_EXCEED_LIMIT
// retry with the same id; request and configuration F codes need an operator; every other F is a
// final business refusal. The same table serves cancel and inquiryPayment.
func (r Result) Action() Action {
	switch r.ResultStatus {
	case StatusSuccess:
		return ActionDone
	case StatusUnknown:
		if retrySameID[r.ResultCode] {
			return ActionRetry
		}
		return ActionWait
	case StatusFail:
		if configFailures[r.ResultCode] {
			return ActionConfigFailure
		}
		return ActionBusinessFailure
	}
	return ActionNone
}

// String returns "CODE (S): message" for logs and errors.
func (r Result) String() string {
	s := r.ResultCode + " (" + r.ResultStatus + ")"
	if r.ResultMessage != "" {
		s += ": " + r.ResultMessage
	}
	return s
}
