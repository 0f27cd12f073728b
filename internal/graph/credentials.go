package graph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/dedesales/exchange-connector/internal/grapherr"
)

// Secret is a stored credential; ID is the credential's row in the store.
// Value is a client secret, or with Certificate a PEM certificate and its
// RSA private key (see secret.ParseCertificate), with which MSAL signs a
// client assertion instead of sending a secret.
type Secret struct {
	ID          int64
	Value       string
	Certificate bool
}

// Credentials are what the client signs in with: an app registration's
// tenant and client ID and its client secrets or certificates, newest first
// (the first that Entra accepts is used until it stops working).
type Credentials struct {
	TenantID string
	ClientID string
	Secrets  []Secret
}

// SecretSource supplies the credentials (the store and the master key, in
// the running connector). A Client asks it when a request first needs a
// token and again at most every Config.ReloadEvery, and signs in with new
// credentials as soon as they differ, so that `connector credentials
// set|rotate` take effect without a restart. An error of the source fails
// the request that needed the token.
type SecretSource interface {
	Credentials(ctx context.Context) (Credentials, error)
}

// Fixed is a SecretSource whose credentials never change (tests, tools).
type Fixed Credentials

// Credentials returns f.
func (f Fixed) Credentials(context.Context) (Credentials, error) { return Credentials(f), nil }

// signer keeps the token source of the current credentials and reloads them
// when due. Every request of the client gets its token here, so a new Graph
// call needs nothing to stay signed in with the current secret.
type signer struct {
	src       SecretSource
	every     time.Duration
	authority string
	scope     string
	hc        *http.Client
	onResult  func(int64, error)

	mu      sync.Mutex
	ts      *tokenSource
	creds   Credentials // what ts was built from
	sum     string      // fingerprint of creds
	checked time.Time
}

func newSigner(cfg Config, scope string, hc *http.Client) *signer {
	return &signer{src: cfg.Credentials, every: cfg.ReloadEvery, authority: cfg.AuthorityURL,
		scope: scope, hc: hc, onResult: cfg.OnCredential}
}

// current returns the token source of the current credentials and the
// credentials themselves, asking the source again when ReloadEvery has
// passed. A failed reload is retried on the next call.
func (s *signer) current(ctx context.Context) (*tokenSource, Credentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ts != nil && time.Since(s.checked) < s.every {
		return s.ts, s.creds, nil
	}
	creds, err := s.src.Credentials(ctx)
	if err != nil {
		return nil, Credentials{}, fmt.Errorf("graph: reading the credentials: %w", err)
	}
	if creds.TenantID == "" || creds.ClientID == "" || len(creds.Secrets) == 0 {
		return nil, Credentials{}, &grapherr.Error{Kind: grapherr.ErrAuth, Op: "credentials",
			Message: "tenant ID, client ID and at least one client secret or certificate are required"}
	}
	if sum := fingerprint(creds); s.ts == nil || sum != s.sum {
		ts, err := newTokenSource(creds, s.authority, s.scope, s.hc, s.onResult)
		if err != nil {
			return nil, Credentials{}, err
		}
		s.ts, s.creds, s.sum = ts, creds, sum
	}
	s.checked = time.Now()
	return s.ts, s.creds, nil
}

// token is the bearer token of the current credentials (the transport's).
func (s *signer) token(ctx context.Context) (string, error) {
	ts, _, err := s.current(ctx)
	if err != nil {
		return "", err
	}
	return ts.token(ctx)
}

// fingerprint tells credentials apart without keeping another copy of the
// secrets' values.
func fingerprint(c Credentials) string {
	h := sha256.New()
	for _, part := range []string{c.TenantID, c.ClientID} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	for _, sec := range c.Secrets {
		h.Write([]byte(strconv.FormatInt(sec.ID, 10)))
		h.Write([]byte{0})
		h.Write([]byte(sec.Value))
		h.Write([]byte{0})
		if sec.Certificate {
			h.Write([]byte("certificate"))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
