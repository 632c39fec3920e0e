-- Up Migration
-- Inbox state: when the person read an alert (null: unread). The unread count is asked for on every page load.
ALTER TABLE inbox ADD COLUMN read_at timestamptz;
CREATE INDEX inbox_unread ON inbox (user_id) WHERE read_at IS NULL;
