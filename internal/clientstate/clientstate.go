// Package clientstate builds and checks the clientState of the connector's
// Graph subscriptions. A state names the employee whose mailbox the
// subscription watches and carries an HMAC-SHA256 under a server key, so a
// notification can be authenticated and attributed without a database
// look-up.
//
// A state reads
//
//	v1.<employee ID>.<nonce>.<mac>
//
// where the employee ID is decimal, the nonce is 96 random bits and the mac is
// HMAC-SHA256 over everything before it, truncated to 128 bits; nonce and mac
// are unpadded base64url. The result is at most 63 characters, all of them
// URL-safe, within Graph's limit of 128.
//
// Keys rotate: Keys generates with its current key and also accepts states
// made with any of its previous keys. The package is pure: no I/O, no clock.
package clientstate

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxLen is the longest clientState Graph accepts on a subscription.
const MaxLen = 128

const (
	version  = "v1"
	nonceLen = 12 // bytes
	macLen   = 16 // bytes; 128 bits of HMAC-SHA256
	keyLen   = 32 // bytes of a derived key
	// MinSecretLen is the shortest secret DeriveKey accepts.
	MinSecretLen = 16
	// label binds derived keys to this one use of the master secret.
	label = "exchange-connector/clientstate/v1"
)

var b64 = base64.RawURLEncoding

// Keys holds the key that signs new states and the keys that are still
// accepted. The zero value accepts nothing and must not generate.
type Keys struct {
	current  []byte
	previous [][]byte
}

// DeriveKey derives the clientState key from a secret (e.g. the connector's
// master key) with HKDF-SHA256 under a fixed label, so the secret itself
// never signs anything.
func DeriveKey(secret []byte) ([]byte, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("clientstate: secret of %d bytes, want at least %d", len(secret), MinSecretLen)
	}
	k, err := hkdf.Key(sha256.New, secret, nil, label, keyLen)
	if err != nil {
		return nil, fmt.Errorf("clientstate: derive key: %w", err)
	}
	return k, nil
}

// NewKeys derives the keys from the current secret and the previous secrets
// still accepted during a rotation.
func NewKeys(current []byte, previous ...[]byte) (Keys, error) {
	cur, err := DeriveKey(current)
	if err != nil {
		return Keys{}, err
	}
	k := Keys{current: cur}
	for i, p := range previous {
		pk, err := DeriveKey(p)
		if err != nil {
			return Keys{}, fmt.Errorf("previous secret %d: %w", i, err)
		}
		k.previous = append(k.previous, pk)
	}
	return k, nil
}

// errZeroKeys is the panic value of Generate on a zero Keys.
var errZeroKeys = errors.New("clientstate: Generate on zero Keys")

// Generate returns a fresh clientState for the employee, signed with the
// current key. Each call draws a new nonce. It panics on a zero Keys, which is
// a wiring error.
func (k Keys) Generate(employeeID int64) string {
	if len(k.current) == 0 {
		panic(errZeroKeys)
	}
	var nonce [nonceLen]byte
	rand.Read(nonce[:]) // never fails (crypto/rand, Go ≥ 1.24)
	var sb strings.Builder
	sb.Grow(MaxLen)
	sb.WriteString(version)
	sb.WriteByte('.')
	sb.WriteString(strconv.FormatInt(employeeID, 10))
	sb.WriteByte('.')
	sb.WriteString(b64.EncodeToString(nonce[:]))
	signed := sb.String()
	return signed + "." + b64.EncodeToString(mac(k.current, signed))
}

// Verify reports whether state was generated under one of the keys, and if
// so for which employee. The MAC is compared in constant time.
func (k Keys) Verify(state string) (employeeID int64, ok bool) {
	if len(state) > MaxLen {
		return 0, false
	}
	i := strings.LastIndexByte(state, '.')
	if i < 0 {
		return 0, false
	}
	signed, sig := state[:i], state[i+1:]
	if b64.DecodedLen(len(sig)) != macLen {
		return 0, false
	}
	got, err := b64.Strict().DecodeString(sig)
	if err != nil || len(got) != macLen {
		return 0, false
	}
	id, ok := parseSigned(signed)
	if !ok {
		return 0, false
	}
	match := hmac.Equal(got, mac(k.current, signed)) && len(k.current) > 0
	for _, p := range k.previous {
		// Every key is tried, so timing does not tell which one matched.
		match = hmac.Equal(got, mac(p, signed)) || match
	}
	if !match {
		return 0, false
	}
	return id, true
}

// parseSigned checks the signed part "v1.<id>.<nonce>" and returns the ID.
func parseSigned(signed string) (int64, bool) {
	v, rest, ok := strings.Cut(signed, ".")
	if !ok || v != version {
		return 0, false
	}
	idText, nonce, ok := strings.Cut(rest, ".")
	if !ok || len(nonce) != b64.EncodedLen(nonceLen) {
		return 0, false
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || strconv.FormatInt(id, 10) != idText {
		return 0, false
	}
	return id, true
}

// mac is the truncated HMAC-SHA256 of msg under key.
func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)[:macLen]
}
