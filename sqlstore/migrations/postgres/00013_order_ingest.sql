-- Order ingest at platform volume (M5, issue 3). Kept in step with
-- ../sqlite/00013_order_ingest.sql: the same indexes, the same guarantees.
--
--   * orders_shop_idx serves "a shop's orders, oldest first, a page after
--     id N" (ListOrders) and "its latest orders": (shop_id, id) answers
--     both, and a batch appends at the end of each shop's range instead of
--     scattering by payment time.
--   * orders_seller_idx goes: an order's seller is its shop's owner (a shop
--     never changes owner), so a seller's orders are read shop by shop
--     through orders_shop_idx (sqlstore.shopsOfOwner). One index fewer to
--     write for every order.
--   * The references of orders (platform, shop, seller) and of order_items
--     (order) are checked once per INSERT statement instead of once per row:
--     row-level foreign keys run a trigger and lock the parent row for every
--     inserted row (5,000 locks for 1,000 orders of two items, all on the
--     same platform and a few shops). The statement-level checks below give
--     the guarantee of the foreign keys they replace, and one more:
--       - an order's shop exists, and its platform and seller are the
--         shop's (which references both, so they exist); else the statement
--         fails with SQLSTATE 23503 (foreign_key_violation);
--       - the distinct shops are locked FOR KEY SHARE, as a foreign key
--         does, so a concurrent delete of one waits and then fails;
--       - deleting a shop that orders reference fails (23503); orders are
--         never deleted or truncated (restrict_violation), so an item
--         cannot lose its order, and an order never changes platform, shop
--         or seller (restrict_violation).

-- +goose Up
DROP INDEX orders_shop_idx;
CREATE INDEX orders_shop_idx ON orders (shop_id, id);
DROP INDEX orders_seller_idx;

ALTER TABLE order_items DROP CONSTRAINT order_items_order_id_fkey;
ALTER TABLE orders DROP CONSTRAINT orders_platform_id_fkey;
ALTER TABLE orders DROP CONSTRAINT orders_shop_id_fkey;
ALTER TABLE orders DROP CONSTRAINT orders_seller_id_fkey;

-- +goose StatementBegin
CREATE FUNCTION ecredit_fk_fail(con text, tbl text, col text, val bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"', tbl, con
        USING ERRCODE = 'foreign_key_violation', CONSTRAINT = con,
              DETAIL = format('Key (%s)=(%s) is not present.', col, val);
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION ecredit_orders_refs() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    want bigint;
    got  bigint;
    bad  bigint;
BEGIN
    SELECT COUNT(DISTINCT shop_id) INTO want FROM new_orders;
    PERFORM 1 FROM shops WHERE id IN (SELECT shop_id FROM new_orders) FOR KEY SHARE;
    GET DIAGNOSTICS got = ROW_COUNT;
    IF got < want THEN
        SELECT n.shop_id INTO bad FROM new_orders n WHERE NOT EXISTS (SELECT 1 FROM shops s WHERE s.id = n.shop_id) LIMIT 1;
        PERFORM ecredit_fk_fail('orders_shop_id_fkey', 'orders', 'shop_id', bad);
    END IF;
    -- The platform and seller are the shop's (which references both).
    SELECT n.shop_id INTO bad FROM new_orders n JOIN shops s ON s.id = n.shop_id
     WHERE s.platform_id <> n.platform_id OR s.owner_id <> n.seller_id LIMIT 1;
    IF bad IS NOT NULL THEN
        PERFORM ecredit_fk_fail('orders_shop_match', 'orders', 'shop_id', bad);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

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

-- +goose StatementBegin
CREATE FUNCTION ecredit_orders_parent_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad bigint;
BEGIN
    SELECT d.id INTO bad FROM gone d WHERE EXISTS (SELECT 1 FROM orders o WHERE o.shop_id = d.id) LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'update or delete on table "%" violates foreign key constraint on table "orders"', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation', DETAIL = format('Key (id)=(%s) is still referenced from table "orders".', bad);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION ecredit_orders_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.platform_id, NEW.shop_id, NEW.seller_id) IS NOT DISTINCT FROM (OLD.platform_id, OLD.shop_id, OLD.seller_id) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'orders are never deleted and never change platform, shop or seller'
        USING ERRCODE = 'restrict_violation';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER orders_refs AFTER INSERT ON orders
    REFERENCING NEW TABLE AS new_orders FOR EACH STATEMENT EXECUTE FUNCTION ecredit_orders_refs();
CREATE TRIGGER order_items_refs AFTER INSERT ON order_items
    REFERENCING NEW TABLE AS new_items FOR EACH STATEMENT EXECUTE FUNCTION ecredit_order_items_refs();
CREATE TRIGGER shops_orders_refs AFTER DELETE ON shops
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION ecredit_orders_parent_deleted();
CREATE TRIGGER orders_fixed BEFORE DELETE OR UPDATE OF platform_id, shop_id, seller_id ON orders
    FOR EACH ROW EXECUTE FUNCTION ecredit_orders_fixed();
CREATE TRIGGER orders_no_truncate BEFORE TRUNCATE ON orders
    FOR EACH STATEMENT EXECUTE FUNCTION ecredit_append_only();

-- +goose Down
DROP TRIGGER orders_no_truncate ON orders;
DROP TRIGGER orders_fixed ON orders;
DROP TRIGGER shops_orders_refs ON shops;
DROP TRIGGER order_items_refs ON order_items;
DROP TRIGGER orders_refs ON orders;
DROP FUNCTION ecredit_orders_fixed();
DROP FUNCTION ecredit_orders_parent_deleted();
DROP FUNCTION ecredit_order_items_refs();
DROP FUNCTION ecredit_orders_refs();
DROP FUNCTION ecredit_fk_fail(text, text, text, bigint);
ALTER TABLE orders ADD CONSTRAINT orders_seller_id_fkey FOREIGN KEY (seller_id) REFERENCES subjects (id);
ALTER TABLE orders ADD CONSTRAINT orders_shop_id_fkey FOREIGN KEY (shop_id) REFERENCES shops (id);
ALTER TABLE orders ADD CONSTRAINT orders_platform_id_fkey FOREIGN KEY (platform_id) REFERENCES subjects (id);
ALTER TABLE order_items ADD CONSTRAINT order_items_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id);
CREATE INDEX orders_seller_idx ON orders (seller_id, paid_at);
DROP INDEX orders_shop_idx;
CREATE INDEX orders_shop_idx ON orders (shop_id, paid_at);
