package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"
)

// Versions of CaptureWorkflow's logic, recorded in each history by workflow.GetVersion so that a
// running capture keeps the logic and the policy defaults it started with (DESIGN §2, rule 8).
const (
	// changeMoneyTruth is the change id of the money-truth rules of DESIGN §2.
	changeMoneyTruth = "money-truth"
	// versionLegacy is the first release's logic: histories without the marker replay with it.
	versionLegacy = workflow.DefaultVersion
	// versionMoneyTruth: overdue instead of EXPIRED while PROCESSING, an inquiry decides an F
	// after an ambiguous send, bounded sends, a final state on every close, result-code mapping,
	// policy.resolveWithin.
	versionMoneyTruth workflow.Version = 1
	// versionLifecycle: the workflow holds the whole authorization: capture requests as the
	// capture Update (or one with the start input), partial captures, the deadline guard
	// (policy.warnBefore, policy.onDeadline). The change id keeps the name of the first change
	// it guarded.
	versionLifecycle workflow.Version = 2
	// versionEvents: capture events (events.go); a side effect records whether the worker that
	// runs the capture sends them. The same logic as versionLifecycle otherwise.
	versionEvents workflow.Version = 3
	// currentVersion is what a capture started now records.
	currentVersion = versionEvents
)

// What the deadline guard does at the cut-off with an uncaptured remainder (policy.onDeadline).
const (
	// OnDeadlineLapse lets the remainder lapse: EXPIRED when nothing was captured.
	OnDeadlineLapse = "lapse"
	// OnDeadlineCancel voids the authorization, releasing the customer's funds at once
	// (CANCELLED); after a partial capture Antom cannot void it, and the remainder lapses.
	OnDeadlineCancel = "cancel"
	// OnDeadlineCapture captures the remainder before the cut-off.
	OnDeadlineCapture = "capture"
)

// Sends of one capture request in one series (rule 3): after these, an unknown outcome is left
// to notifications and inquiries.
const sendsPerSeries = 3

// Policy tunes timing; zero fields take the defaults of the workflow version the capture started
// with (DefaultPolicy for a capture started now). Tests and the local stack shrink it to run a
// week in seconds.
type Policy struct {
	// InquirySchedule: waits before successive inquiries while UNKNOWN; the last repeats.
	InquirySchedule []time.Duration `json:"inquirySchedule,omitempty"`
	// DeadlineMargin: no capture is sent later than this before the deadline.
	DeadlineMargin time.Duration `json:"deadlineMargin,omitempty"`
	// CallTimeout: one activity attempt's start-to-close timeout.
	CallTimeout time.Duration `json:"callTimeout,omitempty"`
	// ResolveWithin: how long past the deadline a capture still PROCESSING at Antom is kept open
	// (UNKNOWN, overdue) before it closes UNRESOLVED.
	ResolveWithin time.Duration `json:"resolveWithin,omitempty"`
	// WarnBefore (version 2): how long before the deadline the guard warns when part of the
	// authorization is still uncaptured.
	WarnBefore []time.Duration `json:"warnBefore,omitempty"`
	// OnDeadline (version 2): lapse, cancel or capture; what the guard does at the cut-off.
	OnDeadline string `json:"onDeadline,omitempty"`
}

// defaultPolicy returns the policy defaults of workflow version v. The table is frozen per
// version: a release that changes a default adds a version, so that captures already running
// keep theirs (TestPolicyDefaultsAreFrozen guards it).
func defaultPolicy(v workflow.Version) Policy {
	p := Policy{
		InquirySchedule: []time.Duration{2 * time.Minute, 10 * time.Minute, 10 * time.Minute,
			time.Hour, 2 * time.Hour, 6 * time.Hour},
		DeadlineMargin: 10 * time.Minute,
		CallTimeout:    30 * time.Second,
	}
	if v >= versionMoneyTruth {
		p.ResolveWithin = 30 * 24 * time.Hour
	}
	if v >= versionLifecycle {
		p.WarnBefore = []time.Duration{48 * time.Hour, 24 * time.Hour}
		p.OnDeadline = OnDeadlineLapse
	}
	return p
}

// DefaultPolicy returns the defaults a capture started now gets: inquiries after 2 min, 10 min,
// 10 min, 1 h, 2 h, then every 6 h (Antom's own notification resend cadence), no capture sent
// within 10 min of the deadline, 30 s per call, 30 days past the deadline to resolve a capture
// still processing, warnings 48 h and 24 h before the deadline, and the remainder left to lapse.
func DefaultPolicy() Policy { return defaultPolicy(currentVersion) }

// WithDefaults returns p with its zero fields set from DefaultPolicy(). capture.Client writes the
// result into the workflow input, so the history shows the policy the capture runs with.
func (p Policy) WithDefaults() Policy { return p.or(DefaultPolicy()) }

// or returns p with zero fields taken from d.
func (p Policy) or(d Policy) Policy {
	if len(p.InquirySchedule) == 0 {
		p.InquirySchedule = d.InquirySchedule
	}
	if p.DeadlineMargin == 0 {
		p.DeadlineMargin = d.DeadlineMargin
	}
	if p.CallTimeout == 0 {
		p.CallTimeout = d.CallTimeout
	}
	if p.ResolveWithin == 0 {
		p.ResolveWithin = d.ResolveWithin
	}
	if len(p.WarnBefore) == 0 {
		p.WarnBefore = d.WarnBefore
	}
	if p.OnDeadline == "" {
		p.OnDeadline = d.OnDeadline
	}
	return p
}

// Validate reports what is wrong with p.
func (p Policy) Validate() error {
	for i, d := range p.InquirySchedule {
		if d <= 0 {
			return fmt.Errorf("policy.inquirySchedule[%d] is %v; waits must be positive", i, d)
		}
	}
	switch {
	case p.DeadlineMargin < 0 || p.DeadlineMargin >= AuthorizationWindow:
		return fmt.Errorf("policy.deadlineMargin %v must be between 0 and 7 days", p.DeadlineMargin)
	case p.CallTimeout < 0:
		return fmt.Errorf("policy.callTimeout %v is negative", p.CallTimeout)
	case p.ResolveWithin < 0:
		return fmt.Errorf("policy.resolveWithin %v is negative", p.ResolveWithin)
	}
	for i, d := range p.WarnBefore {
		if d <= 0 || d >= AuthorizationWindow {
			return fmt.Errorf("policy.warnBefore[%d] is %v; want between 0 and 7 days", i, d)
		}
	}
	switch p.OnDeadline {
	case "", OnDeadlineLapse, OnDeadlineCancel, OnDeadlineCapture:
	default:
		return fmt.Errorf("policy.onDeadline %q: want lapse, cancel or capture", p.OnDeadline)
	}
	return nil
}

// IsZero reports whether p sets nothing.
func (p Policy) IsZero() bool {
	return len(p.InquirySchedule) == 0 && p.DeadlineMargin == 0 && p.CallTimeout == 0 && p.ResolveWithin == 0 &&
		len(p.WarnBefore) == 0 && p.OnDeadline == ""
}
