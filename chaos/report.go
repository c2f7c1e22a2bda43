package main

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/workflows"
)

// report is the run's result, as Markdown: what ran, the faults, outcomes by scenario, and the
// contradictions.
type report struct {
	opts                    options
	timing                  timing
	started, loadEnd, ended time.Time // started: the first payment's start, not the program's
	payments                []*payment
	ledger                  map[string]alipaytest.Payment
	faults                  []faultEntry
	contradictions          []contradiction
	reconciled              int
	encrypted               bool // every payload encrypted (CAPTURE_CODEC_KEYS)
}

var outcomeColumns = []workflows.State{workflows.StateCaptured, workflows.StateFailed, workflows.StateExpired,
	workflows.StateCancelled, workflows.StateUnresolved}

func (r report) String() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	o := r.opts
	p("# Chaos audit")
	p("")
	p("`go run ./chaos --payments %d --rate %g --kill-min %v --kill-max %v --kills %d --restart-temporal=%v --kill-webhook=%v --drop %g --delay %g --window %v --seed %d`",
		o.payments, o.rate, o.killMin, o.killMax, o.maxKills, o.restartTemporal, o.killWebhook, o.dropRate, o.delayRate, o.window, o.seed)
	p("on %s UTC, %d CPUs, %s/%s, %s: a Temporal dev server (SQLite file), the simulator, webhook and worker processes, all on this machine.",
		r.started.UTC().Format("2006-01-02 15:04"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	p("")
	kills, restarts, webhookKills := 0, 0, 0
	for _, f := range r.faults {
		switch {
		case strings.HasPrefix(f.what, "worker killed"):
			kills++
		case f.what == "Temporal stopped":
			restarts++
		case strings.HasPrefix(f.what, "webhook killed"):
			webhookKills++
		}
	}
	dropped, delayed, deliveries := 0, 0, 0
	for _, l := range r.ledger {
		for _, n := range l.Notifications {
			dropped += n.Dropped
			delayed += n.Delayed
			deliveries += n.Attempts
		}
	}
	closedDuringLoad := 0
	for _, pm := range r.payments {
		if pm.closed && pm.closedAt.Before(r.loadEnd) {
			closedDuringLoad++
		}
	}
	load := r.loadEnd.Sub(r.started)
	p("| | |")
	p("|---|---|")
	p("| payments | %d |", len(r.payments))
	if r.encrypted {
		p("| payloads | encrypted (`CAPTURE_CODEC_KEYS`) |")
	}
	p("| duration | %v (starts over %v, then until every capture closed) |", r.ended.Sub(r.started).Round(time.Second), load.Round(time.Second))
	p("| compressed week | authorization window %v; policy inquiries %v, margin %v, call timeout %v, resolveWithin %v; simulator time scale %g |",
		r.timing.window, r.timing.policy().InquirySchedule, r.timing.policy().DeadlineMargin, r.timing.callLimit, r.timing.policy().ResolveWithin, r.timing.scale)
	p("| worker SIGKILLs | %d |", kills)
	p("| Temporal restarts | %d |", restarts)
	p("| webhook SIGKILLs | %d |", webhookKills)
	p("| notification deliveries | %d attempts: %d dropped, %d delayed past their resend |", deliveries, dropped, delayed)
	p("| throughput during faults | %.2f captures closed per second while payments were started (faults went on until every capture closed) |", float64(closedDuringLoad)/load.Seconds())
	p("| reconciliations recorded | %d |", r.reconciled)
	p("| **contradictions** | **%d** |", len(r.contradictions))
	p("")
	p("## Outcomes by scenario")
	p("")
	header := "| scenario | payments |"
	sep := "|---|---|"
	for _, s := range outcomeColumns {
		header += " " + string(s) + " |"
		sep += "---|"
	}
	p("%s other |", header)
	p("%s---|", sep)
	for _, sc := range mix {
		counts := map[workflows.State]int{}
		n, other := 0, 0
		for _, pm := range r.payments {
			if pm.scenario != sc.name {
				continue
			}
			n++
			if pm.closed && pm.status.State.Final() {
				counts[pm.status.State]++
			} else {
				other++
			}
		}
		row := fmt.Sprintf("| %s | %d |", sc.name, n)
		for _, s := range outcomeColumns {
			row += fmt.Sprintf(" %d |", counts[s])
		}
		p("%s %d |", row, other)
	}
	p("")
	p("## Faults")
	p("")
	if len(r.faults) == 0 {
		p("None but the simulator's lost and late notification deliveries.")
	}
	for _, f := range r.faults {
		p("- +%v %s", f.at.Sub(r.started).Round(time.Second), f.what)
	}
	p("")
	p("## Contradictions")
	p("")
	p("Audited against the simulator's ledger: a capture executed twice, a capture sent after its cut-off, a closed workflow whose state disagrees with the ledger, a notification acknowledged but not applied (nor recorded for reconciliation), a workflow still open with nothing left to wait for.")
	p("")
	p("contradictions: %d", len(r.contradictions))
	sort.Slice(r.contradictions, func(i, j int) bool { return r.contradictions[i].paymentID < r.contradictions[j].paymentID })
	for _, c := range r.contradictions {
		p("- %s", c)
	}
	return b.String()
}
