// Package metrics gives each process one Prometheus registry: the Temporal SDK's metrics (through
// OpenTelemetry), Go runtime and process metrics, and the process's own, served on /metrics.
package metrics

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"

	"github.com/capturekit/alipay-capture/workflows"
)

// Registry holds a process's metrics.
type Registry struct {
	// Prometheus is where the process registers its own collectors.
	Prometheus *prometheus.Registry
	// Temporal is handed to client.Options.MetricsHandler to export the SDK's metrics.
	Temporal client.MetricsHandler
}

// New returns a registry with runtime metrics and the Temporal SDK's metrics wired in. SDK metric
// errors are logged, never fatal.
func New(log *slog.Logger) (*Registry, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("metrics: prometheus exporter: %w", err)
	}
	// Time to a definitive result spans seconds (an S answer) to 7 days (an expiry).
	timeToResult := sdkmetric.NewView(sdkmetric.Instrument{Name: workflows.MetricTimeToResult}, sdkmetric.Stream{
		Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: []float64{
			0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600}},
	})
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithView(timeToResult))
	handler := temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                provider.Meter("temporal-sdk-go"),
		UseMonotonicCounters: true, // Prometheus counters, so that rate() works
		OnError:              func(err error) { log.Warn("temporal metric", "err", err) },
	})
	return &Registry{Prometheus: reg, Temporal: handler}, nil
}

// Handler serves the registry in Prometheus' text format.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.Prometheus, promhttp.HandlerOpts{Registry: r.Prometheus})
}
