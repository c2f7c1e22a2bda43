package config

import (
	"fmt"
	"net/url"
	"reflect"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/capturekit/alipay-capture/events"
)

// Worker is the worker process's configuration.
type Worker struct {
	Temporal
	Alipay
	TaskQueue     string        `envconfig:"CAPTURE_TASK_QUEUE" default:"alipay-capture" desc:"task queue to poll"`
	MetricsListen string        `envconfig:"WORKER_METRICS_LISTEN" default:":9090" desc:"address of the Prometheus /metrics endpoint; empty disables it"`
	StopTimeout   time.Duration `envconfig:"WORKER_STOP_TIMEOUT" default:"30s" desc:"how long running activities may take to finish on shutdown"`
	CensusEvery   time.Duration `envconfig:"WORKER_CENSUS_INTERVAL" default:"15s" desc:"interval of the census workflow (one visibility listing of the running captures for the whole deployment) that the gauges show; set by the worker that starts it"`
	EventsURL     string        `envconfig:"EVENTS_URL" desc:"your endpoint for capture events (JSON POSTs signed with EVENTS_SECRET); empty: no events"`
	EventsSecret  string        `envconfig:"EVENTS_SECRET" desc:"HMAC-SHA256 key of the Capture-Signature header of events, at least 16 characters (required with EVENTS_URL)"`
	// Tuning; 0 keeps the Temporal SDK's default. BENCHMARKS.md says why these defaults.
	StickyCacheSize            int `envconfig:"WORKER_STICKY_CACHE_SIZE" default:"2000" desc:"workflows kept in memory between tasks; captures wait for days, so a small cache bounds memory at little cost (SDK default 10000)"`
	MaxConcurrentActivities    int `envconfig:"WORKER_MAX_CONCURRENT_ACTIVITIES" desc:"activities (Antom calls) executing at once (SDK default 1000)"`
	MaxConcurrentWorkflowTasks int `envconfig:"WORKER_MAX_CONCURRENT_WORKFLOW_TASKS" desc:"workflow tasks executing at once (SDK default 1000)"`
	Pollers                    int `envconfig:"WORKER_POLLERS" desc:"pollers for each of workflow and activity tasks (SDK default 2)"`
}

// Webhook is the webhook receiver's configuration. Of Alipay it uses the Client-Id and Antom's
// public key.
type Webhook struct {
	Temporal
	Alipay
	Listen      string `envconfig:"WEBHOOK_LISTEN" default:":8080" desc:"listen address (serves the notification path, /healthz and /metrics)"`
	Path        string `envconfig:"WEBHOOK_PATH" default:"/alipay/notify" desc:"notification path, as Antom signs it"`
	ForwardURL  string `envconfig:"WEBHOOK_FORWARD_URL" desc:"where notifications of other types, and capture results for payments never captured here, are relayed"`
	TaskQueue   string `envconfig:"CAPTURE_TASK_QUEUE" default:"alipay-capture" desc:"task queue of the workers (reconciliation workflows of contradicting results run there)"`
	PprofListen string `envconfig:"WEBHOOK_PPROF_LISTEN" desc:"loopback address (e.g. 127.0.0.1:6060) serving Go's /debug/pprof/ profiles; empty disables them"`
}

// Starter is the starter command's configuration. Of Alipay, only reconcile reads the accounts.
type Starter struct {
	Temporal
	Alipay
	TaskQueue string `envconfig:"CAPTURE_TASK_QUEUE" default:"alipay-capture" desc:"task queue the workers poll"`
}

// Simulator is the Antom simulator's configuration.
type Simulator struct {
	Listen    string   `envconfig:"SIM_LISTEN" default:":8090" desc:"listen address"`
	ClientID  string   `envconfig:"SIM_CLIENT_ID" default:"SIM_MERCHANT" desc:"merchant Client-Id to accept (the worker's ALIPAY_CLIENT_ID)"`
	Accounts  []string `envconfig:"SIM_ACCOUNTS" desc:"further merchant Client-Ids to serve, comma-separated; each has its own key pairs in SIM_KEY_DIR/<Client-Id>/"`
	KeyDir    string   `envconfig:"SIM_KEY_DIR" default:".antomsim" desc:"folder holding the key pairs; missing keys are generated and written there"`
	NotifyURL string   `envconfig:"SIM_NOTIFY_URL" desc:"where notifyCapture is sent, e.g. http://localhost:8080/alipay/notify"`
	TimeScale float64  `envconfig:"SIM_TIME_SCALE" default:"1" desc:"multiplies simulated durations; 0.001 runs Antom's day of resends in 90 s"`
	// Chaos: unreliable notification deliveries.
	NotifyDropRate  float64       `envconfig:"SIM_NOTIFY_DROP_RATE" default:"0" desc:"fraction of notification deliveries lost (chaos tests)"`
	NotifyDelayRate float64       `envconfig:"SIM_NOTIFY_DELAY_RATE" default:"0" desc:"fraction of notification deliveries that arrive late, after their resend (chaos tests)"`
	NotifyDelay     time.Duration `envconfig:"SIM_NOTIFY_DELAY" default:"30s" desc:"how late a delayed delivery arrives, at most (real time)"`
}

// Load reads v (a pointer to one of the configurations above) from the environment.
func Load(v any) error { return envconfig.Process("", v) }

// Variables lists the environment variables a configuration reads, in field order.
func Variables(v any) []string {
	var names []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
				continue
			}
			if name := f.Tag.Get("envconfig"); name != "" {
				names = append(names, name)
			}
		}
	}
	walk(reflect.Indirect(reflect.ValueOf(v)).Type())
	return names
}

// Events returns the sender of capture events, or nil when EVENTS_URL is not set.
func (w Worker) Events() (*events.Sender, error) {
	if w.EventsURL == "" {
		if w.EventsSecret != "" {
			return nil, fmt.Errorf("EVENTS_SECRET is set but EVENTS_URL is not: give the endpoint that receives capture events")
		}
		return nil, nil
	}
	u, err := url.Parse(w.EventsURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("EVENTS_URL %q: want an http or https URL", w.EventsURL)
	}
	if len(w.EventsSecret) < 16 {
		return nil, fmt.Errorf("EVENTS_SECRET: set a secret of at least 16 characters (your receiver verifies the Capture-Signature header with it)")
	}
	return &events.Sender{URL: w.EventsURL, Secret: []byte(w.EventsSecret)}, nil
}

// CodecServer is the codec server's configuration: the payload keys, and who may use them.
type CodecServer struct {
	CodecKeys     string   `envconfig:"CAPTURE_CODEC_KEYS" desc:"the payload encryption keys of the deployment (id:base64,…; the first encrypts)"`
	CodecKeysFile string   `envconfig:"CAPTURE_CODEC_KEYS_FILE" desc:"file holding CAPTURE_CODEC_KEYS"`
	Listen        string   `envconfig:"CODEC_SERVER_LISTEN" default:"127.0.0.1:8081" desc:"listen address (POST /encode, /decode; GET /healthz)"`
	Token         string   `envconfig:"CODEC_SERVER_TOKEN" desc:"the token every request must carry (required): Authorization: Bearer <token> (temporal --codec-auth), or as the endpoint's first path segment, http://host:port/<token>, for a Web UI without a login"`
	Origins       []string `envconfig:"CODEC_SERVER_ORIGINS" default:"http://localhost:8233" desc:"Web UI origins allowed to call it from a browser (CORS), comma-separated"`
}
