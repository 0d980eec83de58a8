-- Batch lineage (M10, issue 3): which batches a batch was made from — the
-- raw lots of a processed food, the ingredients of a drug, GS1 EPCIS's
-- TransformationEvent. Kept in step with ../sqlite/00017_batch_inputs.sql.
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
    batch_id     BIGINT NOT NULL REFERENCES trace_batches (id),
    input_id     BIGINT NOT NULL REFERENCES trace_batches (id),
    quantity     DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (quantity >= 0),
    uom          TEXT   NOT NULL DEFAULT '',
    actor_id     BIGINT NOT NULL DEFAULT 0,
    actor_name   TEXT   NOT NULL DEFAULT '',
    recorded_at  BIGINT NOT NULL,
    PRIMARY KEY (batch_id, input_id),
    CHECK (batch_id <> input_id)
);
CREATE INDEX batch_inputs_input_idx ON batch_inputs (input_id, batch_id);

CREATE TRIGGER batch_inputs_append_only BEFORE UPDATE OR DELETE ON batch_inputs
    FOR EACH ROW EXECUTE FUNCTION ecredit_append_only();
CREATE TRIGGER batch_inputs_no_truncate BEFORE TRUNCATE ON batch_inputs
    FOR EACH STATEMENT EXECUTE FUNCTION ecredit_append_only();

-- +goose Down
DROP TABLE batch_inputs;
