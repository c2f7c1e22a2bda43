package workflows

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Versioning: release 0.1 has one logic version and calls no workflow.GetVersion. From its tag
// on, each change to workflow logic that would break a recorded history gets its own named
// change id, the replay corpus only grows, and CHANGELOG.md says what changed for running
// captures.

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

// Policy tunes timing; zero fields take DefaultPolicy's. capture.Client writes the defaults
// into the input, so a capture keeps them whatever a later release changes (rule 8). Tests and
// the local stack shrink it to run a week in seconds.
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
	// WarnBefore: how long before the deadline the guard warns when part of the
	// authorization is still uncaptured.
	WarnBefore []time.Duration `json:"warnBefore,omitempty"`
	// OnDeadline: lapse, cancel or capture; what the guard does at the cut-off.
	OnDeadline string `json:"onDeadline,omitempty"`
}

// policyJSON is Policy on the wire: each duration a Go duration string ("10m0s"; "10m" and
// "600s" are read too) or, as earlier releases wrote them, an integer number of nanoseconds.
type policyJSON struct {
	InquirySchedule []json.RawMessage `json:"inquirySchedule,omitempty"`
	DeadlineMargin  json.RawMessage   `json:"deadlineMargin,omitempty"`
	CallTimeout     json.RawMessage   `json:"callTimeout,omitempty"`
	ResolveWithin   json.RawMessage   `json:"resolveWithin,omitempty"`
	WarnBefore      []json.RawMessage `json:"warnBefore,omitempty"`
	OnDeadline      string            `json:"onDeadline,omitempty"`
}

// MarshalJSON writes the durations as duration strings, so that a person (or a caller in
// another language) reads "10m0s" rather than 600000000000.
func (p Policy) MarshalJSON() ([]byte, error) {
	one := func(d time.Duration) json.RawMessage {
		if d == 0 {
			return nil
		}
		return json.RawMessage(`"` + d.String() + `"`)
	}
	list := func(ds []time.Duration) []json.RawMessage {
		var out []json.RawMessage
		for _, d := range ds {
			out = append(out, json.RawMessage(`"`+d.String()+`"`))
		}
		return out
	}
	return json.Marshal(policyJSON{InquirySchedule: list(p.InquirySchedule), DeadlineMargin: one(p.DeadlineMargin),
		CallTimeout: one(p.CallTimeout), ResolveWithin: one(p.ResolveWithin), WarnBefore: list(p.WarnBefore), OnDeadline: p.OnDeadline})
}

// UnmarshalJSON reads durations written as strings or as nanoseconds; an error names the field
// (policy.deadlineMargin, policy.inquirySchedule[2], …).
func (p *Policy) UnmarshalJSON(b []byte) error {
	var w policyJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	var out Policy
	var err error
	one := func(name string, raw json.RawMessage) time.Duration {
		d, e := parseDuration(raw)
		if e != nil && err == nil {
			err = fmt.Errorf("policy.%s: %w", name, e)
		}
		return d
	}
	list := func(name string, raws []json.RawMessage) []time.Duration {
		var ds []time.Duration
		for i, raw := range raws {
			ds = append(ds, one(fmt.Sprintf("%s[%d]", name, i), raw))
		}
		return ds
	}
	out.InquirySchedule = list("inquirySchedule", w.InquirySchedule)
	out.DeadlineMargin = one("deadlineMargin", w.DeadlineMargin)
	out.CallTimeout = one("callTimeout", w.CallTimeout)
	out.ResolveWithin = one("resolveWithin", w.ResolveWithin)
	out.WarnBefore = list("warnBefore", w.WarnBefore)
	out.OnDeadline = w.OnDeadline
	if err != nil {
		return err
	}
	*p = out
	return nil
}

// parseDuration reads a JSON duration: a string for time.ParseDuration, or a number of
// nanoseconds; absent or null is 0.
func parseDuration(raw json.RawMessage) (time.Duration, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return 0, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration (write it like \"10m\" or \"600s\")", s)
		}
		return d, nil
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, fmt.Errorf("%s is not a duration (write it like \"10m\" or \"600s\")", raw)
	}
	return time.Duration(n), nil
}

// DefaultPolicy returns the defaults of a capture started now: inquiries after 2 min, 10 min,
// 10 min, 1 h, 2 h, then every 6 h (Antom's own notification resend cadence), no capture sent
// within 10 min of the deadline, 30 s per call, 30 days past the deadline to resolve a capture
// still processing, warnings 48 h and 24 h before the deadline, and the remainder left to lapse.
// A release that changes one guards the change (see Versioning), so TestPolicyDefaultsAreFrozen
// pins this table.
func DefaultPolicy() Policy {
	return Policy{
		InquirySchedule: []time.Duration{2 * time.Minute, 10 * time.Minute, 10 * time.Minute,
			time.Hour, 2 * time.Hour, 6 * time.Hour},
		DeadlineMargin: 10 * time.Minute,
		CallTimeout:    30 * time.Second,
		ResolveWithin:  30 * 24 * time.Hour,
		WarnBefore:     []time.Duration{48 * time.Hour, 24 * time.Hour},
		OnDeadline:     OnDeadlineLapse,
	}
}

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
