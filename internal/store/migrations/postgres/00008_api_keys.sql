-- +goose Up
-- Keys of the CRM integration API (DESIGN §11). Only the SHA-256 of a token
-- is stored; prefix is the token's first characters after "dcx_", shown by
-- `connector apikey list` and used to find the row before the hash is
-- compared in constant time.
CREATE TABLE api_keys (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    prefix       TEXT NOT NULL UNIQUE,
    token_sha256 TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NULL,
    revoked_at   TIMESTAMPTZ NULL
);

-- +goose Down
DROP TABLE api_keys;
