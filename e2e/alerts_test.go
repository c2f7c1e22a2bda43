package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/internal/stack"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestAlertsOnRealPrometheus runs Prometheus (Debian's package, as scripts/prometheus fetches it)
// against the worker and the webhook, under scrape job names of its own, with the project's alert
// rules (their "for:" windows shortened to 3s in this copy only: long enough that one slow
// scrape on a busy machine fires nothing). It drives each path an alert or a
// panel is about and asserts through Prometheus' HTTP API that every alert fires on its first
// event and that the dashboard's queries return data with the right values.
func TestAlertsOnRealPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole system and a Prometheus server")
	}
	s := startSystem(t)
	prom := startPrometheus(t, s)
	ctx := context.Background()
	prom.waitFor(t, "both processes scraped", `count(up == 1)`, func(v float64) bool { return v == 2 })

	// The paths. The default account closes 8 CAPTURED (one of them with a discrepancy), 2 FAILED
	// (one a configuration failure), 1 EXPIRED and 1 UNRESOLVED; the second account closes 1
	// CAPTURED after it was at risk near its deadline.
	short := func(pid string, expiresIn, resolveWithin time.Duration) workflows.CaptureInput {
		in := input(pid, time.Second)
		in.AuthorizedAt, in.AuthExpiresAt = time.Time{}, time.Now().Add(expiresIn)
		in.Policy.DeadlineMargin, in.Policy.ResolveWithin = time.Second, resolveWithin
		return in
	}
	closes := map[workflows.State]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	run := func(in workflows.CaptureInput, want workflows.State) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.cc.Start(ctx, in); err != nil {
				t.Errorf("start %s: %v", in.PaymentID, err)
				return
			}
			wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			res, err := s.cc.Wait(wctx, in.PaymentID)
			var out *capture.Outcome
			if err != nil && !errors.As(err, &out) {
				t.Errorf("%s: %v", in.PaymentID, err)
				return
			}
			if res.State != want {
				t.Errorf("%s closed %s, want %s: %+v", in.PaymentID, res.State, want, res)
			}
			mu.Lock()
			closes[res.State]++
			mu.Unlock()
		}()
	}
	run(input(s.authorize(alipaytest.Scenario{}), time.Hour), workflows.StateCaptured)
	for range 6 { // each notification's first delivery carries a signature that is not Antom's
		run(input(s.authorize(alipaytest.Scenario{BadSignatureNotification: true}), time.Hour), workflows.StateCaptured)
	}
	run(input(s.authorize(alipaytest.Scenario{CapturedAmount: alipay.Amount{Currency: "USD", Value: "900"}}), time.Hour), workflows.StateCaptured)
	run(input(s.authorize(alipaytest.Scenario{Result: "F", FailCode: "RISK_REJECT"}), time.Hour), workflows.StateFailed)
	run(input(s.authorize(alipaytest.Scenario{Result: "F", FailCode: alipay.CodeAccessDenied}), time.Hour), workflows.StateFailed)
	run(input(s.authorize(alipaytest.Scenario{Result: "F", FailCode: alipay.CodeAuthExpired, NoNotify: true}), time.Hour), workflows.StateExpired)
	unresolved := s.authorize(alipaytest.Scenario{Result: "U"}) // in process until resolved below, then notified
	run(short(unresolved, 6*time.Second, 2*time.Second), workflows.StateUnresolved)
	// Past its deadline and still in process at Antom until the test ends: overdue, at risk.
	overdue := s.authorize(alipaytest.Scenario{Result: "U", NoNotify: true})
	if _, err := s.cc.Start(ctx, short(overdue, 6*time.Second, time.Hour)); err != nil {
		t.Fatal(err)
	}
	// The second account: at risk within 24 h of its deadline until Antom says S.
	euro, err := s.Authorize(ctx, alipaytest.Authorization{ClientID: stack.SecondClientID, Amount: usd10, Scenario: alipaytest.Scenario{Result: "U", NoNotify: true}})
	if err != nil {
		t.Fatal(err)
	}
	euroIn := input(euro.PaymentID, time.Second)
	euroIn.Merchant, euroIn.AuthorizedAt, euroIn.AuthExpiresAt = stack.SecondMerchant, time.Time{}, time.Now().Add(time.Hour)
	if _, err := s.cc.Start(ctx, euroIn); err != nil {
		t.Fatal(err)
	}
	euroRisk := `alipay_capture_amount_at_risk_near_deadline_minor_units{merchant="` + stack.SecondMerchant + `",currency="USD"}`
	prom.waitFor(t, "the second account at risk near its deadline", euroRisk, func(v float64) bool { return v == 1000 })
	if err := s.Resolve(ctx, euro.PaymentID, "S", ""); err != nil {
		t.Fatal(err)
	}
	if res, err := s.cc.Wait(ctx, euro.PaymentID); err != nil || res.State != workflows.StateCaptured {
		t.Fatalf("second account: %+v, %v", res, err)
	}
	wg.Wait()
	closes[workflows.StateCaptured]++ // the second account's
	if t.Failed() {
		t.FailNow()
	}
	total := 0
	for _, n := range closes {
		total += n
	}
	prom.waitFor(t, "every finished capture scraped", `sum(alipay_capture_finished_total)`, func(v float64) bool { return v == float64(total) })
	// Antom's late S for the UNRESOLVED capture: the webhook records the contradiction.
	if err := s.Resolve(ctx, unresolved, "S", ""); err != nil {
		t.Fatal(err)
	}
	s.waitFor("the late notification acknowledged", func() bool {
		p := s.ledger(unresolved)
		return len(p.Notifications) == 1 && p.Notifications[0].Acked
	})

	t.Run("gauges say 0 when nothing is at risk", func(t *testing.T) {
		prom.waitFor(t, "the second account's amount at risk back to 0", euroRisk, func(v float64) bool { return v == 0 })
	})

	t.Run("alerts fire on the first event", func(t *testing.T) {
		for _, a := range []struct{ name, labels string }{
			{"CaptureUnresolved", `merchant="default"`},
			{"CaptureDiscrepancy", `merchant="default"`},
			{"CaptureContradiction", `merchant="default"`},
			{"CaptureConfigurationFailures", `code="ACCESS_DENIED",merchant="default"`},
			{"WebhookRefusingNotifications", `reason="bad_signature"`},
			{"CapturesOverdue", ``},
			{"AuthorizationsExpiringWithRemainder", `currency="USD",merchant="default"`},
		} {
			prom.waitForAlert(t, a.name, a.labels)
		}
		for _, quiet := range []string{"CaptureWorkersDown", "WebhookDown"} {
			if prom.firing(t, quiet) {
				t.Errorf("%s fires while every process is up", quiet)
			}
		}
	})

	t.Run("dashboard panels show the right values", func(t *testing.T) {
		panels := dashboardQueries(t)
		// Each panel's first query over the test's whole run ($__rate_interval: 1h).
		want := map[string]func(model.Vector) error{
			"Capture success, last hour": func(v model.Vector) error {
				return near(v, "", float64(closes[workflows.StateCaptured])/float64(total), 0.01)
			},
			"Money lapsed or unresolved, last 24 h": func(v model.Vector) error {
				return errors.Join(near(v, `outcome="EXPIRED"`, 1, 0.1), near(v, `outcome="UNRESOLVED"`, 1, 0.1))
			},
			"Captures finished, by outcome": func(v model.Vector) error {
				var errs []error
				for _, st := range []workflows.State{workflows.StateCaptured, workflows.StateFailed, workflows.StateExpired, workflows.StateUnresolved} {
					errs = append(errs, near(scale(v, 3600), `outcome="`+string(st)+`"`, float64(closes[st]), 0.1*float64(closes[st])))
				}
				return errors.Join(errs...)
			},
		}
		for _, p := range panels {
			for i, q := range p.queries {
				v := prom.query(t, q)
				if len(v) == 0 {
					t.Errorf("panel %q query %d returns no data: %s", p.title, i+1, q)
					continue
				}
				if check := want[p.title]; check != nil && i == 0 {
					if err := check(v); err != nil {
						t.Errorf("panel %q: %v\nquery: %s\nresult: %v", p.title, err, q, v)
					}
					delete(want, p.title)
				}
			}
		}
		for title := range want {
			t.Errorf("the dashboard lost panel %q", title)
		}
	})

	t.Run("outages", func(t *testing.T) {
		// A notification Temporal cannot take (Antom resends it), and a census that cannot be read.
		waiting := s.authorize(alipaytest.Scenario{Result: "U"})
		if _, err := s.cc.Start(ctx, input(waiting, time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.StopTemporal(); err != nil {
			t.Fatal(err)
		}
		if err := s.Resolve(ctx, waiting, "S", ""); err != nil {
			t.Fatal(err)
		}
		prom.waitForAlert(t, "WebhookSignalsFailing", ``)
		prom.waitForAlert(t, "CaptureCensusFailing", ``)
		s.KillWebhook()
		prom.waitForAlert(t, "WebhookDown", ``)
		s.KillWorker()
		prom.waitForAlert(t, "CaptureWorkersDown", ``)
	})
}

// TestConfigurationCodesOfTheRules: the alert and the dashboard panel for configuration failures
// name exactly the codes the Antom client treats as configuration failures.
func TestConfigurationCodesOfTheRules(t *testing.T) {
	want := alipay.ConfigFailureCodes()
	rules, err := os.ReadFile(filepath.Join("..", "deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	dash, err := os.ReadFile(filepath.Join("..", "deploy", "grafana", "dashboards", "alipay-capture.json"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`code=~\\?"([A-Z_|]+)\\?"`)
	for name, b := range map[string][]byte{"alerts.yml": rules, "the dashboard": dash} {
		found := re.FindAllSubmatch(b, -1)
		if len(found) == 0 {
			t.Errorf("%s names no configuration codes", name)
		}
		for _, m := range found {
			got := strings.Split(string(m[1]), "|")
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: configuration codes %v, want %v", name, got, want)
			}
		}
	}
}

// prometheus is a Prometheus server scraping a system.
type prometheus struct {
	api promv1.API
	out *syncBuffer
}

// prometheusBinary finds Prometheus: $PROMETHEUS (scripts/test sets it), PATH, or the user cache
// where scripts/prometheus puts it. A missing Prometheus fails the test: it is never skipped.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PROMETHEUS"); p != "" {
		return p
	}
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	if dir, err := os.UserCacheDir(); err == nil {
		if p := filepath.Join(dir, "alipay-capture", "bin", "prometheus"); fileExists(p) {
			return p
		}
	}
	t.Fatal("prometheus not found: run scripts/prometheus (fetches it from Debian's prometheus package into the user cache) or set PROMETHEUS")
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// startPrometheus runs Prometheus with the project's rules, every "for:" at 3s, scraping the
// worker and the webhook every second under job names the rules must not depend on.
func startPrometheus(t *testing.T, s *system) *prometheus {
	t.Helper()
	dir := t.TempDir()
	rules, err := os.ReadFile(filepath.Join("..", "deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	rules = regexp.MustCompile(`(?m)^(\s+)for: \S+$`).ReplaceAll(rules, []byte("${1}for: 3s"))
	if err := os.WriteFile(filepath.Join(dir, "alerts.yml"), rules, 0o644); err != nil {
		t.Fatal(err)
	}
	target := func(u string) string { return strings.TrimSuffix(strings.TrimPrefix(u, "http://"), "/metrics") }
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
rule_files: [alerts.yml]
scrape_configs:
  - job_name: payments-workers
    static_configs: [{targets: [%q]}]
  - job_name: antom-notifications
    static_configs: [{targets: [%q]}]
`, target(s.MetricsURL), target(s.WebhookURL))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	out := &syncBuffer{}
	cmd := exec.Command(prometheusBinary(t), "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("--- prometheus ---\n%s", tail(out.String(), 3000))
		}
	})
	c, err := promapi.NewClient(promapi.Config{Address: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	p := &prometheus{api: promv1.NewAPI(c), out: out}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := p.api.Buildinfo(context.Background()); err == nil {
			return p
		} else if time.Now().After(deadline) {
			t.Fatalf("prometheus did not start: %v\n%s", err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *prometheus) query(t *testing.T, q string) model.Vector {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, _, _, err := p.api.Query(ctx, q, time.Now())
	if err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		t.Fatalf("query %s: a %s, want a vector", q, v.Type())
	}
	return vec
}

// waitFor polls a query until its single value satisfies ok: scrapes and rule evaluations are
// asynchronous by nature.
func (p *prometheus) waitFor(t *testing.T, what, q string, ok func(float64) bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last model.Vector
	for {
		last = p.query(t, q)
		if len(last) == 1 && ok(float64(last[0].Value)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %s is %v", what, q, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// firing reports whether Prometheus fires the alert now.
func (p *prometheus) firing(t *testing.T, name string) bool {
	return len(p.query(t, `ALERTS{alertname="`+name+`",alertstate="firing"}`)) > 0
}

// waitForAlert waits until the alert fires with the given labels (a PromQL label list).
func (p *prometheus) waitForAlert(t *testing.T, name, labels string) {
	t.Helper()
	sel := `alertname="` + name + `",alertstate="firing"`
	if labels != "" {
		sel += "," + labels
	}
	deadline := time.Now().Add(90 * time.Second)
	for len(p.query(t, "ALERTS{"+sel+"}")) == 0 {
		if time.Now().After(deadline) {
			alerts, _ := p.api.Alerts(context.Background())
			t.Errorf("alert %s{%s} did not fire; firing or pending: %+v", name, labels, alerts.Alerts)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// panel is a dashboard panel's title and its queries, with Grafana's variables replaced as the
// test needs them: every merchant, and rates over the whole run.
type panel struct {
	title   string
	queries []string
}

func dashboardQueries(t *testing.T) []panel {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "deploy", "grafana", "dashboards", "alipay-capture.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Type    string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	vars := strings.NewReplacer(`"$merchant"`, `".*"`, "$__rate_interval", "1h", "$__interval", "1m", "$__range", "1h")
	var out []panel
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		pp := panel{title: p.Title}
		for _, tg := range p.Targets {
			pp.queries = append(pp.queries, vars.Replace(tg.Expr))
		}
		out = append(out, pp)
	}
	return out
}

// near checks that the series of v matching labels (all of v when empty) sum to want ± tol.
func near(v model.Vector, labels string, want, tol float64) error {
	sum, n := 0.0, 0
	for _, s := range v {
		if labels == "" || matches(s.Metric, labels) {
			sum += float64(s.Value)
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("no series {%s}", labels)
	}
	if math.IsNaN(sum) || math.Abs(sum-want) > tol {
		return fmt.Errorf("{%s} is %g, want %g", labels, sum, want)
	}
	return nil
}

// matches reports whether m has every name="value" of labels.
func matches(m model.Metric, labels string) bool {
	for _, kv := range strings.Split(labels, ",") {
		k, v, _ := strings.Cut(kv, "=")
		if string(m[model.LabelName(k)]) != strings.Trim(v, `"`) {
			return false
		}
	}
	return true
}

// scale multiplies every value of v by f (a rate over an hour times 3600 is a count).
func scale(v model.Vector, f float64) model.Vector {
	out := make(model.Vector, len(v))
	for i, s := range v {
		c := *s
		c.Value = model.SampleValue(float64(s.Value) * f)
		out[i] = &c
	}
	return out
}
