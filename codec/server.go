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
//
// Every request must carry the token, else 401: as "Authorization: Bearer <token>" (the CLI's
// --codec-auth, or a Web UI that forwards credentials), or as the endpoint's first path segment,
// POST /<token>/decode, for a Web UI without a login of its own, which sends no credential (its
// codec endpoint is then http://host:port/<token>, a secret like the token). Browsers of origins
// may call it (CORS, with credentials), and their preflight requests are answered without the
// token.
func Server(ks Keys, token string, origins []string) http.Handler {
	codec := converter.NewPayloadCodecHTTPHandler(ks)
	bearer, path := []byte("Bearer "+token), []byte(token)
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
		first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		byHeader := subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), bearer) == 1
		byPath := subtle.ConstantTimeCompare([]byte(first), path) == 1
		if !byHeader && !byPath {
			w.Header().Set("WWW-Authenticate", `Bearer realm="alipay-capture codec"`)
			http.Error(w, "the codec server needs Authorization: Bearer <CODEC_SERVER_TOKEN>, or the token as the endpoint's first path segment", http.StatusUnauthorized)
			return
		}
		codec.ServeHTTP(w, r)
	})
}
