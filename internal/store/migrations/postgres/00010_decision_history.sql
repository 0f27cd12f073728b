-- +goose Up
-- The history of a decision (issue 14 item 8): what happened to a message
-- and when — decided, decided again, moved, attachments filed or not,
-- imported retroactively after a master-data change — one row per event.
-- The unique key makes an event idempotent: a task that runs again (a retry,
-- a redelivery) records nothing new, because it writes the same dedupe token.
CREATE TABLE decision_events (
    id               BIGSERIAL PRIMARY KEY,
    employee_id      BIGINT NOT NULL,
    graph_message_id TEXT NOT NULL,
    at               TIMESTAMPTZ NOT NULL,
    kind             TEXT NOT NULL,
    dedupe           TEXT NOT NULL DEFAULT '',
    detail           TEXT NOT NULL DEFAULT '{}',
    UNIQUE (employee_id, graph_message_id, kind, dedupe)
);

-- Retroactive matching (issue 12) decides ignored messages again from what
-- the decision stored. candidates holds the addresses after the drops of
-- rule 3, which is not enough for an 'internal' decision (it has none):
-- raw_candidates keeps every normalised SMTP candidate before those drops.
-- NULL for decisions made before this migration (unknown).
ALTER TABLE decisions ADD COLUMN raw_candidates TEXT NULL;

-- The rematch scan: ignored decisions whose reason a change can affect, in
-- keyset order.
CREATE INDEX decisions_rematch ON decisions (created_at, id)
    WHERE outcome = 'ignored' AND reason IN ('no_match', 'ignored_domain', 'internal');
-- Filing events find the decision of an activity.
CREATE INDEX decisions_activity ON decisions (activity_id);

-- +goose Down
DROP INDEX decisions_activity;
DROP INDEX decisions_rematch;
ALTER TABLE decisions DROP COLUMN raw_candidates;
DROP TABLE decision_events;
