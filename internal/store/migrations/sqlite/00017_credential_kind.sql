-- +goose Up
-- A credential is a client secret or a certificate (issue 13): kind says
-- which. For a certificate, secret_sealed holds the certificate and its
-- private key (PEM) sealed like a secret, secret_hint its SHA-1 thumbprint
-- as Entra shows it, and expires_at its NotAfter.
ALTER TABLE credentials ADD COLUMN kind TEXT NOT NULL DEFAULT 'secret';

-- +goose Down
ALTER TABLE credentials DROP COLUMN kind;
