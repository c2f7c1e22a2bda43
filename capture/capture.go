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

// Started tells what Start did.
type Started struct {
	WorkflowID string
	RunID      string
	// AlreadyStarted is true when a capture for the payment was running or had completed: no
	// second capture was started, and RunID is the existing run.
	AlreadyStarted bool
}

// Start starts the capture of in.PaymentID, once: while a capture for the payment runs, or
// after it completed (CAPTURED or CANCELLED), Start returns the existing run with
// AlreadyStarted set and no error; if that run captures another amount or currency, Start
// returns ErrConflict instead. Only after a FAILED, EXPIRED or UNRESOLVED run may a new one start
// (with in.Attempt raised if a new captureRequestId is wanted).
//
// The input is written with the policy defaults filled in, so that the capture keeps them
// whatever a later release changes (DESIGN §2, rule 8).
func (c Client) Start(ctx context.Context, in workflows.CaptureInput) (Started, error) {
	if err := in.Validate(); err != nil {
		return Started{}, fmt.Errorf("invalid capture: %w", err)
	}
	in.Policy = in.Policy.WithDefaults()
	id := workflows.WorkflowID(in.PaymentID)
	attrs := []temporal.SearchAttributeUpdate{
		workflows.AttrPaymentID.ValueSet(in.PaymentID),
		workflows.AttrStatus.ValueSet(string(workflows.StatePending)),
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
		workflows.MemoAmount:           in.Amount.String(),
		workflows.MemoPaymentID:        in.PaymentID,
		workflows.MemoCaptureRequestID: workflows.CaptureRequestID(in.PaymentID, max(in.Attempt, 1)),
	}
	if in.OrderID != "" {
		memo[workflows.MemoOrderID] = in.OrderID
	}
	run, err := c.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                c.taskQueue(),
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(attrs...),
		Memo:                                     memo,
		StaticSummary:                            fmt.Sprintf("capture %s for payment %s", in.Amount, in.PaymentID),
	}, workflows.WorkflowType, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &already):
		if err := c.sameAmount(ctx, id, already.RunId, in); err != nil {
			return Started{WorkflowID: id, RunID: already.RunId, AlreadyStarted: true}, err
		}
		return Started{WorkflowID: id, RunID: already.RunId, AlreadyStarted: true}, nil
	case err != nil:
		return Started{}, fmt.Errorf("start capture %s: %w", id, err)
	}
	return Started{WorkflowID: id, RunID: run.GetRunID()}, nil
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
	// DeadlineWithin selects captures whose deadline is between now and now+DeadlineWithin.
	DeadlineWithin time.Duration
	// Overdue selects captures whose deadline has passed; with State UNKNOWN, those still
	// waiting for Antom past their deadline.
	Overdue bool
	// OpenOnly selects running captures only.
	OpenOnly bool
	Limit    int // default 100
	Now      time.Time
}

// Query returns the visibility query for f.
func (f Filter) Query() string {
	var q []string
	if f.State != "" {
		q = append(q, fmt.Sprintf("%s = '%s'", workflows.SearchAttrStatus, escape(string(f.State))))
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
	if f.OpenOnly {
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
