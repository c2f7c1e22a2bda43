package metrics

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/capturekit/alipay-capture/workflows"
)

// series returns every series of the registry as "name{label=value,…}" → value (a histogram's
// sample count).
func series(t *testing.T, r *Registry) map[string]float64 {
	t.Helper()
	families, err := r.Prometheus.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var l []string
			for _, p := range m.GetLabel() {
				l = append(l, p.GetName()+"="+p.GetValue())
			}
			key := f.GetName() + "{" + strings.Join(l, ",") + "}"
			switch {
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				out[key] = float64(m.GetHistogram().GetSampleCount())
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}

// TestExpectMerchants: the workflow's series exist at 0 before the first capture, and the first
// capture counts into them, whatever tags the SDK adds on the way.
func TestExpectMerchants(t *testing.T) {
	r, err := New(slog.New(slog.DiscardHandler), "worker")
	if err != nil {
		t.Fatal(err)
	}
	r.ExpectMerchants("default", "europe")
	before := series(t, r)
	for _, key := range []string{
		`alipay_capture_process_info{process=worker}`,
		`alipay_capture_started_total{merchant=europe}`,
		`alipay_capture_finished_total{merchant=default,outcome=UNRESOLVED,resolved_by=timeout}`,
		`alipay_capture_finished_total{merchant=europe,outcome=CAPTURED,resolved_by=response}`,
		`alipay_capture_time_to_result_seconds{merchant=default,outcome=EXPIRED}`,
		`alipay_capture_discrepancies_total{merchant=default}`,
		`alipay_capture_expiring_total{merchant=europe}`,
		`alipay_capture_workflow_contradictions_total{merchant=default,result=S}`,
	} {
		want := 0.0
		if strings.HasPrefix(key, "alipay_capture_process_info") {
			want = 1
		}
		if v, ok := before[key]; !ok || v != want {
			t.Errorf("%s = %v (exported: %v), want %v before any capture", key, v, ok, want)
		}
	}
	// The SDK's own tags, then the workflow's, as workflow.GetMetricsHandler hands them out.
	h := r.Temporal.WithTags(map[string]string{"namespace": "default", "task_queue": "alipay-capture", "workflow_type": "CaptureWorkflow"}).
		WithTags(map[string]string{workflows.LabelMerchant: "default"})
	done := h.WithTags(map[string]string{workflows.LabelOutcome: "CAPTURED", workflows.LabelResolvedBy: "response", workflows.LabelCode: "SUCCESS"})
	done.Counter(workflows.MetricFinished).Inc(1)
	done.Counter(workflows.MetricResultCodes).Inc(1)
	done.Timer(workflows.MetricTimeToResult).Record(3 * time.Second)
	after := series(t, r)
	for key, want := range map[string]float64{
		`alipay_capture_finished_total{merchant=default,outcome=CAPTURED,resolved_by=response}`: 1,
		`alipay_capture_result_codes_total{code=SUCCESS,merchant=default,outcome=CAPTURED}`:     1,
		`alipay_capture_time_to_result_seconds{merchant=default,outcome=CAPTURED}`:              1,
	} {
		if after[key] != want {
			t.Errorf("%s = %v, want %v", key, after[key], want)
		}
	}
	if n := len(after) - len(before); n != 1 {
		t.Errorf("the first capture added %d series, want 1 (its result code's)", n)
	}
}
