package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"golang.org/x/sync/errgroup"

	"github.com/capturekit/alipay-capture/activities"
	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/codec"
	"github.com/capturekit/alipay-capture/internal/stack"
	"github.com/capturekit/alipay-capture/workflows"
)

const (
	bareQueue    = "bench-bare"
	captureQueue = "bench-capture"
	codecQueue   = "bench-capture-codec" // the same, with every payload encrypted
)

var usd10 = alipay.Amount{Currency: "USD", Value: "1000"}

// BareWorkflow is Temporal's floor for one unit of work: one activity that does nothing.
func BareWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	return workflow.ExecuteActivity(ctx, BareActivity).Get(ctx, nil)
}

// BareActivity does nothing.
func BareActivity(context.Context) error { return nil }

type bench struct {
	st       *stack.Stack
	o        options
	tc       client.Client
	cc       capture.Client
	encCC    capture.Client // cc with CAPTURE_CODEC_KEYS, on its own worker (codecQueue)
	antomKey *rsa.PrivateKey
	workers  []worker.Worker
	pprofURL string // the receiver's /debug/pprof/ base
}

// workerOptions are the same for the bare and the capture workers: a fair comparison.
func workerOptions(o options) worker.Options {
	return worker.Options{
		MaxConcurrentWorkflowTaskPollers: o.pollers,
		MaxConcurrentActivityTaskPollers: o.pollers,
	}
}

func newBench(ctx context.Context, st *stack.Stack, o options) (*bench, error) {
	cfg, err := st.AntomConfig()
	if err != nil {
		return nil, err
	}
	antom, err := alipay.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	pemKey, err := st.AntomPrivateKeyPEM()
	if err != nil {
		return nil, err
	}
	key, err := alipay.ParsePrivateKey(string(pemKey))
	if err != nil {
		return nil, err
	}
	b := &bench{st: st, o: o, tc: st.Temporal(), antomKey: key}
	b.cc = capture.Client{Temporal: b.tc, TaskQueue: captureQueue}

	bare := worker.New(b.tc, bareQueue, workerOptions(o))
	bare.RegisterWorkflow(BareWorkflow)
	bare.RegisterActivityWithOptions(BareActivity, activity.RegisterOptions{Name: "BareActivity"})
	capt := worker.New(b.tc, captureQueue, workerOptions(o))
	workflows.Register(capt)
	capt.RegisterActivity(&activities.Activities{Antom: antom})
	keys, err := codec.ParseKeys(codec.NewKey("bench-1"))
	if err != nil {
		return nil, err
	}
	co := client.Options{Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))} // as quiet as the stack's client
	keys.Apply(&co)
	enc, err := client.NewClientFromExisting(b.tc, co)
	if err != nil {
		return nil, err
	}
	b.encCC = capture.Client{Temporal: enc, TaskQueue: codecQueue, DataConverter: co.DataConverter}
	encWorker := worker.New(enc, codecQueue, workerOptions(o))
	workflows.Register(encWorker)
	encWorker.RegisterActivity(&activities.Activities{Antom: antom})
	for _, w := range []worker.Worker{bare, capt, encWorker} {
		if err := w.Start(); err != nil {
			return nil, err
		}
		b.workers = append(b.workers, w)
	}
	return b, nil
}

func (b *bench) stopWorkers() {
	for _, w := range b.workers {
		w.Stop()
	}
	b.workers = nil
}

// authorize creates n authorizations with scenario sc and returns their payment ids.
func (b *bench) authorize(ctx context.Context, n int, sc alipaytest.Scenario) ([]string, error) {
	ids := make([]string, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.o.concurrency)
	for i := range ids {
		g.Go(func() error {
			p, err := b.st.Authorize(gctx, alipaytest.Authorization{Amount: usd10, Scenario: sc})
			ids[i] = p.PaymentID
			return err
		})
	}
	return ids, g.Wait()
}

type throughputResult struct {
	bare, capture float64
	encrypted     float64 // the capture's rate with CAPTURE_CODEC_KEYS; 0 if not measured
	// p50 and p99 of the time from a capture's start to its CAPTURED outcome, over the measured
	// halves.
	p50, p99 time.Duration
}

// throughput runs n bare workflows and then n S-path captures (and, withCodec, n more with every
// payload encrypted), each started and awaited with the same concurrency, and returns
// completions per second. A small warm-up of each comes first.
func (b *bench) throughput(ctx context.Context, withCodec bool) (throughputResult, error) {
	var r throughputResult
	runBare := func(n int) (float64, error) {
		start := time.Now()
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(b.o.concurrency)
		for i := 0; i < n; i++ {
			g.Go(func() error {
				run, err := b.tc.ExecuteWorkflow(gctx, client.StartWorkflowOptions{TaskQueue: bareQueue}, BareWorkflow)
				if err != nil {
					return err
				}
				return run.Get(gctx, nil)
			})
		}
		err := g.Wait()
		return float64(n) / time.Since(start).Seconds(), err
	}
	var latencies []time.Duration // the plain captures'
	runCapture := func(cc capture.Client, n int) (float64, []time.Duration, error) {
		ids, err := b.authorize(ctx, n, alipaytest.Scenario{NoNotify: true})
		if err != nil {
			return 0, nil, err
		}
		took := make([]time.Duration, n)
		start := time.Now()
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(b.o.concurrency)
		for i, id := range ids {
			g.Go(func() error {
				began := time.Now()
				if _, err := cc.Start(gctx, workflows.CaptureInput{PaymentID: id, Amount: usd10, AuthorizedAt: time.Now()}); err != nil {
					return err
				}
				res, err := cc.Wait(gctx, id)
				if err == nil && res.State != workflows.StateCaptured {
					err = fmt.Errorf("capture %s ended %s", id, res.State)
				}
				took[i] = time.Since(began)
				return err
			})
		}
		err = g.Wait()
		return float64(n) / time.Since(start).Seconds(), took, err
	}
	warm := min(100, b.o.n)
	if _, err := runBare(warm); err != nil {
		return r, err
	}
	if _, _, err := runCapture(b.cc, warm); err != nil {
		return r, err
	}
	if withCodec {
		if _, _, err := runCapture(b.encCC, warm); err != nil {
			return r, err
		}
	}
	// Alternate halves, bare first then capture (then encrypted), twice, so that none gets the
	// quieter moment.
	var bareTime, captureTime, encTime float64
	half := b.o.n / 2
	for round := 0; round < 2; round++ {
		rate, err := runBare(half)
		if err != nil {
			return r, err
		}
		bareTime += float64(half) / rate
		rate, took, err := runCapture(b.cc, half)
		if err != nil {
			return r, err
		}
		captureTime += float64(half) / rate
		latencies = append(latencies, took...)
		if withCodec {
			if rate, _, err = runCapture(b.encCC, half); err != nil {
				return r, err
			}
			encTime += float64(half) / rate
		}
	}
	r.bare, r.capture = float64(2*half)/bareTime, float64(2*half)/captureTime
	if withCodec {
		r.encrypted = float64(2*half) / encTime
	}
	r.p50, r.p99 = percentile(latencies, 50), percentile(latencies, 99)
	return r, nil
}

type pathResult struct {
	name       string
	events     int64
	captures   int
	inquiries  int
	state      workflows.State
	resolvedBy string
	actions    cloudActions
}

// paths runs each capture path once and reads its history length and Antom's call counts.
func (b *bench) paths(ctx context.Context, week bool) ([]pathResult, error) {
	scaled := func(d time.Duration) time.Duration { return d / 10000 }
	var weekSchedule []time.Duration
	for _, d := range workflows.DefaultPolicy().InquirySchedule {
		weekSchedule = append(weekSchedule, scaled(d))
	}
	type path struct {
		name string
		sc   alipaytest.Scenario
		in   func(id string) workflows.CaptureInput
	}
	simple := func(id string) workflows.CaptureInput {
		return workflows.CaptureInput{PaymentID: id, Amount: usd10, AuthorizedAt: time.Now()}
	}
	paths := []path{
		{"S", alipaytest.Scenario{NoNotify: true}, simple},
		{"S, with Antom's notification racing the result", alipaytest.Scenario{}, simple},
		{"U→notification", alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: alipaytest.Duration(10 * time.Minute)}, simple}, // 0.6 s
		{"U→inquiry", alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: alipaytest.Duration(10 * time.Minute), NoNotify: true}, func(id string) workflows.CaptureInput {
			in := simple(id)
			in.Policy.InquirySchedule = []time.Duration{time.Second}
			return in
		}},
	}
	if week {
		// Antom keeps the capture in process all week and fails it an hour before the deadline
		// (the simulator runs at 1/1,000 speed, the workflow at 1/10,000): EXPIRED at the deadline.
		lateFail := alipaytest.Scenario{Result: "U", ResolveTo: "F", NoNotify: true,
			ResolveAfter: alipaytest.Duration(scaled(workflows.AuthorizationWindow-time.Hour) * 1000)}
		paths = append(paths, path{"7-day U (default schedule at 1/10,000 speed)", lateFail, func(id string) workflows.CaptureInput {
			return workflows.CaptureInput{PaymentID: id, Amount: usd10, AuthExpiresAt: time.Now().Add(scaled(workflows.AuthorizationWindow)),
				Policy: workflows.Policy{InquirySchedule: weekSchedule, DeadlineMargin: scaled(workflows.DefaultPolicy().DeadlineMargin),
					ResolveWithin: scaled(workflows.DefaultPolicy().ResolveWithin)}}
		}})
	}
	var out []pathResult
	for _, p := range paths {
		ids, err := b.authorize(ctx, 1, p.sc)
		if err != nil {
			return nil, err
		}
		in := p.in(ids[0])
		if _, err := b.cc.Start(ctx, in); err != nil {
			return nil, err
		}
		res, err := b.cc.Wait(ctx, ids[0])
		var outcome *capture.Outcome
		if err != nil && !errors.As(err, &outcome) {
			return nil, err
		}
		time.Sleep(time.Second) // let a racing notification land, as it would in production
		d, err := b.tc.DescribeWorkflowExecution(ctx, workflows.WorkflowID(ids[0]), "")
		if err != nil {
			return nil, err
		}
		ledger, err := b.st.Payment(ctx, ids[0])
		if err != nil {
			return nil, err
		}
		actions, err := countActions(ctx, b.tc, workflows.WorkflowID(ids[0]))
		if err != nil {
			return nil, err
		}
		r := pathResult{name: p.name, events: d.GetWorkflowExecutionInfo().GetHistoryLength(), captures: ledger.CaptureCalls,
			inquiries: ledger.InquiryCalls, state: res.State, resolvedBy: res.ResolvedBy, actions: actions}
		say("    %-48s %3d events, %d capture + %d inquiry calls, %s by %s; Cloud actions %v", r.name, r.events, r.captures, r.inquiries, r.state, r.resolvedBy, r.actions)
		out = append(out, r)
	}
	return out, nil
}

type webhookResult struct {
	webhookRate, rawRate float64
	p50, p99             time.Duration
	rawP50, rawP99       time.Duration
	inP50, inP99         time.Duration // inside the receiver, from its histogram: bucket upper bounds
	profile              string        // the receiver's CPU profile over the sending, top functions
}

// park starts n captures that Antom leaves in process without notifying, and waits until all
// are UNKNOWN.
func (b *bench) park(ctx context.Context, cc capture.Client, n int) ([]string, error) {
	ids, err := b.authorize(ctx, n, alipaytest.Scenario{Result: "U", NoNotify: true})
	if err != nil {
		return nil, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.o.concurrency)
	for _, id := range ids {
		g.Go(func() error {
			_, err := cc.Start(gctx, workflows.CaptureInput{PaymentID: id, Amount: usd10, AuthorizedAt: time.Now(),
				Policy: workflows.Policy{InquirySchedule: []time.Duration{24 * time.Hour}}})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	err = b.waitCount(ctx, fmt.Sprintf("%s = 'UNKNOWN' AND ExecutionStatus = 'Running'", workflows.SearchAttrStatus), n, 10*time.Minute)
	return ids, err
}

// waitCount polls the visibility store until query counts at least want workflows.
func (b *bench) waitCount(ctx context.Context, query string, want int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	last := time.Now()
	for {
		resp, err := b.tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		if err == nil && resp.GetCount() >= int64(want) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v only %d of %d match %q (%v)", limit, resp.GetCount(), want, query, err)
		}
		if time.Since(last) > 15*time.Second {
			say("    ... %d of %d", resp.GetCount(), want)
			last = time.Now()
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// notification returns a signed notifyCapture for the payment, as Antom would send it.
func (b *bench) notification(paymentID string) (body []byte, header http.Header, err error) {
	n := alipay.CaptureNotification{NotifyType: alipay.NotifyTypeCaptureResult, CaptureRequestID: workflows.CaptureRequestID(paymentID, workflows.StartKey),
		PaymentID: paymentID, CaptureID: "BENCH-" + paymentID, CaptureAmount: usd10,
		Result: alipay.Result{ResultCode: alipay.CodeSuccess, ResultStatus: alipay.StatusSuccess, ResultMessage: "success"}}
	body, _ = json.Marshal(n)
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	sig, err := alipay.Sign(b.antomKey, alipay.Message{Method: http.MethodPost, Path: "/alipay/notify", ClientID: stack.ClientID, Time: ts, Body: body})
	header = http.Header{}
	header.Set("Content-Type", "application/json; charset=UTF-8")
	header.Set("Client-Id", stack.ClientID)
	header.Set("Request-Time", ts)
	header.Set("Signature", "algorithm=RSA256,keyVersion=1,signature="+sig)
	return body, header, err
}

// notifyAll posts a signed notification for each payment to the webhook, n at once, and
// returns the wall time and each acknowledgement's latency.
func (b *bench) notifyAll(ctx context.Context, ids []string) (time.Duration, []time.Duration, error) {
	type signed struct {
		body []byte
		h    http.Header
	}
	reqs := make([]signed, len(ids))
	for i, id := range ids { // signed beforehand: the benchmark measures the receiver, not Antom
		body, h, err := b.notification(id)
		if err != nil {
			return 0, nil, err
		}
		reqs[i] = signed{body, h}
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: b.o.notifyConc}, Timeout: 30 * time.Second}
	lat := make([]time.Duration, len(ids))
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.o.notifyConc)
	for i := range reqs {
		g.Go(func() error {
			req, _ := http.NewRequestWithContext(gctx, http.MethodPost, b.st.WebhookURL+"/alipay/notify", bytes.NewReader(reqs[i].body))
			req.Header = reqs[i].h
			t := time.Now()
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(resp.Body)
			resp.Body.Close()
			lat[i] = time.Since(t)
			if !alipay.IsAck(resp.StatusCode, buf.Bytes()) {
				return fmt.Errorf("notification for %s: HTTP %d %s", ids[i], resp.StatusCode, strings.TrimSpace(buf.String()))
			}
			return nil
		})
	}
	err := g.Wait()
	return time.Since(start), lat, err
}

// signalAll sends each payment's notification with a raw SignalWorkflow call.
func (b *bench) signalAll(ctx context.Context, ids []string) (time.Duration, []time.Duration, error) {
	lat := make([]time.Duration, len(ids))
	notes := make([]alipay.CaptureNotification, len(ids))
	for i, id := range ids {
		body, _, err := b.notification(id)
		if err != nil {
			return 0, nil, err
		}
		_ = json.Unmarshal(body, &notes[i])
	}
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.o.notifyConc)
	for i, id := range ids {
		g.Go(func() error {
			t := time.Now()
			err := b.tc.SignalWorkflow(gctx, workflows.WorkflowID(id), "", workflows.SignalNotifyCapture, &notes[i])
			lat[i] = time.Since(t)
			return err
		})
	}
	err := g.Wait()
	return time.Since(start), lat, err
}

// webhook compares the receiver (verify, signal, acknowledge) with raw SignalWorkflow calls of
// the same notifications, each on its own set of parked captures.
func (b *bench) webhook(ctx context.Context) (webhookResult, error) {
	var r webhookResult
	n := b.o.signals
	before, err := b.count(ctx, "CaptureStatus = 'CAPTURED'")
	if err != nil {
		return r, err
	}
	ids, err := b.park(ctx, b.cc, 2*n)
	if err != nil {
		return r, err
	}
	// Alternate halves, raw first then webhook, twice, so that neither side gets the quieter
	// moment of the run.
	var rawWall, hookWall time.Duration
	var rawLat, lat []time.Duration
	profDone := make(chan string, 1)
	go func() { profDone <- b.profileWebhook(ctx, 15) }()
	time.Sleep(200 * time.Millisecond) // the profile has started
	half := n / 2
	for round := 0; round < 2; round++ {
		base := round * 2 * half
		rawIDs, hookIDs := ids[base:base+half], ids[base+half:base+2*half]
		w, l, err := b.signalAll(ctx, rawIDs)
		if err != nil {
			return r, err
		}
		rawWall, rawLat = rawWall+w, append(rawLat, l...)
		if w, l, err = b.notifyAll(ctx, hookIDs); err != nil {
			return r, err
		}
		hookWall, lat = hookWall+w, append(lat, l...)
	}
	n = 2 * half
	r.rawRate = float64(n) / rawWall.Seconds()
	r.webhookRate = float64(n) / hookWall.Seconds()
	r.p50, r.p99 = percentile(lat, 50), percentile(lat, 99)
	r.rawP50, r.rawP99 = percentile(rawLat, 50), percentile(rawLat, 99)
	r.profile = <-profDone
	if r.inP50, r.inP99, err = b.ackHistogram(ctx); err != nil {
		return r, err
	}
	err = b.waitCount(ctx, "CaptureStatus = 'CAPTURED'", int(before)+2*n, 10*time.Minute)
	return r, err
}

type parkedResult struct {
	cached            string // the worker's sticky cache occupancy with all parked
	n                 int
	parkTime          time.Duration
	peakRSS, afterRSS int64
	finish            time.Duration
	finished          int
	census            censusResult
}

// censusResult compares the census as each worker took it (one visibility listing of every
// running capture per worker per interval) with the census workflow's (one for the deployment).
type censusResult struct {
	running       int
	listP50       time.Duration // one listing of every running capture
	listCalls     int           // ListWorkflow pages it took
	scheduled     time.Duration // from a read to the census workflow's next census being readable
	readP50       time.Duration // a worker's read of the latest census
	scheduledSeen int           // running captures the census workflow counted
}

// measureCensus measures both ways of taking the census with the parked captures running.
func (b *bench) measureCensus(ctx context.Context, cc capture.Client) (censusResult, error) {
	var r censusResult
	var lists []time.Duration
	for range 3 {
		start := time.Now()
		cs, err := cc.Census(ctx, time.Now(), 24*time.Hour)
		if err != nil {
			return r, err
		}
		lists = append(lists, time.Since(start))
		r.running, r.listCalls = cs.Running, cs.ListCalls
	}
	r.listP50 = percentile(lists, 50)
	triggered := time.Now() // the census workflow (the worker starts it) takes the next one within its interval
	for {
		cs, err := cc.LatestCensus(ctx)
		if err == nil && cs.At.After(triggered) {
			r.scheduled, r.scheduledSeen = time.Since(triggered), cs.Running
			break
		}
		if time.Since(triggered) > 2*time.Minute {
			return r, fmt.Errorf("no census within 2 minutes: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var reads []time.Duration
	for range 9 {
		start := time.Now()
		if _, err := cc.LatestCensus(ctx); err != nil {
			return r, err
		}
		reads = append(reads, time.Since(start))
	}
	r.readP50 = percentile(reads, 50)
	return r, nil
}

// parked runs the worker process alone, parks n captures in UNKNOWN on it, reads its memory,
// then sends all their notifications and times until every capture completed.
func (b *bench) parked(ctx context.Context) (parkedResult, error) {
	r := parkedResult{n: b.o.parked}
	var env []string
	if b.o.stickyCache > 0 {
		env = append(env, fmt.Sprintf("WORKER_STICKY_CACHE_SIZE=%d", b.o.stickyCache))
	}
	b.st.StartWorker(env...)
	time.Sleep(2 * time.Second) // the worker dials Temporal and checks the namespace
	pid := b.st.WorkerPID()
	if pid == 0 {
		return r, errors.New("the worker process did not start")
	}
	cc := capture.Client{Temporal: b.tc} // the worker process's default task queue
	before, err := b.count(ctx, "CaptureStatus = 'CAPTURED'")
	if err != nil {
		return r, err
	}
	start := time.Now()
	ids, err := b.park(ctx, cc, r.n)
	if err != nil {
		return r, err
	}
	r.parkTime = time.Since(start)
	r.peakRSS, r.afterRSS = rss(pid)
	r.cached = b.workerGauge(ctx, "temporal_sticky_cache_size")
	say("    parked %d in %v; worker RSS now %d MiB, peak %d MiB; %s workflows in its sticky cache", r.n, r.parkTime.Round(time.Second), r.afterRSS>>20, r.peakRSS>>20, r.cached)
	if r.census, err = b.measureCensus(ctx, cc); err != nil {
		return r, fmt.Errorf("census: %w", err)
	}
	say("    census of %d running: one listing %v in %d calls; scheduled census readable %v after its trigger, read in %v",
		r.census.running, r.census.listP50.Round(time.Millisecond), r.census.listCalls, r.census.scheduled.Round(time.Millisecond), r.census.readP50.Round(time.Millisecond))

	start = time.Now()
	if _, _, err := b.notifyAll(ctx, ids); err != nil {
		return r, err
	}
	if err := b.waitCount(ctx, "CaptureStatus = 'CAPTURED'", int(before)+r.n, 15*time.Minute); err != nil {
		return r, err
	}
	r.finish = time.Since(start)
	peak, _ := rss(pid)
	r.peakRSS = max(r.peakRSS, peak)
	got, err := b.count(ctx, "CaptureStatus = 'CAPTURED' AND ExecutionStatus = 'Completed'")
	r.finished = int(got - before)
	return r, err
}

func (b *bench) count(ctx context.Context, q string) (int64, error) {
	resp, err := b.tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
	return resp.GetCount(), err
}

// rss returns a process's peak and current resident set size in bytes (Linux).
func rss(pid int) (peak, now int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmHWM:":
			peak = kb << 10
		case "VmRSS:":
			now = kb << 10
		}
	}
	return peak, now
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}

// ackHistogram reads the webhook's own acknowledgement-latency histogram (receipt to
// acknowledgement, inside the receiver) and returns the bucket bounds holding p50 and p99.
func (b *bench) ackHistogram(ctx context.Context) (p50, p99 time.Duration, err error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.st.WebhookURL+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	f := families["alipay_capture_notification_ack_seconds"]
	if f == nil || len(f.GetMetric()) == 0 {
		return 0, 0, errors.New("webhook has no alipay_capture_notification_ack_seconds")
	}
	h := f.GetMetric()[0].GetHistogram()
	total := float64(h.GetSampleCount())
	bound := func(q float64) time.Duration {
		for _, bk := range h.GetBucket() {
			if float64(bk.GetCumulativeCount()) >= q*total {
				return time.Duration(bk.GetUpperBound() * float64(time.Second))
			}
		}
		return 0
	}
	return bound(0.5), bound(0.99), nil
}

// profileWebhook records the receiver's CPU profile for seconds and returns pprof's top
// functions, with the total CPU time sampled.
func (b *bench) profileWebhook(ctx context.Context, seconds int) string {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", b.pprofURL, seconds), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "profile failed: " + err.Error()
	}
	defer resp.Body.Close()
	f, err := os.CreateTemp("", "webhook-*.pprof")
	if err != nil {
		return err.Error()
	}
	defer os.Remove(f.Name())
	if _, err := f.ReadFrom(resp.Body); err != nil {
		return err.Error()
	}
	f.Close()
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=12", b.st.Binary("webhook"), f.Name()).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("pprof: %v: %s", err, out)
	}
	var keep []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(line, "File:") || strings.HasPrefix(line, "Build ID:") || strings.HasPrefix(line, "Type:") || strings.HasPrefix(line, "Time:") {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

// workerGauge returns the value of a gauge on the worker's /metrics, as text.
func (b *bench) workerGauge(ctx context.Context, name string) string {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.st.MetricsURL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil || families[name] == nil || len(families[name].GetMetric()) == 0 {
		return "?"
	}
	return strconv.FormatFloat(families[name].GetMetric()[0].GetGauge().GetValue(), 'f', -1, 64)
}
