package capture

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/workflows"
)

// Inquirer asks Antom about a payment; *alipay.Client implements it.
type Inquirer interface {
	InquiryPayment(ctx context.Context, req alipay.InquiryRequest) (*alipay.InquiryResponse, error)
}

// Sweep configures a reconciliation sweep (Client.Sweep).
type Sweep struct {
	// Since selects captures closed in the last Since (required).
	Since time.Duration
	// Antom returns the client of a merchant account (workflows.DefaultMerchant for captures
	// without one); an error skips that account's captures as unchecked.
	Antom func(merchant string) (Inquirer, error)
	// Concurrency bounds the inquiries in flight (default 4); Rate bounds them per second
	// (default 5), under Antom's rate limits.
	Concurrency int
	Rate        float64
	// Progress, if set, is called after each capture checked, with the counts so far.
	Progress func(checked, total int)
	// Now is the end of the window (default time.Now()).
	Now time.Time
}

// Disagreement is a closed capture that Antom's ledger does not bear out.
type Disagreement struct {
	PaymentID   string          `json:"paymentId"`
	Merchant    string          `json:"merchant"`
	WorkflowID  string          `json:"workflowId"`
	RunID       string          `json:"runId"`
	ClosedState workflows.State `json:"closedState"`
	// Captured is what the closed capture says was captured; AntomCaptured what Antom's
	// successful CAPTURE transactions add up to.
	Captured      alipay.Amount `json:"captured"`
	AntomCaptured alipay.Amount `json:"antomCaptured"`
	// AntomProcessing lists capture request ids Antom still processes.
	AntomProcessing []string `json:"antomProcessing,omitempty"`
	Detail          string   `json:"detail"`
	// What Record records: the captures Antom reports successful that the closed capture does
	// not count (unaccounted), and the request ids the closed capture counts as captured, or
	// left unresolved, that Antom reports failed or does not know (notCaptured).
	unaccounted []alipay.Transaction
	notCaptured []string
}

// SweepResult is what a sweep found.
type SweepResult struct {
	Checked       int            // closed captures compared with Antom
	Unchecked     []string       // payment ids that could not be checked, with why
	Disagreements []Disagreement // sorted by payment id
}

// candidate is a closed capture to compare with Antom.
type candidate struct {
	workflowID, runID, paymentID, merchant string
	state                                  workflows.State
}

// Sweep compares with Antom (inquiryPayment) every capture closed within s.Since whose final
// state is not CAPTURED or CANCELLED, and every CAPTURED one with a discrepancy, and returns
// those Antom's ledger does not bear out: money captured that the capture says was not (or
// another amount), a capture Antom still processes, and every UNRESOLVED capture with Antom's
// answer now. It reads visibility once, each CAPTURED capture's result, and calls Antom at most
// s.Rate times a second.
func (c Client) Sweep(ctx context.Context, s Sweep) (SweepResult, error) {
	var res SweepResult
	if s.Since <= 0 || s.Antom == nil {
		return res, errors.New("sweep: Since and Antom are required")
	}
	now := s.Now
	if now.IsZero() {
		now = time.Now()
	}
	cands, err := c.closedSince(ctx, now.Add(-s.Since))
	if err != nil {
		return res, err
	}
	limit := rate.NewLimiter(rate.Limit(or(s.Rate, 5)), 1)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(int(or(float64(s.Concurrency), 4)))
	var mu sync.Mutex
	checked := 0
	for _, cd := range cands {
		g.Go(func() error {
			d, err := c.check(gctx, cd, s, limit)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && gctx.Err() != nil:
				return err
			case err != nil:
				res.Unchecked = append(res.Unchecked, cd.paymentID+": "+err.Error())
			case d != nil:
				res.Disagreements = append(res.Disagreements, *d)
			}
			checked++
			if s.Progress != nil {
				s.Progress(checked, len(cands))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return res, err
	}
	res.Checked = checked - len(res.Unchecked)
	sort.Slice(res.Disagreements, func(i, j int) bool { return res.Disagreements[i].PaymentID < res.Disagreements[j].PaymentID })
	sort.Strings(res.Unchecked)
	return res, nil
}

func or(v, def float64) float64 {
	if v <= 0 {
		return def
	}
	return v
}

// closedSince lists the capture workflows closed after since, except CANCELLED ones.
func (c Client) closedSince(ctx context.Context, since time.Time) ([]candidate, error) {
	q := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus != 'Running' AND CloseTime > '%s' AND %s != '%s'",
		workflows.WorkflowType, since.UTC().Format(time.RFC3339), workflows.SearchAttrStatus, workflows.StateCancelled)
	var out []candidate
	var token []byte
	for {
		resp, err := c.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, PageSize: 1000, NextPageToken: token})
		if err != nil {
			return nil, fmt.Errorf("sweep: list closed captures (%s): %w", q, err)
		}
		for _, e := range resp.GetExecutions() {
			sa := temporalSearchAttributes(e.GetSearchAttributes().GetIndexedFields())
			out = append(out, candidate{
				workflowID: e.GetExecution().GetWorkflowId(), runID: e.GetExecution().GetRunId(),
				paymentID: sa.str(workflows.SearchAttrPaymentID), merchant: workflows.MerchantName(sa.str(workflows.SearchAttrMerchant)),
				state: workflows.State(sa.str(workflows.SearchAttrStatus)),
			})
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return out, nil
		}
	}
}

// closedStatus reads a closed capture's final Status.
func (c Client) closedStatus(ctx context.Context, cd candidate) (workflows.Status, bool) {
	st, err := FinalStatus(ctx, c.Temporal.GetWorkflow(ctx, cd.workflowID, cd.runID))
	return st, err == nil
}

// check compares one closed capture with Antom; it returns a Disagreement, or nil when they agree.
func (c Client) check(ctx context.Context, cd candidate, s Sweep, limit *rate.Limiter) (*Disagreement, error) {
	st, ok := c.closedStatus(ctx, cd)
	if cd.state == workflows.StateCaptured && (!ok || !hasDiscrepancy(st)) {
		return nil, nil // captured as requested
	}
	antom, err := s.Antom(cd.merchant)
	if err != nil {
		return nil, fmt.Errorf("merchant %s: %w", cd.merchant, err)
	}
	if err := limit.Wait(ctx); err != nil {
		return nil, err
	}
	resp, err := antom.InquiryPayment(ctx, alipay.InquiryRequest{PaymentID: cd.paymentID})
	if err != nil {
		return nil, fmt.Errorf("inquiryPayment: %w", err)
	}
	if resp.Result.ResultStatus != alipay.StatusSuccess {
		return nil, fmt.Errorf("inquiryPayment: %s", resp.Result)
	}
	ours := capturedIDs(st, cd.state)
	antomSucceeded := map[string]bool{}
	d := &Disagreement{PaymentID: cd.paymentID, Merchant: cd.merchant, WorkflowID: cd.workflowID, RunID: cd.runID, ClosedState: cd.state}
	currency := st.Amount.Currency
	var antomUnits int64
	for _, tx := range resp.Transactions {
		if tx.TransactionType != "CAPTURE" {
			continue
		}
		switch tx.TransactionStatus {
		case alipay.TxSuccess:
			u, _ := tx.TransactionAmount.MinorUnits()
			antomUnits += u
			currency = tx.TransactionAmount.Currency
			antomSucceeded[tx.TransactionRequestID] = true
			if !ours[tx.TransactionRequestID] {
				d.unaccounted = append(d.unaccounted, tx)
			}
		case alipay.TxProcessing:
			d.AntomProcessing = append(d.AntomProcessing, tx.TransactionRequestID)
		}
	}
	if cd.state == workflows.StateUnresolved && st.CaptureRequestID != "" {
		ours[st.CaptureRequestID] = true // Antom's FAIL for it settles it
	}
	for _, id := range slices.Sorted(maps.Keys(ours)) {
		if tx, found := resp.CaptureTransaction(id); !antomSucceeded[id] && (!found || tx.TransactionStatus == alipay.TxFail) {
			d.notCaptured = append(d.notCaptured, id)
		}
	}
	ourUnits := capturedUnits(st, cd.state)
	if currency == "" {
		currency = "XXX"
	}
	d.Captured = alipay.Amount{Currency: currency, Value: strconv.FormatInt(ourUnits, 10)}
	d.AntomCaptured = alipay.Amount{Currency: currency, Value: strconv.FormatInt(antomUnits, 10)}
	var why []string
	if antomUnits != ourUnits {
		why = append(why, fmt.Sprintf("Antom captured %s, the capture closed %s having captured %s", d.AntomCaptured, cd.state, d.Captured))
	}
	if len(d.AntomProcessing) > 0 {
		why = append(why, "Antom still processes "+strings.Join(d.AntomProcessing, ", "))
	}
	if cd.state == workflows.StateUnresolved && len(why) == 0 {
		why = append(why, fmt.Sprintf("unresolved; Antom now reports %s captured (payment %s)", d.AntomCaptured, resp.PaymentStatus))
	}
	if len(why) == 0 {
		return nil, nil
	}
	d.Detail = strings.Join(why, "; ")
	return d, nil
}

// capturedIDs are the request ids of the captures a closed capture counts as captured.
func capturedIDs(st workflows.Status, state workflows.State) map[string]bool {
	ids := map[string]bool{}
	for _, id := range st.CapturedRequestIDs() {
		ids[id] = true
	}
	return ids
}

// hasDiscrepancy reports a captured amount that differs from the request, or a contradiction
// the authorization recorded, on any capture of the authorization.
func hasDiscrepancy(st workflows.Status) bool {
	for _, c := range st.Captures {
		if c.Discrepancy != "" || c.Contradiction != "" {
			return true
		}
	}
	return false
}

// capturedUnits is what a closed capture says was captured, in minor units.
func capturedUnits(st workflows.Status, _ workflows.State) int64 {
	u, _ := st.Captured.MinorUnits()
	return u
}

// Record records a disagreement durably, as a late contradicting notification is (docs/design.md,
// rule 7): a ReconcileCaptureWorkflow per capture Antom reports successful that the closed
// capture does not account for, and per capture the closed capture counts (or left unresolved)
// that Antom reports failed or does not know. Each asks Antom again, fails loudly when Antom
// confirms the contradiction, and completes with the verdict otherwise (an unresolved capture
// Antom failed: nothing to settle). It returns their ids; a capture Antom still processes is
// not recorded (the next sweep sees it again). Recording the same disagreement again starts
// nothing new.
func (c Client) Record(ctx context.Context, d Disagreement) ([]string, error) {
	var found []alipay.CaptureNotification
	for _, tx := range d.unaccounted {
		n := alipay.CaptureNotification{
			NotifyType: alipay.NotifyTypeCaptureResult, PaymentID: d.PaymentID, CaptureRequestID: tx.TransactionRequestID,
			CaptureID: tx.TransactionID, CaptureAmount: tx.TransactionAmount, CaptureTime: tx.TransactionTime,
			Result: alipay.Result{ResultCode: alipay.CodeSuccess, ResultStatus: alipay.StatusSuccess, ResultMessage: "found by the reconciliation sweep"},
		}
		if tx.TransactionResult != nil {
			n.Result = *tx.TransactionResult
		}
		found = append(found, n)
	}
	for _, id := range d.notCaptured {
		found = append(found, alipay.CaptureNotification{NotifyType: alipay.NotifyTypeCaptureResult, PaymentID: d.PaymentID, CaptureRequestID: id,
			Result: alipay.Result{ResultCode: "NOT_CAPTURED", ResultStatus: alipay.StatusFail, ResultMessage: "no successful capture at Antom (reconciliation sweep)"}})
	}
	var ids []string
	for _, n := range found {
		id, err := StartReconcile(ctx, c.Temporal, c.taskQueue(), workflows.ReconcileInput{
			Merchant: d.Merchant, Notification: n, ClosedState: d.ClosedState, ClosedRunID: d.RunID,
		}, fmt.Sprintf("sweep: Antom's %s for a %s capture of payment %s", n.Result.ResultStatus, d.ClosedState, d.PaymentID))
		if err != nil {
			return ids, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// WorkflowStarter starts workflows; go.temporal.io/sdk/client.Client implements it.
type WorkflowStarter interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
}

// StartReconcile records a result that contradicts a closed capture as a ReconcileCaptureWorkflow
// (docs/design.md, rule 7), once per payment, request and result: a second start of the same one
// starts nothing new and succeeds. It returns the workflow id.
func StartReconcile(ctx context.Context, t WorkflowStarter, taskQueue string, in workflows.ReconcileInput, summary string) (string, error) {
	n := in.Notification
	id := workflows.ReconcileWorkflowID(n.PaymentID, n.CaptureRequestID, n.Result.ResultStatus)
	if taskQueue == "" {
		taskQueue = workflows.DefaultTaskQueue
	}
	_, err := t.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                taskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            summary,
	}, workflows.ReconcileWorkflowType, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &already) {
		return id, fmt.Errorf("record %s: %w", id, err)
	}
	return id, nil
}
