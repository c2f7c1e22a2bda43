package alipay

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-resty/resty/v2"
)

// Antom hosts by region (spec §1). HostAsia is the default.
const (
	HostAsia           = "https://open-sea-global.alipay.com"
	HostNorthAmerica   = "https://open-na-global.alipay.com"
	HostUS             = "https://open.antglobal-us.com"
	HostEurope         = "https://open-de-global.alipay.com"
	DefaultTimeout     = 15 * time.Second
	maxResponseBytes   = 1 << 20
	contentTypeJSON    = "application/json; charset=UTF-8"
	headerClientID     = "Client-Id"
	headerRequestTime  = "Request-Time"
	headerResponseTime = "Response-Time"
	headerSignature    = "Signature"
)

// Errors that classify a failed call. Every error returned by Capture, InquiryPayment and Cancel
// wraps exactly one of them, so that callers can decide with errors.Is whether resending is
// safe and whether money may have moved.
var (
	// ErrNotSent: the request provably never reached Antom (invalid input, signing failure,
	// connection refused, cancelled before a connection was made). Nothing happened.
	ErrNotSent = errors.New("request not sent")
	// ErrOutcomeUnknown: the request may have reached Antom but no trustworthy answer came back
	// (timeout, reset after writing, HTTP 5xx, non-JSON, missing or bad signature). Resend the
	// same request id and body, or inquire.
	ErrOutcomeUnknown = errors.New("outcome unknown")
	// ErrSignatureRejected: Antom answered SIGNATURE_INVALID, unsigned, as it does: it could not
	// verify our signature, so it processed nothing. A configuration error (merchant key or
	// Client-Id), final until an operator fixes it.
	ErrSignatureRejected = errors.New("Antom rejected our signature (SIGNATURE_INVALID)")
)

// CallError describes a call that produced no verified answer. Kind is ErrNotSent,
// ErrOutcomeUnknown or ErrSignatureRejected; errors.Is matches Kind and the cause.
type CallError struct {
	Op         string // "capture", "inquiryPayment", "cancel"
	Kind       error
	StatusCode int // HTTP status, 0 when none was received
	Err        error
}

func (e *CallError) Error() string {
	s := "alipay " + e.Op + ": " + e.Kind.Error()
	if e.StatusCode != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.StatusCode)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the kind and the cause, for errors.Is and errors.As.
func (e *CallError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Config configures a Client. ClientID, PrivateKey and AntomPublicKey are required.
type Config struct {
	// ClientID is the merchant's Antom Client-Id. A "SANDBOX_" prefix selects sandbox paths.
	ClientID string
	// BaseURL is the Antom host (see the Host constants) or a simulator's URL. Default HostAsia.
	BaseURL string
	// PrivateKey is the merchant's private key, which signs requests.
	PrivateKey *rsa.PrivateKey
	// AntomPublicKey verifies Antom's responses.
	AntomPublicKey *rsa.PublicKey
	// AntomPublicKeys are further Antom keys accepted while Antom rotates its key: a response
	// verifies if AntomPublicKey or one of these verifies it.
	AntomPublicKeys []*rsa.PublicKey
	// KeyVersion is the merchant key's version, sent in the Signature header so that Antom
	// picks the matching merchant public key (raise it when rotating PrivateKey). Default "1".
	KeyVersion string
	// Timeout bounds one call, connection to last byte. Default DefaultTimeout.
	Timeout time.Duration
	// HTTPClient, if set, is used for transport (proxies, TLS, tracing). It is not modified.
	HTTPClient *http.Client
}

// Client calls Antom's capture, inquiryPayment and cancel APIs with signed requests and verified
// responses. It never retries by itself: the caller (a Temporal activity) owns retries, and
// resends the same request id. A Client is safe for concurrent use.
type Client struct {
	clientID   string
	baseURL    string
	keyVersion string
	key        *rsa.PrivateKey
	antomKeys  []*rsa.PublicKey
	timeout    time.Duration
	rc         *resty.Client
}

// NewClient validates cfg and returns a Client. Errors name the field that is wrong.
func NewClient(cfg Config) (*Client, error) {
	if cfg.ClientID == "" {
		return nil, errors.New("alipay: Config.ClientID is empty")
	}
	if cfg.PrivateKey == nil {
		return nil, errors.New("alipay: Config.PrivateKey (merchant private key) is missing")
	}
	if err := cfg.PrivateKey.Validate(); err != nil {
		return nil, fmt.Errorf("alipay: Config.PrivateKey: %w", err)
	}
	if cfg.AntomPublicKey == nil {
		return nil, errors.New("alipay: Config.AntomPublicKey is missing; without it no response can be trusted")
	}
	if slices.Contains(cfg.AntomPublicKeys, nil) {
		return nil, errors.New("alipay: Config.AntomPublicKeys holds a nil key")
	}
	base := cfg.BaseURL
	if base == "" {
		base = HostAsia
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("alipay: Config.BaseURL %q is not an http(s) URL with a host", base)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("alipay: Config.BaseURL %q must not have a query or fragment", base)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("alipay: Config.Timeout %v is negative", cfg.Timeout)
	}
	c := &Client{
		clientID:   cfg.ClientID,
		baseURL:    strings.TrimRight(base, "/"),
		keyVersion: cfg.KeyVersion,
		key:        cfg.PrivateKey,
		antomKeys:  append([]*rsa.PublicKey{cfg.AntomPublicKey}, cfg.AntomPublicKeys...),
		timeout:    cfg.Timeout,
	}
	if c.keyVersion == "" {
		c.keyVersion = DefaultKeyVersion
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		cp := *cfg.HTTPClient // resty sets fields on the client it is given; keep the caller's intact
		hc = &cp
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.rc = resty.NewWithClient(hc).
		SetRetryCount(0).
		SetResponseBodyLimit(maxResponseBytes).
		SetLogger(discardLogger{})
	return c, nil
}

// ClientID returns the Client-Id the client signs with.
func (c *Client) ClientID() string { return c.clientID }

// Capture sends a capture request. A nil error means Antom answered with a verified result:
// inspect resp.Result (its Action says what to do). Otherwise the error is a *CallError.
func (c *Client) Capture(ctx context.Context, req CaptureRequest) (*CaptureResponse, error) {
	const op = "capture"
	if err := req.Validate(); err != nil {
		return nil, &CallError{Op: op, Kind: ErrNotSent, Err: err}
	}
	var resp CaptureResponse
	if err := c.call(ctx, op, PathCapture, req, &resp, &resp.Result); err != nil {
		return nil, err
	}
	return &resp, nil
}

// InquiryPayment asks for a payment's state and transactions. A nil error means a verified
// answer; resp.Result is about the inquiry call itself.
func (c *Client) InquiryPayment(ctx context.Context, req InquiryRequest) (*InquiryResponse, error) {
	const op = "inquiryPayment"
	if err := req.Validate(); err != nil {
		return nil, &CallError{Op: op, Kind: ErrNotSent, Err: err}
	}
	var resp InquiryResponse
	if err := c.call(ctx, op, PathInquiryPayment, req, &resp, &resp.Result); err != nil {
		return nil, err
	}
	return &resp, nil
}

// Cancel voids an uncaptured authorization. A nil error means a verified answer: S cancelled,
// F refused (resp.Result.ResultCode says why), U retry with the same parameters.
func (c *Client) Cancel(ctx context.Context, req CancelRequest) (*CancelResponse, error) {
	const op = "cancel"
	if err := req.Validate(); err != nil {
		return nil, &CallError{Op: op, Kind: ErrNotSent, Err: err}
	}
	var resp CancelResponse
	if err := c.call(ctx, op, PathCancel, req, &resp, &resp.Result); err != nil {
		return nil, err
	}
	return &resp, nil
}

// call marshals req once, signs those bytes, sends them, and verifies and decodes the answer into
// out. result points at out's Result, so that its status can be checked after decoding.
func (c *Client) call(ctx context.Context, op, path string, req, out any, result *Result) error {
	notSent := func(err error) error { return &CallError{Op: op, Kind: ErrNotSent, Err: err} }
	unknown := func(status int, err error) error {
		return &CallError{Op: op, Kind: ErrOutcomeUnknown, StatusCode: status, Err: err}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return notSent(fmt.Errorf("marshal request: %w", err))
	}
	path = SandboxPath(c.clientID, path)
	reqTime := strconv.FormatInt(time.Now().UnixMilli(), 10)
	sig, err := Sign(c.key, Message{Method: http.MethodPost, Path: path, ClientID: c.clientID, Time: reqTime, Body: body})
	if err != nil {
		return notSent(err)
	}
	if err := ctx.Err(); err != nil {
		return notSent(err)
	}

	// A request counts as sent once a connection was obtained for it: before that, no byte left.
	var gotConn atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { gotConn.Store(true) },
	})
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	r, err := c.rc.R().
		SetContext(ctx).
		SetHeader("Content-Type", contentTypeJSON).
		SetHeader(headerClientID, c.clientID).
		SetHeader(headerRequestTime, reqTime).
		SetHeader(headerSignature, SignatureHeader{Algorithm: AlgorithmRSA256, KeyVersion: c.keyVersion, Signature: sig}.String()).
		SetBody(body).
		Post(c.baseURL + path)
	if err != nil {
		if !gotConn.Load() {
			return notSent(err)
		}
		status := 0
		if r != nil && r.RawResponse != nil {
			status = r.StatusCode()
		}
		return unknown(status, err)
	}
	status := r.StatusCode()
	raw := r.Body()
	if status >= 500 {
		return unknown(status, fmt.Errorf("server error: %s", truncate(string(raw), 200)))
	}

	sigHeader := r.Header().Get(headerSignature)
	if sigHeader == "" {
		var probe struct {
			Result Result `json:"result"`
		}
		if json.Unmarshal(raw, &probe) == nil && probe.Result.ResultCode == CodeSignatureInvalid {
			return &CallError{Op: op, Kind: ErrSignatureRejected, StatusCode: status,
				Err: fmt.Errorf("check the merchant private key and Client-Id %q: %s", c.clientID, probe.Result)}
		}
		return unknown(status, fmt.Errorf("%w: response is not signed", ErrBadSignature))
	}
	if got := r.Header().Get(headerClientID); got != c.clientID {
		return unknown(status, fmt.Errorf("%w: response Client-Id %q is not ours", ErrBadSignature, got))
	}
	h, err := ParseSignatureHeader(sigHeader)
	if err != nil {
		return unknown(status, err)
	}
	msg := Message{Method: http.MethodPost, Path: path, ClientID: c.clientID, Time: r.Header().Get(headerResponseTime), Body: raw}
	if msg.Time == "" {
		return unknown(status, fmt.Errorf("%w: response has no Response-Time header", ErrBadSignature))
	}
	if err := verifyAny(c.antomKeys, msg, h.Signature); err != nil {
		return unknown(status, fmt.Errorf("response: %w", err))
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return unknown(status, fmt.Errorf("response body is not the expected JSON: %w", err))
	}
	if b, ok := out.(interface{ check() error }); ok {
		if err := b.check(); err != nil {
			return unknown(status, fmt.Errorf("response: %w", err))
		}
	}
	if result.Action() == ActionNone {
		return unknown(status, fmt.Errorf("response result has no valid status: %+v", *result))
	}
	return nil
}

// discardLogger silences resty, which would otherwise print to stderr; callers log outcomes.
type discardLogger struct{}

func (discardLogger) Errorf(string, ...any) {}
func (discardLogger) Warnf(string, ...any)  {}
func (discardLogger) Debugf(string, ...any) {}
