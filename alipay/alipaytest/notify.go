package alipaytest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/capturekit/alipay-capture/alipay"
)

// notifyLocked starts the delivery of notifyCapture for capture c of p, plus any scripted
// duplicates, each on Antom's resend schedule. s.mu is held.
func (s *Simulator) notifyLocked(p *payment, c Capture) {
	n := alipay.CaptureNotification{
		NotifyType:       alipay.NotifyTypeCaptureResult,
		Result:           c.Result,
		CaptureRequestID: c.CaptureRequestID,
		PaymentID:        p.PaymentID,
		CaptureAmount:    c.Amount,
	}
	if c.Status == CaptureSucceeded {
		n.CaptureID = c.CaptureID
		n.CaptureTime = alipay.FormatTime(c.CaptureTime)
	}
	body, _ := json.Marshal(n)
	for copyNo := 0; copyNo <= p.Scenario.DuplicateNotifications; copyNo++ {
		p.Notifications = append(p.Notifications, Notification{CaptureRequestID: c.CaptureRequestID, Copy: copyNo})
		d := &delivery{
			sim: s, paymentID: p.PaymentID, clientID: p.ClientID, index: len(p.Notifications) - 1,
			url: p.NotifyURL, body: body, badFirst: p.Scenario.BadSignatureNotification,
		}
		s.wg.Add(1)
		go d.run()
	}
}

type delivery struct {
	sim       *Simulator
	paymentID string
	clientID  string // the payment's account
	index     int    // into payment.Notifications
	url       string
	body      []byte
	badFirst  bool
}

// run delivers until acknowledged, the schedule is exhausted, or the simulator closes.
func (d *delivery) run() {
	s := d.sim
	defer s.wg.Done()
	for attempt, wait := range ResendSchedule {
		if wait > 0 {
			t := time.NewTimer(s.scaled(wait))
			select {
			case <-t.C:
			case <-s.ctx.Done():
				t.Stop()
				return
			}
		}
		bad := d.badFirst && attempt == 0
		fault := s.notifyFault()
		var status int
		var err error
		switch fault {
		case faultDrop:
			err = errors.New("delivery dropped (simulated)")
		case faultDelay:
			err = errors.New("delivery delayed past its resend (simulated)")
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				t := time.NewTimer(time.Duration(mrand.Int64N(int64(s.faults.Delay) + 1)))
				defer t.Stop()
				select {
				case <-t.C:
					_, _ = d.send(bad) // Antom has given up on this attempt: its answer is ignored
				case <-s.ctx.Done():
				}
			}()
		default:
			status, err = d.send(bad)
		}
		acked := err == nil
		s.mu.Lock()
		rec := &s.payments[d.paymentID].Notifications[d.index]
		rec.Attempts++
		rec.LastStatus = status
		rec.BadSignatureSent = rec.BadSignatureSent || bad
		rec.Acked = acked
		rec.LastError = ""
		if err != nil {
			rec.LastError = err.Error()
		}
		switch fault {
		case faultDrop:
			rec.Dropped++
		case faultDelay:
			rec.Delayed++
		}
		s.mu.Unlock()
		if acked {
			s.log.Info("notification acknowledged", "paymentId", d.paymentID, "attempt", attempt+1)
			return
		}
		s.log.Info("notification not acknowledged", "paymentId", d.paymentID, "attempt", attempt+1, "err", err)
		if s.ctx.Err() != nil {
			return
		}
	}
}

type notifyFault int

const (
	faultNone notifyFault = iota
	faultDrop
	faultDelay
)

// notifyFault draws the fault of one delivery attempt from Config.NotifyFaults.
func (s *Simulator) notifyFault() notifyFault {
	f := s.faults
	if f.DropRate <= 0 && f.DelayRate <= 0 {
		return faultNone
	}
	switch x := mrand.Float64(); {
	case x < f.DropRate:
		return faultDrop
	case x < f.DropRate+f.DelayRate && f.Delay > 0:
		return faultDelay
	}
	return faultNone
}

// send makes one signed delivery; err is nil only for Antom's exact acknowledgement.
func (d *delivery) send(badSignature bool) (int, error) {
	s := d.sim
	u, err := url.Parse(d.url)
	if err != nil {
		return 0, fmt.Errorf("notify URL: %w", err)
	}
	reqTime := strconv.FormatInt(time.Now().UnixMilli(), 10)
	acct := s.accounts[d.clientID]
	key := acct.AntomPrivateKey
	if badSignature {
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return 0, err
		}
	}
	sig, err := alipay.Sign(key, alipay.Message{Method: http.MethodPost, Path: u.Path, ClientID: acct.ClientID, Time: reqTime, Body: d.body})
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	req.Header.Set("Client-Id", acct.ClientID)
	req.Header.Set("Request-Time", reqTime)
	req.Header.Set("Signature", alipay.SignatureHeader{Algorithm: alipay.AlgorithmRSA256, KeyVersion: alipay.DefaultKeyVersion, Signature: sig}.String())
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if !alipay.IsAck(resp.StatusCode, b) {
		return resp.StatusCode, fmt.Errorf("no acknowledgement: HTTP %d %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	return resp.StatusCode, nil
}
