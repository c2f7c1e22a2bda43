package alipay

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const captureBody = `{"notifyType":"CAPTURE_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"},"captureRequestId":"capture/P1/1","paymentId":"P1","captureId":"C1","captureAmount":{"currency":"USD","value":"1000"},"captureTime":"2024-01-01T10:00:00+08:00"}`

// signedNotification returns the headers Antom would send for body to path.
func signedNotification(t testing.TB, path, clientID string, body []byte) http.Header {
	t.Helper()
	_, antom := keys(t)
	sig, err := Sign(antom, Message{Method: "POST", Path: path, ClientID: clientID, Time: "1700000000000", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Client-Id", clientID)
	h.Set("Request-Time", "1700000000000")
	h.Set("Signature", "algorithm=RSA256,keyVersion=1,signature="+sig)
	return h
}

func verifier(t testing.TB) NotificationVerifier {
	_, antom := keys(t)
	return NotificationVerifier{ClientID: "C", AntomPublicKey: &antom.PublicKey}
}

func TestVerifyCaptureNotification(t *testing.T) {
	v := verifier(t)
	h := signedNotification(t, "/alipay/notify", "C", []byte(captureBody))
	n, err := v.Verify("POST", "/alipay/notify", h, []byte(captureBody))
	if err != nil {
		t.Fatal(err)
	}
	if n.NotifyType != NotifyTypeCaptureResult || n.PaymentID != "P1" || string(n.Body) != captureBody {
		t.Fatalf("notification %+v", n)
	}
	c, err := n.Capture()
	if err != nil {
		t.Fatal(err)
	}
	if !c.Succeeded() || c.CaptureRequestID != "capture/P1/1" || c.CaptureID != "C1" || c.CaptureAmount != (Amount{"USD", "1000"}) {
		t.Fatalf("capture notification %+v", c)
	}
}

func TestVerifyNotificationRefusals(t *testing.T) {
	v := verifier(t)
	body := []byte(captureBody)
	good := signedNotification(t, "/alipay/notify", "C", body)
	with := func(k, val string) http.Header {
		h := good.Clone()
		if val == "" {
			h.Del(k)
		} else {
			h.Set(k, val)
		}
		return h
	}
	tests := []struct {
		name   string
		method string
		path   string
		h      http.Header
		body   []byte
		reason string
	}{
		{"other path", "POST", "/other", good, body, "bad_signature"},
		{"tampered body", "POST", "/alipay/notify", good, []byte(strings.Replace(captureBody, "1000", "9000", 1)), "bad_signature"},
		{"no signature", "POST", "/alipay/notify", with("Signature", ""), body, "bad_signature"},
		{"other time", "POST", "/alipay/notify", with("Request-Time", "1700000000001"), body, "bad_signature"},
		{"wrong client", "POST", "/alipay/notify", with("Client-Id", "D"), body, "client_id"},
		{"no client", "POST", "/alipay/notify", with("Client-Id", ""), body, "malformed"},
		{"no time", "POST", "/alipay/notify", with("Request-Time", ""), body, "malformed"},
		{"GET", "GET", "/alipay/notify", good, body, "malformed"},
	}
	for _, tt := range tests {
		_, err := v.Verify(tt.method, tt.path, tt.h, tt.body)
		if err == nil || RefusalReason(err) != tt.reason {
			t.Errorf("%s: err = %v (reason %s), want reason %s", tt.name, err, RefusalReason(err), tt.reason)
		}
	}
	// Signed but malformed JSON: still refused, as malformed.
	for _, b := range []string{`not json`, `{"paymentId":"P1"}`, `[]`} {
		h := signedNotification(t, "/n", "C", []byte(b))
		if _, err := v.Verify("POST", "/n", h, []byte(b)); RefusalReason(err) != "malformed" {
			t.Errorf("%s: err = %v, want malformed", b, err)
		}
	}
	// A zero verifier refuses everything.
	if _, err := (NotificationVerifier{ClientID: "C"}).Verify("POST", "/alipay/notify", good, body); !errors.Is(err, ErrBadSignature) {
		t.Errorf("zero key: %v", err)
	}
}

func TestUnknownNotifyTypeIsNotAnError(t *testing.T) {
	v := verifier(t)
	body := []byte(`{"notifyType":"PAYMENT_RESULT","paymentId":"P1","result":{"resultCode":"SUCCESS","resultStatus":"S"}}`)
	n, err := v.Verify("POST", "/n", signedNotification(t, "/n", "C", body), body)
	if err != nil || n.NotifyType != "PAYMENT_RESULT" {
		t.Fatalf("%+v, %v", n, err)
	}
	if _, err := n.Capture(); !errors.Is(err, ErrMalformedNotification) {
		t.Errorf("Capture() of a payment notification: %v", err)
	}
}

func TestParseCaptureNotification(t *testing.T) {
	bad := map[string]string{
		"U status":       strings.Replace(captureBody, `"resultStatus":"S"`, `"resultStatus":"U"`, 1),
		"no request id":  strings.Replace(captureBody, `"captureRequestId":"capture/P1/1",`, ``, 1),
		"no payment id":  strings.Replace(captureBody, `"paymentId":"P1",`, ``, 1),
		"float amount":   strings.Replace(captureBody, `"1000"`, `"10.00"`, 1),
		"numeric amount": strings.Replace(captureBody, `"1000"`, `1000`, 1),
		"other type":     strings.Replace(captureBody, `CAPTURE_RESULT`, `REFUND_RESULT`, 1),
		"truncated":      captureBody[:50],
	}
	for name, b := range bad {
		if _, err := ParseCaptureNotification([]byte(b)); !errors.Is(err, ErrMalformedNotification) {
			t.Errorf("%s: err = %v, want ErrMalformedNotification", name, err)
		}
	}
	fail := `{"notifyType":"CAPTURE_RESULT","result":{"resultCode":"PROCESS_FAIL","resultStatus":"F"},"captureRequestId":"r","paymentId":"p"}`
	c, err := ParseCaptureNotification([]byte(fail))
	if err != nil || c.Succeeded() || c.Result.ResultCode != "PROCESS_FAIL" {
		t.Errorf("failure notification: %+v, %v", c, err)
	}
}

// FuzzVerifyNotification feeds arbitrary bodies and headers through verification and parsing.
// It never panics; whatever passes verification was signed by Antom's key.
func FuzzVerifyNotification(f *testing.F) {
	f.Add([]byte(captureBody), "algorithm=RSA256,keyVersion=1,signature=abc", "C")
	f.Add([]byte(`{}`), "", "")
	f.Add([]byte(`{"notifyType":1}`), "algorithm=RSA256,signature=%zz", "C")
	v := verifier(f)
	f.Fuzz(func(t *testing.T, body []byte, sig, client string) {
		h := http.Header{}
		h.Set("Client-Id", client)
		h.Set("Request-Time", "1")
		h.Set("Signature", sig)
		if n, err := v.Verify("POST", "/n", h, body); err == nil {
			t.Fatalf("forged notification accepted: %+v", n)
		} else if RefusalReason(err) == "other" {
			t.Fatalf("refusal without a reason: %v", err)
		}
	})
}

// FuzzParseCaptureNotification checks that whatever parses is a usable capture result.
func FuzzParseCaptureNotification(f *testing.F) {
	f.Add([]byte(captureBody))
	f.Add([]byte(`{"notifyType":"CAPTURE_RESULT","result":{"resultStatus":"F"},"captureRequestId":"r","paymentId":"p"}`))
	f.Add([]byte(`{"notifyType":"CAPTURE_RESULT","captureAmount":{"currency":"usd","value":"-1"}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := ParseCaptureNotification(body)
		if err != nil {
			if !errors.Is(err, ErrMalformedNotification) {
				t.Fatalf("error does not wrap ErrMalformedNotification: %v", err)
			}
			return
		}
		if c.CaptureRequestID == "" || c.PaymentID == "" || (c.Result.ResultStatus != "S" && c.Result.ResultStatus != "F") {
			t.Fatalf("accepted an unusable notification: %+v", c)
		}
		if c.Succeeded() && c.CaptureAmount.Validate() != nil {
			t.Fatalf("accepted a success with a bad amount: %+v", c)
		}
	})
}

func TestAck(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteAck(rec)
	if rec.Code != 200 || rec.Body.String() != `{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}` {
		t.Fatalf("ack %d %s", rec.Code, rec.Body)
	}
	if !IsAck(200, rec.Body.Bytes()) || !IsAck(200, []byte(`{ "result" : {"resultMessage":"success","resultStatus":"S","resultCode":"SUCCESS"}}`)) {
		t.Error("IsAck refuses an acknowledgement")
	}
	for _, b := range []string{`{}`, `{"result":{"resultCode":"SUCCESS","resultStatus":"S"}}`, `ok`, `{"result":{"resultCode":"FAIL","resultStatus":"F","resultMessage":"success"}}`} {
		if IsAck(200, []byte(b)) {
			t.Errorf("IsAck(%s) = true", b)
		}
	}
	if IsAck(500, AckBody) {
		t.Error("IsAck with HTTP 500 = true")
	}
}

// TestNotificationVerifiers: with several accounts, the Client-Id picks the account and only
// that account's Antom key verifies; an unknown Client-Id is refused.
func TestNotificationVerifiers(t *testing.T) {
	otherAntom, antom := keys(t) // two key pairs: account A's Antom key and account B's
	vs := NotificationVerifiers{
		{Merchant: "asia", ClientID: "A", AntomPublicKey: &otherAntom.PublicKey},
		{Merchant: "europe", ClientID: "B", AntomPublicKey: &antom.PublicKey},
	}
	body := []byte(captureBody)
	n, err := vs.Verify("POST", "/alipay/notify", signedNotification(t, "/alipay/notify", "B", body), body)
	if err != nil || n.Merchant != "europe" || n.ClientID != "B" {
		t.Fatalf("account B's notification: %+v, %v", n, err)
	}
	// signedNotification signs with B's Antom key: for account A it is a forgery.
	if _, err := vs.Verify("POST", "/alipay/notify", signedNotification(t, "/alipay/notify", "A", body), body); !errors.Is(err, ErrBadSignature) {
		t.Errorf("account A's Client-Id signed with account B's key: %v", err)
	}
	if _, err := vs.Verify("POST", "/alipay/notify", signedNotification(t, "/alipay/notify", "C", body), body); !errors.Is(err, ErrWrongClientID) ||
		RefusalReason(err) != "client_id" || !strings.Contains(err.Error(), "no configured merchant account") {
		t.Errorf("unknown Client-Id: %v", err)
	}
	h := signedNotification(t, "/alipay/notify", "B", body)
	h.Del("Client-Id")
	if _, err := vs.Verify("POST", "/alipay/notify", h, body); !errors.Is(err, ErrMalformedNotification) {
		t.Errorf("no Client-Id: %v", err)
	}
}
