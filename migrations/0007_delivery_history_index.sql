-- Up Migration
-- A person's delivery history is read newest first, a page at a time below an id (GET /users/:userId/deliveries).
CREATE INDEX deliveries_user_history ON deliveries (user_id, id DESC);
