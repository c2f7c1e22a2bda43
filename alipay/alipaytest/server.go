package alipaytest

import (
	"net/http/httptest"

	"github.com/capturekit/alipay-capture/alipay"
)

// Server is a Simulator listening on a loopback port, for tests: the httptest.Server of Antom.
type Server struct {
	*Simulator
	// URL is the base URL of the simulator, e.g. http://127.0.0.1:41234; use it as
	// alipay.Config.BaseURL.
	URL string
	hs  *httptest.Server
}

// NewServer starts a Simulator for cfg on a loopback port. It panics if keys cannot be
// generated, as httptest.NewServer panics if it cannot listen. Call Close when done.
func NewServer(cfg Config) *Server {
	sim, err := New(cfg)
	if err != nil {
		panic(err)
	}
	hs := httptest.NewServer(sim)
	return &Server{Simulator: sim, URL: hs.URL, hs: hs}
}

// Close stops pending deliveries and then the listener.
func (s *Server) Close() {
	s.Simulator.Close()
	s.hs.Close()
}

// Config returns an alipay.Config for a client of this server, signed with the generated
// merchant key.
func (s *Server) Config() alipay.Config { return s.ClientConfig(s.URL) }

// ConfigFor returns an alipay.Config for a client of the account with clientID (Config.Accounts),
// signed with its generated merchant key; it panics for an account the server does not have.
func (s *Server) ConfigFor(clientID string) alipay.Config {
	c, ok := s.ClientConfigFor(clientID, s.URL)
	if !ok {
		panic("alipaytest: no account " + clientID)
	}
	return c
}
