// Package alipaytest is a local Antom: it speaks Antom's signed capture, inquiryPayment and cancel
// protocol, keeps a ledger of authorizations and captures with Antom's idempotency rules, plays
// scripted outcomes and faults, and delivers signed notifyCapture notifications on Antom's resend
// schedule. Use NewServer in tests, as with net/http/httptest, or run it as a process
// (the simulator command) for the local stack.
//
// It never talks to a real Antom host.
package alipaytest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
)

// DefaultClientID is the merchant Client-Id the simulator accepts when Config.ClientID is empty.
const DefaultClientID = "SIM_MERCHANT"

// AuthorizationWindow is how long Antom keeps a manual-capture authorization: 7 days.
const AuthorizationWindow = 7 * 24 * time.Hour

// ResendSchedule is Antom's notification resend cadence: the wait before each of the 8
// deliveries of an unacknowledged notification (spec §5).
var ResendSchedule = []time.Duration{0, 2 * time.Minute, 10 * time.Minute, 10 * time.Minute,
	time.Hour, 2 * time.Hour, 6 * time.Hour, 15 * time.Hour}

// Config configures a Simulator. The zero value works: keys are generated, and every
// simulated duration is real time.
type Config struct {
	// ClientID is the merchant Client-Id to accept. Default DefaultClientID.
	ClientID string
	// MerchantPublicKey verifies requests. When nil, a merchant key pair is generated and
	// MerchantPrivateKey returns its private half.
	MerchantPublicKey *rsa.PublicKey
	// AntomPrivateKey signs responses and notifications. Generated when nil.
	AntomPrivateKey *rsa.PrivateKey
	// Accounts are further merchant accounts, each with its own Client-Id and key pairs, as a
	// merchant group with several Antom accounts has. ClientID and the keys above are the first.
	Accounts []Account
	// NotifyURL receives notifyCapture for authorizations that name no URL of their own.
	NotifyURL string
	// TimeScale multiplies simulated durations: resolution delays, the resend schedule and the
	// default 7-day authorization window. 1/3600 makes an hour a second. Default 1.
	TimeScale float64
	// Logger receives the simulator's log. Default: discard.
	Logger *slog.Logger
	// HTTPClient delivers notifications. Default: a client with a 10 s timeout.
	HTTPClient *http.Client
	// NotifyFaults makes notification deliveries unreliable, for chaos tests.
	NotifyFaults NotifyFaults
}

// Account is one merchant account of the simulator: a Client-Id and its key pairs. A payment
// belongs to one account: requests of another account's Client-Id do not find it, and its
// notifications carry its account's Client-Id, signed with its account's Antom key.
type Account struct {
	ClientID string
	// MerchantPublicKey verifies the account's requests; when nil a key pair is generated
	// (ClientConfigFor returns its private half).
	MerchantPublicKey *rsa.PublicKey
	// AntomPrivateKey signs the account's responses and notifications. Generated when nil.
	AntomPrivateKey *rsa.PrivateKey
	// NotifyURL receives the account's notifications. Default Config.NotifyURL.
	NotifyURL string
}

// account is an Account with its generated keys.
type account struct {
	Account
	merchantPrv *rsa.PrivateKey // generated merchant key, nil when MerchantPublicKey was given
}

// newAccount fills in a's defaults and generates its missing keys.
func newAccount(a Account, notifyURL string) (*account, error) {
	acct := &account{Account: a}
	if acct.NotifyURL == "" {
		acct.NotifyURL = notifyURL
	}
	var err error
	if acct.AntomPrivateKey == nil {
		if acct.AntomPrivateKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("alipaytest: generate Antom key of %s: %w", a.ClientID, err)
		}
	}
	if acct.MerchantPublicKey == nil {
		if acct.merchantPrv, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("alipaytest: generate merchant key of %s: %w", a.ClientID, err)
		}
		acct.MerchantPublicKey = &acct.merchantPrv.PublicKey
	}
	return acct, nil
}

// NotifyFaults makes notification deliveries unreliable, as networks and Antom's delivery
// system are: a dropped delivery never arrives; a delayed one arrives late, when Antom has
// already given up on it (so it may land after its own resend), and its acknowledgement is
// ignored. Resends go on on Antom's schedule either way.
type NotifyFaults struct {
	DropRate  float64       // fraction of delivery attempts dropped
	DelayRate float64       // fraction of delivery attempts delayed
	Delay     time.Duration // how late a delayed attempt arrives (real time, up to this)
}

// Simulator is a local Antom. It is an http.Handler serving Antom's API paths (production and
// sandbox) and an admin API under /admin/. Close it to stop pending deliveries.
type Simulator struct {
	primary  *account            // the account of Config.ClientID
	accounts map[string]*account // every account by Client-Id
	faults   NotifyFaults
	scale    float64
	log      *slog.Logger
	hc       *http.Client
	mux      *http.ServeMux

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	payments map[string]*payment
	order    []string                 // payment ids in creation order, for stable listings
	captures map[string]*captureEntry // by captureRequestId
}

// New returns a Simulator for cfg. Key generation is its only failure.
func New(cfg Config) (*Simulator, error) {
	s := &Simulator{
		accounts: map[string]*account{},
		faults:   cfg.NotifyFaults,
		scale:    cfg.TimeScale,
		log:      cfg.Logger,
		hc:       cfg.HTTPClient,
		payments: map[string]*payment{},
		captures: map[string]*captureEntry{},
	}
	first := Account{ClientID: cfg.ClientID, MerchantPublicKey: cfg.MerchantPublicKey, AntomPrivateKey: cfg.AntomPrivateKey}
	if first.ClientID == "" {
		first.ClientID = DefaultClientID
	}
	for i, a := range append([]Account{first}, cfg.Accounts...) {
		if a.ClientID == "" || s.accounts[a.ClientID] != nil {
			return nil, fmt.Errorf("alipaytest: account %d: Client-Id %q is empty or given twice", i, a.ClientID)
		}
		acct, err := newAccount(a, cfg.NotifyURL)
		if err != nil {
			return nil, err
		}
		s.accounts[a.ClientID] = acct
		if i == 0 {
			s.primary = acct
		}
	}
	if s.scale <= 0 {
		s.scale = 1
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.hc == nil {
		s.hc = &http.Client{Timeout: 10 * time.Second}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.routes()
	return s, nil
}

// ClientID returns the Client-Id of the simulator's first merchant account (Config.ClientID).
func (s *Simulator) ClientID() string { return s.primary.ClientID }

// AntomPublicKey returns the public key of the first account's Antom key, which verifies its
// responses and notifications.
func (s *Simulator) AntomPublicKey() *rsa.PublicKey { return &s.primary.AntomPrivateKey.PublicKey }

// MerchantPrivateKey returns the first account's generated merchant key, or nil when
// Config.MerchantPublicKey was given.
func (s *Simulator) MerchantPrivateKey() *rsa.PrivateKey { return s.primary.merchantPrv }

// ClientConfig returns an alipay.Config of the first account that talks to this simulator at
// baseURL with its generated merchant key.
func (s *Simulator) ClientConfig(baseURL string) alipay.Config {
	c, _ := s.ClientConfigFor(s.primary.ClientID, baseURL)
	return c
}

// ClientConfigFor returns an alipay.Config of the account with clientID (false if there is none)
// that talks to this simulator at baseURL with the account's generated merchant key.
func (s *Simulator) ClientConfigFor(clientID, baseURL string) (alipay.Config, bool) {
	a, ok := s.accounts[clientID]
	if !ok {
		return alipay.Config{}, false
	}
	return alipay.Config{
		ClientID:       a.ClientID,
		BaseURL:        baseURL,
		PrivateKey:     a.merchantPrv,
		AntomPublicKey: &a.AntomPrivateKey.PublicKey,
	}, true
}

// ServeHTTP serves Antom's API and the admin API.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close stops resolutions and notification deliveries that are still pending and waits for them.
func (s *Simulator) Close() {
	s.cancel()
	s.wg.Wait()
}

// scaled converts a simulated duration to real time.
func (s *Simulator) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * s.scale)
}

// after runs f after the real-time equivalent of simulated d, unless the simulator closes first.
func (s *Simulator) after(d time.Duration, f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTimer(s.scaled(d))
		defer t.Stop()
		select {
		case <-t.C:
			f()
		case <-s.ctx.Done():
		}
	}()
}

// Errors of the simulator's Go and admin API.
var (
	ErrUnknownPayment = errors.New("alipaytest: no such payment")
	ErrNotProcessing  = errors.New("alipaytest: payment has no capture in process")
)

func newID(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}
