-- Reviews, mutual ratings, shop scores and third-party credit evaluations
-- (M5). Kept column for column identical to ../postgres/00006_trade.sql.
-- Package trade owns their meaning.
--
--   * One review per order (order_id unique); reviews are never deleted
--     (a trigger refuses it): a platform folds one with a stated reason.
--   * month is the calendar month (YYYYMM, Asia/Shanghai) of the order's
--     payment: the period of the per buyer–seller bound on counted points.
--   * counted / dsr_counted (0 or 1) say whether the review's +1/0/−1 and
--     its three detailed ratings count; decided once, when it is written.
--   * shop_scores is the running sum per shop of the counted, unfolded
--     reviews, updated in the transaction that writes or folds a review.
--   * Instants are BIGINT unix microseconds, UTC, 0 for "not yet".

-- +goose Up
CREATE TABLE reviews (
    id           INTEGER PRIMARY KEY,
    order_id     INTEGER NOT NULL REFERENCES orders (id),
    platform_id  INTEGER NOT NULL REFERENCES subjects (id),
    shop_id      INTEGER NOT NULL REFERENCES shops (id),
    seller_id    INTEGER NOT NULL REFERENCES subjects (id),
    buyer        TEXT    NOT NULL,
    month        INTEGER NOT NULL,
    rating       INTEGER NOT NULL CHECK (rating IN (-1, 0, 1)),
    description  INTEGER NOT NULL CHECK (description BETWEEN 1 AND 5),
    service      INTEGER NOT NULL CHECK (service BETWEEN 1 AND 5),
    logistics    INTEGER NOT NULL CHECK (logistics BETWEEN 1 AND 5),
    body         TEXT    NOT NULL DEFAULT '',
    counted      INTEGER NOT NULL CHECK (counted IN (0, 1)),
    dsr_counted  INTEGER NOT NULL CHECK (dsr_counted IN (0, 1)),
    created_at   INTEGER NOT NULL,
    followup     TEXT    NOT NULL DEFAULT '',
    followup_at  INTEGER NOT NULL DEFAULT 0,
    folded_at    INTEGER NOT NULL DEFAULT 0,
    fold_reason  TEXT    NOT NULL DEFAULT '',
    folded_by    TEXT    NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX reviews_order_key ON reviews (order_id);
CREATE INDEX reviews_shop_idx ON reviews (shop_id, id);
CREATE INDEX reviews_seller_idx ON reviews (seller_id, id);
CREATE INDEX reviews_pair_idx ON reviews (platform_id, seller_id, buyer, month);

-- +goose StatementBegin
CREATE TRIGGER reviews_no_delete BEFORE DELETE ON reviews
BEGIN
    SELECT RAISE(ABORT, 'reviews are never deleted');
END;
-- +goose StatementEnd

CREATE TABLE buyer_ratings (
    id           INTEGER PRIMARY KEY,
    order_id     INTEGER NOT NULL REFERENCES orders (id),
    platform_id  INTEGER NOT NULL REFERENCES subjects (id),
    seller_id    INTEGER NOT NULL REFERENCES subjects (id),
    buyer        TEXT    NOT NULL,
    rating       INTEGER NOT NULL CHECK (rating IN (-1, 0, 1)),
    body         TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX buyer_ratings_order_key ON buyer_ratings (order_id);
CREATE INDEX buyer_ratings_buyer_idx ON buyer_ratings (platform_id, buyer);

-- +goose StatementBegin
CREATE TRIGGER buyer_ratings_no_delete BEFORE DELETE ON buyer_ratings
BEGIN
    SELECT RAISE(ABORT, 'buyer ratings are never deleted');
END;
-- +goose StatementEnd

CREATE TABLE shop_scores (
    shop_id          INTEGER PRIMARY KEY REFERENCES shops (id),
    seller_id        INTEGER NOT NULL REFERENCES subjects (id),
    reviews          INTEGER NOT NULL DEFAULT 0,
    folded           INTEGER NOT NULL DEFAULT 0,
    positive         INTEGER NOT NULL DEFAULT 0,
    neutral          INTEGER NOT NULL DEFAULT 0,
    negative         INTEGER NOT NULL DEFAULT 0,
    dsr_count        INTEGER NOT NULL DEFAULT 0,
    description_sum  INTEGER NOT NULL DEFAULT 0,
    service_sum      INTEGER NOT NULL DEFAULT 0,
    logistics_sum    INTEGER NOT NULL DEFAULT 0,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX shop_scores_seller_idx ON shop_scores (seller_id);

CREATE TABLE credit_evaluations (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL,
    agency       TEXT    NOT NULL,
    ref          TEXT    NOT NULL,
    subject_id   INTEGER NOT NULL REFERENCES subjects (id),
    subject_code TEXT    NOT NULL,
    score        REAL,
    scale        TEXT    NOT NULL DEFAULT '',
    grade        TEXT    NOT NULL DEFAULT '',
    method       TEXT    NOT NULL,
    valid_from   INTEGER NOT NULL,
    valid_until  INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX credit_evaluations_ref_key ON credit_evaluations (account_id, ref);
CREATE INDEX credit_evaluations_subject_idx ON credit_evaluations (subject_id, valid_until);

-- +goose Down
DROP TABLE credit_evaluations;
DROP TABLE shop_scores;
DROP TABLE buyer_ratings;
DROP TABLE reviews;
