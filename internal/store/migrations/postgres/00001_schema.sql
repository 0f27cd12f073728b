-- +goose Up
-- CRM side: the part of DeDeSales the connector reads and writes.
-- *_norm columns hold addresses and domains in internal/address's canonical
-- form so that look-ups are indexed equality matches.
CREATE TABLE employees (
    id               BIGINT PRIMARY KEY,
    name             TEXT NOT NULL,
    email            TEXT NOT NULL DEFAULT '',
    email_norm       TEXT NOT NULL DEFAULT '',
    exchange_mailbox TEXT NULL,
    mailbox_norm     TEXT NULL,
    active           BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE INDEX employees_mailbox_norm ON employees (mailbox_norm);

CREATE TABLE customers (
    id          BIGINT PRIMARY KEY,
    number      TEXT NOT NULL DEFAULT '',
    name        TEXT NOT NULL,
    email       TEXT NOT NULL DEFAULT '',
    email_norm  TEXT NOT NULL DEFAULT '',
    domain_norm TEXT NOT NULL DEFAULT ''
);
CREATE INDEX customers_email_norm ON customers (email_norm);
CREATE INDEX customers_domain_norm ON customers (domain_norm);

CREATE TABLE customer_domains (
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    domain      TEXT NOT NULL,
    domain_norm TEXT NOT NULL,
    PRIMARY KEY (customer_id, domain_norm)
);
CREATE INDEX customer_domains_domain_norm ON customer_domains (domain_norm);

CREATE TABLE contacts (
    id          BIGINT PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    name        TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT '',
    email_norm  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX contacts_email_norm ON contacts (email_norm);
CREATE INDEX contacts_customer_id ON contacts (customer_id);

CREATE TABLE leads (
    id          BIGINT PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    title       TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL CHECK (status IN ('in_progress', 'deferred', 'won', 'lost', 'cancelled')),
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX leads_customer_id ON leads (customer_id, created_at, id);

CREATE TABLE opportunities (
    id          BIGINT PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    title       TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL CHECK (status IN ('in_progress', 'won', 'lost', 'cancelled')),
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX opportunities_customer_id ON opportunities (customer_id, created_at, id);

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- One activity per e-mail. dedupe_key is "imid:<internetMessageId>", or
-- "graph:<employee id>:<immutable id>" for a message without one.
CREATE TABLE activities (
    id                  BIGSERIAL PRIMARY KEY,
    customer_id         BIGINT NOT NULL REFERENCES customers (id),
    contact_id          BIGINT NULL REFERENCES contacts (id),
    lead_id             BIGINT NULL REFERENCES leads (id),
    opportunity_id      BIGINT NULL REFERENCES opportunities (id),
    direction           TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    subject             TEXT NOT NULL DEFAULT '',
    body_text           TEXT NOT NULL DEFAULT '',
    sent_at             TIMESTAMPTZ NULL,
    received_at         TIMESTAMPTZ NULL,
    internet_message_id TEXT NULL UNIQUE,
    dedupe_key          TEXT NOT NULL UNIQUE,
    conversation_id     TEXT NOT NULL DEFAULT '',
    rule                TEXT NOT NULL,
    matched_address     TEXT NOT NULL DEFAULT '',
    created_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX activities_customer_id ON activities (customer_id, created_at);

CREATE TABLE activity_mailboxes (
    activity_id      BIGINT NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    employee_id      BIGINT NOT NULL REFERENCES employees (id),
    graph_message_id TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (activity_id, employee_id, graph_message_id)
);

CREATE TABLE documents (
    id           BIGSERIAL PRIMARY KEY,
    customer_id  BIGINT NOT NULL REFERENCES customers (id),
    activity_id  BIGINT NULL REFERENCES activities (id),
    source_key   TEXT NOT NULL UNIQUE,
    path         TEXT NOT NULL,
    name         TEXT NOT NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    content_type TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX documents_activity_id ON documents (activity_id);

-- Connector state.

-- Several rows allow rotation without downtime; secret_sealed is encrypted
-- with the master key (internal/secret) and never leaves the process.
CREATE TABLE credentials (
    id            BIGSERIAL PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    secret_hint   TEXT NOT NULL,
    expires_at    TIMESTAMPTZ NULL,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL,
    last_ok_at    TIMESTAMPTZ NULL,
    last_error    TEXT NOT NULL DEFAULT ''
);

-- Operator decisions and health of a mailbox, beside the CRM's employee row.
CREATE TABLE mailbox_states (
    employee_id      BIGINT PRIMARY KEY REFERENCES employees (id),
    disabled         BOOLEAN NOT NULL DEFAULT FALSE,
    access_denied_at TIMESTAMPTZ NULL,
    last_error       TEXT NOT NULL DEFAULT '',
    last_sync_at     TIMESTAMPTZ NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE subscriptions (
    id                    BIGSERIAL PRIMARY KEY,
    employee_id           BIGINT NOT NULL REFERENCES employees (id),
    graph_subscription_id TEXT NOT NULL UNIQUE,
    resource              TEXT NOT NULL,
    expires_at            TIMESTAMPTZ NOT NULL,
    status                TEXT NOT NULL,
    last_notification_at  TIMESTAMPTZ NULL,
    last_error            TEXT NOT NULL DEFAULT '',
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX subscriptions_employee_id ON subscriptions (employee_id);

CREATE TABLE folders (
    employee_id     BIGINT NOT NULL REFERENCES employees (id),
    folder_id       TEXT NOT NULL,
    parent_id       TEXT NOT NULL DEFAULT '',
    well_known_name TEXT NOT NULL DEFAULT '',
    display_name    TEXT NOT NULL DEFAULT '',
    delta_link      TEXT NOT NULL DEFAULT '',
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (employee_id, folder_id)
);

-- One row per processed message: the answer to "why is this mail (not) in the CRM?".
CREATE TABLE decisions (
    id                  BIGSERIAL PRIMARY KEY,
    employee_id         BIGINT NOT NULL REFERENCES employees (id),
    graph_message_id    TEXT NOT NULL,
    internet_message_id TEXT NOT NULL DEFAULT '',
    folder              TEXT NOT NULL DEFAULT '',
    subject             TEXT NOT NULL DEFAULT '',
    direction           TEXT NOT NULL DEFAULT '',
    outcome             TEXT NOT NULL,
    reason              TEXT NOT NULL,
    rule                TEXT NOT NULL DEFAULT '',
    candidates          TEXT NOT NULL DEFAULT '[]',
    matched_address     TEXT NOT NULL DEFAULT '',
    customer_id         BIGINT NULL,
    contact_id          BIGINT NULL,
    lead_id             BIGINT NULL,
    opportunity_id      BIGINT NULL,
    ambiguous           BOOLEAN NOT NULL DEFAULT FALSE,
    activity_id         BIGINT NULL,
    note                TEXT NOT NULL DEFAULT '',
    created_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX decisions_message ON decisions (employee_id, graph_message_id);
CREATE INDEX decisions_internet_message_id ON decisions (internet_message_id);
CREATE INDEX decisions_created_at ON decisions (created_at);

-- What was sent when, so that each alert goes out once per condition.
CREATE TABLE alerts (
    id          BIGSERIAL PRIMARY KEY,
    kind        TEXT NOT NULL,
    subject_key TEXT NOT NULL,
    level       TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL DEFAULT '',
    opened_at   TIMESTAMPTZ NOT NULL,
    sent_at     TIMESTAMPTZ NULL,
    resolved_at TIMESTAMPTZ NULL,
    UNIQUE (kind, subject_key, level)
);

-- +goose Down
DROP TABLE alerts;
DROP TABLE decisions;
DROP TABLE folders;
DROP TABLE subscriptions;
DROP TABLE mailbox_states;
DROP TABLE credentials;
DROP TABLE documents;
DROP TABLE activity_mailboxes;
DROP TABLE activities;
DROP TABLE settings;
DROP TABLE opportunities;
DROP TABLE leads;
DROP TABLE contacts;
DROP TABLE customer_domains;
DROP TABLE customers;
DROP TABLE employees;
