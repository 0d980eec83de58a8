-- An order's items become a column of its row (M5, M10; issue 3). Kept
-- in step with ../postgres/00024_order_lines.sql, which says why.
--
--   * orders.items: the order's items as one JSON text, an array of
--     [line, gtin, batch, name, category, quantity, price_fen] in line
--     order (sqlstore.itemsText, sqlstore.parseItems).
--   * order_items becomes a view with the table's columns, one row an
--     item (json_each), for the reads that select items in SQL.
--   * Down puts the items back in the WITHOUT ROWID table of 00022.

-- +goose Up
ALTER TABLE orders ADD COLUMN items TEXT NOT NULL DEFAULT '[]';
UPDATE orders SET items = (
    SELECT json_group_array(json_array(line, gtin, batch, name, category, quantity, price_fen))
    FROM (SELECT line, gtin, batch, name, category, quantity, price_fen FROM order_items i WHERE i.order_id = orders.id ORDER BY line))
WHERE EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = orders.id);
DROP TABLE order_items;
CREATE VIEW order_items AS
SELECT o.id AS order_id, e.value ->> 0 AS line, e.value ->> 1 AS gtin, e.value ->> 2 AS batch, e.value ->> 3 AS name,
       e.value ->> 4 AS category, e.value ->> 5 AS quantity, e.value ->> 6 AS price_fen
FROM orders o, json_each(o.items) AS e;

-- +goose Down
DROP VIEW order_items;
CREATE TABLE order_items (
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
INSERT INTO order_items (order_id, line, gtin, batch, name, category, quantity, price_fen)
SELECT o.id, e.value ->> 0, e.value ->> 1, e.value ->> 2, e.value ->> 3, e.value ->> 4, e.value ->> 5, e.value ->> 6
FROM orders o, json_each(o.items) AS e
ORDER BY o.id, 2;
ALTER TABLE orders DROP COLUMN items;
