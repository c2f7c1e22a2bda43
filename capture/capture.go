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

// Start captures in.Amount of the payment once: Capture with the payment's one key. While a
// capture for the payment runs, or after it completed (CAPTURED or CANCELLED), Start returns the
// existing run with AlreadyStarted set and no error; if that run captures another amount or
// currency, Start returns ErrConflict instead. Only after a FAILED, EXPIRED or UNRESOLVED run may
// a new one start (with in.Attempt raised if a new captureRequestId is wanted).
func (c Client) Start(ctx context.Context, in workflows.CaptureInput) (Started, error) {
	return c.Capture(ctx, in, "")
}

// Capture asks for the capture of in.Amount of payment in.PaymentID, identified by key (the
// caller's idempotency key, e.g. the shipment id; empty: the payment's one full capture). If no
// workflow guards the authorization yet, one is started with in (its policy, deadline and
// in.AuthorizedAmount, in.PartialCaptures), in the same atomic call (Update-with-Start). It
// returns once the capture has its first answer; the same key again returns the same capture
// and sends nothing. A request the authorization cannot take (another amount for the key, more
// than remains, a partial capture of a one-time payment) is ErrConflict; one after its cut-off,
// last capture or cancel is ErrFinished. A worker must be running to take the request: the
// call waits for one until ctx ends. Once the workflow accepted the request it is durable: if
// ctx ends before the first answer, Capture returns without error and with a nil
// Started.Capture (AlreadyStarted is then unknown and false); calling again with the same key is
// safe.
//
// The input is written with the policy defaults filled in, so that the authorization keeps them
// whatever a later release changes (DESIGN §2, rule 8).
func (c Client) Capture(ctx context.Context, in workflows.CaptureInput, key string) (Started, error) {
	if err := in.Validate(); err != nil {
		return Started{}, fmt.Errorf("invalid capture: %w", err)
	}
	if key == "" {
		key = workflows.StartKey
	}
	in.Policy = in.Policy.WithDefaults()
	id := workflows.WorkflowID(in.PaymentID)
	req := workflows.CaptureRequest{Amount: in.Amount, IsLastCapture: in.IsLastCapture != nil && *in.IsLastCapture, Key: key,
		Merchant: workflows.MerchantName(in.Merchant)}
	start := in
	start.AwaitCapture, start.StartedVisible = true, true
	op := c.Temporal.NewWithStartWorkflowOperation(c.startOptions(start, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING), workflows.WorkflowType, start)
	h, err := c.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{
			// No UpdateID: each call is its own request, and the workflow recognises the key, so
			// that a repeat reports AlreadyStarted (Temporal would replay the first reply).
			UpdateName:   workflows.UpdateCapture,
			Args:         []any{req},
			WaitForStage: client.WorkflowUpdateStageAccepted,
		},
	})
	if err != nil {
		return c.captureRefused(ctx, err, in)
	}
	var reply workflows.CaptureReply
	if err := h.Get(ctx, &reply); err != nil {
		if ctx.Err() != nil {
			return Started{WorkflowID: id, RunID: h.RunID()}, nil // accepted; the answer comes later
		}
		return c.captureRefused(ctx, err, in)
	}
	return Started{WorkflowID: id, RunID: h.RunID(), AlreadyStarted: reply.Duplicate, Capture: &reply}, nil
}

// captureRefused explains why a capture request was not taken.
func (c Client) captureRefused(ctx context.Context, err error, in workflows.CaptureInput) (Started, error) {
	id := workflows.WorkflowID(in.PaymentID)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	var appErr *temporal.ApplicationError
	switch {
	case errors.As(err, &already):
		// The payment's workflow has completed (CAPTURED or CANCELLED): nothing more to start.
		return Started{WorkflowID: id, RunID: already.RunId, AlreadyStarted: true}, c.sameAmount(ctx, id, already.RunId, in)
	case errors.As(err, &appErr) && appErr.Type() == workflows.ErrTypeCaptureConflict:
		return Started{WorkflowID: id}, fmt.Errorf("%w: %s; nothing was started", ErrConflict, appErr.Message())
	case errors.As(err, &appErr) && appErr.Type() == workflows.ErrTypeCaptureClosed:
		return Started{WorkflowID: id}, fmt.Errorf("%w: %s", ErrFinished, appErr.Message())
	case strings.Contains(err.Error(), "unknown update"):
		// A capture started by an earlier release runs: it captures its own amount once.
		desc, derr := c.Temporal.DescribeWorkflowExecution(ctx, id, "")
		if derr != nil {
			return Started{WorkflowID: id}, fmt.Errorf("capture %s exists; reading it: %w", id, derr)
		}
		runID := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
		return Started{WorkflowID: id, RunID: runID, AlreadyStarted: true}, c.sameAmount(ctx, id, runID, in)
	}
	return Started{}, fmt.Errorf("capture %s: %w", id, err)
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
	in.AwaitCapture, in.StartedVisible = true, true
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
	switch {
	case !in.AuthExpiresAt.IsZero():
		attrs = append(attrs, workflows.AttrDeadline.ValueSet(in.AuthExpiresAt))
	case !in.AuthorizedAt.IsZero():
		attrs = append(attrs, workflows.AttrDeadline.ValueSet(in.AuthorizedAt.Add(workflows.AuthorizationWindow)))
	}
	memo := map[string]any{
		workflows.MemoAmount:           in.Authorized().String(),
		workflows.MemoPaymentID:        in.PaymentID,
		workflows.MemoCaptureRequestID: workflows.CaptureRequestID(in.PaymentID, max(in.Attempt, 1)),
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
		StaticSummary:            fmt.Sprintf("authorization of %s for payment %s", in.Authorized(), in.PaymentID),
	}
}

// sameAmount returns ErrConflict when the existing run captures another amount than in.
func (c Client) sameAmount(ctx context.Context, id, runID string, in workflows.CaptureInput) error {
	desc, err := c.Temporal.DescribeWorkflowExecution(ctx, id, runID)
	if err != nil {
		return fmt.Errorf("capture %s exists; reading its amount: %w", id, err)
	}
	field := desc.GetWorkflowExecutionInfo().GetMemo().GetFields()[workflows.MemoAmount]
	if field == nil {
		return nil // started without a memo, by another client: nothing to compare
	}
	var existing string
	if err := converter.GetDefaultDataConverter().FromPayload(field, &existing); err != nil {
		return fmt.Errorf("capture %s exists; reading its amount: %w", id, err)
	}
	if existing != in.Amount.String() {
		return fmt.Errorf("%w: payment %s is already being captured for %s, not %s (run %s); nothing was started",
			ErrConflict, in.PaymentID, existing, in.Amount, runID)
	}
	return nil
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
