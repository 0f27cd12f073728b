-- +goose Up
-- The change log behind the CRM's feed and webhooks (DESIGN §11): one row per
-- change of an activity, written in the transaction that made the change.
-- SQLite has one writer at a time (immediate transactions), so seq order is
-- commit order; tx_id stays 0 and exists so that cursors look alike on both
-- databases.
CREATE TABLE activity_changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    tx_id       BIGINT NOT NULL DEFAULT 0,
    kind        TEXT NOT NULL CHECK (kind IN ('activity.created', 'activity.updated', 'document.filed')),
    activity_id BIGINT NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    document_id BIGINT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX activity_changes_activity ON activity_changes (activity_id);
INSERT INTO activity_changes (kind, activity_id, created_at)
    SELECT 'activity.created', id, created_at FROM activities ORDER BY id;

-- +goose Down
DROP TABLE activity_changes;
