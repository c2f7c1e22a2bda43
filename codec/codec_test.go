package codec_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/capturekit/alipay-capture/codec"
)

func mustKeys(t *testing.T, s string) codec.Keys {
	t.Helper()
	ks, err := codec.ParseKeys(s)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

type capture struct {
	PaymentID string `json:"paymentId"`
	Amount    string `json:"amount"`
}

// TestRotation: a payload written under key A reads after B is added and made first, new
// payloads go under B, and a process with B alone fails on A's payloads naming the key id.
func TestRotation(t *testing.T) {
	a, b := codec.NewKey("2026-11"), codec.NewKey("2026-12")
	onlyA, bFirst, onlyB := mustKeys(t, a), mustKeys(t, b+","+a), mustKeys(t, b)
	in := capture{PaymentID: "2026110212345", Amount: "1000 USD"}
	p, err := onlyA.DataConverter().ToPayload(in)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(p.GetData(), []byte("2026110212345")) || bytes.Contains(p.GetData(), []byte("1000")) || string(p.GetMetadata()["encryption-key-id"]) != "2026-11" {
		t.Fatalf("not encrypted under 2026-11: %q %v", p.GetData(), p.GetMetadata())
	}
	var out capture
	if err := bFirst.DataConverter().FromPayload(p, &out); err != nil || out != in {
		t.Errorf("A's payload with B first: %+v, %v", out, err)
	}
	q, _ := bFirst.DataConverter().ToPayload(in)
	if string(q.GetMetadata()["encryption-key-id"]) != "2026-12" {
		t.Errorf("new payloads under %q, want 2026-12", q.GetMetadata()["encryption-key-id"])
	}
	err = onlyB.DataConverter().FromPayload(p, &out)
	if !errors.Is(err, codec.ErrUnknownKey) || !strings.Contains(err.Error(), `"2026-11"`) {
		t.Errorf("B alone on A's payload: %v, want ErrUnknownKey naming 2026-11", err)
	}
	// A payload written before the codec was set reads as it is; an altered one does not.
	plain, _ := converter.GetDefaultDataConverter().ToPayload(in)
	if err := onlyB.DataConverter().FromPayload(plain, &out); err != nil || out != in {
		t.Errorf("a plain payload: %+v, %v", out, err)
	}
	q.Data[len(q.Data)-1] ^= 1
	if err := bFirst.DataConverter().FromPayload(q, &out); err == nil || !strings.Contains(err.Error(), "does not decrypt") {
		t.Errorf("an altered payload: %v", err)
	}
}

// TestMalformedKeys: each mistake is named, and no key material is echoed.
func TestMalformedKeys(t *testing.T) {
	good := codec.NewKey("k1")
	for s, want := range map[string]string{
		"":                "want id:base64",
		"k1":              "want id:base64",
		"k 1:" + good[3:]: "use letters",
		"k1:not base64!":  "not standard base64",
		"k1:" + base64.StdEncoding.EncodeToString([]byte("short")): "5 bytes, want 32",
		good + "," + good: "appears twice",
	} {
		_, err := codec.ParseKeys(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", s, err, want)
		}
		if err != nil && strings.Contains(err.Error(), good[3:]) {
			t.Errorf("%q: the error echoes the key", s)
		}
	}
	if _, err := codec.Load("k1:AAAA", ""); err == nil || !strings.HasPrefix(err.Error(), "CAPTURE_CODEC_KEYS: ") {
		t.Errorf("Load: %v, want the variable named", err)
	}
	if _, err := codec.Load("", "/nonexistent/keys"); err == nil || !strings.HasPrefix(err.Error(), "CAPTURE_CODEC_KEYS_FILE: ") {
		t.Errorf("Load of a missing file: %v, want the variable named", err)
	}
	if ks, err := codec.Load("", ""); err != nil || len(ks) != 0 {
		t.Errorf("unset: %v, %v", ks, err)
	}
}

// TestServer: the codec server decodes for a caller with the token (in the Authorization header,
// or as the endpoint's first path segment), refuses one without, and answers the Web UI's CORS
// preflight.
func TestServer(t *testing.T) {
	ks := mustKeys(t, codec.NewKey("k1"))
	srv := httptest.NewServer(codec.Server(ks, "s3cret", []string{"http://localhost:8233"}))
	defer srv.Close()
	p, _ := ks.DataConverter().ToPayload(capture{PaymentID: "P1"})
	body, _ := json.Marshal(map[string]any{"payloads": []any{json.RawMessage(protoJSON(t, p))}})
	post := func(auth string, path ...string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+strings.Join(path, "")+"/decode", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "http://localhost:8233")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := post("Bearer s3cret")
	var decoded struct{ Payloads []map[string]any }
	_ = json.NewDecoder(resp.Body).Decode(&decoded)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(decoded.Payloads) != 1 || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:8233" {
		t.Fatalf("decode with the token: %d %+v %v", resp.StatusCode, decoded, resp.Header)
	}
	data, _ := base64.StdEncoding.DecodeString(decoded.Payloads[0]["data"].(string))
	if !strings.Contains(string(data), `"paymentId":"P1"`) {
		t.Errorf("decoded payload %q", data)
	}
	for _, auth := range []string{"", "Bearer wrong"} {
		if resp := post(auth); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d, want 401", auth, resp.StatusCode)
		}
	}
	if resp := post("", "/s3cret"); resp.StatusCode != http.StatusOK {
		t.Errorf("the token as the endpoint's path: %d, want 200", resp.StatusCode)
	}
	for _, path := range []string{"/wrong", "/x/s3cret", "/s3cre"} {
		if resp := post("", path); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("endpoint path %q: %d, want 401", path, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/decode", nil)
	req.Header.Set("Origin", "http://localhost:8233")
	req.Header.Set("Access-Control-Request-Method", "POST")
	pre, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if pre.StatusCode != http.StatusNoContent || !strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "Authorization") ||
		pre.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("preflight: %d %v", pre.StatusCode, pre.Header)
	}
	req.Header.Set("Origin", "https://elsewhere.example")
	if other, _ := http.DefaultClient.Do(req); other.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("an origin not listed is allowed")
	}
}

func protoJSON(t *testing.T, p interface{ GetData() []byte }) []byte {
	t.Helper()
	b, err := protojson.Marshal(p.(proto.Message))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
