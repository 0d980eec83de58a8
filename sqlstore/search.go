package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"ecredit/disclosure"
	"ecredit/errs"
	"ecredit/registry"
)

// Full-text search over subject names (migration 00004). The tokens are
// computed in Go by disclosure.IndexText and kept in subject_search:
// an FTS5 table on SQLite (rowid = subject id), a tsvector with a GIN index
// on PostgreSQL. Every subject write updates the row in its own
// transaction (see indexSubjectTx, called from subjects.go); Reindex
// rebuilds the table from the subjects.

// *DB is disclosure's store.
var _ disclosure.Store = (*DB)(nil)

// searchInsert returns the statement that writes one index row
// (id, tokens).
func (db *DB) searchInsert() string {
	if db.d.name == EnginePostgres {
		return `INSERT INTO subject_search (subject_id, tokens, tsv) VALUES ($1, $2::text, array_to_tsvector(string_to_array($2::text, ' ')))
			ON CONFLICT (subject_id) DO UPDATE SET tokens = excluded.tokens, tsv = excluded.tsv`
	}
	return `INSERT INTO subject_search (rowid, tokens) VALUES (?, ?)`
}

// indexSubjectTx writes the search row of subject s (id id) inside the
// transaction of the subject write. fresh says the subject was just
// inserted (no old row to replace).
func (db *DB) indexSubjectTx(ctx context.Context, q querier, id int64, s *registry.Subject, fresh bool) error {
	if db.d.name == EngineSQLite && !fresh {
		if _, err := q.ExecContext(ctx, "DELETE FROM subject_search WHERE rowid = ?", id); err != nil {
			return err
		}
	}
	_, err := q.ExecContext(ctx, db.searchInsert(), id, disclosure.IndexText(s.Name, s.CreditCode))
	return err
}

// searchIndexer writes index rows of new subjects through one prepared
// statement (batches).
type searchIndexer struct{ st *sql.Stmt }

func (db *DB) newSearchIndexer(ctx context.Context, tx *sql.Tx) (*searchIndexer, error) {
	st, err := tx.PrepareContext(ctx, db.searchInsert())
	if err != nil {
		return nil, err
	}
	return &searchIndexer{st: st}, nil
}

func (x *searchIndexer) add(ctx context.Context, id int64, s *registry.Subject) error {
	_, err := x.st.ExecContext(ctx, id, disclosure.IndexText(s.Name, s.CreditCode))
	return err
}

func (x *searchIndexer) close() { x.st.Close() }

// reindexPage is how many subjects Reindex reads at a time.
const reindexPage = 5000

// Reindex rebuilds the whole search index from the subjects in one
// transaction and returns the number of subjects indexed.
func (db *DB) Reindex(ctx context.Context) (int64, error) {
	const op = "sqlstore.Reindex"
	var n int64
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM subject_search"); err != nil {
			return err
		}
		ins, err := db.newSearchIndexer(ctx, tx)
		if err != nil {
			return err
		}
		defer ins.close()
		type row struct {
			id         int64
			name, code string
		}
		after := int64(0)
		for {
			rows, err := tx.QueryContext(ctx, db.d.Rebind("SELECT id, name, COALESCE(credit_code, '') FROM subjects WHERE id > ? ORDER BY id LIMIT ?"), after, reindexPage)
			if err != nil {
				return err
			}
			var page []row
			for rows.Next() {
				var r row
				if err := rows.Scan(&r.id, &r.name, &r.code); err != nil {
					rows.Close()
					return err
				}
				page = append(page, r)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, r := range page {
				if err := ins.add(ctx, r.id, &registry.Subject{Name: r.name, CreditCode: r.code}); err != nil {
					return err
				}
			}
			n += int64(len(page))
			if len(page) < reindexPage {
				return nil
			}
			after = page[len(page)-1].id
		}
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// EnsureSearchIndex rebuilds the search index when it does not hold one
// row per subject — after migration 00004 on a database that already had
// subjects, or after rows were written around the store. It reports
// whether it rebuilt. app runs it at start-up, after Migrate.
func (db *DB) EnsureSearchIndex(ctx context.Context) (bool, error) {
	const op = "sqlstore.EnsureSearchIndex"
	var subjects, indexed int64
	if err := db.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM subjects").Scan(&subjects); err != nil {
		return false, mapErr(op, err)
	}
	if err := db.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM subject_search").Scan(&indexed); err != nil {
		return false, mapErr(op, err)
	}
	if subjects == indexed {
		return false, nil
	}
	if _, err := db.Reindex(ctx); err != nil {
		return false, errs.Wrap(op, err)
	}
	return true, nil
}

// maxRune is the largest code point: q + maxRune bounds the names that
// start with q (byte order, SQLite BINARY and PostgreSQL COLLATE "C").
const maxRune = "\U0010FFFF"

// SearchSubjects runs a tokenised search: the subjects whose index row has
// every token, filtered by kind and region prefix, ranked in two buckets so
// that no query sorts all its matches:
//
//  1. names starting with s.Name (an exact name first), in name order —
//     an index range scan on subjects.name that stops after the page;
//  2. every other match in id order — FTS5 yields rowids in order; on
//     PostgreSQL the GIN match is sorted by id for the page.
//
// A credit-code query (s.Code) has its single subject through the code
// token. s.Offset and s.Limit page over the concatenation.
func (db *DB) SearchSubjects(ctx context.Context, s disclosure.SearchSpec) ([]*registry.Subject, error) {
	const op = "sqlstore.SearchSubjects"
	if len(s.Tokens) == 0 {
		return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "q", Message: "查询内容为空 (empty query)"}
	}
	for _, t := range s.Tokens {
		if t == "" || strings.ContainsAny(t, "\"' \t\r\n\\") {
			return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "q", Message: "查询词无效 (invalid search token)"}
		}
	}
	limit, offset := clampLimit(s.Limit, 20, 1000), max(s.Offset, 0)
	var filter string
	var fargs []any
	if s.Kind != "" {
		filter += " AND subjects.kind = ?"
		fargs = append(fargs, string(s.Kind))
	}
	if s.Region != "" {
		filter += ` AND subjects.region_code LIKE ? ESCAPE '\'`
		fargs = append(fargs, likeEscape(s.Region)+"%")
	}
	name := "subjects.name"
	if db.d.name == EnginePostgres {
		name = `subjects.name COLLATE "C"`
	}
	var out []*registry.Subject
	prefix := s.Name != "" && s.Code == ""
	if prefix {
		// Bucket 1: read up to offset+limit names starting with the query.
		args := append([]any{s.Name, s.Name + maxRune}, fargs...)
		args = append(args, offset+limit)
		got, err := db.querySubjects(ctx, "SELECT "+qualified("subjects", subjectCols)+" FROM subjects WHERE "+name+" >= ? AND "+name+" < ?"+
			filter+" ORDER BY "+name+", subjects.id LIMIT ?", args...)
		if err != nil {
			return nil, mapErr(op, err)
		}
		if len(got) > offset {
			out = got[offset:]
		}
		if len(got) == offset+limit {
			return out, nil
		}
		offset = max(offset-len(got), 0)
		limit -= len(out)
	}
	// Bucket 2: the other matches, by id.
	var match, from string
	if db.d.name == EnginePostgres {
		qs := make([]string, len(s.Tokens))
		for i, t := range s.Tokens {
			qs[i] = "'" + t + "'"
		}
		match = strings.Join(qs, " & ")
		from = "subject_search JOIN subjects ON subjects.id = subject_search.subject_id WHERE subject_search.tsv @@ ?::tsquery"
	} else {
		qs := make([]string, len(s.Tokens))
		for i, t := range s.Tokens {
			qs[i] = `"` + t + `"`
		}
		match = strings.Join(qs, " AND ")
		from = "subject_search JOIN subjects ON subjects.id = subject_search.rowid WHERE subject_search MATCH ?"
	}
	args := append([]any{match}, fargs...)
	q := "SELECT " + qualified("subjects", subjectCols) + " FROM " + from + filter
	if prefix {
		q += " AND NOT (" + name + " >= ? AND " + name + " < ?)"
		args = append(args, s.Name, s.Name+maxRune)
	}
	// SQLite: ordering by the FTS rowid lets FTS5 stream its matches in
	// order and stop after the page, instead of sorting them all.
	order := "subject_search.rowid"
	if db.d.name == EnginePostgres {
		order = "subject_search.subject_id"
	}
	q += " ORDER BY " + order + " LIMIT ? OFFSET ?"
	args = append(args, limit, offset)
	got, err := db.querySubjects(ctx, q, args...)
	if err != nil {
		return nil, mapErr(op, err)
	}
	return append(out, got...), nil
}

func (db *DB) querySubjects(ctx context.Context, q string, args ...any) ([]*registry.Subject, error) {
	var out []*registry.Subject
	err := db.eachRow(ctx, db.r, q, args, func(rows *sql.Rows) error {
		sub, err := scanSubject(rows)
		if err == nil {
			out = append(out, sub)
		}
		return err
	})
	return out, err
}

// qualified prefixes every column of a comma-separated list with table.
func qualified(table, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = table + "." + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}
