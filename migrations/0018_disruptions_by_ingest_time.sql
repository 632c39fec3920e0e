-- Up Migration
-- Which disruption is newer is decided by when the gateway took it in (the Kafka record's time), never by the sender's
-- eventTimestamp: a notice stamped in the future (2099, or a partner clock an hour fast) silenced every real one.
-- Rows written before hold the senders' timestamps; they are compared with ingest times until newer notices replace
-- them, and none of them may be later than now, or a future-stamped one would go on winning until its date.
ALTER TABLE latest_disruptions RENAME COLUMN event_timestamp TO ingested_at;
UPDATE latest_disruptions SET ingested_at = now() WHERE ingested_at > now();
-- A dead letter keeps when its record was first taken in, so that a replay is as old as the notice it carries.
-- NULL for the entries written before: a replay of one counts from its first failure.
ALTER TABLE dead_letters ADD COLUMN original_ingested_at timestamptz;
