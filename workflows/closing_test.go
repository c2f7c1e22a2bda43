package workflows_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/capturekit/alipay-capture/activities"
	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/events"
	"github.com/capturekit/alipay-capture/internal/metrics"
	"github.com/capturekit/alipay-capture/internal/temporaltest"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestNotificationWhileTheRunCloses (rule 12, defect 8): a notification Temporal accepts while
// the run's last workflow task is being decided is read before the run closes. The capture is
// answered F; the run then closes in a task of its own, after handing over its events. The
// worker is held, once, after the workflow function returned and before that task completes;
// the notification (Antom's S for the request) is signalled then, so it arrives exactly while
// the run closes, after the record was final. Temporal refuses that closing task for the new
// signal and the worker runs it again: the close still counts once in the worker's metrics.
func TestNotificationWhileTheRunCloses(t *testing.T) {
	srv := temporaltest.Start(t)
	ctx := context.Background()
	sim := alipaytest.NewServer(alipaytest.Config{})
	defer sim.Close()
	antom, err := alipay.NewClient(sim.Config())
	if err != nil {
		t.Fatal(err)
	}
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer sink.Close()
	const tq = "closing"
	hold := &holdClose{closing: make(chan struct{}), proceed: make(chan struct{})}
	reg, err := metrics.New(slog.New(slog.DiscardHandler), "worker")
	if err != nil {
		t.Fatal(err)
	}
	measured, err := client.NewClientFromExisting(srv.Client, client.Options{MetricsHandler: reg.Temporal})
	if err != nil {
		t.Fatal(err)
	}
	w := worker.New(measured, tq, worker.Options{Interceptors: []interceptor.WorkerInterceptor{hold}, DeadlockDetectionTimeout: time.Minute})
	workflows.RegisterWith(w, workflows.Options{Events: true})
	w.RegisterActivity(&activities.Activities{Antom: antom, Events: &events.Sender{URL: sink.URL, Secret: eventsSecret}})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	cc := capture.Client{Temporal: srv.Client, TaskQueue: tq}

	p, err := sim.Authorize(alipaytest.Authorization{Amount: usd10, Scenario: alipaytest.Scenario{Result: "F", NoNotify: true}})
	if err != nil {
		t.Fatal(err)
	}
	in := workflows.CaptureInput{PaymentID: p.PaymentID, Amount: usd10, AuthorizedAt: time.Now(),
		Policy: workflows.Policy{InquirySchedule: []time.Duration{time.Second}, CallTimeout: 10 * time.Second}}
	started := make(chan error, 1)
	go func() { _, err := cc.Start(ctx, in); started <- err }() // answered F before the close, or in the held task

	select {
	case <-hold.closing:
	case <-time.After(time.Minute):
		t.Fatal("the run never reached its close")
	}
	id := workflows.CaptureRequestID(p.PaymentID, workflows.StartKey)
	n := workflows.Notification{CaptureNotification: alipay.CaptureNotification{NotifyType: alipay.NotifyTypeCaptureResult,
		Result:           alipay.Result{ResultCode: alipay.CodeSuccess, ResultStatus: alipay.StatusSuccess, ResultMessage: "success"},
		CaptureRequestID: id, PaymentID: p.PaymentID, CaptureID: "LATE-S", CaptureAmount: usd10}}
	err = srv.Client.SignalWorkflow(ctx, workflows.WorkflowID(p.PaymentID), "", workflows.SignalNotifyCapture, n)
	close(hold.proceed)
	if err != nil {
		t.Fatalf("the notification was not accepted while the run closed: %v", err)
	}
	if err := <-started; err != nil {
		t.Fatalf("start: %v", err)
	}

	st, err := cc.Wait(ctx, p.PaymentID)
	rec, ok := st.Record(id)
	if err != nil || st.State != workflows.StateCaptured || !ok || rec.State != workflows.StateCaptured || rec.Contradiction == "" {
		t.Fatalf("closed %s (record %+v), %v: want CAPTURED, the S that arrived while the run closed recorded as a contradiction", st.State, rec, err)
	}
	t.Run("the close counts once", func(t *testing.T) {
		families, err := reg.Prometheus.Gather()
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]float64{}
		for _, f := range families {
			for _, m := range f.GetMetric() {
				counts[f.GetName()] += m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
			}
		}
		for _, name := range []string{workflows.MetricStarted, workflows.MetricFinished, workflows.MetricResultCodes, workflows.MetricTimeToResult} {
			if counts[name] != 1 {
				t.Errorf("%s = %v, want 1", name, counts[name])
			}
		}
	})
}

// holdClose holds the first capture run, once, between its workflow function's return and the
// completion of that workflow task, until proceed is closed.
type holdClose struct {
	interceptor.WorkerInterceptorBase
	once             sync.Once
	closing, proceed chan struct{}
}

func (h *holdClose) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &holdCloseInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, h: h}
}

type holdCloseInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	h *holdClose
}

// ExecuteWorkflow runs the workflow, then holds the worker once (test-only, outside any history).
//
//workflowcheck:ignore test-only: holds the worker so that a signal arrives in the closing task
func (i *holdCloseInbound) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	res, err := i.Next.ExecuteWorkflow(ctx, in)
	if workflow.GetInfo(ctx).WorkflowType.Name == workflows.WorkflowType && !workflow.IsReplaying(ctx) {
		i.h.once.Do(func() {
			close(i.h.closing)
			select { // test-only: a real workflow never blocks on the world
			case <-i.h.proceed:
			case <-time.After(30 * time.Second):
			}
		})
	}
	return res, err
}
