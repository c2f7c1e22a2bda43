// Command webhook receives Antom's notifications (docs/contract.md, The webhook): it verifies them, signals the
// capture workflows, and acknowledges only what Temporal accepted. Configuration comes from the
// environment; run with --help for the list.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/internal/config"
	"github.com/capturekit/alipay-capture/internal/lifecycle"
	"github.com/capturekit/alipay-capture/internal/metrics"
	"github.com/capturekit/alipay-capture/internal/namespace"
	"github.com/capturekit/alipay-capture/webhook/receiver"
)

func main() {
	lifecycle.Main("webhook", "Receives Antom notifications, verifies them and signals the capture workflows.", &config.Webhook{}, run)
}

func run(log *slog.Logger) error {
	var s config.Webhook
	if err := config.Load(&s); err != nil {
		return err
	}
	if !strings.HasPrefix(s.Path, "/") {
		return fmt.Errorf("WEBHOOK_PATH %q must start with /", s.Path)
	}
	merchants, err := s.Alipay.Merchants(false)
	if err != nil {
		return err
	}
	verifiers := make(alipay.NotificationVerifiers, 0, len(merchants))
	names := make([]string, 0, len(merchants))
	for _, m := range merchants {
		verifiers = append(verifiers, m.Verifier())
		names = append(names, m.Name)
	}
	reg, err := metrics.New(log, "webhook")
	if err != nil {
		return err
	}
	opts, err := s.Temporal.ClientOptions(log)
	if err != nil {
		return err
	}
	opts.MetricsHandler = reg.Temporal
	// Lazy: the receiver starts even while Temporal is down and answers 5xx, so Antom resends.
	tc, err := client.NewLazyClient(opts)
	if err != nil {
		return fmt.Errorf("TEMPORAL_ADDRESS %q: %w", s.Temporal.Address, err)
	}
	defer tc.Close()
	// A wrong namespace would make every notification look like one for no running capture:
	// refuse to start. An unreachable Temporal is a passing outage: start and answer 5xx.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err = namespace.CheckSearchAttributes(ctx, tc, s.Temporal.Namespace)
	cancel()
	switch {
	case errors.Is(err, namespace.ErrNotReady):
		return fmt.Errorf("TEMPORAL_NAMESPACE: %w", err)
	case err != nil:
		log.Warn("could not check the Temporal namespace at start; notifications get 503 until Temporal answers", "err", err)
	}
	h := &receiver.Handler{
		Verifier:   verifiers,
		Path:       s.Path,
		Temporal:   tc,
		ForwardURL: s.ForwardURL,
		TaskQueue:  s.TaskQueue,
		Logger:     log,
		Metrics:    receiver.NewMetrics(reg.Prometheus, names...),
	}
	mux := receiver.Routes(h)
	mux.Handle("GET /metrics", reg.Handler())
	if s.PprofListen != "" {
		stop, err := servePprof(s.PprofListen, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	srv := &http.Server{
		Addr: s.Listen, Handler: mux,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
	}
	err = lifecycle.Serve(srv, func() {
		log.Info("webhook listening", "addr", s.Listen, "path", s.Path, "temporal", s.Temporal.Address, "namespace", s.Temporal.Namespace, "merchants", names, "forward", s.ForwardURL != "")
	})
	if err != nil {
		return fmt.Errorf("WEBHOOK_LISTEN %q: %w", s.Listen, err)
	}
	return nil
}

// servePprof serves Go's profiles on addr, which must be a loopback address: profiles reveal
// memory contents and must never be reachable from where Antom's notifications come.
func servePprof(addr string, log *slog.Logger) (stop func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("WEBHOOK_PPROF_LISTEN %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("WEBHOOK_PPROF_LISTEN %q: must be a loopback address such as 127.0.0.1:6060", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("WEBHOOK_PPROF_LISTEN %q: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	log.Info("profiles served", "addr", l.Addr().String())
	return func() { _ = srv.Close() }, nil
}
