package workflows

import (
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/capturekit/alipay-capture/events"
)

// Capture events (package events) go to the merchant's own services through a delivery workflow
// per capture run, a child the capture workflow starts at its first event and abandons when it
// closes: delivery retries for days without ever holding up the capture.
const (
	// EventsWorkflowType is the registered name of EventsWorkflow.
	EventsWorkflowType = "CaptureEventsWorkflow"
	// SignalEvent hands an events.Event to the delivery workflow.
	SignalEvent = "event"
	// SignalEventsDone tells the delivery workflow how many events the capture emitted in all.
	SignalEventsDone = "eventsDone"
	// ActivityDeliverEvent posts one event (activities.Activities.DeliverEvent).
	ActivityDeliverEvent = "DeliverEvent"
	// EventDeliveryWindow is how long one event's delivery is retried before it is given up:
	// a receiver may be down for days.
	EventDeliveryWindow = 7 * 24 * time.Hour
)

// eventsIdle ends a delivery workflow whose capture never said it was done (terminated).
const eventsIdle = 60 * 24 * time.Hour

// Options configure the workflows a worker registers.
type Options struct {
	// Events: captures started on this worker send capture events (EVENTS_URL is set).
	Events bool

	counted *runSet
}

// RegisterWith registers CaptureWorkflow (with o), ReconcileWorkflow, EventsWorkflow and
// CensusWorkflow under their type names (and the one-shot census of earlier releases).
func RegisterWith(r worker.WorkflowRegistry, o Options) {
	o.counted = newRunSet()
	r.RegisterWorkflowWithOptions(func(ctx workflow.Context, in CaptureInput) (*Result, error) {
		return captureWorkflow(ctx, in, o)
	}, workflow.RegisterOptions{Name: WorkflowType})
	r.RegisterWorkflowWithOptions(ReconcileWorkflow, workflow.RegisterOptions{Name: ReconcileWorkflowType})
	r.RegisterWorkflowWithOptions(EventsWorkflow, workflow.RegisterOptions{Name: EventsWorkflowType})
	r.RegisterWorkflowWithOptions(CensusWorkflow, workflow.RegisterOptions{Name: CensusWorkflowType})
	r.RegisterWorkflowWithOptions(legacyCensusWorkflow, workflow.RegisterOptions{Name: legacyCensusWorkflowType})
}

// EventsWorkflowID returns the id of the delivery workflow of one capture run's events.
func EventsWorkflowID(paymentID, runID string) string {
	return "capture-events/" + paymentID + "/" + runID
}

// EventsInput starts the delivery of a capture run's events with the first of them.
type EventsInput struct {
	PaymentID string         `json:"paymentId"`
	Events    []events.Event `json:"events"`
}

// EventsResult says what became of a capture run's events.
type EventsResult struct {
	Delivered int `json:"delivered"`
	// Abandoned lists the ids of events not delivered within EventDeliveryWindow.
	Abandoned []string `json:"abandoned,omitempty"`
}

// EventsWorkflow delivers a capture run's events one at a time in their order (Event.Seq),
// whatever order its signals arrive in, each retried with backoff up to an hour between attempts
// for EventDeliveryWindow; it ends once the capture said how many there are and all were
// delivered (or given up).
func EventsWorkflow(ctx workflow.Context, in EventsInput) (EventsResult, error) {
	log := workflow.GetLogger(ctx)
	waiting := map[int]events.Event{}
	for _, e := range in.Events {
		waiting[e.Seq] = e
	}
	total := -1 // unknown until the capture closes
	evCh := workflow.GetSignalChannel(ctx, SignalEvent)
	doneCh := workflow.GetSignalChannel(ctx, SignalEventsDone)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: EventDeliveryWindow,
		// The window bounds the attempts; the explicit limit only keeps them bounded under test
		// environments that cap "unlimited".
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Hour, MaximumAttempts: 1000},
	})
	var res EventsResult
	next := 1
	for {
		for {
			var e events.Event
			if !evCh.ReceiveAsync(&e) {
				break
			}
			waiting[e.Seq] = e
		}
		doneCh.ReceiveAsync(&total)
		e, ready := waiting[next]
		if !ready {
			if total >= 0 && next > total {
				return res, nil
			}
			idle := false
			tctx, stop := workflow.WithCancel(ctx)
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(evCh, func(c workflow.ReceiveChannel, _ bool) {
				var e events.Event
				c.Receive(ctx, &e)
				waiting[e.Seq] = e
			})
			sel.AddReceive(doneCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &total) })
			sel.AddFuture(workflow.NewTimer(tctx, eventsIdle), func(workflow.Future) { idle = true })
			sel.Select(ctx)
			stop()
			if idle {
				log.Warn("capture events: no word from the capture for a long time; ending", "paymentId", in.PaymentID, "delivered", res.Delivered)
				return res, nil
			}
			continue
		}
		if err := workflow.ExecuteActivity(actx, ActivityDeliverEvent, e).Get(ctx, nil); err != nil {
			log.Error("capture event not delivered within the delivery window; given up", "eventId", e.ID, "type", e.Type, "err", err)
			res.Abandoned = append(res.Abandoned, e.ID)
		} else {
			res.Delivered++
		}
		delete(waiting, next)
		next++
	}
}

// eventStream is a capture run's side of its events: whether it sends them, how many, and the
// delivery workflow they go to.
type eventStream struct {
	// workerSends is this worker's configuration (Options.Events). The workflow never acts on it
	// directly, since workers may differ: on is decided once, from the history.
	workerSends       bool
	known, on         bool // on is decided (and recorded in the history)
	seq               int
	child             workflow.ChildWorkflowFuture
	sent              []workflow.Future
	unresolvedEmitted bool
}

// noteEvents takes an activity's answer as whether this capture sends events, if not decided
// yet: the answer is in the history already, so this costs nothing.
func (w *captureRun) noteEvents(workerSends bool) {
	if !w.ev.known {
		w.ev.known, w.ev.on = true, workerSends
	}
}

// eventsOn decides, if no activity answered yet, with a side effect that records this worker's
// configuration (one marker, only on paths that emit before calling Antom).
func (w *captureRun) eventsOn(ctx workflow.Context) bool {
	if !w.ev.known {
		o := w.ev.workerSends
		_ = workflow.SideEffect(ctx, func(workflow.Context) any { return o }).Get(&w.ev.on)
		w.ev.known = true
	}
	return w.ev.on
}

// emit sends an event of type typ about the authorization (and capture c, if not nil) to the
// delivery workflow, without waiting for it.
func (w *captureRun) emit(ctx workflow.Context, typ string, c *CaptureRecord) {
	// Events outlive a cancellation of the workflow: they are sent whatever ctx says.
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	if !w.eventsOn(ctx) {
		return
	}
	w.ev.seq++
	st := w.status()
	runID := workflow.GetInfo(ctx).WorkflowExecution.RunID
	e := events.Event{
		ID: fmt.Sprintf("evt_%s_%d", runID, w.ev.seq), Type: typ, Time: workflow.Now(ctx).UTC(), Seq: w.ev.seq,
		PaymentID: w.in.PaymentID, Merchant: w.merchant, OrderID: w.in.OrderID, State: string(st.State),
		Authorized: st.Authorized, Captured: st.Captured, Remaining: st.Remaining, Deadline: st.Deadline,
		ResultCode: st.ResultCode, ResultMessage: st.ResultMessage,
	}
	if c != nil {
		e.CaptureRequestID, e.CaptureID, e.Amount, e.CapturedAmount = c.CaptureRequestID, c.CaptureID, c.Amount, c.CapturedAmount
		e.ResultCode, e.ResultMessage, e.Discrepancy = c.ResultCode, c.ResultMessage, c.Discrepancy
	}
	if w.ev.child == nil {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            EventsWorkflowID(w.in.PaymentID, runID),
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			TypedSearchAttributes: temporal.NewSearchAttributes(AttrPaymentID.ValueSet(w.in.PaymentID)),
			StaticSummary:         "capture events of payment " + w.in.PaymentID,
		})
		w.ev.child = workflow.ExecuteChildWorkflow(cctx, EventsWorkflowType, EventsInput{PaymentID: w.in.PaymentID, Events: []events.Event{e}})
		w.ev.sent = append(w.ev.sent, w.ev.child.GetChildWorkflowExecution())
		return
	}
	w.ev.sent = append(w.ev.sent, w.ev.child.SignalChildWorkflow(ctx, SignalEvent, e))
}

// emitCaptureOutcome sends the events of a capture that reached its end.
func (w *captureRun) emitCaptureOutcome(ctx workflow.Context, rec *record) {
	c := rec.CaptureRecord
	switch c.State {
	case StateCaptured:
		w.emit(ctx, events.CaptureSucceeded, &c)
		if c.Discrepancy != "" {
			w.emit(ctx, events.CaptureDiscrepancy, &c)
		}
	case StateFailed:
		w.emit(ctx, events.CaptureFailed, &c)
	case StateUnresolved:
		w.ev.unresolvedEmitted = true
		w.emit(ctx, events.CaptureUnresolved, &c)
	}
}

// closeEvents sends the authorization's closing event, if its close has one, and tells the
// delivery workflow how many there are.
func (w *captureRun) closeEvents(ctx workflow.Context) {
	st := w.status()
	switch st.State {
	case StateExpired:
		w.emit(ctx, events.AuthorizationExpired, nil)
	case StateCancelled:
		w.emit(ctx, events.AuthorizationCancelled, nil)
	case StateUnresolved:
		if !w.ev.unresolvedEmitted {
			w.emit(ctx, events.CaptureUnresolved, nil)
		}
	case StateCaptured:
		if st.ResolvedBy == ResolvedByDeadline && w.l.captured() < w.l.units {
			w.emit(ctx, events.AuthorizationExpired, nil) // the remainder lapsed
		}
	}
	if w.ev.child != nil {
		w.ev.sent = append(w.ev.sent, w.ev.child.SignalChildWorkflow(ctx, SignalEventsDone, w.ev.seq))
	}
}

// awaitEvents waits until Temporal holds every event (not until they are delivered), so that
// none is lost with the run.
func (w *captureRun) awaitEvents(ctx workflow.Context) {
	for _, f := range w.ev.sent {
		if err := f.Get(ctx, nil); err != nil {
			w.log.Error("capture events not handed to their delivery workflow", "err", err)
			return
		}
	}
}
