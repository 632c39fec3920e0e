-- Up Migration
-- A partner's status webhook reports only on its own travellers. A booking's deliveries concern the booking's sender
-- alone; a disruption's concern everyone on the flight or train, whoever sold them their ticket, so its notices go to
-- the disruption's sender only for the travellers whose itinerary came through that same key. Everyone else is left
-- out of that partner's notices altogether (not even counted).

-- Which key's booking made (or last rewrote) the itinerary: NULL for one a user added themselves, or one from a key
-- that had no webhook when the booking came (its source was not noted then).
ALTER TABLE itineraries ADD COLUMN source_key_digest text;
CREATE INDEX itineraries_user_source ON itineraries (user_id) WHERE source_key_digest IS NOT NULL;

-- What a disruption was about, noted with its sender: the trigger matches it against the travellers' itineraries.
ALTER TABLE event_sources
  ADD COLUMN vehicle_kind text,
  ADD COLUMN vehicle_number text,
  ADD COLUMN journey_date date;

-- Whether a delivery (of an event of `kind`, to `traveller`) concerns the key `noted` as the event's sender: a
-- booking's always; a disruption's only when the traveller holds an active itinerary on that vehicle (and date) that
-- came through the key.
CREATE FUNCTION delivery_concerns_source(kind text, traveller text, noted event_sources) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT kind <> 'TRAVEL_DISRUPTION' OR EXISTS (
    SELECT 1 FROM itineraries i
     WHERE i.user_id = traveller AND i.source_key_digest = noted.key_digest AND i.status = 'active'
       AND i.vehicle_kind = noted.vehicle_kind AND i.vehicle_number = noted.vehicle_number
       AND (noted.journey_date IS NULL OR i.journey_date IS NULL OR i.journey_date = noted.journey_date))
$$;

CREATE OR REPLACE FUNCTION note_delivery_statuses() RETURNS trigger LANGUAGE plpgsql AS $$
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
       AND delivery_concerns_source(n.event_type, n.user_id, s)
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
       AND delivery_concerns_source(n.event_type, n.user_id, s)
     ORDER BY n.id;
  END IF;
  RETURN NULL;
END $$;
