package config

import (
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capturekit/alipay-capture/alipay"
)

// TestMerchantRegistry: a registry of two accounts (YAML, and the same as JSON) beside the
// single-account variables, which define "default"; keys from files and from the environment.
func TestMerchantRegistry(t *testing.T) {
	dir := t.TempDir()
	key := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	asia, europe, antomA, antomB, antomNext := key(), key(), key(), key(), key()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	asiaKey := write("asia.pem", alipay.PrivateKeyPEM(asia))
	antomAFile, antomNextFile := write("antom-a.pem", alipay.PublicKeyPEM(&antomA.PublicKey)), write("antom-next.pem", alipay.PublicKeyPEM(&antomNext.PublicKey))
	t.Setenv("EUROPE_PRIVATE_KEY", alipay.EncodePrivateKey(europe))
	t.Setenv("EUROPE_ANTOM_KEY", alipay.EncodePublicKey(&antomB.PublicKey))
	yamlDoc := `merchants:
  - name: asia
    clientId: CLIENT_ASIA
    baseUrl: https://open-sea-global.alipay.com
    keyVersion: "2"
    privateKeyFile: ` + asiaKey + `
    antomPublicKeyFiles: [` + antomAFile + `, ` + antomNextFile + `]
  - name: europe
    clientId: CLIENT_EU
    baseUrl: https://open-de-global.alipay.com
    privateKeyEnv: EUROPE_PRIVATE_KEY
    antomPublicKeyEnv: EUROPE_ANTOM_KEY
`
	jsonDoc := `{"merchants": [
  {"name": "asia", "clientId": "CLIENT_ASIA", "baseUrl": "https://open-sea-global.alipay.com", "keyVersion": "2",
   "privateKeyFile": "` + asiaKey + `", "antomPublicKeyFiles": ["` + antomAFile + `", "` + antomNextFile + `"]},
  {"name": "europe", "clientId": "CLIENT_EU", "baseUrl": "https://open-de-global.alipay.com",
   "privateKeyEnv": "EUROPE_PRIVATE_KEY", "antomPublicKeyEnv": "EUROPE_ANTOM_KEY"}]}`
	single := Alipay{ClientID: "CLIENT_DEFAULT", BaseURL: alipay.HostAsia, KeyVersion: "1", PrivateKey: alipay.EncodePrivateKey(key()), PublicKey: alipay.EncodePublicKey(&antomA.PublicKey)}
	for name, doc := range map[string]string{"yaml": yamlDoc, "json": jsonDoc} {
		t.Run(name, func(t *testing.T) {
			a := single
			a.MerchantsFile = write("merchants."+name, []byte(doc))
			ms, err := a.Merchants(true)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != 3 || ms[0].Name != DefaultMerchant || ms[1].Name != "asia" || ms[2].Name != "europe" {
				t.Fatalf("%d merchants: %+v", len(ms), ms)
			}
			if a := ms[1]; a.ClientID != "CLIENT_ASIA" || a.KeyVersion != "2" || len(a.AntomKeys) != 2 || !a.PrivateKey.Equal(asia) {
				t.Errorf("asia: %+v", a)
			}
			if e := ms[2]; !e.PrivateKey.Equal(europe) || len(e.AntomKeys) != 1 || !e.AntomKeys[0].Equal(&antomB.PublicKey) {
				t.Errorf("europe keys from the environment: %+v", e)
			}
			for _, m := range ms {
				if _, err := m.Client(); err != nil {
					t.Errorf("%s client: %v", m.Name, err)
				}
			}
		})
	}
}

// TestMerchantRegistryErrors: every mistake names the account and the field, never a key.
func TestMerchantRegistryErrors(t *testing.T) {
	dir := t.TempDir()
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	pub := filepath.Join(dir, "antom.pem")
	os.WriteFile(pub, alipay.PublicKeyPEM(&k.PublicKey), 0o600)
	priv := filepath.Join(dir, "merchant.pem")
	os.WriteFile(priv, alipay.PrivateKeyPEM(k), 0o600)
	good := "  - name: asia\n    clientId: C1\n    baseUrl: https://x\n    privateKeyFile: " + priv + "\n    antomPublicKeyFiles: [" + pub + "]\n"
	for doc, want := range map[string]string{
		"merchants:\n  - clientId: C1\n":                                                                      "merchants[0]: name: missing",
		"merchants:\n  - name: asia\n    baseUrl: https://x\n":                                                `merchant "asia": clientId: missing`,
		"merchants:\n  - name: asia\n    clientId: C1\n":                                                      `merchant "asia": baseUrl: missing`,
		"merchants:\n  - name: asia\n    clientId: C1\n    baseUrl: https://x\n":                              `merchant "asia": antomPublicKeyFiles/antomPublicKeyEnv: missing`,
		"merchants:\n  - name: asia\n    clientID: C1\n":                                                      "field clientID not found",
		"merchants:\n" + good + strings.Replace(good, "C1", "C2", 1):                                          `merchant "asia" is defined twice`,
		"merchants:\n" + good + strings.Replace(good, "asia", "eu", 1):                                        `merchants "asia" and "eu" have the same clientId C1`,
		"merchants:\n" + strings.Replace(good, priv, pub, 1):                                                  `merchant "asia": privateKeyFile/privateKeyEnv: invalid key`,
		"merchants:\n" + strings.Replace(good, "privateKeyFile: "+priv, "privateKeyEnv: NOT_SET_ANYWHERE", 1): "NOT_SET_ANYWHERE is empty or not set",
		"merchants:\n" + strings.Replace(good, "name: asia", "name: asia/pacific", 1):                         `merchant "asia/pacific": name: merchant "asia/pacific": use letters`,
		"merchants:\n" + good + "    keyVersion: 2,x\n":                                                       `merchant "asia": keyVersion: "2,x"`,
	} {
		f := filepath.Join(dir, "m.yaml")
		os.WriteFile(f, []byte(doc), 0o600)
		_, err := Alipay{MerchantsFile: f}.Merchants(true)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v; want %q", doc, err, want)
		}
		if err != nil && strings.Contains(err.Error(), alipay.EncodePrivateKey(k)[:40]) {
			t.Errorf("error shows key material: %v", err)
		}
	}
	if _, err := (Alipay{MerchantsFile: filepath.Join(dir, "missing.yaml")}).Merchants(false); err == nil || !strings.Contains(err.Error(), "ALIPAY_MERCHANTS_FILE") {
		t.Errorf("missing registry file: %v", err)
	}
	if _, err := (Alipay{}).Merchants(false); err == nil || !strings.Contains(err.Error(), "ALIPAY_CLIENT_ID") {
		t.Errorf("no account at all: %v", err)
	}
}

// TestMerchantRegistryExample: deploy/merchants.example.yaml, with its secrets in place, is a
// valid registry of the two accounts it shows.
func TestMerchantRegistryExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "deploy", "merchants.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	if err := os.MkdirAll(filepath.Join(dir, "europe"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "europe", "merchant_private_key.pem"), alipay.PrivateKeyPEM(k), 0o600)
	os.WriteFile(filepath.Join(dir, "europe", "antom_public_key.pem"), alipay.PublicKeyPEM(&k.PublicKey), 0o600)
	t.Setenv("AMERICAS_PRIVATE_KEY", alipay.EncodePrivateKey(k))
	t.Setenv("AMERICAS_ANTOM_PUBLIC_KEY", string(alipay.PublicKeyPEM(&k.PublicKey)))
	f := filepath.Join(dir, "merchants.yaml")
	os.WriteFile(f, []byte(strings.ReplaceAll(string(doc), "/run/secrets", dir)), 0o600)
	ms, err := Alipay{MerchantsFile: f}.Merchants(true)
	if err != nil || len(ms) != 2 || ms[0].Name != "europe" || ms[0].KeyVersion != "2" || ms[1].Name != "americas" || ms[1].KeyVersion != "1" {
		t.Fatalf("%+v, %v", ms, err)
	}
	for _, m := range ms {
		if _, err := m.Client(); err != nil {
			t.Errorf("%s: %v", m.Name, err)
		}
	}
}
