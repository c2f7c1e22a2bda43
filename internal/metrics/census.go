package metrics

import (
	"context"
	"log/slog"
	"maps"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/capturekit/alipay-capture/capture"
)

// CensusCollector exports capture.Census as gauges, refreshed at most every TTL so that
// scrapes do not hammer the visibility store.
type CensusCollector struct {
	census func(ctx context.Context, now time.Time) (capture.Census, error)
	ttl    time.Duration
	log    *slog.Logger

	mu   sync.Mutex
	last capture.Census
	at   time.Time
	ok   bool
	// pots are the merchant accounts and currencies seen at risk since the process started:
	// their gauges stay, at 0 when nothing is at risk there.
	pots map[capture.Pot]bool

	running, unknown, overdue, near, atRisk, atRiskNear, lastOK *prometheus.Desc
}

// NewCensusCollector returns a collector over census (typically capture.Client.Census).
func NewCensusCollector(census func(ctx context.Context, now time.Time) (capture.Census, error), ttl time.Duration, log *slog.Logger) *CensusCollector {
	return &CensusCollector{
		census:     census,
		ttl:        ttl,
		log:        log,
		pots:       map[capture.Pot]bool{},
		running:    prometheus.NewDesc("alipay_capture_running", "Captures running (PENDING, CAPTURING or UNKNOWN): money not captured yet.", nil, nil),
		unknown:    prometheus.NewDesc("alipay_capture_unknown", "Captures in UNKNOWN now, waiting for Antom's answer.", nil, nil),
		overdue:    prometheus.NewDesc("alipay_capture_overdue", "Captures in UNKNOWN past their deadline: Antom still processing them.", nil, nil),
		near:       prometheus.NewDesc("alipay_capture_near_deadline", "Running captures within 24 h of their deadline.", nil, nil),
		atRisk:     prometheus.NewDesc("alipay_capture_amount_at_risk_minor_units", "Amount of running captures by merchant account and currency, in minor units (cents for USD).", []string{"merchant", "currency"}, nil),
		atRiskNear: prometheus.NewDesc("alipay_capture_amount_at_risk_near_deadline_minor_units", "Amount of running captures within 24 h of their deadline, by merchant account and currency, in minor units.", []string{"merchant", "currency"}, nil),
		lastOK:     prometheus.NewDesc("alipay_capture_census_success", "1 if the last census of running captures succeeded.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *CensusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.running, c.unknown, c.overdue, c.near, c.atRisk, c.atRiskNear, c.lastOK} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *CensusCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if time.Since(c.at) >= c.ttl {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cs, err := c.census(ctx, time.Now())
		cancel()
		c.at, c.ok = time.Now(), err == nil
		if err != nil {
			c.log.Warn("capture census failed", "err", err)
		} else {
			c.last = cs
			for p := range cs.AtRisk {
				c.pots[p] = true
			}
			for p := range cs.AtRiskNearDeadline {
				c.pots[p] = true
			}
		}
	}
	cs, ok, pots := c.last, c.ok, slices.Collect(maps.Keys(c.pots))
	c.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(c.lastOK, prometheus.GaugeValue, boolFloat(ok))
	if !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.running, prometheus.GaugeValue, float64(cs.Running))
	ch <- prometheus.MustNewConstMetric(c.unknown, prometheus.GaugeValue, float64(cs.Unknown))
	ch <- prometheus.MustNewConstMetric(c.overdue, prometheus.GaugeValue, float64(cs.Overdue))
	ch <- prometheus.MustNewConstMetric(c.near, prometheus.GaugeValue, float64(cs.NearDeadline))
	for _, p := range pots {
		ch <- prometheus.MustNewConstMetric(c.atRisk, prometheus.GaugeValue, minorUnits(cs.AtRisk[p]), p.Merchant, p.Currency)
		ch <- prometheus.MustNewConstMetric(c.atRiskNear, prometheus.GaugeValue, minorUnits(cs.AtRiskNearDeadline[p]), p.Merchant, p.Currency)
	}
}

// minorUnits returns the sum as a Prometheus value (0 for none): exact while below 2^53 minor
// units.
func minorUnits(v *big.Int) float64 {
	if v == nil {
		return 0
	}
	f, _ := new(big.Float).SetInt(v).Float64()
	return f
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
