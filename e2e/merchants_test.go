package e2e_test

import (
	"context"
	"crypto/rsa"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/capture"
	"github.com/capturekit/alipay-capture/internal/stack"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestTwoMerchantAccounts: one worker and one webhook serve two Antom accounts, each with its own
// Client-Id and key pairs (the default one from ALIPAY_CLIENT_ID, the second from the merchant
// registry). Each capture is sent with its account's client, each notification is verified with
// its account's Antom key, and a notification for the second account signed with the first
// account's key is refused.
func TestTwoMerchantAccounts(t *testing.T) {
	s := startSystem(t)
	ctx := context.Background()
	authorize := func(clientID string, sc alipaytest.Scenario) string {
		p, err := s.Authorize(ctx, alipaytest.Authorization{ClientID: clientID, Amount: usd10, Scenario: sc})
		if err != nil {
			t.Fatal(err)
		}
		return p.PaymentID
	}
	viaNotification := alipaytest.Scenario{Result: "U", ResolveTo: "S", ResolveAfter: alipaytest.Duration(10 * time.Minute)}
	pidA, pidB := authorize(stack.ClientID, viaNotification), authorize(stack.SecondClientID, viaNotification)

	resA, errA := s.captureAndWait(input(pidA, time.Hour))
	inB := input(pidB, time.Hour)
	inB.Merchant = stack.SecondMerchant
	resB, errB := s.captureAndWait(inB)
	if errA != nil || resA.State != workflows.StateCaptured || resA.ResolvedBy != workflows.ResolvedByNotification || resA.Merchant != workflows.DefaultMerchant {
		t.Errorf("default account: %+v, %v", resA, errA)
	}
	if errB != nil || resB.State != workflows.StateCaptured || resB.ResolvedBy != workflows.ResolvedByNotification || resB.Merchant != stack.SecondMerchant {
		t.Errorf("second account: %+v, %v", resB, errB)
	}
	for _, pid := range []string{pidA, pidB} {
		if p := s.ledger(pid); p.CapturesSucceeded != 1 || len(p.Notifications) != 1 || !p.Notifications[0].Acked {
			t.Errorf("ledger of %s (account %s): %d captures, notifications %+v", pid, p.ClientID, p.CapturesSucceeded, p.Notifications)
		}
	}

	// A capture of the second account waiting for Antom's answer.
	pidC := authorize(stack.SecondClientID, alipaytest.Scenario{Result: "U", NoNotify: true})
	inC := input(pidC, time.Hour)
	inC.Merchant = stack.SecondMerchant
	if _, err := s.cc.Start(ctx, inC); err != nil {
		t.Fatal(err)
	}
	s.waitFor("the second account's capture to be UNKNOWN", func() bool {
		st, err := s.cc.Status(ctx, pidC)
		return err == nil && st.State == workflows.StateUnknown
	})
	keyA, err := s.AntomPrivateKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	antomA, err := alipay.ParsePrivateKey(string(keyA))
	if err != nil {
		t.Fatal(err)
	}
	body := `{"notifyType":"CAPTURE_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"},"captureRequestId":"` +
		workflows.CaptureRequestID(pidC, workflows.StartKey) + `","paymentId":"` + pidC + `","captureId":"forged","captureAmount":{"currency":"USD","value":"1000"}}`
	for clientID, want := range map[string]string{
		stack.SecondClientID: "bad_signature", // the second account's Client-Id, the first account's Antom key
		"SOMEONE_ELSE":       "client_id",     // a Client-Id no account has
	} {
		if code := s.notify(t, antomA, clientID, body); code != http.StatusUnauthorized {
			t.Errorf("notification for %s signed with the default account's Antom key: HTTP %d, want 401 (%s)", clientID, code, want)
		}
	}
	if st, err := s.cc.Status(ctx, pidC); err != nil || st.State != workflows.StateUnknown || s.signals(pidC) != 0 {
		t.Errorf("after the refused notifications: %+v, %v, %d signals", st, err, s.signals(pidC))
	}
	s.waitFor("the webhook to log why", func() bool {
		out := s.out.String()
		return strings.Contains(out, `"reason":"bad_signature"`) && strings.Contains(out, `which no configured merchant account has`)
	})

	// A capture request naming the other account is refused by the running workflow.
	wrong := inC
	wrong.Merchant = ""
	if _, err := s.cc.Capture(ctx, wrong, workflows.CaptureRequest{Amount: wrong.Amount, IsLastCapture: true, Key: "another-shipment"}); !errors.Is(err, capture.ErrConflict) || !strings.Contains(err.Error(), "merchant account") {
		t.Errorf("capture request for the default account of the second account's payment: %v", err)
	}

	// Search and list by account.
	s.waitFor("the captures to be listed by account", func() bool {
		second, err1 := s.cc.List(ctx, capture.Filter{Merchant: stack.SecondMerchant})
		first, err2 := s.cc.List(ctx, capture.Filter{Merchant: workflows.DefaultMerchant})
		return err1 == nil && err2 == nil && slices.Equal(slices.Sorted(slices.Values(paymentIDs(second))), slices.Sorted(slices.Values([]string{pidB, pidC}))) && slices.Contains(paymentIDs(first), pidA) &&
			!slices.Contains(paymentIDs(first), pidB) && !slices.Contains(paymentIDs(first), pidC)
	})

	// Metrics carry the account.
	// The census (taken by the schedule, exported by the worker) has the waiting capture's
	// amount at risk under its account.
	for _, check := range []struct {
		url  string
		want []string
	}{
		{s.MetricsURL, []string{"alipay_capture_finished_total{", `merchant="europe"`, `outcome="CAPTURED"`, `resolved_by="notification"`}},
		{s.WebhookURL + "/metrics", []string{"alipay_capture_notifications_signalled_total{", `merchant="europe"`, `result="S"`}},
		{s.MetricsURL, []string{"alipay_capture_amount_at_risk_minor_units{", `merchant="europe"`, `currency="USD"`, "} 1000"}},
		{s.MetricsURL, []string{"alipay_capture_census_success 1"}},
	} {
		url, want := check.url, check.want
		s.waitFor(strings.Join(want, " "), func() bool {
			resp, err := http.Get(url)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return slices.ContainsFunc(strings.Split(string(b), "\n"), func(line string) bool {
				return strings.HasPrefix(line, want[0]) && !slices.ContainsFunc(want[1:], func(l string) bool { return !strings.Contains(line, l) })
			})
		})
	}
}

// notify posts a capture notification for clientID signed with key, and returns the HTTP status.
func (s *system) notify(t *testing.T, key *rsa.PrivateKey, clientID, body string) int {
	t.Helper()
	path := "/alipay/notify"
	reqTime := strconv.FormatInt(time.Now().UnixMilli(), 10)
	sig, err := alipay.Sign(key, alipay.Message{Method: http.MethodPost, Path: path, ClientID: clientID, Time: reqTime, Body: []byte(body)})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, s.WebhookURL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	req.Header.Set("Client-Id", clientID)
	req.Header.Set("Request-Time", reqTime)
	req.Header.Set("Signature", alipay.SignatureHeader{Algorithm: alipay.AlgorithmRSA256, KeyVersion: "1", Signature: sig}.String())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func paymentIDs(l []capture.Summary) []string {
	out := make([]string, 0, len(l))
	for _, c := range l {
		out = append(out, c.PaymentID)
	}
	return out
}
