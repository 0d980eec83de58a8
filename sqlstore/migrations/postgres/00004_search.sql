-- Full-text search over subject names (PostgreSQL). The SQLite twin is
-- ../sqlite/00004_search.sql.
--
--   * subject_search holds, per subject, the search tokens computed in Go
--     by disclosure.IndexText (CJK bigrams, other words lower-cased, the
--     credit code, separated by spaces) and their tsvector with a GIN
--     index. The tsvector is built with array_to_tsvector over the
--     space-separated tokens, not to_tsvector: the text search parser
--     depends on the database's locale (under LC_CTYPE=C it does not see
--     Chinese characters as letters), array_to_tsvector takes the tokens
--     verbatim, as the 'simple' configuration would with a suitable locale.
--   * The store keeps it in step inside every subject write. Rows that
--     existed before this migration are indexed by
--     (*DB).EnsureSearchIndex, which app runs at start-up.
--   * subjects_name_c_idx serves the "name starts with the query" bucket of
--     the ranking (a range scan in byte order, like SQLite's BINARY
--     subjects_name_idx), whatever the database's collation.

-- +goose Up
CREATE TABLE subject_search (
    subject_id  BIGINT   PRIMARY KEY REFERENCES subjects (id),
    tokens      TEXT     NOT NULL,
    tsv         tsvector NOT NULL
);
CREATE INDEX subject_search_tsv_idx ON subject_search USING GIN (tsv);
CREATE INDEX subjects_name_c_idx ON subjects (name COLLATE "C");

-- +goose Down
DROP INDEX subjects_name_c_idx;
DROP TABLE subject_search;
