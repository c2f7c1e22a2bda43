// Command starter starts, inspects and cancels captures. It is what an order service (or an
// operator) calls when an order ships; run "starter help" for the commands and examples.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/internal/config"
	"github.com/capturekit/alipay-capture/workflows"
)

// Exit codes.
const (
	exitOK          = 0
	exitError       = 1 // Temporal unreachable, or another failure to carry out the command
	exitUsage       = 2 // bad command line or input
	exitNotCaptured = 3 // --wait: the capture ended FAILED, EXPIRED or UNRESOLVED
	exitNotFound    = 4 // no capture for the payment
	exitFinished    = 5 // cancel: the capture has already ended; capture: the authorization is closed
)

const usage = `Usage: starter <command> [flags]

Commands:
  capture   capture an authorization, or one shipment of it with --key (idempotent: the same
            request again reports the existing capture and exits 0); starts guarding the
            authorization if nothing does yet
  authorize guard an authorization from the moment it succeeds: warnings before its deadline,
            --on-deadline lapse|cancel|capture at the cut-off; captures come later
  status    print a capture's status as JSON; a short summary goes to stderr in a terminal
            (or with --summary)
  cancel    void an authorization whose capture has not been sent yet
  list      list captures by state or deadline (overdue ones, contradictions): a table in a
            terminal, JSON when piped or with --json
  batch     start captures read from stdin (CSV or JSON lines), for backfills
  reconcile compare captures closed in a window with Antom's ledger (inquiryPayment) and print
            the disagreements; exit 1 if there is any (a daily job)

Examples:
  starter capture --payment-id 202611020000001 --amount 25.00 --currency USD \
      --order-id ORD-77 --authorized-at 2026-11-01T10:00:00Z --wait
  starter authorize --payment-id 202611020000001 --amount 25.00 --currency USD --partial \
      --authorized-at 2026-11-01T10:00:00Z --on-deadline cancel
  starter capture --payment-id 202611020000001 --amount 10.00 --currency USD --key SHIP-1
  starter capture --payment-id 202611020000001 --amount 15.00 --currency USD --key SHIP-2 --last
  starter status 202611020000001
  starter cancel --reason "order cancelled" 202611020000001
  starter list --status UNKNOWN
  starter list --status UNKNOWN --overdue          # deadline passed, Antom still processing
  starter list --status CONTRADICTION             # late results that contradict a closed capture
  starter list --deadline-within 24h --open
  starter list --expiring                         # uncaptured within 48 h of the deadline
  starter batch --format csv --concurrency 16 < shipped.csv
  starter reconcile --since 72h --record          # disagreements with Antom, recorded

Environment: TEMPORAL_ADDRESS (default localhost:7233), TEMPORAL_NAMESPACE (default default),
TEMPORAL_TLS_CERT_FILE, TEMPORAL_TLS_KEY_FILE, TEMPORAL_TLS_CA_FILE, TEMPORAL_API_KEY,
CAPTURE_TASK_QUEUE (default alipay-capture); reconcile also reads the Antom accounts as the
worker does (ALIPAY_CLIENT_ID and its keys, ALIPAY_MERCHANTS_FILE).

Exit status: 0 done (or already started), 1 could not carry out the command (e.g. Temporal
unreachable; reconcile: disagreements found, or captures it could not check), 2 bad usage or input (including a capture the authorization cannot take: another
amount for the key, more than remains, a partial capture of a one-time payment), 3 --wait and
the payment was not captured (FAILED, EXPIRED, UNRESOLVED), 4 no capture for the payment, 5
cancel of a capture that has already ended, or a capture after the cut-off, the last capture or
a cancel. Run
"starter <command> --help" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, dial))
}

// dial connects to Temporal as the environment says.
func dial(ctx context.Context) (capture.Client, func(), error) {
	var s config.Starter
	if err := config.Load(&s); err != nil {
		return capture.Client{}, nil, err
	}
	opts, err := s.Temporal.ClientOptions(slog.New(slog.DiscardHandler))
	if err != nil {
		return capture.Client{}, nil, err
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return capture.Client{}, nil, fmt.Errorf("TEMPORAL_ADDRESS %q: cannot reach Temporal: %w", s.Temporal.Address, err)
	}
	return capture.Client{Temporal: c, TaskQueue: s.TaskQueue, DataConverter: opts.DataConverter}, c.Close, nil
}

type dialer func(ctx context.Context) (capture.Client, func(), error)

// cli carries a command's streams and its connection.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	dial           dialer
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, d dialer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, dial: d}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmds := map[string]func(context.Context, []string) int{
		"capture": c.capture, "authorize": c.authorize, "status": c.status, "cancel": c.cancel, "list": c.list, "batch": c.batch,
		"reconcile": c.reconcile,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "starter: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	return cmd(ctx, args[1:])
}

// flags returns a flag set for a command that prints its own usage with an example.
func (c *cli) flags(name, args, example string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: starter %s %s\n\nExample:\n  %s\n", name, args, example)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintf(c.stderr, "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses flags; done is true when the command must stop with code.
func parse(fs *flag.FlagSet, args []string) (code int, done bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, true
		}
		return exitUsage, true
	}
	return 0, false
}

func (c *cli) fail(code int, format string, a ...any) int {
	fmt.Fprintf(c.stderr, "starter: "+format+"\n", a...)
	return code
}

// connect dials Temporal; on failure it reports and returns a non-zero code.
func (c *cli) connect(ctx context.Context) (capture.Client, func(), int) {
	cc, closeFn, err := c.dial(ctx)
	if err != nil {
		return cc, nil, c.fail(exitError, "%v", err)
	}
	return cc, closeFn, exitOK
}

func (c *cli) errCode(err error) int {
	switch {
	case errors.Is(err, capture.ErrNotFound):
		return c.fail(exitNotFound, "%v", err)
	case errors.Is(err, capture.ErrNotCaptured):
		return c.fail(exitNotCaptured, "%v", err)
	case errors.Is(err, capture.ErrConflict):
		return c.fail(exitUsage, "%v", err)
	case errors.Is(err, capture.ErrFinished):
		return c.fail(exitFinished, "%v", err)
	}
	return c.fail(exitError, "%v", err)
}

func (c *cli) printJSON(v any) {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// shipment is one capture to start, as typed by people or read from a batch file.
type shipment struct {
	PaymentID     string `json:"paymentId"`
	Merchant      string `json:"merchant,omitempty"` // the merchant account; default "default"
	Amount        string `json:"amount"`             // decimal, e.g. "25.00"
	Currency      string `json:"currency"`
	OrderID       string `json:"orderId,omitempty"`
	AuthorizedAt  string `json:"authorizedAt,omitempty"`
	AuthExpiresAt string `json:"authExpiresAt,omitempty"`
	// Split shipments (partial captures).
	Key              string `json:"key,omitempty"`              // idempotency key, e.g. the shipment id
	AuthorizedAmount string `json:"authorizedAmount,omitempty"` // decimal, when more than amount
	Partial          bool   `json:"partial,omitempty"`          // the payment method allows partial captures
	Last             bool   `json:"last,omitempty"`             // isLastCapture
}

// input converts a shipment to the workflow input, saying which field is wrong.
func (s shipment) input() (workflows.CaptureInput, error) {
	in := workflows.CaptureInput{PaymentID: strings.TrimSpace(s.PaymentID), Merchant: strings.TrimSpace(s.Merchant),
		OrderID: strings.TrimSpace(s.OrderID)}
	if in.PaymentID == "" {
		return in, errors.New("payment id is required")
	}
	if err := workflows.ValidateMerchant(in.Merchant); err != nil {
		return in, err
	}
	if s.Amount == "" || s.Currency == "" {
		return in, errors.New("amount and currency are required (e.g. 25.00 USD)")
	}
	amt, err := alipay.ParseDecimal(strings.ToUpper(strings.TrimSpace(s.Currency)), s.Amount)
	if err != nil {
		return in, fmt.Errorf("amount: %w", err)
	}
	in.Amount = amt
	if s.AuthorizedAmount != "" {
		if in.Amount, err = alipay.ParseDecimal(amt.Currency, s.AuthorizedAmount); err != nil {
			return in, fmt.Errorf("authorized amount: %w", err)
		}
	}
	in.PartialCaptures = s.Partial
	for _, f := range []struct {
		name, v string
		dst     *time.Time
	}{{"authorized-at", s.AuthorizedAt, &in.AuthorizedAt}, {"auth-expires-at", s.AuthExpiresAt, &in.AuthExpiresAt}} {
		if strings.TrimSpace(f.v) == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(f.v))
		if err != nil {
			return in, fmt.Errorf("%s %q is not an RFC 3339 time such as 2026-11-01T10:00:00Z", f.name, f.v)
		}
		*f.dst = t
	}
	if err := in.Validate(); err != nil {
		return in, err
	}
	return in, nil
}

// request is the capture the shipment asks for: amount under its key, or the whole
// authorization once under workflows.StartKey when it names no key.
func (s shipment) request(in workflows.CaptureInput) (workflows.CaptureRequest, error) {
	amt, err := alipay.ParseDecimal(in.Amount.Currency, s.Amount)
	if err != nil {
		return workflows.CaptureRequest{}, fmt.Errorf("amount: %w", err)
	}
	req := workflows.CaptureRequest{Amount: amt, Key: strings.TrimSpace(s.Key), IsLastCapture: s.Last}
	if req.Key == "" {
		req.Key, req.IsLastCapture = workflows.StartKey, true
	}
	if len(req.Key) > workflows.MaxKeyLength {
		return req, fmt.Errorf("key is %d bytes; at most %d", len(req.Key), workflows.MaxKeyLength)
	}
	return req, nil
}
