-- The lineage's generation (M10, issue 3), kept in step with
-- ../postgres/00019_lineage_guard.sql.
--
--   * One row. Every write that the lineage's checks depend on — inputs
--     added to a batch (with the batch or later), a batch's dates or
--     quantity changed while it has lineage — moves gen on by one, and
--     only if it still holds the value read before the checks ran
--     (compare and swap, in the write's transaction).
--   * So two requests checked against the same lineage cannot both be
--     stored: the second finds gen moved, and the service checks it again
--     against what the first stored. Without it, "A made from B" and "B
--     made from A" sent at once would each pass the cycle check, and two
--     batches drawing on the last kilograms of one lot would each pass the
--     mass balance.

-- +goose Up
CREATE TABLE trace_lineage_gen (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    gen  BIGINT  NOT NULL CHECK (gen >= 0)
);
INSERT INTO trace_lineage_gen (id, gen) VALUES (1, 0);

-- +goose Down
DROP TABLE trace_lineage_gen;
