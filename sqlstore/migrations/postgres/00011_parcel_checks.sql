-- Tracking events of logistics (M4): the parcel of every event is checked
-- once a statement instead of once a row. Kept in step with
-- ../sqlite/00011_parcel_checks.sql.
--
--   * The foreign key parcel_events.parcel_id → parcels.id ran its check
--     (a query and a row lock on the parcel) once an event: 18 of 33 ms of
--     a 1000-event INSERT. In its place a statement-level trigger refuses
--     the whole statement when any new event names no parcel (SQLSTATE
--     23503, as the foreign key did), one anti-join over the new rows.
--   * What the foreign key also kept, parcels are never deleted (nor
--     truncated) and their id never changes: triggers refuse both. On
--     SQLite, whose foreign key costs little, the key stays and the same
--     two rules are added.

-- +goose Up
ALTER TABLE parcel_events DROP CONSTRAINT parcel_events_parcel_id_fkey;

-- +goose StatementBegin
CREATE FUNCTION parcel_events_parcel_exists() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_events n WHERE NOT EXISTS (SELECT 1 FROM parcels p WHERE p.id = n.parcel_id)) THEN
        RAISE EXCEPTION 'parcel_events: an event names no parcel'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION parcels_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'parcels are never deleted nor renumbered'
        USING ERRCODE = 'restrict_violation';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER parcel_events_parcel_exists AFTER INSERT ON parcel_events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION parcel_events_parcel_exists();
CREATE TRIGGER parcels_no_delete BEFORE DELETE ON parcels
    FOR EACH ROW EXECUTE FUNCTION parcels_kept();
CREATE TRIGGER parcels_no_truncate BEFORE TRUNCATE ON parcels
    FOR EACH STATEMENT EXECUTE FUNCTION parcels_kept();
CREATE TRIGGER parcels_keep_id BEFORE UPDATE OF id ON parcels
    FOR EACH ROW WHEN (NEW.id <> OLD.id) EXECUTE FUNCTION parcels_kept();

-- +goose Down
DROP TRIGGER parcels_keep_id ON parcels;
DROP TRIGGER parcels_no_truncate ON parcels;
DROP TRIGGER parcels_no_delete ON parcels;
DROP TRIGGER parcel_events_parcel_exists ON parcel_events;
DROP FUNCTION parcels_kept();
DROP FUNCTION parcel_events_parcel_exists();
ALTER TABLE parcel_events ADD CONSTRAINT parcel_events_parcel_id_fkey FOREIGN KEY (parcel_id) REFERENCES parcels (id);
