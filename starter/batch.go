package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/capturekit/alipay-capture/workflows"
)

// batchResult is printed, one JSON line per input row, in input order.
type batchResult struct {
	Line      int    `json:"line"`
	PaymentID string `json:"paymentId,omitempty"`
	Result    string `json:"result"` // started, already_started, invalid, error
	RunID     string `json:"runId,omitempty"`
	Error     string `json:"error,omitempty"`
}

func (c *cli) batch(ctx context.Context, args []string) int {
	fs := c.flags("batch", "[--format csv|jsonl] [--concurrency N] < FILE",
		"starter batch --format csv --concurrency 16 < shipped.csv")
	format := fs.String("format", "csv", "csv (header: payment_id,amount,currency[,merchant,order_id,authorized_at,auth_expires_at,key,authorized_amount,partial,last]) or jsonl ({\"paymentId\",\"amount\",\"currency\",...} per line)")
	concurrency := fs.Int("concurrency", 8, "starts in flight at once")
	if code, done := parse(fs, args); done {
		return code
	}
	if *concurrency < 1 || *concurrency > 256 {
		return c.fail(exitUsage, "batch: --concurrency must be between 1 and 256")
	}
	var rows []row
	var err error
	switch *format {
	case "csv":
		rows, err = readCSV(c.stdin)
	case "jsonl":
		rows, err = readJSONL(c.stdin)
	default:
		return c.fail(exitUsage, "batch: --format %q: want csv or jsonl", *format)
	}
	if err != nil {
		return c.fail(exitUsage, "batch: %v", err)
	}
	if len(rows) == 0 {
		return c.fail(exitUsage, "batch: no rows on stdin")
	}
	cc, closeFn, code := c.connect(ctx)
	if code != exitOK {
		return code
	}
	defer closeFn()

	results := make([]batchResult, len(rows))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(*concurrency)
	for i, r := range rows {
		results[i] = batchResult{Line: r.line, PaymentID: r.s.PaymentID}
		if r.err != nil {
			results[i].Result, results[i].Error = "invalid", r.err.Error()
			continue
		}
		in, err := r.s.input()
		var req workflows.CaptureRequest
		if err == nil {
			req, err = r.s.request(in)
		}
		if err != nil {
			results[i].Result, results[i].Error = "invalid", err.Error()
			continue
		}
		g.Go(func() error {
			started, err := cc.Capture(gctx, in, req)
			switch {
			case err != nil:
				results[i].Result, results[i].Error = "error", err.Error()
			case started.AlreadyStarted:
				results[i].Result, results[i].RunID = "already_started", started.RunID
			default:
				results[i].Result, results[i].RunID = "started", started.RunID
			}
			return nil // one row's failure does not stop the others
		})
	}
	_ = g.Wait()

	counts := map[string]int{}
	enc := json.NewEncoder(c.stdout)
	for _, r := range results {
		counts[r.Result]++
		_ = enc.Encode(r)
	}
	fmt.Fprintf(c.stderr, "batch: %d rows: %d started, %d already started, %d invalid, %d failed\n",
		len(results), counts["started"], counts["already_started"], counts["invalid"], counts["error"])
	switch {
	case counts["error"] > 0:
		return exitError
	case counts["invalid"] > 0:
		return exitUsage
	}
	return exitOK
}

// row is one input record; err is set when it could not be read.
type row struct {
	line int
	s    shipment
	err  error
}

var csvColumns = map[string]func(*shipment, string){
	"payment_id":        func(s *shipment, v string) { s.PaymentID = v },
	"merchant":          func(s *shipment, v string) { s.Merchant = v },
	"amount":            func(s *shipment, v string) { s.Amount = v },
	"currency":          func(s *shipment, v string) { s.Currency = v },
	"order_id":          func(s *shipment, v string) { s.OrderID = v },
	"authorized_at":     func(s *shipment, v string) { s.AuthorizedAt = v },
	"auth_expires_at":   func(s *shipment, v string) { s.AuthExpiresAt = v },
	"key":               func(s *shipment, v string) { s.Key = v },
	"authorized_amount": func(s *shipment, v string) { s.AuthorizedAmount = v },
	"partial":           func(s *shipment, v string) { s.Partial = v == "true" || v == "1" },
	"last":              func(s *shipment, v string) { s.Last = v == "true" || v == "1" },
}

func readCSV(r io.Reader) ([]row, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("CSV header: %w", err)
	}
	setters := make([]func(*shipment, string), len(header))
	seen := map[string]bool{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		set, ok := csvColumns[name]
		if !ok {
			return nil, fmt.Errorf("CSV header: unknown column %q (known: payment_id, amount, currency, order_id, authorized_at, auth_expires_at, key, authorized_amount, partial, last)", h)
		}
		setters[i], seen[name] = set, true
	}
	for _, need := range []string{"payment_id", "amount", "currency"} {
		if !seen[need] {
			return nil, fmt.Errorf("CSV header: column %s is required", need)
		}
	}
	var rows []row
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				rows = append(rows, row{line: pe.Line, err: err})
				continue
			}
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		r := row{line: line}
		if len(rec) != len(header) {
			r.err = fmt.Errorf("%d fields, header has %d", len(rec), len(header))
		}
		for i := 0; i < len(rec) && i < len(setters); i++ {
			setters[i](&r.s, strings.TrimSpace(rec[i]))
		}
		rows = append(rows, r)
	}
}

func readJSONL(r io.Reader) ([]row, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var rows []row
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		r := row{line: n}
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r.s); err != nil {
			r.err = fmt.Errorf("not a capture object: %w", err)
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}
