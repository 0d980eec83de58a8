-- A firm's parcels by window without an index on their start (M4, issue 3),
-- kept in step with ../postgres/00025_parcel_windows.sql, which says why.
-- SQLite rewrites a row's entry in an index whenever an UPDATE sets one of
-- the index's columns: with the start out of every full index, the pickup
-- writes no index entry. far_start is a virtual column here (SQLite adds
-- no stored one to a table that has rows); its index stores it.

-- +goose Up
ALTER TABLE parcels ADD COLUMN far_start INTEGER GENERATED ALWAYS AS
    (CASE WHEN started_at - created_at > 259200000000 OR created_at - started_at > 259200000000 THEN started_at ELSE 0 END) VIRTUAL;
CREATE INDEX parcels_firm_created_idx ON parcels (firm_id, created_at);
CREATE INDEX parcels_firm_far_idx ON parcels (firm_id, far_start) WHERE far_start <> 0;
DROP INDEX parcels_firm_started_idx;
DROP INDEX parcels_courier_idx;

-- +goose Down
CREATE INDEX parcels_firm_started_idx ON parcels (firm_id, started_at);
CREATE INDEX parcels_courier_idx ON parcels (courier_id, started_at) WHERE courier_id <> 0;
DROP INDEX parcels_firm_far_idx;
DROP INDEX parcels_firm_created_idx;
ALTER TABLE parcels DROP COLUMN far_start;
