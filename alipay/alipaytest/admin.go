package alipaytest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/capturekit/alipay-capture/alipay"
)

// The admin API lets processes outside Go tests drive and inspect the simulator:
//
//	POST /admin/payments                  create an authorization (body: Authorization)
//	GET  /admin/payments                  every payment in the ledger
//	GET  /admin/payments/{id}             one payment: captures, counts, notifications
//	POST /admin/payments/{id}/resolve     end an in-process capture: {"status":"S"} or {"status":"F","code":"..."}
//	GET  /admin/public-key[?clientId=…]   Antom's public key (PEM) of the first account, or of clientId's
//	GET  /healthz                         liveness
func (s *Simulator) adminRoutes() {
	s.mux.HandleFunc("POST /admin/payments", func(w http.ResponseWriter, r *http.Request) {
		var a Authorization
		if err := decodeStrict(r, &a); err != nil {
			writeJSON(w, http.StatusBadRequest, adminError{err.Error()})
			return
		}
		p, err := s.Authorize(a)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, adminError{err.Error()})
			return
		}
		writeJSON(w, http.StatusCreated, p)
	})
	s.mux.HandleFunc("GET /admin/payments", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Payments())
	})
	s.mux.HandleFunc("GET /admin/payments/{id}", func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.Payment(r.PathValue("id"))
		if !ok {
			writeJSON(w, http.StatusNotFound, adminError{"no such payment"})
			return
		}
		writeJSON(w, http.StatusOK, p)
	})
	s.mux.HandleFunc("POST /admin/payments/{id}/resolve", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Status string `json:"status"`
			Code   string `json:"code"`
		}
		if err := decodeStrict(r, &body); err != nil {
			writeJSON(w, http.StatusBadRequest, adminError{err.Error()})
			return
		}
		err := s.Resolve(r.PathValue("id"), body.Status, body.Code)
		switch {
		case errors.Is(err, ErrUnknownPayment):
			writeJSON(w, http.StatusNotFound, adminError{err.Error()})
		case err != nil:
			writeJSON(w, http.StatusConflict, adminError{err.Error()})
		default:
			p, _ := s.Payment(r.PathValue("id"))
			writeJSON(w, http.StatusOK, p)
		}
	})
	s.mux.HandleFunc("GET /admin/public-key", func(w http.ResponseWriter, r *http.Request) {
		acct := s.primary
		if id := r.URL.Query().Get("clientId"); id != "" {
			if acct = s.accounts[id]; acct == nil {
				writeJSON(w, http.StatusNotFound, adminError{"no merchant account with this Client-Id"})
				return
			}
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(alipay.PublicKeyPEM(&acct.AntomPrivateKey.PublicKey))
	})
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
}

type adminError struct {
	Error string `json:"error"`
}

func decodeStrict(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New("bad JSON body: " + err.Error())
	}
	return nil
}
