package alipay

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	keysOnce sync.Once
	testKeys [2]*rsa.PrivateKey
)

// keys returns two independently generated 2048-bit key pairs, shared by the tests of this file.
func keys(t testing.TB) (merchant, antom *rsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		for i := range testKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			testKeys[i] = k
		}
	})
	return testKeys[0], testKeys[1]
}

func TestMessageContent(t *testing.T) {
	m := Message{Method: "POST", Path: "/ams/api/v1/payments/capture", ClientID: "SANDBOX_5X00000000000000", Time: "1685599933871", Body: []byte(`{"a":"b"}`)}
	want := "POST /ams/api/v1/payments/capture\nSANDBOX_5X00000000000000.1685599933871.{\"a\":\"b\"}"
	if got := string(m.Content()); got != want {
		t.Fatalf("Content() = %q, want %q", got, want)
	}
}

func TestSignVerify(t *testing.T) {
	merchant, antom := keys(t)
	m := Message{Method: "POST", Path: PathCapture, ClientID: "C1", Time: "1700000000000", Body: []byte(`{"x":1}`)}
	sig, err := Sign(merchant, m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sig, "%") {
		t.Errorf("signature %q is not URL-escaped (base64 of 256 bytes always has + / or =)", sig)
	}
	if err := Verify(&merchant.PublicKey, m, sig); err != nil {
		t.Fatalf("verify escaped: %v", err)
	}
	raw, _ := url.QueryUnescape(sig)
	if err := Verify(&merchant.PublicKey, m, raw); err != nil {
		t.Fatalf("verify unescaped (as some integrations send it): %v", err)
	}
	tampered := []struct {
		name string
		m    Message
		key  *rsa.PublicKey
	}{
		{"other key", m, &antom.PublicKey},
		{"body", Message{m.Method, m.Path, m.ClientID, m.Time, []byte(`{"x":2}`)}, &merchant.PublicKey},
		{"path", Message{m.Method, SandboxPath("SANDBOX_", m.Path), m.ClientID, m.Time, m.Body}, &merchant.PublicKey},
		{"time", Message{m.Method, m.Path, m.ClientID, "1700000000001", m.Body}, &merchant.PublicKey},
		{"client", Message{m.Method, m.Path, "C2", m.Time, m.Body}, &merchant.PublicKey},
		{"method", Message{"GET", m.Path, m.ClientID, m.Time, m.Body}, &merchant.PublicKey},
		{"no key", m, nil},
	}
	for _, tt := range tampered {
		if err := Verify(tt.key, tt.m, sig); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: Verify = %v, want ErrBadSignature", tt.name, err)
		}
	}
	for _, bad := range []string{"", "%zz", "!!!notbase64", base64.StdEncoding.EncodeToString([]byte("short"))} {
		if err := Verify(&merchant.PublicKey, m, bad); !errors.Is(err, ErrBadSignature) {
			t.Errorf("Verify(%q) = %v, want ErrBadSignature", bad, err)
		}
	}
}

// TestSignaturesAcrossKeysAndEncodings signs with each of two independently generated key pairs,
// loaded from every encoding a merchant may be handed, and verifies with the public half loaded
// the same ways; a signature must verify only with its own pair.
func TestSignaturesAcrossKeysAndEncodings(t *testing.T) {
	a, b := keys(t)
	for _, pair := range []*rsa.PrivateKey{a, b} {
		other := a
		if pair == a {
			other = b
		}
		for privName, privText := range privateEncodings(pair) {
			priv, err := ParsePrivateKey(privText)
			if err != nil {
				t.Fatalf("%s: %v", privName, err)
			}
			m := Message{Method: "POST", Path: PathInquiryPayment, ClientID: "C", Time: "1", Body: []byte(privName)}
			sig, err := Sign(priv, m)
			if err != nil {
				t.Fatal(err)
			}
			for pubName, pubText := range publicEncodings(&pair.PublicKey) {
				pub, err := ParsePublicKey(pubText)
				if err != nil {
					t.Fatalf("%s: %v", pubName, err)
				}
				if err := Verify(pub, m, sig); err != nil {
					t.Errorf("sign %s, verify %s: %v", privName, pubName, err)
				}
			}
			for pubName, pubText := range publicEncodings(&other.PublicKey) {
				pub, _ := ParsePublicKey(pubText)
				if err := Verify(pub, m, sig); err == nil {
					t.Errorf("sign %s verified with the other pair's %s", privName, pubName)
				}
			}
		}
	}
}

func privateEncodings(k *rsa.PrivateKey) map[string]string {
	p8, _ := x509.MarshalPKCS8PrivateKey(k)
	p1 := x509.MarshalPKCS1PrivateKey(k)
	b64 := base64.StdEncoding.EncodeToString(p8)
	return map[string]string{
		"pkcs8-pem":         string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})),
		"pkcs1-pem":         string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: p1})),
		"pkcs8-base64":      b64,
		"pkcs1-base64":      base64.StdEncoding.EncodeToString(p1),
		"pkcs8-base64-wrap": b64[:64] + "\n" + b64[64:128] + "\n  " + b64[128:] + "\n",
		"pkcs8-base64-nopd": strings.TrimRight(b64, "="),
	}
}

func publicEncodings(k *rsa.PublicKey) map[string]string {
	spki, _ := x509.MarshalPKIXPublicKey(k)
	p1 := x509.MarshalPKCS1PublicKey(k)
	return map[string]string{
		"spki-pem":    string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})),
		"spki-base64": base64.StdEncoding.EncodeToString(spki),
		"pkcs1-pem":   string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: p1})),
	}
}

func TestParseKeyErrors(t *testing.T) {
	merchant, _ := keys(t)
	spki := EncodePublicKey(&merchant.PublicKey)
	for name, in := range map[string]string{
		"empty":           "",
		"garbage":         "not a key at all!",
		"base64 not DER":  base64.StdEncoding.EncodeToString([]byte("hello world")),
		"public as priv":  spki,
		"broken PEM":      "-----BEGIN PRIVATE KEY-----\nAAAA\n",
		"encrypted PEM":   "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
		"trailing data":   string(PrivateKeyPEM(merchant)) + "junk",
		"truncated DER":   EncodePrivateKey(merchant)[:100],
		"whitespace only": " \n\t",
	} {
		_, err := ParsePrivateKey(in)
		if !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), "private key") {
			t.Errorf("ParsePrivateKey(%s) = %v, want an ErrInvalidKey naming the private key", name, err)
		}
		if strings.Contains(fmtErr(err), in) && len(in) > 20 {
			t.Errorf("ParsePrivateKey(%s) echoes the key material in its error", name)
		}
	}
	for name, in := range map[string]string{
		"empty":          "",
		"private as pub": EncodePrivateKey(merchant),
		"garbage":        "%%%%",
	} {
		if _, err := ParsePublicKey(in); !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), "public key") {
			t.Errorf("ParsePublicKey(%s) = %v, want an ErrInvalidKey naming the public key", name, err)
		}
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestParseSignatureHeader(t *testing.T) {
	tests := []struct {
		in      string
		sig, kv string
		ok      bool
	}{
		{"algorithm=RSA256,keyVersion=1,signature=abc%2B%3D", "abc%2B%3D", "1", true},
		{"algorithm=RSA256, keyVersion=1, signature=abc", "abc", "1", true},    // the docs' form
		{"signature=abc==,algorithm=RSA256", "abc==", "", true},                // any order; '=' inside the value
		{"algorithm=RSA256,keyVersion=2,signature=x,extra=1", "x", "2", true},  // unknown field ignored
		{"algorithm=RSA256 , keyVersion = 3 , signature = y ", "y", "3", true}, // stray spaces
		{"", "", "", false}, // missing
		{"algorithm=RSA256,keyVersion=1", "", "", false}, // no signature
		{"algorithm=RSA2048,signature=x", "", "", false}, // other algorithm
		{"keyVersion=1,signature=x", "", "", false},      // no algorithm
		{"algorithm=RSA256,signature", "", "", false},    // not key=value
		{"algorithm=RSA256,signature=", "", "", false},   // empty signature
	}
	for _, tt := range tests {
		h, err := ParseSignatureHeader(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseSignatureHeader(%q) error %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if !tt.ok {
			if !errors.Is(err, ErrBadSignature) {
				t.Errorf("ParseSignatureHeader(%q) error %v does not wrap ErrBadSignature", tt.in, err)
			}
			continue
		}
		if h.Signature != tt.sig || h.KeyVersion != tt.kv || h.Algorithm != AlgorithmRSA256 {
			t.Errorf("ParseSignatureHeader(%q) = %+v", tt.in, h)
		}
		if back, err := ParseSignatureHeader(h.String()); err != nil || back != h {
			t.Errorf("round trip of %+v: %+v, %v", h, back, err)
		}
	}
}

func FuzzParseSignatureHeader(f *testing.F) {
	for _, s := range []string{"algorithm=RSA256,keyVersion=1,signature=abc", "algorithm=RSA256, keyVersion=1, signature=a%2Bb", ",,,", "=", "signature==", "algorithm=RSA256,signature=x,signature=y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseSignatureHeader(s)
		if err != nil {
			if !errors.Is(err, ErrBadSignature) {
				t.Fatalf("error does not wrap ErrBadSignature: %v", err)
			}
			return
		}
		if h.Algorithm != AlgorithmRSA256 || h.Signature == "" {
			t.Fatalf("accepted %q as %+v", s, h)
		}
	})
}

func TestSandboxPath(t *testing.T) {
	tests := []struct{ client, in, want string }{
		{"SANDBOX_5Y", PathCapture, "/ams/sandbox/api/v1/payments/capture"},
		{"SANDBOX_5Y", PathCancel, "/ams/sandbox/api/v1/payments/cancel"},
		{"5Y", PathCapture, PathCapture},
		{"sandbox_5Y", PathCapture, PathCapture},
		{"SANDBOX_5Y", "/other/path", "/other/path"},
	}
	for _, tt := range tests {
		if got := SandboxPath(tt.client, tt.in); got != tt.want {
			t.Errorf("SandboxPath(%q, %q) = %q, want %q", tt.client, tt.in, got, tt.want)
		}
	}
}

// TestOpenSSLInterop checks our signatures against an independent implementation: the openssl
// command signs what we verify and verifies what we sign, over the same content bytes.
func TestOpenSSLInterop(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	merchant, _ := keys(t)
	dir := t.TempDir()
	privPath := filepath.Join(dir, "priv.pem")
	pubPath := filepath.Join(dir, "pub.pem")
	contentPath := filepath.Join(dir, "content")
	sigPath := filepath.Join(dir, "sig")
	must(t, os.WriteFile(privPath, PrivateKeyPEM(merchant), 0o600))
	must(t, os.WriteFile(pubPath, PublicKeyPEM(&merchant.PublicKey), 0o600))
	m := Message{Method: "POST", Path: PathCapture, ClientID: "SANDBOX_5YC", Time: "1685599933871",
		Body: []byte(`{"captureRequestId":"cap/1","paymentId":"2024","captureAmount":{"currency":"USD","value":"1000"}}`)}
	must(t, os.WriteFile(contentPath, m.Content(), 0o600))

	// openssl signs, we verify.
	out, err := exec.Command(openssl, "dgst", "-sha256", "-sign", privPath, "-out", sigPath, contentPath).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl sign: %v: %s", err, out)
	}
	raw, _ := os.ReadFile(sigPath)
	if err := Verify(&merchant.PublicKey, m, url.QueryEscape(base64.StdEncoding.EncodeToString(raw))); err != nil {
		t.Fatalf("openssl's signature does not verify: %v", err)
	}

	// we sign, openssl verifies.
	sig, err := Sign(merchant, m)
	must(t, err)
	unescaped, _ := url.QueryUnescape(sig)
	der, _ := base64.StdEncoding.DecodeString(unescaped)
	must(t, os.WriteFile(sigPath, der, 0o600))
	out, err = exec.Command(openssl, "dgst", "-sha256", "-verify", pubPath, "-signature", sigPath, contentPath).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verified OK") {
		t.Fatalf("openssl does not verify our signature: %v: %s", err, out)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func BenchmarkSign(b *testing.B) {
	merchant, _ := keys(b)
	m := Message{Method: "POST", Path: PathCapture, ClientID: "C", Time: "1685599933871", Body: []byte(`{"captureRequestId":"x","paymentId":"y","captureAmount":{"currency":"USD","value":"1000"}}`)}
	for b.Loop() {
		if _, err := Sign(merchant, m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	merchant, _ := keys(b)
	m := Message{Method: "POST", Path: PathCapture, ClientID: "C", Time: "1685599933871", Body: []byte(`{"captureRequestId":"x","paymentId":"y","captureAmount":{"currency":"USD","value":"1000"}}`)}
	sig, _ := Sign(merchant, m)
	for b.Loop() {
		if err := Verify(&merchant.PublicKey, m, sig); err != nil {
			b.Fatal(err)
		}
	}
}
