-- Parcels and tracking events of logistics firms (M4). Kept column for
-- column identical to ../postgres/00007_logistics.sql. Package logistics
-- owns their meaning.
--
--   * (firm_id, waybill) is unique: a waybill number is unique within its
--     logistics firm; ingest is idempotent by it.
--   * courier_id is the courier's subject (a person, found by the HMAC
--     index of the ID number; never stored in clear), 0 when the firm
--     names the courier only by its own courier_code.
--   * The parcel's state columns (status … last_event_at) are derived from
--     its events by logistics.Fold and written with them; started_at is
--     the pickup time (the creation time until then) and places the
--     parcel in a metrics window.
--   * parcel_events is append-only (triggers); (parcel_id, at, type) is
--     unique: re-sent events are recognised and not stored twice.
--   * Instants are BIGINT unix microseconds, UTC, 0 for "not yet"; weights
--     are grams; regions are GB/T 2260 codes.

-- +goose Up
CREATE TABLE parcels (
    id             INTEGER PRIMARY KEY,
    firm_id        INTEGER NOT NULL REFERENCES subjects (id),
    waybill        TEXT    NOT NULL,
    weight_g       INTEGER NOT NULL DEFAULT 0 CHECK (weight_g >= 0),
    origin         TEXT    NOT NULL DEFAULT '',
    dest           TEXT    NOT NULL DEFAULT '',
    courier_id     INTEGER NOT NULL DEFAULT 0,
    courier_code   TEXT    NOT NULL DEFAULT '',
    promised_at    INTEGER NOT NULL DEFAULT 0,
    status         TEXT    NOT NULL,
    picked_at      INTEGER NOT NULL DEFAULT 0,
    out_at         INTEGER NOT NULL DEFAULT 0,
    signed_at      INTEGER NOT NULL DEFAULT 0,
    signed_by      TEXT    NOT NULL DEFAULT '',
    returned_at    INTEGER NOT NULL DEFAULT 0,
    lost           INTEGER NOT NULL DEFAULT 0,
    damaged        INTEGER NOT NULL DEFAULT 0,
    exceptions     INTEGER NOT NULL DEFAULT 0,
    complaints     INTEGER NOT NULL DEFAULT 0,
    events         INTEGER NOT NULL DEFAULT 0,
    gap            INTEGER NOT NULL DEFAULT 0,
    last_event_at  INTEGER NOT NULL DEFAULT 0,
    started_at     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    version        INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1)
);
CREATE UNIQUE INDEX parcels_firm_waybill_key ON parcels (firm_id, waybill);
CREATE INDEX parcels_firm_started_idx ON parcels (firm_id, started_at);
CREATE INDEX parcels_courier_idx ON parcels (courier_id, started_at) WHERE courier_id <> 0;

CREATE TABLE parcel_events (
    id            INTEGER PRIMARY KEY,
    parcel_id     INTEGER NOT NULL REFERENCES parcels (id),
    type          TEXT    NOT NULL,
    at            INTEGER NOT NULL,
    region        TEXT    NOT NULL DEFAULT '',
    detail        TEXT    NOT NULL DEFAULT '',
    courier_code  TEXT    NOT NULL DEFAULT '',
    note          TEXT    NOT NULL DEFAULT '',
    account_id    INTEGER NOT NULL DEFAULT 0,
    recorded_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX parcel_events_key ON parcel_events (parcel_id, at, type);

-- +goose StatementBegin
CREATE TRIGGER parcel_events_no_update BEFORE UPDATE ON parcel_events
BEGIN
    SELECT RAISE(ABORT, 'parcel_events is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER parcel_events_no_delete BEFORE DELETE ON parcel_events
BEGIN
    SELECT RAISE(ABORT, 'parcel_events is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE parcel_events;
DROP TABLE parcels;
