package metrics

import (
	"context"
	"errors"
	"log/slog"
	"math/big"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/capturekit/alipay-capture/capture"
)

func TestCensusCollector(t *testing.T) {
	calls := 0
	var fail error
	risky := true
	census := func(context.Context, time.Time) (capture.Census, error) {
		calls++
		if !risky {
			return capture.Census{}, nil
		}
		return capture.Census{Running: 3, Unknown: 2, Overdue: 1, NearDeadline: 1,
			AtRisk: map[capture.Pot]*big.Int{{Merchant: "default", Currency: "USD"}: big.NewInt(1075),
				{Merchant: "default", Currency: "JPY"}: big.NewInt(500), {Merchant: "europe", Currency: "USD"}: big.NewInt(99)},
			AtRiskNearDeadline: map[capture.Pot]*big.Int{{Merchant: "default", Currency: "USD"}: big.NewInt(1050)}}, fail
	}
	reg := prometheus.NewRegistry()
	c := NewCensusCollector(census, time.Hour, slog.New(slog.DiscardHandler))
	reg.MustRegister(c)
	values := func() map[string]float64 {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, f := range families {
			for _, m := range f.GetMetric() {
				key := f.GetName()
				for _, l := range m.GetLabel() {
					key += "," + l.GetValue()
				}
				out[key] = m.GetGauge().GetValue()
			}
		}
		return out
	}
	got := values()
	for key, want := range map[string]float64{
		"alipay_capture_running": 3, "alipay_capture_unknown": 2, "alipay_capture_overdue": 1, "alipay_capture_near_deadline": 1,
		"alipay_capture_amount_at_risk_minor_units,USD,default": 1075, "alipay_capture_amount_at_risk_minor_units,JPY,default": 500,
		"alipay_capture_amount_at_risk_minor_units,USD,europe":                99,
		"alipay_capture_amount_at_risk_near_deadline_minor_units,USD,default": 1050, "alipay_capture_census_success": 1,
		"alipay_capture_amount_at_risk_near_deadline_minor_units,JPY,default": 0,
		"alipay_capture_amount_at_risk_near_deadline_minor_units,USD,europe":  0,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (exported: %v), want %v", key, v, ok, want)
		}
	}
	values()
	if calls != 1 {
		t.Errorf("census ran %d times for two scrapes within the TTL, want 1", calls)
	}

	// Nothing at risk any more: the pots seen say 0 rather than nothing.
	risky = false
	c.at = time.Time{} // the TTL has passed
	got = values()
	for _, pot := range []string{"USD,default", "JPY,default", "USD,europe"} {
		for _, name := range []string{"alipay_capture_amount_at_risk_minor_units", "alipay_capture_amount_at_risk_near_deadline_minor_units"} {
			if v, ok := got[name+","+pot]; !ok || v != 0 {
				t.Errorf("%s{%s} = %v (exported: %v), want 0", name, pot, v, ok)
			}
		}
	}
	if v, ok := got["alipay_capture_running"]; !ok || v != 0 {
		t.Errorf("alipay_capture_running = %v (exported: %v), want 0", v, ok)
	}

	risky, fail = true, errors.New("visibility down")
	c.at = time.Time{} // the TTL has passed
	got = values()
	if got["alipay_capture_census_success"] != 0 || len(got) != 1 {
		t.Errorf("after a failed census: %v; want only census_success 0", got)
	}
}
