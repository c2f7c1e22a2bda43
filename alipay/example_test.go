package alipay_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
)

// A capture against the local simulator, branching on the three kinds of outcome.
func ExampleClient_Capture() {
	sim := alipaytest.NewServer(alipaytest.Config{}) // in production: alipay.Config{ClientID, BaseURL: alipay.HostAsia, keys}
	defer sim.Close()
	auth, _ := sim.Authorize(alipaytest.Authorization{Amount: alipay.MustParseDecimal("USD", "25.00")})

	client, err := alipay.NewClient(sim.Config())
	if err != nil {
		panic(err)
	}
	resp, err := client.Capture(context.Background(), alipay.CaptureRequest{
		CaptureRequestID: "capture/" + auth.PaymentID + "/1", // derived, never random: resends reuse it
		PaymentID:        auth.PaymentID,
		CaptureAmount:    alipay.MustParseDecimal("USD", "25.00"),
	})
	switch {
	case errors.Is(err, alipay.ErrNotSent):
		fmt.Println("nothing happened; safe to send again")
	case errors.Is(err, alipay.ErrOutcomeUnknown):
		fmt.Println("may have captured; resend the same request id or inquire")
	case err != nil:
		fmt.Println("configuration problem:", err)
	default:
		fmt.Println(resp.Result.ResultCode, resp.Result.Action(), resp.CaptureAmount)
	}
	// Output: SUCCESS done 25.00 USD
}

// A notification endpoint: verify, handle capture results, acknowledge only what was handled.
func ExampleNotificationVerifier() {
	antom, _ := rsa.GenerateKey(rand.Reader, 2048) // Antom's key pair: you hold its public half
	verifier := alipay.NotificationVerifier{ClientID: "SIM_MERCHANT", AntomPublicKey: &antom.PublicKey}
	const path = "/alipay/notify"
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		n, err := verifier.Verify(r.Method, path, r.Header, body)
		if err != nil {
			http.Error(w, "refused: "+alipay.RefusalReason(err), http.StatusUnauthorized)
			return
		}
		if n.NotifyType != alipay.NotifyTypeCaptureResult {
			http.Error(w, "not handled here", http.StatusNotImplemented)
			return
		}
		c, err := n.Capture()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Println("capture result", c.PaymentID, c.CaptureRequestID, c.Result.ResultStatus)
		// Hand the result over durably (e.g. signal the workflow) before acknowledging.
		alipay.WriteAck(w)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// What Antom posts: a capture result signed with its private key; then the same, forged.
	body := `{"notifyType":"CAPTURE_RESULT","result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"},` +
		`"captureRequestId":"cap-1","paymentId":"PAY1","captureId":"CAP1","captureAmount":{"currency":"USD","value":"1000"}}`
	forger, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, key := range []*rsa.PrivateKey{antom, forger} {
		ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
		sig, _ := alipay.Sign(key, alipay.Message{Method: "POST", Path: path, ClientID: "SIM_MERCHANT", Time: ts, Body: []byte(body)})
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json; charset=UTF-8")
		req.Header.Set("Client-Id", "SIM_MERCHANT")
		req.Header.Set("Request-Time", ts)
		req.Header.Set("Signature", "algorithm=RSA256,keyVersion=1,signature="+sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(answer)))
	}
	// Output:
	// capture result PAY1 cap-1 S
	// 200 {"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}
	// 401 refused: bad_signature
}

// Converting between what people type and what Antom wants.
func ExampleParseDecimal() {
	a, err := alipay.ParseDecimal("USD", "10.50")
	fmt.Println(a.Value, a, err)
	j, _ := alipay.ParseDecimal("JPY", "1500")
	fmt.Println(j.Value, j)
	_, err = alipay.ParseDecimal("USD", "10.505")
	fmt.Println(err)
	// Output:
	// 1050 10.50 USD <nil>
	// 1500 1500 JPY
	// invalid amount: "10.505" has 3 fraction digits but USD has 2
}
