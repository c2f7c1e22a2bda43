// Package metrics gives each process one Prometheus registry: the Temporal SDK's metrics (through
// OpenTelemetry), Go runtime and process metrics, the capture workflow's own metrics and the
// process's, served on /metrics.
package metrics

import (
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"

	"github.com/capturekit/alipay-capture/workflows"
)

// MetricProcess is 1 for as long as a process answers scrapes, labelled process (worker,
// webhook): the "down" alerts key on it, whatever the scrape job is called.
const MetricProcess = "alipay_capture_process_info"

// Registry holds a process's metrics.
type Registry struct {
	// Prometheus is where the process registers its own collectors.
	Prometheus *prometheus.Registry
	// Temporal is handed to client.Options.MetricsHandler: the SDK's metrics go to
	// OpenTelemetry, the capture workflow's (workflows.Metric*) to collectors of their own.
	Temporal client.MetricsHandler
	own      map[string]*family
}

// family is one of the workflow's metrics: a counter or a histogram with fixed labels.
type family struct {
	labels  []string
	counter *prometheus.CounterVec
	timer   *prometheus.HistogramVec
}

// New returns the registry of process (worker, webhook), with runtime metrics, the Temporal
// SDK's metrics and the workflow's metric families. SDK metric errors are logged, never fatal.
func New(log *slog.Logger, process string) (*Registry, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricProcess,
		Help: "1 while the process runs, by process (worker, webhook)."}, []string{"process"})
	info.WithLabelValues(process).Set(1)
	reg.MustRegister(info)
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("metrics: prometheus exporter: %w", err)
	}
	sdk := temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp)).Meter("temporal-sdk-go"),
		UseMonotonicCounters: true, // Prometheus counters, so that rate() works
		OnError:              func(err error) { log.Warn("temporal metric", "err", err) },
	})
	r := &Registry{Prometheus: reg, own: workflowFamilies()}
	for _, f := range r.own {
		if f.counter != nil {
			reg.MustRegister(f.counter)
		} else {
			reg.MustRegister(f.timer)
		}
	}
	labels := map[string]bool{}
	for _, f := range r.own {
		for _, l := range f.labels {
			labels[l] = true
		}
	}
	r.Temporal = handler{sdk: sdk, own: r.own, labels: labels}
	return r, nil
}

// workflowFamilies declares the workflow's metrics with the labels workflows/contract.go gives them.
func workflowFamilies() map[string]*family {
	counter := func(name, help string, labels ...string) *family {
		return &family{labels: labels, counter: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)}
	}
	m, o := workflows.LabelMerchant, workflows.LabelOutcome
	// Time to a definitive result spans seconds (an S answer) to 7 days (an expiry).
	buckets := []float64{0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600}
	return map[string]*family{
		workflows.MetricStarted:  counter(workflows.MetricStarted, "Captures started, by merchant account.", m),
		workflows.MetricFinished: counter(workflows.MetricFinished, "Captures finished, by merchant account, outcome and what resolved them.", m, o, workflows.LabelResolvedBy),
		workflows.MetricTimeToResult: {labels: []string{m, o}, timer: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: workflows.MetricTimeToResult,
			Help: "Time from a capture's start to its definitive result, by merchant account and outcome.", Buckets: buckets}, []string{m, o})},
		workflows.MetricResultCodes: counter(workflows.MetricResultCodes,
			"Captures finished, by merchant account, outcome and last result code; a series is born at 1 with its code's first capture.", m, o, workflows.LabelCode),
		workflows.MetricDiscrepancies: counter(workflows.MetricDiscrepancies, "Successful captures of another amount than requested, by merchant account.", m),
		workflows.MetricExpiring:      counter(workflows.MetricExpiring, "Deadline warnings of authorizations with an uncaptured remainder, by merchant account.", m),
		workflows.MetricContradictions: counter(workflows.MetricContradictions,
			"Notifications that contradicted a final record of a running authorization, by merchant account and result (S, F).", m, workflows.LabelResult),
	}
}

// ExpectMerchants creates at 0 every series of the workflow's metrics whose label values are known
// in advance, for these merchant accounts: Prometheus' increase() and rate() count a series'
// first event only if they saw the series before it. The result codes of MetricResultCodes are
// an open set and are not created.
func (r *Registry) ExpectMerchants(merchants ...string) {
	for _, m := range merchants {
		r.own[workflows.MetricStarted].counter.WithLabelValues(m)
		r.own[workflows.MetricDiscrepancies].counter.WithLabelValues(m)
		r.own[workflows.MetricExpiring].counter.WithLabelValues(m)
		for _, res := range []string{"S", "F"} {
			r.own[workflows.MetricContradictions].counter.WithLabelValues(m, res)
		}
		for _, o := range workflows.FinalStates {
			r.own[workflows.MetricTimeToResult].timer.WithLabelValues(m, string(o))
			for _, by := range workflows.Resolvers {
				r.own[workflows.MetricFinished].counter.WithLabelValues(m, string(o), by)
			}
		}
	}
}

// Handler serves the registry in Prometheus' text format.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.Prometheus, promhttp.HandlerOpts{Registry: r.Prometheus})
}

// handler is a client.MetricsHandler that sends the workflow's metrics to their families, with
// only their own labels (the SDK's namespace, task_queue, … tags are dropped from them), and
// every other metric to the SDK's handler.
type handler struct {
	sdk    client.MetricsHandler
	own    map[string]*family
	labels map[string]bool   // the label names of the families
	tags   map[string]string // the tags set so far that are such labels
}

func (h handler) WithTags(tags map[string]string) client.MetricsHandler {
	next := handler{sdk: h.sdk.WithTags(tags), own: h.own, labels: h.labels, tags: h.tags}
	copied := false
	for k, v := range tags {
		if !h.labels[k] {
			continue
		}
		if !copied {
			next.tags, copied = maps.Clone(h.tags), true
			if next.tags == nil {
				next.tags = map[string]string{}
			}
		}
		next.tags[k] = v
	}
	return next
}

// values are f's labels from the tags; a tag never set is "".
func (h handler) values(f *family) prometheus.Labels {
	l := make(prometheus.Labels, len(f.labels))
	for _, k := range f.labels {
		l[k] = h.tags[k]
	}
	return l
}

func (h handler) Counter(name string) client.MetricsCounter {
	if f := h.own[name]; f != nil && f.counter != nil {
		return counter{f.counter.With(h.values(f))}
	}
	return h.sdk.Counter(name)
}

func (h handler) Gauge(name string) client.MetricsGauge { return h.sdk.Gauge(name) }

func (h handler) Timer(name string) client.MetricsTimer {
	if f := h.own[name]; f != nil && f.timer != nil {
		return timer{f.timer.With(h.values(f))}
	}
	return h.sdk.Timer(name)
}

type counter struct{ c prometheus.Counter }

func (c counter) Inc(n int64) { c.c.Add(float64(n)) }

type timer struct{ o prometheus.Observer }

func (t timer) Record(d time.Duration) { t.o.Observe(d.Seconds()) }
