-- Product traceability (M10, package trace). Kept column for column
-- identical to ../postgres/00008_trace.sql.
--
--   * trace_products: one row per GTIN (code.ParseGTIN's normalised form,
--     not padded), with its producer subject and category.
--   * trace_batches: one row per (gtin, batch); status 'normal' or
--     'recalled'. Dates are 'YYYY-MM-DD' in Asia/Shanghai.
--   * trace_events: EPCIS-style events (what: gtin+batch; when: at; where:
--     region, subject, shop; why: biz_step, disposition; ref: an
--     inspection report number, an order number, a waybill, a record id).
--     (source_key, event_id) is unique: ingest is idempotent by the source
--     and its own event id. Append-only (triggers).
--   * trace_recalls: one per recalled batch, linking the credit record
--     (package record, type other) that carries the recall into the ledger
--     and the change feed.
--   * Orders are read from orders / order_items (00005, package trade).

-- +goose Up
CREATE TABLE trace_products (
    id           INTEGER PRIMARY KEY,
    gtin         TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    category     TEXT    NOT NULL,
    brand        TEXT    NOT NULL DEFAULT '',
    spec         TEXT    NOT NULL DEFAULT '',
    producer_id  INTEGER NOT NULL REFERENCES subjects (id),
    created_by   INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX trace_products_gtin_key ON trace_products (gtin);
CREATE INDEX trace_products_producer_idx ON trace_products (producer_id, id);

CREATE TABLE trace_batches (
    id           INTEGER PRIMARY KEY,
    product_id   INTEGER NOT NULL REFERENCES trace_products (id),
    gtin         TEXT    NOT NULL,
    batch        TEXT    NOT NULL,
    produced_on  TEXT    NOT NULL,
    expires_on   TEXT    NOT NULL DEFAULT '',
    quantity     INTEGER NOT NULL DEFAULT 0 CHECK (quantity >= 0),
    producer_id  INTEGER NOT NULL REFERENCES subjects (id),
    status       TEXT    NOT NULL,
    created_by   INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX trace_batches_key ON trace_batches (gtin, batch);
CREATE INDEX trace_batches_producer_idx ON trace_batches (producer_id, id);

CREATE TABLE trace_events (
    id           INTEGER PRIMARY KEY,
    source_key   TEXT    NOT NULL,
    event_id     TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    gtin         TEXT    NOT NULL,
    batch        TEXT    NOT NULL,
    at           INTEGER NOT NULL,
    region       TEXT    NOT NULL DEFAULT '',
    subject_id   INTEGER NOT NULL DEFAULT 0,
    shop_id      INTEGER NOT NULL DEFAULT 0,
    biz_step     TEXT    NOT NULL,
    disposition  TEXT    NOT NULL DEFAULT '',
    ref_type     TEXT    NOT NULL DEFAULT '',
    ref          TEXT    NOT NULL DEFAULT '',
    quantity     INTEGER NOT NULL DEFAULT 0 CHECK (quantity >= 0),
    note         TEXT    NOT NULL DEFAULT '',
    actor_id     INTEGER NOT NULL DEFAULT 0,
    actor_name   TEXT    NOT NULL DEFAULT '',
    recorded_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX trace_events_source_key ON trace_events (source_key, event_id);
CREATE INDEX trace_events_batch_idx ON trace_events (gtin, batch, at, id);

-- +goose StatementBegin
CREATE TRIGGER trace_events_no_update BEFORE UPDATE ON trace_events
BEGIN
    SELECT RAISE(ABORT, 'trace_events is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER trace_events_no_delete BEFORE DELETE ON trace_events
BEGIN
    SELECT RAISE(ABORT, 'trace_events is append-only');
END;
-- +goose StatementEnd

CREATE TABLE trace_recalls (
    id           INTEGER PRIMARY KEY,
    batch_id     INTEGER NOT NULL REFERENCES trace_batches (id),
    gtin         TEXT    NOT NULL,
    batch        TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    record_id    INTEGER NOT NULL REFERENCES records (id),
    actor_id     INTEGER NOT NULL DEFAULT 0,
    actor_name   TEXT    NOT NULL DEFAULT '',
    role         TEXT    NOT NULL DEFAULT '',
    orders       INTEGER NOT NULL DEFAULT 0,
    quantity     INTEGER NOT NULL DEFAULT 0,
    platforms    TEXT    NOT NULL,
    recalled_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX trace_recalls_batch_key ON trace_recalls (batch_id);

-- +goose Down
DROP TABLE trace_recalls;
DROP TABLE trace_events;
DROP TABLE trace_batches;
DROP TABLE trace_products;
