// Package codec encrypts the payloads alipay-capture hands to Temporal (inputs, results, signals,
// queries, memo, failure messages) with AES-256-GCM under keys the deployment holds, so that
// Temporal, or Temporal Cloud, stores only ciphertext. Each payload names the id of its key, so
// that keys can rotate: the first key encrypts, every key decrypts. Search attributes are not
// payloads of the data converter and stay readable.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// Metadata of an encrypted payload.
const (
	// Encoding marks a payload this codec encrypted.
	Encoding = "binary/encrypted"
	// MetadataKeyID names the key that encrypted the payload.
	MetadataKeyID = "encryption-key-id"
)

// ErrUnknownKey is a payload encrypted under a key id the process does not hold.
var ErrUnknownKey = errors.New("codec: payload encrypted with a key this process does not hold")

// Key is one named AES-256 key.
type Key struct {
	ID   string
	aead cipher.AEAD
}

// Keys are the deployment's keys: the first encrypts, all decrypt. The zero value encrypts
// nothing.
type Keys []Key

// ParseKeys reads keys written as "id:base64,id:base64" (each key 32 random bytes, standard
// base64; ids of letters, digits, '.', '_' and '-'). The first is the one that encrypts. Errors
// say which entry is wrong, never a key's bytes.
func ParseKeys(s string) (Keys, error) {
	var ks Keys
	seen := map[string]bool{}
	for i, entry := range strings.Split(strings.TrimSpace(s), ",") {
		entry = strings.TrimSpace(entry)
		id, b64, ok := strings.Cut(entry, ":")
		switch {
		case !ok || id == "":
			return nil, fmt.Errorf("key %d: want id:base64", i+1)
		case !validID(id):
			return nil, fmt.Errorf("key %d: id %q: use letters, digits, '.', '_' and '-'", i+1, id)
		case seen[id]:
			return nil, fmt.Errorf("key %d: id %q appears twice", i+1, id)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		if err != nil {
			return nil, fmt.Errorf("key %q: not standard base64", id)
		}
		if len(raw) != 32 {
			return nil, fmt.Errorf("key %q: %d bytes, want 32 (AES-256; e.g. openssl rand -base64 32)", id, len(raw))
		}
		block, _ := aes.NewCipher(raw)
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", id, err)
		}
		seen[id] = true
		ks = append(ks, Key{ID: id, aead: aead})
	}
	return ks, nil
}

// Load reads the keys of CAPTURE_CODEC_KEYS (value) or of the file CAPTURE_CODEC_KEYS_FILE names
// (file); with neither, no keys: nothing is encrypted. Errors name the variable.
func Load(value, file string) (Keys, error) {
	name := "CAPTURE_CODEC_KEYS"
	switch {
	case value != "" && file != "":
		return nil, errors.New("CAPTURE_CODEC_KEYS and CAPTURE_CODEC_KEYS_FILE: set one, not both")
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("CAPTURE_CODEC_KEYS_FILE: %w", err)
		}
		value, name = string(b), "CAPTURE_CODEC_KEYS_FILE ("+file+")"
	case value == "":
		return nil, nil
	}
	ks, err := ParseKeys(value)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return ks, nil
}

// NewKey returns a fresh random key named id, written as CAPTURE_CODEC_KEYS takes it
// ("id:base64" of 32 bytes from crypto/rand).
func NewKey(id string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24 and later)
	return id + ":" + base64.StdEncoding.EncodeToString(b)
}

func validID(id string) bool {
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return len(id) <= 64
}

// IDs returns the keys' ids, the encrypting one first.
func (ks Keys) IDs() []string {
	ids := make([]string, len(ks))
	for i, k := range ks {
		ids[i] = k.ID
	}
	return ids
}

// Encode encrypts each payload under the first key.
func (ks Keys) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	if len(ks) == 0 {
		return payloads, nil
	}
	k := ks[0]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: %w", err)
		}
		nonce := make([]byte, k.aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("codec: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{converter.MetadataEncoding: []byte(Encoding), MetadataKeyID: []byte(k.ID)},
			Data:     k.aead.Seal(nonce, nonce, plain, []byte(k.ID)),
		}
	}
	return out, nil
}

// Decode decrypts each encrypted payload with the key it names; a payload that is not
// encrypted (written before the codec was set) passes as it is.
func (ks Keys) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != Encoding {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		var k *Key
		for j := range ks {
			if ks[j].ID == id {
				k = &ks[j]
			}
		}
		if k == nil {
			return nil, fmt.Errorf("%w: key id %q (this process holds %q)", ErrUnknownKey, id, strings.Join(ks.IDs(), ","))
		}
		n := k.aead.NonceSize()
		if len(p.GetData()) < n {
			return nil, fmt.Errorf("codec: payload under key %q is too short to be ciphertext", id)
		}
		plain, err := k.aead.Open(nil, p.GetData()[:n], p.GetData()[n:], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("codec: payload under key %q does not decrypt (altered, or another key of that id)", id)
		}
		var dp commonpb.Payload
		if err := proto.Unmarshal(plain, &dp); err != nil {
			return nil, fmt.Errorf("codec: payload under key %q: %w", id, err)
		}
		out[i] = &dp
	}
	return out, nil
}

// DataConverter returns Temporal's default data converter with the payloads encrypted.
func (ks Keys) DataConverter() converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), ks)
}

// Apply sets o's data and failure converters so that every payload, memo and failure message
// the client writes is encrypted, and those it reads are decrypted. No keys: o is unchanged.
// Every process that talks to Temporal with the same keys calls it, services included.
func (ks Keys) Apply(o *client.Options) {
	if len(ks) == 0 {
		return
	}
	dc := ks.DataConverter()
	o.DataConverter = dc
	o.FailureConverter = temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{DataConverter: dc, EncodeCommonAttributes: true})
}
