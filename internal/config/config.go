// Package config reads the processes' configuration from the environment (docs/contract.md, Environment variables) with
// envconfig, and turns it into a Temporal client and an Antom client. Every error names the
// variable at fault and what is wrong with it; no secret is ever echoed.
package config

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/codec"
)

// Temporal is how a process reaches Temporal.
type Temporal struct {
	Address     string `envconfig:"TEMPORAL_ADDRESS" default:"localhost:7233" desc:"host:port of the Temporal frontend"`
	Namespace   string `envconfig:"TEMPORAL_NAMESPACE" default:"default" desc:"Temporal namespace"`
	TLSCertFile string `envconfig:"TEMPORAL_TLS_CERT_FILE" desc:"client certificate for mTLS (with TEMPORAL_TLS_KEY_FILE)"`
	TLSKeyFile  string `envconfig:"TEMPORAL_TLS_KEY_FILE" desc:"client key for mTLS"`
	TLSCAFile   string `envconfig:"TEMPORAL_TLS_CA_FILE" desc:"CA certificate(s) that signed the server's certificate, for a cluster with a private CA; implies TLS"`
	APIKey      string `envconfig:"TEMPORAL_API_KEY" desc:"API key (e.g. Temporal Cloud); implies TLS"`
	// Payload encryption (package codec): the same keys in every process and service.
	CodecKeys     string `envconfig:"CAPTURE_CODEC_KEYS" desc:"payload encryption keys, id:base64 of 32 bytes, comma-separated; the first encrypts, all decrypt; empty: payloads are not encrypted"`
	CodecKeysFile string `envconfig:"CAPTURE_CODEC_KEYS_FILE" desc:"file holding CAPTURE_CODEC_KEYS"`
}

// ClientOptions returns client options for t, logging through logger.
func (t Temporal) ClientOptions(logger *slog.Logger) (client.Options, error) {
	o := client.Options{HostPort: t.Address, Namespace: t.Namespace}
	if logger != nil {
		o.Logger = log.NewStructuredLogger(logger)
	}
	if (t.TLSCertFile == "") != (t.TLSKeyFile == "") {
		return o, fmt.Errorf("TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE must be set together")
	}
	if t.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.TLSCertFile, t.TLSKeyFile)
		if err != nil {
			return o, fmt.Errorf("TEMPORAL_TLS_CERT_FILE/TEMPORAL_TLS_KEY_FILE: %w", err)
		}
		o.ConnectionOptions.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if t.TLSCAFile != "" {
		pem, err := os.ReadFile(t.TLSCAFile)
		if err != nil {
			return o, fmt.Errorf("TEMPORAL_TLS_CA_FILE: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return o, fmt.Errorf("TEMPORAL_TLS_CA_FILE=%s holds no PEM certificate", t.TLSCAFile)
		}
		if o.ConnectionOptions.TLS == nil {
			o.ConnectionOptions.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		o.ConnectionOptions.TLS.RootCAs = pool
	}
	keys, err := codec.Load(t.CodecKeys, t.CodecKeysFile)
	if err != nil {
		return o, err
	}
	keys.Apply(&o)
	if t.APIKey != "" {
		o.Credentials = client.NewAPIKeyStaticCredentials(t.APIKey)
		if o.ConnectionOptions.TLS == nil {
			o.ConnectionOptions.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}
	}
	return o, nil
}

// Alipay is the merchant's Antom identity and keys. Keys come inline or from files, as PEM or bare
// base64.
type Alipay struct {
	ClientID       string `envconfig:"ALIPAY_CLIENT_ID" desc:"Antom Client-Id (a SANDBOX_ prefix selects sandbox paths)"`
	BaseURL        string `envconfig:"ALIPAY_BASE_URL" default:"https://open-sea-global.alipay.com" desc:"Antom host of your region, or the simulator's URL"`
	PrivateKey     string `envconfig:"ALIPAY_PRIVATE_KEY" desc:"merchant private key, PEM or base64 (or ALIPAY_PRIVATE_KEY_FILE)"`
	PrivateKeyFile string `envconfig:"ALIPAY_PRIVATE_KEY_FILE" desc:"file holding the merchant private key"`
	PublicKey      string `envconfig:"ALIPAY_PUBLIC_KEY" desc:"Antom public key, PEM or base64 (or ALIPAY_PUBLIC_KEY_FILE); during a rotation, several PEM keys one after the other"`
	PublicKeyFile  string `envconfig:"ALIPAY_PUBLIC_KEY_FILE" desc:"file holding the Antom public key (or several PEM keys during a rotation)"`
	KeyVersion     string `envconfig:"ALIPAY_KEY_VERSION" default:"1" desc:"version of the merchant key pair, sent in the Signature header; raise it with a new merchant key"`
	MerchantsFile  string `envconfig:"ALIPAY_MERCHANTS_FILE" desc:"merchant registry (YAML or JSON) of further Antom accounts, each with its Client-Id, region host and keys; ALIPAY_CLIENT_ID, if set, is the account named default"`
}

// MerchantKey parses the merchant private key.
func (a Alipay) MerchantKey() (*rsa.PrivateKey, error) {
	return parseKey("ALIPAY_PRIVATE_KEY", a.PrivateKey, a.PrivateKeyFile, alipay.ParsePrivateKey)
}

// AntomKeys parses Antom's public key, or its keys during a rotation (several PEM blocks): a
// signature is accepted if one of them verifies it.
func (a Alipay) AntomKeys() ([]*rsa.PublicKey, error) {
	return parseKey("ALIPAY_PUBLIC_KEY", a.PublicKey, a.PublicKeyFile, alipay.ParsePublicKeys)
}

// parseKey parses the key given in VAR or VAR_FILE; errors name the variable.
func parseKey[K any](name, inline, file string, parse func(string) (K, error)) (K, error) {
	var zero K
	s, from, err := keyText(name, inline, file)
	if err != nil {
		return zero, err
	}
	k, err := parse(s)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", from, err)
	}
	return k, nil
}

// keyText returns the key from VAR or VAR_FILE, and the name of the variable it came from.
func keyText(name, inline, file string) (string, string, error) {
	switch {
	case inline != "" && file != "":
		return "", "", fmt.Errorf("%s and %s_FILE are both set; set one", name, name)
	case inline != "":
		return inline, name, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", "", fmt.Errorf("%s_FILE: %w", name, err)
		}
		return string(b), name + "_FILE (" + file + ")", nil
	}
	return "", "", fmt.Errorf("%s (or %s_FILE) is not set", name, name)
}
