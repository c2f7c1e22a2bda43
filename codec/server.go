package codec

import (
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"

	"go.temporal.io/sdk/converter"
)

// Server returns the remote codec HTTP protocol Temporal documents (POST /encode and /decode of
// a JSON {"payloads": […]}) over ks, for the Web UI and the temporal CLI (--codec-endpoint).
// Every request must carry "Authorization: Bearer <token>", else 401; browsers of origins may
// call it (CORS, with credentials: the UI sends the header it is configured with), and their
// preflight requests are answered without the token.
func Server(ks Keys, token string, origins []string) http.Handler {
	codec := converter.NewPayloadCodecHTTPHandler(ks)
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && slices.Contains(origins, o) {
			w.Header().Set("Access-Control-Allow-Origin", o)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
			w.Header().Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if !strings.HasSuffix(r.URL.Path, "/encode") && !strings.HasSuffix(r.URL.Path, "/decode") {
			http.NotFound(w, r)
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="alipay-capture codec"`)
			http.Error(w, "the codec server needs Authorization: Bearer <CODEC_SERVER_TOKEN>", http.StatusUnauthorized)
			return
		}
		codec.ServeHTTP(w, r)
	})
}
