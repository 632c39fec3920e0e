-- Up Migration
-- Every SMS and WhatsApp message brings two or three status callbacks, each an update of status, error_code and
-- updated_at. PostgreSQL updates a row in place (HOT: no new index entry anywhere) only when no index names a changed
-- column, as a key or in its predicate; here three did, so each callback wrote a new entry into every index of
-- `deliveries`. What those three indexes found is now found without them:
--
-- 1. Messages still awaiting the provider's final word (for the reconciler, which asks the provider about those whose
--    callbacks were lost) are listed in `unsettled_sends`: a send adds its row, the final word removes it.
-- 2. Deliveries held for quiet hours are found by deliver_after alone. The ledger clears deliver_after when a held
--    delivery settles, so the index holds only those still held or being sent.
-- 3. Pages are filled to 70 %, leaving a row room on its own page for the versions its callbacks write.

CREATE TABLE unsettled_sends (
  delivery_id  bigint PRIMARY KEY,
  sent_at      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO unsettled_sends (delivery_id, sent_at)
SELECT id, updated_at FROM deliveries
 WHERE status IN ('queued', 'sent') AND channel IN ('sms', 'whatsapp') AND provider_id IS NOT NULL;
DROP INDEX deliveries_unsettled;

UPDATE deliveries SET deliver_after = NULL WHERE deliver_after IS NOT NULL AND status NOT IN ('deferred', 'sending');
DROP INDEX deliveries_due;
DROP INDEX deliveries_deferred_stale;
CREATE INDEX deliveries_held ON deliveries (deliver_after) WHERE deliver_after IS NOT NULL;

ALTER TABLE deliveries SET (fillfactor = 70);

-- 4. The status webhooks' statement triggers run only while a webhook is registered. Even a trigger that returns at
--    once has had every changed row copied into its transition tables first: about a third of a status callback
--    statement's cost. Registering the first webhook enables them and removing the last disables them, in the same
--    transaction, so no change is written without its notice once a webhook's registration has committed. The lock
--    is taken before looking, so two registrations at once cannot leave the triggers in the state the other undid.
CREATE FUNCTION sync_status_webhook_triggers() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  wanted boolean;
  enabled boolean;
BEGIN
  LOCK TABLE deliveries IN SHARE ROW EXCLUSIVE MODE;
  wanted := EXISTS (SELECT 1 FROM status_webhooks);
  SELECT tgenabled <> 'D' INTO enabled FROM pg_trigger
   WHERE tgrelid = 'deliveries'::regclass AND tgname = 'deliveries_updated_webhooks';
  IF wanted AND NOT enabled THEN
    ALTER TABLE deliveries ENABLE TRIGGER deliveries_inserted_webhooks, ENABLE TRIGGER deliveries_updated_webhooks;
  ELSIF enabled AND NOT wanted THEN
    -- Left enabled where the statement that removed the last webhook also uses deliveries (a TRUNCATE of both):
    -- enabled triggers only cost, while disabled ones with a webhook registered would lose its notices.
    BEGIN
      ALTER TABLE deliveries DISABLE TRIGGER deliveries_inserted_webhooks, DISABLE TRIGGER deliveries_updated_webhooks;
    EXCEPTION WHEN object_in_use THEN
      NULL;
    END;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER status_webhooks_sync_triggers AFTER INSERT OR DELETE OR TRUNCATE ON status_webhooks
  FOR EACH STATEMENT EXECUTE FUNCTION sync_status_webhook_triggers();

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM status_webhooks) THEN
    ALTER TABLE deliveries DISABLE TRIGGER deliveries_inserted_webhooks, DISABLE TRIGGER deliveries_updated_webhooks;
  END IF;
END $$;
