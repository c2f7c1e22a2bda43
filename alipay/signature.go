package alipay

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Signature algorithm and key version this package sends; Antom documents RSA256 only.
const (
	AlgorithmRSA256   = "RSA256"
	DefaultKeyVersion = "1"
)

// ErrBadSignature is wrapped by every signature verification failure.
var ErrBadSignature = errors.New("bad signature")

// Message is what Antom signs or verifies: a request, a response or a notification. Time is the
// Request-Time or Response-Time header, verbatim; Body the exact bytes on the wire.
type Message struct {
	Method   string // "POST"
	Path     string // request URI path, e.g. /ams/api/v1/payments/capture
	ClientID string
	Time     string
	Body     []byte
}

// Content returns the bytes that are signed:
// "<METHOD> <path>\n<Client-Id>.<time>.<body>".
func (m Message) Content() []byte {
	b := make([]byte, 0, len(m.Method)+len(m.Path)+len(m.ClientID)+len(m.Time)+len(m.Body)+4)
	b = append(b, m.Method...)
	b = append(b, ' ')
	b = append(b, m.Path...)
	b = append(b, '\n')
	b = append(b, m.ClientID...)
	b = append(b, '.')
	b = append(b, m.Time...)
	b = append(b, '.')
	b = append(b, m.Body...)
	return b
}

// Sign returns the signature value of m as Antom puts it in the Signature header:
// URL-query-escaped standard base64 of RSASSA-PKCS1-v1_5 over SHA-256 of m.Content().
func Sign(key *rsa.PrivateKey, m Message) (string, error) {
	if key == nil {
		return "", errors.New("sign: no private key")
	}
	sum := sha256.Sum256(m.Content())
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return url.QueryEscape(base64.StdEncoding.EncodeToString(sig)), nil
}

// Verify checks signature (the value from the Signature header, URL-escaped or not) over m with
// Antom's or the merchant's public key. The error wraps ErrBadSignature.
func Verify(key *rsa.PublicKey, m Message, signature string) error {
	if key == nil {
		return fmt.Errorf("%w: no public key to verify with", ErrBadSignature)
	}
	if signature == "" {
		return fmt.Errorf("%w: empty signature", ErrBadSignature)
	}
	s := signature
	if strings.Contains(s, "%") {
		u, err := url.QueryUnescape(s)
		if err != nil {
			return fmt.Errorf("%w: signature is not valid URL encoding", ErrBadSignature)
		}
		s = u
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("%w: signature is not base64", ErrBadSignature)
	}
	sum := sha256.Sum256(m.Content())
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], raw); err != nil {
		return fmt.Errorf("%w: does not match %s %s for client %q", ErrBadSignature, m.Method, m.Path, m.ClientID)
	}
	return nil
}

// verifyAny checks signature with each key in turn and succeeds with the first that verifies it:
// during a key rotation both Antom's old and new keys are accepted. The error, when none does,
// is the first key's.
func verifyAny(keys []*rsa.PublicKey, m Message, signature string) error {
	var first error
	for _, k := range keys {
		err := Verify(k, m, signature)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		return fmt.Errorf("%w: no public key to verify with", ErrBadSignature)
	}
	return first
}

// SignatureHeader is the parsed value of Antom's Signature header,
// "algorithm=RSA256,keyVersion=1,signature=<value>" (spaces after the commas allowed).
type SignatureHeader struct {
	Algorithm  string
	KeyVersion string
	Signature  string // as sent: usually URL-escaped base64
}

// String formats h as Antom sends it, without spaces.
func (h SignatureHeader) String() string {
	return "algorithm=" + h.Algorithm + ",keyVersion=" + h.KeyVersion + ",signature=" + h.Signature
}

// ParseSignatureHeader parses a Signature header. The algorithm must be RSA256 and a signature
// must be present; keyVersion is optional. Unknown fields are ignored.
func ParseSignatureHeader(v string) (SignatureHeader, error) {
	var h SignatureHeader
	if strings.TrimSpace(v) == "" {
		return h, fmt.Errorf("%w: Signature header missing", ErrBadSignature)
	}
	for _, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return SignatureHeader{}, fmt.Errorf("%w: Signature header field %q is not key=value", ErrBadSignature, truncate(part, 32))
		}
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(k) {
		case "algorithm":
			h.Algorithm = val
		case "keyVersion":
			h.KeyVersion = val
		case "signature":
			h.Signature = val
		}
	}
	if h.Algorithm != AlgorithmRSA256 {
		return SignatureHeader{}, fmt.Errorf("%w: Signature header algorithm %q, want %s", ErrBadSignature, truncate(h.Algorithm, 32), AlgorithmRSA256)
	}
	if h.Signature == "" {
		return SignatureHeader{}, fmt.Errorf("%w: Signature header has no signature", ErrBadSignature)
	}
	return h, nil
}

// SandboxPath rewrites a production API path to its sandbox form when clientID starts with
// "SANDBOX_", as Antom's SDKs do before signing: /ams/api/... becomes /ams/sandbox/api/....
func SandboxPath(clientID, path string) string {
	if strings.HasPrefix(clientID, "SANDBOX_") && strings.HasPrefix(path, "/ams/api/") {
		return "/ams/sandbox/api/" + strings.TrimPrefix(path, "/ams/api/")
	}
	return path
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
