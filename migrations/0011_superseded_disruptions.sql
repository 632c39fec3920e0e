-- Up Migration
-- The newest disruption seen per flight or train, date and type: an older one not yet delivered (waiting on a retry,
-- behind a backlog) is replaced by it, and its deliveries are recorded 'superseded'. journey_date '' means "no date".
CREATE TABLE latest_disruptions (
  vehicle_kind     text NOT NULL,
  vehicle_number   text NOT NULL,
  journey_date     text NOT NULL,
  disruption_type  text NOT NULL,
  event_id         uuid NOT NULL,
  event_timestamp  timestamptz NOT NULL,
  PRIMARY KEY (vehicle_kind, vehicle_number, journey_date, disruption_type)
);
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check CHECK (status IN (
  'sending', 'queued', 'sent', 'delivered', 'skipped', 'deferred', 'undelivered', 'failed', 'dead_lettered', 'expired',
  'superseded'));
