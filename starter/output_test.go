package main

import (
	"strings"
	"testing"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/workflows"
)

var now = time.Date(2026, 11, 5, 7, 0, 0, 0, time.UTC)

// TestListTable: in a terminal, captures are an aligned table with the deadline and how far it is.
func TestListTable(t *testing.T) {
	var b strings.Builder
	printList(&b, []capture.Summary{
		{PaymentID: "2026110212345", Merchant: "default", State: "UNKNOWN", Deadline: now.Add(51 * time.Hour), OrderID: "ORD-77", Execution: "Running"},
		{PaymentID: "P2", Merchant: "europe", State: "EXPIRED", Deadline: now.Add(-45 * time.Minute), Execution: "Failed"},
	}, now)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	col := strings.Index(lines[0], "STATE")
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l[col:], "UNKNOWN") && !strings.HasPrefix(l[col:], "EXPIRED") {
			t.Errorf("column STATE not aligned:\n%s", b.String())
		}
	}
	for _, want := range []string{"2026-11-07 10:00 UTC (in 2d3h)", "2026-11-05 06:15 UTC (45m ago)", "ORD-77"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	printList(&b, nil, now)
	if b.String() != "no captures match\n" {
		t.Errorf("empty list: %q", b.String())
	}
}

// TestStatusSummary: the summary says the state, the totals, the deadline and each capture.
func TestStatusSummary(t *testing.T) {
	usd := func(v string) alipay.Amount { return alipay.Amount{Currency: "USD", Value: v} }
	var b strings.Builder
	printSummary(&b, workflows.Status{State: workflows.StatePartiallyCaptured, PaymentID: "2026110212345", OrderID: "ORD-77",
		Deadline: now.Add(27 * time.Hour), Authorized: usd("2500"), Captured: usd("1000"), Remaining: usd("1500"), Expiring: true,
		Captures: []workflows.CaptureRecord{{Seq: 1, Key: "SHIP-1", Amount: usd("1000"), State: workflows.StateCaptured, ResolvedBy: "response"},
			{Seq: 2, Key: "SHIP-2", Amount: usd("900"), State: workflows.StateFailed, ResolvedBy: "notification"}}}, now)
	for _, want := range []string{"PARTIALLY_CAPTURED  payment 2026110212345 (default), order ORD-77",
		"authorized 25.00 USD, captured 10.00 USD, in flight 0.00 USD, remaining 15.00 USD",
		"deadline 2026-11-06 10:00 UTC (in 1d3h), expiring with part uncaptured",
		"#1 CAPTURED   10.00 USD key SHIP-1 (by response)", "#2 FAILED     9.00 USD key SHIP-2 (by notification)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
}
