-- The forward-trace index kept off the ingest path (M10, issue 3). Kept
-- column for column identical to ../postgres/00022_batch_postings.sql.
--
--   * order_items_batch_idx (00010) goes: it put one entry per order item
--     at its batch's place in (gtin, batch) order, a scattered write into
--     the index for nearly every order a platform reports.
--   * batch_postings lists, per batch (gtin as the order gives it, batch),
--     the order items of that batch among the orders indexed in one step
--     of sqlstore.DB.IndexOrders: the smallest and largest order id
--     (first_id, last_id), how many items (lines) and the items themselves
--     (entries: a format byte 1, then per item in ascending order id the
--     uvarint of its order id less the previous one's, first_id for the
--     first, and the uvarint of its quantity). One step writes one row per
--     batch it saw, however many orders hold that batch.
--   * trace_pending holds the orders stored whose items are not in
--     batch_postings yet: one row per order-ingest transaction, written in
--     it, with the smallest and largest order id it created (lo, hi) and
--     its orders' items packed (items: the batches, then each item's
--     batch, order id and quantity; sqlstore.pendingItems). An indexing
--     step deletes rows and writes their postings in one transaction. So
--     an order's items are in exactly one of the two, and the trace reads
--     both in one statement.
--   * A row without items stands for all the orders of its range, whose
--     items are read from order_items: every order stored before this
--     migration is one such row, indexed in steps by the server.

-- +goose Up
CREATE TABLE batch_postings (
    gtin      TEXT    NOT NULL,
    batch     TEXT    NOT NULL,
    first_id  INTEGER NOT NULL,
    last_id   INTEGER NOT NULL,
    lines     INTEGER NOT NULL CHECK (lines >= 1),
    entries   BLOB    NOT NULL,
    PRIMARY KEY (gtin, batch, first_id),
    CHECK (last_id >= first_id)
) WITHOUT ROWID;
CREATE TABLE trace_pending (
    lo    INTEGER PRIMARY KEY,
    hi    INTEGER NOT NULL,
    items BLOB,
    CHECK (hi >= lo)
);
INSERT INTO trace_pending (lo, hi) SELECT MIN(id), MAX(id) FROM orders HAVING COUNT(*) > 0;
CREATE TABLE order_items_clustered (
    order_id    INTEGER NOT NULL REFERENCES orders (id),
    line        INTEGER NOT NULL CHECK (line >= 1),
    gtin        TEXT    NOT NULL,
    batch       TEXT    NOT NULL DEFAULT '',
    name        TEXT    NOT NULL DEFAULT '',
    category    TEXT    NOT NULL DEFAULT '',
    quantity    INTEGER NOT NULL CHECK (quantity >= 1),
    price_fen   INTEGER NOT NULL CHECK (price_fen >= 0),
    PRIMARY KEY (order_id, line)
) WITHOUT ROWID;
INSERT INTO order_items_clustered SELECT order_id, line, gtin, batch, name, category, quantity, price_fen FROM order_items ORDER BY order_id, line;
DROP TABLE order_items;
ALTER TABLE order_items_clustered RENAME TO order_items;

-- +goose Down
CREATE TABLE order_items_rowid (
    order_id    INTEGER NOT NULL REFERENCES orders (id),
    line        INTEGER NOT NULL CHECK (line >= 1),
    gtin        TEXT    NOT NULL,
    batch       TEXT    NOT NULL DEFAULT '',
    name        TEXT    NOT NULL DEFAULT '',
    category    TEXT    NOT NULL DEFAULT '',
    quantity    INTEGER NOT NULL CHECK (quantity >= 1),
    price_fen   INTEGER NOT NULL CHECK (price_fen >= 0),
    PRIMARY KEY (order_id, line)
);
INSERT INTO order_items_rowid SELECT order_id, line, gtin, batch, name, category, quantity, price_fen FROM order_items ORDER BY order_id, line;
DROP TABLE order_items;
ALTER TABLE order_items_rowid RENAME TO order_items;
CREATE INDEX order_items_batch_idx ON order_items (gtin, batch, order_id, quantity);
DROP TABLE trace_pending;
DROP TABLE batch_postings;
