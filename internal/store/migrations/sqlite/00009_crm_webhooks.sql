-- +goose Up
-- Webhooks to the CRM (DESIGN §11). An endpoint receives thin, signed events
-- of the kinds it subscribed to (events: comma-separated change kinds);
-- secret_sealed is its signing secret encrypted under the master key
-- (internal/secret), like the client secret. failing_since, last_error and
-- last_success_at are the delivery state the status page and the alert read.
CREATE TABLE webhook_endpoints (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    url             TEXT NOT NULL UNIQUE,
    events          TEXT NOT NULL,
    secret_sealed   TEXT NOT NULL,
    allow_private   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMP NOT NULL,
    last_success_at TIMESTAMP NULL,
    failing_since   TIMESTAMP NULL,
    last_error      TEXT NOT NULL DEFAULT ''
);

-- The dispatcher's position in activity_changes: every change up to it has
-- its delivery tasks enqueued. One row.
CREATE TABLE webhook_dispatch (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    cursor_tx  BIGINT NOT NULL,
    cursor_seq BIGINT NOT NULL,
    updated_at TIMESTAMP NULL
);
INSERT INTO webhook_dispatch (id, cursor_tx, cursor_seq) VALUES (1, 0, 0);

-- +goose Down
DROP TABLE webhook_dispatch;
DROP TABLE webhook_endpoints;
