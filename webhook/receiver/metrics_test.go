package receiver_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/capturekit/alipay-capture/webhook/receiver"
)

// TestMetricsExistBeforeTheFirstNotification: every counter whose labels are known is exported
// at 0 from the start, for each merchant account, so that Prometheus counts the first
// notification of each kind (a series born at 1 shows no increase).
func TestMetricsExistBeforeTheFirstNotification(t *testing.T) {
	reg := prometheus.NewRegistry()
	receiver.NewMetrics(reg, "default", "europe")
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var l []string
			for _, p := range m.GetLabel() {
				l = append(l, p.GetName()+"="+p.GetValue())
			}
			if m.GetCounter().GetValue() != 0 {
				t.Errorf("%s%v = %v before any notification", f.GetName(), l, m.GetCounter().GetValue())
			}
			got[f.GetName()+"{"+strings.Join(l, ",")+"}"] = true
		}
	}
	var want []string
	for _, reason := range []string{"bad_signature", "client_id", "malformed", "other", "too_large", "unhandled_type", "unknown_payment"} {
		want = append(want, "alipay_capture_notifications_refused_total{reason="+reason+"}")
	}
	for _, m := range []string{"default", "europe"} {
		want = append(want,
			"alipay_capture_notifications_received_total{merchant="+m+",notify_type=CAPTURE_RESULT}",
			"alipay_capture_notifications_received_total{merchant="+m+",notify_type=other}",
			"alipay_capture_notifications_signalled_total{merchant="+m+",result=S}",
			"alipay_capture_notifications_signalled_total{merchant="+m+",result=F}",
			"alipay_capture_notifications_signal_failed_total{merchant="+m+"}",
			"alipay_capture_notifications_orphaned_total{merchant="+m+"}",
			"alipay_capture_notifications_duplicate_total{merchant="+m+"}",
			"alipay_capture_notifications_contradicting_total{merchant="+m+"}")
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("%s is not exported before the first notification", w)
		}
	}
}
