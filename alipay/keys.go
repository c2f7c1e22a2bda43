package alipay

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidKey is wrapped by every key parsing error.
var ErrInvalidKey = errors.New("invalid key")

// ParsePrivateKey parses an RSA private key given as PEM ("PRIVATE KEY" or "RSA PRIVATE KEY")
// or as the bare base64 of its DER, in PKCS#8 or PKCS#1: the forms in which Antom's dashboard and
// its SDKs hand keys over. Errors say which step failed but never echo the key.
func ParsePrivateKey(s string) (*rsa.PrivateKey, error) {
	der, err := keyDER(s)
	if err != nil {
		return nil, fmt.Errorf("%w: private key: %w", ErrInvalidKey, err)
	}
	if k, err8 := x509.ParsePKCS8PrivateKey(der); err8 == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: private key: PKCS#8 key is %T, want RSA", ErrInvalidKey, k)
		}
		return rk, nil
	} else if k, err1 := x509.ParsePKCS1PrivateKey(der); err1 == nil {
		return k, nil
	} else {
		return nil, fmt.Errorf("%w: private key: neither PKCS#8 (%v) nor PKCS#1 (%v)", ErrInvalidKey, err8, err1)
	}
}

// ParsePublicKey parses an RSA public key given as PEM ("PUBLIC KEY" or "RSA PUBLIC KEY") or as
// the bare base64 of its DER, in X.509 SubjectPublicKeyInfo (Antom's form) or PKCS#1.
func ParsePublicKey(s string) (*rsa.PublicKey, error) {
	der, err := keyDER(s)
	if err != nil {
		return nil, fmt.Errorf("%w: public key: %w", ErrInvalidKey, err)
	}
	if k, errX := x509.ParsePKIXPublicKey(der); errX == nil {
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%w: public key: SubjectPublicKeyInfo holds a %T, want RSA", ErrInvalidKey, k)
		}
		return rk, nil
	} else if k, err1 := x509.ParsePKCS1PublicKey(der); err1 == nil {
		return k, nil
	} else {
		return nil, fmt.Errorf("%w: public key: neither SubjectPublicKeyInfo (%v) nor PKCS#1 (%v)", ErrInvalidKey, errX, err1)
	}
}

// ParsePublicKeys parses one public key as ParsePublicKey does, or several PEM blocks one after
// the other: the keys accepted together while Antom rotates its key. Errors say which key failed.
func ParsePublicKeys(s string) ([]*rsa.PublicKey, error) {
	rest := []byte(strings.TrimSpace(s))
	if !strings.HasPrefix(string(rest), "-----BEGIN") {
		k, err := ParsePublicKey(s)
		if err != nil {
			return nil, err
		}
		return []*rsa.PublicKey{k}, nil
	}
	var keys []*rsa.PublicKey
	for len(strings.TrimSpace(string(rest))) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("%w: public key %d: PEM armour present but the block does not decode", ErrInvalidKey, len(keys)+1)
		}
		k, err := ParsePublicKey(string(pem.EncodeToMemory(block)))
		if err != nil {
			return nil, fmt.Errorf("public key %d: %w", len(keys)+1, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// EncodePrivateKey returns k as bare base64 of PKCS#8 DER, the form Antom's dashboard uses.
func EncodePrivateKey(k *rsa.PrivateKey) string {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil { // only for invalid keys, which rsa.GenerateKey never returns
		panic(fmt.Sprintf("alipay: marshal private key: %v", err))
	}
	return base64.StdEncoding.EncodeToString(der)
}

// EncodePublicKey returns k as bare base64 of SubjectPublicKeyInfo DER, the form Antom's
// dashboard uses.
func EncodePublicKey(k *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		panic(fmt.Sprintf("alipay: marshal public key: %v", err))
	}
	return base64.StdEncoding.EncodeToString(der)
}

// PublicKeyPEM returns k as a PEM "PUBLIC KEY" block.
func PublicKeyPEM(k *rsa.PublicKey) []byte {
	der, _ := base64.StdEncoding.DecodeString(EncodePublicKey(k))
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// PrivateKeyPEM returns k as a PEM "PRIVATE KEY" (PKCS#8) block.
func PrivateKeyPEM(k *rsa.PrivateKey) []byte {
	der, _ := base64.StdEncoding.DecodeString(EncodePrivateKey(k))
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// keyDER returns the DER bytes of a PEM block or of bare base64 (white space allowed).
func keyDER(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty")
	}
	if strings.HasPrefix(s, "-----BEGIN") {
		block, rest := pem.Decode([]byte(s))
		if block == nil {
			return nil, errors.New("PEM armour present but the block does not decode")
		}
		if strings.TrimSpace(string(rest)) != "" {
			return nil, errors.New("unexpected data after the PEM block")
		}
		if strings.Contains(block.Type, "ENCRYPTED") || block.Headers["Proc-Type"] != "" {
			return nil, fmt.Errorf("PEM block %q is encrypted; give the decrypted key", block.Type)
		}
		return block.Bytes, nil
	}
	compact := strings.Join(strings.Fields(s), "")
	der, err := base64.StdEncoding.DecodeString(compact)
	if err != nil {
		// Some consoles drop the padding.
		if der2, err2 := base64.RawStdEncoding.DecodeString(strings.TrimRight(compact, "=")); err2 == nil {
			return der2, nil
		}
		return nil, fmt.Errorf("neither PEM nor base64: %w", err)
	}
	return der, nil
}
