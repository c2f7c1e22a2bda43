// Command bench measures alipay-capture against Temporal's own floor on a local dev server, and
// writes the results to BENCHMARKS.md:
//
//	a. end-to-end S-path captures per second against a bare one-activity workflow, same server,
//	   same worker options, and the same captures with every payload encrypted (package codec);
//	b. history events and Antom calls per path (S, U→notification, U→inquiry, the 7-day U path);
//	c. webhook throughput, verified notifications signalled per second, against a raw
//	   SignalWorkflow loop, with acknowledgement latency percentiles;
//	d. captures parked in UNKNOWN on one worker process: its peak RSS, then the time for all of
//	   them to finish once their notifications arrive;
//	e. (a) again on Temporal as deployed: temporal-server 1.29.1 on PostgreSQL
//	   ($TEST_POSTGRES_URL, default the local one), with fresh databases.
//
// (a) and (e) also give p50 and p99 from a capture's start to CAPTURED; (b) the Temporal Cloud
// actions each path costs.
//
// Run: go run ./bench [--n 2000] [--signals 1000] [--parked 10000] [--out BENCHMARKS.md]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/capturekit/alipay-capture/internal/stack"
	"github.com/capturekit/alipay-capture/internal/temporaltest"
)

type options struct {
	n           int
	signals     int
	parked      int
	concurrency int
	out         string
	dir         string
	skipWeek    bool
	pollers     int
	notifyConc  int
	stickyCache int
	only        string
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 2000, "captures (and bare workflows) for the throughput comparison (a)")
	flag.IntVar(&o.signals, "signals", 1000, "notifications for the webhook comparison (c)")
	flag.IntVar(&o.parked, "parked", 10000, "captures parked in UNKNOWN on one worker (d)")
	flag.IntVar(&o.concurrency, "concurrency", 64, "requests in flight at once")
	flag.StringVar(&o.out, "out", "BENCHMARKS.md", "where to write the results")
	flag.StringVar(&o.dir, "dir", ".bench", "working folder")
	flag.BoolVar(&o.skipWeek, "skip-week", false, "skip the 7-day path of (b) (about a minute)")
	flag.IntVar(&o.notifyConc, "notify-concurrency", 16, "notifications in flight at once in (c) and (d), as Antom's deliveries arrive")
	flag.IntVar(&o.stickyCache, "sticky-cache", 0, "WORKER_STICKY_CACHE_SIZE of the worker process in (d) (0: the SDK's default, 10000)")
	flag.IntVar(&o.pollers, "pollers", 0, "workflow and activity task pollers of the in-process workers (0: the SDK's default, 2)")
	flag.StringVar(&o.only, "only", "", "run only these parts, e.g. \"a\" or \"ae\" (default all; results are written only for a full run)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: go run ./bench [flags]\n\nBenchmarks the capture system on a local Temporal dev server, then on temporal-server with\nPostgreSQL, and writes BENCHMARKS.md.\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// onPostgres runs the throughput comparison on a stack whose Temporal is temporal-server on
// PostgreSQL.
func onPostgres(ctx context.Context, o options, log *os.File) (throughputResult, error) {
	st, err := stack.Start(ctx, stack.Options{Dir: o.dir + "-postgres", NoWorker: true, Output: log, LogFile: log, Progress: say, TimeScale: 0.001,
		Postgres: &temporaltest.ClusterOptions{}})
	if err != nil {
		return throughputResult{}, err
	}
	defer st.Stop()
	b, err := newBench(ctx, st, o)
	if err != nil {
		return throughputResult{}, err
	}
	defer b.stopWorkers()
	return b.throughput(ctx, false)
}

func say(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench %s: "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
}

func run(ctx context.Context, o options) error {
	quiet, err := os.Create(o.dir + ".log")
	if err != nil {
		return err
	}
	defer quiet.Close()
	pprofAddr, err := temporaltest.FreeAddr() // a free loopback port for the receiver's profiles
	if err != nil {
		return err
	}
	st, err := stack.Start(ctx, stack.Options{Dir: o.dir, InMemory: true, NoWorker: true, Output: quiet, LogFile: quiet, Progress: say, TimeScale: 0.001,
		WebhookEnv: []string{"WEBHOOK_PPROF_LISTEN=" + pprofAddr}})
	if err != nil {
		return err
	}
	stopDev := sync.OnceFunc(st.Stop)
	defer stopDev()
	b, err := newBench(ctx, st, o)
	if err != nil {
		return err
	}
	b.pprofURL = "http://" + pprofAddr
	r := report{started: time.Now(), opts: o}

	part := func(p string) bool { return o.only == "" || strings.Contains(o.only, p) }
	if part("a") {
		say("(a) throughput: %d bare workflows, %d S-path captures, %d with payloads encrypted", o.n, o.n, o.n)
		if r.a, err = b.throughput(ctx, true); err != nil {
			return fmt.Errorf("(a): %w", err)
		}
		say("(a) bare %.1f/s, capture %.1f/s, ratio %.2f; with payloads encrypted %.1f/s (%.2f of the plain capture's)",
			r.a.bare, r.a.capture, r.a.capture/r.a.bare, r.a.encrypted, r.a.encrypted/r.a.capture)
	}
	if part("b") {
		say("(b) history events and Antom calls per path")
		if r.b, err = b.paths(ctx, !o.skipWeek); err != nil {
			return fmt.Errorf("(b): %w", err)
		}
	}
	if part("c") {
		say("(c) webhook: %d notifications through the receiver against %d raw signals", o.signals, o.signals)
		if r.c, err = b.webhook(ctx); err != nil {
			return fmt.Errorf("(c): %w", err)
		}
		say("(c) webhook %.1f/s (p50 %v, p99 %v; inside the receiver ≤ %v, ≤ %v), raw %.1f/s (p50 %v, p99 %v)",
			r.c.webhookRate, r.c.p50, r.c.p99, r.c.inP50, r.c.inP99, r.c.rawRate, r.c.rawP50, r.c.rawP99)
	}
	b.stopWorkers()
	if part("d") {
		say("(d) %d captures parked in UNKNOWN on the worker process", o.parked)
		if r.d, err = b.parked(ctx); err != nil {
			return fmt.Errorf("(d): %w", err)
		}
		say("(d) peak RSS %d MiB; all finished %v after the notifications began", r.d.peakRSS>>20, r.d.finish)
	}
	if part("e") {
		stopDev() // the dev server's stack leaves the cores to the PostgreSQL-backed one
		say("(e) throughput on temporal-server with PostgreSQL: %d bare workflows, then %d S-path captures", o.n, o.n)
		if r.e, err = onPostgres(ctx, o, quiet); err != nil {
			return fmt.Errorf("(e): %w", err)
		}
		say("(e) bare %.1f/s, capture %.1f/s, ratio %.2f; start to CAPTURED p50 %v, p99 %v", r.e.bare, r.e.capture, r.e.capture/r.e.bare, r.e.p50, r.e.p99)
	}
	if o.only != "" {
		return nil
	}
	r.finished = time.Now()
	if err := os.WriteFile(o.out, []byte(r.markdown()), 0o644); err != nil {
		return err
	}
	say("results written to %s", o.out)
	return nil
}
