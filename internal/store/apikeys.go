package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// API key scopes.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

// APITokenPrefix starts every API token, so that a leaked one is recognisable
// (secret scanners, logs).
const APITokenPrefix = "dcx_"

// apiKeyPrefixLen is how many characters of the random part are kept in
// clear as the key's display prefix (40 bits: unique in practice; a clash is
// retried).
const apiKeyPrefixLen = 8

// tokenEncoding writes the 256 random bits as 52 lowercase base32 characters.
var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// ErrRevoked: the API key was revoked.
var ErrRevoked = errors.New("revoked")

// APIKey is a key of the CRM API as stored: never the token itself.
type APIKey struct {
	ID         int64      `db:"id"`
	Name       string     `db:"name"`
	Scope      string     `db:"scope"`
	Prefix     string     `db:"prefix"` // "dcx_" and the first characters of the token
	Hash       string     `db:"token_sha256"`
	CreatedAt  time.Time  `db:"created_at"`
	LastUsedAt *time.Time `db:"last_used_at"`
	RevokedAt  *time.Time `db:"revoked_at"`
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateAPIKey makes a key and returns its token, which is not stored and
// cannot be shown again.
func (s *Store) CreateAPIKey(ctx context.Context, name, scope string) (string, APIKey, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", APIKey{}, fmt.Errorf("%w: the key needs a --name", ErrInvalid)
	}
	if scope != ScopeRead && scope != ScopeWrite {
		return "", APIKey{}, fmt.Errorf("%w: scope %q: want read or write", ErrInvalid, scope)
	}
	var exists int
	if err := s.db.GetContext(ctx, &exists, s.q(`SELECT COUNT(*) FROM api_keys WHERE name = ?`), name); err != nil {
		return "", APIKey{}, fmt.Errorf("store: api keys: %w", err)
	}
	if exists > 0 {
		return "", APIKey{}, fmt.Errorf("%w: an API key named %q exists already (revoked keys keep their names)", ErrInvalid, name)
	}
	for attempt := 0; ; attempt++ {
		random := make([]byte, 32)
		if _, err := rand.Read(random); err != nil {
			return "", APIKey{}, fmt.Errorf("store: api key: %w", err)
		}
		token := APITokenPrefix + tokenEncoding.EncodeToString(random)
		k := APIKey{Name: name, Scope: scope, Prefix: token[:len(APITokenPrefix)+apiKeyPrefixLen],
			Hash: hashToken(token), CreatedAt: s.now()}
		err := s.db.GetContext(ctx, &k.ID, s.q(`
			INSERT INTO api_keys (name, scope, prefix, token_sha256, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`),
			k.Name, k.Scope, k.Prefix, k.Hash, k.CreatedAt)
		if err == nil {
			return token, k, nil
		}
		if attempt >= 3 || !strings.Contains(strings.ToLower(err.Error()), "unique") {
			return "", APIKey{}, fmt.Errorf("store: create api key %q: %w", name, err)
		}
	}
}

// APIKeys lists every key, revoked ones too, by name.
func (s *Store) APIKeys(ctx context.Context) ([]APIKey, error) {
	var out []APIKey
	if err := s.db.SelectContext(ctx, &out, `SELECT * FROM api_keys ORDER BY name`); err != nil {
		return nil, fmt.Errorf("store: api keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey revokes the key named name; revoking it again is no error.
func (s *Store) RevokeAPIKey(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE name = ?`), s.now(), name)
	if err != nil {
		return fmt.Errorf("store: revoke api key %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: no API key named %q: %w", name, ErrNotFound)
	}
	return nil
}

// HasAPIKeys reports whether a key that is not revoked exists: the API is
// off until one does.
func (s *Store) HasAPIKeys(ctx context.Context) (bool, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM (SELECT 1 FROM api_keys WHERE revoked_at IS NULL LIMIT 1) k`); err != nil {
		return false, fmt.Errorf("store: api keys: %w", err)
	}
	return n > 0, nil
}

// AuthenticateAPIKey returns the key of token: ErrNotFound when no key has
// it, ErrRevoked when its key was revoked. The row is found by the token's
// display prefix and the hash compared in constant time.
func (s *Store) AuthenticateAPIKey(ctx context.Context, token string) (APIKey, error) {
	n := len(APITokenPrefix) + apiKeyPrefixLen
	if !strings.HasPrefix(token, APITokenPrefix) || len(token) <= n {
		return APIKey{}, ErrNotFound
	}
	var k APIKey
	err := s.db.GetContext(ctx, &k, s.q(`SELECT * FROM api_keys WHERE prefix = ?`), token[:n])
	if errors.Is(err, sql.ErrNoRows) {
		return APIKey{}, ErrNotFound
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("store: api key: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(hashToken(token)), []byte(k.Hash)) != 1 {
		return APIKey{}, ErrNotFound
	}
	if k.RevokedAt != nil {
		return k, ErrRevoked
	}
	return k, nil
}

// TouchAPIKey records that key id was used at now, unless it was recorded
// less than a minute before.
func (s *Store) TouchAPIKey(ctx context.Context, id int64, now time.Time) error {
	now = now.UTC()
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`),
		now, id, now.Add(-time.Minute))
	if err != nil {
		return fmt.Errorf("store: api key %d: %w", id, err)
	}
	return nil
}
