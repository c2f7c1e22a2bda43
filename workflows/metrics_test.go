package workflows_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/capturekit/alipay-capture/activities"
	"github.com/capturekit/alipay-capture/internal/metrics"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestWorkflowMetrics: a capture counts as started and finished by outcome, resolver and result
// code, with its time to result, on the worker's Prometheus registry.
func TestWorkflowMetrics(t *testing.T) {
	reg, s := metricsSuite(t)
	for _, status := range []string{"S", "F"} {
		env := s.NewTestWorkflowEnvironment()
		env.SetStartTime(t0)
		env.RegisterWorkflow(workflows.CaptureWorkflow)
		env.RegisterActivity(&activities.Activities{})
		env.OnActivity(workflows.ActivityCapture, mock.Anything, mock.Anything).Return(
			func(context.Context, workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
				return workflows.CaptureActivityResult{Result: resU}, nil
			})
		env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
		env.OnUpsertMemo(mock.Anything).Return(nil)
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalNotifyCapture, note(status, reqID)) }, 90*1e9)
		startCapture(env, input())
		env.ExecuteWorkflow(workflows.CaptureWorkflow, input())
	}
	families, err := reg.Prometheus.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{} // "name{outcome,resolved_by}" → counter value or histogram count
	var sum float64
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" || l.GetName() == "resolved_by" || l.GetName() == "code" {
					key += "," + l.GetValue()
				}
			}
			switch {
			case m.GetCounter() != nil:
				got[key] += m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				got[key] += float64(m.GetHistogram().GetSampleCount())
				sum += m.GetHistogram().GetSampleSum()
			}
		}
	}
	for key, want := range map[string]float64{
		"alipay_capture_started_total":                          2,
		"alipay_capture_finished_total,CAPTURED,notification":   1,
		"alipay_capture_finished_total,FAILED,notification":     1,
		"alipay_capture_result_codes_total,SUCCESS,CAPTURED":    1,
		"alipay_capture_result_codes_total,PROCESS_FAIL,FAILED": 1,
		"alipay_capture_time_to_result_seconds,CAPTURED":        1,
		"alipay_capture_time_to_result_seconds,FAILED":          1,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
	if sum != 180 {
		t.Errorf("time to result sums to %v s, want 2 × 90 s", sum)
	}
}

// TestExpiringMetric: an authorization nobody captures is counted once per deadline warning
// (48 h and 24 h before the deadline by default).
func TestExpiringMetric(t *testing.T) {
	reg, s := metricsSuite(t)
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	env.RegisterWorkflow(workflows.CaptureWorkflow)
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	env.OnUpsertMemo(mock.Anything).Return(nil)
	in := input()
	env.ExecuteWorkflow(workflows.CaptureWorkflow, in)
	families, err := reg.Prometheus.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var warnings float64
	for _, f := range families {
		if f.GetName() == workflows.MetricExpiring {
			for _, m := range f.GetMetric() {
				warnings += m.GetCounter().GetValue()
			}
		}
	}
	if warnings != 2 {
		t.Errorf("%s = %v, want 2 (48 h and 24 h before the deadline)", workflows.MetricExpiring, warnings)
	}
}

// metricsSuite returns a worker's metrics registry and a test suite that reports to it.
func metricsSuite(t *testing.T) (*metrics.Registry, *testsuite.WorkflowTestSuite) {
	t.Helper()
	reg, err := metrics.New(slog.New(slog.DiscardHandler), "worker")
	if err != nil {
		t.Fatal(err)
	}
	s := &testsuite.WorkflowTestSuite{}
	s.SetMetricsHandler(reg.Temporal)
	return reg, s
}
