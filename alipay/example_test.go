package alipay_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

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
	verifier := alipay.NotificationVerifier{ClientID: "SIM_MERCHANT", AntomPublicKey: antomPublicKey()}
	const path = "/alipay/notify"
	http.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		n, err := verifier.Verify(r.Method, path, r.Header, body)
		if err != nil {
			slog.Warn("notification refused", "reason", alipay.RefusalReason(err), "err", err)
			http.Error(w, "refused", http.StatusUnauthorized)
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
		slog.Info("capture result", "paymentId", c.PaymentID, "captureRequestId", c.CaptureRequestID, "result", c.Result.String())
		// Hand the result over durably (e.g. signal the workflow) before acknowledging.
		alipay.WriteAck(w)
	})
}

func antomPublicKey() *rsa.PublicKey {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	return &k.PublicKey
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
