-- Up Migration
-- A traveller's threshold for delay notices ("only delays of 15 minutes or more"): for all their journeys in
-- preferences, or for one journey on its itinerary (which then wins). A smaller delay is recorded 'skipped'.
ALTER TABLE preferences ADD COLUMN min_delay_minutes integer CHECK (min_delay_minutes BETWEEN 1 AND 1440);
ALTER TABLE itineraries ADD COLUMN min_delay_minutes integer CHECK (min_delay_minutes BETWEEN 1 AND 1440);
