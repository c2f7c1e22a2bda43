// Command chaos runs the whole system through faults and audits every capture against the
// simulator's ledger: payments of every scenario started at a steady rate while the worker is
// SIGKILLed every 20–40 s, Temporal stops and restarts once, the webhook is killed once and the
// simulator drops or delays notification deliveries. Time is compressed (authorizations lapse in
// minutes), so the whole run, late results and overdue captures included, ends by itself. It
// prints the outcomes by scenario, the fault log and every contradiction, and exits 1 if it found
// any.
//
//	go run ./chaos                 # 1,000 payments, about 15 minutes on 2 cores
//	go run ./chaos --short         # 100 payments, one worker kill, a few minutes (CI)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/sdk/temporal"
	"golang.org/x/sync/errgroup"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/internal/stack"
	"github.com/capturekit/alipay-capture/workflows"
)

type options struct {
	payments        int
	rate            float64
	killMin         time.Duration
	killMax         time.Duration
	maxKills        int
	restartTemporal bool
	killWebhook     bool
	dropRate        float64
	delayRate       float64
	window          time.Duration
	seed            uint64
	dir             string
	out             string
}

func main() {
	var o options
	short := flag.Bool("short", false, "the CI run: 100 payments, one worker kill, no Temporal restart or webhook kill, a 60 s authorization window")
	flag.IntVar(&o.payments, "payments", 1000, "payments to capture")
	flag.Float64Var(&o.rate, "rate", 2.5, "payments started per second")
	flag.DurationVar(&o.killMin, "kill-min", 20*time.Second, "shortest time between worker SIGKILLs")
	flag.DurationVar(&o.killMax, "kill-max", 40*time.Second, "longest time between worker SIGKILLs")
	flag.IntVar(&o.maxKills, "kills", 0, "stop killing the worker after this many (0: until the last payment started)")
	flag.BoolVar(&o.restartTemporal, "restart-temporal", true, "stop Temporal and start it again on the same database once")
	flag.BoolVar(&o.killWebhook, "kill-webhook", true, "SIGKILL the webhook once (a new one starts)")
	flag.Float64Var(&o.dropRate, "drop", 0.3, "fraction of notification deliveries the simulator drops")
	flag.Float64Var(&o.delayRate, "delay", 0.2, "fraction of notification deliveries that arrive after their resend")
	flag.DurationVar(&o.window, "window", 3*time.Minute, "the compressed authorization window (Antom's 7 days)")
	flag.Uint64Var(&o.seed, "seed", uint64(time.Now().UnixNano()), "random seed of the scenario mix and the kill times")
	flag.StringVar(&o.dir, "dir", ".chaos", "working folder: each run gets a subfolder with its binaries, keys, Temporal database and process log")
	flag.StringVar(&o.out, "out", "", "also write the report to this file (e.g. CHAOS.md)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: go run ./chaos [flags]\n\nRuns payments of every scenario through worker kills, a Temporal restart, a webhook kill and lost\nnotifications, then audits every capture against Antom's ledger. Exit 1 on any contradiction.\nWith CAPTURE_CODEC_KEYS (or CAPTURE_CODEC_KEYS_FILE) set, every payload is encrypted.\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *short {
		o.payments, o.rate, o.maxKills, o.restartTemporal, o.killWebhook, o.window = 100, 5, 1, false, false, time.Minute
	}
	if o.payments <= 0 || o.rate <= 0 || o.killMin <= 0 || o.killMax < o.killMin || o.window < 30*time.Second || o.dropRate+o.delayRate > 1 {
		fmt.Fprintln(os.Stderr, "chaos: --payments, --rate and the kill interval must be positive (kill-min ≤ kill-max), --window at least 30s, --drop + --delay at most 1")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	found, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
	if found > 0 {
		os.Exit(1)
	}
}

func say(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "chaos %s: "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
}

// run runs the whole thing and returns the number of contradictions found.
func run(ctx context.Context, o options) (int, error) {
	t := timing{window: o.window, scale: 0.005, callLimit: 5 * time.Second}
	started := time.Now()
	dir := filepath.Join(o.dir, started.Format("20060102-150405")) // a fresh Temporal database per run
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	logFile, err := os.Create(filepath.Join(dir, "processes.log"))
	if err != nil {
		return 0, err
	}
	defer logFile.Close()
	// With CAPTURE_CODEC_KEYS (or _FILE) in its environment, the audit runs with every payload
	// encrypted, as a deployment with the codec would.
	st, err := stack.Start(ctx, stack.Options{Dir: dir, Output: logFile, LogFile: logFile, Progress: say, TimeScale: t.scale,
		CodecKeys: os.Getenv("CAPTURE_CODEC_KEYS"), CodecKeysFile: os.Getenv("CAPTURE_CODEC_KEYS_FILE"),
		SimEnv: []string{fmt.Sprintf("SIM_NOTIFY_DROP_RATE=%g", o.dropRate), fmt.Sprintf("SIM_NOTIFY_DELAY_RATE=%g", o.delayRate), "SIM_NOTIFY_DELAY=20s"}})
	if err != nil {
		return 0, err
	}
	defer st.Stop()
	say("system up; processes log to %s", logFile.Name())

	r := rand.New(rand.NewPCG(o.seed, 0))
	payments := make([]*payment, o.payments)
	for i := range payments {
		sc := pick(r)
		p := &payment{scenario: sc.name, id: fmt.Sprintf("CHAOS%d-%04d", o.seed%100000, i), amount: alipay.Amount{Currency: "USD", Value: fmt.Sprint(100 + r.IntN(49900))}}
		sc.plan(t, p)
		payments[i] = p
	}
	// The run's clock starts here, with the faults and the first payment: the report's times
	// leave out the build and start of the system.
	loadStart := time.Now()
	faults := &faultLog{}
	faultsDone := make(chan struct{}) // closed when every capture has closed: faults stop
	var fg errgroup.Group
	fg.Go(func() error { return injectFaults(ctx, st, o, r, faults, faultsDone) })

	// Load: one start every 1/rate, each through capture.Client as an order service would.
	say("starting %d payments at %.1f/s (authorization window %v)", o.payments, o.rate, o.window)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Duration(float64(time.Second) / o.rate))
	for _, p := range payments {
		select {
		case <-ctx.Done():
			tick.Stop()
			return 0, ctx.Err()
		case <-tick.C:
		}
		wg.Add(1)
		go func() { defer wg.Done(); startPayment(ctx, st, t, p) }()
	}
	tick.Stop()
	wg.Wait()
	loadEnd := time.Now()
	say("all started in %v; waiting for every capture to close (faults go on meanwhile)", loadEnd.Sub(loadStart).Round(time.Second))

	// Every capture closes by its deadline plus resolveWithin at the latest (plus a margin for
	// the last inquiry and the dev server's pace).
	last := payments[len(payments)-1].startedAt
	endBy := last.Add(t.window + t.policy().ResolveWithin + 2*time.Minute)
	if err := waitClosed(ctx, st, endBy); err != nil {
		say("%v", err)
	}
	close(faultsDone)
	if err := fg.Wait(); err != nil {
		return 0, err
	}
	// A worker started by the last kill may still be connecting: give it a moment before the
	// status queries of captures left open, which need one.
	time.Sleep(2 * time.Second)
	collect(ctx, st, payments)
	ledgerList, err := st.Payments(ctx)
	if err != nil {
		return 0, err
	}
	ledger := map[string]alipaytest.Payment{}
	for _, l := range ledgerList {
		ledger[l.PaymentID] = l
	}
	reconciled, err := reconciliations(ctx, st)
	if err != nil {
		return 0, err
	}
	found := audit(payments, ledger, reconciled)
	rep := report{opts: o, timing: t, started: loadStart, loadEnd: loadEnd, ended: time.Now(), payments: payments, ledger: ledger,
		faults: faults.entries(), contradictions: found, reconciled: len(reconciled), encrypted: st.Capture.DataConverter != nil}
	text := rep.String()
	fmt.Print(text)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(text), 0o644); err != nil {
			return len(found), err
		}
		say("report written to %s", filepath.Clean(o.out))
	}
	return len(found), nil
}

// startPayment authorizes (unless the scenario says Antom does not know the payment) and starts
// the capture, retrying while Temporal is down, as an order service's queue would; then it
// cancels the capture if the scenario says the order will not ship.
func startPayment(ctx context.Context, st *stack.Stack, t timing, p *payment) {
	now := time.Now()
	p.input = workflows.CaptureInput{PaymentID: p.id, Amount: p.amount, OrderID: "ORDER-" + p.id, Policy: t.policy()}
	p.input.Policy.OnDeadline = p.onDeadline
	if !p.unknown {
		if _, err := st.Authorize(ctx, alipaytest.Authorization{PaymentID: p.id, Amount: p.amount, AuthorizedAt: now,
			AuthExpiryTime: now.Add(t.window), Scenario: p.sim, PartialCaptures: p.shipments > 1}); err != nil {
			p.startErr = fmt.Errorf("authorize: %w", err)
			return
		}
		p.input.AuthExpiresAt = now.Add(t.window)
	}
	p.startedAt = now
	if p.shipments > 1 {
		p.input.PartialCaptures = true
		p.startErr = ship(ctx, st, p)
		return
	}
	p.startErr = retry(ctx, time.Minute, func(ctx context.Context) error {
		switch {
		case p.cancelIn > 0: // guarded from authorization; nothing ships
			_, err := st.Capture.Authorize(ctx, p.input)
			return err
		case p.twoCallers:
			errs := make(chan error, 1)
			go func() { _, err := st.Capture.Start(ctx, p.input); errs <- err }()
			_, err := st.Capture.Start(ctx, p.input)
			return errors.Join(err, <-errs)
		}
		_, err := st.Capture.Start(ctx, p.input)
		return err
	})
	if p.startErr != nil || p.cancelIn == 0 {
		return
	}
	time.Sleep(p.cancelIn)
	err := retry(ctx, time.Minute, func(ctx context.Context) error {
		_, err := st.Capture.Cancel(ctx, p.id, "order will not ship")
		var appErr interface{ Type() string }
		if errors.As(err, &appErr) || errors.Is(err, capture.ErrFinished) {
			return &permanent{err}
		}
		return err
	})
	if err != nil {
		// Not a contradiction by itself: the audit checks what the capture did against the ledger.
		say("cancel of %s did not go through: %v", p.id, err)
	}
}

// ship captures the authorization in p.shipments partial captures, each sent with
// Update-with-Start under its own key, the last marked last, retrying while Temporal is down;
// p.shipGap apart, and with the run cancelled in Temporal after the first if p.cancelRun.
func ship(ctx context.Context, st *stack.Stack, p *payment) error {
	total := minorUnits(p.amount)
	for i := range p.shipments {
		switch {
		case i == 0:
		case p.cancelRun && p.earlier == nil:
			if err := cancelRun(ctx, st, p); err != nil {
				return err
			}
		default:
			time.Sleep(p.shipGap)
		}
		part := total / int64(p.shipments)
		if i == p.shipments-1 {
			part = total - part*int64(p.shipments-1)
		}
		amt, err := alipay.AmountOf(p.amount.Currency, part)
		if err != nil {
			return err
		}
		req := workflows.CaptureRequest{Amount: amt, Key: fmt.Sprintf("SHIP-%d", i+1), IsLastCapture: i == p.shipments-1}
		if err := retry(ctx, time.Minute, func(ctx context.Context) error { _, err := st.Capture.Capture(ctx, p.input, req); return err }); err != nil {
			return fmt.Errorf("shipment %d: %w", i+1, err)
		}
	}
	return nil
}

// cancelRun cancels the payment's run in Temporal, as an operator might, waits for it to close
// and keeps its final status: the next shipment starts a new run of the same payment.
func cancelRun(ctx context.Context, st *stack.Stack, p *payment) error {
	wid := workflows.WorkflowID(p.id)
	if err := retry(ctx, time.Minute, func(ctx context.Context) error { return st.Temporal().CancelWorkflow(ctx, wid, "") }); err != nil {
		return fmt.Errorf("cancel in Temporal: %w", err)
	}
	return retry(ctx, 2*time.Minute, func(ctx context.Context) error {
		if _, err := st.Capture.Wait(ctx, p.id); !temporal.IsCanceledError(err) {
			return fmt.Errorf("the cancelled run: %w", err)
		}
		s, err := st.Capture.Status(ctx, p.id)
		if err != nil {
			return err
		}
		p.earlier = &s
		return nil
	})
}

// waitClosed polls visibility until no capture workflow runs, or until endBy.
func waitClosed(ctx context.Context, st *stack.Stack, endBy time.Time) error {
	for {
		l, err := st.Capture.List(ctx, capture.Filter{OpenOnly: true, Limit: 1})
		if err == nil && len(l) == 0 {
			return nil
		}
		if time.Now().After(endBy) {
			return fmt.Errorf("captures still running at the end of the run: %d or more", len(l))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// collect reads each capture's final status (or, for one still running, its current status).
func collect(ctx context.Context, st *stack.Stack, payments []*payment) {
	var g errgroup.Group
	g.SetLimit(16)
	for _, p := range payments {
		if p.startErr != nil {
			continue
		}
		g.Go(func() error {
			desc, err := st.Temporal().DescribeWorkflowExecution(ctx, workflows.WorkflowID(p.id), "")
			if err != nil {
				p.resultNote = err.Error()
				return nil
			}
			info := desc.GetWorkflowExecutionInfo()
			if info.GetCloseTime() == nil {
				p.status, err = st.Capture.Status(ctx, p.id)
				if err != nil {
					p.resultNote = err.Error()
				}
				return nil
			}
			p.closed, p.closedAt = true, info.GetCloseTime().AsTime()
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			res, err := st.Capture.Wait(wctx, p.id)
			var out *capture.Outcome
			switch {
			case err == nil:
				p.status = res
			case errors.As(err, &out):
				p.status = out.Status
			default:
				p.resultNote = err.Error()
				p.status.State = workflows.State("(" + err.Error() + ")")
			}
			return nil
		})
	}
	_ = g.Wait()
}

// reconciliations lists the ids of the reconciliation workflows the webhook recorded.
func reconciliations(ctx context.Context, st *stack.Stack) (map[string]bool, error) {
	out := map[string]bool{}
	l, err := st.Capture.List(ctx, capture.Filter{State: workflows.StateContradiction, Limit: 100000})
	if err != nil {
		return nil, err
	}
	for _, s := range l {
		out[s.WorkflowID] = true
	}
	return out, nil
}

// permanent wraps an error that retry must not retry.
type permanent struct{ err error }

func (p *permanent) Error() string { return p.err.Error() }

// retry calls f every second until it succeeds, returns a permanent error, or limit passes:
// while Temporal restarts, every call fails for a few seconds.
func retry(ctx context.Context, limit time.Duration, f func(context.Context) error) error {
	deadline := time.Now().Add(limit)
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := f(cctx)
		cancel()
		var perm *permanent
		switch {
		case err == nil:
			return nil
		case errors.As(err, &perm):
			return perm.err
		case time.Now().After(deadline) || ctx.Err() != nil:
			return err
		}
		time.Sleep(time.Second)
	}
}
