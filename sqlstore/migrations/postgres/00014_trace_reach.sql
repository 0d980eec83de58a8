-- The forward reach of big batches, kept across restarts and instances
-- (M10, package trace, trace/reach.go). Kept column for column identical
-- to ../sqlite/00014_trace_reach.sql.
--
--   * One row per batch (batch_key: the GTIN's forms and the batch, as
--     trace.Service names them) whose reach the service has summed from
--     at least 1000 order items: the groups of its orders by platform,
--     region, shop and seller (sums, trace.EncodeReach), the number of order
--     items they were summed from (lines) and the largest order id summed
--     (upto).
--   * It is a cache of what order_items and orders say, never a source:
--     before a kept row is used the batch's items up to upto are counted
--     again from order_items_batch_idx and must still number lines; only
--     the orders after upto are read. A row that fails the check is
--     summed again from scratch and replaced. Deleting every row loses
--     nothing but time.
--   * Only trace queries write it (order ingest does not), when a sum
--     has grown by a tenth or more since it was kept.

-- +goose Up
CREATE TABLE trace_reach (
    batch_key TEXT    NOT NULL PRIMARY KEY,
    upto      BIGINT  NOT NULL CHECK (upto >= 0),
    lines     BIGINT  NOT NULL CHECK (lines >= 0),
    sums      BYTEA   NOT NULL,
    saved_at  BIGINT  NOT NULL
);

-- +goose Down
DROP TABLE trace_reach;
