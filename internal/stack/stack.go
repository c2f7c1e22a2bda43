// Package stack runs the whole system on one machine: a Temporal dev server, and the simulator,
// webhook and worker built from this repository and run as child processes. The localstack
// command and the benchmark command use it.
package stack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/codec"
	"github.com/capturekit/alipay-capture/internal/temporaltest"
)

// The stack runs two Antom merchant accounts side by side, as a merchant group does: the
// default account, configured by the single-account variables (ALIPAY_CLIENT_ID, …), and a
// second one, configured by a merchant registry (ALIPAY_MERCHANTS_FILE), with its own keys.
const (
	// ClientID is the Client-Id of the default merchant account.
	ClientID = "LOCAL_MERCHANT"
	// SecondMerchant names the second merchant account in the registry.
	SecondMerchant = "europe"
	// SecondClientID is the second account's Client-Id.
	SecondClientID = "LOCAL_MERCHANT_EU"
)

// Options configures a Stack. Empty addresses take free loopback ports.
type Options struct {
	Dir          string // working folder: binaries, keys, the Temporal database
	TemporalPort int    // 0: a free port
	UIPort       int    // 0: no Web UI
	InMemory     bool   // keep Temporal's database in memory instead of Dir
	// Postgres, if set, runs Temporal as users deploy it, a temporal-server node on PostgreSQL
	// (temporaltest.Cluster), instead of the dev server; its Dir and Port are the stack's. Its
	// Web UI is temporal-ui-server, as in docker-compose.yml.
	Postgres    *temporaltest.ClusterOptions
	SimAddr     string  // simulator listen address
	WebhookAddr string  // webhook listen address
	MetricsAddr string  // worker /metrics listen address
	TimeScale   float64 // the simulator's SIM_TIME_SCALE; default 0.01
	NoWorker    bool    // do not start the worker process (StartWorker starts it later)
	WorkerEnv   []string
	WebhookEnv  []string
	SimEnv      []string // extra simulator environment, e.g. SIM_NOTIFY_DROP_RATE
	// CodecKeys (or the file CodecKeysFile names), if set, encrypts every payload
	// (CAPTURE_CODEC_KEYS and CAPTURE_CODEC_KEYS_FILE of package codec): the processes and the
	// stack's own client use them. With a Web UI, the stack also runs the codec server and
	// points the UI at it, so that the UI shows payloads decrypted.
	CodecKeys, CodecKeysFile string
	Output                   io.Writer // children's output, prefixed with their names; default os.Stderr
	// LogFile, if set, receives the children's output directly (no prefixes, no copying through
	// this process), for benchmarks: a child never waits on this process to write a log line.
	LogFile  *os.File
	Progress func(format string, a ...any)
}

// Stack is the running system.
type Stack struct {
	HostPort   string // Temporal frontend
	UIURL      string // empty without UI
	SimURL     string
	WebhookURL string // base URL; notifications go to WebhookURL + "/alipay/notify"
	MetricsURL string // the worker's /metrics
	HTTPURL    string // Temporal's HTTP API (dev server only)
	KeyDir     string
	CLI        string // the Temporal CLI the stack built (scripts/temporal-cli)
	// CodecURL is the codec server's base URL (with CodecKeys and a Web UI); CodecToken its
	// bearer token.
	CodecURL, CodecToken string
	Capture              capture.Client
	dev                  *testsuite.DevServer
	devOpts              testsuite.DevServerOptions
	cluster              *temporaltest.Cluster
	temporalEnv          []string
	tc                   client.Client
	bin                  string
	workerEnv            []string
	webhookEnv           []string
	opts                 Options
	exited               chan error

	mu       sync.Mutex
	procs    map[string]*child
	stopping bool
}

// Start builds what is needed and starts everything. Stop it when done.
func Start(ctx context.Context, o Options) (s *Stack, err error) {
	if o.TimeScale == 0 {
		o.TimeScale = 0.01
	}
	if o.Output == nil {
		o.Output = os.Stderr
	}
	if o.Progress == nil {
		o.Progress = func(string, ...any) {}
	}
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	for _, a := range []*string{&o.SimAddr, &o.WebhookAddr, &o.MetricsAddr} {
		if *a == "" {
			if *a, err = freeAddr(); err != nil {
				return nil, err
			}
		} else if err := portFree(*a); err != nil {
			return nil, err
		}
	}
	if o.TemporalPort == 0 {
		a, err := freeAddr()
		if err != nil {
			return nil, err
		}
		fmt.Sscanf(a[strings.LastIndex(a, ":")+1:], "%d", &o.TemporalPort)
	} else if err := portFree(fmt.Sprintf("127.0.0.1:%d", o.TemporalPort)); err != nil {
		return nil, err
	}
	if o.UIPort != 0 {
		if err := portFree(fmt.Sprintf("127.0.0.1:%d", o.UIPort)); err != nil {
			return nil, err
		}
	}
	s = &Stack{opts: o, bin: filepath.Join(dir, "bin"), KeyDir: filepath.Join(dir, "keys"), procs: map[string]*child{}, exited: make(chan error, 8)}
	if err := os.MkdirAll(s.bin, 0o755); err != nil {
		return nil, err
	}
	started := s // "return nil, err" clears s before the deferred cleanup runs
	defer func() {
		if err != nil {
			started.Stop()
		}
	}()

	o.Progress("building the Temporal CLI if needed (the first time takes about 7 minutes)...")
	cli := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "temporal-cli"))
	cli.Stderr = o.Output
	out, err := cli.Output()
	if err != nil {
		return nil, fmt.Errorf("building the Temporal CLI: %w", err)
	}
	s.CLI = strings.TrimSpace(string(out))
	o.Progress("building worker, webhook, simulator, starter and codecserver...")
	build := exec.CommandContext(ctx, "go", "build", "-o", s.bin+"/", "./worker", "./webhook", "./simulator", "./starter", "./codecserver")
	build.Dir, build.Stdout, build.Stderr = root, o.Output, o.Output
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("go build: %w", err)
	}

	keys, err := codec.Load(o.CodecKeys, o.CodecKeysFile)
	if err != nil {
		return nil, err
	}
	var codecEnv []string // the children's keys
	switch {
	case o.CodecKeys != "":
		codecEnv = []string{"CAPTURE_CODEC_KEYS=" + o.CodecKeys}
	case o.CodecKeysFile != "":
		file, err := filepath.Abs(o.CodecKeysFile)
		if err != nil {
			return nil, err
		}
		codecEnv = []string{"CAPTURE_CODEC_KEYS_FILE=" + file}
	}
	if len(keys) > 0 && o.UIPort != 0 {
		a, err := freeAddr()
		if err != nil {
			return nil, err
		}
		token := make([]byte, 16)
		_, _ = rand.Read(token)
		s.CodecURL, s.CodecToken = "http://"+a, hex.EncodeToString(token)
	}
	s.HostPort = fmt.Sprintf("127.0.0.1:%d", o.TemporalPort)
	temporalEnv := []string{"TEMPORAL_ADDRESS=" + s.HostPort}
	clientOpts := client.Options{HostPort: s.HostPort, Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))}
	if o.Postgres != nil {
		o.Progress("building temporal-server and temporal-sql-tool if needed (seconds once the CLI is built)...")
		srv := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "temporal-server"))
		srv.Stdout, srv.Stderr = io.Discard, o.Output
		if err := srv.Run(); err != nil {
			return nil, fmt.Errorf("building temporal-server: %w", err)
		}
		co := *o.Postgres
		co.Dir, co.Port = filepath.Join(dir, "temporal"), o.TemporalPort
		o.Progress("starting temporal-server on PostgreSQL, frontend %s...", s.HostPort)
		if s.cluster, err = temporaltest.StartCluster(ctx, co); err != nil {
			return nil, err
		}
		temporalEnv, clientOpts = s.cluster.Env(), s.cluster.ClientOptions()
		s.HostPort = s.cluster.Address
		if o.UIPort != 0 {
			if err := s.startUI(ctx, filepath.Join(dir, "temporal-ui")); err != nil {
				return nil, err
			}
		}
	} else if err := s.startDevServer(ctx, dir, s.CLI); err != nil {
		return nil, err
	}
	keys.Apply(&clientOpts)
	if s.tc, err = client.Dial(clientOpts); err != nil {
		return nil, err
	}
	s.Capture = capture.Client{Temporal: s.tc, DataConverter: clientOpts.DataConverter}
	s.temporalEnv = temporalEnv

	s.SimURL, s.WebhookURL, s.MetricsURL = "http://"+o.SimAddr, "http://"+o.WebhookAddr, "http://"+o.MetricsAddr+"/metrics"
	s.start("simulator", append([]string{"SIM_LISTEN=" + o.SimAddr, "SIM_CLIENT_ID=" + ClientID, "SIM_ACCOUNTS=" + SecondClientID, "SIM_KEY_DIR=" + s.KeyDir,
		"SIM_NOTIFY_URL=" + s.WebhookURL + "/alipay/notify", fmt.Sprintf("SIM_TIME_SCALE=%g", o.TimeScale)}, o.SimEnv...)...)
	if err := waitHealthy(ctx, s.SimURL+"/healthz"); err != nil {
		return nil, err
	}
	registry, err := s.writeRegistry(dir)
	if err != nil {
		return nil, err
	}
	if s.CodecURL != "" {
		ui := s.UIURL[strings.LastIndex(s.UIURL, ":"):]
		s.start("codecserver", append(slices.Clone(codecEnv), "CODEC_SERVER_LISTEN="+strings.TrimPrefix(s.CodecURL, "http://"),
			"CODEC_SERVER_TOKEN="+s.CodecToken, "CODEC_SERVER_ORIGINS=http://localhost"+ui+",http://127.0.0.1"+ui)...)
		if err := waitHealthy(ctx, s.CodecURL+"/healthz"); err != nil {
			return nil, err
		}
	}
	if len(codecEnv) > 0 {
		temporalEnv = append(slices.Clip(temporalEnv), codecEnv...)
		s.temporalEnv = temporalEnv
	}
	common := append(temporalEnv, "ALIPAY_CLIENT_ID="+ClientID,
		"ALIPAY_PUBLIC_KEY_FILE="+filepath.Join(s.KeyDir, "antom_public_key.pem"), "ALIPAY_MERCHANTS_FILE="+registry)
	s.webhookEnv = append(append(common, "WEBHOOK_LISTEN="+o.WebhookAddr), o.WebhookEnv...)
	s.StartWebhook()
	s.workerEnv = append(append(slices.Clip(common), "ALIPAY_BASE_URL="+s.SimURL,
		"ALIPAY_PRIVATE_KEY_FILE="+filepath.Join(s.KeyDir, "merchant_private_key.pem"), "WORKER_METRICS_LISTEN="+o.MetricsAddr), o.WorkerEnv...)
	if !o.NoWorker {
		s.StartWorker()
	}
	if err := waitHealthy(ctx, s.WebhookURL+"/healthz"); err != nil {
		return nil, err
	}
	return s, nil
}

// ShellEnv returns the environment a second terminal needs to drive the stack: Temporal's
// address (and TLS files; TEMPORAL_HTTP, its HTTP API, on the dev server), the worker's Antom configuration (for starter reconcile), the
// simulator's URL (SIM_URL, for its admin API), and a PATH with the starter and the Temporal
// CLI first.
func (s *Stack) ShellEnv() []string {
	env := slices.Clone(s.workerEnv)
	env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "WORKER_") })
	if s.HTTPURL != "" {
		env = append(env, "TEMPORAL_HTTP="+s.HTTPURL)
	}
	if s.CodecURL != "" { // read by the temporal CLI, as --codec-endpoint and --codec-auth
		env = append(env, "TEMPORAL_CODEC_ENDPOINT="+s.CodecURL, "TEMPORAL_CODEC_AUTH=Bearer "+s.CodecToken)
	}
	return append(env, "SIM_URL="+s.SimURL, "PATH="+s.bin+string(os.PathListSeparator)+filepath.Dir(s.CLI)+string(os.PathListSeparator)+"$PATH")
}

// writeRegistry writes the merchant registry of the second account, whose keys the simulator
// created in KeyDir/<Client-Id>/, and returns its path.
func (s *Stack) writeRegistry(dir string) (string, error) {
	keys := filepath.Join(s.KeyDir, SecondClientID)
	doc := fmt.Sprintf(`# The second merchant account of the local stack (the first is ALIPAY_CLIENT_ID's, "default").
merchants:
  - name: %s
    clientId: %s
    baseUrl: %s
    keyVersion: "1"
    privateKeyFile: %s
    antomPublicKeyFiles: [%s]
`, SecondMerchant, SecondClientID, s.SimURL, filepath.Join(keys, "merchant_private_key.pem"), filepath.Join(keys, "antom_public_key.pem"))
	path := filepath.Join(dir, "merchants.yaml")
	return path, os.WriteFile(path, []byte(doc), 0o600)
}

// startDevServer starts the dev server the first time, with its database in dir.
func (s *Stack) startDevServer(ctx context.Context, dir, cli string) error {
	o := s.opts
	dev := testsuite.DevServerOptions{
		ExistingPath:     cli,
		LogLevel:         "error",
		SearchAttributes: temporaltest.SearchAttributes(),
		ClientOptions:    &client.Options{HostPort: s.HostPort, Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))},
		Stdout:           io.Discard,
		Stderr:           io.Discard,
	}
	if !o.InMemory {
		dev.DBFilename = filepath.Join(dir, "temporal.db")
	}
	if o.UIPort != 0 {
		dev.EnableUI, dev.UIPort = true, fmt.Sprint(o.UIPort)
		s.UIURL = fmt.Sprintf("http://localhost:%d", o.UIPort)
	}
	if s.HTTPURL == "" {
		a, err := freeAddr()
		if err != nil {
			return err
		}
		s.HTTPURL = "http://" + a
	}
	dev.ExtraArgs = []string{"--http-port", s.HTTPURL[strings.LastIndex(s.HTTPURL, ":")+1:]}
	if s.CodecURL != "" {
		dev.ExtraArgs = append(dev.ExtraArgs, "--ui-codec-endpoint", s.uiCodecEndpoint())
	}
	o.Progress("starting Temporal on %s (HTTP API %s)...", s.HostPort, s.HTTPURL)
	s.devOpts = dev
	return s.StartTemporal(ctx)
}

// uiCodecEndpoint is the Web UI's codec endpoint: the token in its path, since the UI without a
// login of its own sends no credential (codec.Server).
func (s *Stack) uiCodecEndpoint() string { return s.CodecURL + "/" + s.CodecToken }

// TemporalEnv returns the configuration variables with which the stack's processes reach
// Temporal (address, and certificates when it runs with mTLS).
func (s *Stack) TemporalEnv() []string { return slices.Clone(s.temporalEnv) }

// startUI runs the Temporal Web UI server (the version docker-compose.yml runs) for the
// PostgreSQL-backed server, as compose's temporal-ui service does for its server.
func (s *Stack) startUI(ctx context.Context, dir string) error {
	server, err := temporaltest.ServerPath()
	if err != nil {
		return err
	}
	cfg := fmt.Sprintf("temporalGrpcAddress: %q\nhost: 127.0.0.1\nport: %d\nenableUi: true\ndefaultNamespace: default\n", s.HostPort, s.opts.UIPort)
	if s.CodecURL != "" {
		cfg += fmt.Sprintf("codec:\n  endpoint: %q\n", s.uiCodecEndpoint())
	}
	if c := s.cluster.Certs; c != nil {
		cfg += fmt.Sprintf("tls:\n  caFile: %q\n  certFile: %q\n  keyFile: %q\n  serverName: localhost\n", c.CA, c.ClientCert, c.ClientKey)
	}
	if err := os.MkdirAll(filepath.Join(dir, "config"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "config", "development.yaml"), []byte(cfg), 0o644); err != nil {
		return err
	}
	s.run("temporal-ui", exec.Command(filepath.Join(filepath.Dir(server), "temporal-ui-server"), "--root", dir, "--env", "development", "start"))
	s.UIURL = fmt.Sprintf("http://localhost:%d", s.opts.UIPort)
	return waitHealthy(ctx, s.UIURL)
}

// StartWorker starts the worker process (again, after StopWorker).
func (s *Stack) StartWorker(extraEnv ...string) {
	s.start("worker", append(s.workerEnv, extraEnv...)...)
}

// StartWebhook starts the webhook process (again, after KillWebhook).
func (s *Stack) StartWebhook() { s.start("webhook", s.webhookEnv...) }

// StopWorker stops the worker process gracefully.
func (s *Stack) StopWorker() {
	if c := s.take("worker"); c != nil {
		c.stop()
	}
}

// take removes a child from the running set, so that its exit is not reported as unexpected.
func (s *Stack) take(name string) *child {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.procs[name]
	delete(s.procs, name)
	return c
}

// WorkerPID returns the worker process's pid, or 0.
func (s *Stack) WorkerPID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.procs["worker"]; c != nil {
		return c.cmd.Process.Pid
	}
	return 0
}

// StartTemporal starts Temporal (again, after StopTemporal: on the same port and, unless
// InMemory, the same database, so running workflows carry on).
func (s *Stack) StartTemporal(ctx context.Context) error {
	if s.cluster != nil {
		return s.cluster.Start(ctx)
	}
	dev, err := testsuite.StartDevServer(ctx, s.devOpts)
	if err != nil {
		return fmt.Errorf("starting the Temporal dev server: %w", err)
	}
	s.mu.Lock()
	s.dev = dev
	s.mu.Unlock()
	return nil
}

// StopTemporal stops Temporal, as an outage would.
func (s *Stack) StopTemporal() error {
	if s.cluster != nil {
		return s.cluster.Stop()
	}
	s.mu.Lock()
	dev := s.dev
	s.dev = nil
	s.mu.Unlock()
	if dev == nil {
		return nil
	}
	return dev.Stop()
}

// KillWorker kills the worker process (SIGKILL), as a crash would.
func (s *Stack) KillWorker() { s.kill("worker") }

// KillWebhook kills the webhook process (SIGKILL), as a crash would.
func (s *Stack) KillWebhook() { s.kill("webhook") }

func (s *Stack) kill(name string) {
	if c := s.take(name); c != nil {
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// Binary returns the path of one of the project's binaries the stack built.
func (s *Stack) Binary(name string) string { return filepath.Join(s.bin, name) }

// Temporal returns a client of the dev server; it reconnects across StopTemporal and StartTemporal.
func (s *Stack) Temporal() client.Client { return s.tc }

// Exited reports a child process that exited by itself.
func (s *Stack) Exited() <-chan error { return s.exited }

// Stop stops the children (SIGTERM, then SIGKILL after 15 s) and the dev server.
func (s *Stack) Stop() {
	s.mu.Lock()
	s.stopping = true
	procs := make([]*child, 0, len(s.procs))
	for _, c := range s.procs {
		procs = append(procs, c)
	}
	s.mu.Unlock()
	for _, c := range procs {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, c := range procs {
		c.stop()
	}
	if s.tc != nil {
		s.tc.Close()
	}
	if s.cluster != nil {
		_ = s.cluster.Close()
		return
	}
	_ = s.StopTemporal()
}

// TemporalLog returns the end of the PostgreSQL-backed server's log (empty for the dev server).
func (s *Stack) TemporalLog(n int) string {
	if s.cluster == nil {
		return ""
	}
	return s.cluster.LogTail(n)
}

// Authorize creates an authorization in the simulator through its admin API.
func (s *Stack) Authorize(ctx context.Context, a alipaytest.Authorization) (alipaytest.Payment, error) {
	body, _ := json.Marshal(a)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.SimURL+"/admin/payments", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	var p alipaytest.Payment
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return p, fmt.Errorf("simulator: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		return p, fmt.Errorf("simulator: create authorization: HTTP %d %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	return p, json.NewDecoder(resp.Body).Decode(&p)
}

// Resolve ends a payment's in-process capture in the simulator with status S or F (code for F),
// through its admin API.
func (s *Stack) Resolve(ctx context.Context, id, status, code string) error {
	body, _ := json.Marshal(map[string]string{"status": status, "code": code})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.SimURL+"/admin/payments/"+id+"/resolve", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("simulator: resolve %s: HTTP %d %s", id, resp.StatusCode, bytes.TrimSpace(b))
	}
	return nil
}

// Payments reads the simulator's whole ledger.
func (s *Stack) Payments(ctx context.Context) ([]alipaytest.Payment, error) {
	var ps []alipaytest.Payment
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.SimURL+"/admin/payments", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("simulator: payments: HTTP %d", resp.StatusCode)
	}
	return ps, json.NewDecoder(resp.Body).Decode(&ps)
}

// Payment reads one payment of the simulator's ledger.
func (s *Stack) Payment(ctx context.Context, id string) (alipaytest.Payment, error) {
	var p alipaytest.Payment
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.SimURL+"/admin/payments/"+id, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return p, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return p, fmt.Errorf("simulator: payment %s: HTTP %d", id, resp.StatusCode)
	}
	return p, json.NewDecoder(resp.Body).Decode(&p)
}

// AntomConfig returns an alipay.Config for a client of the stack's simulator, with the default
// account's keys.
func (s *Stack) AntomConfig() (alipay.Config, error) { return s.antomConfig(ClientID, s.KeyDir) }

// SecondAntomConfig returns an alipay.Config for the second merchant account, with its keys.
func (s *Stack) SecondAntomConfig() (alipay.Config, error) {
	return s.antomConfig(SecondClientID, filepath.Join(s.KeyDir, SecondClientID))
}

func (s *Stack) antomConfig(clientID, keys string) (alipay.Config, error) {
	priv, err := os.ReadFile(filepath.Join(keys, "merchant_private_key.pem"))
	if err != nil {
		return alipay.Config{}, err
	}
	pub, err := os.ReadFile(filepath.Join(keys, "antom_public_key.pem"))
	if err != nil {
		return alipay.Config{}, err
	}
	cfg := alipay.Config{ClientID: clientID, BaseURL: s.SimURL}
	if cfg.PrivateKey, err = alipay.ParsePrivateKey(string(priv)); err != nil {
		return cfg, err
	}
	cfg.AntomPublicKey, err = alipay.ParsePublicKey(string(pub))
	return cfg, err
}

// AntomPrivateKeyPEM returns the simulator's Antom signing key, for signing test notifications.
func (s *Stack) AntomPrivateKeyPEM() ([]byte, error) {
	return os.ReadFile(filepath.Join(s.KeyDir, "antom_private_key.pem"))
}

type child struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func (s *Stack) start(name string, env ...string) {
	cmd := exec.Command(filepath.Join(s.bin, name))
	// The children encrypt payloads only as Options.CodecKeys says, as the stack's own client
	// does: keys in this process's environment are not theirs.
	inherited := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "CAPTURE_CODEC_KEYS") })
	cmd.Env = append(inherited, env...)
	s.run(name, cmd)
}

// run starts cmd as the child called name.
func (s *Stack) run(name string, cmd *exec.Cmd) {
	c := &child{cmd: cmd, done: make(chan struct{})}
	if s.opts.LogFile != nil {
		c.cmd.Stdout, c.cmd.Stderr = s.opts.LogFile, s.opts.LogFile
	} else {
		w := &prefixWriter{prefix: "[" + name + "] ", w: s.opts.Output}
		c.cmd.Stdout, c.cmd.Stderr = w, w
	}
	if err := c.cmd.Start(); err != nil {
		s.exited <- fmt.Errorf("start %s: %w", name, err)
		return
	}
	s.mu.Lock()
	s.procs[name] = c
	s.mu.Unlock()
	go func() {
		err := c.cmd.Wait()
		close(c.done)
		s.mu.Lock()
		unexpected := !s.stopping && s.procs[name] == c
		s.mu.Unlock()
		if unexpected {
			select {
			case s.exited <- fmt.Errorf("%s exited: %v", name, err):
			default:
			}
		}
	}()
}

// stop sends SIGTERM and kills the child if it has not exited after 15 s.
func (c *child) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
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

func freeAddr() (string, error) { return temporaltest.FreeAddr() }

func portFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s is in use (another localstack, or a Temporal server?): stop it or pick other ports (--help): %w", addr, err)
	}
	return l.Close()
}

// repoRoot finds the module root, so that commands work from any folder of the checkout.
func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run this from inside the alipay-capture checkout")
	}
	return filepath.Dir(mod), nil
}
