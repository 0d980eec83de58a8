// Package sqlstore is ecredit's one store over database/sql, for two engines:
// SQLite (modernc.org/sqlite, embedded default) and PostgreSQL (pgx v5,
// production). It implements registry.Store, account.Store and audit.Store
// with hand-written SQL in the subset both engines share; the few
// differences live in the Dialect type.
//
// SQLite is opened the PocketBase way: one writer connection (all writes,
// each in an IMMEDIATE transaction) and a separate read-only reader pool, in
// WAL mode. PostgreSQL uses one pool for both.
//
// Storage conventions, identical on both engines:
//   - times are BIGINT unix microseconds in UTC, 0 for the zero time; times
//     written through the store are truncated to microseconds and set to UTC
//     on the caller's struct, so what was written equals what is read back;
//   - optional unique values (credit code, ID-number index, mark, login,
//     platform shop id) are NULL when empty;
//   - verifications and audit_log are append-only, enforced by triggers.
//
// Every write method runs in one transaction together with the audit entry
// it is given.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers driver "pgx"
	_ "modernc.org/sqlite"             // registers driver "sqlite"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/clock"
	"ecredit/errs"
	"ecredit/registry"
)

// Compile-time checks that *DB is all three stores.
var (
	_ registry.Store = (*DB)(nil)
	_ account.Store  = (*DB)(nil)
	_ audit.Store    = (*DB)(nil)
)

// Engine names.
const (
	EngineSQLite   = "sqlite"
	EnginePostgres = "postgres"
)

// DB is an open store.
type DB struct {
	w, r *sql.DB // writer and reader; the same pool on PostgreSQL
	d    Dialect

	mu    sync.RWMutex
	clock clock.Clock

	stmts     stmtCache                // statements prepared once per store (cachedStmt)
	auditStmt atomic.Pointer[sql.Stmt] // SQLite: insertAudit on the writer, once it exists (write)

	states *parcelStateCache // parcels' state for judging events (ParcelStates)
	stateW sqliteStateWriter // SQLite: AppendEvents' UPDATEs of parcels' state

	// The forward-trace index (postings.go): order items stored since
	// the last indexing step, and how many call for the next one.
	pendingCount, indexEvery atomic.Int64
}

// stmtCache holds statements prepared once on one of the store's pools
// and reused: on SQLite, parsing a 250-row INSERT costs about a third of
// running it (the event ingest).
type stmtCache struct {
	mu sync.Mutex
	m  map[stmtKey]*sql.Stmt
}

type stmtKey struct {
	pool *sql.DB
	q    string
}

// preparedStmt returns the statement q if cachedStmt has prepared it on
// pool, else nil. It never prepares, so it is safe inside a transaction on
// SQLite's one writer connection.
func (db *DB) preparedStmt(pool *sql.DB, q string) *sql.Stmt {
	db.stmts.mu.Lock()
	defer db.stmts.mu.Unlock()
	return db.stmts.m[stmtKey{pool, q}]
}

// cachedStmt returns the statement q prepared on pool (db.w or db.r),
// preparing it the first time. On the writer, call it outside a write
// transaction (it may need the pool's one connection); inside,
// tx.StmtContext binds it to the transaction, on that same connection,
// without preparing it again.
func (db *DB) cachedStmt(ctx context.Context, pool *sql.DB, q string) (*sql.Stmt, error) {
	c := &db.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	k := stmtKey{pool, q}
	if st := c.m[k]; st != nil {
		return st, nil
	}
	st, err := pool.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[stmtKey]*sql.Stmt{}
	}
	c.m[k] = st
	return st, nil
}

// maxCachedReads bounds the readers' statements cachedRead keeps: each
// is prepared on every reader connection that runs it (eight at most).
// Statements of more than maxCachedParams parameters (long IN lists, a
// length each) are not kept: their run outweighs their preparing.
const (
	maxCachedReads  = 256
	maxCachedParams = 64
)

// cachedRead returns the readers' statement for q prepared once per store
// on SQLite (cachedStmt), or nil — on PostgreSQL, whose driver keeps its
// prepared statements itself, and once maxCachedReads statements are
// kept. Preparing was a third of the CPU of the public profile reads
// (bench/scale): a 30-column SELECT took half of a 40 µs lookup by key,
// and the rolling windows' statement four fifths of its run.
func (db *DB) cachedRead(ctx context.Context, q string) (*sql.Stmt, error) {
	if db.d.name != EngineSQLite || strings.Count(q, "?") > maxCachedParams {
		return nil, nil
	}
	if st := db.preparedStmt(db.r, q); st != nil {
		return st, nil
	}
	db.stmts.mu.Lock()
	full := len(db.stmts.m) >= maxCachedReads
	db.stmts.mu.Unlock()
	if full {
		return nil, nil
	}
	return db.cachedStmt(ctx, db.r, q)
}

// readQuery runs q ('?' markers) on the readers, through cachedRead's
// statement when there is one.
func (db *DB) readQuery(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := db.cachedRead(ctx, q)
	if err != nil {
		return nil, err
	}
	if st != nil {
		return st.QueryContext(ctx, args...)
	}
	return db.r.QueryContext(ctx, db.d.Rebind(q), args...)
}

// readRow is readQuery for one row. A statement that cannot be prepared
// is run as it is, so that its error comes out of Scan.
func (db *DB) readRow(ctx context.Context, q string, args ...any) *sql.Row {
	if st, err := db.cachedRead(ctx, q); err == nil && st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.r.QueryRowContext(ctx, db.d.Rebind(q), args...)
}

// sqlitePragmas are applied to every SQLite connection, busy_timeout first
// (the driver orders it first) so that the others never fail with
// SQLITE_BUSY.
var sqlitePragmas = []string{
	"busy_timeout(10000)",
	"journal_mode(WAL)",
	"journal_size_limit(200000000)",
	// Every commit syncs the WAL before it returns: an answer that says
	// "stored" (a 201, a batch line created, an import's progress line, a
	// ledger checkpoint signed over the entry) must survive an OS crash or
	// a power cut, not only the process's death. With NORMAL a commit
	// acknowledged since the last checkpoint may roll back after a power
	// cut (sqlite.org/pragma.html#pragma_synchronous), so a signed
	// checkpoint could name entries the log no longer holds. The cost is
	// one fsync a transaction; batches (1000 rows a transaction) carry it.
	"synchronous(FULL)",
	// Checkpoint every 10,000 WAL pages (40 MB) instead of 1,000: an index
	// page that many successive batches touch is copied to the database
	// once per checkpoint, not once per 1,000 pages of WAL.
	"wal_autocheckpoint(10000)",
	"foreign_keys(ON)",
	"temp_store(MEMORY)",
	"cache_size(-32000)",
	"mmap_size(268435456)", // 256 MiB of the file mapped: reads skip the page-cache copy
}

// Open opens the store named by dsn:
//   - "postgres://…" or "postgresql://…": PostgreSQL through pgx;
//   - "sqlite:PATH", "file:PATH" or a plain PATH: a SQLite file, created
//     when missing (with its directory).
//
// Open checks the connection but does not migrate; call Migrate.
func Open(ctx context.Context, dsn string) (*DB, error) {
	const op = "sqlstore.Open"
	dsn = strings.TrimSpace(dsn)
	if dsn == "" {
		return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "db", Message: "未指定数据库 (no database given)"}
	}
	db := &DB{clock: clock.System{}, states: newParcelStateCache(parcelStateEntries)}
	db.indexEvery.Store(defaultIndexEvery)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		p, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "db", Message: "PostgreSQL 连接串无效 (invalid PostgreSQL DSN)", Err: err}
		}
		p.SetMaxOpenConns(20)
		p.SetMaxIdleConns(10)
		p.SetConnMaxIdleTime(5 * time.Minute)
		db.w, db.r, db.d = p, p, postgresDialect
	} else {
		path, err := sqlitePath(dsn)
		if err != nil {
			return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "db", Message: err.Error()}
		}
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, &errs.Error{Code: errs.Unavailable, Op: op, Message: "无法创建数据目录 (cannot create the data directory)", Err: err}
			}
		}
		q := url.Values{}
		for _, p := range sqlitePragmas {
			q.Add("_pragma", p)
		}
		wq := url.Values{"_txlock": {"immediate"}}
		for k, v := range q {
			wq[k] = v
		}
		w, err := sql.Open("sqlite", path+"?"+wq.Encode())
		if err != nil {
			return nil, errs.Wrap(op, err)
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxIdleTime(0)
		w.SetConnMaxLifetime(0)
		// The writer connects first so that the file is created and switched
		// to WAL before any reader opens it.
		if err := w.PingContext(ctx); err != nil {
			w.Close()
			return nil, mapErr(op, err)
		}
		rq := url.Values{"_query_only": {"1"}}
		for k, v := range q {
			rq[k] = v
		}
		r, err := sql.Open("sqlite", path+"?"+rq.Encode())
		if err != nil {
			w.Close()
			return nil, errs.Wrap(op, err)
		}
		r.SetMaxOpenConns(8)
		r.SetMaxIdleConns(8)
		r.SetConnMaxIdleTime(5 * time.Minute)
		db.w, db.r, db.d = w, r, sqliteDialect
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, errs.Wrap(op, err)
	}
	return db, nil
}

// sqlitePath extracts the file path from a SQLite DSN.
func sqlitePath(dsn string) (string, error) {
	p := dsn
	switch {
	case strings.HasPrefix(p, "sqlite://"):
		p = strings.TrimPrefix(p, "sqlite://")
	case strings.HasPrefix(p, "sqlite:"):
		p = strings.TrimPrefix(p, "sqlite:")
	case strings.HasPrefix(p, "file://"):
		p = strings.TrimPrefix(p, "file://")
	case strings.HasPrefix(p, "file:"):
		p = strings.TrimPrefix(p, "file:")
	}
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i] // our own parameters replace any given
	}
	if p == "" {
		return "", errors.New("SQLite 数据库路径为空 (empty SQLite path)")
	}
	if p == ":memory:" || strings.Contains(p, "mode=memory") {
		return "", errors.New("不支持内存 SQLite 数据库，请使用文件 (in-memory SQLite is not supported: the writer and the readers must share a file)")
	}
	if strings.Contains(dsn, "://") && !strings.HasPrefix(dsn, "sqlite://") && !strings.HasPrefix(dsn, "file://") {
		return "", fmt.Errorf("不支持的数据库地址「%s」，请使用 postgres://… 或 SQLite 文件路径 (unsupported database URL)", dsn)
	}
	return p, nil
}

// Close closes the pools.
func (db *DB) Close() error {
	var err error
	db.stmts.mu.Lock()
	for k, st := range db.stmts.m {
		err = errors.Join(err, st.Close())
		delete(db.stmts.m, k)
	}
	db.stmts.mu.Unlock()
	if db.w != nil {
		if db.d.name != EnginePostgres {
			err = errors.Join(err, db.stateW.close(db.w))
		}
		err = errors.Join(err, db.w.Close())
	}
	if db.r != nil && db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	return err
}

// Ping checks that the database answers (writer and reader).
func (db *DB) Ping(ctx context.Context) error {
	const op = "sqlstore.Ping"
	if err := db.w.PingContext(ctx); err != nil {
		return mapErr(op, err)
	}
	if db.r != db.w {
		if err := db.r.PingContext(ctx); err != nil {
			return mapErr(op, err)
		}
	}
	return nil
}

// Engine returns "sqlite" or "postgres".
func (db *DB) Engine() string { return db.d.name }

// SetClock sets the clock the store stamps audit entries with (and fills
// zero creation times from). The default is clock.System{}.
func (db *DB) SetClock(c clock.Clock) {
	if c == nil {
		c = clock.System{}
	}
	db.mu.Lock()
	db.clock = c
	db.mu.Unlock()
}

func (db *DB) now() time.Time {
	db.mu.RLock()
	c := db.clock
	db.mu.RUnlock()
	return c.Now().UTC().Truncate(time.Microsecond)
}

// WriterDB returns the pool every write must go through (one connection on
// SQLite).
func (db *DB) WriterDB() *sql.DB { return db.w }

// ReaderDB returns the pool for reads (read-only on SQLite).
func (db *DB) ReaderDB() *sql.DB { return db.r }

// Dialect returns what differs between the engines, for packages that keep
// their own tables in this database.
func (db *DB) Dialect() Dialect { return db.d }

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// write runs fn in one transaction on the writer, mapping every error.
func (db *DB) write(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	db.prepareAudit(ctx)
	tx, err := db.w.BeginTx(ctx, nil)
	return runTx(op, tx, err, fn)
}

// writeConn is write on a connection of the writer held for the
// transaction, which fn may also use below database/sql (Conn.Raw; see
// sqliteStateWriter).
func (db *DB) writeConn(ctx context.Context, op string, fn func(conn *sql.Conn, tx *sql.Tx) error) error {
	db.prepareAudit(ctx)
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return mapErr(op, err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	return runTx(op, tx, err, func(tx *sql.Tx) error { return fn(conn, tx) })
}

// runTx runs fn in tx (begun with err) and commits it, or rolls it back
// when fn fails, mapping every error.
func runTx(op string, tx *sql.Tx, err error, fn func(tx *sql.Tx) error) error {
	if err != nil {
		return mapErr(op, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return mapErr(op, err)
	}
	if err := tx.Commit(); err != nil {
		return mapErr(op, err)
	}
	return nil
}

// prepareAudit prepares insertAudit on SQLite's writer once (appendAudit
// runs it), outside any transaction: inside, the writer's one connection
// is taken. It fails, and is tried again, until the schema has audit_log.
func (db *DB) prepareAudit(ctx context.Context) {
	if db.d.name != EnginePostgres && db.auditStmt.Load() == nil {
		if st, err := db.cachedStmt(ctx, db.w, insertAudit); err == nil {
			db.auditStmt.Store(st)
		}
	}
}

// WriteTx runs fn in one transaction on the writer, for packages that keep
// their own tables in this database. Errors are mapped like the store's.
func (db *DB) WriteTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	return db.write(ctx, op, fn)
}

// exec runs a rebound statement.
func (db *DB) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	return q.ExecContext(ctx, db.d.Rebind(query), args...)
}

// insertID runs an INSERT … RETURNING id and returns the id.
func (db *DB) insertID(ctx context.Context, q querier, query string, args ...any) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, db.d.Rebind(query+" RETURNING id"), args...).Scan(&id)
	return id, err
}

// Times are stored as unix microseconds, 0 for the zero time.

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// norm truncates t to what the store keeps: UTC microseconds.
func norm(t *time.Time) {
	if t.IsZero() {
		*t = time.Time{}
		return
	}
	*t = t.UTC().Truncate(time.Microsecond)
}

// nullStr stores "" as NULL.
func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullID stores 0 as NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// nullBytes stores an empty slice as NULL.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func clampLimit(n, def, max int) int {
	if n <= 0 {
		return def
	}
	if n > max {
		return max
	}
	return n
}
