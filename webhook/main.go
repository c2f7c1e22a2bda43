// Command webhook receives Antom's notifications (DESIGN.md §4): it verifies them, signals the
// capture workflows, and acknowledges only what Temporal accepted. Configuration comes from the
// environment; run with --help for the list.
package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/internal/config"
	"github.com/capturekit/alipay-capture/internal/lifecycle"
	"github.com/capturekit/alipay-capture/internal/metrics"
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
	if err := s.Alipay.RequireClientID(); err != nil {
		return err
	}
	antomKey, err := s.Alipay.AntomKey()
	if err != nil {
		return err
	}
	reg, err := metrics.New(log)
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
	h := &receiver.Handler{
		Verifier:   alipay.NotificationVerifier{ClientID: s.Alipay.ClientID, AntomPublicKey: antomKey},
		Path:       s.Path,
		Temporal:   tc,
		ForwardURL: s.ForwardURL,
		Logger:     log,
		Metrics:    receiver.NewMetrics(reg.Prometheus),
	}
	mux := receiver.Routes(h)
	mux.Handle("GET /metrics", reg.Handler())
	if s.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		log.Warn("WEBHOOK_PPROF is on: /debug/pprof/ is served on the notification listener")
	}
	srv := &http.Server{
		Addr: s.Listen, Handler: mux,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
	}
	err = lifecycle.Serve(srv, func() {
		log.Info("webhook listening", "addr", s.Listen, "path", s.Path, "temporal", s.Temporal.Address, "namespace", s.Temporal.Namespace, "forward", s.ForwardURL != "")
	})
	if err != nil {
		return fmt.Errorf("WEBHOOK_LISTEN %q: %w", s.Listen, err)
	}
	return nil
}
