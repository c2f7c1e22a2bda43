package workflows_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/workflow"

	"github.com/capturekit/alipay-capture/activities"
	"github.com/capturekit/alipay-capture/events"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestEventsDeliveredInOrderAfterDowntime: the receiver is down for 26 hours (time skipped);
// the events, signalled out of order, are then all delivered, in order, once the receiver is back.
func TestEventsDeliveredInOrderAfterDowntime(t *testing.T) {
	env := newEnv()
	env.SetStartTime(t0)
	env.RegisterWorkflowWithOptions(workflows.EventsWorkflow, workflow.RegisterOptions{Name: workflows.EventsWorkflowType})
	env.RegisterActivity(&activities.Activities{})
	back := t0.Add(26 * time.Hour)
	var delivered []int
	attempts := 0
	env.OnActivity(workflows.ActivityDeliverEvent, mock.Anything, mock.Anything).Return(
		func(_ context.Context, e events.Event) error {
			attempts++
			if env.Now().Before(back) {
				return errors.New("posting event: connection refused")
			}
			delivered = append(delivered, e.Seq)
			return nil
		})
	ev := func(seq int) events.Event {
		return events.Event{ID: "evt_run_" + string(rune('0'+seq)), Seq: seq, Type: events.CaptureSucceeded, PaymentID: "PAY1"}
	}
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalEvent, ev(3)) }, time.Minute)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalEvent, ev(2)) }, 2*time.Minute)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalEventsDone, 3) }, 3*time.Minute)
	env.ExecuteWorkflow(workflows.EventsWorkflowType, workflows.EventsInput{PaymentID: "PAY1", Events: []events.Event{ev(1)}})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("completed %v, err %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	var res workflows.EventsResult
	if err := env.GetWorkflowResult(&res); err != nil || res.Delivered != 3 || len(res.Abandoned) != 0 {
		t.Fatalf("result %+v, %v", res, err)
	}
	if !slices.Equal(delivered, []int{1, 2, 3}) {
		t.Errorf("delivered %v, want 1, 2, 3", delivered)
	}
	if attempts < 10 || env.Now().Before(back) {
		t.Errorf("%d attempts, done at %s: want retries backing off until the receiver came back at %s", attempts, env.Now(), back)
	}
}

// TestEventsGivenUpAfterTheWindow: an event no receiver takes for EventDeliveryWindow is given
// up (and said so), and the next one is delivered.
func TestEventsGivenUpAfterTheWindow(t *testing.T) {
	env := newEnv()
	env.SetStartTime(t0)
	env.RegisterWorkflowWithOptions(workflows.EventsWorkflow, workflow.RegisterOptions{Name: workflows.EventsWorkflowType})
	env.RegisterActivity(&activities.Activities{})
	var delivered []string
	env.OnActivity(workflows.ActivityDeliverEvent, mock.Anything, mock.Anything).Return(
		func(_ context.Context, e events.Event) error {
			if e.Seq == 1 {
				return errors.New("HTTP 400 we do not know this order")
			}
			delivered = append(delivered, e.ID)
			return nil
		})
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalEvent, events.Event{ID: "b", Seq: 2})
		env.SignalWorkflow(workflows.SignalEventsDone, 2)
	}, time.Minute)
	env.ExecuteWorkflow(workflows.EventsWorkflowType, workflows.EventsInput{PaymentID: "PAY1", Events: []events.Event{{ID: "a", Seq: 1}}})
	var res workflows.EventsResult
	if err := env.GetWorkflowResult(&res); err != nil || res.Delivered != 1 || !slices.Equal(res.Abandoned, []string{"a"}) || !slices.Equal(delivered, []string{"b"}) {
		t.Fatalf("result %+v, delivered %v, %v", res, delivered, err)
	}
	// Retries stop when the next one would fall past the window (at most an hour between them).
	if d := env.Now().Sub(t0); d < workflows.EventDeliveryWindow-time.Hour || d > workflows.EventDeliveryWindow {
		t.Errorf("gave up after %v, want within the hour before %v", d, workflows.EventDeliveryWindow)
	}
}

// eventsHarness runs CaptureWorkflow with events on; it records the events handed to the
// delivery workflow, which the test environment runs as the child it is.
func eventsHarness(t *testing.T, deliver func(events.Event) error) (*harness, *[]events.Event) {
	h := newHarnessWith(t, workflows.Options{Events: true})
	var got []events.Event
	h.env.OnActivity(workflows.ActivityDeliverEvent, mock.Anything, mock.Anything).Return(
		func(_ context.Context, e events.Event) error {
			if deliver != nil {
				if err := deliver(e); err != nil {
					return err
				}
			}
			got = append(got, e)
			return nil
		})
	return h, &got
}

func types(evs []events.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

// TestCaptureEvents: what the order service hears for a split shipment with a discrepancy, an
// authorization nobody shipped, a refusal and a void.
func TestCaptureEvents(t *testing.T) {
	h, got := eventsHarness(t, nil)
	h.capture = func(n int, in workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
		amount := in.Request.CaptureAmount
		if n == 2 {
			amount = usd4 // Antom captured less than asked
		}
		return workflows.CaptureActivityResult{Result: resS, CaptureID: "CAP", CaptureAmount: amount}, nil
	}
	h.update(time.Hour, "u1", workflows.CaptureRequest{Amount: usd4, Key: "ship-1"})
	h.update(2*time.Hour, "u2", workflows.CaptureRequest{Amount: usd6, Key: "ship-2", IsLastCapture: true})
	h.authorize(authorizeInput(true))
	st := h.result()
	want := []string{events.CaptureSucceeded, events.CaptureSucceeded, events.CaptureDiscrepancy}
	if !slices.Equal(types(*got), want) {
		t.Fatalf("events %v, want %v", types(*got), want)
	}
	first, second := (*got)[0], (*got)[1]
	if first.Seq != 1 || first.PaymentID != "PAY1" || first.OrderID != "ORDER-7" || first.Merchant != workflows.DefaultMerchant ||
		first.State != string(workflows.StatePartiallyCaptured) || first.CapturedAmount != usd4 || first.Remaining != usd6 ||
		first.CaptureRequestID != workflows.CaptureRequestID("PAY1", "ship-1") || first.ID == "" {
		t.Errorf("first capture's event %+v", first)
	}
	if second.State != string(workflows.StateCaptured) || second.Amount != usd6 || second.CapturedAmount != usd4 || (*got)[2].Discrepancy == "" ||
		second.ID == first.ID || st.State != workflows.StateCaptured {
		t.Errorf("second capture's events %+v / %+v", second, (*got)[2])
	}

	// Nobody ships: warned twice, then the authorization lapses.
	h, got = eventsHarness(t, nil)
	h.authorize(authorizeInput(false))
	h.failure(workflows.ErrTypeAuthorizationExpired)
	if want := []string{events.AuthorizationExpiring, events.AuthorizationExpiring, events.AuthorizationExpired}; !slices.Equal(types(*got), want) {
		t.Errorf("nobody shipped: events %v, want %v", types(*got), want)
	}

	// Antom refuses; another authorization is voided.
	h, got = eventsHarness(t, nil)
	h.capture = func(n int, _ workflows.CaptureActivityInput) (workflows.CaptureActivityResult, error) {
		return workflows.CaptureActivityResult{}, refusedOn(n, workflows.ErrTypeRefused, "RISK_REJECT")
	}
	h.run(input())
	h.failure(workflows.ErrTypeCaptureFailed)
	if len(*got) != 1 || (*got)[0].Type != events.CaptureFailed || (*got)[0].ResultCode != "RISK_REJECT" || (*got)[0].State != string(workflows.StateFailed) {
		t.Errorf("refused: events %+v", *got)
	}
	h, got = eventsHarness(t, nil)
	in := authorizeInput(false)
	in.Policy.OnDeadline = workflows.OnDeadlineCancel
	h.authorize(in)
	if st := h.result(); st.State != workflows.StateCancelled || !slices.Equal(types(*got), []string{events.AuthorizationExpiring, events.AuthorizationExpiring, events.AuthorizationCancelled}) {
		t.Errorf("voided: %s, events %v", st.State, types(*got))
	}
}

// TestSlowReceiverChangesNothing: a receiver that is down the whole time changes neither the
// capture's outcome nor when it closes, and without EVENTS_URL no event is made at all.
func TestSlowReceiverChangesNothing(t *testing.T) {
	outcome := func(h *harness) (workflows.Result, time.Time) {
		h.capture = inProcess
		h.signal(90*time.Second, note("S", reqID))
		h.run(input())
		// The time of the final CaptureStatus: the test environment goes on running the
		// abandoned delivery workflow after the capture closed.
		return h.result(), h.statusAt[len(h.statusAt)-1]
	}
	down, _ := eventsHarness(t, func(events.Event) error { return errors.New("HTTP 503") })
	withEvents, closedWith := outcome(down)
	plain := newHarness(t)
	delivered := 0
	plain.env.OnActivity(workflows.ActivityDeliverEvent, mock.Anything, mock.Anything).Return(
		func(context.Context, events.Event) error { delivered++; return nil })
	without, closedWithout := outcome(plain)
	if withEvents.State != workflows.StateCaptured || withEvents.State != without.State || withEvents.CaptureID != without.CaptureID ||
		withEvents.ResolvedBy != without.ResolvedBy || withEvents.CaptureCalls != without.CaptureCalls {
		t.Errorf("with a receiver down: %+v\nwithout events: %+v", withEvents, without)
	}
	if !closedWith.Equal(closedWithout) || !closedWith.Equal(t0.Add(90*time.Second)) {
		t.Errorf("closed at %s with a receiver down, %s without events; want both at %s", closedWith, closedWithout, t0.Add(90*time.Second))
	}
	if delivered != 0 {
		t.Errorf("%d events delivered without EVENTS_URL", delivered)
	}
}
