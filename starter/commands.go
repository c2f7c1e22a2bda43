package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/workflows"
)

func (c *cli) capture(ctx context.Context, args []string) int {
	fs := c.flags("capture", "--payment-id ID --amount DECIMAL --currency CODE [flags]",
		"starter capture --payment-id 202611020000001 --amount 25.00 --currency USD --authorized-at 2026-11-01T10:00:00Z --wait")
	var s shipment
	s.authorizationFlags(fs, "amount to capture as a decimal, e.g. 25.00 (required)")
	fs.StringVar(&s.Key, "key", "", "idempotency key of this capture, e.g. the shipment id, at most 256 bytes (default \"start\": the payment's one full capture, marked last)")
	fs.StringVar(&s.AuthorizedAmount, "authorized-amount", "", "the authorization's amount, when --amount is part of it (split shipments)")
	fs.BoolVar(&s.Partial, "partial", false, "the payment method allows partial captures (cards; not one-time Cashier payments)")
	fs.BoolVar(&s.Last, "last", false, "this is the last capture: the rest of the authorization is released")
	wait := fs.Bool("wait", false, "wait for the outcome (Antom advises confirming a card capture before the parcel leaves)")
	waitTimeout := fs.Duration("wait-timeout", 10*time.Minute, "give up waiting after this long (the capture goes on)")
	if code, done := parse(fs, args); done {
		return code
	}
	if fs.NArg() > 0 {
		return c.fail(exitUsage, "capture: unexpected argument %q", fs.Arg(0))
	}
	in, err := s.input()
	if err != nil {
		return c.fail(exitUsage, "capture: %v", err)
	}
	req, err := s.request(in)
	if err != nil {
		return c.fail(exitUsage, "capture: %v", err)
	}
	cc, closeFn, code := c.connect(ctx)
	if code != exitOK {
		return code
	}
	defer closeFn()
	started, err := cc.Capture(ctx, in, req)
	if err != nil {
		return c.errCode(err)
	}
	if started.AlreadyStarted {
		fmt.Fprintf(c.stdout, "already started: %s (run %s); not started again\n", started.WorkflowID, started.RunID)
	} else {
		fmt.Fprintf(c.stdout, "started: %s (run %s) to capture %s\n", started.WorkflowID, started.RunID, req.Amount)
	}
	if r := started.Capture; r != nil {
		fmt.Fprintf(c.stdout, "capture %s: %s %s\n", r.CaptureRequestID, r.State, r.ResultCode)
	}
	if !*wait {
		return exitOK
	}
	wctx, cancel := context.WithTimeout(ctx, *waitTimeout)
	defer cancel()
	res, err := cc.Wait(wctx, in.PaymentID)
	if err != nil {
		if wctx.Err() != nil {
			return c.fail(exitError, "capture: still running after %v; follow it with: starter status %s", *waitTimeout, in.PaymentID)
		}
		return c.errCode(err)
	}
	fmt.Fprintf(c.stdout, "%s: %s (captureId %s, resolved by %s)\n", res.State, res.CapturedAmount, res.CaptureID, res.ResolvedBy)
	return exitOK
}

// authorizationFlags registers the flags that name an authorization, for capture and authorize.
func (s *shipment) authorizationFlags(fs *flag.FlagSet, amountHelp string) {
	fs.StringVar(&s.PaymentID, "payment-id", "", "Antom paymentId of the authorization (required)")
	fs.StringVar(&s.Merchant, "merchant", "", "merchant account of the payment, as named in the workers' registry (default \"default\": ALIPAY_CLIENT_ID's)")
	fs.StringVar(&s.Amount, "amount", "", amountHelp)
	fs.StringVar(&s.Currency, "currency", "", "ISO 4217 currency code, e.g. USD (required)")
	fs.StringVar(&s.OrderID, "order-id", "", "your order id, for search")
	fs.StringVar(&s.AuthorizedAt, "authorized-at", "", "when the authorization succeeded (RFC 3339); the deadline is 7 days later")
	fs.StringVar(&s.AuthExpiresAt, "auth-expires-at", "", "exact capture deadline (Antom's authExpiryTime, RFC 3339)")
}

func (c *cli) authorize(ctx context.Context, args []string) int {
	fs := c.flags("authorize", "--payment-id ID --amount DECIMAL --currency CODE [flags]",
		"starter authorize --payment-id 202611020000001 --amount 25.00 --currency USD --authorized-at 2026-11-01T10:00:00Z --partial --on-deadline cancel")
	var s shipment
	s.authorizationFlags(fs, "the authorized amount as a decimal, e.g. 25.00 (required)")
	fs.BoolVar(&s.Partial, "partial", false, "the payment method allows partial captures (split shipments)")
	onDeadline := fs.String("on-deadline", workflows.OnDeadlineLapse, "what to do at the cut-off with what is uncaptured: lapse, cancel (void: the customer's funds are released at once) or capture (the remainder)")
	warnBefore := fs.String("warn-before", "48h,24h", "warn this long before the deadline while part is uncaptured (comma-separated durations)")
	if code, done := parse(fs, args); done {
		return code
	}
	if fs.NArg() > 0 {
		return c.fail(exitUsage, "authorize: unexpected argument %q", fs.Arg(0))
	}
	in, err := s.input()
	if err != nil {
		return c.fail(exitUsage, "authorize: %v", err)
	}
	in.Policy.OnDeadline = *onDeadline
	for _, f := range strings.Split(*warnBefore, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil {
			return c.fail(exitUsage, "authorize: --warn-before %q: %v", f, err)
		}
		in.Policy.WarnBefore = append(in.Policy.WarnBefore, d)
	}
	if err := in.Validate(); err != nil {
		return c.fail(exitUsage, "authorize: %v", err)
	}
	cc, closeFn, code := c.connect(ctx)
	if code != exitOK {
		return code
	}
	defer closeFn()
	started, err := cc.Authorize(ctx, in)
	if err != nil {
		return c.errCode(err)
	}
	if started.AlreadyStarted {
		fmt.Fprintf(c.stdout, "already guarded: %s (run %s)\n", started.WorkflowID, started.RunID)
	} else {
		fmt.Fprintf(c.stdout, "guarding: %s (run %s), %s authorized; at the cut-off: %s\n", started.WorkflowID, started.RunID, in.Amount, *onDeadline)
	}
	return exitOK
}

func (c *cli) status(ctx context.Context, args []string) int {
	fs := c.flags("status", "[--summary] PAYMENT_ID", "starter status --summary 202611020000001")
	summary := fs.Bool("summary", false, "also write a short summary for people on stderr (the default in a terminal); the JSON stays on stdout")
	if code, done := parse(fs, args); done {
		return code
	}
	if code, ok := c.onePaymentID(fs); !ok {
		return code
	}
	cc, closeFn, code := c.connect(ctx)
	if code != exitOK {
		return code
	}
	defer closeFn()
	st, err := cc.Status(ctx, fs.Arg(0))
	if err != nil {
		return c.errCode(err)
	}
	if *summary || terminal(c.stdout) {
		printSummary(c.stderr, st, time.Now())
	}
	c.printJSON(st)
	return exitOK
}

func (c *cli) cancel(ctx context.Context, args []string) int {
	fs := c.flags("cancel", "[--reason TEXT] PAYMENT_ID", `starter cancel --reason "order cancelled" 202611020000001`)
	reason := fs.String("reason", "", "why the order will not ship (logged in the workflow)")
	if code, done := parse(fs, args); done {
		return code
	}
	if code, ok := c.onePaymentID(fs); !ok {
		return code
	}
	cc, closeFn, code := c.connect(ctx)
	if code != exitOK {
		return code
	}
	defer closeFn()
	res, err := cc.Cancel(ctx, fs.Arg(0), *reason)
	if err != nil {
		return c.errCode(err)
	}
	fmt.Fprintf(c.stdout, "%s: authorization of %s voided\n", res.State, fs.Arg(0))
	return exitOK
}

// onePaymentID checks that fs has exactly one argument, the payment id; ok is false (and code
// the exit code) when it has not.
func (c *cli) onePaymentID(fs *flag.FlagSet) (code int, ok bool) {
	if fs.NArg() == 1 && fs.Arg(0) != "" {
		return exitOK, true
	}
	fmt.Fprintf(c.stderr, "starter: %s: want exactly one PAYMENT_ID, got %d arguments\n\n", fs.Name(), fs.NArg())
	fs.Usage()
	return exitUsage, false
}

func (c *cli) list(ctx context.Context, args []string) int {
	fs := c.flags("list", "[--status STATE] [--merchant NAME] [--overdue] [--expiring] [--deadline-within DURATION] [--open] [--limit N] [--json]", "starter list --status UNKNOWN --deadline-within 24h")
	asJSON := fs.Bool("json", false, "print JSON (the default when stdout is not a terminal) instead of a table")
	state := fs.String("status", "", "PENDING, PARTIALLY_CAPTURED, CAPTURING, CAPTURED, FAILED, UNKNOWN, EXPIRED, CANCELLED, UNRESOLVED, or CONTRADICTION (reconciliations of late results)")
	within := fs.Duration("deadline-within", 0, "only captures whose deadline falls within this duration from now, e.g. 24h")
	overdue := fs.Bool("overdue", false, "only captures whose deadline has passed (with --status UNKNOWN: waiting for Antom past the deadline)")
	open := fs.Bool("open", false, "only running captures")
	expiring := fs.Bool("expiring", false, "only authorizations waiting with part uncaptured (PENDING, PARTIALLY_CAPTURED) within 48 h of their deadline")
	limit := fs.Int("limit", 100, "at most this many")
	merchant := fs.String("merchant", "", "only captures of this merchant account (\"default\" includes captures started without one)")
	if code, done := parse(fs, args); done {
		return code
	}
	if fs.NArg() > 0 {
		return c.fail(exitUsage, "list: unexpected argument %q", fs.Arg(0))
	}
	if err := workflows.ValidateMerchant(*merchant); err != nil {
		return c.fail(exitUsage, "list: --merchant: %v", err)
	}
	st := workflows.State(*state)
	switch st {
	case "", workflows.StatePending, workflows.StatePartiallyCaptured, workflows.StateCapturing, workflows.StateCaptured, workflows.StateFailed,
		workflows.StateUnknown, workflows.StateExpired, workflows.StateCancelled, workflows.StateUnresolved, workflows.StateContradiction:
	default:
		return c.fail(exitUsage, "list: --status %q is not a capture state", *state)
	}
	if *within < 0 || *limit <= 0 {
		return c.fail(exitUsage, "list: --deadline-within and --limit must be positive")
	}
	cc, closeFn, code := c.connect(ctx)
	if code != exitOK {
		return code
	}
	defer closeFn()
	f := capture.Filter{State: st, Merchant: *merchant, DeadlineWithin: *within, Overdue: *overdue, OpenOnly: *open, Limit: *limit}
	if *expiring {
		f.Expiring = 48 * time.Hour
	}
	l, err := cc.List(ctx, f)
	if err != nil {
		return c.errCode(err)
	}
	if l == nil {
		l = []capture.Summary{}
	}
	if *asJSON || !terminal(c.stdout) {
		c.printJSON(l)
	} else {
		printList(c.stdout, l, time.Now())
	}
	return exitOK
}
