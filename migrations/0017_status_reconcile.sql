-- Up Migration
-- A status callback can be lost (Twilio does not post a failed one again): an SMS or WhatsApp delivery still 'queued'
-- or 'sent' a while after its last change is asked about at the provider. status_checked_at: when it last was, so a
-- row is asked by one worker at a time, and less often each time it is still without news.
ALTER TABLE deliveries ADD COLUMN status_checked_at timestamptz;
CREATE INDEX deliveries_unsettled ON deliveries (updated_at)
  WHERE status IN ('queued', 'sent') AND channel IN ('sms', 'whatsapp') AND provider_id IS NOT NULL;
