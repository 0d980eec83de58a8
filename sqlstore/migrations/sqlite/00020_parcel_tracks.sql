-- A parcel's tracking events live with the parcel, as one append-only log
-- a parcel (M4, issue 3), kept in step with ../postgres/00020_parcel_tracks.sql.
--
--   * parcel_tracks holds one row a parcel that has events: its log, one
--     line an event in the order they were stored, each line a JSON array
--     [at, type, region, detail, courier_code, note, account_id,
--     recorded_at] and a newline (instants in unix microseconds, UTC).
--     It replaces parcel_events, a row an event with its own id, key and
--     index: a batch of events then cost a row and two index entries an
--     event on top of the parcels' state; now it costs a row a parcel,
--     which the state update of the same parcel was paying for anyway.
--   * The log only grows: an update must keep the old log as its prefix
--     and the parcel it belongs to; rows are never deleted (triggers).
--   * (parcel, time, type) stays unique, now kept by the store's writer:
--     events are appended only together with the parcel's state, whose
--     version is checked (logistics.Store.AppendEvents), so whoever
--     appends has judged the events against the parcel's stored keys as
--     they stand. A parcel's first events insert its row (a second first
--     insert is a key clash: a Conflict judged again); later ones append.
--   * Parcels are never deleted nor renumbered (00011), so the foreign
--     key cannot dangle.

-- +goose Up
CREATE TABLE parcel_tracks (
    parcel_id  INTEGER PRIMARY KEY REFERENCES parcels (id),
    log        TEXT    NOT NULL CHECK (log <> '')
);

INSERT INTO parcel_tracks (parcel_id, log)
SELECT parcel_id, group_concat(json_array(at, type, region, detail, courier_code, note, account_id, recorded_at) || char(10), '' ORDER BY at, id)
FROM parcel_events GROUP BY parcel_id;

DROP TABLE parcel_events;

-- +goose StatementBegin
CREATE TRIGGER parcel_tracks_append_only BEFORE UPDATE ON parcel_tracks
WHEN NEW.parcel_id IS NOT OLD.parcel_id OR substr(NEW.log, 1, length(OLD.log)) IS NOT OLD.log
BEGIN
    SELECT RAISE(ABORT, 'parcel_tracks is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER parcel_tracks_no_delete BEFORE DELETE ON parcel_tracks
BEGIN
    SELECT RAISE(ABORT, 'parcel_tracks is append-only');
END;
-- +goose StatementEnd

-- +goose Down
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

INSERT INTO parcel_events (parcel_id, type, at, region, detail, courier_code, note, account_id, recorded_at)
WITH RECURSIVE line (parcel_id, n, ev, rest) AS (
    SELECT parcel_id, 0, '', log FROM parcel_tracks
    UNION ALL
    SELECT parcel_id, n + 1, substr(rest, 1, instr(rest, char(10)) - 1), substr(rest, instr(rest, char(10)) + 1)
    FROM line WHERE rest <> ''
)
SELECT parcel_id, json_extract(ev, '$[1]'), json_extract(ev, '$[0]'), json_extract(ev, '$[2]'), json_extract(ev, '$[3]'),
       json_extract(ev, '$[4]'), json_extract(ev, '$[5]'), json_extract(ev, '$[6]'), json_extract(ev, '$[7]')
FROM line WHERE n > 0 ORDER BY parcel_id, n;

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

DROP TABLE parcel_tracks;
