// Package lifecycle runs the processes' HTTP servers until SIGINT or SIGTERM, then shuts them
// down gracefully, so that in-flight requests (an Antom notification being signalled) finish.
package lifecycle

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// ShutdownTimeout bounds the graceful shutdown.
const ShutdownTimeout = 15 * time.Second

// Serve runs srv until it fails or the process is asked to stop. ready, if not nil, is called
// as the server starts listening. It returns nil after a clean shutdown.
func Serve(srv *http.Server, ready func()) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	if ready != nil {
		ready()
	}
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	return srv.Shutdown(shut)
}

// Main runs a process's run function with a JSON logger on stderr. --help prints what, then the
// environment variables cfg (an envconfig struct) reads. An error from run is logged and exits 1.
func Main(name, what string, cfg any, run func(log *slog.Logger) error) {
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: %s\n\n%s\n\nEnvironment:\n", name, what)
		_ = envconfig.Usagef("", cfg, os.Stderr, envconfig.DefaultListFormat)
	}
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error(name+" stopped", "err", err)
		os.Exit(1)
	}
}
