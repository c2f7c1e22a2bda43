package main

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestSplitShipmentCommands: authorize at authorization, then two shipments captured with their
// keys, the second last; list --expiring shows the authorization while it waits.
func TestSplitShipmentCommands(t *testing.T) {
	e := setup(t)
	p, err := e.sim.Authorize(alipaytest.Authorization{Amount: usd10, PartialCaptures: true})
	if err != nil {
		t.Fatal(err)
	}
	pid := p.PaymentID
	soon := time.Now().Add(-workflows.AuthorizationWindow + 24*time.Hour).UTC().Format(time.RFC3339) // deadline in 24 h
	code, out, errOut := e.starter("", "authorize", "--payment-id", pid, "--amount", "10.00", "--currency", "USD", "--partial", "--authorized-at", soon)
	if code != exitOK || !strings.Contains(out, "guarding: capture/"+pid) {
		t.Fatalf("authorize: %d %q %q", code, out, errOut)
	}
	eventually(t, "list --expiring to show it", func() bool {
		code, out, _ := e.starter("", "list", "--expiring")
		return code == exitOK && strings.Contains(out, pid)
	})
	code, out, errOut = e.starter("", "capture", "--payment-id", pid, "--amount", "4.00", "--currency", "USD", "--key", "SHIP-1")
	if code != exitOK || !strings.Contains(out, "capture "+workflows.CaptureRequestID(pid, "SHIP-1")+": CAPTURED") {
		t.Fatalf("first shipment: %d %q %q", code, out, errOut)
	}
	code, out, errOut = e.starter("", "capture", "--payment-id", pid, "--amount", "4.00", "--currency", "USD", "--key", "SHIP-1")
	if code != exitOK || !strings.Contains(out, "already started") {
		t.Errorf("the same shipment again: %d %q %q", code, out, errOut)
	}
	code, _, errOut = e.starter("", "capture", "--payment-id", pid, "--amount", "7.00", "--currency", "USD", "--key", "SHIP-2")
	if code != exitUsage || !strings.Contains(errOut, "more than the 6.00 USD that remains") {
		t.Errorf("more than remains: %d %q", code, errOut)
	}
	code, out, errOut = e.starter("", "capture", "--payment-id", pid, "--amount", "6.00", "--currency", "USD", "--key", "SHIP-2", "--last", "--wait")
	if code != exitOK || !strings.Contains(out, "CAPTURED") {
		t.Fatalf("last shipment: %d %q %q", code, out, errOut)
	}
	code, out, _ = e.starter("", "status", pid)
	var st workflows.Status
	if code != exitOK || json.Unmarshal([]byte(out), &st) != nil || st.State != workflows.StateCaptured || len(st.Captures) != 2 || st.Captured != usd10 {
		t.Errorf("status: %d %s", code, out)
	}
	if l, _ := e.sim.Payment(pid); l.CapturesSucceeded != 2 || l.Captured != usd10 || l.State != alipaytest.StateCaptured {
		t.Errorf("ledger %+v", l)
	}
}

// TestSameShipmentFromTwoStarters: the same shipment key sent twice at once, from two starters,
// gives one capture, whether or not the workflow existed.
func TestSameShipmentFromTwoStarters(t *testing.T) {
	e := setup(t)
	for _, authorizedFirst := range []bool{false, true} {
		pid := e.authorize(t, alipaytest.Scenario{})
		if authorizedFirst {
			if code, _, errOut := e.starter("", "authorize", "--payment-id", pid, "--amount", "10.00", "--currency", "USD",
				"--authorized-at", time.Now().UTC().Format(time.RFC3339)); code != exitOK {
				t.Fatal(errOut)
			}
		}
		var wg sync.WaitGroup
		outs := make([]string, 2)
		for i := range outs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, out, errOut := e.starter("", "capture", "--payment-id", pid, "--amount", "10.00", "--currency", "USD", "--key", "SHIP-9",
					"--authorized-at", time.Now().UTC().Format(time.RFC3339))
				if code != exitOK {
					t.Errorf("starter %d: %d %q", i, code, errOut)
				}
				outs[i] = out
			}()
		}
		wg.Wait()
		res, err := e.cc.Wait(t.Context(), pid)
		if err != nil || res.State != workflows.StateCaptured || len(res.Captures) != 1 {
			t.Errorf("authorized first %v: %+v, %v", authorizedFirst, res, err)
		}
		if l, _ := e.sim.Payment(pid); l.CaptureCalls != 1 || l.CapturesSucceeded != 1 {
			t.Errorf("authorized first %v: %d capture calls, %d succeeded", authorizedFirst, l.CaptureCalls, l.CapturesSucceeded)
		}
		if already := strings.Count(outs[0]+outs[1], "already started"); already != 1 {
			t.Errorf("authorized first %v: %d of 2 reported the capture as existing, want 1: %q", authorizedFirst, already, outs)
		}
	}
}

// eventually polls f: visibility is updated asynchronously.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s never happened", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
