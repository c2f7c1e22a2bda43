package receiver_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/webhook/receiver"
	"github.com/capturekit/alipay-capture/workflows"
)

// FuzzSignedNotification posts bodies signed with the Antom key the receiver trusts, so that
// everything after the signature check runs: parsing, bounds, the signal. Whatever the body,
// the receiver never answers 5xx for a Temporal that works, and what it signals is a capture
// result with Antom's identifiers and bounded text, small enough for any history.
//
//	go test -fuzz FuzzSignedNotification ./webhook/receiver/
func FuzzSignedNotification(f *testing.F) {
	for _, seed := range []string{
		`{"notifyType":"CAPTURE_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"},"captureRequestId":"cap-1","paymentId":"PAY1","captureId":"C1","captureAmount":{"currency":"USD","value":"1000"}}`,
		`{"notifyType":"CAPTURE_RESULT","result":{"resultCode":"PROCESS_FAIL","resultStatus":"F","resultMessage":"` + strings.Repeat("x", 300<<10) + `"},"captureRequestId":"cap-1","paymentId":"PAY1"}`,
		`{"notifyType":"CAPTURE_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"` + strings.Repeat("<", 200_000) + `"},"captureRequestId":"cap-1","paymentId":"PAY1","captureAmount":{"currency":"USD","value":"1000"}}`,
		`{"notifyType":"CAPTURE_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S"},"captureRequestId":"cap-1","paymentId":"PAY-\u00e9\u0001","captureAmount":{"currency":"USD","value":"1000"}}`,
		`{"notifyType":"CAPTURE_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S"},"captureRequestId":"` + strings.Repeat("c", 300) + `","paymentId":"PAY1","captureAmount":{"currency":"USD","value":"1000"}}`,
		`{"notifyType":"CAPTURE_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S"},"captureRequestId":"cap-1","paymentId":"PAY1","captureAmount":{"currency":"USD","value":"` + strings.Repeat("9", 5000) + `"}}`,
		`{"notifyType":"CAPTURE_RESULT","result":{"resultCode":"` + strings.Repeat("E", 5000) + `","resultStatus":"F"},"captureRequestId":"cap-1","paymentId":"PAY1","captureTime":"` + strings.Repeat("t", 5000) + `"}`,
		`{"notifyType":"` + strings.Repeat("N", 3000) + `","paymentId":"PAY1"}`,
		`{"notifyType":"CAPTURE_RESULT"}`,
		`[1,2,3]`,
		``,
	} {
		f.Add([]byte(seed))
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	ft := &fakeTemporal{}
	h := &receiver.Handler{Path: "/alipay/notify", Temporal: ft, Logger: slog.New(slog.DiscardHandler),
		Verifier: alipay.NotificationVerifier{ClientID: "FUZZ", AntomPublicKey: &key.PublicKey}}
	f.Fuzz(func(t *testing.T, body []byte) {
		ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
		sig, err := alipay.Sign(key, alipay.Message{Method: "POST", Path: "/alipay/notify", ClientID: "FUZZ", Time: ts, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodPost, "/alipay/notify", strings.NewReader(string(body)))
		r.Header.Set("Client-Id", "FUZZ")
		r.Header.Set("Request-Time", ts)
		r.Header.Set("Signature", "algorithm=RSA256,keyVersion=1,signature="+sig)
		ft.mu.Lock()
		ft.signals = nil
		ft.mu.Unlock()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 && w.Code != http.StatusNotImplemented {
			t.Fatalf("HTTP %d %q for a signed body, with Temporal up", w.Code, w.Body.String())
		}
		for _, n := range ft.signals {
			b, _ := json.Marshal(n)
			if err := alipay.CheckID("paymentId", n.PaymentID); err != nil || len(b) > 4<<10 {
				t.Fatalf("signalled %d bytes (%v)", len(b), err)
			}
			if err := alipay.CheckID("captureRequestId", n.CaptureRequestID); err != nil {
				t.Fatal(err)
			}
			if n.Result.ResultStatus != alipay.StatusSuccess && n.Result.ResultStatus != alipay.StatusFail {
				t.Fatalf("signalled result %+v", n.Result)
			}
			if workflows.WorkflowID(n.PaymentID) == "" {
				t.Fatal("no workflow id")
			}
		}
	})
}
