-- Kept in step with ../postgres/00023_write_checks.sql, which adds the
-- function ecredit_check for writes sent in one pipeline. SQLite's writes
-- run in process and check their row counts between statements: nothing
-- to add here.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
