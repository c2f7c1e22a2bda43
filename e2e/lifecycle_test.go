package e2e_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestAuthorizationLifecycle runs the whole authorization through all the processes: a split
// shipment whose notifications all agree with it, an authorization nobody ships that is voided
// at its cut-off, and shipments racing the authorization's start.
func TestAuthorizationLifecycle(t *testing.T) {
	s := startSystem(t)
	ctx := context.Background()

	t.Run("split shipment", func(t *testing.T) {
		s := s.with(t)
		p, err := s.Authorize(ctx, alipaytest.Authorization{Amount: usd10, PartialCaptures: true})
		if err != nil {
			t.Fatal(err)
		}
		in := input(p.PaymentID, time.Hour)
		in.PartialCaptures = true
		if _, err := s.cc.Authorize(ctx, in); err != nil {
			t.Fatal(err)
		}
		first, err := s.cc.Capture(ctx, in, workflows.CaptureRequest{Amount: alipay.MustParseDecimal("USD", "4.00"), Key: "SHIP-1"})
		if err != nil || first.Capture == nil || first.Capture.CaptureRequestID != workflows.CaptureRequestID(p.PaymentID, "SHIP-1") {
			t.Fatalf("first shipment: %+v, %v", first, err)
		}
		if _, err := s.cc.Capture(ctx, in, workflows.CaptureRequest{Amount: alipay.MustParseDecimal("USD", "6.00"), IsLastCapture: true, Key: "SHIP-2"}); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		res, err := s.cc.Wait(wctx, p.PaymentID)
		if err != nil || res.State != workflows.StateCaptured || res.Captured != usd10 || len(res.Captures) != 2 {
			t.Fatalf("%+v, %v", res, err)
		}
		s.waitFor("both notifications acknowledged", func() bool {
			l := s.ledger(p.PaymentID)
			return len(l.Notifications) == 2 && l.Notifications[0].Acked && l.Notifications[1].Acked
		})
		if l := s.ledger(p.PaymentID); l.CapturesSucceeded != 2 || l.Captured != usd10 || l.State != alipaytest.StateCaptured {
			t.Errorf("ledger: %d succeeded, %v captured, %s", l.CapturesSucceeded, l.Captured, l.State)
		}
		if l, err := s.cc.List(ctx, capture.Filter{State: workflows.StateContradiction}); err != nil || len(l) != 0 {
			t.Errorf("a notification of the split shipment was taken for a contradiction: %+v, %v", l, err)
		}
	})

	t.Run("authorized, never shipped, voided at the cut-off", func(t *testing.T) {
		s := s.with(t)
		pid := s.authorize(alipaytest.Scenario{})
		in := input(pid, time.Hour)
		// The cut-off comes 10 s after the start, leaving 5 s to void before the deadline even on
		// a busy machine; the warning is due at once.
		in.AuthorizedAt, in.AuthExpiresAt = time.Time{}, time.Now().Add(15*time.Second)
		in.Policy.DeadlineMargin, in.Policy.OnDeadline = 5*time.Second, workflows.OnDeadlineCancel
		in.Policy.WarnBefore = []time.Duration{14 * time.Second}
		if _, err := s.cc.Authorize(ctx, in); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		res, err := s.cc.Wait(wctx, pid)
		if err != nil || res.State != workflows.StateCancelled || res.ResolvedBy != workflows.ResolvedByDeadline || !res.Expiring {
			t.Fatalf("%+v, %v", res, err)
		}
		if l := s.ledger(pid); l.CancelCalls != 1 || l.CaptureCalls != 0 || l.State != alipaytest.StateCancelled {
			t.Errorf("ledger: %d cancels, %d captures, %s", l.CancelCalls, l.CaptureCalls, l.State)
		}
	})

	t.Run("shipments racing the start from authorization", func(t *testing.T) {
		s := s.with(t)
		for range 5 {
			pid := s.authorize(alipaytest.Scenario{})
			in := input(pid, time.Hour)
			var wg sync.WaitGroup
			errs := make([]error, 3)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if i == 0 {
						_, errs[i] = s.cc.Authorize(ctx, in)
					} else {
						_, errs[i] = s.cc.Start(ctx, in)
					}
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("%s call %d: %v", pid, i, err)
				}
			}
			wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
			res, err := s.cc.Wait(wctx, pid)
			cancel()
			if err != nil || res.State != workflows.StateCaptured || len(res.Captures) != 1 {
				t.Errorf("%s: %+v, %v", pid, res, err)
			}
			if l := s.ledger(pid); l.CaptureCalls != 1 || l.CapturesSucceeded != 1 {
				t.Errorf("%s: %d capture calls, %d succeeded; want one capture", pid, l.CaptureCalls, l.CapturesSucceeded)
			}
		}
	})
}
