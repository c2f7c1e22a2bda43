package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"

	"github.com/capturekit/alipay-capture/activities"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestMerchantRouting: the input's merchant account reaches every activity (which picks that
// account's Antom client), the status, the AlipayMerchant search attribute and the metrics; a
// capture request that names another account is refused.
func TestMerchantRouting(t *testing.T) {
	h := newHarness(t)
	var merchants []string
	h.capture = func(n int, in workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
		merchants = append(merchants, in.Merchant)
		if n == 1 {
			return inProcess(n, in)
		}
		return workflows.CaptureActivityResult{Result: resS, CaptureID: "CAP2", CaptureAmount: in.Request.CaptureAmount}, nil
	}
	in := authorizeInput(true)
	in.Merchant = "europe"
	n := note("S", id("ship-1"))
	n.CaptureAmount = usd4
	// The same result verified with another account's key is not this capture's (rule 15).
	h.signalFrom(2*time.Hour, workflows.DefaultMerchant, n)
	h.signalFrom(3*time.Hour, "europe", n)
	first := h.update(time.Hour, "first", workflows.CaptureRequest{Amount: usd4, Key: "ship-1", Merchant: "europe"})
	other := h.update(2*time.Hour, "other", workflows.CaptureRequest{Amount: usd4, Key: "ship-2", Merchant: workflows.DefaultMerchant})
	second := h.update(4*time.Hour, "second", workflows.CaptureRequest{Amount: usd6, Key: "ship-3", IsLastCapture: true})
	var between workflows.Status
	h.env.RegisterDelayedCallback(func() { between = h.query() }, 150*time.Minute)
	h.authorize(in)
	st := h.result()
	if len(between.Captures) != 1 || between.Captures[0].State != workflows.StateUnknown {
		t.Errorf("after the other account's notification: %+v, want the capture still UNKNOWN", between.Captures)
	}
	if st.Captures[0].ResolvedBy != workflows.ResolvedByNotification || st.Captures[0].State != workflows.StateCaptured {
		t.Errorf("the account's own notification: %+v", st.Captures[0])
	}
	if first.err != nil || second.err != nil || !first.accepted || !second.accepted {
		t.Errorf("requests of the account (named, and unnamed): %+v / %+v", first, second)
	}
	if other.accepted || other.rejected == nil || !strings.Contains(other.rejected.Error(), `captured by merchant account "europe", not "default"`) {
		t.Errorf("request naming another account: accepted %v, rejected %v", other.accepted, other.rejected)
	}
	if len(merchants) != 2 || merchants[0] != "europe" || merchants[1] != "europe" {
		t.Errorf("capture activities ran for merchants %v, want europe twice", merchants)
	}
	if len(h.inquiries) == 0 {
		t.Errorf("no inquiry while the first capture was in process")
	}
	for _, m := range h.merchants {
		if _, account, _ := strings.Cut(m, ":"); account != "europe" {
			t.Errorf("activity %s: every call of the account's capture goes to its own account", m)
		}
	}
	if st.Merchant != "europe" || st.State != workflows.StateCaptured {
		t.Errorf("status %+v", st)
	}
	if got := h.attrs[workflows.SearchAttrMerchant]; got != "europe" {
		t.Errorf("AlipayMerchant = %v, want europe", got)
	}

	// An input without an account is the default account's, and writes no AlipayMerchant
	// (capture.Client writes it at start; List treats a missing one as the default account).
	h = newHarness(t)
	h.run(input())
	if st := h.result(); st.Merchant != workflows.DefaultMerchant {
		t.Errorf("status without a merchant: %+v", st)
	}
	if _, set := h.attrs[workflows.SearchAttrMerchant]; set {
		t.Errorf("AlipayMerchant written for an input without one")
	}

	// A name that cannot be an account's is refused before anything is sent.
	h = newHarness(t)
	bad := input()
	bad.Merchant = "asia/pacific"
	h.authorize(bad)
	if st := h.failure(workflows.ErrTypeInvalidInput); !strings.Contains(st.ResultMessage, "merchant") || len(h.captureReq) != 0 {
		t.Errorf("invalid merchant: %+v, %d captures", st, len(h.captureReq))
	}
}

// TestMerchantMetricLabel: the workflow's metrics carry the merchant account.
func TestMerchantMetricLabel(t *testing.T) {
	reg, s := metricsSuite(t)
	for _, merchant := range []string{"", "europe"} {
		env := s.NewTestWorkflowEnvironment()
		env.SetStartTime(t0)
		env.RegisterWorkflow(workflows.CaptureWorkflow)
		env.RegisterActivity(&activities.Activities{})
		env.OnActivity(workflows.ActivityCapture, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
				return workflows.CaptureActivityResult{Result: resS, CaptureID: "C", CaptureAmount: in.Request.CaptureAmount}, nil
			})
		env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
		env.OnUpsertMemo(mock.Anything).Return(nil)
		in := input()
		in.Merchant = merchant
		startCapture(env, in)
		env.ExecuteWorkflow(workflows.CaptureWorkflow, in)
	}
	families, err := reg.Prometheus.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != workflows.MetricFinished && f.GetName() != workflows.MetricStarted {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "merchant" {
					got[f.GetName()+","+l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	for _, key := range []string{"started_total,default", "started_total,europe", "finished_total,default", "finished_total,europe"} {
		if got["alipay_capture_"+key] != 1 {
			t.Errorf("alipay_capture_%s = %v, want 1 (all: %v)", key, got["alipay_capture_"+key], got)
		}
	}
}
