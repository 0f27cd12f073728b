-- +goose Up
-- The change log behind the CRM's feed and webhooks (DESIGN §11): one row per
-- change of an activity, written in the transaction that made the change.
-- tx_id is the writing transaction's ID. A reader only reads rows whose
-- transaction ID lies below the oldest transaction still running
-- (pg_snapshot_xmin), so a row can never appear behind a cursor that was
-- handed out: sequence numbers are taken before commit, transaction IDs of
-- later writers are always at or above that horizon.
CREATE TABLE activity_changes (
    seq         BIGSERIAL PRIMARY KEY,
    tx_id       XID8 NOT NULL DEFAULT pg_current_xact_id(),
    kind        TEXT NOT NULL CHECK (kind IN ('activity.created', 'activity.updated', 'document.filed')),
    activity_id BIGINT NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    document_id BIGINT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX activity_changes_position ON activity_changes (tx_id, seq);
CREATE INDEX activity_changes_activity ON activity_changes (activity_id);
-- Activities stored before the log existed enter it once, so a new client
-- reading from the beginning sees every activity.
INSERT INTO activity_changes (kind, activity_id, created_at)
    SELECT 'activity.created', id, created_at FROM activities ORDER BY id;

-- +goose Down
DROP TABLE activity_changes;
