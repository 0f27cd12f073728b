-- +goose Up
-- Hidden folders (system folders without a well-known name) are not synced.
ALTER TABLE folders ADD COLUMN hidden BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE folders DROP COLUMN hidden;
