-- +goose Up
-- Alert delivery: claimed_at marks the worker that is sending an alert's
-- e-mail (a lease, so that two workers never send the same mail and a
-- crashed sender is taken over later); attempts and last_error show on the
-- status page why an open alert was not sent yet.
ALTER TABLE alerts ADD COLUMN claimed_at TIMESTAMPTZ NULL;
ALTER TABLE alerts ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN last_error TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE alerts DROP COLUMN last_error;
ALTER TABLE alerts DROP COLUMN attempts;
ALTER TABLE alerts DROP COLUMN claimed_at;
