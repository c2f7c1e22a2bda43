// Command worker hosts CaptureWorkflow and its activities. It reads its configuration from the
// environment (run with --help), refuses to start on bad configuration or a namespace without the
// search attributes, logs JSON, serves Prometheus metrics, and on SIGINT or SIGTERM stops polling
// and lets running activities finish.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/capturekit/alipay-capture/activities"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/internal/config"
	"github.com/capturekit/alipay-capture/internal/lifecycle"
	"github.com/capturekit/alipay-capture/internal/metrics"
	"github.com/capturekit/alipay-capture/internal/namespace"
	"github.com/capturekit/alipay-capture/workflows"
)

func main() {
	lifecycle.Main("worker", "Runs CaptureWorkflow and its activities.", &config.Worker{}, run)
}

func run(log *slog.Logger) error {
	var s config.Worker
	if err := config.Load(&s); err != nil {
		return err
	}
	merchants, err := s.Alipay.Merchants(true)
	if err != nil {
		return err
	}
	acts := &activities.Activities{Merchants: map[string]activities.Antom{}}
	accounts := make([]string, 0, len(merchants))
	names := make([]string, 0, len(merchants))
	for _, m := range merchants {
		names = append(names, m.Name)
		c, err := m.Client()
		if err != nil {
			return err
		}
		acts.Merchants[m.Name] = c
		accounts = append(accounts, fmt.Sprintf("%s=%s@%s", m.Name, m.ClientID, m.BaseURL))
	}
	if acts.Events, err = s.Events(); err != nil {
		return err
	}
	reg, err := metrics.New(log, "worker")
	if err != nil {
		return err
	}
	opts, err := s.Temporal.ClientOptions(log)
	if err != nil {
		return err
	}
	reg.ExpectMerchants(names...)
	opts.MetricsHandler = reg.Temporal
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("TEMPORAL_ADDRESS %q: cannot reach Temporal: %w", s.Temporal.Address, err)
	}
	defer c.Close()
	if err := namespace.CheckSearchAttributes(ctx, c, s.Temporal.Namespace); err != nil {
		return err
	}

	cc := capture.Client{Temporal: c, TaskQueue: s.TaskQueue, DataConverter: opts.DataConverter}
	// Any worker may run the census workflow; each exports its latest census.
	acts.TakeCensus = func(ctx context.Context) (workflows.CensusSnapshot, error) {
		cs, err := cc.Census(ctx, time.Now(), 24*time.Hour)
		return cs.Snapshot(), err
	}
	if s.MetricsListen != "" {
		if s.CensusEvery < time.Second {
			return fmt.Errorf("WORKER_CENSUS_INTERVAL %v: want at least 1s", s.CensusEvery)
		}
		started, err := cc.KeepCensus(ctx, s.CensusEvery)
		switch {
		case err != nil:
			log.Warn("could not start the census workflow; the census gauges stay empty until a worker does", "err", err)
		case started:
			log.Info("census workflow started", "workflowId", workflows.CensusWorkflowID, "every", s.CensusEvery)
		}
		reg.Prometheus.MustRegister(metrics.NewCensusCollector(func(ctx context.Context, now time.Time) (capture.Census, error) {
			cs, err := cc.LatestCensus(ctx)
			if err == nil && now.Sub(cs.At) > 4*s.CensusEvery+time.Minute {
				err = fmt.Errorf("the latest census was taken at %s: the census workflow %s does not run or its censuses fail", cs.At.Format(time.RFC3339), workflows.CensusWorkflowID)
			}
			return cs, err
		}, s.CensusEvery, log))
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", reg.Handler())
		srv := &http.Server{Addr: s.MetricsListen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
				log.Error("metrics endpoint failed", "addr", s.MetricsListen, "err", err)
			}
		}()
		defer srv.Close()
	}

	if s.StickyCacheSize > 0 {
		worker.SetStickyWorkflowCacheSize(s.StickyCacheSize)
	}
	w := worker.New(c, s.TaskQueue, worker.Options{
		WorkerStopTimeout:                      s.StopTimeout,
		MaxConcurrentActivityExecutionSize:     s.MaxConcurrentActivities,
		MaxConcurrentWorkflowTaskExecutionSize: s.MaxConcurrentWorkflowTasks,
		MaxConcurrentWorkflowTaskPollers:       s.Pollers,
		MaxConcurrentActivityTaskPollers:       s.Pollers,
	})
	workflows.RegisterWith(w, workflows.Options{Events: acts.Events != nil})
	w.RegisterActivity(acts)
	log.Info("worker started", "temporal", s.Temporal.Address, "namespace", s.Temporal.Namespace,
		"taskQueue", s.TaskQueue, "merchants", accounts, "events", s.EventsURL != "", "metrics", s.MetricsListen)
	if err := w.Run(worker.InterruptCh()); err != nil {
		return err
	}
	log.Info("worker stopped gracefully")
	return nil
}
