-- Reviews and sellers' ratings of buyers (M5): every new row agrees with
-- its order. Kept in step with ../postgres/00021_rating_refs.sql, which
-- replaces the foreign keys there (checked once a row, costly) by a check
-- once a statement against the order. SQLite keeps its foreign keys (an
-- in-process lookup by rowid) and adds the same rules:
--
--   * a review's order has the review's platform, shop and seller; a
--     rating's order its platform and seller;
--   * a row's order, platform, shop and seller never change.

-- +goose Up
-- +goose StatementBegin
CREATE TRIGGER reviews_order_match BEFORE INSERT ON reviews
    WHEN NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = NEW.order_id AND o.platform_id = NEW.platform_id
                       AND o.shop_id = NEW.shop_id AND o.seller_id = NEW.seller_id)
BEGIN
    SELECT RAISE(ABORT, 'insert on table "reviews" violates foreign key constraint "reviews_order_match"');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER buyer_ratings_order_match BEFORE INSERT ON buyer_ratings
    WHEN NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = NEW.order_id AND o.platform_id = NEW.platform_id
                       AND o.seller_id = NEW.seller_id)
BEGIN
    SELECT RAISE(ABORT, 'insert on table "buyer_ratings" violates foreign key constraint "buyer_ratings_order_match"');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER reviews_fixed BEFORE UPDATE OF order_id, platform_id, shop_id, seller_id ON reviews
    WHEN NEW.order_id IS NOT OLD.order_id OR NEW.platform_id IS NOT OLD.platform_id OR NEW.shop_id IS NOT OLD.shop_id
      OR NEW.seller_id IS NOT OLD.seller_id
BEGIN
    SELECT RAISE(ABORT, 'reviews never change order, platform, shop or seller');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER buyer_ratings_fixed BEFORE UPDATE OF order_id, platform_id, seller_id ON buyer_ratings
    WHEN NEW.order_id IS NOT OLD.order_id OR NEW.platform_id IS NOT OLD.platform_id OR NEW.seller_id IS NOT OLD.seller_id
BEGIN
    SELECT RAISE(ABORT, 'buyer_ratings never change order, platform, shop or seller');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER buyer_ratings_fixed;
DROP TRIGGER reviews_fixed;
DROP TRIGGER buyer_ratings_order_match;
DROP TRIGGER reviews_order_match;
