-- Up Migration
-- Contact details and message bodies are stored sealed (AES-256-GCM under DATA_ENCRYPTION_KEYS, src/util/field-cipher.ts):
-- users' name, email and phone, the ledger's recipient, subject and body, the inbox's alerts and the dead letters'
-- records. What statements must still find without the key is kept beside them in the clear or by keyed hash:
--   users.phone_hash            HMAC-SHA256 of the E.164 number (DATA_HASH_KEY): the owners of a number that replied STOP;
--   dead_letters.event_user_id  the userId the held record names: erasure finds a poison booking of the person's by it.
-- Rows written before this are sealed (and phone_hash filled) by the gateway's resealer once it starts
-- (src/store/resealer.ts): a statement here cannot know the keys. Until then they are read as they are.
ALTER TABLE users ADD COLUMN phone_hash text;
CREATE INDEX users_phone_hash ON users (phone_hash) WHERE phone_hash IS NOT NULL;

ALTER TABLE dead_letters ADD COLUMN event_user_id text;
UPDATE dead_letters SET event_user_id = payload->>'userId' WHERE jsonb_typeof(payload) = 'object';
