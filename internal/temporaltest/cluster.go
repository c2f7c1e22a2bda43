package temporaltest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/capturekit/alipay-capture/workflows"
)

// EnvPostgres names the variable holding the URL of the PostgreSQL server that PostgreSQL-backed
// Temporal servers use; DefaultPostgres is the machines' own.
const (
	EnvPostgres     = "TEST_POSTGRES_URL"
	DefaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres"
	// EnvServer names the variable that points at the temporal-server binary (temporal-sql-tool
	// and temporal-server-schema/ beside it); default: where scripts/temporal-server builds it.
	EnvServer = "TEMPORAL_SERVER"
)

//go:embed cluster.yaml
var clusterConfig string

var clusterTemplate = template.Must(template.New("cluster.yaml").Funcs(template.FuncMap{"quote": strconv.Quote}).Parse(clusterConfig))

// ClusterOptions configures a PostgreSQL-backed Temporal server.
type ClusterOptions struct {
	// Dir receives the server's configuration, certificates and log. Required.
	Dir string
	// Postgres is the PostgreSQL URL; default $TEST_POSTGRES_URL, else DefaultPostgres.
	Postgres string
	// Database names the persistence database ("<Database>_visibility" holds visibility). Empty:
	// fresh databases for this run, dropped by Close. Named: created if missing, kept.
	Database string
	// Port is the frontend's gRPC port; 0 picks a free one.
	Port int
	// TLS runs the frontend with mTLS, with a CA and certificates generated into Dir.
	TLS bool
}

// Cluster is one node of a Temporal cluster as users deploy it: temporal-server of the version
// docker-compose.yml runs, on PostgreSQL with SQL visibility, its schema set up by
// temporal-sql-tool, and the namespace prepared by deploy/temporal/setup.sh as compose does.
type Cluster struct {
	Address   string // frontend host:port
	Namespace string
	LogFile   string // the server's output
	Certs     *Certs // the generated certificates, with TLS

	server, config string
	db, visDB      string
	pg             *url.URL
	dropOnClose    bool

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// StartCluster sets up fresh (or named) databases, writes the configuration and starts the
// server, then prepares the namespace. Close it when done.
func StartCluster(ctx context.Context, o ClusterOptions) (_ *Cluster, err error) {
	if o.Dir == "" {
		return nil, errors.New("temporaltest: ClusterOptions.Dir is required")
	}
	server, err := ServerPath()
	if err != nil {
		return nil, err
	}
	pg, err := postgresURL(o.Postgres)
	if err != nil {
		return nil, err
	}
	if conn, err := net.DialTimeout("tcp", pg.Host, 3*time.Second); err != nil {
		return nil, fmt.Errorf("PostgreSQL is not reachable at %s (%s=%s): %w; start it (Debian: sudo service postgresql start; "+
			"or docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15) or point %s at one",
			pg.Host, EnvPostgres, pg.Redacted(), err, EnvPostgres)
	} else {
		conn.Close()
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "config"), 0o755); err != nil {
		return nil, err
	}
	c := &Cluster{Namespace: "default", LogFile: filepath.Join(dir, "temporal-server.log"), server: server,
		config: filepath.Join(dir, "config"), pg: pg, db: o.Database, dropOnClose: o.Database == ""}
	if c.db == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		c.db = "alipay_capture_" + hex.EncodeToString(b)
	}
	c.visDB = c.db + "_visibility"
	defer func() {
		if err != nil {
			_ = c.Close()
		}
	}()
	if err := c.setupSchema(ctx); err != nil {
		return nil, err
	}
	if o.TLS {
		certs, err := GenerateCerts(filepath.Join(dir, "certs"))
		if err != nil {
			return nil, fmt.Errorf("generating certificates: %w", err)
		}
		c.Certs = &certs
	}
	ports, err := serverPorts(o.Port)
	if err != nil {
		return nil, err
	}
	c.Address = fmt.Sprintf("127.0.0.1:%d", ports[0])
	if err := c.writeConfig(ports); err != nil {
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	if err := c.prepareNamespace(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// ServerPath returns the temporal-server binary: $TEMPORAL_SERVER, else the cache path
// scripts/temporal-server builds to.
func ServerPath() (string, error) {
	p := os.Getenv(EnvServer)
	if p == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		p = filepath.Join(dir, "alipay-capture", "bin", "temporal-server")
	}
	for _, f := range []string{p, filepath.Join(filepath.Dir(p), "temporal-sql-tool"), filepath.Join(filepath.Dir(p), "temporal-server-schema")} {
		if _, err := os.Stat(f); err != nil {
			return "", fmt.Errorf("%w: run scripts/temporal-server (builds temporal-server and temporal-sql-tool once into the user cache) or set %s", err, EnvServer)
		}
	}
	return p, nil
}

func postgresURL(s string) (*url.URL, error) {
	if s == "" {
		s = os.Getenv(EnvPostgres)
	}
	if s == "" {
		s = DefaultPostgres
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Hostname() == "" {
		return nil, fmt.Errorf("%s: want a URL like %s, got %q", EnvPostgres, DefaultPostgres, s)
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), "5432")
	}
	if u.User == nil || u.User.Username() == "" {
		u.User = url.User("postgres")
	}
	return u, nil
}

// sqlTool runs temporal-sql-tool against PostgreSQL with the given arguments.
func (c *Cluster) sqlTool(ctx context.Context, db string, args ...string) error {
	password, _ := c.pg.User.Password()
	base := []string{"--plugin", "postgres12", "--ep", c.pg.Hostname(), "-p", c.pg.Port(), "-u", c.pg.User.Username(), "--db", db}
	cmd := exec.CommandContext(ctx, filepath.Join(filepath.Dir(c.server), "temporal-sql-tool"), append(base, args...)...)
	cmd.Env = append(os.Environ(), "SQL_PASSWORD="+password)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("temporal-sql-tool %s on %s: %w\n%s", strings.Join(args, " "), db, err, out)
	}
	return nil
}

func (c *Cluster) defaultDB() string {
	if db := strings.TrimPrefix(c.pg.Path, "/"); db != "" {
		return db
	}
	return "postgres"
}

// setupSchema creates the two databases (unless they exist) and brings their schemas to the
// server's version, as the server's own docs and auto-setup do.
func (c *Cluster) setupSchema(ctx context.Context) error {
	schema := filepath.Join(filepath.Dir(c.server), "temporal-server-schema", "postgresql", "v12")
	for _, s := range []struct{ db, dir string }{{c.db, "temporal"}, {c.visDB, "visibility"}} {
		err := c.sqlTool(ctx, s.db, "create-database", "--defaultdb", c.defaultDB())
		switch {
		case err != nil && !strings.Contains(err.Error(), "already exists"):
			return err
		case err == nil:
			if err := c.sqlTool(ctx, s.db, "setup-schema", "-v", "0.0"); err != nil {
				return err
			}
		}
		if err := c.sqlTool(ctx, s.db, "update-schema", "-d", filepath.Join(schema, s.dir, "versioned")); err != nil {
			return err
		}
	}
	return nil
}

// serverPorts returns nine free loopback ports: the frontend's gRPC (port, unless 0),
// membership and HTTP ports, then gRPC and membership ports of history, matching and worker.
// Membership ports are stored in a smallint column, so every port is taken below 32768.
func serverPorts(port int) ([]int, error) {
	var ports []int
	if port != 0 {
		ports = append(ports, port)
	}
	return freePorts(ports, 9)
}

// FreeAddr returns a free loopback address for a process a test starts. Its port lies between
// 20000 and 32000, below the kernel's ephemeral range, so that no outgoing connection of a
// process running beside it takes the port between this check and the listen; and it is claimed
// for this machine's test processes (claimPort), so that two of them (go test runs packages in
// parallel) never pick the same port before one listens on it.
func FreeAddr() (string, error) {
	ports, err := freePorts(nil, 1)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("127.0.0.1:%d", ports[0]), nil
}

// freePorts adds free loopback ports to ports until it holds n.
func freePorts(ports []int, n int) ([]int, error) {
	taken := map[int]bool{}
	for _, p := range ports {
		taken[p] = true
	}
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			return nil, errors.New("no free loopback ports between 20000 and 32000")
		}
		p := 20000 + mrand.IntN(12000)
		if taken[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		taken[p] = true
		if !claimPort(p) {
			continue
		}
		ports = append(ports, p)
	}
	return ports, nil
}

// portClaim is how long a claimed port stays another test process's: longer than a test run
// keeps a port it restarts a server on.
const portClaim = 30 * time.Minute

// claimPort claims port p among this machine's test processes: a file named after it in a
// folder they share, created exclusively. A claim older than portClaim is stale and taken over.
func claimPort(p int) bool {
	dir := filepath.Join(os.TempDir(), "alipay-capture-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return true // no folder to claim in: the listen check alone
	}
	path := filepath.Join(dir, strconv.Itoa(p))
	for range 2 {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666)
		if err == nil {
			f.Close()
			return true
		}
		st, err := os.Stat(path)
		if err != nil || time.Since(st.ModTime()) < portClaim || os.Remove(path) != nil {
			return false
		}
	}
	return false
}

func (c *Cluster) writeConfig(ports []int) error {
	password, _ := c.pg.User.Password()
	dyn := filepath.Join(c.config, "dynamicconfig.yaml")
	if err := os.WriteFile(dyn, []byte("# No overrides: the server's production defaults.\n"), 0o644); err != nil {
		return err
	}
	var b bytes.Buffer
	if err := clusterTemplate.Execute(&b, map[string]any{
		"DB": c.db, "VisibilityDB": c.visDB, "PGAddr": c.pg.Host, "PGUser": c.pg.User.Username(), "PGPassword": password,
		"Ports": ports, "TLS": c.Certs, "DynamicConfig": dyn,
	}); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.config, "cluster.yaml"), b.Bytes(), 0o600)
}

// Start starts the server process (again, after Stop: same databases and ports, so running
// workflows carry on) and waits until its frontend serves.
func (c *Cluster) Start(ctx context.Context) error {
	logf, err := os.OpenFile(c.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.server, "--root", filepath.Dir(c.config), "--config", "config", "--env", "cluster", "--allow-no-auth", "start")
	cmd.Stdout, cmd.Stderr = logf, logf
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting %s: %w", c.server, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	c.mu.Lock()
	c.cmd, c.done = cmd, done
	c.mu.Unlock()

	tc, err := c.dial()
	if err != nil {
		return err
	}
	defer tc.Close()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	for {
		hctx, hcancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := tc.CheckHealth(hctx, &client.CheckHealthRequest{})
		hcancel()
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("temporal-server exited while starting; its log ends:\n%s", c.LogTail(3000))
		case <-ctx.Done():
			return fmt.Errorf("temporal-server did not serve on %s: %v; its log ends:\n%s", c.Address, err, c.LogTail(3000))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop stops the server (SIGTERM, then SIGKILL after 30 s), as an outage would.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	cmd, done := c.cmd, c.done
	c.cmd = nil
	c.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	return nil
}

// Close stops the server and drops the databases it created.
func (c *Cluster) Close() error {
	err := c.Stop()
	if c.dropOnClose {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, db := range []string{c.db, c.visDB} {
			if e := c.sqlTool(ctx, db, "drop-database", "--defaultdb", c.defaultDB(), "--force"); e != nil && !strings.Contains(e.Error(), "does not exist") {
				err = errors.Join(err, e)
			}
		}
	}
	return err
}

// LogTail returns the last n bytes of the server's log.
func (c *Cluster) LogTail(n int) string {
	b, _ := os.ReadFile(c.LogFile)
	if len(b) > n {
		return "…" + string(b[len(b)-n:])
	}
	return string(b)
}

// ClientOptions returns options for an SDK client of the cluster, with mTLS when it has it.
func (c *Cluster) ClientOptions() client.Options {
	o := client.Options{HostPort: c.Address, Namespace: c.Namespace, Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))}
	if c.Certs != nil {
		o.ConnectionOptions.TLS = c.Certs.clientTLS()
	}
	return o
}

// Env returns the configuration variables with which this project's processes reach the
// cluster.
func (c *Cluster) Env() []string {
	env := []string{"TEMPORAL_ADDRESS=" + c.Address, "TEMPORAL_NAMESPACE=" + c.Namespace}
	if c.Certs != nil {
		env = append(env, "TEMPORAL_TLS_CERT_FILE="+c.Certs.ClientCert, "TEMPORAL_TLS_KEY_FILE="+c.Certs.ClientKey, "TEMPORAL_TLS_CA_FILE="+c.Certs.CA)
	}
	return env
}

// CLIFlags returns the temporal CLI's flags that reach the cluster.
func (c *Cluster) CLIFlags() []string {
	flags := []string{"--address", c.Address}
	if c.Certs != nil {
		flags = append(flags, "--tls-cert-path", c.Certs.ClientCert, "--tls-key-path", c.Certs.ClientKey, "--tls-ca-path", c.Certs.CA)
	}
	return flags
}

func (c *Cluster) dial() (client.Client, error) {
	return client.NewLazyClient(c.ClientOptions())
}

// prepareNamespace runs deploy/temporal/setup.sh, the script docker-compose.yml's
// search-attributes service runs, then waits until the namespace takes workflows with the search
// attributes set: the frontend learns of a new namespace when its cache next refreshes.
func (c *Cluster) prepareNamespace(ctx context.Context) error {
	cli, err := CLIPath()
	if err != nil {
		return err
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return errors.New("temporaltest: cannot locate the repository's deploy/temporal/setup.sh")
	}
	script := filepath.Join(filepath.Dir(file), "..", "..", "deploy", "temporal", "setup.sh")
	cmd := exec.CommandContext(ctx, "sh", append([]string{script}, c.CLIFlags()...)...)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(cli)+string(os.PathListSeparator)+os.Getenv("PATH"), "TEMPORAL_NAMESPACE="+c.Namespace)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("deploy/temporal/setup.sh: %w\n%s", err, out)
	}
	tc, err := c.dial()
	if err != nil {
		return err
	}
	defer tc.Close()
	return awaitSearchAttributes(ctx, tc, c.Namespace)
}

// awaitSearchAttributes waits until a workflow task can upsert every search attribute of
// CaptureWorkflow: the frontend and the history service each learn a namespace's new search
// attributes when their caches next refresh, and the history service's is the one a capture's
// upsert meets. A probe workflow upserts them all, on a task queue of its own, until it
// completes.
func awaitSearchAttributes(ctx context.Context, tc client.Client, namespace string) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	queue := "search-attributes-probe-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	w := worker.New(tc, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		return workflow.UpsertTypedSearchAttributes(ctx, workflows.AttrPaymentID.ValueSet("probe"), workflows.AttrStatus.ValueSet("probe"),
			workflows.AttrOrderID.ValueSet("probe"), workflows.AttrDeadline.ValueSet(time.Unix(0, 0)), workflows.AttrMerchant.ValueSet("probe"))
	}, workflow.RegisterOptions{Name: "SearchAttributesProbe"})
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()
	for attempt := 1; ; attempt++ {
		id := queue + "-" + strconv.Itoa(attempt)
		run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue, WorkflowExecutionTimeout: time.Minute}, "SearchAttributesProbe")
		if err == nil {
			pctx, pcancel := context.WithTimeout(ctx, 3*time.Second)
			err = run.Get(pctx, nil)
			pcancel()
			if err == nil {
				return nil
			}
			_ = tc.TerminateWorkflow(context.Background(), id, "", "search attributes not usable yet")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("namespace %s: a workflow cannot upsert the search attributes after setup: %w", namespace, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (c *Certs) clientTLS() *tls.Config {
	pool := x509.NewCertPool()
	if b, err := os.ReadFile(c.CA); err == nil {
		pool.AppendCertsFromPEM(b)
	}
	cert, _ := tls.LoadX509KeyPair(c.ClientCert, c.ClientKey)
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}
