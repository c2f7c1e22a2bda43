package alipaytest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
)

const maxBody = 1 << 20

// apiHandler is one Antom API: it gets the verified request body and returns the HTTP status
// and the response to sign, or a negative status for a bare, unsigned HTTP error.
type apiHandler func(r *http.Request, body []byte) (int, any)

func (s *Simulator) routes() {
	s.mux = http.NewServeMux()
	for _, api := range []struct {
		path string
		h    apiHandler
	}{
		{alipay.PathCapture, s.capture},
		{alipay.PathInquiryPayment, s.inquiry},
		{alipay.PathCancel, s.cancelPayment},
	} {
		h := s.signed(api.h)
		s.mux.Handle("POST "+api.path, h)
		s.mux.Handle("POST "+alipay.SandboxPath("SANDBOX_", api.path), h)
	}
	s.adminRoutes()
}

// signed verifies the merchant's signature over the request and signs the response, as Antom
// does: a request that fails verification gets an unsigned SIGNATURE_INVALID.
func (s *Simulator) signed(h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			writeJSON(w, http.StatusRequestEntityTooLarge, failure(alipay.CodeParamIllegal, "request body too large"))
			return
		}
		clientID := r.Header.Get("Client-Id")
		acct, known := s.accounts[clientID]
		if !known {
			acct = s.primary // verifies and signs the KEY_NOT_FOUND answer
		}
		sigHeader, err := alipay.ParseSignatureHeader(r.Header.Get("Signature"))
		if err == nil {
			err = alipay.Verify(acct.MerchantPublicKey, alipay.Message{
				Method: r.Method, Path: r.URL.Path, ClientID: clientID, Time: r.Header.Get("Request-Time"), Body: body,
			}, sigHeader.Signature)
		}
		if err != nil || r.Header.Get("Request-Time") == "" {
			s.log.Warn("request refused: signature", "path", r.URL.Path, "err", err)
			writeJSON(w, http.StatusOK, failure(alipay.CodeSignatureInvalid, "signature verification failed"))
			return
		}
		status, resp := http.StatusOK, any(nil)
		if !known {
			resp = failure(alipay.CodeKeyNotFound, "unknown Client-Id")
		} else {
			status, resp = h(r, body)
		}
		if status < 0 {
			http.Error(w, "simulated server error", -status)
			return
		}
		if resp == nil { // the client went away while a delayed response was held
			return
		}
		if u, ok := resp.(unsigned); ok {
			writeJSON(w, status, u.v)
			return
		}
		out, _ := json.Marshal(resp)
		respTime := time.Now().Format(time.RFC3339)
		sig, err := alipay.Sign(acct.AntomPrivateKey, alipay.Message{Method: r.Method, Path: r.URL.Path, ClientID: clientID, Time: respTime, Body: out})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.Header().Set("Client-Id", clientID)
		w.Header().Set("Response-Time", respTime)
		w.Header().Set("Signature", alipay.SignatureHeader{Algorithm: alipay.AlgorithmRSA256, KeyVersion: alipay.DefaultKeyVersion, Signature: sig}.String())
		w.WriteHeader(status)
		_, _ = w.Write(out)
	})
}

// paymentOf returns the payment with id if it belongs to the account of the request's Client-Id:
// an account never sees another's payments. s.mu is held.
func (s *Simulator) paymentOf(r *http.Request, id string) (*payment, bool) {
	p, ok := s.payments[id]
	if !ok || p.ClientID != r.Header.Get("Client-Id") {
		return nil, false
	}
	return p, true
}

// unsigned is a response the simulator sends without Antom's signature headers.
type unsigned struct{ v any }

type resultOnly struct {
	Result alipay.Result `json:"result"`
}

func failure(code, msg string) resultOnly {
	return resultOnly{Result: alipay.Result{ResultCode: code, ResultStatus: alipay.StatusFail, ResultMessage: msg}}
}

func unknownResult(code, msg string) resultOnly {
	return resultOnly{Result: alipay.Result{ResultCode: code, ResultStatus: alipay.StatusUnknown, ResultMessage: msg}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Simulator) capture(r *http.Request, body []byte) (int, any) {
	var req alipay.CaptureRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return http.StatusOK, failure(alipay.CodeParamIllegal, "body is not a capture request: "+err.Error())
	}
	if err := req.Validate(); err != nil {
		return http.StatusOK, failure(alipay.CodeParamIllegal, err.Error())
	}
	now := time.Now()

	s.mu.Lock()
	p, ok := s.paymentOf(r, req.PaymentID)
	if !ok {
		s.mu.Unlock()
		return http.StatusOK, failure(alipay.CodeAuthNotFound, "no authorization with this paymentId")
	}
	p.CaptureCalls++
	p.LastCaptureCallAt = now.UTC()
	if p.serverErrorsLeft > 0 {
		p.serverErrorsLeft--
		s.mu.Unlock()
		return -http.StatusInternalServerError, nil
	}
	if p.unknownExcLeft > 0 {
		p.unknownExcLeft--
		s.mu.Unlock()
		return http.StatusOK, unknownResult(alipay.CodeUnknownException, "simulated unknown exception")
	}

	// Idempotency: a request id seen before answers with its capture's current state.
	if e, seen := s.captures[req.CaptureRequestID]; seen {
		prev := s.payments[e.paymentID].Captures[e.index]
		defer s.mu.Unlock()
		if e.paymentID != req.PaymentID || prev.RequestedAmount != req.CaptureAmount {
			return http.StatusOK, failure(alipay.CodeRepeatReqInconsistent, "captureRequestId reused with a different request")
		}
		if code := p.Scenario.RepeatFailCode; code != "" {
			return http.StatusOK, p.maybeUnsigned(failure(code, "simulated refusal of a repeated request"))
		}
		return http.StatusOK, p.maybeUnsigned(captureResponse(req.PaymentID, prev))
	}

	// Antom's checks, which refuse a capture without it taking effect.
	if code, msg := p.refusal(req, now); code != "" {
		s.mu.Unlock()
		return http.StatusOK, failure(code, msg)
	}

	c := Capture{
		CaptureRequestID: req.CaptureRequestID,
		CaptureID:        newID("SIMCAP"),
		Amount:           req.CaptureAmount,
		RequestedAmount:  req.CaptureAmount,
		IsLastCapture:    req.IsLastCapture != nil && *req.IsLastCapture,
		Status:           CaptureProcessing,
		Result:           alipay.Result{ResultCode: alipay.CodeCaptureInProcess, ResultStatus: alipay.StatusUnknown, ResultMessage: "capture in process"},
		CreatedAt:        now.UTC().Truncate(time.Second),
	}
	if !p.Scenario.CapturedAmount.IsZero() {
		c.Amount = p.Scenario.CapturedAmount
	}
	p.Captures = append(p.Captures, c)
	idx := len(p.Captures) - 1
	s.captures[req.CaptureRequestID] = &captureEntry{paymentID: p.PaymentID, index: idx}
	p.CapturesExecuted++
	sc := p.Scenario
	switch sc.Result {
	case "", alipay.StatusSuccess:
		s.finishLocked(p, idx, alipay.StatusSuccess, "")
	case alipay.StatusFail:
		s.finishLocked(p, idx, alipay.StatusFail, sc.failCode())
	case alipay.StatusUnknown:
		if sc.ResolveTo != "" {
			id, to, code := p.PaymentID, sc.ResolveTo, sc.failCode()
			s.after(time.Duration(sc.ResolveAfter), func() { _ = s.Resolve(id, to, code) })
		}
	}
	var answer any = captureResponse(req.PaymentID, p.Captures[idx])
	if p.falseFailPending {
		p.falseFailPending = false
		answer = failure(sc.FalseFailCode, "simulated false answer: the capture stands")
	}
	resp := p.maybeUnsigned(answer)
	result := p.Captures[idx].Result
	delay := time.Duration(0)
	if p.delayPending {
		p.delayPending = false
		delay = time.Duration(sc.DelayResponse)
	}
	s.mu.Unlock()
	s.log.Info("capture executed", "paymentId", req.PaymentID, "captureRequestId", req.CaptureRequestID, "result", result.String())

	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return http.StatusOK, nil
		case <-s.ctx.Done():
			return http.StatusOK, nil
		}
	}
	return http.StatusOK, resp
}

// maybeUnsigned strips the signature from the response while the scenario's unsigned responses
// last. s.mu is held.
func (p *payment) maybeUnsigned(resp any) any {
	if p.unsignedLeft > 0 {
		p.unsignedLeft--
		return unsigned{resp}
	}
	return resp
}

// refusal applies Antom's checks to a new capture request; it returns a result code and message
// when the capture must be refused. A one-time payment captures its full amount once; a payment
// with PartialCaptures captures up to what remains, until a last capture closes it.
func (p *payment) refusal(req alipay.CaptureRequest, now time.Time) (code, msg string) {
	switch {
	case p.State == StateCancelled:
		return alipay.CodeAuthCancelled, "the authorization was cancelled"
	case !now.Before(p.AuthExpiryTime):
		return alipay.CodeAuthExpired, "the authorization expired at " + alipay.FormatTime(p.AuthExpiryTime)
	case p.State == StateCaptured && !p.PartialCaptures:
		return alipay.CodeMultiCaptureNotSupport, "the payment is already captured"
	case p.State == StateCaptured:
		return alipay.CodeOrderStatusInvalid, "the payment is closed for capture (last capture made, or nothing remains)"
	}
	for _, c := range p.Captures {
		if c.Status == CaptureProcessing {
			return alipay.CodeOrderStatusInvalid, "another capture is in process"
		}
	}
	want, _ := req.CaptureAmount.MinorUnits()
	switch {
	case req.CaptureAmount.Currency != p.Amount.Currency:
		return alipay.CodeParamIllegal, "captureAmount.currency differs from the authorization's " + p.Amount.Currency
	case want > p.remaining():
		return alipay.CodeCaptureAmountExceed, fmt.Sprintf("captureAmount exceeds what remains of the authorized %s", p.Amount)
	case !p.PartialCaptures && req.CaptureAmount.Value != p.Amount.Value:
		return alipay.CodeMultiCaptureNotSupport, "this payment method captures the full authorized amount only"
	case p.PartialCaptures && p.MaxCaptures > 0 && p.CapturesSucceeded >= p.MaxCaptures:
		return alipay.CodePaymentCountExceedLimit, fmt.Sprintf("this payment allows at most %d captures", p.MaxCaptures)
	}
	return "", ""
}

func captureResponse(paymentID string, c Capture) alipay.CaptureResponse {
	resp := alipay.CaptureResponse{Result: c.Result, CaptureRequestID: c.CaptureRequestID, PaymentID: paymentID}
	if c.Status == CaptureSucceeded {
		resp.CaptureID = c.CaptureID
		resp.CaptureAmount = c.Amount
		resp.CaptureTime = alipay.FormatTime(c.CaptureTime)
	}
	return resp
}

func (s *Simulator) inquiry(r *http.Request, body []byte) (int, any) {
	var req alipay.InquiryRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Validate() != nil {
		return http.StatusOK, failure(alipay.CodeParamIllegal, "paymentId is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.paymentOf(r, req.PaymentID)
	if !ok {
		return http.StatusOK, failure(alipay.CodeOrderNotExist, "no payment with this paymentId")
	}
	p.InquiryCalls++
	snap := p.snapshot(time.Now())
	resp := alipay.InquiryResponse{
		Result:         alipay.Result{ResultCode: alipay.CodeSuccess, ResultStatus: alipay.StatusSuccess, ResultMessage: "success"},
		PaymentID:      p.PaymentID,
		PaymentAmount:  p.Amount,
		PaymentStatus:  alipay.TxSuccess,
		PaymentTime:    alipay.FormatTime(p.AuthorizedAt),
		AuthExpiryTime: alipay.FormatTime(p.AuthExpiryTime),
	}
	if snap.State == StateCancelled {
		resp.PaymentStatus = alipay.TxCancelled
	}
	for _, c := range p.Captures {
		res := c.Result
		tx := alipay.Transaction{
			TransactionType:      alipay.TxTypeCapture,
			TransactionStatus:    c.Status,
			TransactionRequestID: c.CaptureRequestID,
			TransactionID:        c.CaptureID,
			TransactionAmount:    c.Amount,
			TransactionTime:      alipay.FormatTime(c.CreatedAt),
			TransactionResult:    &res,
		}
		resp.Transactions = append(resp.Transactions, tx)
	}
	return http.StatusOK, resp
}

func (s *Simulator) cancelPayment(r *http.Request, body []byte) (int, any) {
	var req alipay.CancelRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Validate() != nil {
		return http.StatusOK, failure(alipay.CodeParamIllegal, "paymentId is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.paymentOf(r, req.PaymentID)
	if !ok {
		return http.StatusOK, failure(alipay.CodeOrderNotExist, "no payment with this paymentId")
	}
	p.CancelCalls++
	now := time.Now()
	ok200 := alipay.CancelResponse{
		Result:     alipay.Result{ResultCode: alipay.CodeSuccess, ResultStatus: alipay.StatusSuccess, ResultMessage: "success"},
		PaymentID:  p.PaymentID,
		CancelTime: alipay.FormatTime(now),
	}
	switch {
	case p.State == StateCancelled:
		return http.StatusOK, ok200 // idempotent
	case p.State == StateCaptured || p.State == StatePartiallyCaptured:
		return http.StatusOK, failure(alipay.CodeOrderStatusInvalid, "a captured payment cannot be cancelled; refund it")
	case !now.Before(p.AuthExpiryTime):
		return http.StatusOK, failure(alipay.CodeCancelWindowExceed, "the cancel window has passed")
	}
	for _, c := range p.Captures {
		if c.Status == CaptureProcessing {
			return http.StatusOK, failure(alipay.CodeOrderStatusInvalid, "a capture is in process")
		}
	}
	p.State = StateCancelled
	s.log.Info("authorization cancelled", "paymentId", p.PaymentID)
	return http.StatusOK, ok200
}
