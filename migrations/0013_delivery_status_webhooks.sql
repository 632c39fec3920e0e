-- Up Migration
-- Outbound delivery status: an operator registers a webhook per ingest API key (stored as its SHA-256 digest, never
-- the key), and each status change of a delivery of an event that key sent is posted to it, signed.
CREATE TABLE status_webhooks (
  id                    bigserial PRIMARY KEY,
  key_digest            text NOT NULL,
  key_hint              text NOT NULL,
  url                   text NOT NULL,
  secret                text NOT NULL,
  statuses              text[] NOT NULL,
  created_at            timestamptz NOT NULL DEFAULT now(),
  last_success_at       timestamptz,
  last_failure_at       timestamptz,
  last_error            text,
  consecutive_failures  integer NOT NULL DEFAULT 0
);
CREATE INDEX status_webhooks_key ON status_webhooks (key_digest);

-- Which API key sent an event: written by the api at ingestion, only for keys that have a webhook.
CREATE TABLE event_sources (
  event_id    uuid PRIMARY KEY,
  key_digest  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_sources_age ON event_sources (created_at);

-- Status changes waiting to be handed to the job queue that posts them. Written by the trigger below in the same
-- transaction as the change itself, so a change is never recorded without its notice, nor a notice without it.
CREATE TABLE status_webhook_outbox (
  id           bigserial PRIMARY KEY,
  webhook_id   bigint NOT NULL REFERENCES status_webhooks (id) ON DELETE CASCADE,
  delivery_id  bigint NOT NULL,
  status       text NOT NULL,
  error_code   text,
  occurred_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The statuses a webhook hears of, from the ledger's own: the provider took it ('queued' and 'sent' alike), the
-- handset has it, the provider or the handset failed it, or it went to the dead letters.
CREATE FUNCTION reported_delivery_status(ledger_status text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE ledger_status
    WHEN 'queued' THEN 'sent' WHEN 'sent' THEN 'sent' WHEN 'delivered' THEN 'delivered'
    WHEN 'undelivered' THEN 'failed' WHEN 'failed' THEN 'failed' WHEN 'dead_lettered' THEN 'dead_lettered' END
$$;

CREATE FUNCTION note_delivery_status() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  reported text := reported_delivery_status(NEW.status);
BEGIN
  -- 'queued' then 'sent' is one report, not two.
  IF TG_OP = 'UPDATE' AND reported_delivery_status(OLD.status) IS NOT DISTINCT FROM reported THEN
    RETURN NULL;
  END IF;
  INSERT INTO status_webhook_outbox (webhook_id, delivery_id, status, error_code)
  SELECT w.id, NEW.id, reported, NEW.error_code
    FROM event_sources s JOIN status_webhooks w ON w.key_digest = s.key_digest
   WHERE s.event_id = NEW.event_id AND reported = ANY (w.statuses);
  RETURN NULL;
END $$;

CREATE TRIGGER deliveries_status_webhooks AFTER INSERT OR UPDATE OF status ON deliveries
  FOR EACH ROW WHEN (NEW.status IN ('queued', 'sent', 'delivered', 'undelivered', 'failed', 'dead_lettered'))
  EXECUTE FUNCTION note_delivery_status();
