package receiver

import (
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/capturekit/alipay-capture/alipay"
)

// Metrics counts what the receiver does with notifications. A nil *Metrics records nothing.
type Metrics struct {
	received     *prometheus.CounterVec
	refused      *prometheus.CounterVec
	signalled    *prometheus.CounterVec
	signalFailed *prometheus.CounterVec
	orphaned     *prometheus.CounterVec
	duplicates   *prometheus.CounterVec
	contradicted *prometheus.CounterVec
	relayed      *prometheus.CounterVec
	ackSeconds   prometheus.Histogram
}

// Refusal reasons of the receiver's own, beside alipay.RefusalReasons.
const (
	reasonTooLarge       = "too_large"
	reasonUnhandledType  = "unhandled_type"
	reasonUnknownPayment = "unknown_payment"
)

// NewMetrics registers the receiver's metrics with reg. Counters of verified notifications carry
// the merchant account (label merchant); refusals do not, since an unverified Client-Id says
// nothing. Every series whose labels are known in advance is created at 0, for these merchant
// accounts, so that Prometheus counts the first event of each; only the relayed counter's HTTP
// statuses are born with their first notification.
func NewMetrics(reg prometheus.Registerer, merchants ...string) *Metrics {
	m := &Metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "alipay_capture_notifications_received_total",
			Help: "Verified notifications received, by merchant account and notifyType."}, []string{"merchant", "notify_type"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "alipay_capture_notifications_refused_total",
			Help: "Notifications refused, by reason (bad_signature, client_id, malformed, too_large, unhandled_type, unknown_payment)."}, []string{"reason"}),
		signalled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "alipay_capture_notifications_signalled_total",
			Help: "Capture notifications handed to their workflow, by merchant account and result status (S, F)."}, []string{"merchant", "result"}),
		signalFailed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "alipay_capture_notifications_signal_failed_total",
			Help: "Capture notifications answered 5xx because Temporal did not take the signal (Antom resends), by merchant account."}, []string{"merchant"}),
		orphaned: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "alipay_capture_notifications_orphaned_total",
			Help: "Capture notifications for a finished capture that agree with its final state, acknowledged, by merchant account."}, []string{"merchant"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "alipay_capture_notifications_duplicate_total",
			Help: "Resent capture notifications the running capture already held, acknowledged without a signal, by merchant account."}, []string{"merchant"}),
		contradicted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "alipay_capture_notifications_contradicting_total",
			Help: "Capture notifications that contradict a finished capture, recorded as a reconciliation workflow, then acknowledged, by merchant account."}, []string{"merchant"}),
		relayed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "alipay_capture_notifications_relayed_total",
			Help: "Notifications of other types relayed to WEBHOOK_FORWARD_URL, by merchant account and downstream HTTP status."}, []string{"merchant", "status"}),
		ackSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "alipay_capture_notification_ack_seconds",
			Help:    "Time from receiving a capture notification to acknowledging it.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}),
	}
	reg.MustRegister(m.received, m.refused, m.signalled, m.signalFailed, m.orphaned, m.duplicates, m.contradicted, m.relayed, m.ackSeconds)
	for _, r := range append(slices.Clone(alipay.RefusalReasons), reasonTooLarge, reasonUnhandledType, reasonUnknownPayment) {
		m.refused.WithLabelValues(r)
	}
	for _, mer := range merchants {
		for _, t := range append(slices.Clone(knownNotifyTypes), otherNotifyType) {
			m.received.WithLabelValues(mer, t)
		}
		for _, r := range []string{alipay.StatusSuccess, alipay.StatusFail} {
			m.signalled.WithLabelValues(mer, r)
		}
		for _, c := range []*prometheus.CounterVec{m.signalFailed, m.orphaned, m.duplicates, m.contradicted} {
			c.WithLabelValues(mer)
		}
	}
	return m
}

func (m *Metrics) receivedType(merchant, t string) {
	if m != nil {
		m.received.WithLabelValues(merchant, notifyTypeLabel(t)).Inc()
	}
}

// knownNotifyTypes are the notifyType values of the spec (§5, §9) and notifyRefund's; the label
// of any other is otherNotifyType, so that a signed notification cannot grow /metrics.
var knownNotifyTypes = []string{alipay.NotifyTypeCaptureResult, "PAYMENT_RESULT", "PAYMENT_PENDING", "UPDATE_AMOUNT_RESULT", "REFUND_RESULT"}

const otherNotifyType = "other"

func notifyTypeLabel(t string) string {
	if slices.Contains(knownNotifyTypes, t) {
		return t
	}
	return otherNotifyType
}

func (m *Metrics) refusedFor(reason string) {
	if m != nil {
		m.refused.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) signalledResult(merchant, status string, start time.Time) {
	if m != nil {
		m.signalled.WithLabelValues(merchant, status).Inc()
		m.ackSeconds.Observe(time.Since(start).Seconds())
	}
}

func (m *Metrics) orphan(merchant string, start time.Time) {
	if m != nil {
		m.orphaned.WithLabelValues(merchant).Inc()
		m.ackSeconds.Observe(time.Since(start).Seconds())
	}
}

func (m *Metrics) duplicateOf(merchant string, start time.Time) {
	if m != nil {
		m.duplicates.WithLabelValues(merchant).Inc()
		m.ackSeconds.Observe(time.Since(start).Seconds())
	}
}

func (m *Metrics) contradiction(merchant string, start time.Time) {
	if m != nil {
		m.contradicted.WithLabelValues(merchant).Inc()
		m.ackSeconds.Observe(time.Since(start).Seconds())
	}
}

func (m *Metrics) signalFailure(merchant string) {
	if m != nil {
		m.signalFailed.WithLabelValues(merchant).Inc()
	}
}

func (m *Metrics) relayedStatus(merchant string, code int) {
	if m != nil {
		m.relayed.WithLabelValues(merchant, strconv.Itoa(code)).Inc()
	}
}
