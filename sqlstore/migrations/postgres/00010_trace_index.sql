-- Traceability: the forward-trace index and versioned products and
-- batches (M10, package trace). Kept column for column identical to
-- ../sqlite/00010_trace_index.sql.
--
--   * order_items_batch_idx (00005, on (gtin, batch)) is replaced by the
--     same index with order_id and quantity appended: a batch's forward
--     trace reads the order ids and quantities of its items from the
--     index alone (no order_items row is fetched), in order-id order, so
--     a page of orders stops after the page. It replaces the old index,
--     so order ingest maintains no more index entries than before.
--   * trace_products.version and trace_batches.version are the optimistic
--     locks of PATCH /api/v1/products/{gtin} and
--     PATCH /api/v1/batches/{gtin}/{batch}: every update (and a recall)
--     bumps them.

-- +goose Up
DROP INDEX order_items_batch_idx;
CREATE INDEX order_items_batch_idx ON order_items (gtin, batch, order_id, quantity);
ALTER TABLE trace_products ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1);
ALTER TABLE trace_batches ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1);

-- +goose Down
ALTER TABLE trace_batches DROP COLUMN version;
ALTER TABLE trace_products DROP COLUMN version;
DROP INDEX order_items_batch_idx;
CREATE INDEX order_items_batch_idx ON order_items (gtin, batch);
