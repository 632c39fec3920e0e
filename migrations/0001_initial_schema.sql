-- Up Migration
-- The gateway's own state. Append-only: later changes come as new numbered files, never edits to this one.

-- People the gateway may notify, projected from bookings or added by the preferences API.
CREATE TABLE users (
  user_id     text PRIMARY KEY,
  name        text,
  email       text,
  phone       text,                                -- E.164
  whatsapp_opt_in boolean NOT NULL DEFAULT true,
  locale      text NOT NULL DEFAULT 'en',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  erased_at   timestamptz                          -- set by erasure; the row stays for the audit trail
);

-- What a user narrowed from the default routing table. Absent keys mean "as the routing table says".
CREATE TABLE preferences (
  user_id          text PRIMARY KEY REFERENCES users (user_id) ON DELETE CASCADE,
  channels         jsonb NOT NULL DEFAULT '{}',    -- global switch per channel: {"sms": false}
  event_channels   jsonb NOT NULL DEFAULT '{}',    -- per event type: {"BOOKING_CONFIRMED": {"sms": false}}
  quiet_start      time,
  quiet_end        time,
  quiet_time_zone  text,                           -- IANA name
  updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Who travels on what: the recipients of a disruption.
CREATE TABLE itineraries (
  id              bigserial PRIMARY KEY,
  user_id         text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  pnr_number      text,
  vehicle_kind    text NOT NULL CHECK (vehicle_kind IN ('train', 'flight')),
  vehicle_number  text NOT NULL,
  journey_date    date,
  status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX itineraries_user_pnr ON itineraries (user_id, pnr_number) WHERE pnr_number IS NOT NULL;
CREATE INDEX itineraries_active_vehicle ON itineraries (vehicle_kind, vehicle_number, journey_date) WHERE status = 'active';

-- One row per <eventId>:<channel>:<userId>, claimed before the provider is called: never sent twice.
CREATE TABLE deliveries (
  id               bigserial PRIMARY KEY,
  idempotency_key  text NOT NULL UNIQUE,
  event_id         uuid NOT NULL,
  event_type       text NOT NULL,
  channel          text NOT NULL CHECK (channel IN ('email', 'sms', 'whatsapp', 'websocket')),
  user_id          text NOT NULL,
  status           text NOT NULL CHECK (status IN ('sending', 'sent', 'delivered', 'skipped', 'deferred',
                                                   'undelivered', 'failed', 'dead_lettered')),
  recipient        text,                           -- address used; masked by erasure
  subject          text,
  body             text,                           -- removed by erasure
  provider_id      text,                           -- SMTP message id, Twilio SM… sid, inbox id
  attempts         integer NOT NULL DEFAULT 0,
  error_code       text,
  error_message    text,
  lease_until      timestamptz,                    -- a 'sending' claim past this is taken to have crashed
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deliveries_user ON deliveries (user_id, created_at);
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_provider ON deliveries (provider_id) WHERE provider_id IS NOT NULL;

-- Every attempt and its outcome, for the history of a delivery.
CREATE TABLE delivery_attempts (
  id             bigserial PRIMARY KEY,
  delivery_id    bigint NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  attempt        integer NOT NULL,
  status         text NOT NULL,
  provider_id    text,
  error_code     text,
  error_message  text,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id);

-- Index of what reached a dead-letter topic, for the admin API to list, inspect and replay.
CREATE TABLE dead_letters (
  id                  bigserial PRIMARY KEY,
  channel             text NOT NULL,
  event_id            uuid,
  event_type          text,
  user_id             text,
  idempotency_key     text,
  original_topic      text NOT NULL,
  original_partition  integer,
  original_offset     text,
  original_key        text,
  consumer_group      text,
  attempts            integer NOT NULL DEFAULT 0,
  first_failed_at     timestamptz NOT NULL DEFAULT now(),
  last_failed_at      timestamptz NOT NULL DEFAULT now(),
  error_class         text NOT NULL,               -- 'permanent' or 'exhausted'
  error_code          text,
  error_message       text,
  payload             jsonb,                       -- the record, for replay; masked by erasure
  status              text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'replayed', 'discarded')),
  replayed_at         timestamptz,
  replay_result       text,
  created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_listing ON dead_letters (channel, status, id);

-- Live alerts as stored for the web: a client that reconnects asks for everything after the last id it saw.
CREATE TABLE inbox (
  id          bigserial PRIMARY KEY,
  user_id     text NOT NULL,
  event_id    uuid NOT NULL,
  event_type  text NOT NULL,
  payload     jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, event_id)
);
CREATE INDEX inbox_user_after ON inbox (user_id, id);
