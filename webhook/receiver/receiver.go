// Package receiver is the webhook receiver of Antom's notifications (DESIGN.md §4): it verifies
// each notification, hands capture results to their CaptureWorkflow as the notifyCapture
// signal, and acknowledges only once Temporal has accepted the signal, so that Antom keeps
// resending anything not durably received. Other notification types are relayed to the
// merchant's own endpoint, or refused, never silently acknowledged.
package receiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/workflows"
)

// MaxBody is the largest notification accepted; Antom's are a few kilobytes.
const MaxBody = 1 << 20

// Signaler delivers a signal to a workflow; go.temporal.io/sdk/client.Client implements it.
type Signaler interface {
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
}

// Handler receives notifications on one path. Verifier, Path and Temporal are required.
type Handler struct {
	// Verifier checks Client-Id and Antom's signature.
	Verifier alipay.NotificationVerifier
	// Path is the notification path Antom posts to, as Antom signs it (WEBHOOK_PATH). Behind a
	// proxy that rewrites paths it is the public path, not the one this server sees.
	Path string
	// Temporal receives the notifyCapture signals.
	Temporal Signaler
	// ForwardURL, if set, receives notifications of other types, relayed unchanged.
	ForwardURL string
	// HTTPClient relays to ForwardURL. Default: a client with a 10 s timeout.
	HTTPClient *http.Client
	// SignalTimeout bounds one signal call. Default 5 s.
	SignalTimeout time.Duration
	// Logger receives one line per notification. Default slog.Default().
	Logger *slog.Logger
	// Metrics, if set, counts notifications by outcome.
	Metrics *Metrics
}

// Routes returns a mux serving h on POST h.Path and a liveness probe on GET /healthz.
func Routes(h *Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle(h.Path, h)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	return mux
}

func (h *Handler) log() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// ServeHTTP handles one notification.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	log := h.log().With("remote", r.RemoteAddr)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "notifications are POSTed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			log.Warn("notification refused", "reason", "too_large", "limit", MaxBody)
			h.Metrics.refusedFor("too_large")
			http.Error(w, "notification larger than 1 MiB", http.StatusRequestEntityTooLarge)
			return
		}
		log.Warn("notification refused", "reason", "read_error", "err", err)
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	n, err := h.Verifier.Verify(r.Method, h.Path, r.Header, body)
	if err != nil {
		reason := alipay.RefusalReason(err)
		log.Warn("notification refused", "reason", reason, "err", err)
		h.Metrics.refusedFor(reason)
		http.Error(w, "notification refused: "+reason, http.StatusUnauthorized)
		return
	}
	log = log.With("notifyType", n.NotifyType, "paymentId", n.PaymentID)
	h.Metrics.receivedType(n.NotifyType)
	if n.NotifyType != alipay.NotifyTypeCaptureResult {
		h.relay(w, r, n, body, log)
		return
	}
	c, err := n.Capture()
	if err != nil {
		log.Error("capture notification is malformed", "err", err)
		h.Metrics.refusedFor("malformed")
		http.Error(w, "malformed capture notification", http.StatusBadRequest)
		return
	}
	log = log.With("captureRequestId", c.CaptureRequestID, "result", c.Result.String())
	timeout := h.SignalTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	err = h.Temporal.SignalWorkflow(ctx, workflows.WorkflowID(c.PaymentID), "", workflows.SignalNotifyCapture, c)
	var notFound *serviceerror.NotFound
	switch {
	case err == nil:
		log.Info("capture notification signalled")
		h.Metrics.signalledResult(c.Result.ResultStatus, start)
	case errors.As(err, &notFound):
		// No running capture for it: never started here, or already finished. Resending would
		// not change that, so acknowledge and leave a trace.
		log.Warn("capture notification for no running workflow; acknowledged", "workflowId", workflows.WorkflowID(c.PaymentID), "err", err)
		h.Metrics.orphan(start)
	default:
		log.Error("capture notification not signalled; Antom will resend", "err", err)
		h.Metrics.signalFailure()
		http.Error(w, "temporarily unable to record the notification", http.StatusServiceUnavailable)
		return
	}
	alipay.WriteAck(w)
}

// relay passes a notification of another type to ForwardURL and Antom the downstream's answer.
func (h *Handler) relay(w http.ResponseWriter, r *http.Request, n *alipay.Notification, body []byte, log *slog.Logger) {
	if h.ForwardURL == "" {
		log.Error("notification type not handled here and WEBHOOK_FORWARD_URL is not set; refused so that Antom resends")
		h.Metrics.refusedFor("unhandled_type")
		http.Error(w, fmt.Sprintf("notifyType %s is not handled by this receiver", n.NotifyType), http.StatusNotImplemented)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, h.ForwardURL, bytes.NewReader(body))
	if err != nil {
		log.Error("relay request", "err", err)
		http.Error(w, "relay failed", http.StatusBadGateway)
		return
	}
	for _, k := range []string{"Content-Type", "Client-Id", "Request-Time", "Signature"} {
		if v := r.Header.Values(k); len(v) > 0 {
			req.Header[http.CanonicalHeaderKey(k)] = v
		}
	}
	hc := h.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		log.Error("relay to WEBHOOK_FORWARD_URL failed; Antom will resend", "err", err)
		http.Error(w, "relay failed", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(out)
	log.Info("notification relayed", "status", resp.StatusCode)
	h.Metrics.relayedStatus(resp.StatusCode)
}
