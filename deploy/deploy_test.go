// Package deploy_test checks what deploy/ ships beside the code: the alert rules (with Prometheus's
// promtool, on series that fire them and series that must not) and the Grafana dashboard (every
// panel's query with Prometheus's own PromQL parser). It is a module of its own so that
// Prometheus's dependencies stay out of the application's.
package deploy_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

// promtool finds promtool: $PROMTOOL (scripts/test sets it), PATH, or the user cache where
// scripts/promtool puts it. A missing promtool fails the test: it is never skipped.
func promtool(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PROMTOOL"); p != "" {
		return p
	}
	if p, err := exec.LookPath("promtool"); err == nil {
		return p
	}
	if dir, err := os.UserCacheDir(); err == nil {
		if p := filepath.Join(dir, "alipay-capture", "bin", "promtool"); fileExists(p) {
			return p
		}
	}
	t.Fatal("promtool not found: run scripts/promtool (fetches it from Debian's prometheus package into the user cache) or set PROMTOOL")
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// TestAlertRules: alerts.yml is valid, and each alert fires on the series that should fire it and
// stays quiet on those that should not (alerts_test.yml).
func TestAlertRules(t *testing.T) {
	bin := promtool(t)
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = "prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// Every alert is tested and has a runbook line in docs/operations.md.
	rules, err := os.ReadFile(filepath.Join("prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	tests, _ := os.ReadFile(filepath.Join("prometheus", "alerts_test.yml"))
	runbook, _ := os.ReadFile(filepath.Join("..", "docs", "operations.md"))
	for _, m := range regexp.MustCompile(`(?m)^\s*- alert: (\w+)`).FindAllStringSubmatch(string(rules), -1) {
		name := m[1]
		if !strings.Contains(string(tests), "alertname: "+name+"\n") {
			t.Errorf("alert %s has no test in alerts_test.yml", name)
		}
		if !strings.Contains(string(runbook), "| `"+name+"` |") {
			t.Errorf("alert %s has no runbook line in docs/operations.md", name)
		}
	}
}

// grafanaMacros are the variables Grafana replaces in a query before Prometheus sees it, with
// values of the right kind for the parser.
var grafanaMacros = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "6h")

// TestDashboardQueries parses every query of the dashboard as Prometheus would, after Grafana's
// substitutions, and checks that each names a metric this project exports.
func TestDashboardQueries(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("grafana", "dashboards", "alipay-capture.json"))
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
		t.Fatalf("dashboard JSON: %v", err)
	}
	promql := parser.NewParser(parser.Options{})
	queries := 0
	for _, p := range dash.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			queries++
			expr, err := promql.ParseExpr(grafanaMacros.Replace(tg.Expr))
			if err != nil {
				t.Errorf("panel %q: %q does not parse: %v", p.Title, tg.Expr, err)
				continue
			}
			ours := false
			for _, sel := range parser.ExtractSelectors(expr) {
				for _, m := range sel {
					ours = ours || (m.Name == "__name__" && (strings.HasPrefix(m.Value, "alipay_capture_") || m.Value == "up"))
				}
			}
			if !ours {
				t.Errorf("panel %q: %q reads none of the project's metrics", p.Title, tg.Expr)
			}
		}
	}
	if queries < 10 {
		t.Errorf("%d queries; the dashboard lost its panels", queries)
	}
}
