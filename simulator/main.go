// Command simulator runs the local Antom simulator (package alipaytest) as a process, for the
// local stack and docker-compose. It serves Antom's capture, inquiryPayment and cancel APIs,
// signed as Antom signs them, an admin API under /admin/, and sends notifyCapture to
// SIM_NOTIFY_URL. It is a test double: never point production traffic at it.
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/internal/config"
	"github.com/capturekit/alipay-capture/internal/lifecycle"
)

// Key files in SIM_KEY_DIR.
const (
	antomPrivateFile    = "antom_private_key.pem"
	antomPublicFile     = "antom_public_key.pem"
	merchantPrivateFile = "merchant_private_key.pem"
	merchantPublicFile  = "merchant_public_key.pem"
)

func main() {
	lifecycle.Main("simulator", "Runs a local Antom (never a real one). Keys in SIM_KEY_DIR: "+merchantPrivateFile+" and "+antomPublicFile+" (give the worker the merchant private key and the Antom public key), "+antomPrivateFile+", "+merchantPublicFile+"; the keys of each account of SIM_ACCOUNTS in SIM_KEY_DIR/<Client-Id>/.", &config.Simulator{}, run)
}

func run(log *slog.Logger) error {
	var cfg config.Simulator
	if err := config.Load(&cfg); err != nil {
		return err
	}
	if cfg.TimeScale <= 0 {
		return fmt.Errorf("SIM_TIME_SCALE must be positive, got %v", cfg.TimeScale)
	}
	if r := cfg.NotifyDropRate + cfg.NotifyDelayRate; cfg.NotifyDropRate < 0 || cfg.NotifyDelayRate < 0 || r > 1 {
		return fmt.Errorf("SIM_NOTIFY_DROP_RATE (%v) and SIM_NOTIFY_DELAY_RATE (%v) must be fractions adding up to at most 1", cfg.NotifyDropRate, cfg.NotifyDelayRate)
	}
	first, err := loadAccount(cfg.ClientID, cfg.KeyDir)
	if err != nil {
		return err
	}
	var more []alipaytest.Account
	for _, id := range cfg.Accounts {
		if id == "" || id == cfg.ClientID || strings.ContainsAny(id, `/\.`) {
			return fmt.Errorf("SIM_ACCOUNTS: Client-Id %q is empty, repeats SIM_CLIENT_ID, or holds '/', '\\' or '.'", id)
		}
		a, err := loadAccount(id, filepath.Join(cfg.KeyDir, id))
		if err != nil {
			return err
		}
		more = append(more, a)
	}
	sim, err := alipaytest.New(alipaytest.Config{
		ClientID:          first.ClientID,
		MerchantPublicKey: first.MerchantPublicKey,
		AntomPrivateKey:   first.AntomPrivateKey,
		Accounts:          more,
		NotifyURL:         cfg.NotifyURL,
		TimeScale:         cfg.TimeScale,
		Logger:            log,
		NotifyFaults:      alipaytest.NotifyFaults{DropRate: cfg.NotifyDropRate, DelayRate: cfg.NotifyDelayRate, Delay: cfg.NotifyDelay},
	})
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: cfg.Listen, Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	defer sim.Close()
	return lifecycle.Serve(srv, func() {
		log.Info("Antom simulator listening", "addr", cfg.Listen, "clientId", cfg.ClientID, "moreAccounts", cfg.Accounts, "keyDir", cfg.KeyDir, "notifyUrl", cfg.NotifyURL, "timeScale", cfg.TimeScale)
	})
}

// loadAccount reads the key pairs of the account clientID from dir, creating what is missing.
func loadAccount(clientID, dir string) (alipaytest.Account, error) {
	antomKey, err := loadOrCreateKey(filepath.Join(dir, antomPrivateFile), filepath.Join(dir, antomPublicFile))
	if err != nil {
		return alipaytest.Account{}, fmt.Errorf("SIM_KEY_DIR: Antom key of %s: %w", clientID, err)
	}
	merchantKey, err := loadOrCreateKey(filepath.Join(dir, merchantPrivateFile), filepath.Join(dir, merchantPublicFile))
	if err != nil {
		return alipaytest.Account{}, fmt.Errorf("SIM_KEY_DIR: merchant key of %s: %w", clientID, err)
	}
	return alipaytest.Account{ClientID: clientID, MerchantPublicKey: &merchantKey.PublicKey, AntomPrivateKey: antomKey}, nil
}

// loadOrCreateKey reads a PEM private key from privPath, or generates one and writes it and its
// public half (publicPath), so that other processes of the local stack can read them.
func loadOrCreateKey(privPath, publicPath string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(privPath)
	if err == nil {
		return alipay.ParsePrivateKey(string(b))
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(privPath), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(privPath, alipay.PrivateKeyPEM(k), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(publicPath, alipay.PublicKeyPEM(&k.PublicKey), 0o644); err != nil {
		return nil, err
	}
	return k, nil
}
