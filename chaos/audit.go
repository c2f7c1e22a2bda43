package main

import (
	"fmt"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/workflows"
)

// contradiction is one disagreement between a capture workflow and Antom's ledger.
type contradiction struct {
	paymentID string
	scenario  string
	kind      string
	detail    string
}

func (c contradiction) String() string {
	return fmt.Sprintf("%s [%s] %s: %s", c.paymentID, c.scenario, c.kind, c.detail)
}

// Kinds of contradiction the audit looks for (issue "Chaos audit").
const (
	kindTwice      = "capture executed twice"
	kindLate       = "capture sent after its cut-off"
	kindDisagrees  = "closed state disagrees with the ledger"
	kindNotApplied = "notification acknowledged but not applied"
	kindOpen       = "workflow still open with nothing left to wait for"
	kindNoStart    = "capture never started"
)

// cutoffSlack allows for the time between the activity's cut-off check and the request's
// arrival at the simulator.
const cutoffSlack = time.Second

// audit compares every payment's workflow with the simulator's ledger. reconciled holds the ids
// of the reconciliation workflows the webhook recorded. The ledger is the truth: a workflow may
// be UNRESOLVED (it claims nothing), but never contradict it.
func audit(payments []*payment, ledger map[string]alipaytest.Payment, reconciled map[string]bool) []contradiction {
	var out []contradiction
	for _, p := range payments {
		add := func(kind, format string, a ...any) {
			out = append(out, contradiction{paymentID: p.id, scenario: p.scenario, kind: kind, detail: fmt.Sprintf(format, a...)})
		}
		if p.startErr != nil {
			add(kindNoStart, "%v", p.startErr)
			continue
		}
		l, known := ledger[p.id]
		_, succeeded := successOf(l)
		if want := max(p.shipments, 1); l.CapturesExecuted > want || l.CapturesSucceeded > want {
			add(kindTwice, "%d captures executed, %d succeeded, for %d shipments", l.CapturesExecuted, l.CapturesSucceeded, want)
		}
		if cutoff := p.cutoff(); known && !cutoff.IsZero() && l.LastCaptureCallAt.After(cutoff.Add(cutoffSlack)) {
			add(kindLate, "last capture call at %s, cut-off %s", l.LastCaptureCallAt.Format(time.RFC3339Nano), cutoff.Format(time.RFC3339Nano))
		}
		st := p.status
		// A payment's runs: the one cancelled in Temporal keeps the records it made; the new run
		// knows only its own (docs/design.md, rule 10: Antom's idempotency keeps the second truthful).
		record := func(requestID string) (workflows.CaptureRecord, bool) {
			if rec, ok := st.Record(requestID); ok || p.earlier == nil {
				return rec, ok
			}
			return p.earlier.Record(requestID)
		}
		// An S that reached the authorization only after it closed cannot change the closed
		// status: the webhook records it as a reconciliation for operators (rule 7).
		flagged := func(requestID string) bool {
			return reconciled[workflows.ReconcileWorkflowID(p.id, requestID, alipay.StatusSuccess)]
		}
		switch {
		case !p.closed:
			add(kindOpen, "still %s at the end of the run (ledger: %s) %s", st.State, ledgerSummary(l), p.resultNote)
		case st.State == workflows.StateCaptured:
			if !succeeded {
				add(kindDisagrees, "CAPTURED, but the ledger has no successful capture (%s)", ledgerSummary(l))
			}
			// Record by record: every capture Antom made is a CAPTURED record of the same amount,
			// and every CAPTURED record is a capture Antom made.
			for _, c := range l.Captures {
				rec, ok := record(c.CaptureRequestID)
				switch {
				case c.Status != alipaytest.CaptureSucceeded:
				case (!ok || rec.State != workflows.StateCaptured) && flagged(c.CaptureRequestID):
				case !ok || rec.State != workflows.StateCaptured:
					add(kindDisagrees, "the ledger captured %s under %s; the closed capture's record is %q", c.Amount, c.CaptureRequestID, rec.State)
				case rec.CapturedAmount != c.Amount:
					add(kindDisagrees, "record %s CAPTURED %s, but the ledger captured %s", c.CaptureRequestID, rec.CapturedAmount, c.Amount)
				}
			}
			var earlier []workflows.CaptureRecord
			if p.earlier != nil {
				earlier = p.earlier.Captures
			}
			for _, rec := range append(earlier, st.Captures...) {
				if c, ok := captureOf(l, rec.CaptureRequestID); rec.State == workflows.StateCaptured && (!ok || c.Status != alipaytest.CaptureSucceeded) {
					add(kindDisagrees, "record %s CAPTURED, but the ledger has it %q", rec.CaptureRequestID, c.Status)
				}
			}
		case st.State == workflows.StateFailed, st.State == workflows.StateExpired, st.State == workflows.StateCancelled:
			if success, ok := successOf(l); ok {
				add(kindDisagrees, "%s, but the ledger has capture %s SUCCESS for %s", st.State, success.CaptureRequestID, success.Amount)
			}
		case st.State == workflows.StateUnresolved:
			// Claims nothing: operators settle it. Counted in the report.
		default:
			add(kindDisagrees, "closed in the non-final state %q", st.State)
		}
		for _, n := range l.Notifications {
			if !n.Acked {
				continue
			}
			c, ok := captureOf(l, n.CaptureRequestID)
			if !ok {
				continue
			}
			status := map[string]string{alipaytest.CaptureSucceeded: alipay.StatusSuccess, alipaytest.CaptureFailed: alipay.StatusFail}[c.Status]
			rec, recorded := record(n.CaptureRequestID)
			applied := (status == alipay.StatusSuccess && recorded && rec.State == workflows.StateCaptured) ||
				(status == alipay.StatusFail && (!recorded || rec.State != workflows.StateCaptured && rec.State != workflows.StateUnresolved)) ||
				reconciled[workflows.ReconcileWorkflowID(p.id, n.CaptureRequestID, status)]
			if !applied {
				add(kindNotApplied, "%s notification of %s acknowledged; the workflow is %s and no reconciliation was recorded", status, n.CaptureRequestID, st.State)
			}
		}
	}
	return out
}

// cutoff is the time after which no capture of p may be sent, zero when unknown.
func (p *payment) cutoff() time.Time {
	if p.input.AuthExpiresAt.IsZero() {
		return time.Time{}
	}
	return p.input.AuthExpiresAt.Add(-p.input.Policy.DeadlineMargin)
}

func successOf(l alipaytest.Payment) (alipaytest.Capture, bool) {
	for _, c := range l.Captures {
		if c.Status == alipaytest.CaptureSucceeded {
			return c, true
		}
	}
	return alipaytest.Capture{}, false
}

func captureOf(l alipaytest.Payment, requestID string) (alipaytest.Capture, bool) {
	for _, c := range l.Captures {
		if c.CaptureRequestID == requestID {
			return c, true
		}
	}
	return alipaytest.Capture{}, false
}

func ledgerSummary(l alipaytest.Payment) string {
	if len(l.Captures) == 0 {
		return fmt.Sprintf("payment %s, no capture", l.State)
	}
	c := l.Captures[len(l.Captures)-1]
	return fmt.Sprintf("payment %s, capture %s %s", l.State, c.CaptureRequestID, c.Status)
}
