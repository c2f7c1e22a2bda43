package workflows_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/capturekit/alipay-capture/activities"
	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/internal/temporaltest"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestCodecPathsOnRealServer runs the S and F paths with every payload encrypted under the
// corpus's test key on a real dev server, and replays each history with the codec; with
// -record they join the replay corpus as history_codec_*.json.
func TestCodecPathsOnRealServer(t *testing.T) {
	srv := temporaltest.Start(t)
	keys := testCodec(t)
	opts := client.Options{Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))}
	keys.Apply(&opts)
	c, err := client.NewClientFromExisting(srv.Client, opts)
	if err != nil {
		t.Fatal(err)
	}
	const tq = "codec-histories"
	sim := alipaytest.NewServer(alipaytest.Config{TimeScale: 1e-3})
	defer sim.Close()
	antom, err := alipay.NewClient(sim.Config())
	if err != nil {
		t.Fatal(err)
	}
	w := worker.New(c, tq, worker.Options{})
	workflows.RegisterWith(w, workflows.Options{})
	w.RegisterActivity(&activities.Activities{Antom: antom})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	cc := capture.Client{Temporal: c, TaskQueue: tq, DataConverter: opts.DataConverter}
	ctx := context.Background()
	for _, p := range []struct {
		name string
		sc   alipaytest.Scenario
		want workflows.State
	}{{"codec_s", alipaytest.Scenario{NoNotify: true}, workflows.StateCaptured}, {"codec_f", alipaytest.Scenario{Result: "F", FailCode: "RISK_REJECT", NoNotify: true}, workflows.StateFailed}} {
		pay, err := sim.Authorize(alipaytest.Authorization{Amount: usd10, Scenario: p.sc})
		if err != nil {
			t.Fatal(err)
		}
		in := workflows.CaptureInput{PaymentID: pay.PaymentID, Amount: usd10, OrderID: "ORDER-" + pay.PaymentID, AuthorizedAt: time.Now(),
			Policy: workflows.Policy{InquirySchedule: []time.Duration{time.Second}, CallTimeout: 10 * time.Second}}
		if _, err := cc.Start(ctx, in); err != nil {
			t.Fatal(err)
		}
		res, err := cc.Wait(ctx, pay.PaymentID)
		var out *capture.Outcome
		if (err != nil && !errors.As(err, &out)) || res.State != p.want {
			t.Fatalf("%s: %+v, %v", p.name, res, err)
		}
		replayAndRecord(t, p.name, fetchHistory(t, srv.Client, workflows.WorkflowID(pay.PaymentID), ""))
	}
}
