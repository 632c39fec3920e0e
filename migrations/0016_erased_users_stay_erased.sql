-- Up Migration
-- An erased person's address, subject and message body are never written again, whichever statement tries: a send
-- that was already on its way when the erasure committed records its outcome (status, provider id) on a masked row,
-- and a live alert for them leaves no inbox row. Kept in the table's own triggers, so no writer can forget it.
--
-- Both functions are plpgsql, so under READ COMMITTED each look at `users` takes a fresh snapshot: a ledger write that
-- waited for the erasure's lock on its row (erasure masks the rows it finds) sees the committed tombstone. The inbox
-- look locks the users row (KEY SHARE) because erasure deletes inbox rows rather than updating them: an insert either
-- commits before erasure takes the users row (and is deleted by it) or waits and finds the tombstone.

CREATE FUNCTION mask_erased_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM users WHERE user_id = NEW.user_id AND erased_at IS NOT NULL) THEN
    NEW.recipient := NULL;
    NEW.subject := NULL;
    NEW.body := NULL;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER deliveries_mask_erased BEFORE INSERT OR UPDATE OF recipient, subject, body ON deliveries
  FOR EACH ROW WHEN (NEW.recipient IS NOT NULL OR NEW.subject IS NOT NULL OR NEW.body IS NOT NULL)
  EXECUTE FUNCTION mask_erased_delivery();

-- The row is locked before erased_at is looked at: a filter on it would pass over a row whose erasure is not yet
-- committed instead of waiting for it.
CREATE FUNCTION skip_erased_inbox() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  erased boolean;
BEGIN
  SELECT erased_at IS NOT NULL INTO erased FROM users WHERE user_id = NEW.user_id FOR KEY SHARE;
  IF erased THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER inbox_skip_erased BEFORE INSERT ON inbox FOR EACH ROW EXECUTE FUNCTION skip_erased_inbox();
