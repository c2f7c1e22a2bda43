package e2e_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"

	"github.com/capturekit/alipay-capture/internal/config"
	"github.com/capturekit/alipay-capture/internal/temporaltest"
)

// TestComposeFile parses docker-compose.yml as Docker Compose would (no Docker engine runs
// here) and checks it against the processes' configuration: every service exists, every
// variable a service sets is one its process reads, the variables a process needs are set, and
// the ports line up.
func TestComposeFile(t *testing.T) {
	root, _ := filepath.Abs("..")
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithName("alipay-capture"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	for _, name := range []string{"postgresql", "temporal", "search-attributes", "temporal-ui", "simulator", "webhook", "worker", "starter"} {
		if _, err := p.GetService(name); err != nil {
			if _, err2 := p.GetDisabledService(name); err2 != nil {
				t.Errorf("service %s: %v", name, err)
			}
		}
	}
	ours := []struct {
		service  string
		cfg      any
		required []string
		ports    map[uint32]string // container port → published port
	}{
		{"worker", &config.Worker{}, []string{"TEMPORAL_ADDRESS", "ALIPAY_CLIENT_ID", "ALIPAY_BASE_URL", "ALIPAY_PRIVATE_KEY_FILE", "ALIPAY_PUBLIC_KEY_FILE", "CAPTURE_TASK_QUEUE"}, map[uint32]string{9090: "9090"}},
		{"webhook", &config.Webhook{}, []string{"TEMPORAL_ADDRESS", "ALIPAY_CLIENT_ID", "ALIPAY_PUBLIC_KEY_FILE", "WEBHOOK_LISTEN", "WEBHOOK_PATH", "CAPTURE_TASK_QUEUE"}, map[uint32]string{8080: "8080"}},
		{"simulator", &config.Simulator{}, []string{"SIM_LISTEN", "SIM_CLIENT_ID", "SIM_KEY_DIR", "SIM_NOTIFY_URL"}, map[uint32]string{8090: "8090"}},
		{"starter", &config.Starter{}, []string{"TEMPORAL_ADDRESS", "CAPTURE_TASK_QUEUE"}, nil},
	}
	envOf := map[string]types.MappingWithEquals{}
	for _, o := range ours {
		s, err := p.GetService(o.service)
		if err != nil {
			if s, err = p.GetDisabledService(o.service); err != nil {
				t.Errorf("%s: %v", o.service, err)
				continue
			}
		}
		envOf[o.service] = s.Environment
		known := config.Variables(o.cfg)
		for k := range s.Environment {
			if !slices.Contains(known, k) {
				t.Errorf("%s sets %s, which its process does not read (it reads %v)", o.service, k, known)
			}
		}
		for _, k := range o.required {
			if v, ok := s.Environment[k]; !ok || v == nil || *v == "" {
				t.Errorf("%s does not set %s", o.service, k)
			}
		}
		for target, published := range o.ports {
			found := false
			for _, port := range s.Ports {
				found = found || (port.Target == target && port.Published == published)
			}
			if !found {
				t.Errorf("%s does not publish %s:%d (has %+v)", o.service, published, target, s.Ports)
			}
		}
	}
	get := func(svc, k string) string {
		if v := envOf[svc][k]; v != nil {
			return *v
		}
		return ""
	}
	// The parts must agree with each other.
	if get("worker", "ALIPAY_CLIENT_ID") != get("simulator", "SIM_CLIENT_ID") || get("webhook", "ALIPAY_CLIENT_ID") != get("simulator", "SIM_CLIENT_ID") {
		t.Error("ALIPAY_CLIENT_ID of worker/webhook differs from the simulator's SIM_CLIENT_ID")
	}
	if !strings.HasSuffix(get("simulator", "SIM_NOTIFY_URL"), ":8080"+get("webhook", "WEBHOOK_PATH")) {
		t.Errorf("SIM_NOTIFY_URL %s does not reach the webhook's %s", get("simulator", "SIM_NOTIFY_URL"), get("webhook", "WEBHOOK_PATH"))
	}
	if get("webhook", "CAPTURE_TASK_QUEUE") != get("worker", "CAPTURE_TASK_QUEUE") {
		t.Errorf("the webhook starts reconciliations on %q, the worker polls %q", get("webhook", "CAPTURE_TASK_QUEUE"), get("worker", "CAPTURE_TASK_QUEUE"))
	}
	if get("worker", "ALIPAY_BASE_URL") != "http://simulator:8090" {
		t.Errorf("worker ALIPAY_BASE_URL %s", get("worker", "ALIPAY_BASE_URL"))
	}
	for _, f := range []string{get("worker", "ALIPAY_PRIVATE_KEY_FILE"), get("worker", "ALIPAY_PUBLIC_KEY_FILE")} {
		if filepath.Dir(f) != get("simulator", "SIM_KEY_DIR") {
			t.Errorf("worker key file %s is not in the simulator's SIM_KEY_DIR", f)
		}
	}
	// The namespace is prepared by deploy/temporal/setup.sh, the script the PostgreSQL-backed
	// tests run: it must be what the service runs, and register what the workflow writes.
	sa, _ := p.GetService("search-attributes")
	mounted := false
	for _, v := range sa.Volumes {
		mounted = mounted || (v.Source == filepath.Join(root, "deploy", "temporal", "setup.sh") && v.Target == "/setup.sh" && v.ReadOnly)
	}
	if !mounted || strings.Join(sa.Entrypoint, " ") != "/bin/sh /setup.sh" {
		t.Errorf("search-attributes does not run deploy/temporal/setup.sh: volumes %+v, entrypoint %v", sa.Volumes, sa.Entrypoint)
	}
	if v := sa.Environment["TEMPORAL_ADDRESS"]; v == nil || *v != "temporal:7233" {
		t.Errorf("search-attributes TEMPORAL_ADDRESS %v", v)
	}
	script, err := os.ReadFile(filepath.Join(root, "deploy", "temporal", "setup.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range temporaltest.SearchAttributes().GetUntypedValues() {
		if want := name.GetName() + "=" + strings.TrimPrefix(name.GetValueType().String(), "INDEXED_VALUE_TYPE_"); !strings.Contains(strings.ToLower(string(script)), strings.ToLower(want)) {
			t.Errorf("deploy/temporal/setup.sh does not register %s", want)
		}
	}
	if ui, _ := p.GetService("temporal-ui"); len(ui.Ports) != 1 || ui.Ports[0].Published != "8233" {
		t.Errorf("temporal-ui ports %+v, want 8233", ui.Ports)
	}
	if _, err := os.Stat(filepath.Join(root, "Dockerfile")); err != nil {
		t.Errorf("Dockerfile: %v", err)
	}
}

// TestComposeObservability: under the observability profile, Prometheus loads the alert rules
// and scrapes the worker and webhook where compose publishes their metrics, and Grafana is
// provisioned with a Prometheus data source at that Prometheus and with the capture dashboard,
// whose panels use that data source.
func TestComposeObservability(t *testing.T) {
	root, _ := filepath.Abs("..")
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithName("alipay-capture"), cli.WithProfiles([]string{"observability"}))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mounts := func(svc types.ServiceConfig) map[string]string { // target → source, relative to the repository
		m := map[string]string{}
		for _, v := range svc.Volumes {
			rel, _ := filepath.Rel(root, v.Source)
			m[v.Target] = rel
		}
		return m
	}
	prom, err := p.GetService("prometheus")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(prom.Profiles, "observability") {
		t.Errorf("prometheus profiles %v", prom.Profiles)
	}
	pm := mounts(prom)
	if pm["/etc/prometheus/prometheus.yml"] != "deploy/prometheus/prometheus.yml" || pm["/etc/prometheus/alerts.yml"] != "deploy/prometheus/alerts.yml" {
		t.Errorf("prometheus mounts %v", pm)
	}
	var promCfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, filepath.Join(root, "deploy", "prometheus", "prometheus.yml"), &promCfg)
	if !slices.Contains(promCfg.RuleFiles, "/etc/prometheus/alerts.yml") {
		t.Errorf("prometheus.yml rule_files %v does not load the mounted alerts.yml", promCfg.RuleFiles)
	}
	targets := map[string]string{}
	for _, sc := range promCfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, tg := range st.Targets {
				targets[sc.JobName] = tg
			}
		}
	}
	worker, _ := p.GetService("worker")
	webhook, _ := p.GetService("webhook")
	if want := "worker" + *worker.Environment["WORKER_METRICS_LISTEN"]; targets["alipay-capture-worker"] != want {
		t.Errorf("worker scraped at %q, its metrics listen on %q", targets["alipay-capture-worker"], want)
	}
	if want := "webhook" + *webhook.Environment["WEBHOOK_LISTEN"]; targets["alipay-capture-webhook"] != want {
		t.Errorf("webhook scraped at %q, it listens on %q", targets["alipay-capture-webhook"], want)
	}
	// The alert rules work whatever the jobs are called: they name none.
	alerts, err := os.ReadFile(filepath.Join(root, "deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(alerts), `job=`) {
		t.Errorf("alerts.yml selects a scrape job by name; key on alipay_capture_process_info instead")
	}

	graf, err := p.GetService("grafana")
	if err != nil {
		t.Fatal(err)
	}
	gm := mounts(graf)
	if !slices.Contains(graf.Profiles, "observability") || gm["/etc/grafana/provisioning"] != "deploy/grafana/provisioning" || gm["/var/lib/grafana/dashboards"] != "deploy/grafana/dashboards" {
		t.Errorf("grafana profiles %v, mounts %v", graf.Profiles, gm)
	}
	var dsCfg struct {
		Datasources []struct {
			UID, Type, URL string
		} `yaml:"datasources"`
	}
	readYAML(t, filepath.Join(root, "deploy", "grafana", "provisioning", "datasources", "prometheus.yml"), &dsCfg)
	if len(dsCfg.Datasources) != 1 || dsCfg.Datasources[0].Type != "prometheus" || dsCfg.Datasources[0].URL != "http://prometheus:9090" {
		t.Errorf("grafana data sources %+v", dsCfg.Datasources)
	}
	var provider struct {
		Providers []struct {
			Options struct{ Path string } `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, filepath.Join(root, "deploy", "grafana", "provisioning", "dashboards", "alipay-capture.yml"), &provider)
	if len(provider.Providers) != 1 || provider.Providers[0].Options.Path != "/var/lib/grafana/dashboards" {
		t.Errorf("dashboard provider %+v", provider.Providers)
	}
	var dash struct {
		Panels []struct {
			Title      string
			Datasource struct{ UID string }
		}
	}
	b, err := os.ReadFile(filepath.Join(root, "deploy", "grafana", "dashboards", "alipay-capture.json"))
	if err != nil || json.Unmarshal(b, &dash) != nil {
		t.Fatalf("dashboard: %v", err)
	}
	for _, pn := range dash.Panels {
		if pn.Datasource.UID != "" && pn.Datasource.UID != dsCfg.Datasources[0].UID {
			t.Errorf("panel %q uses data source %q, grafana provisions %q", pn.Title, pn.Datasource.UID, dsCfg.Datasources[0].UID)
		}
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
