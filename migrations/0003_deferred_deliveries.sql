-- Up Migration
-- Quiet hours: an SMS or WhatsApp held until the person's window ends waits here, rendered, as a 'deferred' delivery.
ALTER TABLE deliveries ADD COLUMN deliver_after timestamptz;
CREATE INDEX deliveries_due ON deliveries (deliver_after) WHERE status = 'deferred';
