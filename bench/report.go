package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/capturekit/alipay-capture/workflows"
)

type report struct {
	opts              options
	started, finished time.Time
	a                 throughputResult
	b                 []pathResult
	c                 webhookResult
	d                 parkedResult
	e                 throughputResult
}

func (r report) markdown() string {
	var w strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&w, format+"\n", a...) }
	mark := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**missed**"
	}
	p("# Benchmarks")
	p("")
	p("Measured by `go run ./bench --n %d --signals %d --parked %d --concurrency %d --notify-concurrency %d` on %s, %s.",
		r.opts.n, r.opts.signals, r.opts.parked, r.opts.concurrency, r.opts.notifyConc, r.started.UTC().Format("2006-01-02 15:04 MST"), machine())
	p("Everything ran on that one machine: a Temporal dev server (`temporal server start-dev`, SQLite in memory) for (a) to (d), temporal-server 1.29.1 on the machine's PostgreSQL 15 for (e), the Antom simulator, the webhook and workers, and the load generator. The run took %v.",
		r.finished.Sub(r.started).Round(time.Second))
	p("")
	p("Correctness under faults is measured apart, by the chaos audit (`go run ./chaos`): its last full run is in [CHAOS.md](CHAOS.md).")
	p("")
	ratio := r.a.capture / r.a.bare
	p("## a. End-to-end throughput against Temporal's floor")
	p("")
	throughputTable(p, r.a)
	p("")
	p("Ratio %.3f (target ≥ 0.8: %s). Each ran %d workflows in two alternating halves (bare, capture, encrypted capture, then again), %d started and awaited at once, on workers with the same options in one process.",
		ratio, mark(ratio >= 0.8), r.opts.n, r.opts.concurrency)
	p("")
	p("## b. History events and Antom calls per path")
	p("")
	p("| path | events | Antom capture calls | Antom inquiries | outcome | Temporal Cloud actions |")
	p("|---|---|---|---|---|---|")
	for _, x := range r.b {
		p("| %s | %d | %d | %d | %s by %s | %v |", x.name, x.events, x.captures, x.inquiries, x.state, x.resolvedBy, x.actions)
	}
	p("")
	p("Targets: S path 1 Antom call and ≤ 15 events; U→notification ≤ 25; a full 7-day U path ≤ 400.")
	p("")
	w.WriteString(actionsNote)
	p("")
	w.WriteString(newPaths)
	p("")
	wratio := r.c.webhookRate / r.c.rawRate
	p("## c. Webhook throughput")
	p("")
	p("| path | notifications per second | p50 | p99 |")
	p("|---|---|---|---|")
	p("| raw `SignalWorkflow` loop | %.1f | %v | %v |", r.c.rawRate, r.c.rawP50.Round(time.Microsecond*100), r.c.rawP99.Round(time.Microsecond*100))
	p("| webhook: HTTP, Client-Id and RSA signature verified, signal, acknowledgement | %.1f | %v | %v |", r.c.webhookRate, r.c.p50.Round(time.Microsecond*100), r.c.p99.Round(time.Microsecond*100))
	p("| the same, inside the receiver (its `alipay_capture_notification_ack_seconds` bucket) | | ≤ %v | ≤ %v |", r.c.inP50, r.c.inP99)
	p("")
	p("Ratio %.3f (target ≥ 0.9: %s); p99 acknowledgement %v (target < 50 ms: %s). %d notifications each, %d in flight, each to its own capture parked in UNKNOWN.",
		wratio, mark(wratio >= 0.9), r.c.p99.Round(time.Millisecond), mark(r.c.p99 < 50*time.Millisecond), r.opts.signals, r.opts.notifyConc)
	p("")
	p("The receiver's CPU profile over the sending (15 s window; `Duration` is the window, `Total samples` the CPU the receiver used in it):")
	p("")
	p("```")
	p("%s", r.c.profile)
	p("```")
	p("")
	p("## d. %d captures parked in UNKNOWN on one worker", r.d.n)
	p("")
	cache := "its default sticky cache (WORKER_STICKY_CACHE_SIZE=2000)"
	if r.opts.stickyCache > 0 {
		cache = fmt.Sprintf("WORKER_STICKY_CACHE_SIZE=%d", r.opts.stickyCache)
	}
	p("The worker process ran with %s and otherwise default options.", cache)
	p("")
	p("| measure | value |")
	p("|---|---|")
	p("| time to start and park them all | %v |", r.d.parkTime.Round(time.Second))
	p("| worker RSS with all parked | %d MiB |", r.d.afterRSS>>20)
	p("| worker peak RSS over the run | %d MiB |", r.d.peakRSS>>20)
	p("| time for all to finish once their notifications arrive | %v |", r.d.finish.Round(100*time.Millisecond))
	p("| captures finished (nothing lost) | %d of %d |", r.d.finished, r.d.n)
	p("")
	cr := r.d.census
	p("### The census with %d captures running", cr.running)
	p("")
	p("The census behind the amounts-at-risk gauges lists every running capture. The census workflow (`%s`) takes it once per interval for the whole deployment, on whichever worker runs it, and every worker reads its latest census with a query.", workflows.CensusWorkflowID)
	p("")
	p("| measure | value |")
	p("|---|---|")
	p("| one census: visibility listing of all %d running captures | %v, %d ListWorkflow calls (pages of 1000) |", cr.running, cr.listP50.Round(time.Millisecond), cr.listCalls)
	p("| the census workflow's next census after a read, until readable (it counted %d) | %v |", cr.scheduledSeen, cr.scheduled.Round(time.Millisecond))
	p("| a worker's read of the latest census: one query | %v |", cr.readP50.Round(time.Millisecond))
	p("")
	p("Visibility listings per 15 s with W workers: %d × W before (each worker listed every capture), %d now, plus one query per worker.", cr.listCalls, cr.listCalls)
	p("")
	eratio := r.e.capture / r.e.bare
	p("## e. The same on temporal-server with PostgreSQL")
	p("")
	p("(a) again, on Temporal as users deploy it: temporal-server 1.29.1 (the version docker-compose.yml runs) on the machine's PostgreSQL 15, SQL visibility, one node running all four services, fresh databases set up by temporal-sql-tool; the rest of the system as in (a).")
	p("")
	throughputTable(p, r.e)
	p("")
	p("Ratio %.3f (dev server: %.3f). Against the dev server: bare %.2f×, capture %.2f×; start to CAPTURED p50 %v and p99 %v against %v and %v.",
		eratio, ratio, r.e.bare/r.a.bare, r.e.capture/r.a.capture, r.e.p50.Round(time.Millisecond), r.e.p99.Round(time.Millisecond), r.a.p50.Round(time.Millisecond), r.a.p99.Round(time.Millisecond))
	p("")
	w.WriteString(tuning)
	return w.String()
}

func throughputTable(p func(string, ...any), t throughputResult) {
	p("| workflow | completions per second | start to CAPTURED p50 | p99 |")
	p("|---|---|---|---|")
	p("| bare: one activity that does nothing | %.1f | | |", t.bare)
	p("| CaptureWorkflow, S path (signed capture to the simulator, verified answer, search attributes, memo) | %.1f | %v | %v |",
		t.capture, t.p50.Round(time.Millisecond), t.p99.Round(time.Millisecond))
	if t.encrypted > 0 {
		p("| the same, every payload encrypted (`CAPTURE_CODEC_KEYS`, AES-256-GCM) | %.1f (%.2f of the plain capture's) | | |", t.encrypted, t.encrypted/t.capture)
	}
}

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
		if len(f) >= 2 {
			var kb int64
			fmt.Sscan(f[1], &kb)
			mem = fmt.Sprintf(", %d GiB", (kb+(1<<19))>>20)
		}
	}
	goVer, _ := exec.Command("go", "env", "GOVERSION").Output()
	return fmt.Sprintf("%d × %s%s, %s/%s, %s", runtime.NumCPU(), cpu, mem, runtime.GOOS, runtime.GOARCH, strings.TrimSpace(string(goVer)))
}

// tuning explains the worker options chosen from these measurements; it is part of every report.
const actionsNote = `Temporal Cloud bills *actions*; the last column counts them from each history the way
[its documentation](https://docs.temporal.io/cloud/actions) bills them: the start, every activity
attempt, every timer, every signal and accepted update, every search-attribute upsert (those set at
start, and the versioning marker's TemporalChangeVersion, are free). Not in a history, and so not
in the table: queries (each ` + "`starter status`" + ` or ` + "`capture.Client.Status`" + ` is one action; ` + "`Wait`" + `
long-polls the result and costs none; ` + "`starter list`" + ` reads visibility and costs none; the census schedule costs a few actions per interval,
however many captures run).
What could lower them, and what each would cost:

- **Fewer search-attribute upserts.** CaptureStatus is written at each state change so that
  operators can list captures waiting on Antom (` + "`starter list --status UNKNOWN`" + `, the census). Writing
  only the final state would save one action per intermediate state and blind those lists; kept.
- **Fewer inquiry timers.** Each step of ` + "`inquirySchedule`" + ` is a timer, and each inquiry an activity.
  Where Antom's notification usually arrives first, a later first inquiry saves both on the
  U→notification path; the default keeps the first inquiry early because an unanswered capture
  is money nobody can see.
- **Bounded sends.** Every capture attempt is an action; the series of at most three sends before
  an inquiry (money-truth rule 3) also bounds what a failing Antom costs.
- **Duplicate notifications.** Each of Antom's resends that reaches the webhook is a signal;
  filtering them in the webhook would need a query (also an action) or a lookup of its own.
`

const newPaths = `The remaining paths, from ` + "`" + `TEMPORAL_CLI=$(scripts/temporal-cli) go test ./workflows/ -run TestCapturePathsOnRealServer -v` + "`" + `
(a real dev server, the simulator and the webhook receiver; these are the histories of the
replay corpus), last measured on 2026-11-27 with workflow version 3 and no EVENTS_URL. Version 3
learns whether the worker sends capture events from Antom's first answer, at no cost; a path
whose first event comes before one (a refusal, a warning, a cancel) records it in one
side-effect marker, one event more than version 2 and one Cloud action:

| path | events | Antom capture calls | Antom inquiries | outcome |
|---|---|---|---|---|
| F (RISK_REJECT) | 18 | 1 | 0 | FAILED by response |
| cancel while pending | 23 | 0 | 0 | CANCELLED by cancel |
| captureAt (held, then sent) | 22 | 1 | 0 | CAPTURED by response |
| three HTTP 500s, inquiry finds nothing, resend | 36 | 4 | 1 | CAPTURED by response |
| deadline from inquiryPayment | 24 | 1 | 1 | CAPTURED by response |
| PROCESSING at the deadline (overdue), then a late S | 95 | 1 | 7 | CAPTURED by inquiry |
| executed but answered too late, F on the resend | 24 | 2 | 1 | CAPTURED by inquiry |
| PROCESSING past resolveWithin | 106 | 1 | 8 | UNRESOLVED by timeout |
| split shipment: authorize, then two partial captures (Updates), the second last (three of its events for change memo-uncaptured: the version marker, the TemporalChangeVersion search attribute, the uncaptured memo) | 33–38 | 2 | 0 | CAPTURED by response |
| authorized, never shipped: onDeadline=lapse (two warnings) | 24 | 0 | 0 | EXPIRED by deadline |
| authorized, never shipped: onDeadline=cancel | 21 | 0 | 0 | CANCELLED by deadline |
| authorized, never shipped: onDeadline=capture | 16 | 1 | 0 | CAPTURED by response |

The overdue and unresolved paths inquire every second past a deadline seconds away, so their
counts vary between runs with the machine's load.

An overdue capture costs one inquiry (about 11 events) per ` + "`" + `inquirySchedule` + "`" + ` step past the
deadline: with the default policy, every 6 h for at most 30 days, about 120 inquiries and 1,300
events before it closes UNRESOLVED.
`

const tuning = `## Worker tuning, and what bounds each figure

- **Sticky cache: lowered from the SDK's 10,000 workflows to 2,000 (WORKER_STICKY_CACHE_SIZE).**
  A capture waits for days between two workflow tasks, so a large cache mostly holds idle
  workflows. With 10,000 captures parked, the worker held 543 MiB with the SDK's cache (two full
  runs: 542 and 543 MiB) and 152 MiB with 2,000 (peak 170 MiB over the run); with 4,000 parked
  and the SDK's cache it held 244 to 248 MiB, and with 2,000 parked 140 MiB, against 68 MiB with
  a cache of 500. The price is a replay of 13 to 20 events when an evicted capture's notification
  arrives: finishing 10,000 took 4m48s with the 2,000 cache against 2m47s and 4m07s in two runs
  with the SDK's cache, a spread that run-to-run noise on 2 shared cores mostly covers. Memory
  now stays bounded by the cache however many captures wait. (The runs since, with two merchant
  accounts' clients, events and the census schedule in the worker, held 190 to 210 MiB.)
- **Pollers and concurrency: left at the SDK's defaults.** Four times the pollers
  (go run ./bench --only a --pollers 8) changed neither throughput beyond noise: on this machine
  the dev server (SQLite, sharing the 2 cores with everything else) bounds both workflows at 35
  to 70 per second, not the worker. WORKER_POLLERS, WORKER_MAX_CONCURRENT_ACTIVITIES and
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS are there for a cluster where the worker becomes the
  bottleneck.
- **(a)** is bounded by the Temporal server. The capture path does more per workflow than the bare
  one: two RSA signatures and two verifications (about 2.3 ms of CPU on this machine, see
  go test -bench . ./alipay/), one more search attribute upsert and a memo write (14 events
  against 11), and an HTTP round trip to the simulator. Full runs gave 0.88, 0.73 (before the
  halves alternated), 0.795, 0.86 and 0.84: met or missed by noise on this machine.
- **(c)** is bounded by the signal call to Temporal, not by the receiver: over the sending, the
  receiver used 3 % of one core (profile above: 450 ms of CPU in 15 s, spread over syscalls,
  JSON, gzip of gRPC frames and one RSA verification per notification). A signal takes 20 to
  30 ms at 16 in flight here with or without the receiver in front; the receiver adds an HTTP
  hop and a process switch on 2 busy cores. Its ratio and p99 move between runs (full runs:
  ratio 0.81, 0.93, 0.76, 0.88, 0.62; p99 86, 74, 82, 81, 135 ms against raw p99 37, 65, 55, 84,
  65 ms), so the targets ≥ 0.9 and < 50 ms are missed by up to 0.28 and 85 ms on this machine.
  On a machine where Temporal has its own cores, what remains is the HTTP hop.
- **(d)** parking and finishing run at the dev server's 35 to 60 workflows per second; nothing is
  lost: the visibility count of CAPTURED captures rises by exactly the number parked.
- **Start to CAPTURED** in (a) and (e) is measured with 64 captures in flight at a rate the server
  bounds, so it is mostly queueing: p50 near 64 divided by the throughput. One capture on an idle
  stack takes well under 100 ms (the end-to-end S tests, start to result, take about 60 ms on
  either server).
- **(e)** runs every service of temporal-server in one process on the same 2 cores as PostgreSQL,
  the workers, the simulator and the load generator, with 4 history shards; its throughput is the
  server's and PostgreSQL's commit rate on this machine, not a property of the capture workflow,
  whose ratio to the bare workflow is what carries over to a real cluster (compare the two
  ratios; (a) moves by about 0.1 between runs). A cluster with its own database host and more
  history shards scales both.
`
