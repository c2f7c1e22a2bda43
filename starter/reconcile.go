package main

import (
	"context"
	"fmt"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/internal/config"
)

// reconcile runs the reconciliation sweep: closed captures that Antom's ledger does not bear out.
func (c *cli) reconcile(ctx context.Context, args []string) int {
	fs := c.flags("reconcile", "--since DURATION [--record] [--concurrency N] [--rate PER_SECOND] [--json]",
		"starter reconcile --since 72h --record")
	since := fs.Duration("since", 0, "check captures closed within this long, e.g. 72h (required)")
	record := fs.Bool("record", false, "record each disagreement durably as a ReconcileCaptureWorkflow (CaptureStatus=CONTRADICTION), as a contradicting notification is")
	concurrency := fs.Int("concurrency", 4, "inquiries to Antom in flight at once")
	perSecond := fs.Float64("rate", 5, "inquiries to Antom per second at most (Antom rate-limits)")
	asJSON := fs.Bool("json", false, "print the disagreements as JSON instead of a table")
	if code, done := parse(fs, args); done {
		return code
	}
	switch {
	case fs.NArg() > 0:
		return c.fail(exitUsage, "reconcile: unexpected argument %q", fs.Arg(0))
	case *since <= 0:
		return c.fail(exitUsage, "reconcile: --since is required, e.g. --since 72h")
	case *concurrency <= 0 || *perSecond <= 0:
		return c.fail(exitUsage, "reconcile: --concurrency and --rate must be positive")
	}
	var s config.Starter
	if err := config.Load(&s); err != nil {
		return c.fail(exitUsage, "reconcile: %v", err)
	}
	merchants, err := s.Alipay.Merchants(true)
	if err != nil {
		return c.fail(exitUsage, "reconcile needs the Antom accounts (as the worker has them): %v", err)
	}
	clients := map[string]capture.Inquirer{}
	for _, m := range merchants {
		cl, err := m.Client()
		if err != nil {
			return c.fail(exitUsage, "reconcile: %v", err)
		}
		clients[m.Name] = cl
	}
	cc, closeFn, code := c.connect(ctx)
	if code != exitOK {
		return code
	}
	defer closeFn()

	var mu sync.Mutex
	last := time.Now()
	res, err := cc.Sweep(ctx, capture.Sweep{
		Since: *since, Concurrency: *concurrency, Rate: *perSecond,
		Antom: func(merchant string) (capture.Inquirer, error) {
			if cl, ok := clients[merchant]; ok {
				return cl, nil
			}
			return nil, fmt.Errorf("no account %q in ALIPAY_CLIENT_ID or ALIPAY_MERCHANTS_FILE", merchant)
		},
		Progress: func(checked, total int) {
			mu.Lock()
			defer mu.Unlock()
			if checked == total || time.Since(last) >= 5*time.Second {
				last = time.Now()
				fmt.Fprintf(c.stderr, "reconcile: %d of %d closed captures checked\n", checked, total)
			}
		},
	})
	if err != nil {
		return c.fail(exitError, "reconcile: %v", err)
	}
	recorded := map[string][]string{}
	if *record {
		for _, d := range res.Disagreements {
			ids, err := cc.Record(ctx, d)
			if err != nil {
				return c.fail(exitError, "reconcile: %v", err)
			}
			recorded[d.PaymentID] = ids
		}
	}
	if *asJSON {
		c.printJSON(res.Disagreements)
	} else if len(res.Disagreements) > 0 {
		tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PAYMENT\tMERCHANT\tCLOSED\tCAPTURED\tANTOM CAPTURED\tDISAGREEMENT\tRECORDED")
		for _, d := range res.Disagreements {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%v\n", d.PaymentID, d.Merchant, d.ClosedState, d.Captured, d.AntomCaptured, d.Detail, recorded[d.PaymentID])
		}
		_ = tw.Flush()
	}
	for _, u := range res.Unchecked {
		fmt.Fprintf(c.stderr, "reconcile: not checked: %s\n", u)
	}
	fmt.Fprintf(c.stderr, "reconcile: %d closed captures checked against Antom, %d disagree, %d not checked (window %v)\n",
		res.Checked, len(res.Disagreements), len(res.Unchecked), *since)
	if len(res.Disagreements) > 0 || len(res.Unchecked) > 0 {
		return exitError
	}
	return exitOK
}
