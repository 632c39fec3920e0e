-- Up Migration
-- Every delivery written pays for each index on `deliveries`. Two of them only repeat another's leading column:
--   deliveries_event (event_id)            is the first column of deliveries_event_page (event_id, id);
--   deliveries_user (user_id, created_at)  answers nothing deliveries_user_history (user_id, id DESC) does not: no
--                                          statement orders or filters a person's deliveries by created_at.
DROP INDEX IF EXISTS deliveries_event;
DROP INDEX IF EXISTS deliveries_user;
