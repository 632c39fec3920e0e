-- Up Migration
-- A quiet-hours delivery whose sender died mid-send stays 'sending' past its lease; the deferred sender looks for
-- those beside the due 'deferred' ones, and this keeps that look as cheap as the first.
CREATE INDEX deliveries_deferred_stale ON deliveries (lease_until) WHERE status = 'sending' AND deliver_after IS NOT NULL;

