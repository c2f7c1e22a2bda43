// Package temporaltest starts a real Temporal dev server (the Temporal CLI's
// "server start-dev") for tests of the whole system, with this project's search attributes
// registered. The CLI binary is built by scripts/temporal-cli; nothing is downloaded at test time.
package temporaltest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/capturekit/alipay-capture/activities"
	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"

	"github.com/capturekit/alipay-capture/workflows"
)

// EnvCLI names the environment variable that points at the temporal binary.
const EnvCLI = "TEMPORAL_CLI"

// CLIPath returns the temporal binary: $TEMPORAL_CLI, else the cache path scripts/temporal-cli
// builds to, else "temporal" on PATH.
func CLIPath() (string, error) {
	if p := os.Getenv(EnvCLI); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvCLI, p, err)
		}
		return p, nil
	}
	if dir, err := os.UserCacheDir(); err == nil {
		p := filepath.Join(dir, "alipay-capture", "bin", "temporal")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, nil
	}
	return "", errors.New("temporal CLI not found: run scripts/temporal-cli (builds it once into the user cache) or set " + EnvCLI)
}

// SearchAttributes are the search attributes CaptureWorkflow needs, for registration.
func SearchAttributes() temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		workflows.AttrPaymentID.ValueSet(""),
		workflows.AttrStatus.ValueSet(""),
		workflows.AttrOrderID.ValueSet(""),
		workflows.AttrDeadline.ValueSet(time.Time{}),
		workflows.AttrMerchant.ValueSet(""),
	)
}

// Server is a running Temporal server (a dev server, or a PostgreSQL-backed Cluster) and a
// client connected to it.
type Server struct {
	Client  client.Client
	Address string
	Cluster *Cluster // nil for a dev server
}

// Start starts a dev server on a free loopback port, with CaptureWorkflow's search attributes,
// and stops it when the test ends. A test that needs Temporal fails (it is not skipped) when the
// CLI cannot be found.
func Start(t testing.TB) *Server { return StartWith(t, SearchAttributes()) }

// StartWith is Start with the given search attributes registered instead.
func StartWith(t testing.TB, attrs temporal.SearchAttributes) *Server {
	t.Helper()
	skipShort(t)
	path, err := CLIPath()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dev, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:     path,
		LogLevel:         "error",
		SearchAttributes: attrs,
		ClientOptions:    &client.Options{Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))},
		Stdout:           io.Discard,
		Stderr:           io.Discard,
	})
	if err != nil {
		t.Fatalf("start Temporal dev server (%s): %v", path, err)
	}
	t.Cleanup(func() { _ = dev.Stop() })
	return &Server{Client: dev.Client(), Address: dev.FrontendHostPort()}
}

// skipShort skips a test that needs a real Temporal server under go test -short (the mutation
// gate runs the fast tests only).
func skipShort(t testing.TB) {
	if testing.Short() {
		t.Skip("needs a real Temporal server: skipped with -short")
	}
}

// StartPostgres starts a PostgreSQL-backed Temporal server (see Cluster) with fresh databases,
// dropped when the test ends; o.Dir defaults to a temporary folder. A test that needs it fails
// (it is not skipped) when PostgreSQL or the server binaries are missing, and a failed test
// prints the end of the server's log.
func StartPostgres(t testing.TB, o ClusterOptions) *Server {
	t.Helper()
	skipShort(t)
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := StartCluster(ctx, o)
	if err != nil {
		t.Fatalf("start a PostgreSQL-backed Temporal server: %v", err)
	}
	tc, err := client.DialContext(ctx, c.ClientOptions())
	if err != nil {
		_ = c.Close()
		t.Fatalf("connect to %s: %v", c.Address, err)
	}
	t.Cleanup(func() {
		tc.Close()
		if t.Failed() {
			t.Logf("--- temporal-server log (%s) ---\n%s", c.LogFile, c.LogTail(6000))
		}
		if err := c.Close(); err != nil {
			t.Errorf("stopping the PostgreSQL-backed server: %v", err)
		}
	})
	return &Server{Client: tc, Address: c.Address, Cluster: c}
}

// StartWorker runs the workflows and acts on taskQueue until the test ends; captures send events
// when acts.Events is set.
func (s *Server) StartWorker(t testing.TB, taskQueue string, acts *activities.Activities) {
	t.Helper()
	w := worker.New(s.Client, taskQueue, worker.Options{})
	workflows.RegisterWith(w, workflows.Options{Events: acts.Events != nil})
	w.RegisterActivity(acts)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

// StartCaptureSystem starts a dev server, a simulator and a worker on taskQueue: what a test of
// CaptureWorkflow's callers needs. Both stop when the test ends.
func StartCaptureSystem(t testing.TB, taskQueue string) (*Server, *alipaytest.Server) {
	t.Helper()
	srv := Start(t)
	sim := alipaytest.NewServer(alipaytest.Config{})
	t.Cleanup(sim.Close)
	antom, err := alipay.NewClient(sim.Config())
	if err != nil {
		t.Fatal(err)
	}
	srv.StartWorker(t, taskQueue, &activities.Activities{Antom: antom})
	return srv, sim
}
