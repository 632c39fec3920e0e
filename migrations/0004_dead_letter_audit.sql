-- Up Migration
-- Who did what to a dead letter through the admin API. No foreign key: the trail outlives the entries it names, and a
-- bulk dry run names none.
CREATE TABLE dead_letter_audit (
  id              bigserial PRIMARY KEY,
  dead_letter_id  bigint,
  action          text NOT NULL CHECK (action IN ('replay', 'replay_dry_run', 'delete')),
  actor           text NOT NULL,                   -- 'admin': the one shared admin token has no names yet
  filter          jsonb,                           -- the bulk filter that selected the entry, if any
  result          text,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letter_audit_entry ON dead_letter_audit (dead_letter_id, id);
