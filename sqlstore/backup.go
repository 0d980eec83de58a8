package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"ecredit/errs"
)

// The store side of `ecredit backup` and `ecredit restore`: an online,
// consistent copy of a SQLite database (VACUUM INTO, one read transaction
// while the server goes on writing), an exported PostgreSQL snapshot for
// pg_dump --snapshot, and the row counts of every table as the backup saw
// them, which a restore must reproduce exactly.

// TableCounts maps every table of the store (SQLite shadow tables of a
// full-text index excepted) to its number of rows.
type TableCounts map[string]int64

// LedgerSize is the number of ledger entries in c.
func (c TableCounts) LedgerSize() int64 { return c["ledger_entries"] }

// Diff names every table whose count differs between want and c (a table
// missing on one side counts as a difference), sorted by name.
func (c TableCounts) Diff(want TableCounts) []string {
	var out []string
	for name, n := range want {
		got, ok := c[name]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: 备份中 %d 行，恢复后缺少该表 (table missing)", name, n))
		case got != n:
			out = append(out, fmt.Sprintf("%s: 备份中 %d 行，恢复后 %d 行 (%d rows in the backup, %d restored)", name, n, got, n, got))
		}
	}
	for name, n := range c {
		if _, ok := want[name]; !ok {
			out = append(out, fmt.Sprintf("%s: 备份中没有该表，恢复后 %d 行 (table not in the backup)", name, n))
		}
	}
	slices.Sort(out)
	return out
}

// TableCounts counts the rows of every table of the store.
func (db *DB) TableCounts(ctx context.Context) (TableCounts, error) {
	return tableCounts(ctx, db.r, db.d.name)
}

// tableCounts counts the rows of every table q sees (in the current schema
// on PostgreSQL).
func tableCounts(ctx context.Context, q querier, engine string) (TableCounts, error) {
	const op = "sqlstore.TableCounts"
	list := "SELECT tablename, false FROM pg_tables WHERE schemaname = current_schema()"
	if engine == EngineSQLite {
		list = "SELECT name, sql LIKE 'CREATE VIRTUAL TABLE%' FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
	}
	rows, err := q.QueryContext(ctx, list)
	if err != nil {
		return nil, mapErr(op, err)
	}
	var names, virtual []string
	for rows.Next() {
		var name string
		var isVirtual bool
		if err := rows.Scan(&name, &isVirtual); err != nil {
			rows.Close()
			return nil, mapErr(op, err)
		}
		names = append(names, name)
		if isVirtual {
			virtual = append(virtual, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, mapErr(op, err)
	}
	out := TableCounts{}
	for _, name := range names {
		// A full-text index's shadow tables (subject_search_data, …) are
		// its storage, counted through the index itself.
		if slices.ContainsFunc(virtual, func(v string) bool { return strings.HasPrefix(name, v+"_") }) {
			continue
		}
		var n int64
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM "`+strings.ReplaceAll(name, `"`, `""`)+`"`).Scan(&n); err != nil {
			return nil, mapErr(op, err)
		}
		out[name] = n
	}
	return out, nil
}

// IsEmpty reports whether the database holds no table at all (a SQLite
// file that does not exist or has no schema; a PostgreSQL database whose
// current schema has no table): what a restore may write into.
func (db *DB) IsEmpty(ctx context.Context) (bool, error) {
	q := "SELECT COUNT(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
	if db.d.name == EngineSQLite {
		q = "SELECT COUNT(*) FROM sqlite_master"
	}
	var n int64
	if err := db.r.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return false, mapErr("sqlstore.IsEmpty", err)
	}
	return n == 0, nil
}

// BackupSQLite writes a consistent copy of the SQLite database to dest (a
// file that must not exist) with VACUUM INTO: one read transaction, so the
// copy is the database at one instant while writers go on, compacted and
// without a WAL. It returns the row counts of the copy.
func (db *DB) BackupSQLite(ctx context.Context, dest string) (TableCounts, error) {
	const op = "sqlstore.BackupSQLite"
	if db.d.name != EngineSQLite {
		return nil, &errs.Error{Code: errs.Invalid, Op: op, Message: "VACUUM INTO 仅适用于 SQLite (SQLite only)"}
	}
	if _, err := os.Stat(dest); err == nil {
		return nil, &errs.Error{Code: errs.Conflict, Op: op, Field: "out", Message: fmt.Sprintf("备份文件 %s 已存在 (backup file exists)", dest)}
	}
	// The reader pool is query_only, which refuses VACUUM INTO, and the
	// single writer belongs to the server's writes: the copy is made on a
	// connection of its own (in WAL mode a reader beside the writers).
	var seq int
	var schema, src string
	if err := db.r.QueryRowContext(ctx, "PRAGMA database_list").Scan(&seq, &schema, &src); err != nil {
		return nil, mapErr(op, err)
	}
	conn, err := sql.Open("sqlite", src+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		os.Remove(dest)
		return nil, mapErr(op, err)
	}
	cp, err := OpenSQLiteReadOnly(dest)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	defer cp.Close()
	if err := IntegrityCheck(ctx, cp); err != nil {
		return nil, errs.Wrap(op, err)
	}
	return tableCounts(ctx, cp, EngineSQLite)
}

// OpenSQLiteReadOnly opens the existing SQLite file at path for queries
// only (one connection, no migration, no schema created): for inspecting a backup or
// the file a stopped server left.
func OpenSQLiteReadOnly(path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, &errs.Error{Code: errs.NotFound, Op: "sqlstore.OpenSQLiteReadOnly", Message: fmt.Sprintf("SQLite 文件 %s 不存在 (no such file)", path), Err: err}
	}
	// query_only rather than a read-only open: a file left by a killed
	// writer may need its WAL recovered first, which a read-only open
	// cannot do.
	d, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		return nil, errs.Wrap("sqlstore.OpenSQLiteReadOnly", err)
	}
	d.SetMaxOpenConns(1)
	return d, nil
}

// IntegrityCheck runs PRAGMA integrity_check on a SQLite database (or in
// a transaction on one) and returns an Internal error listing what it
// found unless the answer is "ok".
func IntegrityCheck(ctx context.Context, d interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}) error {
	const op = "sqlstore.IntegrityCheck"
	rows, err := d.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return mapErr(op, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return mapErr(op, err)
		}
		lines = append(lines, s)
	}
	if err := rows.Err(); err != nil {
		return mapErr(op, err)
	}
	if len(lines) == 1 && lines[0] == "ok" {
		return nil
	}
	return &errs.Error{Code: errs.Internal, Op: op, Message: "SQLite 完整性检查未通过 (integrity check failed): " + strings.Join(lines, "; ")}
}

// WithSnapshot runs fn while a read-only REPEATABLE READ transaction holds
// an exported PostgreSQL snapshot: fn gets the snapshot's name (for
// `pg_dump --snapshot`) and the row counts of every table in that same
// snapshot, so a dump made inside fn matches the counts exactly however
// busy the database is.
func (db *DB) WithSnapshot(ctx context.Context, fn func(snapshot string, counts TableCounts) error) error {
	const op = "sqlstore.WithSnapshot"
	if db.d.name != EnginePostgres {
		return &errs.Error{Code: errs.Invalid, Op: op, Message: "导出快照仅适用于 PostgreSQL (PostgreSQL only)"}
	}
	tx, err := db.w.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return mapErr(op, err)
	}
	defer tx.Rollback()
	var snap string
	if err := tx.QueryRowContext(ctx, "SELECT pg_export_snapshot()").Scan(&snap); err != nil {
		return mapErr(op, err)
	}
	counts, err := tableCounts(ctx, tx, EnginePostgres)
	if err != nil {
		return err
	}
	if err := fn(snap, counts); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return mapErr(op, err)
	}
	return nil
}

// ServerVersion returns the PostgreSQL server's major version (e.g. 15),
// so that the matching pg_dump and pg_restore can be chosen; 0 on SQLite.
func (db *DB) ServerVersion(ctx context.Context) (int, error) {
	if db.d.name != EnginePostgres {
		return 0, nil
	}
	var n int
	if err := db.r.QueryRowContext(ctx, "SELECT current_setting('server_version_num')::int").Scan(&n); err != nil {
		return 0, mapErr("sqlstore.ServerVersion", err)
	}
	return n / 10000, nil
}
