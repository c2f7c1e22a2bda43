package capture

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/workflows"
)

// Census is where the money of running captures stands: none of them is captured yet.
type Census struct {
	// Running counts running captures (PENDING, CAPTURING or UNKNOWN).
	Running int
	// Unknown counts captures waiting for Antom's answer.
	Unknown int
	// Overdue counts those of them whose deadline has passed (Antom still processing).
	Overdue int
	// NearDeadline counts running captures whose deadline is within Window.
	NearDeadline int
	// AtRisk sums what running captures have not captured yet (the authorization, less what a
	// partial capture took) by merchant account and currency, in minor units.
	AtRisk map[Pot]*big.Int
	// AtRiskNearDeadline sums the amounts of those within Window of their deadline.
	AtRiskNearDeadline map[Pot]*big.Int
	// Window is the deadline window used (24 h by default).
	Window time.Duration
	// At is when it was taken; ListCalls counts the visibility listings (pages) it took.
	At        time.Time
	ListCalls int
}

// Pot is where an amount at risk sits: a merchant account and a currency.
type Pot struct {
	Merchant string
	Currency string
}

// Census lists the running captures (one visibility listing, paged) and adds up where they
// stand at now. window is the "near the deadline" window; 0 means 24 h.
func (c Client) Census(ctx context.Context, now time.Time, window time.Duration) (Census, error) {
	if window <= 0 {
		window = 24 * time.Hour
	}
	out := Census{Window: window, At: now, AtRisk: map[Pot]*big.Int{}, AtRiskNearDeadline: map[Pot]*big.Int{}}
	q := Filter{OpenOnly: true}.Query()
	var token []byte
	for {
		resp, err := c.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, PageSize: 1000, NextPageToken: token})
		out.ListCalls++
		if err != nil {
			return out, fmt.Errorf("census (%s): %w", q, err)
		}
		for _, e := range resp.GetExecutions() {
			sa := temporalSearchAttributes(e.GetSearchAttributes().GetIndexedFields())
			out.Running++
			deadline := sa.time(workflows.SearchAttrDeadline)
			if sa.str(workflows.SearchAttrStatus) == string(workflows.StateUnknown) {
				out.Unknown++
				if !deadline.IsZero() && deadline.Before(now) {
					out.Overdue++
				}
			}
			near := false
			if d := deadline; !d.IsZero() && d.Sub(now) <= window {
				out.NearDeadline++
				near = true
			}
			amt, ok, err := memoAmount(c.dataConverter(), e.GetMemo().GetFields())
			if err != nil {
				return out, fmt.Errorf("census: the amount of %s: %w", e.GetExecution().GetWorkflowId(), err)
			}
			if !ok {
				continue
			}
			merchant := workflows.MerchantName(sa.str(workflows.SearchAttrMerchant))
			add(out.AtRisk, merchant, amt)
			if near {
				add(out.AtRiskNearDeadline, merchant, amt)
			}
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			return out, nil
		}
	}
}

// memoAmount reads what a running capture has not captured yet: the "uncaptured" memo the
// workflow writes after a partial capture, else the "amount" memo ("10.50 USD") that Start and
// the workflow write. A memo that does not decode (encrypted under a key dc lacks) is an
// error, not a capture without one.
func memoAmount(dc converter.DataConverter, fields map[string]*commonpb.Payload) (alipay.Amount, bool, error) {
	p, ok := fields[workflows.MemoUncaptured]
	if !ok {
		p, ok = fields[workflows.MemoAmount]
	}
	if !ok {
		return alipay.Amount{}, false, nil
	}
	var s string
	if err := dc.FromPayload(p, &s); err != nil {
		return alipay.Amount{}, false, err
	}
	dec, cur, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok {
		return alipay.Amount{}, false, nil
	}
	a, err := alipay.ParseDecimal(cur, dec)
	return a, err == nil, nil
}

func add(m map[Pot]*big.Int, merchant string, a alipay.Amount) {
	v, ok := new(big.Int).SetString(a.Value, 10)
	if !ok {
		return
	}
	k := Pot{Merchant: merchant, Currency: a.Currency}
	if m[k] == nil {
		m[k] = new(big.Int)
	}
	m[k].Add(m[k], v)
}

// Snapshot is c as the census workflow's result.
func (c Census) Snapshot() workflows.CensusSnapshot {
	pots := func(m map[Pot]*big.Int) []workflows.PotAmount {
		out := make([]workflows.PotAmount, 0, len(m))
		for k, v := range m {
			out = append(out, workflows.PotAmount{Merchant: k.Merchant, Currency: k.Currency, Value: v.String()})
		}
		sort.Slice(out, func(i, j int) bool {
			return out[i].Merchant < out[j].Merchant || (out[i].Merchant == out[j].Merchant && out[i].Currency < out[j].Currency)
		})
		return out
	}
	return workflows.CensusSnapshot{At: c.At, Window: c.Window, Running: c.Running, Unknown: c.Unknown, Overdue: c.Overdue,
		NearDeadline: c.NearDeadline, AtRisk: pots(c.AtRisk), AtRiskNearDeadline: pots(c.AtRiskNearDeadline), ListCalls: c.ListCalls}
}

// censusOf turns a census workflow's result back into a Census.
func censusOf(s workflows.CensusSnapshot) Census {
	pots := func(l []workflows.PotAmount) map[Pot]*big.Int {
		m := map[Pot]*big.Int{}
		for _, p := range l {
			if v, ok := new(big.Int).SetString(p.Value, 10); ok {
				m[Pot{Merchant: p.Merchant, Currency: p.Currency}] = v
			}
		}
		return m
	}
	return Census{At: s.At, Window: s.Window, Running: s.Running, Unknown: s.Unknown, Overdue: s.Overdue, NearDeadline: s.NearDeadline,
		AtRisk: pots(s.AtRisk), AtRiskNearDeadline: pots(s.AtRiskNearDeadline), ListCalls: s.ListCalls}
}

// KeepCensus makes sure the census workflow runs: one census of the running captures every
// interval for the whole deployment, whichever worker takes it. A census workflow that runs is
// left as it is (its interval included); it reports whether it started one. It also deletes the
// census schedule of earlier releases, if there is one.
func (c Client) KeepCensus(ctx context.Context, every time.Duration) (started bool, err error) {
	if err := c.Temporal.ScheduleClient().GetHandle(ctx, workflows.LegacyCensusScheduleID).Delete(ctx); err != nil {
		var notFound *serviceerror.NotFound
		if !errors.As(err, &notFound) {
			return false, fmt.Errorf("deleting the census schedule of an earlier release (%s): %w", workflows.LegacyCensusScheduleID, err)
		}
	}
	_, err = c.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       workflows.CensusWorkflowID,
		TaskQueue:                                c.taskQueue(),
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary:                            "the census of running captures behind the alipay_capture_* gauges (amounts at risk), every " + every.String(),
	}, workflows.CensusWorkflowType, workflows.CensusInput{Every: every})
	var running *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &running):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("census workflow %s: %w", workflows.CensusWorkflowID, err)
	}
	return true, nil
}

// LatestCensus returns the newest census the census workflow took: one query, however many
// captures run.
func (c Client) LatestCensus(ctx context.Context) (Census, error) {
	v, err := c.Temporal.QueryWorkflow(ctx, workflows.CensusWorkflowID, "", workflows.QueryCensus)
	if err != nil {
		return Census{}, fmt.Errorf("census workflow %s: %w", workflows.CensusWorkflowID, err)
	}
	var s workflows.CensusSnapshot
	if err := v.Get(&s); err != nil {
		return Census{}, fmt.Errorf("census workflow %s: %w", workflows.CensusWorkflowID, err)
	}
	if s.At.IsZero() {
		return Census{}, fmt.Errorf("census workflow %s has taken no census yet", workflows.CensusWorkflowID)
	}
	return censusOf(s), nil
}
