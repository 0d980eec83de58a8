-- Order ingest at platform volume (M5, issue 3). Kept in step with
-- ../sqlite/00013_order_ingest.sql: the same indexes, the same guarantees.
--
--   * orders_shop_idx and orders_seller_idx serve "a shop's / a seller's
--     orders, oldest first, a page after id N" (ListOrders) and "a seller's
--     latest orders" (SellerCategories): (shop_id, id) and (seller_id, id)
--     answer both, and a batch appends at the end of each shop's range
--     instead of scattering by payment time.
--   * The references of orders (platform, shop, seller) and of order_items
--     (order) are checked once per INSERT statement instead of once per row:
--     row-level foreign keys run a trigger and lock the parent row for every
--     inserted row (5,000 locks for 1,000 orders of two items, all on the
--     same platform and a few shops). The statement-level checks below give
--     the same guarantee as the foreign keys they replace:
--       - an inserted row whose parent does not exist fails the statement
--         with SQLSTATE 23503 (foreign_key_violation), naming the old
--         constraint;
--       - the distinct parents are locked FOR KEY SHARE, as the foreign key
--         does, so a concurrent delete of one waits and then fails;
--       - deleting a subject or shop that orders reference fails (23503);
--         orders are never deleted or truncated (restrict_violation), so an
--         item cannot lose its order, and the parent columns of an order
--         never change (restrict_violation).

-- +goose Up
DROP INDEX orders_shop_idx;
CREATE INDEX orders_shop_idx ON orders (shop_id, id);
DROP INDEX orders_seller_idx;
CREATE INDEX orders_seller_idx ON orders (seller_id, id);

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
    SELECT COUNT(*) INTO want FROM (SELECT platform_id FROM new_orders UNION SELECT seller_id FROM new_orders) p;
    PERFORM 1 FROM subjects WHERE id IN (SELECT platform_id FROM new_orders UNION SELECT seller_id FROM new_orders) FOR KEY SHARE;
    GET DIAGNOSTICS got = ROW_COUNT;
    IF got < want THEN
        SELECT n.platform_id INTO bad FROM new_orders n WHERE NOT EXISTS (SELECT 1 FROM subjects s WHERE s.id = n.platform_id) LIMIT 1;
        IF bad IS NOT NULL THEN
            PERFORM ecredit_fk_fail('orders_platform_id_fkey', 'orders', 'platform_id', bad);
        END IF;
        SELECT n.seller_id INTO bad FROM new_orders n WHERE NOT EXISTS (SELECT 1 FROM subjects s WHERE s.id = n.seller_id) LIMIT 1;
        PERFORM ecredit_fk_fail('orders_seller_id_fkey', 'orders', 'seller_id', bad);
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
    IF TG_TABLE_NAME = 'shops' THEN
        SELECT d.id INTO bad FROM gone d WHERE EXISTS (SELECT 1 FROM orders o WHERE o.shop_id = d.id) LIMIT 1;
    ELSE
        SELECT d.id INTO bad FROM gone d
         WHERE EXISTS (SELECT 1 FROM orders o WHERE o.platform_id = d.id)
            OR EXISTS (SELECT 1 FROM orders o WHERE o.seller_id = d.id) LIMIT 1;
    END IF;
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
CREATE TRIGGER subjects_orders_refs AFTER DELETE ON subjects
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION ecredit_orders_parent_deleted();
CREATE TRIGGER orders_fixed BEFORE DELETE OR UPDATE OF platform_id, shop_id, seller_id ON orders
    FOR EACH ROW EXECUTE FUNCTION ecredit_orders_fixed();
CREATE TRIGGER orders_no_truncate BEFORE TRUNCATE ON orders
    FOR EACH STATEMENT EXECUTE FUNCTION ecredit_append_only();

-- +goose Down
DROP TRIGGER orders_no_truncate ON orders;
DROP TRIGGER orders_fixed ON orders;
DROP TRIGGER subjects_orders_refs ON subjects;
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
DROP INDEX orders_seller_idx;
CREATE INDEX orders_seller_idx ON orders (seller_id, paid_at);
DROP INDEX orders_shop_idx;
CREATE INDEX orders_shop_idx ON orders (shop_id, paid_at);
