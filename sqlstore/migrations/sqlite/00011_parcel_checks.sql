-- Tracking events of logistics (M4). Kept in step with
-- ../postgres/00011_parcel_checks.sql, which replaces the foreign key
-- parcel_events.parcel_id → parcels.id (a check once a row, costly there)
-- by a check once a statement. On SQLite the foreign key costs little and
-- stays; both engines now also refuse to delete a parcel or change its id
-- (parcels are never deleted nor renumbered).

-- +goose Up
-- +goose StatementBegin
CREATE TRIGGER parcels_no_delete BEFORE DELETE ON parcels
BEGIN
    SELECT RAISE(ABORT, 'parcels are never deleted nor renumbered');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER parcels_keep_id BEFORE UPDATE OF id ON parcels
WHEN NEW.id <> OLD.id
BEGIN
    SELECT RAISE(ABORT, 'parcels are never deleted nor renumbered');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER parcels_keep_id;
DROP TRIGGER parcels_no_delete;
