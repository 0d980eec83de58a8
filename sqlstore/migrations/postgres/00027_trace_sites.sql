-- The register of trace sites (M10, issue 3), kept in step with
-- ../sqlite/00027_trace_sites.sql: a GS1 location — a GLN (13 digits, its
-- check digit verified) and its extension ('' for none) — named by the
-- subject that runs it, so that a trace event's read point and business
-- location (00026) show as a named place of a known subject. A site
-- belongs to one subject; only it (or a department, or the credit office)
-- may rename it. Every change is audited.

-- +goose Up
CREATE TABLE trace_sites (
    gln        TEXT NOT NULL CHECK (length(gln) = 13),
    ext        TEXT NOT NULL DEFAULT '',
    subject_id BIGINT NOT NULL REFERENCES subjects (id),
    name       TEXT NOT NULL CHECK (name <> ''),
    region     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (gln, ext)
);
CREATE INDEX trace_sites_subject_idx ON trace_sites (subject_id, gln, ext);

-- +goose Down
DROP TABLE trace_sites;
