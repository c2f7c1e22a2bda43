package workflows

import (
	"fmt"
	"strconv"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
)

// The authorization's ledger (docs/design.md, rules 9–15). It is plain data: the workflow feeds it
// outcomes, and the authorization's state and totals are derived from its records.
//
//	record:  PENDING ─sent─► CAPTURING ─S─► CAPTURED
//	                              │ F ─► FAILED | EXPIRED (AUTH_EXPIRED) | CANCELLED (AUTH_CANCELLED, ORDER_IS_CANCELED)
//	                              │ U, no answer, F after an ambiguous send
//	                              ▼
//	                           UNKNOWN ─notification / inquiry─► CAPTURED | FAILED
//	                              │ deadline: absent or failed ─► EXPIRED; processing ─► overdue
//	                              ▼
//	                           UNRESOLVED (policy.resolveWithin after the deadline)
//	PENDING ─never sent─► EXPIRED (cut-off) | FAILED (NOT_SENT: the authorization ended first)
//	final ─contradicting notification─► the state Antom reports, with Contradiction set
//
//	authorization: PENDING ─► (a record in flight: CAPTURING | UNKNOWN) ─► PARTIALLY_CAPTURED …
//	closed: UNRESOLVED if a record is, else CAPTURED if anything was captured, else how it ended.

// outcome is what happened to a capture request: one input of record.apply.
type outcome struct {
	kind    outcomeKind
	by      string // ResolvedBy*
	result  alipay.Result
	id      string        // captureId (S)
	amount  alipay.Amount // Antom's captured amount (S)
	at      string        // captureTime (S)
	message string        // overrides result.ResultMessage when set
}

type outcomeKind int

const (
	outSent       outcomeKind = iota + 1 // a series of sends starts
	outUnknown                           // no trustworthy answer, U, or an F after an ambiguous send (held)
	outSucceeded                         // S
	outFailed                            // a definitive F
	outExpired                           // absent or failed at the deadline; or not sent before the cut-off
	outUnresolved                        // still processing policy.resolveWithin after the deadline
	outNotSent                           // never sent: the authorization ended first
)

// record is one capture request and its own state machine.
type record struct {
	CaptureRecord
	answered  bool           // the first answer is known: the caller's Update may return
	ambiguous bool           // a send had an unknown outcome, so an F is not final by itself (rule 2)
	heldF     *alipay.Result // such an F, waiting for an inquiry to confirm it
}

// inFlight reports a record that may still move money: requested and not final.
func (r *record) inFlight() bool { return !r.State.Final() }

// sent reports a record whose request went to Antom at least once.
func (r *record) sent() bool { return r.Sends > 0 }

// apply is the one transition of a record. It returns false when the outcome changes nothing
// (a duplicate, or an answer to a record already final that agrees with it).
func (r *record) apply(o outcome) bool {
	msg := o.result.ResultMessage
	if o.message != "" {
		msg = o.message
	}
	set := func(s State) {
		r.State, r.ResolvedBy, r.ResultCode, r.ResultMessage = s, o.by, o.result.ResultCode, msg
		r.answered = true
		if s.Final() && s != StateUnresolved { // an unresolved record stays overdue
			r.Overdue, r.ResolveBy, r.heldF = false, time.Time{}, nil
		}
	}
	if r.State.Final() {
		return r.contradict(o)
	}
	switch o.kind {
	case outSent:
		r.Sends++
		r.State, r.heldF = StateCapturing, nil
	case outUnknown:
		r.ambiguous = true
		r.State, r.ResultCode, r.ResultMessage, r.answered = StateUnknown, o.result.ResultCode, msg, true
	case outSucceeded:
		set(StateCaptured)
		r.succeeded(o)
	case outFailed:
		set(failedState(o.result.ResultCode))
	case outExpired:
		if r.ResultCode = o.result.ResultCode; r.ResultCode == "" {
			r.ResultCode = alipay.CodeAuthExpired
		}
		o.result.ResultCode = r.ResultCode
		set(StateExpired)
	case outUnresolved:
		set(StateUnresolved)
	case outNotSent:
		o.result.ResultCode = CodeNotSent
		set(StateFailed)
	}
	return true
}

// succeeded keeps Antom's captured amount; one that differs from the request, or is missing, is
// a discrepancy an operator must see (rule 5).
func (r *record) succeeded(o outcome) {
	r.CaptureID, r.CapturedAmount, r.CaptureTime = o.id, o.amount, o.at
	switch {
	case o.amount.IsZero():
		r.Discrepancy = fmt.Sprintf("Antom reported no captured amount; requested %s", r.Amount)
	case o.amount != r.Amount:
		r.Discrepancy = fmt.Sprintf("Antom captured %s; requested %s", o.amount, r.Amount)
	}
}

// contradict applies a notification to a final record. One that agrees changes nothing. An S
// for a record that captured nothing makes it CAPTURED: Antom's signed word that money moved
// wins. An F for a CAPTURED record, or an S for another amount, keeps the record as it is (so
// nothing is captured again, and the totals keep the first answer) and flags it: only a person
// can settle which is right.
func (r *record) contradict(o outcome) bool {
	if o.by != ResolvedByNotification {
		return false // a late answer of our own series or inquiry changes nothing once final
	}
	switch {
	case o.kind == outSucceeded && r.State != StateCaptured:
		was := r.State
		r.State, r.ResolvedBy, r.ResultCode, r.ResultMessage = StateCaptured, o.by, o.result.ResultCode, o.result.ResultMessage
		r.Overdue, r.ResolveBy = false, time.Time{}
		r.succeeded(o)
		r.Contradiction = fmt.Sprintf("Antom notified S (capture %s, %s) for a capture recorded %s", o.id, o.amount, was)
		return true
	case o.kind == outSucceeded && r.State == StateCaptured && o.amount != r.CapturedAmount && r.Contradiction == "":
		r.Contradiction = fmt.Sprintf("Antom notified S (capture %s) for %s; the record holds %s: check it with inquiryPayment", o.id, o.amount, r.CapturedAmount)
		return true
	case o.kind == outFailed && r.State == StateCaptured && r.Contradiction == "":
		r.Contradiction = "Antom notified F (" + o.result.String() + ") for a capture recorded CAPTURED: check it with inquiryPayment"
		return true
	}
	return false
}

// failedState maps a definitive F to the record's state (rule 6).
func failedState(code string) State {
	switch code {
	case alipay.CodeAuthExpired:
		return StateExpired
	case alipay.CodeAuthCancelled, alipay.CodeOrderIsCanceled:
		return StateCancelled
	}
	return StateFailed
}

// counted is what a CAPTURED record adds to the captured total, in minor units: Antom's amount,
// or the requested amount when Antom's is missing, invalid or in another currency, so that the
// remainder never grows from an answer nobody can read (the discrepancy says so).
func (r *record) counted() int64 {
	if r.State != StateCaptured {
		return 0
	}
	if u, err := r.CapturedAmount.MinorUnits(); err == nil && r.CapturedAmount.Currency == r.Amount.Currency {
		return u
	}
	u, _ := r.Amount.MinorUnits()
	return u
}

// ending says why an authorization closed when no record decides it.
type ending struct {
	state         State
	by, code, msg string
}

// ledger is the authorization: its amount and the record of every capture request.
type ledger struct {
	paymentID  string
	authorized alipay.Amount
	units      int64
	partial    bool
	records    []*record
	end        *ending // set when the authorization closed
	focus      *record // the latest record sent or being sent: the status's capture fields
}

func newLedger(in CaptureInput) *ledger {
	units, _ := in.Amount.MinorUnits()
	return &ledger{paymentID: in.PaymentID, authorized: in.Amount, units: units, partial: in.PartialCaptures}
}

// byKey returns the record of a key.
func (l *ledger) byKey(key string) *record {
	for _, r := range l.records {
		if r.Key == key && key != "" {
			return r
		}
	}
	return nil
}

// byRequestID returns the record of a captureRequestId.
func (l *ledger) byRequestID(id string) *record {
	for _, r := range l.records {
		if r.CaptureRequestID == id {
			return r
		}
	}
	return nil
}

// add records a new capture request; it waits in PENDING for its turn.
func (l *ledger) add(req CaptureRequest) *record {
	r := &record{CaptureRecord: CaptureRecord{Seq: len(l.records) + 1, Key: req.Key,
		CaptureRequestID: CaptureRequestID(l.paymentID, req.Key), Amount: req.Amount, IsLastCapture: req.IsLastCapture, State: StatePending}}
	l.records = append(l.records, r)
	return r
}

// addForeign records a capture Antom reports under a request id this authorization never sent
// (an earlier run's, another system's): the money it moved counts (rule 12).
func (l *ledger) addForeign(n alipay.CaptureNotification) *record {
	r := &record{CaptureRecord: CaptureRecord{Seq: len(l.records) + 1, CaptureRequestID: n.CaptureRequestID, Amount: n.CaptureAmount,
		State: StateCaptured, ResolvedBy: ResolvedByNotification, ResultCode: n.Result.ResultCode, ResultMessage: n.Result.ResultMessage,
		CaptureID: n.CaptureID, CapturedAmount: n.CaptureAmount, CaptureTime: n.CaptureTime,
		Contradiction: "Antom notified S for a capture request this authorization never sent"}, answered: true}
	l.records = append(l.records, r)
	return r
}

// next returns the oldest capture request still waiting for its turn.
func (l *ledger) next() *record {
	for _, r := range l.records {
		if r.State == StatePending {
			return r
		}
	}
	return nil
}

// busy reports a record requested and not final (waiting its turn or in flight).
func (l *ledger) busy() bool {
	for _, r := range l.records {
		if r.inFlight() {
			return true
		}
	}
	return false
}

// captured is the captured total, in minor units.
func (l *ledger) captured() int64 {
	var u int64
	for _, r := range l.records {
		u += r.counted()
	}
	return u
}

// inFlightUnits sums the records requested and not yet final.
func (l *ledger) inFlightUnits() int64 {
	var u int64
	for _, r := range l.records {
		if r.inFlight() {
			a, _ := r.Amount.MinorUnits()
			u += a
		}
	}
	return u
}

// remaining is what may still be requested, in minor units.
func (l *ledger) remaining() int64 { return l.units - l.captured() - l.inFlightUnits() }

// lastRequested reports a capture marked last that is in flight or succeeded.
func (l *ledger) lastRequested() bool {
	for _, r := range l.records {
		if r.IsLastCapture && (r.State == StateCaptured || r.inFlight()) {
			return true
		}
	}
	return false
}

// closed reports whether the authorization takes no more capture requests.
func (l *ledger) closed() bool { return l.end != nil }

// close ends the authorization; the first reason stands.
func (l *ledger) close(e ending) {
	if l.end == nil {
		l.end = &e
	}
}

// settle applies a final record to the authorization: it closes after the last capture, when
// nothing remains, after a one-time payment's capture ended, or when the authorization itself
// ended at Antom (expired, cancelled) or a capture stays unresolved. A partial capture's plain F
// leaves it open for another request.
func (l *ledger) settle(r *record) {
	if !r.State.Final() || l.closed() {
		return
	}
	e := ending{state: r.State, by: r.ResolvedBy, code: r.ResultCode, msg: r.ResultMessage}
	switch r.State {
	case StateCaptured:
		if !l.partial || r.IsLastCapture || l.units-l.captured() <= 0 {
			l.close(e)
		}
	case StateFailed:
		if r.ResultCode == CodeNotSent {
			return
		}
		if l.partial || r.ResultCode == alipay.CodeMultiCaptureNotSupport || r.ResultCode == alipay.CodePaymentCountExceedLimit {
			return
		}
		l.close(e)
	default: // EXPIRED, CANCELLED, UNRESOLVED
		l.close(e)
	}
}

// answerUnsent ends every capture request still waiting for its turn when the authorization
// closed: never sent, for the reason it closed. It returns them.
func (l *ledger) answerUnsent(reason string) []*record {
	var out []*record
	for _, r := range l.records {
		if r.State == StatePending && !r.sent() {
			r.apply(outcome{kind: outNotSent, message: "not sent: " + reason})
			out = append(out, r)
		}
	}
	return out
}

// state derives the authorization's state from its records (rule 9).
func (l *ledger) state() State {
	for _, r := range l.records {
		if r.State == StateCapturing || r.State == StateUnknown {
			return r.State
		}
	}
	if !l.closed() {
		if l.captured() > 0 {
			return StatePartiallyCaptured
		}
		return StatePending
	}
	for _, r := range l.records {
		if r.State == StateUnresolved {
			return StateUnresolved
		}
	}
	if l.captured() > 0 {
		return StateCaptured
	}
	return l.end.state
}

// amount formats minor units in the authorization's currency.
func (l *ledger) amount(units int64) alipay.Amount {
	return alipay.Amount{Currency: l.authorized.Currency, Value: strconv.FormatInt(units, 10)}
}

// fill writes the ledger's view into st: the state, the totals, the records and the latest
// capture's fields.
func (l *ledger) fill(st *Status) {
	st.State = l.state()
	st.Captures = make([]CaptureRecord, 0, len(l.records))
	st.CaptureCalls, st.Inquiries = 0, 0
	for _, r := range l.records {
		st.Captures = append(st.Captures, r.CaptureRecord)
		st.CaptureCalls += r.Sends
		st.Inquiries += r.Inquiries
	}
	captured, inFlight := l.captured(), l.inFlightUnits()
	st.Authorized, st.Captured, st.InFlight = l.amount(l.units), l.amount(captured), l.amount(inFlight)
	st.Remaining = l.amount(max(l.units-captured-inFlight, 0))
	st.Amount = l.authorized
	if f := l.focus; f != nil {
		st.CaptureRequestID, st.CaptureID, st.Amount, st.CapturedAmount = f.CaptureRequestID, f.CaptureID, f.Amount, f.CapturedAmount
		st.CaptureTime, st.ResultCode, st.ResultMessage, st.ResolvedBy = f.CaptureTime, f.ResultCode, f.ResultMessage, f.ResolvedBy
		st.Discrepancy, st.Overdue, st.ResolveBy = f.Discrepancy, f.Overdue, f.ResolveBy
	}
	if e := l.end; e != nil && (l.focus == nil || e.by != l.focus.ResolvedBy || e.code != l.focus.ResultCode) {
		st.ResolvedBy, st.ResultCode, st.ResultMessage = e.by, e.code, e.msg
	}
}
