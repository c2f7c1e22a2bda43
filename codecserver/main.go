// Command codecserver decrypts and encrypts alipay-capture's payloads for the Temporal Web UI and
// the temporal CLI (--codec-endpoint), over Temporal's remote codec protocol, for callers with
// its bearer token. It is a process of its own, not a route of the webhook: the webhook faces
// Antom on the internet, while this one holds the keys that read every capture and belongs on
// the operators' network.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/capturekit/alipay-capture/codec"
	"github.com/capturekit/alipay-capture/internal/config"
	"github.com/capturekit/alipay-capture/internal/lifecycle"
)

func main() {
	lifecycle.Main("codecserver", "Decrypts and encrypts payloads for the Temporal Web UI and CLI (remote codec), for callers with CODEC_SERVER_TOKEN.", &config.CodecServer{}, run)
}

func run(log *slog.Logger) error {
	var s config.CodecServer
	if err := config.Load(&s); err != nil {
		return err
	}
	keys, err := codec.Load(s.CodecKeys, s.CodecKeysFile)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return errors.New("CAPTURE_CODEC_KEYS (or CAPTURE_CODEC_KEYS_FILE) is not set: there is nothing to decode with")
	}
	if len(s.Token) < 16 {
		return fmt.Errorf("CODEC_SERVER_TOKEN: want at least 16 characters (e.g. openssl rand -hex 16), got %d", len(s.Token))
	}
	mux := http.NewServeMux()
	mux.Handle("/", codec.Server(keys, s.Token, s.Origins))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	srv := &http.Server{Addr: s.Listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	return lifecycle.Serve(srv, func() {
		log.Info("codec server listening", "addr", s.Listen, "keys", keys.IDs(), "origins", s.Origins)
	})
}
