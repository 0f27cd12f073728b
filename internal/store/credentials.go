package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Kinds of credential.
const (
	// CredentialSecret: a client secret; SecretHint is its first characters.
	CredentialSecret = "secret"
	// CredentialCertificate: a certificate; SecretSealed holds the
	// certificate and its private key (PEM), SecretHint the certificate's
	// SHA-1 thumbprint as Entra shows it, ExpiresAt its NotAfter.
	CredentialCertificate = "certificate"
)

// Credential is a stored Entra app credential. The client secret or the
// certificate's private key is only in SecretSealed (see internal/secret);
// nothing here prints it.
type Credential struct {
	ID           int64      `db:"id" json:"id"`
	TenantID     string     `db:"tenant_id" json:"tenant_id"`
	ClientID     string     `db:"client_id" json:"client_id"`
	Kind         string     `db:"kind" json:"kind"` // CredentialSecret or CredentialCertificate
	SecretSealed string     `db:"secret_sealed" json:"-"`
	SecretHint   string     `db:"secret_hint" json:"secret_hint"`
	ExpiresAt    *time.Time `db:"expires_at" json:"expires_at,omitempty"`
	Active       bool       `db:"active" json:"active"`
	CreatedAt    time.Time  `db:"created_at" json:"created_at"`
	LastOKAt     *time.Time `db:"last_ok_at" json:"last_ok_at,omitempty"`
	LastError    string     `db:"last_error" json:"last_error,omitempty"`
}

// SecretContext is the context a credential's secret is sealed with, so
// that a sealed secret cannot be moved to another tenant or app.
func SecretContext(tenantID, clientID string) string {
	return "credentials:" + tenantID + "/" + clientID
}

// IsCertificate reports whether the credential is a certificate.
func (c Credential) IsCertificate() bool { return c.Kind == CredentialCertificate }

// AddCredential stores a credential (a client secret unless Kind says
// otherwise). With replace, every other credential
// is deactivated (credentials set); without, the old ones stay usable until
// they fail or are removed (credentials rotate).
func (s *Store) AddCredential(ctx context.Context, c Credential, replace bool) (int64, error) {
	if c.Kind == "" {
		c.Kind = CredentialSecret
	}
	if c.Kind != CredentialSecret && c.Kind != CredentialCertificate {
		return 0, fmt.Errorf("store: credential kind %q: %w", c.Kind, ErrInvalid)
	}
	var id int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if replace {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE credentials SET active = ? WHERE active = ?`), false, true); err != nil {
				return fmt.Errorf("store: deactivating credentials: %w", err)
			}
		}
		err := tx.GetContext(ctx, &id, s.q(`
			INSERT INTO credentials (tenant_id, client_id, kind, secret_sealed, secret_hint, expires_at, active, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			c.TenantID, c.ClientID, c.Kind, c.SecretSealed, c.SecretHint, c.ExpiresAt, true, s.now())
		if err != nil {
			return fmt.Errorf("store: adding credential: %w", err)
		}
		return nil
	})
	return id, err
}

// ActiveCredentials lists the active credentials, newest first (the order
// in which they are tried).
func (s *Store) ActiveCredentials(ctx context.Context) ([]Credential, error) {
	var out []Credential
	err := s.db.SelectContext(ctx, &out, s.q(`SELECT * FROM credentials WHERE active = ? ORDER BY created_at DESC, id DESC`), true)
	if err != nil {
		return nil, fmt.Errorf("store: credentials: %w", err)
	}
	return out, nil
}

// RecordCredentialResult notes whether a credential worked (nil error) or why not.
func (s *Store) RecordCredentialResult(ctx context.Context, id int64, result error) error {
	var err error
	if result == nil {
		_, err = s.db.ExecContext(ctx, s.q(`UPDATE credentials SET last_ok_at = ?, last_error = '' WHERE id = ?`), s.now(), id)
	} else {
		_, err = s.db.ExecContext(ctx, s.q(`UPDATE credentials SET last_error = ? WHERE id = ?`), result.Error(), id)
	}
	if err != nil {
		return fmt.Errorf("store: credential %d: %w", id, err)
	}
	return nil
}

// ResealCredential replaces a credential's sealed secret with the same
// secret sealed under another master key (after a master key rotation).
func (s *Store) ResealCredential(ctx context.Context, id int64, sealed string) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE credentials SET secret_sealed = ? WHERE id = ?`), sealed, id)
	if err != nil {
		return fmt.Errorf("store: reseal credential %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: no credential %d: %w", id, ErrNotFound)
	}
	return nil
}

// DeactivateCredential retires a credential (after its secret was deleted in
// Entra ID); it is kept for the record but never tried again.
func (s *Store) DeactivateCredential(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE credentials SET active = ? WHERE id = ? AND active = ?`), false, id, true)
	if err != nil {
		return fmt.Errorf("store: deactivate credential %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: no active credential %d: %w", id, ErrNotFound)
	}
	return nil
}
