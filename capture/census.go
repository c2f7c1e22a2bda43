package capture

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
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
	// AtRisk sums the amounts of running captures by merchant account and currency, in minor
	// units.
	AtRisk map[Pot]*big.Int
	// AtRiskNearDeadline sums the amounts of those within Window of their deadline.
	AtRiskNearDeadline map[Pot]*big.Int
	// Window is the deadline window used (24 h by default).
	Window time.Duration
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
	out := Census{Window: window, AtRisk: map[Pot]*big.Int{}, AtRiskNearDeadline: map[Pot]*big.Int{}}
	q := Filter{OpenOnly: true}.Query()
	var token []byte
	for {
		resp, err := c.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, PageSize: 1000, NextPageToken: token})
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
			amt, ok := memoAmount(e.GetMemo().GetFields())
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

// memoAmount reads the "amount" memo ("10.50 USD") that Start and the workflow write.
func memoAmount(fields map[string]*commonpb.Payload) (alipay.Amount, bool) {
	p, ok := fields[workflows.MemoAmount]
	if !ok {
		return alipay.Amount{}, false
	}
	var s string
	if converter.GetDefaultDataConverter().FromPayload(p, &s) != nil {
		return alipay.Amount{}, false
	}
	dec, cur, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok {
		return alipay.Amount{}, false
	}
	a, err := alipay.ParseDecimal(cur, dec)
	return a, err == nil
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
