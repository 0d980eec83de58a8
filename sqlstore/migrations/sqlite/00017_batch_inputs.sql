-- Batch lineage (M10, issue 3): which batches a batch was made from — the
-- raw lots of a processed food, the ingredients of a drug, GS1 EPCIS's
-- TransformationEvent. Kept in step with ../postgres/00017_batch_inputs.sql.
--
--   * One row per (output batch, input batch): the same input recorded
--     again is the same row. quantity is how much of the input went into
--     the output (0: not reported), uom its unit (UN/ECE Rec. 20 code, ''
--     for units).
--   * Rows are never changed or deleted (triggers): a trace, once
--     recorded, stays. The service refuses cycles.
--   * batch_inputs_input_idx serves the forward direction: what was made
--     from a batch (a recalled raw lot → the products that used it).

-- +goose Up
CREATE TABLE batch_inputs (
    batch_id     INTEGER NOT NULL REFERENCES trace_batches (id),
    input_id     INTEGER NOT NULL REFERENCES trace_batches (id),
    quantity     REAL    NOT NULL DEFAULT 0 CHECK (quantity >= 0),
    uom          TEXT    NOT NULL DEFAULT '',
    actor_id     INTEGER NOT NULL DEFAULT 0,
    actor_name   TEXT    NOT NULL DEFAULT '',
    recorded_at  INTEGER NOT NULL,
    PRIMARY KEY (batch_id, input_id),
    CHECK (batch_id <> input_id)
) WITHOUT ROWID;
CREATE INDEX batch_inputs_input_idx ON batch_inputs (input_id, batch_id);

-- +goose StatementBegin
CREATE TRIGGER batch_inputs_no_update BEFORE UPDATE ON batch_inputs
BEGIN
    SELECT RAISE(ABORT, 'batch_inputs is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER batch_inputs_no_delete BEFORE DELETE ON batch_inputs
BEGIN
    SELECT RAISE(ABORT, 'batch_inputs is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE batch_inputs;
