-- A firm's parcels by window without an index on their start (M4, issue 3),
-- kept in step with ../sqlite/00025_parcel_windows.sql.
--
--   * A parcel's start (started_at: its pickup, its registration until
--     then) places it in a metrics window, and the pickup moves it. With
--     the start indexed, every pickup wrote a new entry into each of the
--     parcel's indexes (PostgreSQL updates in place, HOT, only when no
--     indexed column changes), the unique (firm, waybill) one with its
--     check: most of the cost of a batch of tracking events.
--   * Now the window is found through what does not move: the
--     registration (firm_id, created_at). A parcel whose start lies
--     within three days of its registration (far_start = 0, nearly all)
--     is in the window [from, to) only if it was registered in
--     [from - 3 days, to + 3 days), which the index reads and the start
--     then filters. The others (registered long before their pickup, or
--     a history loaded late) keep their start in far_start, generated
--     from the two, and a partial index over far_start <> 0 finds them.
--     sqlstore's parcelStartSlack is the three days; the test
--     TestParcelWindows checks both sides of it.
--   * parcels_courier_idx served no query and goes.
--   * Half of each page is left free (fillfactor 50): a burst of events
--     updates every parcel of a page at once, and each new version needs
--     room on its page to be written in place.

-- +goose Up
ALTER TABLE parcels ADD COLUMN far_start BIGINT GENERATED ALWAYS AS
    (CASE WHEN started_at - created_at > 259200000000 OR created_at - started_at > 259200000000 THEN started_at ELSE 0 END) STORED;
CREATE INDEX parcels_firm_created_idx ON parcels (firm_id, created_at);
CREATE INDEX parcels_firm_far_idx ON parcels (firm_id, far_start) WHERE far_start <> 0;
DROP INDEX parcels_firm_started_idx;
DROP INDEX parcels_courier_idx;
ALTER TABLE parcels SET (fillfactor = 50);

-- +goose Down
ALTER TABLE parcels SET (fillfactor = 70);
CREATE INDEX parcels_firm_started_idx ON parcels (firm_id, started_at);
CREATE INDEX parcels_courier_idx ON parcels (courier_id, started_at) WHERE courier_id <> 0;
DROP INDEX parcels_firm_far_idx;
DROP INDEX parcels_firm_created_idx;
ALTER TABLE parcels DROP COLUMN far_start;
