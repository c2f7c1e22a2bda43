package alipay_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
)

// TestAntomKeyRotation: while Antom rotates its key, responses and notifications signed with the
// old key and with the new one are both accepted by a client and a verifier that hold both;
// once the old key is removed, what it signed is refused.
func TestAntomKeyRotation(t *testing.T) {
	oldKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	newKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rotating := func(cfg alipay.Config) alipay.Config {
		cfg.AntomPublicKey, cfg.AntomPublicKeys = &newKey.PublicKey, []*rsa.PublicKey{&oldKey.PublicKey}
		return cfg
	}
	after := func(cfg alipay.Config) alipay.Config {
		cfg.AntomPublicKey, cfg.AntomPublicKeys = &newKey.PublicKey, nil
		return cfg
	}
	for _, signer := range []struct {
		name string
		key  *rsa.PrivateKey
		// acceptedAfter: still accepted once the old key is removed.
		acceptedAfter bool
	}{{"signed with the old key", oldKey, false}, {"signed with the new key", newKey, true}} {
		t.Run(signer.name, func(t *testing.T) {
			sim := alipaytest.NewServer(alipaytest.Config{AntomPrivateKey: signer.key})
			t.Cleanup(sim.Close)
			p, err := sim.Authorize(alipaytest.Authorization{Amount: usd10})
			if err != nil {
				t.Fatal(err)
			}
			for phase, cfg := range map[string]alipay.Config{"during the rotation": rotating(sim.Config()), "after it": after(sim.Config())} {
				c, err := alipay.NewClient(cfg)
				if err != nil {
					t.Fatal(err)
				}
				_, err = c.InquiryPayment(context.Background(), alipay.InquiryRequest{PaymentID: p.PaymentID})
				want := phase == "during the rotation" || signer.acceptedAfter
				if want && err != nil {
					t.Errorf("response %s: %v", phase, err)
				}
				if !want && !errors.Is(err, alipay.ErrBadSignature) {
					t.Errorf("response %s: %v, want ErrBadSignature", phase, err)
				}

				body := []byte(`{"notifyType":"CAPTURE_RESULT","paymentId":"` + p.PaymentID + `"}`)
				sig, err := alipay.Sign(signer.key, alipay.Message{Method: http.MethodPost, Path: "/alipay/notify", ClientID: cfg.ClientID, Time: "1700000000000", Body: body})
				if err != nil {
					t.Fatal(err)
				}
				h := http.Header{}
				h.Set("Client-Id", cfg.ClientID)
				h.Set("Request-Time", "1700000000000")
				h.Set("Signature", "algorithm=RSA256,keyVersion=2,signature="+sig)
				v := alipay.NotificationVerifier{ClientID: cfg.ClientID, AntomPublicKey: cfg.AntomPublicKey, AntomPublicKeys: cfg.AntomPublicKeys}
				_, err = v.Verify(http.MethodPost, "/alipay/notify", h, body)
				if want && err != nil {
					t.Errorf("notification %s: %v", phase, err)
				}
				if !want && !errors.Is(err, alipay.ErrBadSignature) {
					t.Errorf("notification %s: %v, want ErrBadSignature", phase, err)
				}
			}
		})
	}
}

func TestParsePublicKeys(t *testing.T) {
	a, _ := rsa.GenerateKey(rand.Reader, 2048)
	b, _ := rsa.GenerateKey(rand.Reader, 2048)
	both := string(alipay.PublicKeyPEM(&a.PublicKey)) + "\n" + string(alipay.PublicKeyPEM(&b.PublicKey))
	keys, err := alipay.ParsePublicKeys(both)
	if err != nil || len(keys) != 2 || !keys[0].Equal(&a.PublicKey) || !keys[1].Equal(&b.PublicKey) {
		t.Fatalf("two PEM keys: %d keys, %v", len(keys), err)
	}
	if keys, err := alipay.ParsePublicKeys(alipay.EncodePublicKey(&a.PublicKey)); err != nil || len(keys) != 1 {
		t.Errorf("one bare base64 key: %d keys, %v", len(keys), err)
	}
	broken := string(alipay.PublicKeyPEM(&a.PublicKey)) + "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
	if _, err := alipay.ParsePublicKeys(broken); !errors.Is(err, alipay.ErrInvalidKey) || !strings.Contains(err.Error(), "public key 2") {
		t.Errorf("second key broken: %v", err)
	}
}
