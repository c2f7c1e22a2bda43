// Package receiver is the webhook receiver of Antom's notifications (docs/contract.md, The webhook): it verifies
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
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/workflows"
)

// MaxBody is the largest notification accepted; Antom's are a few kilobytes.
const MaxBody = 1 << 20

// Temporal is what the receiver asks of Temporal; go.temporal.io/sdk/client.Client implements it.
type Temporal interface {
	// SignalWorkflow hands a capture result to its running workflow.
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
	// DescribeWorkflowExecution tells a finished capture from one that never ran here.
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
	// GetWorkflow reads a finished capture's final status.
	GetWorkflow(ctx context.Context, workflowID, runID string) client.WorkflowRun
	// ExecuteWorkflow records a contradicting result as a reconciliation workflow.
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
	// QueryWorkflow reads a running capture's status, to tell a resend it already holds.
	QueryWorkflow(ctx context.Context, workflowID, runID, queryType string, args ...any) (converter.EncodedValue, error)
}

// Verifier checks a notification's Client-Id and Antom's signature over it, and names its merchant
// account; alipay.NotificationVerifier (one account) and alipay.NotificationVerifiers (several)
// implement it.
type Verifier interface {
	Verify(method, path string, header http.Header, body []byte) (*alipay.Notification, error)
}

// Handler receives notifications on one path. Verifier, Path and Temporal are required.
type Handler struct {
	// Verifier checks Client-Id and Antom's signature.
	Verifier Verifier
	// Path is the notification path Antom posts to, as Antom signs it (WEBHOOK_PATH). Behind a
	// proxy that rewrites paths it is the public path, not the one this server sees.
	Path string
	// Temporal receives the notifyCapture signals and the reconciliation workflows.
	Temporal Temporal
	// TaskQueue is where reconciliation workflows run (CAPTURE_TASK_QUEUE). Default
	// workflows.DefaultTaskQueue.
	TaskQueue string
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

	seenOnce sync.Once
	seen     *lru.Cache[string, struct{}] // notifications signalled lately (see duplicate)
}

// seenSize bounds the notifications the receiver remembers having signalled.
const seenSize = 100_000

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
			log.Warn("notification refused", "reason", reasonTooLarge, "limit", MaxBody)
			h.Metrics.refusedFor(reasonTooLarge)
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
	merchant := workflows.MerchantName(n.Merchant)
	log = log.With("merchant", merchant, "notifyType", n.NotifyType, "paymentId", n.PaymentID)
	h.Metrics.receivedType(merchant, n.NotifyType)
	if n.NotifyType != alipay.NotifyTypeCaptureResult {
		h.relay(w, r, n, body, log)
		return
	}
	c, err := n.Capture()
	if err != nil {
		// Signed, but not something that can ever be delivered: refused with the reason, not
		// counted as a failure of Temporal.
		log.Error("capture notification is malformed", "err", err)
		h.Metrics.refusedFor(alipay.RefusalReason(alipay.ErrMalformedNotification))
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	log = log.With("captureRequestId", c.CaptureRequestID, "result", c.Result.String())
	timeout := h.SignalTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	key := seenKey(n.Merchant, c)
	if h.duplicate(ctx, key, n.Merchant, c) {
		log.Info("capture notification already held by the running capture; acknowledged without a signal")
		h.Metrics.duplicateOf(merchant, start)
		alipay.WriteAck(w)
		return
	}
	err = h.Temporal.SignalWorkflow(ctx, workflows.WorkflowID(c.PaymentID), "", workflows.SignalNotifyCapture, workflows.Notification{Merchant: n.Merchant, CaptureNotification: *c})
	var notFound *serviceerror.NotFound
	switch {
	case err == nil:
		h.remember(key)
		log.Info("capture notification signalled")
		h.Metrics.signalledResult(merchant, c.Result.ResultStatus, start)
	case errors.As(err, &notFound):
		// No running capture for it: it has finished, or it never ran here.
		h.noRunningCapture(ctx, w, r, c, n, body, log, start)
		return
	default:
		log.Error("capture notification not signalled; Antom will resend", "err", err)
		h.unavailable(w, n)
		return
	}
	alipay.WriteAck(w)
}

// seenKey names a notification's content for duplicate detection: its account, payment,
// request, status and captured amount.
func seenKey(merchant string, c *alipay.CaptureNotification) string {
	return strings.Join([]string{workflows.MerchantName(merchant), c.PaymentID, c.CaptureRequestID, c.Result.ResultStatus, c.CaptureAmount.String()}, "\x00")
}

func (h *Handler) remember(key string) {
	h.seenOnce.Do(func() { h.seen, _ = lru.New[string, struct{}](seenSize) })
	h.seen.Add(key, struct{}{})
}

// duplicate reports a resend of a notification this receiver signalled before and that the
// running capture already holds: its record is final and agrees, or it is an F for a request
// the capture never sent (nothing moved). Such a resend is acknowledged without a signal, so
// that Antom's resends, or a flood of them, do not grow the capture's history. Anything the
// receiver cannot confirm (no worker answers the query within half the signal timeout) is
// signalled as usual.
func (h *Handler) duplicate(ctx context.Context, key, merchant string, c *alipay.CaptureNotification) bool {
	h.seenOnce.Do(func() { h.seen, _ = lru.New[string, struct{}](seenSize) })
	if !h.seen.Contains(key) {
		return false
	}
	budget := time.Until(deadlineOf(ctx)) / 2
	qctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	v, err := h.Temporal.QueryWorkflow(qctx, workflows.WorkflowID(c.PaymentID), "", workflows.QueryStatus)
	var st workflows.Status
	if err != nil || v.Get(&st) != nil || workflows.MerchantName(st.Merchant) != workflows.MerchantName(merchant) {
		return false
	}
	if rec, ok := st.Record(c.CaptureRequestID); ok && !rec.State.Final() {
		return false
	}
	return st.Agrees(*c)
}

func deadlineOf(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(5 * time.Second)
}

func (h *Handler) unavailable(w http.ResponseWriter, n *alipay.Notification) {
	h.Metrics.signalFailure(workflows.MerchantName(n.Merchant))
	http.Error(w, "temporarily unable to record the notification", http.StatusServiceUnavailable)
}

// noRunningCapture handles a capture result whose workflow is not running (docs/contract.md, The webhook): for a
// payment this system never ran it is relayed like other types; for a finished capture it is
// acknowledged when it agrees, and recorded as a reconciliation workflow, then acknowledged, when
// it contradicts the capture's final state (docs/design.md, rule 7).
func (h *Handler) noRunningCapture(ctx context.Context, w http.ResponseWriter, r *http.Request, c *alipay.CaptureNotification,
	n *alipay.Notification, body []byte, log *slog.Logger, start time.Time) {
	id := workflows.WorkflowID(c.PaymentID)
	desc, err := h.Temporal.DescribeWorkflowExecution(ctx, id, "")
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		log.Info("capture notification for a payment this system never captured; relaying it like other types")
		h.relay(w, r, n, body, log)
		return
	case err != nil:
		log.Error("capture notification for no running workflow, and the workflow cannot be read; Antom will resend", "err", err)
		h.unavailable(w, n)
		return
	}
	info := desc.GetWorkflowExecutionInfo()
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		// A new run started since the signal failed: let Antom's resend reach it.
		log.Warn("capture workflow started again while the notification was handled; Antom will resend")
		h.unavailable(w, n)
		return
	}
	runID := info.GetExecution().GetRunId()
	st, err := capture.FinalStatus(ctx, h.Temporal.GetWorkflow(ctx, id, runID))
	if err != nil {
		log.Error("capture notification for a finished capture whose final status cannot be read; Antom will resend", "err", err, "closedRunId", runID)
		h.unavailable(w, n)
		return
	}
	log = log.With("closedState", st.State, "closedRunId", runID)
	if workflows.MerchantName(st.Merchant) != workflows.MerchantName(n.Merchant) {
		log.Warn("capture notification verified under another merchant account than the finished capture's; relaying it like other types",
			"captureMerchant", workflows.MerchantName(st.Merchant))
		h.relay(w, r, n, body, log)
		return
	}
	if st.Agrees(*c) {
		log.Info("capture notification for a finished capture agrees with it; acknowledged")
		h.Metrics.orphan(workflows.MerchantName(n.Merchant), start)
		alipay.WriteAck(w)
		return
	}
	in := workflows.ReconcileInput{Merchant: st.Merchant, Notification: *c, ClosedState: st.State, ClosedRunID: runID}
	if rec, ok := st.Record(c.CaptureRequestID); ok && rec.State == workflows.StateCaptured {
		in.ClosedAmount = rec.CapturedAmount
	}
	rid, err := capture.StartReconcile(ctx, h.Temporal, h.TaskQueue, in,
		fmt.Sprintf("%s notification for a %s capture of payment %s", c.Result.ResultStatus, st.State, c.PaymentID))
	if err != nil {
		log.Error("contradicting capture notification not recorded; Antom will resend", "err", err)
		h.unavailable(w, n)
		return
	}
	log.Warn("capture notification contradicts the finished capture; recorded for reconciliation and acknowledged", "reconcileWorkflowId", rid)
	h.Metrics.contradiction(workflows.MerchantName(n.Merchant), start)
	alipay.WriteAck(w)
}

// relay passes a notification of another type to ForwardURL and Antom the downstream's answer.
func (h *Handler) relay(w http.ResponseWriter, r *http.Request, n *alipay.Notification, body []byte, log *slog.Logger) {
	if h.ForwardURL == "" {
		reason, msg := reasonUnhandledType, fmt.Sprintf("notifyType %s is not handled by this receiver", n.NotifyType)
		if n.NotifyType == alipay.NotifyTypeCaptureResult {
			reason, msg = reasonUnknownPayment, "capture result for a payment this system never captured"
		}
		log.Error("notification not handled here and WEBHOOK_FORWARD_URL is not set; refused so that Antom resends", "reason", reason)
		h.Metrics.refusedFor(reason)
		http.Error(w, msg, http.StatusNotImplemented)
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
	h.Metrics.relayedStatus(workflows.MerchantName(n.Merchant), resp.StatusCode)
}
