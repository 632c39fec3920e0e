-- Up Migration
-- A number that replied STOP is found by a keyed hash of it (HMAC-SHA256 with DATA_HASH_KEY, hex), never stored as
-- it is: the table says which numbers opted out only to whoever holds the key. Rows written before this hold the
-- E.164 number itself (it starts with '+', a hash never does); the gateway replaces each with its hash when it starts
-- (store/opt-outs.repository.ts, hashStoredNumbers), as a statement here cannot know the key.
ALTER TABLE phone_opt_outs RENAME COLUMN phone TO phone_hash;
