package e2e_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/internal/stack"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestAuthorizationLedger drives the authorization out of the happy order through all the
// processes (docs/design.md, rules 10, 12 and 13).
func TestAuthorizationLedger(t *testing.T) {
	s := startSystem(t)
	ctx := context.Background()
	usd4, usd6 := alipay.MustParseDecimal("USD", "4.00"), alipay.MustParseDecimal("USD", "6.00")
	partial := func(s *system, sc alipaytest.Scenario) workflows.CaptureInput {
		s.t.Helper()
		p, err := s.Authorize(ctx, alipaytest.Authorization{Amount: usd10, PartialCaptures: true, Scenario: sc})
		if err != nil {
			s.t.Fatal(err)
		}
		in := input(p.PaymentID, time.Hour)
		in.PartialCaptures = true
		if _, err := s.cc.Authorize(ctx, in); err != nil {
			s.t.Fatal(err)
		}
		return in
	}

	t.Run("a signed S contradicts a failed capture of an open authorization", func(t *testing.T) {
		s := s.with(t)
		in := partial(s, alipaytest.Scenario{Result: "F", NoNotify: true})
		k1, err := s.cc.Capture(ctx, in, workflows.CaptureRequest{Amount: usd4, Key: "K1"})
		if err != nil || k1.Capture == nil || k1.Capture.State != workflows.StateFailed {
			t.Fatalf("K1: %+v, %v", k1, err)
		}
		key, err := s.AntomPrivateKeyPEM()
		if err != nil {
			t.Fatal(err)
		}
		antom, err := alipay.ParsePrivateKey(string(key))
		if err != nil {
			t.Fatal(err)
		}
		body := `{"notifyType":"CAPTURE_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"},"captureRequestId":"` +
			workflows.CaptureRequestID(in.PaymentID, "K1") + `","paymentId":"` + in.PaymentID + `","captureId":"LATE-S","captureAmount":{"currency":"USD","value":"400"}}`
		if code := s.notify(t, antom, stack.ClientID, body); code != http.StatusOK {
			t.Fatalf("the late S: HTTP %d", code)
		}
		s.waitFor("the late S to count", func() bool {
			st, err := s.cc.Status(ctx, in.PaymentID)
			rec, _ := st.RecordOfKey("K1")
			return err == nil && st.Captured == usd4 && rec.State == workflows.StateCaptured && rec.Contradiction != ""
		})
		if _, err := s.cc.Capture(ctx, in, workflows.CaptureRequest{Amount: usd10, Key: "K2"}); !errors.Is(err, capture.ErrConflict) ||
			!strings.Contains(err.Error(), "6.00 USD that remains") {
			t.Errorf("10.00 after Antom captured 4.00: %v", err)
		}
	})

	t.Run("a new run after a cancel in Temporal sends each key's own id", func(t *testing.T) {
		s := s.with(t)
		in := partial(s, alipaytest.Scenario{NoNotify: true})
		if k1, err := s.cc.Capture(ctx, in, workflows.CaptureRequest{Amount: usd4, Key: "K1"}); err != nil || k1.Capture.State != workflows.StateCaptured {
			t.Fatalf("K1: %+v, %v", k1, err)
		}
		if err := s.cc.Temporal.CancelWorkflow(ctx, workflows.WorkflowID(in.PaymentID), ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.cc.Wait(ctx, in.PaymentID); err == nil {
			t.Fatal("the cancelled run closed without an error")
		}
		k2, err := s.cc.Capture(ctx, in, workflows.CaptureRequest{Amount: usd4, Key: "K2"})
		if err != nil || k2.Capture == nil || k2.Capture.CaptureRequestID != workflows.CaptureRequestID(in.PaymentID, "K2") || k2.Capture.State != workflows.StateCaptured {
			t.Fatalf("K2 in the new run: %+v, %v", k2, err)
		}
		again, err := s.cc.Capture(ctx, in, workflows.CaptureRequest{Amount: usd4, Key: "K1"})
		if err != nil || again.Capture == nil || again.Capture.CaptureRequestID != workflows.CaptureRequestID(in.PaymentID, "K1") {
			t.Fatalf("K1 again in the new run: %+v, %v", again, err)
		}
		if p := s.ledger(in.PaymentID); p.CapturesSucceeded != 2 || p.Captured != alipay.MustParseDecimal("USD", "8.00") {
			t.Errorf("Antom: %d captures, %v captured; want K1 and K2 once each", p.CapturesSucceeded, p.Captured)
		}
	})

	t.Run("answers after the close come from the record", func(t *testing.T) {
		s := s.with(t)
		in := partial(s, alipaytest.Scenario{NoNotify: true})
		if _, err := s.cc.Capture(ctx, in, workflows.CaptureRequest{Amount: usd4, Key: "K1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.cc.Capture(ctx, in, workflows.CaptureRequest{Amount: usd6, Key: "K2", IsLastCapture: true}); err != nil {
			t.Fatal(err)
		}
		if res, err := s.cc.Wait(ctx, in.PaymentID); err != nil || res.State != workflows.StateCaptured {
			t.Fatalf("closed %+v, %v", res, err)
		}
		same, err := s.cc.Capture(ctx, in, workflows.CaptureRequest{Amount: usd6, Key: "K2", IsLastCapture: true})
		if err != nil || !same.AlreadyStarted || same.Capture == nil || same.Capture.State != workflows.StateCaptured ||
			same.Capture.CaptureRequestID != workflows.CaptureRequestID(in.PaymentID, "K2") {
			t.Errorf("the same key after the close: %+v, %v", same, err)
		}
		if _, err := s.cc.Start(ctx, in); !errors.Is(err, capture.ErrFinished) {
			t.Errorf("a new key for the authorized amount after the close: %v, want ErrFinished", err)
		}

		voided := partial(s, alipaytest.Scenario{NoNotify: true})
		if res, err := s.cc.Cancel(ctx, voided.PaymentID, "order will not ship"); err != nil || res.State != workflows.StateCancelled {
			t.Fatalf("cancel: %+v, %v", res, err)
		}
		if _, err := s.cc.Start(ctx, voided); !errors.Is(err, capture.ErrFinished) {
			t.Errorf("a capture after the void: %v, want ErrFinished", err)
		}
		if p := s.ledger(voided.PaymentID); p.CaptureCalls != 0 {
			t.Errorf("Antom saw %d capture calls after the void", p.CaptureCalls)
		}
	})
}
