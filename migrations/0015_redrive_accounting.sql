-- Up Migration
-- Re-drives an operator can account for and stop. Each job says who started it and from where, what it was asked to
-- include (discarded dead letters and permanent failures are left alone unless named), and how it ended: a cancel,
-- an api stopping, a job with no progress, or a process that died with it (no heartbeat) all end it, never 'running'.
ALTER TABLE redrive_jobs DROP CONSTRAINT redrive_jobs_status_check;
ALTER TABLE redrive_jobs ADD CONSTRAINT redrive_jobs_status_check
  CHECK (status IN ('running', 'done', 'failed', 'cancelled'));
ALTER TABLE redrive_jobs
  ADD COLUMN actor          text NOT NULL DEFAULT 'admin',  -- the one shared admin token has no names yet
  ADD COLUMN client_address text,
  ADD COLUMN heartbeat_at   timestamptz NOT NULL DEFAULT now();
CREATE INDEX redrive_jobs_running ON redrive_jobs (heartbeat_at) WHERE status = 'running';

-- What a re-drive asks of each event and channel: the ledger's rows and the dead letters of that event.
CREATE INDEX dead_letters_event ON dead_letters (event_id, channel) WHERE event_id IS NOT NULL;
-- GET /admin/events/:eventId pages one event's deliveries by id.
CREATE INDEX deliveries_event_page ON deliveries (event_id, id);
