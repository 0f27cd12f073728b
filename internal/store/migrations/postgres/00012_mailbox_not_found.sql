-- +goose Up
-- Mailboxes that Graph does not resolve (issue 13 item 3): 404
-- ErrorInvalidUser marks the mailbox not_found since not_found_at, with
-- Graph's words in last_error, and it is re-checked with the same back-off
-- as access denied (access_check_at, access_checks). graph_user is the
-- user's ID that the connector found for an exchange_mailbox that is a mail
-- address but not the UPN (Graph paths take only the ID or the UPN);
-- graph_user_for is the address it was found for, so that a changed
-- exchange_mailbox never uses a stale ID.
ALTER TABLE mailbox_states ADD COLUMN not_found_at TIMESTAMPTZ NULL;
ALTER TABLE mailbox_states ADD COLUMN graph_user TEXT NOT NULL DEFAULT '';
ALTER TABLE mailbox_states ADD COLUMN graph_user_for TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE mailbox_states DROP COLUMN graph_user_for;
ALTER TABLE mailbox_states DROP COLUMN graph_user;
ALTER TABLE mailbox_states DROP COLUMN not_found_at;
