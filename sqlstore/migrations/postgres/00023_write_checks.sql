-- A check a data-modifying statement makes of its own results (issue 3).
-- Kept in step with ../sqlite/00023_write_checks.sql, which has nothing
-- to add: SQLite's writes check their row counts between statements.
--
--   * ecredit_check(ok, state, message) is true when ok is, and otherwise
--     raises an error with SQLSTATE state (class EC, not used by
--     PostgreSQL) and message. A write whose statements go to the server
--     in one pipeline (sqlstore.DB.pipeline: one round trip, one implicit
--     transaction) cannot look at a statement's row counts before the next
--     runs or the transaction commits; the statement checks them itself,
--     and its error rolls the whole pipeline back.
--       EC409: a row changed concurrently (a stale version; a conflict);
--       EC500: rows the write relies on are missing (an internal error).

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION ecredit_check(ok boolean, state text, message text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION USING ERRCODE = state, MESSAGE = message;
    END IF;
    RETURN true;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION ecredit_check(boolean, text, text);
