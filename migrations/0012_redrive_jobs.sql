-- Up Migration
-- Re-drives from the retained Kafka log (POST /admin/redrive): what was asked, how far it got, and what it did.
-- In PostgreSQL, so that any api node answers GET /admin/redrive/:id.
CREATE TABLE redrive_jobs (
  id           bigserial PRIMARY KEY,
  request      jsonb NOT NULL,
  dry_run      boolean NOT NULL,
  status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
  progress     jsonb NOT NULL DEFAULT '{}',
  outcomes     jsonb NOT NULL DEFAULT '{}',
  error        text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);
