package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/workflows"
)

// terminal reports whether w is a terminal: people get tables and summaries there, and
// programs reading a pipe or a file get JSON.
func terminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// printList writes captures as an aligned table, newest first.
func printList(w io.Writer, l []capture.Summary, now time.Time) {
	if len(l) == 0 {
		fmt.Fprintln(w, "no captures match")
		return
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PAYMENT\tMERCHANT\tSTATE\tDEADLINE\tORDER\tWORKFLOW")
	for _, s := range l {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.PaymentID, s.Merchant, s.State, deadline(s.Deadline, now), s.OrderID, s.Execution)
	}
	_ = tw.Flush()
}

// deadline is a deadline and how far it is from now, e.g. "2026-11-08 10:00 UTC (in 2d3h)".
func deadline(d, now time.Time) string {
	if d.IsZero() {
		return "-"
	}
	left := d.Sub(now).Round(time.Minute)
	rel := "in " + short(left)
	if left < 0 {
		rel = short(-left) + " ago"
	}
	return d.UTC().Format("2006-01-02 15:04 UTC") + " (" + rel + ")"
}

// short writes a duration in days, hours and minutes: "2d3h", "45m".
func short(d time.Duration) string {
	days, rest := int(d/(24*time.Hour)), d%(24*time.Hour)
	s := strings.TrimSuffix(strings.TrimSuffix(rest.String(), "0s"), "0m")
	if days > 0 {
		return fmt.Sprintf("%dd%s", days, strings.TrimSuffix(s, "0h"))
	}
	if s == "" {
		return "0m"
	}
	return s
}

// printSummary writes a few lines a person reads at a glance: the state and what it means for
// the money, the totals, the deadline and each capture.
func printSummary(w io.Writer, st workflows.Status, now time.Time) {
	fmt.Fprintf(w, "%s  payment %s (%s)", st.State, st.PaymentID, workflows.MerchantName(st.Merchant))
	if st.OrderID != "" {
		fmt.Fprintf(w, ", order %s", st.OrderID)
	}
	fmt.Fprintln(w)
	if !st.Authorized.IsZero() {
		fmt.Fprintf(w, "  authorized %s, captured %s, in flight %s, remaining %s\n", st.Authorized, orZero(st.Captured, st.Authorized), orZero(st.InFlight, st.Authorized), orZero(st.Remaining, st.Authorized))
	}
	fmt.Fprintf(w, "  deadline %s", deadline(st.Deadline, now))
	if st.Overdue {
		fmt.Fprint(w, ", overdue: Antom still processes a capture")
	}
	if st.Expiring {
		fmt.Fprint(w, ", expiring with part uncaptured")
	}
	fmt.Fprintln(w)
	if st.ResultCode != "" && st.State.Final() {
		fmt.Fprintf(w, "  result %s %s\n", st.ResultCode, st.ResultMessage)
	}
	for _, c := range st.Captures {
		fmt.Fprintf(w, "  #%d %-10s %s %s", c.Seq, c.State, c.Amount, keyOf(c.Key))
		if c.ResolvedBy != "" {
			fmt.Fprintf(w, " (by %s)", c.ResolvedBy)
		}
		if c.Discrepancy != "" {
			fmt.Fprintf(w, " discrepancy: %s", c.Discrepancy)
		}
		if c.Contradiction != "" {
			fmt.Fprintf(w, " CONTRADICTION: %s", c.Contradiction)
		}
		fmt.Fprintln(w)
	}
}

func keyOf(k string) string {
	if k == "" {
		return "key -"
	}
	return "key " + k
}

// orZero is a, or zero in like's currency when a is unset.
func orZero(a, like alipay.Amount) alipay.Amount {
	if a.IsZero() {
		return alipay.Amount{Currency: like.Currency, Value: "0"}
	}
	return a
}
