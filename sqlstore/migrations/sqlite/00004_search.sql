-- Full-text search over subject names (SQLite). The PostgreSQL twin is
-- ../postgres/00004_search.sql.
--
--   * subject_search holds, per subject (rowid = subjects.id), the search
--     tokens computed in Go by disclosure.IndexText: CJK bigrams, other
--     words lower-cased, the credit code, separated by spaces. FTS5's
--     unicode61 tokenizer only splits them again on the spaces, so the
--     database matches whole tokens and both engines find the same rows.
--   * The store keeps it in step inside every subject write (sqlstore
--     subjects.go → search.go). Rows that existed before this migration
--     are indexed by (*DB).EnsureSearchIndex, which app runs at start-up:
--     tokenising happens in Go, not in SQL.

-- +goose Up
CREATE VIRTUAL TABLE subject_search USING fts5(tokens, tokenize = 'unicode61 remove_diacritics 0');

-- +goose Down
DROP TABLE subject_search;
