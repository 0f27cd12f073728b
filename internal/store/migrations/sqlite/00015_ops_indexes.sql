-- +goose Up
-- /ops at 10,000 mailboxes and 1,000,000 decisions (issue 15): no page reads
-- every decision.
-- The mailbox table counts the decisions of the 50 mailboxes it shows per
-- outcome and reason: from this index alone.
CREATE INDEX decisions_mailbox_outcome ON decisions (employee_id, outcome, reason);
-- The decision list, newest first, pages in (created_at, id) order, with or
-- without an outcome filter; (created_at, id) serves every query the index
-- on created_at alone did.
CREATE INDEX decisions_recent ON decisions (created_at, id);
CREATE INDEX decisions_outcome_recent ON decisions (outcome, created_at, id);
DROP INDEX decisions_created_at;
-- A search by Graph message ID alone (decisions_message leads with the
-- mailbox).
CREATE INDEX decisions_graph_message_id ON decisions (graph_message_id);

-- +goose Down
CREATE INDEX decisions_created_at ON decisions (created_at);
DROP INDEX decisions_graph_message_id;
DROP INDEX decisions_outcome_recent;
DROP INDEX decisions_recent;
DROP INDEX decisions_mailbox_outcome;
