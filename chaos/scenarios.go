package main

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/workflows"
)

// timing is the compressed week: authorizations that lapse in minutes, and the policy and
// simulator speed that go with it.
type timing struct {
	window    time.Duration // authorization window (Antom's 7 days)
	scale     float64       // the simulator's SIM_TIME_SCALE
	callLimit time.Duration // policy.callTimeout
}

func (t timing) policy() workflows.Policy {
	return workflows.Policy{
		InquirySchedule: []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second},
		DeadlineMargin:  t.window / 10,
		CallTimeout:     t.callLimit,
		ResolveWithin:   t.window * 2 / 3,
	}
}

// simulated converts a real duration to the simulator's simulated time.
func (t timing) simulated(d time.Duration) alipaytest.Duration {
	return alipaytest.Duration(float64(d) / t.scale)
}

// scenario is one kind of payment in the mix.
type scenario struct {
	name   string
	weight int
	// plan fills in the payment: its simulator scenario, and what happens around the capture.
	plan func(t timing, p *payment)
}

// payment is one payment of the run: how it was set up and how it ended.
type payment struct {
	scenario   string
	id         string
	amount     alipay.Amount
	sim        alipaytest.Scenario
	unknown    bool              // not authorized at Antom
	cancelIn   time.Duration     // the order service authorizes, then cancels this long after (nothing ships)
	shipments  int               // > 1: the authorization ships in that many partial captures (Update-with-Start each)
	twoCallers bool              // the same key is sent by two callers at once
	shipGap    time.Duration     // the time between two shipments
	cancelRun  bool              // the run is cancelled in Temporal after the first shipment; the next starts a new run
	onDeadline string            // policy.onDeadline, when not the default
	earlier    *workflows.Status // the final status of the run cancelled in Temporal
	input      workflows.CaptureInput
	startedAt  time.Time
	startErr   error
	status     workflows.Status
	closed     bool
	closedAt   time.Time
	resultNote string // why no final status could be read
}

// mix is the scenario mix of the run, weighted as payments arrive in production: mostly plain
// successes, a tail of every fault Antom and the network can produce.
var mix = []scenario{
	{"S at once", 20, func(timing, *payment) {}},
	{"F (business refusal)", 8, func(_ timing, p *payment) { p.sim = alipaytest.Scenario{Result: "F", FailCode: "RISK_REJECT"} }},
	{"U, then notification", 10, func(t timing, p *payment) {
		p.sim = alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: t.simulated(3 * time.Second)}
	}},
	{"U, notification lost", 8, func(t timing, p *payment) {
		p.sim = alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: t.simulated(3 * time.Second), NoNotify: true}
	}},
	{"UNKNOWN_EXCEPTION, then S", 6, func(_ timing, p *payment) { p.sim = alipaytest.Scenario{UnknownExceptionCalls: 2} }},
	{"HTTP 500s, then S", 6, func(_ timing, p *payment) { p.sim = alipaytest.Scenario{ServerErrorCalls: 2} }},
	{"answered after the timeout, F on the resend", 6, func(t timing, p *payment) {
		p.sim = alipaytest.Scenario{DelayResponse: alipaytest.Duration(t.callLimit + 3*time.Second), RepeatFailCode: alipay.CodeSystemError}
	}},
	{"answered after the timeout, F on the resend, no notification", 4, func(t timing, p *payment) {
		p.sim = alipaytest.Scenario{DelayResponse: alipaytest.Duration(t.callLimit + 3*time.Second), RepeatFailCode: alipay.CodeSystemError, NoNotify: true}
	}},
	{"unsigned answers", 6, func(_ timing, p *payment) { p.sim = alipaytest.Scenario{UnsignedResponses: 2} }},
	{"PROCESSING past the deadline, late S", 6, func(t timing, p *payment) {
		p.sim = alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: t.simulated(t.window + t.window/6)}
	}},
	{"PROCESSING past the deadline, then F", 3, func(t timing, p *payment) {
		p.sim = alipaytest.Scenario{Result: "U", ResolveTo: "F", ResolveAfter: t.simulated(t.window + t.window/6)}
	}},
	{"PROCESSING, never answered", 2, func(_ timing, p *payment) { p.sim = alipaytest.Scenario{Result: "U", NoNotify: true} }},
	{"captured amount differs", 5, func(_ timing, p *payment) {
		v := p.amount
		v.Value = fmt.Sprint(minorUnits(p.amount) - 1)
		p.sim = alipaytest.Scenario{CapturedAmount: v}
	}},
	{"payment unknown at Antom", 4, func(_ timing, p *payment) { p.unknown = true }},
	{"cancelled while pending", 5, func(t timing, p *payment) { p.cancelIn = t.window / 12 }},
	// The authorization's lifecycle (docs/design.md, rules 9–15).
	{"split shipments, Update-with-Start", 6, func(_ timing, p *payment) { p.shipments = 2 }},
	{"split shipments, U then notification", 3, func(t timing, p *payment) {
		p.shipments = 2
		p.sim = alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: t.simulated(3 * time.Second)}
	}},
	{"the same key from two callers at once", 5, func(_ timing, p *payment) { p.twoCallers = true }},
	{"split shipments, an F contradicted by Antom's later S", 4, func(t timing, p *payment) {
		p.shipments, p.shipGap = 2, t.window/12
		p.sim = alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: t.simulated(3 * time.Second), FalseFailCode: alipay.CodeProcessFail}
	}},
	{"split shipments, the run cancelled in Temporal, then a new capture", 3, func(_ timing, p *payment) {
		p.shipments, p.cancelRun = 2, true
	}},
	{"a cancel racing the deadline's void", 3, func(t timing, p *payment) {
		p.onDeadline, p.cancelIn = workflows.OnDeadlineCancel, t.window-t.policy().DeadlineMargin
	}},
}

// pick draws a scenario from the mix.
func pick(r *rand.Rand) scenario {
	total := 0
	for _, s := range mix {
		total += s.weight
	}
	n := r.IntN(total)
	for _, s := range mix {
		if n < s.weight {
			return s
		}
		n -= s.weight
	}
	return mix[0]
}

func minorUnits(a alipay.Amount) int64 {
	var v int64
	fmt.Sscan(a.Value, &v)
	return v
}
