-- Order ingest at platform volume (M5, issue 3). Kept in step with
-- ../postgres/00013_order_ingest.sql: the same indexes, the same guarantees.
--
--   * orders_shop_idx serves "a shop's orders, oldest first, a page after
--     id N" (ListOrders) and "its latest orders". A SQLite index ends with
--     the rowid, so (shop_id) is (shop_id, id): a batch appends at the end
--     of each shop's range instead of scattering by payment time.
--   * orders_seller_idx goes: an order's seller is its shop's owner (a shop
--     never changes owner), so a seller's orders are read shop by shop
--     through orders_shop_idx (sqlstore.shopsOfOwner). One index fewer to
--     write for every order.
--   * The foreign keys of orders and order_items stay as they are: SQLite
--     checks them in-process by rowid, a microsecond or two a row
--     (PostgreSQL replaces them by statement-level checks). As there, an
--     order's platform and seller must be its shop's, and orders are never
--     deleted and never change platform, shop or seller.

-- +goose Up
DROP INDEX orders_shop_idx;
CREATE INDEX orders_shop_idx ON orders (shop_id);
DROP INDEX orders_seller_idx;

-- +goose StatementBegin
CREATE TRIGGER orders_shop_match BEFORE INSERT ON orders
    WHEN NOT EXISTS (SELECT 1 FROM shops s WHERE s.id = NEW.shop_id AND s.platform_id = NEW.platform_id AND s.owner_id = NEW.seller_id)
BEGIN
    SELECT RAISE(ABORT, 'insert on table "orders" violates foreign key constraint "orders_shop_match"');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER orders_no_delete BEFORE DELETE ON orders
BEGIN
    SELECT RAISE(ABORT, 'orders are never deleted and never change platform, shop or seller');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER orders_fixed BEFORE UPDATE OF platform_id, shop_id, seller_id ON orders
    WHEN NEW.platform_id IS NOT OLD.platform_id OR NEW.shop_id IS NOT OLD.shop_id OR NEW.seller_id IS NOT OLD.seller_id
BEGIN
    SELECT RAISE(ABORT, 'orders are never deleted and never change platform, shop or seller');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER orders_fixed;
DROP TRIGGER orders_shop_match;
DROP TRIGGER orders_no_delete;
CREATE INDEX orders_seller_idx ON orders (seller_id, paid_at);
DROP INDEX orders_shop_idx;
CREATE INDEX orders_shop_idx ON orders (shop_id, paid_at);
