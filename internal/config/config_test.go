package config

import (
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kelseyhightower/envconfig"

	"github.com/capturekit/alipay-capture/alipay"
)

func TestAlipayErrorsNameTheVariable(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pubFile := filepath.Join(dir, "antom.pem")
	if err := os.WriteFile(pubFile, alipay.PublicKeyPEM(&k.PublicKey), 0o600); err != nil {
		t.Fatal(err)
	}
	good := Alipay{ClientID: "C", BaseURL: "http://127.0.0.1:1", PrivateKey: alipay.EncodePrivateKey(k), PublicKeyFile: pubFile, KeyVersion: "1"}
	if _, err := defaultClient(good); err != nil {
		t.Fatalf("good config: %v", err)
	}
	tests := []struct {
		mod  func(*Alipay)
		want string
	}{
		{func(a *Alipay) { a.ClientID = "" }, "ALIPAY_CLIENT_ID"},
		{func(a *Alipay) { a.PrivateKey = "" }, "ALIPAY_PRIVATE_KEY (or ALIPAY_PRIVATE_KEY_FILE) is not set"},
		{func(a *Alipay) { a.PrivateKey = "nonsense" }, "ALIPAY_PRIVATE_KEY: invalid key"},
		{func(a *Alipay) { a.PrivateKeyFile = "/x" }, "ALIPAY_PRIVATE_KEY and ALIPAY_PRIVATE_KEY_FILE are both set"},
		{func(a *Alipay) { a.PublicKeyFile = filepath.Join(dir, "missing.pem") }, "ALIPAY_PUBLIC_KEY_FILE"},
		{func(a *Alipay) { a.PublicKeyFile, a.PublicKey = "", alipay.EncodePrivateKey(k) }, "ALIPAY_PUBLIC_KEY: invalid key"},
		{func(a *Alipay) { a.BaseURL = "ftp://x" }, "ALIPAY_BASE_URL"},
		{func(a *Alipay) { a.KeyVersion = "2,signature=x" }, "ALIPAY_KEY_VERSION"},
		{func(a *Alipay) {
			a.PublicKeyFile, a.PublicKey = "", string(alipay.PublicKeyPEM(&k.PublicKey))+"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
		}, "ALIPAY_PUBLIC_KEY: public key 2: invalid key"},
	}
	for _, tt := range tests {
		a := good
		tt.mod(&a)
		_, err := defaultClient(a)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("err = %v, want it to mention %q", err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), alipay.EncodePrivateKey(k)[:40]) {
			t.Errorf("error echoes key material: %v", err)
		}
	}
}

// TestAntomKeysDuringARotation: ALIPAY_PUBLIC_KEY_FILE may hold Antom's old and new keys one
// after the other; both are accepted (alipay's rotation test shows what each one verifies).
func TestAntomKeysDuringARotation(t *testing.T) {
	oldKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	newKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	f := filepath.Join(t.TempDir(), "antom.pem")
	os.WriteFile(f, append(alipay.PublicKeyPEM(&newKey.PublicKey), alipay.PublicKeyPEM(&oldKey.PublicKey)...), 0o600)
	keys, err := Alipay{PublicKeyFile: f}.AntomKeys()
	if err != nil || len(keys) != 2 || !keys[0].Equal(&newKey.PublicKey) || !keys[1].Equal(&oldKey.PublicKey) {
		t.Fatalf("%d keys, %v", len(keys), err)
	}
	a := Alipay{ClientID: "C", BaseURL: "http://127.0.0.1:1", PrivateKey: alipay.EncodePrivateKey(newKey), PublicKeyFile: f, KeyVersion: "2"}
	if _, err := defaultClient(a); err != nil {
		t.Errorf("client with two Antom keys and merchant key version 2: %v", err)
	}
}

// defaultClient builds the client of the account the single-account variables define.
func defaultClient(a Alipay) (*alipay.Client, error) {
	ms, err := a.Merchants(true)
	if err != nil {
		return nil, err
	}
	return ms[0].Client()
}

// TestSingleAccountVariablesUnchanged: a configuration of the first release (ALIPAY_CLIENT_ID and
// its keys, no registry) is one account named "default", for the worker and the webhook alike.
func TestSingleAccountVariablesUnchanged(t *testing.T) {
	merchantKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	antomKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	t.Setenv("ALIPAY_CLIENT_ID", "SANDBOX_OLD")
	t.Setenv("ALIPAY_BASE_URL", "http://127.0.0.1:1")
	t.Setenv("ALIPAY_PRIVATE_KEY", alipay.EncodePrivateKey(merchantKey))
	t.Setenv("ALIPAY_PUBLIC_KEY", alipay.EncodePublicKey(&antomKey.PublicKey))
	var w Worker
	if err := Load(&w); err != nil {
		t.Fatal(err)
	}
	ms, err := w.Alipay.Merchants(true)
	if err != nil || len(ms) != 1 {
		t.Fatalf("%d merchants, %v", len(ms), err)
	}
	m := ms[0]
	if m.Name != DefaultMerchant || m.ClientID != "SANDBOX_OLD" || m.BaseURL != "http://127.0.0.1:1" || m.KeyVersion != "1" ||
		!m.PrivateKey.Equal(merchantKey) || len(m.AntomKeys) != 1 || !m.AntomKeys[0].Equal(&antomKey.PublicKey) {
		t.Fatalf("default account %+v", m)
	}
	if _, err := m.Client(); err != nil {
		t.Fatal(err)
	}
	var wh Webhook
	if err := Load(&wh); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ALIPAY_PRIVATE_KEY", "") // the webhook needs no private key
	ms, err = wh.Alipay.Merchants(false)
	if err != nil || len(ms) != 1 || ms[0].Verifier().ClientID != "SANDBOX_OLD" || ms[0].Verifier().Merchant != DefaultMerchant {
		t.Fatalf("webhook: %+v, %v", ms, err)
	}
}

func TestTemporalFromEnvironment(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "temporal.example:7233")
	t.Setenv("TEMPORAL_NAMESPACE", "payments")
	t.Setenv("TEMPORAL_API_KEY", "secret")
	var s struct{ Temporal }
	if err := envconfig.Process("", &s); err != nil {
		t.Fatal(err)
	}
	o, err := s.ClientOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.HostPort != "temporal.example:7233" || o.Namespace != "payments" || o.Credentials == nil || o.ConnectionOptions.TLS == nil {
		t.Errorf("options %+v", o)
	}
	if _, err := (Temporal{TLSCertFile: "a"}).ClientOptions(nil); err == nil || !strings.Contains(err.Error(), "TEMPORAL_TLS_KEY_FILE") {
		t.Errorf("half mTLS: %v", err)
	}
	if _, err := (Temporal{TLSCertFile: "/nope", TLSKeyFile: "/nope"}).ClientOptions(nil); err == nil || !strings.Contains(err.Error(), "TEMPORAL_TLS_CERT_FILE") {
		t.Errorf("missing cert: %v", err)
	}
	if _, err := (Temporal{TLSCAFile: "/nope"}).ClientOptions(nil); err == nil || !strings.Contains(err.Error(), "TEMPORAL_TLS_CA_FILE") {
		t.Errorf("missing CA: %v", err)
	}
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	if _, err := (Temporal{TLSCAFile: notPEM}).ClientOptions(nil); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("CA file without a certificate: %v", err)
	}
}

// TestEventsConfiguration: EVENTS_URL needs a usable URL and a secret; errors name the variable.
func TestEventsConfiguration(t *testing.T) {
	if s, err := (Worker{}).Events(); s != nil || err != nil {
		t.Errorf("no EVENTS_URL: %v, %v; want no sender", s, err)
	}
	s, err := (Worker{EventsURL: "https://orders.example/capture-events", EventsSecret: "0123456789abcdef"}).Events()
	if err != nil || s == nil || s.URL != "https://orders.example/capture-events" || string(s.Secret) != "0123456789abcdef" {
		t.Errorf("sender %+v, %v", s, err)
	}
	for w, want := range map[Worker]string{
		{EventsURL: "orders.example/x", EventsSecret: "0123456789abcdef"}: "EVENTS_URL",
		{EventsURL: "https://orders.example/x", EventsSecret: "short"}:    "EVENTS_SECRET: set a secret of at least 16",
		{EventsURL: "https://orders.example/x"}:                           "EVENTS_SECRET",
		{EventsSecret: "0123456789abcdef"}:                                "EVENTS_URL is not",
	} {
		_, err := w.Events()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want %q", w, err, want)
		}
		if err != nil && w.EventsSecret != "" && strings.Contains(err.Error(), w.EventsSecret) {
			t.Errorf("error shows the secret: %v", err)
		}
	}
}
