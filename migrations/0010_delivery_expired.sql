-- Up Migration
-- A notice that is no use once the journey has begun is never sent late: one not sent by its "useful until" (the
-- departure plus a grace) is recorded 'expired'.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check CHECK (status IN (
  'sending', 'queued', 'sent', 'delivered', 'skipped', 'deferred', 'undelivered', 'failed', 'dead_lettered', 'expired'));
