-- Reviews and sellers' ratings of buyers (M5): their references checked
-- once a statement, and against their order. Kept in step with
-- ../sqlite/00021_rating_refs.sql.
--
--   * The foreign keys of reviews (order, platform, shop, seller) and of
--     buyer_ratings (order, platform, seller) checked, and key-share
--     locked, once a row: four lookups a review, most of a batch's cost
--     beside its indexes (trade.Service.IngestReviews writes 1000 in one
--     statement). In their place one statement-level check over the new
--     rows (a transition table), as 00013 did for orders: every new row's
--     order exists and has the row's platform, shop and seller (SQLSTATE
--     23503). That is stricter than the keys were: a review cannot name a
--     shop or seller other than its order's.
--   * What the keys also kept follows from the orders: an order is never
--     deleted and never changes platform, shop or seller (00013), and a
--     shop with orders cannot be deleted. A row's own order, platform,
--     shop and seller never change (restrict_violation).

-- +goose Up
ALTER TABLE reviews DROP CONSTRAINT reviews_order_id_fkey, DROP CONSTRAINT reviews_platform_id_fkey,
    DROP CONSTRAINT reviews_shop_id_fkey, DROP CONSTRAINT reviews_seller_id_fkey;
ALTER TABLE buyer_ratings DROP CONSTRAINT buyer_ratings_order_id_fkey, DROP CONSTRAINT buyer_ratings_platform_id_fkey,
    DROP CONSTRAINT buyer_ratings_seller_id_fkey;

-- +goose StatementBegin
CREATE FUNCTION ecredit_reviews_refs() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad bigint;
BEGIN
    SELECT n.order_id INTO bad FROM new_rows n
     WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = n.order_id AND o.platform_id = n.platform_id
                         AND o.shop_id = n.shop_id AND o.seller_id = n.seller_id) LIMIT 1;
    IF bad IS NOT NULL THEN
        PERFORM ecredit_fk_fail('reviews_order_match', 'reviews', 'order_id', bad);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION ecredit_buyer_ratings_refs() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad bigint;
BEGIN
    SELECT n.order_id INTO bad FROM new_rows n
     WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = n.order_id AND o.platform_id = n.platform_id
                         AND o.seller_id = n.seller_id) LIMIT 1;
    IF bad IS NOT NULL THEN
        PERFORM ecredit_fk_fail('buyer_ratings_order_match', 'buyer_ratings', 'order_id', bad);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION ecredit_rating_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% never change order, platform, shop or seller', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER reviews_refs AFTER INSERT ON reviews
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ecredit_reviews_refs();
CREATE TRIGGER buyer_ratings_refs AFTER INSERT ON buyer_ratings
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ecredit_buyer_ratings_refs();
CREATE TRIGGER reviews_fixed BEFORE UPDATE OF order_id, platform_id, shop_id, seller_id ON reviews
    FOR EACH ROW WHEN ((NEW.order_id, NEW.platform_id, NEW.shop_id, NEW.seller_id) IS DISTINCT FROM (OLD.order_id, OLD.platform_id, OLD.shop_id, OLD.seller_id))
    EXECUTE FUNCTION ecredit_rating_fixed();
CREATE TRIGGER buyer_ratings_fixed BEFORE UPDATE OF order_id, platform_id, seller_id ON buyer_ratings
    FOR EACH ROW WHEN ((NEW.order_id, NEW.platform_id, NEW.seller_id) IS DISTINCT FROM (OLD.order_id, OLD.platform_id, OLD.seller_id))
    EXECUTE FUNCTION ecredit_rating_fixed();

-- +goose Down
DROP TRIGGER buyer_ratings_fixed ON buyer_ratings;
DROP TRIGGER reviews_fixed ON reviews;
DROP TRIGGER buyer_ratings_refs ON buyer_ratings;
DROP TRIGGER reviews_refs ON reviews;
DROP FUNCTION ecredit_rating_fixed();
DROP FUNCTION ecredit_buyer_ratings_refs();
DROP FUNCTION ecredit_reviews_refs();
ALTER TABLE buyer_ratings ADD CONSTRAINT buyer_ratings_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id),
    ADD CONSTRAINT buyer_ratings_platform_id_fkey FOREIGN KEY (platform_id) REFERENCES subjects (id),
    ADD CONSTRAINT buyer_ratings_seller_id_fkey FOREIGN KEY (seller_id) REFERENCES subjects (id);
ALTER TABLE reviews ADD CONSTRAINT reviews_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id),
    ADD CONSTRAINT reviews_platform_id_fkey FOREIGN KEY (platform_id) REFERENCES subjects (id),
    ADD CONSTRAINT reviews_shop_id_fkey FOREIGN KEY (shop_id) REFERENCES shops (id),
    ADD CONSTRAINT reviews_seller_id_fkey FOREIGN KEY (seller_id) REFERENCES subjects (id);
