-- The unit of a batch's quantity (M10, issue 3), kept in step across the
-- two engines: '' for units (件, what every batch counted before), or a
-- UN/ECE Rec. 20 code as its inputs use (KGM, GRM, TNE, LTR, MLT). A raw
-- lot counted in kilograms can then be checked against what was recorded
-- as made from it (mass balance, trace/lineage.go).

-- +goose Up
ALTER TABLE trace_batches ADD COLUMN uom TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE trace_batches DROP COLUMN uom;
