-- Orders that platforms report (M5, M10). Kept column for column identical
-- to ../postgres/00005_orders.sql. Package trade owns their meaning; package
-- trace reads order_items to trace a batch forward and an order backward.
--
--   * (platform_id, order_no) is unique: ingest is idempotent by the
--     platform and its own order number.
--   * buyer is a platform-scoped pseudonym (no personal data).
--   * Amounts are in fen (分); instants are BIGINT unix microseconds, UTC,
--     0 for "not yet".
--   * region is the destination's GB/T 2260 code; waybill the parcel's
--     number at its logistics firm ('' before shipping).

-- +goose Up
CREATE TABLE orders (
    id            INTEGER PRIMARY KEY,
    platform_id   INTEGER NOT NULL REFERENCES subjects (id),
    shop_id       INTEGER NOT NULL REFERENCES shops (id),
    seller_id     INTEGER NOT NULL REFERENCES subjects (id),
    order_no      TEXT    NOT NULL,
    buyer         TEXT    NOT NULL,
    amount_fen    INTEGER NOT NULL CHECK (amount_fen >= 0),
    region        TEXT    NOT NULL DEFAULT '',
    waybill       TEXT    NOT NULL DEFAULT '',
    carrier_id    INTEGER NOT NULL DEFAULT 0,
    status        TEXT    NOT NULL,
    paid_at       INTEGER NOT NULL DEFAULT 0,
    shipped_at    INTEGER NOT NULL DEFAULT 0,
    signed_at     INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1)
);
CREATE UNIQUE INDEX orders_platform_no_key ON orders (platform_id, order_no);
CREATE INDEX orders_shop_idx ON orders (shop_id, paid_at);
CREATE INDEX orders_seller_idx ON orders (seller_id, paid_at);
CREATE INDEX orders_waybill_idx ON orders (waybill) WHERE waybill <> '';

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
);
CREATE INDEX order_items_batch_idx ON order_items (gtin, batch);

-- +goose Down
DROP TABLE order_items;
DROP TABLE orders;
