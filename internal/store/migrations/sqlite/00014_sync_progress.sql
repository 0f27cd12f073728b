-- +goose Up
-- Progress of a mailbox's first sync (issue 15, "Progress on long work"):
-- one row per mailbox, written per delta/list page and per finished folder
-- (not per message). finished_at is NULL while a first sync runs; the
-- partial index keeps "first syncs in progress" bounded however many
-- mailboxes there are. messages_done counts the messages of finished
-- folders, so that a resumed sync (the unfinished folder starts over)
-- goes back to it instead of counting that folder twice. items_* are the
-- sums of Graph's totalItemCount of the folders (all their mail, not only
-- the backfill window): the base of the estimate of what is left.
CREATE TABLE sync_progress (
    employee_id   BIGINT PRIMARY KEY REFERENCES employees (id),
    started_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP NULL,
    folders_total INTEGER NOT NULL DEFAULT 0,
    folders_done  INTEGER NOT NULL DEFAULT 0,
    messages_seen BIGINT NOT NULL DEFAULT 0,
    messages_done BIGINT NOT NULL DEFAULT 0,
    items_total   BIGINT NOT NULL DEFAULT 0,
    items_done    BIGINT NOT NULL DEFAULT 0,
    folder        TEXT NOT NULL DEFAULT '',
    last_error    TEXT NOT NULL DEFAULT '',
    last_error_at TIMESTAMP NULL
);
CREATE INDEX sync_progress_running ON sync_progress (started_at, employee_id) WHERE finished_at IS NULL;

-- Graph's totalItemCount of each folder, read with the folder tree.
ALTER TABLE folders ADD COLUMN item_count BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE folders DROP COLUMN item_count;
DROP TABLE sync_progress;
