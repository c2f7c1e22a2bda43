// Command localstack runs the whole system on one machine with embedded defaults: a Temporal dev
// server with its Web UI, the Antom simulator, the webhook receiver and the worker (the last three
// built from this repository and run as separate processes), then a demo that starts one capture
// for each path (S, F, U→notification, U→inquiry, expiry) so that each can be seen in the UI. It
// keeps running until Ctrl-C. Nothing talks to a real Antom host.
//
//	go run ./localstack
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/internal/temporaltest"
	"github.com/capturekit/alipay-capture/workflows"
)

type options struct {
	dir                               string
	temporalPort, uiPort              int
	simAddr, webhookAddr, metricsAddr string
	once                              bool
}

func main() {
	var o options
	flag.StringVar(&o.dir, "dir", ".localstack", "working folder: binaries, keys, the Temporal database")
	flag.IntVar(&o.temporalPort, "temporal-port", 7233, "Temporal frontend port")
	flag.IntVar(&o.uiPort, "ui-port", 8233, "Temporal Web UI port")
	flag.StringVar(&o.simAddr, "simulator", "127.0.0.1:8090", "Antom simulator listen address")
	flag.StringVar(&o.webhookAddr, "webhook", "127.0.0.1:8080", "webhook receiver listen address")
	flag.StringVar(&o.metricsAddr, "worker-metrics", "127.0.0.1:9090", "worker /metrics listen address")
	flag.BoolVar(&o.once, "once", false, "run the demo, print the outcomes and exit (non-zero if one is not as expected)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: go run ./localstack [flags]\n\nRuns Temporal (Web UI on :8233), the Antom simulator, the webhook and the worker locally, then\nstarts one demo capture per path. Ctrl-C stops everything.\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "localstack:", err)
		os.Exit(1)
	}
}

func say(format string, a ...any) { fmt.Printf("localstack: "+format+"\n", a...) }

func run(ctx context.Context, o options) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}
	for _, a := range []string{fmt.Sprintf("127.0.0.1:%d", o.temporalPort), fmt.Sprintf("127.0.0.1:%d", o.uiPort), o.simAddr, o.webhookAddr, o.metricsAddr} {
		if err := portFree(a); err != nil {
			return err
		}
	}
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}

	say("building the Temporal CLI if needed (the first time takes about 7 minutes)...")
	cli := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "temporal-cli"))
	cli.Stderr = os.Stderr
	out, err := cli.Output()
	if err != nil {
		return fmt.Errorf("building the Temporal CLI: %w", err)
	}
	temporalPath := strings.TrimSpace(string(out))

	say("building worker, webhook and simulator...")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin+"/", "./worker", "./webhook", "./simulator")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build: %w", err)
	}

	hostPort := fmt.Sprintf("127.0.0.1:%d", o.temporalPort)
	say("starting Temporal on %s, Web UI on http://localhost:%d ...", hostPort, o.uiPort)
	quiet := log.NewStructuredLogger(slog.New(slog.DiscardHandler))
	dev, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:     temporalPath,
		DBFilename:       filepath.Join(dir, "temporal.db"),
		EnableUI:         true,
		UIPort:           fmt.Sprint(o.uiPort),
		LogLevel:         "error",
		SearchAttributes: temporaltest.SearchAttributes(),
		ClientOptions:    &client.Options{HostPort: hostPort, Logger: quiet},
		Stdout:           io.Discard,
		Stderr:           io.Discard,
	})
	if err != nil {
		return fmt.Errorf("starting the Temporal dev server: %w", err)
	}
	defer dev.Stop()

	keys := filepath.Join(dir, "keys")
	simURL, hookURL := "http://"+o.simAddr, "http://"+o.webhookAddr
	procs := &group{}
	defer procs.stop()
	procs.start(ctx, filepath.Join(bin, "simulator"), "simulator", "SIM_LISTEN="+o.simAddr, "SIM_CLIENT_ID=LOCAL_MERCHANT",
		"SIM_KEY_DIR="+keys, "SIM_NOTIFY_URL="+hookURL+"/alipay/notify", "SIM_TIME_SCALE=0.01")
	if err := waitHealthy(ctx, simURL+"/healthz"); err != nil {
		return err
	}
	common := []string{"TEMPORAL_ADDRESS=" + hostPort, "ALIPAY_CLIENT_ID=LOCAL_MERCHANT",
		"ALIPAY_PUBLIC_KEY_FILE=" + filepath.Join(keys, "antom_public_key.pem")}
	procs.start(ctx, filepath.Join(bin, "webhook"), "webhook", append(common, "WEBHOOK_LISTEN="+o.webhookAddr)...)
	procs.start(ctx, filepath.Join(bin, "worker"), "worker", append(common, "ALIPAY_BASE_URL="+simURL,
		"ALIPAY_PRIVATE_KEY_FILE="+filepath.Join(keys, "merchant_private_key.pem"), "WORKER_METRICS_LISTEN="+o.metricsAddr)...)
	if err := waitHealthy(ctx, hookURL+"/healthz"); err != nil {
		return err
	}

	cc := capture.Client{Temporal: dev.Client()}
	demos, err := startDemo(ctx, cc, simURL)
	if err != nil {
		return err
	}
	ui := fmt.Sprintf("http://localhost:%d", o.uiPort)
	say("demo captures started; watch them in the Web UI: %s/namespaces/default/workflows", ui)
	say("  search, for example: CaptureStatus=\"UNKNOWN\"   or   AlipayPaymentId=\"%s\"", demos[0].paymentID)
	ok := reportDemo(ctx, cc, demos, ui)
	if o.once {
		if !ok {
			return errors.New("a demo capture did not end as expected")
		}
		return nil
	}
	say("running: Temporal %s, UI %s, simulator %s, webhook %s/alipay/notify, worker metrics http://%s/metrics", hostPort, ui, simURL, hookURL, o.metricsAddr)
	say("start your own: go run ./starter capture --payment-id <id from POST %s/admin/payments> --amount 10.00 --currency USD --wait", simURL)
	say("Ctrl-C stops everything.")
	select {
	case <-ctx.Done():
	case err := <-procs.exited:
		return err
	}
	say("stopping...")
	return nil
}

// demo is one demo capture and the outcome it must reach.
type demo struct {
	name      string
	paymentID string
	want      workflows.State
}

func startDemo(ctx context.Context, cc capture.Client, simURL string) ([]demo, error) {
	paths := []struct {
		name   string
		sc     alipaytest.Scenario
		want   workflows.State
		policy workflows.Policy
		expiry time.Duration
	}{
		{"S: captured at once", alipaytest.Scenario{}, workflows.StateCaptured, workflows.Policy{}, 0},
		{"F: refused (RISK_REJECT)", alipaytest.Scenario{Result: "F", FailCode: "RISK_REJECT"}, workflows.StateFailed, workflows.Policy{}, 0},
		{"U then notifyCapture", alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: alipaytest.Duration(10 * time.Minute)}, workflows.StateCaptured, workflows.Policy{}, 0},
		{"U then inquiryPayment", alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: alipaytest.Duration(10 * time.Minute), NoNotify: true},
			workflows.StateCaptured, workflows.Policy{InquirySchedule: []time.Duration{5 * time.Second}}, 0},
		{"U until the deadline: expired", alipaytest.Scenario{Result: "U", NoNotify: true}, workflows.StateExpired,
			workflows.Policy{InquirySchedule: []time.Duration{5 * time.Second}, DeadlineMargin: 5 * time.Second}, 30 * time.Second},
	}
	var out []demo
	for i, p := range paths {
		body, _ := json.Marshal(alipaytest.Authorization{
			PaymentID: fmt.Sprintf("DEMO%s%d", time.Now().UTC().Format("20060102150405"), i+1),
			Amount:    alipay.MustParseDecimal("USD", fmt.Sprintf("%d.00", 10*(i+1))),
			Scenario:  p.sc,
		})
		resp, err := http.Post(simURL+"/admin/payments", "application/json", bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("simulator: %w", err)
		}
		var pay alipaytest.Payment
		err = json.NewDecoder(resp.Body).Decode(&pay)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusCreated {
			return nil, fmt.Errorf("simulator: create authorization: HTTP %d %v", resp.StatusCode, err)
		}
		in := workflows.CaptureInput{PaymentID: pay.PaymentID, Amount: pay.Amount, OrderID: fmt.Sprintf("DEMO-ORDER-%d", i+1), AuthorizedAt: time.Now(), Policy: p.policy}
		if p.expiry > 0 {
			in.AuthorizedAt, in.AuthExpiresAt = time.Time{}, time.Now().Add(p.expiry)
		}
		if _, err := cc.Start(ctx, in); err != nil {
			return nil, err
		}
		say("  started %-32s payment %s", p.name, pay.PaymentID)
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
			say("  %-32s did not finish: %v", d.name, err)
			ok = false
			continue
		}
		mark := "as expected"
		if res.State != d.want {
			mark, ok = "UNEXPECTED, wanted "+string(d.want), false
		}
		say("  %-32s %-9s resolved by %-12s (%s)  %s/namespaces/default/workflows/%s", d.name, res.State, res.ResolvedBy, mark,
			ui, url.PathEscape(workflows.WorkflowID(d.paymentID)))
	}
	return ok
}

// group runs child processes, prefixing their output, and stops them together.
type group struct {
	procs  []*child
	exited chan error // a child that exited by itself
}

type child struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func (g *group) start(ctx context.Context, path, name string, env ...string) {
	if g.exited == nil {
		g.exited = make(chan error, 8)
	}
	c := &child{cmd: exec.Command(path), done: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), env...)
	w := &prefixWriter{prefix: "[" + name + "] ", w: os.Stderr}
	c.cmd.Stdout, c.cmd.Stderr = w, w
	if err := c.cmd.Start(); err != nil {
		g.exited <- fmt.Errorf("start %s: %w", name, err)
		return
	}
	g.procs = append(g.procs, c)
	go func() {
		err := c.cmd.Wait()
		close(c.done)
		if ctx.Err() == nil {
			g.exited <- fmt.Errorf("%s exited: %v", name, err)
		}
	}()
}

// stop sends SIGTERM to every child, gives them 15 s to finish, then kills the rest.
func (g *group) stop() {
	for _, c := range g.procs {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
	timeout := time.After(15 * time.Second)
	for _, c := range g.procs {
		select {
		case <-c.done:
		case <-timeout:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	}
}

type prefixWriter struct {
	prefix string
	w      io.Writer
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		_, _ = fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i])
		p.buf = p.buf[i+1:]
	}
}

func waitHealthy(ctx context.Context, u string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s did not become healthy: %v", u, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func portFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s is in use (another localstack, or a Temporal server?): stop it or pick other ports with the flags (--help): %w", addr, err)
	}
	return l.Close()
}

// repoRoot finds the module root, so that the command works from any folder of the checkout.
func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run localstack from inside the alipay-capture checkout")
	}
	return filepath.Dir(mod), nil
}
