-- +goose Up
-- Access denied is re-checked on its own (issue 13 item 2): policy changes
-- take over an hour at Microsoft, so a mailbox denied today may be readable
-- later. access_check_at is when to try again, access_checks how often it
-- was tried (the back-off grows from 15 min to 2 h with it).
ALTER TABLE mailbox_states ADD COLUMN access_check_at TIMESTAMP NULL;
ALTER TABLE mailbox_states ADD COLUMN access_checks INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE mailbox_states DROP COLUMN access_checks;
ALTER TABLE mailbox_states DROP COLUMN access_check_at;
