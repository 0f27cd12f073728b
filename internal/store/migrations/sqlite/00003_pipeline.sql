-- +goose Up
-- One decision per message and mailbox: reprocessing (a retry, a redelivery,
-- a draft that was sent) updates it, so it always answers with the latest.
DROP INDEX decisions_message;
CREATE UNIQUE INDEX decisions_message ON decisions (employee_id, graph_message_id);
-- At most one live subscription row per mailbox.
CREATE UNIQUE INDEX subscriptions_one_per_employee ON subscriptions (employee_id);
DROP INDEX subscriptions_employee_id;

-- +goose Down
CREATE INDEX subscriptions_employee_id ON subscriptions (employee_id);
DROP INDEX subscriptions_one_per_employee;
DROP INDEX decisions_message;
CREATE INDEX decisions_message ON decisions (employee_id, graph_message_id);
