-- An order's items become a column of its row (M5, M10; issue 3). Kept
-- in step with ../sqlite/00024_order_lines.sql.
--
--   * orders.items holds the order's items as one JSON text, an array of
--     [line, gtin, batch, name, category, quantity, price_fen] in line
--     order (written by sqlstore.itemsText, read by sqlstore.parseItems).
--     A batch of 1000 orders of two items then writes 1000 rows, not 3000:
--     no item rows, no primary key entry an item and no statement-level
--     check of the items' order (00013), which together cost about as much
--     as the orders themselves. An order's items are written with it, once,
--     and never change (orders are never deleted, 00013), so nothing is
--     lost by holding them in its row; every read of an order's items was
--     by order id.
--   * order_items becomes a view with the table's columns, one row an
--     item, for the reads that select items in SQL: ranges of orders
--     (orders stored before 00022, still pending for the forward trace),
--     the categories of a shop's recent orders, and checks.
--   * Down puts the items back in the table of 00022, with its key and
--     its reference check (00013).

-- +goose Up
ALTER TABLE orders ADD COLUMN items TEXT NOT NULL DEFAULT '[]';
UPDATE orders o SET items = s.items
FROM (SELECT order_id, json_agg(json_build_array(line, gtin, batch, name, category, quantity, price_fen) ORDER BY line)::text AS items
      FROM order_items GROUP BY order_id) s
WHERE o.id = s.order_id;
DROP TABLE order_items;
DROP FUNCTION ecredit_order_items_refs();
CREATE VIEW order_items AS
SELECT o.id AS order_id, (e ->> 0)::integer AS line, e ->> 1 AS gtin, e ->> 2 AS batch, e ->> 3 AS name,
       e ->> 4 AS category, (e ->> 5)::integer AS quantity, (e ->> 6)::bigint AS price_fen
FROM orders o CROSS JOIN LATERAL json_array_elements(o.items::json) AS e;

-- +goose Down
DROP VIEW order_items;
CREATE TABLE order_items (
    order_id    BIGINT  NOT NULL,
    line        INTEGER NOT NULL CHECK (line >= 1),
    gtin        TEXT    NOT NULL,
    batch       TEXT    NOT NULL DEFAULT '',
    name        TEXT    NOT NULL DEFAULT '',
    category    TEXT    NOT NULL DEFAULT '',
    quantity    INTEGER NOT NULL CHECK (quantity >= 1),
    price_fen   BIGINT  NOT NULL CHECK (price_fen >= 0),
    PRIMARY KEY (order_id, line)
);
INSERT INTO order_items (order_id, line, gtin, batch, name, category, quantity, price_fen)
SELECT o.id, (e ->> 0)::integer, e ->> 1, e ->> 2, e ->> 3, e ->> 4, (e ->> 5)::integer, (e ->> 6)::bigint
FROM orders o CROSS JOIN LATERAL json_array_elements(o.items::json) AS e
ORDER BY o.id, 2;
-- +goose StatementBegin
CREATE FUNCTION ecredit_order_items_refs() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad bigint;
BEGIN
    -- Orders are never deleted (orders_no_delete), so existence is enough.
    SELECT n.order_id INTO bad FROM new_items n WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = n.order_id) LIMIT 1;
    IF bad IS NOT NULL THEN
        PERFORM ecredit_fk_fail('order_items_order_id_fkey', 'order_items', 'order_id', bad);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER order_items_refs AFTER INSERT ON order_items
    REFERENCING NEW TABLE AS new_items FOR EACH STATEMENT EXECUTE FUNCTION ecredit_order_items_refs();
ALTER TABLE orders DROP COLUMN items;
