// Command localstack runs the whole system on one machine with embedded defaults: a Temporal dev
// server with its Web UI, the Antom simulator, the webhook receiver and the worker (the last three
// built from this repository and run as separate processes), then a demo that starts one capture
// for each path (S, F, U→notification, U→inquiry, expiry, unresolved, a split shipment, an
// authorization never shipped and voided at its cut-off, a shipment racing the authorization's
// start) so that each can be seen in the UI. It keeps running until Ctrl-C. Nothing talks to a real Antom host.
//
// With --codec, every payload is encrypted, and the Web UI decrypts them through the codec
// server the stack runs beside it.
//
// With --postgres, Temporal runs as users deploy it instead: temporal-server 1.29.1 on
// PostgreSQL with SQL visibility, and the Web UI server compose runs; no Docker needed.
//
//	go run ./localstack
//	go run ./localstack --codec
//	go run ./localstack --postgres [postgres://user[:password]@host:port/db]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/codec"
	"github.com/capturekit/alipay-capture/internal/stack"
	"github.com/capturekit/alipay-capture/internal/temporaltest"
	"github.com/capturekit/alipay-capture/workflows"
)

type options struct {
	dir                               string
	temporalPort, uiPort              int
	simAddr, webhookAddr, metricsAddr string
	once, codec                       bool
	postgres                          postgresFlag
}

// postgresFlag is --postgres: alone, the default PostgreSQL; with a URL (--postgres=URL, or the
// URL as the one argument after the flags), that one.
type postgresFlag struct {
	set bool
	url string
}

func (p *postgresFlag) String() string { return p.url }
func (p *postgresFlag) Set(v string) error {
	p.set = true
	if v != "true" {
		p.url = v
	}
	return nil
}
func (p *postgresFlag) IsBoolFlag() bool { return true }

func main() {
	var o options
	flag.StringVar(&o.dir, "dir", ".localstack", "working folder: binaries, keys, the Temporal database")
	flag.IntVar(&o.temporalPort, "temporal-port", 7233, "Temporal frontend port")
	flag.IntVar(&o.uiPort, "ui-port", 8233, "Temporal Web UI port")
	flag.StringVar(&o.simAddr, "simulator", "127.0.0.1:8090", "Antom simulator listen address")
	flag.StringVar(&o.webhookAddr, "webhook", "127.0.0.1:8080", "webhook receiver listen address")
	flag.StringVar(&o.metricsAddr, "worker-metrics", "127.0.0.1:9090", "worker /metrics listen address")
	flag.BoolVar(&o.codec, "codec", false, "encrypt every payload (CAPTURE_CODEC_KEYS, a key made once and kept in --dir/codec-keys) and run the codec server, through which the Web UI and the CLI of .localstack/env decrypt them")
	flag.BoolVar(&o.once, "once", false, "run the demo, print the outcomes and exit (non-zero if one is not as expected)")
	flag.Var(&o.postgres, "postgres", "run Temporal as deployed: temporal-server on PostgreSQL (URL default $"+temporaltest.EnvPostgres+", else "+temporaltest.DefaultPostgres+"); its data is kept in database "+postgresDB+" (with --once: fresh databases, dropped at exit)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, `Usage: go run ./localstack [flags]
       go run ./localstack --postgres [postgres://user[:password]@host:port/db] [flags]

Runs Temporal (Web UI on :8233), the Antom simulator, the webhook and the worker locally, then
starts one demo capture per path. Ctrl-C stops everything.

Temporal is the dev server (SQLite in --dir), or with --postgres temporal-server 1.29.1 on
PostgreSQL with SQL visibility and the Web UI server, as docker-compose.yml runs them, built
once into the user cache by scripts/temporal-server.

With --codec, every payload is encrypted (AES-256-GCM, a key kept in --dir/codec-keys) and the
codec server runs beside the UI, which shows the captures decrypted; Temporal stores ciphertext.

Flags:
`)
		flag.PrintDefaults()
	}
	flag.Parse()
	if o.postgres.set && o.postgres.url == "" && flag.NArg() > 0 && strings.HasPrefix(flag.Arg(0), "postgres") {
		o.postgres.url = flag.Arg(0)
		_ = flag.CommandLine.Parse(flag.Args()[1:]) // the flags after the URL
	}
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "localstack: unexpected argument %q (see --help)\n", flag.Arg(0))
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "localstack:", err)
		os.Exit(1)
	}
}

func say(format string, a ...any) { fmt.Printf("localstack: "+format+"\n", a...) }

// postgresDB is the database localstack --postgres keeps Temporal's data in (visibility in
// postgresDB_visibility), so that a second run finds the first one's captures.
const postgresDB = "alipay_capture_localstack"

func run(ctx context.Context, o options) error {
	so := stack.Options{
		Dir: o.dir, TemporalPort: o.temporalPort, UIPort: o.uiPort,
		SimAddr: o.simAddr, WebhookAddr: o.webhookAddr, MetricsAddr: o.metricsAddr,
		Progress: say,
	}
	if o.codec {
		keys, err := localCodecKeys(o.dir)
		if err != nil {
			return err
		}
		so.CodecKeys = keys
	}
	if o.postgres.set {
		so.Postgres = &temporaltest.ClusterOptions{Postgres: o.postgres.url, Database: postgresDB}
		if o.once {
			so.Postgres.Database = ""
		}
	}
	st, err := stack.Start(ctx, so)
	if err != nil {
		return err
	}
	defer st.Stop()
	envFile, err := writeShellEnv(o.dir, st.ShellEnv())
	if err != nil {
		return err
	}

	demos, err := startDemo(ctx, st)
	if err != nil {
		return err
	}
	say("demo captures started; watch them in the Web UI: %s/namespaces/default/workflows", st.UIURL)
	say("  search, for example: CaptureStatus=\"UNKNOWN\"   or   AlipayPaymentId=\"%s\"   or   AlipayMerchant=\"%s\"", demos[0].paymentID, stack.SecondMerchant)
	ok := reportDemo(ctx, st.Capture, demos, st.UIURL)
	if o.once {
		if !ok {
			return errors.New("a demo capture did not end as expected")
		}
		return nil
	}
	say("running: Temporal %s (HTTP API %s), UI %s, simulator %s, webhook %s/alipay/notify, worker metrics %s", st.HostPort, st.HTTPURL, st.UIURL, st.SimURL, st.WebhookURL, st.MetricsURL)
	if st.CodecURL != "" {
		say("payloads are encrypted (the key: %s): the Web UI and temporal decrypt them through the codec server %s", filepath.Join(o.dir, "codec-keys"), st.CodecURL)
		say("  the raw history, as Temporal stores it:  env -u TEMPORAL_CODEC_ENDPOINT temporal workflow show -w capture/<paymentId>")
	}
	say("in a second terminal: source %s   (starter and temporal on PATH, TEMPORAL_ADDRESS, the Antom simulator's keys)", envFile)
	say("  a payment at the simulator:  curl -s -X POST $SIM_URL/admin/payments -d '{\"paymentId\":\"MY-1\",\"amount\":{\"currency\":\"USD\",\"value\":\"1000\"}}'")
	say("  capture it:                  starter capture --payment-id MY-1 --amount 10.00 --currency USD --wait")
	say("  then:                        starter status --summary MY-1;  starter list;  starter reconcile --since 1h")
	say("Ctrl-C stops everything.")
	select {
	case <-ctx.Done():
	case err := <-st.Exited():
		return err
	}
	say("stopping...")
	return nil
}

// localCodecKeys returns the local stack's payload key, "local-1:<base64>", made the first time
// and kept in dir/codec-keys, so that a later run still reads the captures of an earlier one.
func localCodecKeys(dir string) (string, error) {
	path := filepath.Join(dir, "codec-keys")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	keys := codec.NewKey("local-1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return keys, os.WriteFile(path, []byte(keys+"\n"), 0o600)
}

// writeShellEnv writes env as a file of shell exports in dir ("env") and returns its path. PATH
// keeps its $PATH reference; every other value is quoted as it is.
func writeShellEnv(dir string, env []string) (string, error) {
	var b strings.Builder
	b.WriteString("# The local stack's environment for a second terminal: source it (go run ./localstack wrote it).\n")
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if k == "PATH" {
			fmt.Fprintf(&b, "export PATH=\"%s\"\n", v)
			continue
		}
		fmt.Fprintf(&b, "export %s='%s'\n", k, strings.ReplaceAll(v, "'", `'\''`))
	}
	path, err := filepath.Abs(filepath.Join(dir, "env"))
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, []byte(b.String()), 0o600)
}

// demo is one demo capture and the outcome it must reach.
type demo struct {
	name      string
	paymentID string
	want      workflows.State
}

func startDemo(ctx context.Context, st *stack.Stack) ([]demo, error) {
	// The authorization's lifecycle: guarded from authorization, then captured (or not).
	splitShipment := func(ctx context.Context, in workflows.CaptureInput) error {
		in.PartialCaptures = true
		if _, err := st.Capture.Authorize(ctx, in); err != nil {
			return err
		}
		units, _ := in.Amount.MinorUnits()
		first, _ := alipay.AmountOf(in.Amount.Currency, units*4/10)
		rest, _ := alipay.AmountOf(in.Amount.Currency, units-units*4/10)
		if _, err := st.Capture.Capture(ctx, in, workflows.CaptureRequest{Amount: first, Key: "SHIPMENT-1"}); err != nil {
			return err
		}
		_, err := st.Capture.Capture(ctx, in, workflows.CaptureRequest{Amount: rest, IsLastCapture: true, Key: "SHIPMENT-2"})
		return err
	}
	neverShipped := func(ctx context.Context, in workflows.CaptureInput) error {
		in.Policy.WarnBefore, in.Policy.OnDeadline = []time.Duration{20 * time.Second, 10 * time.Second}, workflows.OnDeadlineCancel
		_, err := st.Capture.Authorize(ctx, in)
		return err
	}
	race := func(ctx context.Context, in workflows.CaptureInput) error {
		errs := make(chan error, 2)
		go func() { _, err := st.Capture.Authorize(ctx, in); errs <- err }()
		go func() { _, err := st.Capture.Start(ctx, in); errs <- err }()
		return errors.Join(<-errs, <-errs)
	}
	paths := []struct {
		name    string
		sc      alipaytest.Scenario
		want    workflows.State
		policy  workflows.Policy
		expiry  time.Duration
		start   func(context.Context, workflows.CaptureInput) error
		partial bool
		second  bool // the second merchant account's payment (stack.SecondMerchant)
	}{
		{"S: captured at once", alipaytest.Scenario{}, workflows.StateCaptured, workflows.Policy{}, 0, nil, false, false},
		{"F: refused (RISK_REJECT)", alipaytest.Scenario{Result: "F", FailCode: "RISK_REJECT"}, workflows.StateFailed, workflows.Policy{}, 0, nil, false, false},
		{"U then notifyCapture", alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: alipaytest.Duration(10 * time.Minute)}, workflows.StateCaptured, workflows.Policy{}, 0, nil, false, false},
		{"U then inquiryPayment", alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: alipaytest.Duration(10 * time.Minute), NoNotify: true},
			workflows.StateCaptured, workflows.Policy{InquirySchedule: []time.Duration{5 * time.Second}}, 0, nil, false, false},
		{"U past the deadline, then F: expired", alipaytest.Scenario{Result: "U", ResolveTo: "F", ResolveAfter: alipaytest.Duration(time.Hour), NoNotify: true},
			workflows.StateExpired, workflows.Policy{InquirySchedule: []time.Duration{5 * time.Second}, DeadlineMargin: 5 * time.Second}, 30 * time.Second, nil, false, false},
		{"U past the deadline: unresolved", alipaytest.Scenario{Result: "U", NoNotify: true}, workflows.StateUnresolved,
			workflows.Policy{InquirySchedule: []time.Duration{5 * time.Second}, DeadlineMargin: 5 * time.Second, ResolveWithin: 15 * time.Second}, 30 * time.Second, nil, false, false},
		{"split shipment: 40 % then the rest", alipaytest.Scenario{}, workflows.StateCaptured, workflows.Policy{}, 0, splitShipment, true, false},
		{"authorized, never shipped: voided", alipaytest.Scenario{}, workflows.StateCancelled,
			workflows.Policy{DeadlineMargin: 5 * time.Second}, 30 * time.Second, neverShipped, false, false},
		{"shipment racing authorize: one capture", alipaytest.Scenario{}, workflows.StateCaptured, workflows.Policy{}, 0, race, false, false},
		{"second account (" + stack.SecondMerchant + "): S", alipaytest.Scenario{}, workflows.StateCaptured, workflows.Policy{}, 0, nil, false, true},
		{"second account: U then notifyCapture", alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: alipaytest.Duration(10 * time.Minute)},
			workflows.StateCaptured, workflows.Policy{}, 0, nil, false, true},
	}
	var out []demo
	for i, p := range paths {
		clientID, merchant := stack.ClientID, ""
		if p.second {
			clientID, merchant = stack.SecondClientID, stack.SecondMerchant
		}
		pay, err := st.Authorize(ctx, alipaytest.Authorization{
			ClientID:        clientID,
			PaymentID:       fmt.Sprintf("DEMO%s%d", time.Now().UTC().Format("20060102150405"), i+1),
			Amount:          alipay.MustParseDecimal("USD", fmt.Sprintf("%d.00", 10*(i+1))),
			Scenario:        p.sc,
			PartialCaptures: p.partial,
		})
		if err != nil {
			return nil, err
		}
		in := workflows.CaptureInput{PaymentID: pay.PaymentID, Merchant: merchant, Amount: pay.Amount, OrderID: fmt.Sprintf("DEMO-ORDER-%d", i+1), AuthorizedAt: time.Now(), Policy: p.policy}
		if p.expiry > 0 {
			in.AuthorizedAt, in.AuthExpiresAt = time.Time{}, time.Now().Add(p.expiry)
		}
		start := func(ctx context.Context, in workflows.CaptureInput) error {
			_, err := st.Capture.Start(ctx, in)
			return err
		}
		if p.start != nil {
			start = p.start
		}
		if err := start(ctx, in); err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		say("  started %-40s payment %s", p.name, pay.PaymentID)
		out = append(out, demo{name: p.name, paymentID: pay.PaymentID, want: p.want})
	}
	return out, nil
}

// reportDemo waits for each demo capture and prints how it ended; ok is false if one did not
// end as expected.
func reportDemo(ctx context.Context, cc capture.Client, demos []demo, ui string) bool {
	ok := true
	for _, d := range demos {
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		res, err := cc.Wait(wctx, d.paymentID)
		cancel()
		var outcome *capture.Outcome
		if err != nil && !errors.As(err, &outcome) {
			say("  %-40s did not finish: %v", d.name, err)
			ok = false
			continue
		}
		mark := "as expected"
		if res.State != d.want {
			mark, ok = "UNEXPECTED, wanted "+string(d.want), false
		}
		say("  %-40s %-9s resolved by %-12s (%s)  %s/namespaces/default/workflows/%s", d.name, res.State, res.ResolvedBy, mark,
			ui, url.PathEscape(workflows.WorkflowID(d.paymentID)))
	}
	return ok
}
