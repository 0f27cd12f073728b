-- +goose Up
-- What the attachment layout needs to know about filed files: the thread
-- (subject.Key of the base subject), the mail they came with, its date and sender.
ALTER TABLE documents ADD COLUMN thread_key TEXT NOT NULL DEFAULT '';
ALTER TABLE documents ADD COLUMN mail_date TIMESTAMP NULL;
ALTER TABLE documents ADD COLUMN sender TEXT NOT NULL DEFAULT '';
CREATE INDEX documents_thread ON documents (customer_id, thread_key);

-- +goose Down
DROP INDEX documents_thread;
ALTER TABLE documents DROP COLUMN sender;
ALTER TABLE documents DROP COLUMN mail_date;
ALTER TABLE documents DROP COLUMN thread_key;
