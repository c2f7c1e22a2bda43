// Package workflows holds CaptureWorkflow, the durable capture of one Antom authorization, and
// its contract with callers: input and result types, the workflow id, and the names of its
// signal, query, update, search attributes and activities. Workflow code here is deterministic:
// it uses no clock, randomness, goroutines or I/O of its own.
package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/capturekit/alipay-capture/alipay"
)

// Names that cross process boundaries (docs/contract.md): changing one breaks running systems.
const (
	// WorkflowType is the registered name of CaptureWorkflow.
	WorkflowType = "CaptureWorkflow"
	// DefaultTaskQueue is the task queue the worker polls unless CAPTURE_TASK_QUEUE says otherwise.
	DefaultTaskQueue = "alipay-capture"
	// SignalNotifyCapture carries a verified alipay.CaptureNotification to the workflow.
	SignalNotifyCapture = "notifyCapture"
	// QueryStatus returns a Status.
	QueryStatus = "status"
	// UpdateCancel voids the authorization when no capture was sent; it returns a Result.
	UpdateCancel = "cancel"
	// UpdateCapture asks for a capture (CaptureRequest) and returns its CaptureReply: the
	// request id and the first answer. Sent with Update-with-Start by capture.Client.
	UpdateCapture = "capture"
)

// Search attribute names; the namespace must have them (Keyword, except CaptureDeadline: Datetime).
const (
	SearchAttrPaymentID = "AlipayPaymentId"
	SearchAttrStatus    = "CaptureStatus"
	SearchAttrOrderID   = "OrderId"
	SearchAttrDeadline  = "CaptureDeadline"
	// SearchAttrMerchant names the Antom merchant account of the capture (CaptureInput.Merchant).
	// capture.Client always sets it; a workflow started otherwise writes it when its input names
	// an account, so a capture without it belongs to DefaultMerchant.
	SearchAttrMerchant = "AlipayMerchant"
)

// DefaultMerchant is the merchant account of a capture whose input names none: the account of
// the single-account variables (ALIPAY_CLIENT_ID, …).
const DefaultMerchant = "default"

// Metrics the workflow emits through the worker's metrics handler. The worker's registry
// (internal/metrics) exports each with exactly the labels below, every series of known label
// values created at 0 when the worker starts, so that the first event of each is counted.
const (
	// MetricStarted counts captures started; labels merchant.
	MetricStarted = "alipay_capture_started_total"
	// MetricFinished counts captures finished; labels merchant, outcome (FinalStates) and
	// resolved_by (Resolvers).
	MetricFinished = "alipay_capture_finished_total"
	// MetricTimeToResult is the time from start to the definitive result, in seconds; labels
	// merchant and outcome.
	MetricTimeToResult = "alipay_capture_time_to_result_seconds"
	// MetricResultCodes counts captures finished by outcome and last result code (Antom's codes
	// and this project's: an open set, so each series is born at 1 with its first capture);
	// labels merchant, outcome, code.
	MetricResultCodes = "alipay_capture_result_codes_total"
	// MetricDiscrepancies counts successful captures whose captured amount differs from the
	// request (or was not reported); labels merchant.
	MetricDiscrepancies = "alipay_capture_discrepancies_total"
	// MetricExpiring counts the deadline guard's warnings: an authorization with an uncaptured
	// remainder policy.warnBefore its deadline; labels merchant.
	MetricExpiring = "alipay_capture_expiring_total"
	// MetricContradictions counts notifications that contradicted a final record of a running
	// authorization, or named a capture it never sent (rule 12); labels merchant, result (S or F).
	MetricContradictions = "alipay_capture_workflow_contradictions_total"
)

// Labels of the workflow's metrics.
const (
	LabelMerchant   = "merchant"
	LabelOutcome    = "outcome"
	LabelResolvedBy = "resolved_by"
	LabelCode       = "code"
	LabelResult     = "result"
)

// Typed search attribute keys for the names above.
var (
	AttrPaymentID = temporal.NewSearchAttributeKeyKeyword(SearchAttrPaymentID)
	AttrStatus    = temporal.NewSearchAttributeKeyKeyword(SearchAttrStatus)
	AttrOrderID   = temporal.NewSearchAttributeKeyKeyword(SearchAttrOrderID)
	AttrDeadline  = temporal.NewSearchAttributeKeyTime(SearchAttrDeadline)
	AttrMerchant  = temporal.NewSearchAttributeKeyKeyword(SearchAttrMerchant)
)

// Activity names, as registered from activities.Activities.
const (
	ActivityCapture        = "Capture"
	ActivityInquiryPayment = "InquiryPayment"
	ActivityCancel         = "Cancel"
)

// Application error types. The workflow fails with the first two; activities return the others.
const (
	// ErrTypeCaptureFailed: Antom refused the capture for good (details: Result).
	ErrTypeCaptureFailed = "CaptureFailed"
	// ErrTypeAuthorizationExpired: the deadline passed without a capture (details: Result).
	ErrTypeAuthorizationExpired = "AuthorizationExpired"
	// ErrTypeUnresolved: Antom's answer did not come within policy.resolveWithin past the
	// deadline (details: Result).
	ErrTypeUnresolved = "CaptureUnresolved"
	// ErrTypeInvalidInput: the workflow input is unusable; nothing was sent (details: Result).
	ErrTypeInvalidInput = "InvalidInput"
	// ErrTypeRefused: a verified F answer from Antom (details: alipay.Result). Not retryable.
	ErrTypeRefused = "AntomRefused"
	// ErrTypeConfig: our request or configuration is wrong (details: alipay.Result). Not retryable.
	ErrTypeConfig = "AntomConfiguration"
	// ErrTypeOutcomeUnknown: no trustworthy answer; retried with the same request.
	ErrTypeOutcomeUnknown = "OutcomeUnknown"
	// ErrTypeNotSent: the request never left; retried.
	ErrTypeNotSent = "NotSent"
	// ErrTypeRetrySameID: Antom asked for the same request again (UNKNOWN_EXCEPTION, rate limit).
	ErrTypeRetrySameID = "RetrySameID"
	// ErrTypeDeadlinePassed: the activity refused to send a capture past the cut-off. Not retryable.
	ErrTypeDeadlinePassed = "DeadlinePassed"
	// ErrTypeCaptureConflict: the capture Update asks for what the authorization cannot give
	// (another amount for a key, more than remains, a partial capture of a one-time payment).
	ErrTypeCaptureConflict = "CaptureConflict"
	// ErrTypeCaptureClosed: the capture Update came after the cut-off, the last capture, or a
	// cancel.
	ErrTypeCaptureClosed = "CaptureClosed"
)

// State is the state of a capture, also its CaptureStatus search attribute.
type State string

// The states of a capture (docs/design.md).
const (
	StatePending   State = "PENDING"   // not yet sent (waiting for CaptureAt or the deadline lookup)
	StateCapturing State = "CAPTURING" // capture request in flight
	StateCaptured  State = "CAPTURED"  // money captured: final
	StateFailed    State = "FAILED"    // Antom refused the capture: final
	StateUnknown   State = "UNKNOWN"   // sent, outcome not yet known: waiting for notification or inquiry
	StateExpired   State = "EXPIRED"   // the authorization lapsed without a capture: final
	StateCancelled State = "CANCELLED" // the authorization was voided: final
	// StatePartiallyCaptured: part of the authorization captured, the workflow waits for more
	// capture requests (or the deadline) with the remainder.
	StatePartiallyCaptured State = "PARTIALLY_CAPTURED"
	// StateUnresolved: Antom still reported the capture in process policy.resolveWithin past the
	// deadline; final, and operators are alerted to it.
	StateUnresolved State = "UNRESOLVED"
)

// FinalStates are the states a closed workflow carries: a capture's outcome.
var FinalStates = []State{StateCaptured, StateFailed, StateExpired, StateCancelled, StateUnresolved}

// Final reports whether s is a final state: one a closed workflow carries.
func (s State) Final() bool { return slices.Contains(FinalStates, s) }

// How a capture's outcome was learnt (Status.ResolvedBy).
const (
	ResolvedByResponse     = "response"
	ResolvedByNotification = "notification"
	ResolvedByInquiry      = "inquiry"
	ResolvedByDeadline     = "deadline"
	ResolvedByCancel       = "cancel"
	// ResolvedByTimeout: policy.resolveWithin ran out (UNRESOLVED), or the workflow was
	// cancelled in Temporal.
	ResolvedByTimeout = "timeout"
)

// Resolvers are the values of Status.ResolvedBy for a closed capture.
var Resolvers = []string{ResolvedByResponse, ResolvedByNotification, ResolvedByInquiry, ResolvedByDeadline, ResolvedByCancel, ResolvedByTimeout}

// Result codes the workflow sets itself, beside Antom's.
const (
	// CodeInvalidInput: the input is unusable; nothing was sent.
	CodeInvalidInput = "INVALID_INPUT"
	// CodeNoDeadline: no capture deadline could be found; nothing was sent.
	CodeNoDeadline = "NO_DEADLINE"
	// CodeNoAnswer: the capture calls gave no trustworthy answer.
	CodeNoAnswer = "NO_ANSWER"
	// CodeWorkflowCancelled: the workflow was cancelled in Temporal.
	CodeWorkflowCancelled = "WORKFLOW_CANCELLED"
	// CodeNotSent: a capture request was never sent (the workflow ended first, or the cut-off
	// passed while it waited its turn).
	CodeNotSent = "NOT_SENT"
)

// AuthorizationWindow is how long Antom holds a manual-capture authorization.
const AuthorizationWindow = 7 * 24 * time.Hour

// WorkflowID returns the id of the capture workflow of an Antom paymentId: "capture/<paymentId>".
// One authorization, one workflow: a second start with this id cannot capture twice.
func WorkflowID(paymentID string) string { return "capture/" + paymentID }

// CaptureRequestID derives the captureRequestId of the capture that the caller's key asks for
// on a payment: "cap-" and 60 hex digits of SHA-256 over the payment id and the key. The same
// payment and key always give the same id (in any run, process or retry), so Antom's own
// idempotency answers a repeat with the first result; distinct keys give distinct ids.
func CaptureRequestID(paymentID, key string) string {
	sum := sha256.Sum256([]byte(strconv.Itoa(len(paymentID)) + ":" + paymentID + ":" + key))
	return "cap-" + hex.EncodeToString(sum[:])[:60]
}

// CaptureInput is the input of CaptureWorkflow: the authorization it guards. A start captures
// nothing by itself; money moves only for a capture request (UpdateCapture, alone or sent with
// Update-with-Start) or policy.onDeadline=capture.
type CaptureInput struct {
	// PaymentID is Antom's paymentId of the authorization (required, ≤ 64 characters).
	PaymentID string `json:"paymentId"`
	// Merchant names the Antom merchant account (in the worker's merchant registry) that
	// authorized the payment; empty means DefaultMerchant. Antom assigns paymentIds across all
	// accounts, so the workflow id stays WorkflowID(PaymentID).
	Merchant string `json:"merchant,omitempty"`
	// Amount is the authorized amount in minor units (required): what the captures may add up to.
	Amount alipay.Amount `json:"amount"`
	// OrderID is the merchant's order, for search and display (optional).
	OrderID string `json:"orderId,omitempty"`
	// AuthorizedAt is when the authorization succeeded; the deadline is 7 days later.
	AuthorizedAt time.Time `json:"authorizedAt,omitzero"`
	// AuthExpiresAt is the exact deadline (Antom's authExpiryTime); it wins over AuthorizedAt.
	// With neither, the workflow asks inquiryPayment.
	AuthExpiresAt time.Time `json:"authExpiresAt,omitzero"`
	// PartialCaptures says the payment method allows several partial captures (cards). Without
	// it a capture request must be for the full authorized amount (one-time payments, spec §4).
	PartialCaptures bool   `json:"partialCaptures,omitempty"`
	Policy          Policy `json:"policy,omitzero"`

	malformed error // a field that did not decode: Validate reports it
}

// UnmarshalJSON decodes the input leniently: a field that does not decode (a duration that is
// not one, an amount that is not an object, …) is kept as the input's error, which Validate
// reports naming the field. The workflow then closes FAILED with INVALID_INPUT, having sent
// nothing, rather than failing its workflow task again and again, and a caller in any language
// reads what it got wrong.
func (in *CaptureInput) UnmarshalJSON(b []byte) error {
	type plain CaptureInput
	var p plain
	err := json.Unmarshal(b, &p)
	*in = CaptureInput(p)
	if err == nil {
		return nil
	}
	// Name the field: decode the fields one at a time, in a fixed order.
	var fields map[string]json.RawMessage
	if json.Unmarshal(b, &fields) == nil {
		for _, name := range slices.Sorted(maps.Keys(fields)) {
			var probe plain
			ferr := json.Unmarshal([]byte(`{`+strconv.Quote(name)+`:`+string(fields[name])+`}`), &probe)
			if ferr == nil {
				continue
			}
			var te *json.UnmarshalTypeError
			switch {
			case errors.As(ferr, &te) && te.Field != "":
				err = fmt.Errorf("%s: a JSON %s cannot be a %s", te.Field, te.Value, te.Type)
			case strings.HasPrefix(ferr.Error(), name):
				err = ferr
			default:
				err = fmt.Errorf("%s: %w", name, ferr)
			}
			break
		}
	}
	in.malformed = fmt.Errorf("input does not decode: %w", err)
	return nil
}

// MerchantName returns name, or DefaultMerchant for "".
func MerchantName(name string) string {
	if name == "" {
		return DefaultMerchant
	}
	return name
}

// ValidateMerchant reports a merchant name that cannot be an account's name: one to 64 letters,
// digits, '.', '_' or '-' (it labels metrics and search attributes). "" stands for
// DefaultMerchant.
func ValidateMerchant(name string) error {
	if len(name) > 64 {
		return fmt.Errorf("merchant %.64q… is longer than 64 characters", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("merchant %q: use letters, digits, '.', '_' and '-' only", name)
		}
	}
	return nil
}

// StartKey is the key of the payment's one full capture that capture.Client.Start asks for.
const StartKey = "start"

// MaxKeyLength bounds a capture request's key.
const MaxKeyLength = 256

// CaptureRequest is the argument of the capture Update: one capture of (part of) the
// authorization.
type CaptureRequest struct {
	Amount alipay.Amount `json:"amount"`
	// IsLastCapture closes the authorization after this capture (sent to Antom as isLastCapture).
	IsLastCapture bool `json:"isLastCapture,omitempty"`
	// Key is the caller's idempotency key, e.g. the shipment id: the same key again returns the
	// same capture and never sends a second one. The captureRequestId derives from it.
	Key string `json:"key"`
	// Merchant, when set, is the account the caller believes owns the payment; a capture
	// workflow of another account refuses the request (ErrTypeCaptureConflict).
	Merchant string `json:"merchant,omitempty"`
}

// CaptureReply answers a capture request from its record.
type CaptureReply struct {
	Seq              int    `json:"seq"` // the capture's place in the authorization's ledger, from 1
	CaptureRequestID string `json:"captureRequestId"`
	// State is the capture's first definitive answer (CAPTURED, FAILED, …) or UNKNOWN; follow
	// it with the status query.
	State         State  `json:"state"`
	ResultCode    string `json:"resultCode,omitempty"`
	ResultMessage string `json:"resultMessage,omitempty"`
	// Duplicate: the key was seen before; this is that capture, nothing was sent again.
	Duplicate bool `json:"duplicate,omitempty"`
}

// ReplyOf is the reply a capture request gets from its record.
func ReplyOf(rec CaptureRecord, duplicate bool) CaptureReply {
	return CaptureReply{Seq: rec.Seq, CaptureRequestID: rec.CaptureRequestID, State: rec.State,
		ResultCode: rec.ResultCode, ResultMessage: rec.ResultMessage, Duplicate: duplicate}
}

// CaptureRecord is one capture request of the authorization, in Status.Captures: the ledger's
// record of it.
type CaptureRecord struct {
	Seq              int           `json:"seq"`
	Key              string        `json:"key"` // "" for a capture Antom reported that this authorization never sent
	CaptureRequestID string        `json:"captureRequestId"`
	Amount           alipay.Amount `json:"amount"`
	IsLastCapture    bool          `json:"isLastCapture,omitempty"`
	State            State         `json:"state"`
	CaptureID        string        `json:"captureId,omitempty"`
	CapturedAmount   alipay.Amount `json:"capturedAmount,omitzero"`
	CaptureTime      string        `json:"captureTime,omitempty"`
	ResolvedBy       string        `json:"resolvedBy,omitempty"`
	ResultCode       string        `json:"resultCode,omitempty"`
	ResultMessage    string        `json:"resultMessage,omitempty"`
	Discrepancy      string        `json:"discrepancy,omitempty"`
	// Contradiction says how a notification contradicted this record after it was final (or
	// named a request this authorization never sent); operators must settle it (rule 7).
	Contradiction string `json:"contradiction,omitempty"`
	Sends         int    `json:"sends,omitempty"`     // capture activity series run for it
	Inquiries     int    `json:"inquiries,omitempty"` // inquiries made for it
	// Overdue: the deadline passed while Antom still reported the capture in process; it stays
	// UNKNOWN until Antom answers or ResolveBy, when it closes UNRESOLVED.
	Overdue   bool      `json:"overdue,omitempty"`
	ResolveBy time.Time `json:"resolveBy,omitzero"`
}

// Record returns the record of request id id, if the status has one.
func (st Status) Record(id string) (CaptureRecord, bool) {
	for _, c := range st.Captures {
		if c.CaptureRequestID == id {
			return c, true
		}
	}
	return CaptureRecord{}, false
}

// RecordOfKey returns the record of the capture request with key, if the status has one.
func (st Status) RecordOfKey(key string) (CaptureRecord, bool) {
	for _, c := range st.Captures {
		if c.Key == key && key != "" {
			return c, true
		}
	}
	return CaptureRecord{}, false
}

// CapturedRequestIDs returns the request ids of the captures the status counts as captured.
func (st Status) CapturedRequestIDs() []string {
	var ids []string
	for _, c := range st.Captures {
		if c.State == StateCaptured {
			ids = append(ids, c.CaptureRequestID)
		}
	}
	return ids
}

// Agrees reports whether a verified capture result agrees with the record of its request id
// in a closed authorization: an S for a CAPTURED record of the same captured amount, an F for a
// record that captured nothing. A result for a request the authorization never sent agrees
// only when it is an F (nothing moved).
func (st Status) Agrees(n alipay.CaptureNotification) bool {
	rec, ok := st.Record(n.CaptureRequestID)
	if !ok {
		return n.Result.ResultStatus == alipay.StatusFail
	}
	if n.Result.ResultStatus == alipay.StatusSuccess {
		return rec.State == StateCaptured && rec.CapturedAmount == n.CaptureAmount
	}
	return rec.State != StateCaptured && rec.State != StateUnresolved
}

// Validate reports what is wrong with the input; the workflow closes FAILED at once on such an
// error, having sent nothing.
func (in CaptureInput) Validate() error {
	if in.malformed != nil {
		return in.malformed
	}
	switch {
	case in.PaymentID == "":
		return fmt.Errorf("paymentId is empty")
	case len(in.PaymentID) > 64:
		return fmt.Errorf("paymentId is %d characters, Antom allows 64", len(in.PaymentID))
	case len(in.OrderID) > 256:
		return fmt.Errorf("orderId is longer than 256 characters")
	}
	if err := ValidateMerchant(in.Merchant); err != nil {
		return err
	}
	if err := in.Amount.Validate(); err != nil {
		return fmt.Errorf("amount: %w", err)
	}
	if !in.AuthorizedAt.IsZero() && !in.AuthExpiresAt.IsZero() && in.AuthExpiresAt.Before(in.AuthorizedAt) {
		return fmt.Errorf("authExpiresAt %s is before authorizedAt %s", in.AuthExpiresAt.Format(time.RFC3339), in.AuthorizedAt.Format(time.RFC3339))
	}
	return in.Policy.Validate()
}

// Deadline returns the capture deadline the input gives (AuthExpiresAt, else AuthorizedAt + 7
// days), or the zero time when the workflow must ask inquiryPayment.
func (in CaptureInput) Deadline() time.Time {
	switch {
	case !in.AuthExpiresAt.IsZero():
		return in.AuthExpiresAt.UTC()
	case !in.AuthorizedAt.IsZero():
		return in.AuthorizedAt.Add(AuthorizationWindow).UTC()
	}
	return time.Time{}
}

// Notification is the argument of the notifyCapture signal: a verified capture result and the
// merchant account whose Antom key verified it ("" for DefaultMerchant). A capture workflow
// applies only its own account's notifications (rule 15).
type Notification struct {
	Merchant string `json:"merchant,omitempty"`
	alipay.CaptureNotification
}

// Status is the answer of the status query and the workflow's result: everything an operator
// needs about the authorization. The fields from CaptureRequestID to Discrepancy describe its
// latest capture (Amount: the authorized amount before any); Captures holds every record.
type Status struct {
	State            State         `json:"state"`
	PaymentID        string        `json:"paymentId"`
	Merchant         string        `json:"merchant,omitempty"`
	OrderID          string        `json:"orderId,omitempty"`
	CaptureRequestID string        `json:"captureRequestId,omitempty"`
	CaptureID        string        `json:"captureId,omitempty"`
	Amount           alipay.Amount `json:"amount"`
	CapturedAmount   alipay.Amount `json:"capturedAmount,omitzero"`
	CaptureTime      string        `json:"captureTime,omitempty"`
	ResultCode       string        `json:"resultCode,omitempty"`
	ResultMessage    string        `json:"resultMessage,omitempty"`
	Deadline         time.Time     `json:"deadline,omitzero"`
	NextInquiryAt    time.Time     `json:"nextInquiryAt,omitzero"`
	CaptureCalls     int           `json:"captureCalls"`
	Inquiries        int           `json:"inquiries"`
	ResolvedBy       string        `json:"resolvedBy,omitempty"`
	// Overdue: the deadline passed while Antom still reported the capture in process; it stays
	// UNKNOWN until Antom answers or ResolveBy.
	Overdue bool `json:"overdue,omitempty"`
	// ResolveBy is when an overdue capture closes UNRESOLVED.
	ResolveBy time.Time `json:"resolveBy,omitzero"`
	// Discrepancy says how Antom's captured amount differs from the request, when it does.
	Discrepancy string `json:"discrepancy,omitempty"`
	// Policy is the timing the capture runs with, defaults included.
	Policy Policy `json:"policy,omitzero"`

	// The authorization: every capture request's record, and the totals in minor units.
	Captures []CaptureRecord `json:"captures,omitempty"`
	// Authorized, Captured, InFlight (requested, not yet final) and Remaining; zero values read
	// "0".
	Authorized alipay.Amount `json:"authorized,omitzero"`
	Captured   alipay.Amount `json:"captured,omitzero"`
	InFlight   alipay.Amount `json:"inFlight,omitzero"`
	Remaining  alipay.Amount `json:"remaining,omitzero"`
	// Expiring: the deadline guard warned (policy.warnBefore) with part of the authorization
	// still uncaptured.
	Expiring bool `json:"expiring,omitempty"`
}

// Result is the workflow's result when it completes (CAPTURED or CANCELLED). FAILED, EXPIRED and
// UNRESOLVED fail the workflow with an application error of type ErrTypeCaptureFailed (or
// ErrTypeInvalidInput), ErrTypeAuthorizationExpired or ErrTypeUnresolved whose details hold the
// same Result.
type Result = Status

// Activity inputs and outputs (implemented in package activities).

// CaptureActivityInput is the input of the Capture activity.
type CaptureActivityInput struct {
	// Merchant is the account whose client sends the request ("" for DefaultMerchant).
	Merchant string                `json:"merchant,omitempty"`
	Request  alipay.CaptureRequest `json:"request"`
	// NotAfter is the cut-off: the activity refuses to send at or after it, whatever the
	// workflow's timers say, so that clock skew can never send a capture past the deadline.
	NotAfter time.Time `json:"notAfter"`
}

// CaptureActivityResult is a verified S or U answer to a capture (F answers are errors).
type CaptureActivityResult struct {
	Result alipay.Result `json:"result"`
	// EventsOn: the worker that ran it sends capture events (EVENTS_URL). A capture of workflow
	// version 3 takes the first such answer as whether its own events are sent, which costs no
	// extra history (and no Cloud action) on the paths that call Antom.
	EventsOn      bool          `json:"eventsOn,omitempty"`
	CaptureID     string        `json:"captureId,omitempty"`
	CaptureAmount alipay.Amount `json:"captureAmount,omitzero"`
	CaptureTime   string        `json:"captureTime,omitempty"`
}

// InquiryActivityInput asks for a payment and, if set, the capture with CaptureRequestID.
type InquiryActivityInput struct {
	Merchant         string `json:"merchant,omitempty"` // the account asked ("" for DefaultMerchant)
	PaymentID        string `json:"paymentId"`
	CaptureRequestID string `json:"captureRequestId,omitempty"`
}

// InquiryActivityResult is what the workflow needs from inquiryPayment.
type InquiryActivityResult struct {
	// Found is true when a CAPTURE transaction for CaptureRequestID exists.
	Found             bool          `json:"found"`
	TransactionStatus string        `json:"transactionStatus,omitempty"` // SUCCESS, FAIL, PROCESSING, …
	TransactionResult alipay.Result `json:"transactionResult,omitzero"`
	CaptureID         string        `json:"captureId,omitempty"`
	CaptureAmount     alipay.Amount `json:"captureAmount,omitzero"`
	CaptureTime       string        `json:"captureTime,omitempty"`
	// AuthExpiryTime is Antom's capture deadline, zero when not reported.
	AuthExpiryTime time.Time `json:"authExpiryTime,omitzero"`
	// PaymentTime is when the payment was authorized, zero when not reported.
	PaymentTime   time.Time `json:"paymentTime,omitzero"`
	PaymentStatus string    `json:"paymentStatus,omitempty"`
	EventsOn      bool      `json:"eventsOn,omitempty"` // as in CaptureActivityResult
}

// CancelActivityInput asks Antom to void the payment's authorization.
type CancelActivityInput struct {
	Merchant  string `json:"merchant,omitempty"` // the account asked ("" for DefaultMerchant)
	PaymentID string `json:"paymentId"`
}

// Register registers CaptureWorkflow (sending no events), ReconcileWorkflow and EventsWorkflow
// with a worker (or replayer) under their type names; RegisterWith sets Options.
func Register(r worker.WorkflowRegistry) { RegisterWith(r, Options{}) }

// Memo keys of a capture workflow (set at start by capture.Client, else by the workflow).
const (
	MemoAmount    = "amount"
	MemoPaymentID = "paymentId"
	MemoOrderID   = "orderId"
	// MemoUncaptured is the authorization less what was captured ("15.00 USD"), written by the
	// workflow once part of it is captured and the rest still may be: what the census counts
	// at risk then, instead of MemoAmount.
	MemoUncaptured = "uncaptured"
)

// Change ids of workflow.GetVersion: each names a change of workflow logic since release 0.1.0
// that running histories replay without (CHANGELOG.md).
const (
	// changeMemoUncaptured: the workflow writes MemoUncaptured after a partial capture.
	changeMemoUncaptured = "memo-uncaptured"
)
