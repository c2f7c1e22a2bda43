// Package capture is the Go API for services that start and follow captures: Start a capture on
// shipment (idempotent: a second start reports the existing run), read its Status, Wait for its
// outcome, Cancel an authorization that will not ship, and List captures by state or deadline.
// The starter command is a thin layer over it.
package capture

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/capturekit/alipay-capture/workflows"
)

// Errors callers branch on with errors.Is.
var (
	// ErrNotFound: no capture workflow exists for the payment.
	ErrNotFound = errors.New("no capture for this payment")
	// ErrNotCaptured: the capture ended FAILED, EXPIRED or UNRESOLVED; the error's text says
	// why, and errors.As with *Outcome gives the details.
	ErrNotCaptured = errors.New("payment not captured")
	// ErrConflict: a capture of the payment exists for another amount or currency; the caller
	// asked for something else than what runs, which is a mistake to fix, not to retry.
	ErrConflict = errors.New("a different capture exists for this payment")
	// ErrFinished: the capture has already ended, so there is nothing left to cancel.
	ErrFinished = errors.New("capture already finished")
)

// Client starts and follows capture workflows. Temporal is required; TaskQueue defaults to
// workflows.DefaultTaskQueue.
type Client struct {
	Temporal  client.Client
	TaskQueue string
	// DataConverter reads the memos of listed captures (the census's amounts); nil is
	// Temporal's default. With payload encryption, give it the client's (codec.Keys.DataConverter).
	DataConverter converter.DataConverter
}

func (c Client) dataConverter() converter.DataConverter {
	if c.DataConverter == nil {
		return converter.GetDefaultDataConverter()
	}
	return c.DataConverter
}

// Started tells what Start, Capture or Authorize did.
type Started struct {
	WorkflowID string
	RunID      string
	// AlreadyStarted is true when no new capture was started: the capture request (its key)
	// was seen before, or a capture workflow for the payment was running or had completed;
	// RunID is the existing run.
	AlreadyStarted bool
	// Capture is the capture request's reply: its captureRequestId and Antom's first answer
	// (CAPTURED, FAILED, …) or UNKNOWN. Nil from Authorize, when an existing run of an earlier
	// release answered, and when ctx ended after the workflow accepted the request but before
	// the first answer (the capture goes on: follow it with Status or Wait).
	Capture *workflows.CaptureReply
}

// Start captures the whole authorized amount in.Amount once: Capture with the payment's one key,
// workflows.StartKey, marked last.
func (c Client) Start(ctx context.Context, in workflows.CaptureInput) (Started, error) {
	return c.Capture(ctx, in, workflows.CaptureRequest{Amount: in.Amount, IsLastCapture: true, Key: workflows.StartKey})
}

// Capture asks for the capture req of the authorization in (in.Amount is the authorized amount;
// req.Key is the caller's idempotency key, e.g. the shipment id). If no workflow guards the
// authorization yet, one is started with in, in the same atomic call (Update-with-Start); the
// start captures nothing by itself. It returns once the capture has its first answer, read
// from its record; the same key again returns the same capture and sends nothing, also after the
// authorization closed. A request the authorization cannot take (another amount for the key,
// more than remains, a partial capture of a one-time payment) is ErrConflict; one after its
// cut-off, last capture, cancel or close is ErrFinished. A worker must be running to take the
// request: the call waits for one until ctx ends. Once the workflow accepted the request it is
// durable: if ctx ends before the first answer, Capture returns without error and with a nil
// Started.Capture; calling again with the same key is safe.
//
// The input is written with the policy defaults filled in, so that the authorization keeps them
// whatever a later release changes (docs/design.md, rule 8).
func (c Client) Capture(ctx context.Context, in workflows.CaptureInput, req workflows.CaptureRequest) (Started, error) {
	if err := in.Validate(); err != nil {
		return Started{}, fmt.Errorf("invalid capture: %w", err)
	}
	if req.Key == "" {
		return Started{}, fmt.Errorf("invalid capture: a capture request needs a key (e.g. the shipment id)")
	}
	in.Policy = in.Policy.WithDefaults()
	req.Merchant = workflows.MerchantName(in.Merchant)
	id := workflows.WorkflowID(in.PaymentID)
	var h client.WorkflowUpdateHandle
	var err error
	for attempt := 1; ; attempt++ {
		op := c.Temporal.NewWithStartWorkflowOperation(c.startOptions(in, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING), workflows.WorkflowType, in)
		h, err = c.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
			StartWorkflowOperation: op,
			UpdateOptions: client.UpdateWorkflowOptions{
				// No UpdateID: each call is its own request, and the workflow recognises the key, so
				// that a repeat reports AlreadyStarted (Temporal would replay the first reply).
				UpdateName:   workflows.UpdateCapture,
				Args:         []any{req},
				WaitForStage: client.WorkflowUpdateStageAccepted,
			},
		})
		// Temporal aborts an Update whose workflow task failed (WorkflowNotReady, e.g. when
		// concurrent starts and Updates of a new workflow race); it was not accepted, and the same
		// key is safe to send again.
		var notReady *serviceerror.WorkflowNotReady
		if !errors.As(err, &notReady) || attempt == updateAttempts || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
	}
	if err != nil {
		return c.captureRefused(ctx, err, in, req)
	}
	var reply workflows.CaptureReply
	if err := h.Get(ctx, &reply); err != nil {
		if ctx.Err() != nil {
			return Started{WorkflowID: id, RunID: h.RunID()}, nil // accepted; the answer comes later
		}
		return c.captureRefused(ctx, err, in, req)
	}
	return Started{WorkflowID: id, RunID: h.RunID(), AlreadyStarted: reply.Duplicate, Capture: &reply}, nil
}

// updateAttempts bounds the sends of one capture request that Temporal aborts (WorkflowNotReady).
const updateAttempts = 5

// captureRefused explains why a capture request was not taken; after the authorization closed
// the answer comes from the closed run's final status.
func (c Client) captureRefused(ctx context.Context, err error, in workflows.CaptureInput, req workflows.CaptureRequest) (Started, error) {
	id := workflows.WorkflowID(in.PaymentID)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	var appErr *temporal.ApplicationError
	switch {
	case errors.As(err, &already):
		st, serr := FinalStatus(ctx, c.Temporal.GetWorkflow(ctx, id, already.RunId))
		if serr != nil {
			return Started{WorkflowID: id, RunID: already.RunId}, fmt.Errorf("capture %s has closed; reading its final status: %w", id, serr)
		}
		return answerFromClosed(st, id, already.RunId, req)
	case errors.As(err, &appErr) && appErr.Type() == workflows.ErrTypeCaptureConflict:
		return Started{WorkflowID: id}, fmt.Errorf("%w: %s; nothing was started", ErrConflict, appErr.Message())
	case errors.As(err, &appErr) && appErr.Type() == workflows.ErrTypeCaptureClosed:
		return Started{WorkflowID: id}, fmt.Errorf("%w: %s", ErrFinished, appErr.Message())
	}
	return Started{}, fmt.Errorf("capture %s: %w", id, err)
}

// answerFromClosed answers a capture request from a closed authorization's final status: the
// key's record, else ErrFinished (nothing was captured for it).
func answerFromClosed(st workflows.Status, id, runID string, req workflows.CaptureRequest) (Started, error) {
	started := Started{WorkflowID: id, RunID: runID, AlreadyStarted: true}
	rec, ok := st.RecordOfKey(req.Key)
	switch {
	case !ok:
		return started, fmt.Errorf("%w: the authorization of payment %s closed %s (run %s) before this request; nothing was captured for key %q",
			ErrFinished, st.PaymentID, st.State, runID, req.Key)
	case rec.Amount != req.Amount:
		return started, fmt.Errorf("%w: payment %s: key %q asked for %s, not %s (run %s); nothing was started",
			ErrConflict, st.PaymentID, req.Key, rec.Amount, req.Amount, runID)
	}
	reply := workflows.ReplyOf(rec, true)
	started.Capture = &reply
	return started, nil
}

// FinalStatus reads a closed capture run's final Status from its result or its failure's
// details.
func FinalStatus(ctx context.Context, run client.WorkflowRun) (workflows.Status, error) {
	var st workflows.Status
	err := run.Get(ctx, &st)
	if err == nil {
		return st, nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Details(&st) == nil && st.State.Final() {
		return st, nil
	}
	if errors.As(err, &appErr) && appErr.HasDetails() {
		return st, fmt.Errorf("the run's failure carries no capture status: %w", err)
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return st, fmt.Errorf("the run was cancelled in Temporal; its final state is in CaptureStatus: %w", err)
	}
	return st, err
}

// Authorize starts guarding the authorization of in.PaymentID now, before anything ships: the
// workflow waits in PENDING for capture requests (Capture), warns before the deadline and
// applies in.Policy.OnDeadline at the cut-off. in.Amount is the authorized amount. A second
// Authorize, or one after a capture started the workflow, reports the existing run.
func (c Client) Authorize(ctx context.Context, in workflows.CaptureInput) (Started, error) {
	if err := in.Validate(); err != nil {
		return Started{}, fmt.Errorf("invalid authorization: %w", err)
	}
	in.Policy = in.Policy.WithDefaults()
	id := workflows.WorkflowID(in.PaymentID)
	opts := c.startOptions(in, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL)
	opts.WorkflowExecutionErrorWhenAlreadyStarted = true
	run, err := c.Temporal.ExecuteWorkflow(ctx, opts, workflows.WorkflowType, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &already):
		return Started{WorkflowID: id, RunID: already.RunId, AlreadyStarted: true}, nil
	case err != nil:
		return Started{}, fmt.Errorf("start guarding %s: %w", id, err)
	}
	return Started{WorkflowID: id, RunID: run.GetRunID()}, nil
}

// startOptions are the start options of a capture workflow for in: its id, search attributes
// and memo, so that it is listed and described before its first task runs.
func (c Client) startOptions(in workflows.CaptureInput, conflict enumspb.WorkflowIdConflictPolicy) client.StartWorkflowOptions {
	attrs := []temporal.SearchAttributeUpdate{
		workflows.AttrPaymentID.ValueSet(in.PaymentID),
		workflows.AttrStatus.ValueSet(string(workflows.StatePending)),
		workflows.AttrMerchant.ValueSet(workflows.MerchantName(in.Merchant)),
	}
	if in.OrderID != "" {
		attrs = append(attrs, workflows.AttrOrderID.ValueSet(in.OrderID))
	}
	if dl := in.Deadline(); !dl.IsZero() {
		attrs = append(attrs, workflows.AttrDeadline.ValueSet(dl))
	}
	memo := map[string]any{
		workflows.MemoAmount:    in.Amount.String(),
		workflows.MemoPaymentID: in.PaymentID,
	}
	if in.OrderID != "" {
		memo[workflows.MemoOrderID] = in.OrderID
	}
	return client.StartWorkflowOptions{
		ID:                       workflows.WorkflowID(in.PaymentID),
		TaskQueue:                c.taskQueue(),
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		WorkflowIDConflictPolicy: conflict,
		TypedSearchAttributes:    temporal.NewSearchAttributes(attrs...),
		Memo:                     memo,
		StaticSummary:            fmt.Sprintf("authorization of %s for payment %s", in.Amount, in.PaymentID),
	}
}

func (c Client) taskQueue() string {
	if c.TaskQueue == "" {
		return workflows.DefaultTaskQueue
	}
	return c.TaskQueue
}

// Outcome is a finished capture's status, as an error when it is not CAPTURED or CANCELLED.
type Outcome struct {
	workflows.Status
	Message string
}

func (o *Outcome) Error() string { return o.Message }

// Is makes errors.Is(err, ErrNotCaptured) true.
func (o *Outcome) Is(target error) bool { return target == ErrNotCaptured }

// Wait blocks until the payment's capture ends and returns its result: CAPTURED or CANCELLED
// with a nil error, FAILED, EXPIRED or UNRESOLVED as an *Outcome error.
func (c Client) Wait(ctx context.Context, paymentID string) (workflows.Result, error) {
	var res workflows.Result
	err := c.Temporal.GetWorkflow(ctx, workflows.WorkflowID(paymentID), "").Get(ctx, &res)
	if err == nil {
		return res, nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		var st workflows.Status
		if derr := appErr.Details(&st); derr == nil && st.State.Final() {
			return st, &Outcome{Status: st, Message: appErr.Message()}
		}
	}
	return res, notFound(err, paymentID)
}

// Status queries the capture's current status (running or finished).
func (c Client) Status(ctx context.Context, paymentID string) (workflows.Status, error) {
	var st workflows.Status
	v, err := c.Temporal.QueryWorkflow(ctx, workflows.WorkflowID(paymentID), "", workflows.QueryStatus)
	if err != nil {
		return st, notFound(err, paymentID)
	}
	err = v.Get(&st)
	return st, err
}

// Cancel voids the payment's authorization, if no capture was sent yet; the workflow then ends
// CANCELLED. It fails when a capture is in flight, with ErrFinished when the capture has ended
// (the error names its state), and when Antom refuses.
func (c Client) Cancel(ctx context.Context, paymentID, reason string) (workflows.Result, error) {
	var res workflows.Result
	h, err := c.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.WorkflowID(paymentID),
		UpdateName:   workflows.UpdateCancel,
		Args:         []any{reason},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return res, c.finishedOrNotFound(ctx, err, paymentID)
	}
	err = h.Get(ctx, &res)
	return res, err
}

// finishedOrNotFound tells a capture that has ended (ErrFinished, with its CaptureStatus) from
// one that never existed (ErrNotFound), for an operation that needs a running workflow.
func (c Client) finishedOrNotFound(ctx context.Context, err error, paymentID string) error {
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) {
		return err
	}
	desc, derr := c.Temporal.DescribeWorkflowExecution(ctx, workflows.WorkflowID(paymentID), "")
	if derr != nil {
		return notFound(derr, paymentID)
	}
	info := desc.GetWorkflowExecutionInfo()
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return err
	}
	state := temporalSearchAttributes(info.GetSearchAttributes().GetIndexedFields()).str(workflows.SearchAttrStatus)
	return fmt.Errorf("%w: the capture of payment %s is %s (workflow %s)", ErrFinished, paymentID, state, executionStatus(info.GetStatus()))
}

// Filter selects captures for List. Zero fields do not filter.
type Filter struct {
	State workflows.State
	// Merchant selects the captures of one merchant account (DefaultMerchant includes captures
	// started without AlipayMerchant).
	Merchant string
	// DeadlineWithin selects captures whose deadline is between now and now+DeadlineWithin.
	DeadlineWithin time.Duration
	// Overdue selects captures whose deadline has passed; with State UNKNOWN, those still
	// waiting for Antom past their deadline.
	Overdue bool
	// OpenOnly selects running captures only.
	OpenOnly bool
	// Expiring selects running authorizations waiting with part uncaptured (PENDING or
	// PARTIALLY_CAPTURED) whose deadline is less than Expiring away: the deadline guard's list.
	Expiring time.Duration
	Limit    int // default 100
	Now      time.Time
}

// Query returns the visibility query for f.
func (f Filter) Query() string {
	var q []string
	if f.State != "" {
		q = append(q, fmt.Sprintf("%s = '%s'", workflows.SearchAttrStatus, escape(string(f.State))))
	}
	switch f.Merchant {
	case "":
	case workflows.DefaultMerchant:
		q = append(q, fmt.Sprintf("(%s = '%s' OR %s IS NULL)", workflows.SearchAttrMerchant, workflows.DefaultMerchant, workflows.SearchAttrMerchant))
	default:
		q = append(q, fmt.Sprintf("%s = '%s'", workflows.SearchAttrMerchant, escape(f.Merchant)))
	}
	now := f.Now
	if now.IsZero() {
		now = time.Now()
	}
	if f.DeadlineWithin > 0 {
		q = append(q, fmt.Sprintf("%s BETWEEN '%s' AND '%s'", workflows.SearchAttrDeadline,
			now.UTC().Format(time.RFC3339), now.Add(f.DeadlineWithin).UTC().Format(time.RFC3339)))
	}
	if f.Overdue {
		q = append(q, fmt.Sprintf("%s < '%s'", workflows.SearchAttrDeadline, now.UTC().Format(time.RFC3339)))
	}
	if f.Expiring > 0 {
		q = append(q, fmt.Sprintf("%s IN ('%s', '%s') AND %s < '%s'", workflows.SearchAttrStatus, workflows.StatePending, workflows.StatePartiallyCaptured,
			workflows.SearchAttrDeadline, now.Add(f.Expiring).UTC().Format(time.RFC3339)))
	}
	if f.OpenOnly || f.Expiring > 0 {
		q = append(q, "ExecutionStatus = 'Running'")
	}
	wfType := workflows.WorkflowType
	if f.State == workflows.StateContradiction {
		wfType = workflows.ReconcileWorkflowType
	}
	q = append(q, fmt.Sprintf("WorkflowType = '%s'", wfType))
	return strings.Join(q, " AND ")
}

// Summary is one capture in a List.
type Summary struct {
	WorkflowID string    `json:"workflowId"`
	PaymentID  string    `json:"paymentId"`
	Merchant   string    `json:"merchant"`
	OrderID    string    `json:"orderId,omitempty"`
	State      string    `json:"state"`
	Deadline   time.Time `json:"deadline,omitzero"`
	Execution  string    `json:"execution"` // Running, Completed, Failed, …
	RunID      string    `json:"runId"`
}

// List returns captures matching f, newest first.
func (c Client) List(ctx context.Context, f Filter) ([]Summary, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var out []Summary
	var token []byte
	for len(out) < limit {
		resp, err := c.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: f.Query(), PageSize: int32(min(limit-len(out), 1000)), NextPageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("list captures (%s): %w", f.Query(), err)
		}
		for _, e := range resp.GetExecutions() {
			sa := temporalSearchAttributes(e.GetSearchAttributes().GetIndexedFields())
			s := Summary{
				WorkflowID: e.GetExecution().GetWorkflowId(),
				PaymentID:  sa.str(workflows.SearchAttrPaymentID),
				Merchant:   workflows.MerchantName(sa.str(workflows.SearchAttrMerchant)),
				OrderID:    sa.str(workflows.SearchAttrOrderID),
				State:      sa.str(workflows.SearchAttrStatus),
				Deadline:   sa.time(workflows.SearchAttrDeadline),
				Execution:  executionStatus(e.GetStatus()),
				RunID:      e.GetExecution().GetRunId(),
			}
			out = append(out, s)
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	return out, nil
}

func notFound(err error, paymentID string) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("%w %s: %w", ErrNotFound, paymentID, err)
	}
	return err
}

func escape(s string) string { return strings.ReplaceAll(s, "'", "\\'") }

func executionStatus(s enumspb.WorkflowExecutionStatus) string {
	name := strings.TrimPrefix(s.String(), "WORKFLOW_EXECUTION_STATUS_")
	if name == "" {
		return ""
	}
	return name[:1] + strings.ToLower(name[1:])
}
