-- Order ingest at platform volume (M5, issue 3). Kept in step with
-- ../postgres/00013_order_ingest.sql: the same indexes, the same guarantees.
--
--   * orders_shop_idx and orders_seller_idx serve "a shop's / a seller's
--     orders, oldest first, a page after id N" (ListOrders) and "a seller's
--     latest orders" (SellerCategories). A SQLite index ends with the rowid,
--     so (shop_id) and (seller_id) are (shop_id, id) and (seller_id, id):
--     a batch appends at the end of each shop's range instead of scattering
--     by payment time.
--   * The foreign keys of orders and order_items stay as they are: SQLite
--     checks them in-process by rowid, a few microseconds a row (PostgreSQL
--     replaces them by statement-level checks with the same guarantee).
--     As there, orders are never deleted and never change platform, shop
--     or seller.

-- +goose Up
DROP INDEX orders_shop_idx;
CREATE INDEX orders_shop_idx ON orders (shop_id);
DROP INDEX orders_seller_idx;
CREATE INDEX orders_seller_idx ON orders (seller_id);

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
DROP TRIGGER orders_no_delete;
DROP INDEX orders_seller_idx;
CREATE INDEX orders_seller_idx ON orders (seller_id, paid_at);
DROP INDEX orders_shop_idx;
CREATE INDEX orders_shop_idx ON orders (shop_id, paid_at);
