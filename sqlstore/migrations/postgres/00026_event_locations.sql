-- Where a trace event happened, as EPCIS says it (M10, issue 3), kept in
-- step with ../sqlite/00026_event_locations.sql: the read point (where it
-- was observed) and the business location (where the goods are after it),
-- each a GS1 location — an SGLN EPC URI or a GS1 Digital Link of a GLN,
-- checked by trace.ParseLocation — or '' for none. Captured from EPCIS
-- readPoint.id and bizLocation.id, written back in exports.

-- +goose Up
ALTER TABLE trace_events ADD COLUMN read_point TEXT NOT NULL DEFAULT '';
ALTER TABLE trace_events ADD COLUMN biz_location TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE trace_events DROP COLUMN biz_location;
ALTER TABLE trace_events DROP COLUMN read_point;
