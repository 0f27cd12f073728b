// Package secret encrypts secrets at rest (the Entra client secret) with
// AES-256-GCM under a master key kept in a file outside the database.
//
// A sealed value is "v1:" + the key's ID (8 hex digits of its SHA-256) + ":" +
// base64(nonce || ciphertext). The key ID lets Open tell "this was sealed
// under another master key" apart from "the data is corrupt".
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the size of a master key in bytes.
const KeySize = 32

// ErrWrongKey means the value was sealed under a different master key.
var ErrWrongKey = errors.New("secret: sealed under a different master key")

// ErrCorrupt means the sealed value is malformed or was tampered with.
var ErrCorrupt = errors.New("secret: sealed value is corrupt")

// Key is a master key. Its String method never reveals the key.
type Key struct {
	aead   cipher.AEAD
	id     string
	derive []byte // the raw key, only ever used through Derive
}

// NewKey builds a Key from raw bytes.
func NewKey(raw []byte) (*Key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("secret: master key must be %d bytes, got %d", KeySize, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	sum := sha256.Sum256(raw)
	return &Key{aead: aead, id: hex.EncodeToString(sum[:4]), derive: append([]byte(nil), raw...)}, nil
}

// Derive returns a 32-byte key for one purpose (HMAC-SHA256 of the label
// under the master key), so that other keys, such as the one signing the
// subscriptions' clientState, need no file of their own.
func (k *Key) Derive(label string) []byte {
	m := hmac.New(sha256.New, k.derive)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// ID identifies the key without revealing it.
func (k *Key) ID() string { return k.id }

// String hides the key in logs and fmt output.
func (k *Key) String() string { return "master key " + k.id }

// LoadKey reads the master key file; it is an error when the file is absent.
func LoadKey(path string) (*Key, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("secret: master key file: %w", err)
	}
	k, _, err := LoadOrCreateKey(path)
	return k, err
}

// LoadOrCreateKey reads the master key file (base64 of 32 bytes). When the
// file does not exist it creates one with a fresh random key, mode 0600,
// creating its directory with mode 0700. created reports whether it did.
func LoadOrCreateKey(path string) (key *Key, created bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k, err := createKey(path)
		return k, err == nil, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("secret: reading master key: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, false, fmt.Errorf("secret: master key file %s is not base64: %w", path, err)
	}
	k, err := NewKey(raw)
	if err != nil {
		return nil, false, fmt.Errorf("secret: master key file %s: %w", path, err)
	}
	return k, false, nil
}

// ErrKeyFileOpen means group or other users may read or write the master
// key file.
var ErrKeyFileOpen = errors.New("secret: the master key file is open to other users")

// CheckKeyFile reports, as an error wrapping ErrKeyFileOpen, when group or
// other permission bits are set on the master key file, so that the service
// can warn and `connector check` can say so. A missing file is not reported
// here.
func CheckKeyFile(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("secret: master key file: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o; chmod 600 %s", ErrKeyFileOpen, path, perm, path)
	}
	return nil
}

func createKey(path string) (*Key, error) {
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("secret: generating master key: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("secret: creating master key directory: %w", err)
	}
	// Write a complete temporary file, then link it into place: the link
	// fails when another process got there first, and nobody ever reads a
	// half-written key.
	f, err := os.CreateTemp(dir, ".master-key-*")
	if err != nil {
		return nil, fmt.Errorf("secret: creating master key file: %w", err)
	}
	defer os.Remove(f.Name())
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(raw) + "\n")
	if err := errors.Join(werr, f.Chmod(0o600), f.Sync(), f.Close()); err != nil {
		return nil, fmt.Errorf("secret: writing master key file: %w", err)
	}
	if err := os.Link(f.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			k, _, err := LoadOrCreateKey(path)
			return k, err
		}
		return nil, fmt.Errorf("secret: creating master key file: %w", err)
	}
	return NewKey(raw)
}

// Seal encrypts plaintext. context binds the value to where it is stored
// (e.g. the tenant and client ID); Open must be given the same context.
func (k *Key) Seal(plaintext, context string) (string, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("secret: nonce: %w", err)
	}
	ct := k.aead.Seal(nonce, nonce, []byte(plaintext), []byte(context))
	return "v1:" + k.id + ":" + base64.StdEncoding.EncodeToString(ct), nil
}

// Open decrypts a value made by Seal.
func (k *Key) Open(sealed, context string) (string, error) {
	parts := strings.SplitN(sealed, ":", 3)
	if len(parts) != 3 || parts[0] != "v1" {
		return "", ErrCorrupt
	}
	if parts[1] != k.id {
		return "", fmt.Errorf("%w (sealed under key %s, the configured key is %s)", ErrWrongKey, parts[1], k.id)
	}
	ct, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(ct) < k.aead.NonceSize() {
		return "", ErrCorrupt
	}
	pt, err := k.aead.Open(nil, ct[:k.aead.NonceSize()], ct[k.aead.NonceSize():], []byte(context))
	if err != nil {
		return "", ErrCorrupt
	}
	return string(pt), nil
}
