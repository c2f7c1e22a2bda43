package receiver_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/proto"

	"github.com/capturekit/alipay-capture/activities"
	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/internal/temporaltest"
	"github.com/capturekit/alipay-capture/webhook/receiver"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestNotificationsAtTheLimitsOnRealServer: notifications signed with the Antom key the webhook
// trusts, at the edges of what the protocol allows, posted to the real receiver in front of a
// real Temporal dev server and worker. None terminates a capture, grows its history without
// bound, pages on-call for a healthy Temporal, or grows /metrics.
func TestNotificationsAtTheLimitsOnRealServer(t *testing.T) {
	srv := temporaltest.Start(t)
	ctx := context.Background()
	antomKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	h := &receiver.Handler{Path: "/alipay/notify", Temporal: srv.Client, TaskQueue: "limits-test", Logger: slog.New(slog.DiscardHandler),
		Metrics: receiver.NewMetrics(reg)}
	hs := httptest.NewServer(receiver.Routes(h))
	defer hs.Close()
	sim := alipaytest.NewServer(alipaytest.Config{AntomPrivateKey: antomKey}) // notifications are posted by hand
	defer sim.Close()
	h.Verifier = alipay.NotificationVerifier{ClientID: sim.ClientID(), AntomPublicKey: sim.AntomPublicKey()}
	antom, err := alipay.NewClient(sim.Config())
	if err != nil {
		t.Fatal(err)
	}
	srv.StartWorker(t, "limits-test", &activities.Activities{Antom: antom})
	cc := capture.Client{Temporal: srv.Client, TaskQueue: "limits-test"}
	st := &stack{metrics: reg}

	post := func(body string) (int, string) {
		t.Helper()
		ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
		sig, err := alipay.Sign(antomKey, alipay.Message{Method: "POST", Path: "/alipay/notify", ClientID: sim.ClientID(), Time: ts, Body: []byte(body)})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", hs.URL+"/alipay/notify", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json; charset=UTF-8")
		req.Header.Set("Client-Id", sim.ClientID())
		req.Header.Set("Request-Time", ts)
		req.Header.Set("Signature", "algorithm=RSA256,keyVersion=1,signature="+sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	notification := func(pid, reqID, status, message, amount string) string {
		code := "SUCCESS"
		if status == "F" {
			code = "PROCESS_FAIL"
		}
		q := func(s string) string { // JSON, '<' unescaped as Antom may send it
			var b strings.Builder
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(s)
			return strings.TrimSpace(b.String())
		}
		return fmt.Sprintf(`{"notifyType":"CAPTURE_RESULT","result":{"resultCode":%s,"resultStatus":%s,"resultMessage":%s},`+
			`"captureRequestId":%s,"paymentId":%s,"captureId":"CAP-LIMITS","captureAmount":{"currency":"USD","value":%s}}`,
			q(code), q(status), q(message), q(reqID), q(pid), q(amount))
	}
	// inFlight starts a capture that Antom keeps in process (no notification, no inquiry soon).
	inFlight := func() string {
		p, err := sim.Authorize(alipaytest.Authorization{Amount: usd10, Scenario: alipaytest.Scenario{Result: "U", NoNotify: true}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cc.Start(ctx, workflows.CaptureInput{PaymentID: p.PaymentID, Amount: usd10, AuthorizedAt: time.Now(),
			Policy: workflows.Policy{InquirySchedule: []time.Duration{time.Hour}}}); err != nil {
			t.Fatal(err)
		}
		return p.PaymentID
	}
	startID := func(pid string) string { return workflows.CaptureRequestID(pid, workflows.StartKey) }

	t.Run("oversized text fields", func(t *testing.T) {
		for _, c := range []struct {
			status, message string
			state           workflows.State
		}{
			{"F", strings.Repeat("x", 1<<20-1024), workflows.StateFailed},
			{"S", strings.Repeat("<", 200_000), workflows.StateCaptured},
		} {
			pid := inFlight()
			if code, body := post(notification(pid, startID(pid), c.status, c.message, "1000")); code != http.StatusOK {
				t.Fatalf("%s with a %d-byte message: HTTP %d %s", c.status, len(c.message), code, body)
			}
			res, err := cc.Wait(ctx, pid)
			var out *capture.Outcome
			if err != nil && !errors.As(err, &out) {
				t.Fatalf("%s: the capture did not close with a state: %v", c.status, err)
			}
			if out != nil {
				res = out.Status
			}
			if res.State != c.state || !strings.HasSuffix(res.Captures[0].ResultMessage, alipay.TruncatedMark) {
				t.Errorf("%s: closed %s with a %d-byte message, want %s with it cut", c.status, res.State, len(res.Captures[0].ResultMessage), c.state)
			}
			desc, err := srv.Client.DescribeWorkflowExecution(ctx, workflows.WorkflowID(pid), "")
			if err != nil || desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
				t.Errorf("%s: the run was terminated (%v)", c.status, err)
			}
		}
	})

	t.Run("resends do not grow the history", func(t *testing.T) {
		pid := inFlight()
		other := notification(pid, workflows.CaptureRequestID(pid, "ANOTHER"), "F", strings.Repeat("m", 900<<10), "1000")
		if _, err := cc.Status(ctx, pid); err != nil { // a worker holds the capture
			t.Fatal(err)
		}
		for i := range 60 {
			if code, body := post(other); code != http.StatusOK {
				t.Fatalf("delivery %d: HTTP %d %s", i+1, code, body)
			}
		}
		signals, size := 0, 0
		hist := srv.Client.GetWorkflowHistory(ctx, workflows.WorkflowID(pid), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for hist.HasNext() {
			e, err := hist.Next()
			if err != nil {
				t.Fatal(err)
			}
			if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED {
				signals++
			}
			size += proto.Size(e)
		}
		// A resend is signalled again only when no worker answered the receiver's query in time
		// (a busy machine): a few at most.
		if signals > 5 || size > 64<<10 {
			t.Errorf("60 deliveries of one 0.9 MiB notification: %d signals, history %d bytes; want about 1 signal and a small history", signals, size)
		}
		if code, _ := post(notification(pid, startID(pid), "S", "success", "1000")); code != http.StatusOK {
			t.Errorf("the capture's own S after the flood: HTTP %d", code)
		}
		if res, err := cc.Wait(ctx, pid); err != nil || res.State != workflows.StateCaptured {
			t.Errorf("after the flood: %+v, %v", res, err)
		}
	})

	t.Run("what can never be delivered is refused, not retried", func(t *testing.T) {
		failedBefore := st.metric(t, "alipay_capture_notifications_signal_failed_total", "")
		for name, body := range map[string]string{
			"non-ASCII paymentId":        notification("PAY-\u00e9\u0001", "cap-1", "S", "success", "1000"),
			"paymentId of 65 characters": notification(strings.Repeat("P", 65), "cap-1", "S", "success", "1000"),
			"captureRequestId too long":  notification("PAY1", strings.Repeat("c", 300), "S", "success", "1000"),
		} {
			if code, msg := post(body); code != http.StatusBadRequest || !strings.Contains(msg, "Id") {
				t.Errorf("%s: HTTP %d %q, want 400 saying which identifier is wrong", name, code, msg)
			}
		}
		if got := st.metric(t, "alipay_capture_notifications_signal_failed_total", ""); got != failedBefore {
			t.Errorf("signal_failed grew from %v to %v: permanent refusals count as Temporal failures", failedBefore, got)
		}
		if got := st.metric(t, "alipay_capture_notifications_refused_total", "malformed"); got != 3 {
			t.Errorf("refused{malformed} = %v, want 3", got)
		}
	})

	t.Run("notifyType labels come from a fixed set", func(t *testing.T) {
		for i := range 50 {
			post(fmt.Sprintf(`{"notifyType":"INVENTED_%d","paymentId":"PAY1"}`, i))
		}
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() != "alipay_capture_notifications_received_total" {
				continue
			}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "notify_type" && strings.HasPrefix(l.GetValue(), "INVENTED") {
						t.Errorf("label notify_type=%s", l.GetValue())
					}
				}
			}
		}
		if got := st.metric(t, "alipay_capture_notifications_received_total", "other"); got != 50 {
			t.Errorf("received{notify_type=other} = %v, want 50", got)
		}
	})

	t.Run("an S of another amount for a closed CAPTURED capture", func(t *testing.T) {
		p, err := sim.Authorize(alipaytest.Authorization{Amount: usd10, Scenario: alipaytest.Scenario{NoNotify: true}})
		if err != nil {
			t.Fatal(err)
		}
		in := workflows.CaptureInput{PaymentID: p.PaymentID, Amount: usd10, AuthorizedAt: time.Now()}
		if _, err := cc.Start(ctx, in); err != nil {
			t.Fatal(err)
		}
		if res, err := cc.Wait(ctx, p.PaymentID); err != nil || res.State != workflows.StateCaptured {
			t.Fatalf("capture: %+v, %v", res, err)
		}
		if code, body := post(notification(p.PaymentID, startID(p.PaymentID), "S", "success", "999")); code != http.StatusOK {
			t.Fatalf("HTTP %d %s", code, body)
		}
		rid := workflows.ReconcileWorkflowID(p.PaymentID, startID(p.PaymentID), alipay.StatusSuccess)
		if _, err := srv.Client.DescribeWorkflowExecution(ctx, rid, ""); err != nil {
			t.Errorf("no reconciliation %s recorded for an S of 9.99 USD against a capture of 10.00 USD: %v", rid, err)
		}
	})
}
