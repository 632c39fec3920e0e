-- Up Migration
-- Twilio answers a create with 'queued': the ledger keeps the provider's own status until its callbacks move it on.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check CHECK (status IN (
  'sending', 'queued', 'sent', 'delivered', 'skipped', 'deferred', 'undelivered', 'failed', 'dead_lettered'));
