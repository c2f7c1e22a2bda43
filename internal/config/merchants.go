package config

import (
	"bytes"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/workflows"
)

// DefaultMerchant names the account the single-account variables (ALIPAY_CLIENT_ID, …) define.
const DefaultMerchant = workflows.DefaultMerchant

// Merchant is one Antom merchant account: its Client-Id, region host and keys.
type Merchant struct {
	Name       string
	ClientID   string
	BaseURL    string
	KeyVersion string
	PrivateKey *rsa.PrivateKey  // nil where only notifications are verified (webhook)
	AntomKeys  []*rsa.PublicKey // Antom's key, or its keys during a rotation
	from       string           // where it is configured, for errors
}

// Client returns the account's Antom client.
func (m Merchant) Client() (*alipay.Client, error) {
	c, err := alipay.NewClient(alipay.Config{ClientID: m.ClientID, BaseURL: m.BaseURL, PrivateKey: m.PrivateKey,
		AntomPublicKey: m.AntomKeys[0], AntomPublicKeys: m.AntomKeys[1:], KeyVersion: m.KeyVersion})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.from, err)
	}
	return c, nil
}

// Verifier returns the account's notification verifier.
func (m Merchant) Verifier() alipay.NotificationVerifier {
	return alipay.NotificationVerifier{Merchant: m.Name, ClientID: m.ClientID, AntomPublicKey: m.AntomKeys[0], AntomPublicKeys: m.AntomKeys[1:]}
}

// validKeyVersion reports a key version that cannot go into the Signature header.
func validKeyVersion(v string) error {
	if v == "" || strings.ContainsAny(v, ", =\"") || v != strings.TrimSpace(v) {
		return fmt.Errorf("%q: want the version of the merchant key registered with Antom, e.g. 1", v)
	}
	return nil
}

// merchantEntry is one account in ALIPAY_MERCHANTS_FILE (YAML, or JSON, which YAML reads too).
// Secrets come from files or from environment variables, never from the registry itself.
type merchantEntry struct {
	Name                string   `yaml:"name"`
	ClientID            string   `yaml:"clientId"`
	BaseURL             string   `yaml:"baseUrl"`
	KeyVersion          string   `yaml:"keyVersion"`
	PrivateKeyFile      string   `yaml:"privateKeyFile"`
	PrivateKeyEnv       string   `yaml:"privateKeyEnv"`
	AntomPublicKeyFiles []string `yaml:"antomPublicKeyFiles"`
	AntomPublicKeyEnv   string   `yaml:"antomPublicKeyEnv"`
}

type merchantsFile struct {
	Merchants []merchantEntry `yaml:"merchants"`
}

// Merchants returns the merchant registry: the account named "default" from the single-account
// variables when ALIPAY_CLIENT_ID is set, and every account of ALIPAY_MERCHANTS_FILE (YAML or
// JSON, see merchantEntry), if one is given. The worker needs private keys (needPrivate); the
// webhook verifies with Antom's keys only. Every error names the variable or the file, the
// account and the field; none shows a key.
func (a Alipay) Merchants(needPrivate bool) ([]Merchant, error) {
	var out []Merchant
	registry := a.MerchantsFile
	if strings.TrimSpace(a.ClientID) != "" {
		m := Merchant{Name: DefaultMerchant, ClientID: a.ClientID, BaseURL: a.BaseURL, KeyVersion: a.KeyVersion,
			from: "ALIPAY_BASE_URL or ALIPAY_CLIENT_ID"}
		if err := validKeyVersion(a.KeyVersion); err != nil {
			return nil, fmt.Errorf("ALIPAY_KEY_VERSION %w", err)
		}
		var err error
		if needPrivate {
			if m.PrivateKey, err = a.MerchantKey(); err != nil {
				return nil, err
			}
		}
		if m.AntomKeys, err = a.AntomKeys(); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if registry != "" {
		f, err := os.Open(registry)
		if err != nil {
			return nil, fmt.Errorf("ALIPAY_MERCHANTS_FILE: %w", err)
		}
		defer f.Close()
		more, err := readMerchants(f, needPrivate, os.Getenv)
		if err != nil {
			return nil, fmt.Errorf("ALIPAY_MERCHANTS_FILE %s: %w", registry, err)
		}
		for i := range more {
			more[i].from = fmt.Sprintf("ALIPAY_MERCHANTS_FILE %s: merchant %q: baseUrl or clientId", registry, more[i].Name)
		}
		out = append(out, more...)
	}
	if len(out) == 0 {
		return nil, errors.New("no Antom merchant account: set ALIPAY_CLIENT_ID (and its keys), or ALIPAY_MERCHANTS_FILE")
	}
	names, clients := map[string]bool{}, map[string]string{}
	for _, m := range out {
		if names[m.Name] {
			return nil, fmt.Errorf("merchant %q is defined twice (ALIPAY_CLIENT_ID defines %q)", m.Name, DefaultMerchant)
		}
		if other, dup := clients[m.ClientID]; dup {
			return nil, fmt.Errorf("merchants %q and %q have the same clientId %s: a notification could not tell them apart", other, m.Name, m.ClientID)
		}
		names[m.Name], clients[m.ClientID] = true, m.Name
	}
	return out, nil
}

// readMerchants parses a registry; getenv reads the variables that hold secrets.
func readMerchants(r io.Reader, needPrivate bool, getenv func(string) string) ([]Merchant, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var doc merchantsFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true) // a misspelt field is an error, not a silently missing key
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("not a merchant registry (YAML or JSON with a merchants list): %w", err)
	}
	var out []Merchant
	for i, e := range doc.Merchants {
		where := fmt.Sprintf("merchants[%d]", i)
		if e.Name != "" {
			where = fmt.Sprintf("merchant %q", e.Name)
		}
		field := func(name, format string, a ...any) error {
			return fmt.Errorf("%s: %s: %s", where, name, fmt.Sprintf(format, a...))
		}
		switch {
		case e.Name == "":
			return nil, field("name", "missing")
		case e.ClientID == "":
			return nil, field("clientId", "missing: the Client-Id from the Antom dashboard")
		case e.BaseURL == "":
			return nil, field("baseUrl", "missing: the Antom host of the account's region, e.g. %s", alipay.HostAsia)
		}
		if err := workflows.ValidateMerchant(e.Name); err != nil {
			return nil, field("name", "%v", err)
		}
		if e.KeyVersion == "" {
			e.KeyVersion = alipay.DefaultKeyVersion
		}
		if err := validKeyVersion(e.KeyVersion); err != nil {
			return nil, field("keyVersion", "%v", err)
		}
		m := Merchant{Name: e.Name, ClientID: e.ClientID, BaseURL: e.BaseURL, KeyVersion: e.KeyVersion}
		pub, err := secret(e.AntomPublicKeyFiles, e.AntomPublicKeyEnv, getenv)
		if err != nil {
			return nil, field("antomPublicKeyFiles/antomPublicKeyEnv", "%v", err)
		}
		if m.AntomKeys, err = alipay.ParsePublicKeys(pub); err != nil {
			return nil, field("antomPublicKeyFiles/antomPublicKeyEnv", "%v", err)
		}
		if needPrivate {
			var files []string
			if e.PrivateKeyFile != "" {
				files = []string{e.PrivateKeyFile}
			}
			priv, err := secret(files, e.PrivateKeyEnv, getenv)
			if err != nil {
				return nil, field("privateKeyFile/privateKeyEnv", "%v", err)
			}
			if m.PrivateKey, err = alipay.ParsePrivateKey(priv); err != nil {
				return nil, field("privateKeyFile/privateKeyEnv", "%v", err)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// secret reads a key from files (concatenated) or from the environment variable named env.
func secret(files []string, env string, getenv func(string) string) (string, error) {
	switch {
	case len(files) > 0 && env != "":
		return "", errors.New("give files or an environment variable, not both")
	case env != "":
		v := getenv(env)
		if strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("environment variable %s is empty or not set", env)
		}
		return v, nil
	case len(files) == 0:
		return "", errors.New("missing")
	}
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		b.Write(data)
		b.WriteString("\n")
	}
	return b.String(), nil
}
