-- +goose Up
-- The charts of /ops (issue 15): decisions per hour by outcome and reason,
-- and the time from a change notification to the stored decision (with its
-- activity, in the same transaction), as a histogram per hour. One row per
-- hour, outcome, reason and latency bucket, counted up in RecordMessage's
-- transaction whenever a message is decided for the first time or its
-- outcome or reason changes, so that the page reads a few thousand rows
-- however many decisions there are.
-- latency_le_ms is the bucket's upper bound in milliseconds; -1: not from a
-- notification (delta, backfill, rematch); 9223372036854775807: above the
-- largest bound. shard spreads the counts of one hour over 4 rows (the
-- mailbox's employee ID modulo 4), so that concurrent workers storing
-- decisions do not all wait for the same row lock; readers sum the shards.
CREATE TABLE decision_hours (
    hour          TIMESTAMP NOT NULL,
    outcome       TEXT NOT NULL,
    reason        TEXT NOT NULL,
    latency_le_ms BIGINT NOT NULL,
    shard         INTEGER NOT NULL DEFAULT 0,
    n             BIGINT NOT NULL,
    PRIMARY KEY (hour, outcome, reason, latency_le_ms, shard)
) WITHOUT ROWID; -- the rows lie in key order: a range reads no second b-tree

-- The last week of decisions made before this migration, without latency.
-- Times are stored as Go writes them (_time_format=sqlite, UTC):
-- "2006-01-02 15:00:00+00:00" for a whole hour.
INSERT INTO decision_hours (hour, outcome, reason, latency_le_ms, n)
SELECT strftime('%Y-%m-%d %H:00:00+00:00', created_at), outcome, reason, -1, COUNT(*)
FROM decisions WHERE created_at >= strftime('%Y-%m-%d %H:%M:%S+00:00', 'now', '-7 days')
GROUP BY 1, outcome, reason;

-- +goose Down
DROP TABLE decision_hours;
