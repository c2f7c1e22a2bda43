package alipaytest

import (
	"fmt"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
)

// Payment states in the ledger.
const (
	StateAuthorized = "AUTHORIZED"
	StateCaptured   = "CAPTURED" // closed for capture: the full amount, or a last capture
	// StatePartiallyCaptured: part of the authorization captured, more partial captures allowed.
	StatePartiallyCaptured = "PARTIALLY_CAPTURED"
	StateCancelled         = "CANCELLED"
	StateExpired           = "EXPIRED" // derived: authorized and past AuthExpiryTime
)

// Capture states in the ledger, as inquiryPayment reports them.
const (
	CaptureProcessing = alipay.TxProcessing
	CaptureSucceeded  = alipay.TxSuccess
	CaptureFailed     = alipay.TxFail
)

// Authorization asks the simulator for a manual-capture authorization to capture against.
type Authorization struct {
	PaymentID      string        `json:"paymentId,omitempty"` // generated when empty
	ClientID       string        `json:"clientId,omitempty"`  // the merchant account; default the first (Config.ClientID)
	Amount         alipay.Amount `json:"amount"`
	AuthorizedAt   time.Time     `json:"authorizedAt,omitzero"`   // default now
	AuthExpiryTime time.Time     `json:"authExpiryTime,omitzero"` // default AuthorizedAt + scaled 7 days
	NotifyURL      string        `json:"notifyUrl,omitempty"`     // default Config.NotifyURL
	Scenario       Scenario      `json:"scenario,omitzero"`
	// PartialCaptures says the payment method allows several partial captures (cards), in
	// total at most Amount, closed by isLastCapture or by capturing the rest. Without it the
	// payment is one-time (Cashier): the full amount, once (spec §4).
	PartialCaptures bool `json:"partialCaptures,omitempty"`
	// MaxCaptures, with PartialCaptures, refuses captures beyond this many with
	// PAYMENT_COUNT_EXCEED_LIMIT; 0: no limit.
	MaxCaptures int `json:"maxCaptures,omitempty"`
}

// Payment is a snapshot of one authorization in the ledger.
type Payment struct {
	PaymentID      string        `json:"paymentId"`
	ClientID       string        `json:"clientId"` // the merchant account
	Amount         alipay.Amount `json:"amount"`
	AuthorizedAt   time.Time     `json:"authorizedAt"`
	AuthExpiryTime time.Time     `json:"authExpiryTime"`
	State          string        `json:"state"`
	NotifyURL      string        `json:"notifyUrl,omitempty"`
	Scenario       Scenario      `json:"scenario"`
	// PartialCaptures and MaxCaptures are the authorization's (see Authorization).
	PartialCaptures bool `json:"partialCaptures,omitempty"`
	MaxCaptures     int  `json:"maxCaptures,omitempty"`
	// Captured sums the amounts of the captures that succeeded; zero when none did.
	Captured alipay.Amount `json:"captured,omitzero"`
	// CaptureCalls counts every capture call received for the payment, faults included.
	CaptureCalls int `json:"captureCalls"`
	// LastCaptureCallAt is when the last capture call arrived.
	LastCaptureCallAt time.Time `json:"lastCaptureCallAt,omitzero"`
	// CapturesExecuted counts captures that took effect (new capture request ids that passed
	// Antom's checks); repeats of a request id never count twice.
	CapturesExecuted int `json:"capturesExecuted"`
	// CapturesSucceeded counts captures that moved money. Exactly-once means this is at most 1
	// for a one-time payment, and one per capture request for partial captures.
	CapturesSucceeded int            `json:"capturesSucceeded"`
	InquiryCalls      int            `json:"inquiryCalls"`
	CancelCalls       int            `json:"cancelCalls"`
	Captures          []Capture      `json:"captures"`
	Notifications     []Notification `json:"notifications"`
}

// Capture is one capture request that took effect.
type Capture struct {
	CaptureRequestID string        `json:"captureRequestId"`
	CaptureID        string        `json:"captureId"`
	Amount           alipay.Amount `json:"amount"` // captured (Scenario.CapturedAmount, else requested)
	RequestedAmount  alipay.Amount `json:"requestedAmount"`
	IsLastCapture    bool          `json:"isLastCapture,omitempty"`
	Status           string        `json:"status"` // PROCESSING, SUCCESS, FAIL
	Result           alipay.Result `json:"result"`
	CreatedAt        time.Time     `json:"createdAt"`
	CaptureTime      time.Time     `json:"captureTime,omitzero"`
}

// Notification is the delivery record of one notifyCapture copy.
type Notification struct {
	CaptureRequestID string `json:"captureRequestId"`
	Copy             int    `json:"copy"` // 0 for the original, 1.. for duplicates
	Attempts         int    `json:"attempts"`
	Acked            bool   `json:"acked"`
	Dropped          int    `json:"dropped,omitempty"` // attempts lost (NotifyFaults)
	Delayed          int    `json:"delayed,omitempty"` // attempts sent late (NotifyFaults)
	BadSignatureSent bool   `json:"badSignatureSent,omitempty"`
	LastStatus       int    `json:"lastStatus,omitempty"`
	LastError        string `json:"lastError,omitempty"`
}

type payment struct {
	Payment
	serverErrorsLeft int
	unknownExcLeft   int
	unsignedLeft     int
	delayPending     bool
	falseFailPending bool
}

type captureEntry struct {
	paymentID string
	index     int // into payment.Captures
}

// Authorize adds an authorization to the ledger and returns it.
func (s *Simulator) Authorize(a Authorization) (Payment, error) {
	if err := a.Amount.Validate(); err != nil {
		return Payment{}, fmt.Errorf("alipaytest: amount: %w", err)
	}
	if err := a.Scenario.Validate(); err != nil {
		return Payment{}, fmt.Errorf("alipaytest: %w", err)
	}
	if a.MaxCaptures < 0 || (a.MaxCaptures > 0 && !a.PartialCaptures) {
		return Payment{}, fmt.Errorf("alipaytest: maxCaptures %d: want 0, or a positive limit with partialCaptures", a.MaxCaptures)
	}
	if a.PaymentID == "" {
		a.PaymentID = newID("SIMPAY")
	}
	if len(a.PaymentID) > 64 {
		return Payment{}, fmt.Errorf("alipaytest: paymentId is longer than 64 characters")
	}
	if a.AuthorizedAt.IsZero() {
		a.AuthorizedAt = time.Now()
	}
	if a.AuthExpiryTime.IsZero() {
		a.AuthExpiryTime = a.AuthorizedAt.Add(s.scaled(AuthorizationWindow))
	}
	if a.ClientID == "" {
		a.ClientID = s.primary.ClientID
	}
	acct, ok := s.accounts[a.ClientID]
	if !ok {
		return Payment{}, fmt.Errorf("alipaytest: no merchant account with Client-Id %q", a.ClientID)
	}
	if a.NotifyURL == "" {
		a.NotifyURL = acct.NotifyURL
	}
	p := &payment{
		Payment: Payment{
			PaymentID:      a.PaymentID,
			ClientID:       a.ClientID,
			Amount:         a.Amount,
			AuthorizedAt:   a.AuthorizedAt.UTC().Truncate(time.Second),
			AuthExpiryTime: a.AuthExpiryTime.UTC().Truncate(time.Second),
			State:          StateAuthorized,
			NotifyURL:      a.NotifyURL,
			Scenario:       a.Scenario,

			PartialCaptures: a.PartialCaptures,
			MaxCaptures:     a.MaxCaptures,
		},
		serverErrorsLeft: a.Scenario.ServerErrorCalls,
		unknownExcLeft:   a.Scenario.UnknownExceptionCalls,
		unsignedLeft:     a.Scenario.UnsignedResponses,
		delayPending:     a.Scenario.DelayResponse > 0,
		falseFailPending: a.Scenario.FalseFailCode != "",
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.payments[a.PaymentID]; dup {
		return Payment{}, fmt.Errorf("alipaytest: payment %q already exists", a.PaymentID)
	}
	s.payments[a.PaymentID] = p
	s.order = append(s.order, a.PaymentID)
	s.log.Info("authorization created", "paymentId", a.PaymentID, "amount", a.Amount.String(), "authExpiryTime", p.AuthExpiryTime)
	return p.snapshot(time.Now()), nil
}

// Payment returns a snapshot of the payment with id, or false.
func (s *Simulator) Payment(id string) (Payment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[id]
	if !ok {
		return Payment{}, false
	}
	return p.snapshot(time.Now()), true
}

// Payments returns snapshots of every payment, oldest first.
func (s *Simulator) Payments() []Payment {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	out := make([]Payment, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.payments[id].snapshot(now))
	}
	return out
}

// CapturesSucceeded returns how many captures of the payment moved money: the number an
// exactly-once test asserts is 1.
func (s *Simulator) CapturesSucceeded(paymentID string) int {
	p, _ := s.Payment(paymentID)
	return p.CapturesSucceeded
}

// Resolve ends the payment's in-process capture with status S or F (code for F, default
// PROCESS_FAIL) and notifies unless the scenario says not to.
func (s *Simulator) Resolve(paymentID, status, code string) error {
	if status != alipay.StatusSuccess && status != alipay.StatusFail {
		return fmt.Errorf("alipaytest: resolve status %q: want S or F", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[paymentID]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownPayment, paymentID)
	}
	for i := range p.Captures {
		if p.Captures[i].Status == CaptureProcessing {
			s.finishLocked(p, i, status, code)
			return nil
		}
	}
	return fmt.Errorf("%w: %q", ErrNotProcessing, paymentID)
}

// finishLocked moves capture i of p to S or F and starts its notification. s.mu is held.
func (s *Simulator) finishLocked(p *payment, i int, status, code string) {
	c := &p.Captures[i]
	if c.Status != CaptureProcessing {
		return
	}
	if status == alipay.StatusSuccess {
		c.Status = CaptureSucceeded
		c.Result = alipay.Result{ResultCode: alipay.CodeSuccess, ResultStatus: alipay.StatusSuccess, ResultMessage: "success"}
		c.CaptureTime = time.Now().UTC().Truncate(time.Second)
		p.CapturesSucceeded++
		p.Captured = addAmount(p.Captured, c.Amount)
		p.State = StateCaptured
		if p.PartialCaptures && !c.IsLastCapture && p.remaining() > 0 {
			p.State = StatePartiallyCaptured
		}
	} else {
		if code == "" {
			code = alipay.CodeProcessFail
		}
		c.Status = CaptureFailed
		c.Result = alipay.Result{ResultCode: code, ResultStatus: alipay.StatusFail, ResultMessage: "simulated failure: " + code}
	}
	s.log.Info("capture finished", "paymentId", p.PaymentID, "captureRequestId", c.CaptureRequestID, "result", c.Result.String())
	if !p.Scenario.NoNotify && p.NotifyURL != "" {
		s.notifyLocked(p, *c)
	}
}

// remaining is the authorized amount not yet captured, in minor units.
func (p *payment) remaining() int64 {
	auth, _ := p.Amount.MinorUnits()
	if p.Captured.IsZero() {
		return auth
	}
	done, _ := p.Captured.MinorUnits()
	return auth - done
}

// addAmount returns sum + a (sum may be zero); both are in the authorization's currency.
func addAmount(sum, a alipay.Amount) alipay.Amount {
	x, _ := a.MinorUnits()
	if !sum.IsZero() {
		y, _ := sum.MinorUnits()
		x += y
	}
	out, _ := alipay.AmountOf(a.Currency, x)
	return out
}

func (p *payment) snapshot(now time.Time) Payment {
	out := p.Payment
	out.Captures = append([]Capture(nil), p.Captures...)
	out.Notifications = append([]Notification(nil), p.Notifications...)
	if out.Captures == nil {
		out.Captures = []Capture{}
	}
	if out.Notifications == nil {
		out.Notifications = []Notification{}
	}
	if out.State == StateAuthorized && !now.Before(p.AuthExpiryTime) {
		out.State = StateExpired
	}
	return out
}
