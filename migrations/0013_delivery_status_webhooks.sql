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

-- Statement triggers, one run per statement over the rows it changed: the ledger writes in batches (one statement for
-- many deliveries), and with no webhook registered at all a statement costs one look at an empty table.
CREATE FUNCTION note_delivery_statuses() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM status_webhooks) THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    INSERT INTO status_webhook_outbox (webhook_id, delivery_id, status, error_code)
    SELECT w.id, n.id, reported_delivery_status(n.status), n.error_code
      FROM changed n
      JOIN event_sources s ON s.event_id = n.event_id
      JOIN status_webhooks w ON w.key_digest = s.key_digest
     WHERE reported_delivery_status(n.status) = ANY (w.statuses)
     ORDER BY n.id;
  ELSE
    -- 'queued' then 'sent' is one report, not two; a row whose status did not move reports nothing.
    INSERT INTO status_webhook_outbox (webhook_id, delivery_id, status, error_code)
    SELECT w.id, n.id, reported_delivery_status(n.status), n.error_code
      FROM changed n
      JOIN previous o ON o.id = n.id
      JOIN event_sources s ON s.event_id = n.event_id
      JOIN status_webhooks w ON w.key_digest = s.key_digest
     WHERE reported_delivery_status(n.status) IS DISTINCT FROM reported_delivery_status(o.status)
       AND reported_delivery_status(n.status) = ANY (w.statuses)
     ORDER BY n.id;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER deliveries_inserted_webhooks AFTER INSERT ON deliveries
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION note_delivery_statuses();
CREATE TRIGGER deliveries_updated_webhooks AFTER UPDATE ON deliveries
  REFERENCING OLD TABLE AS previous NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION note_delivery_statuses();
