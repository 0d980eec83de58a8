package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"ecredit/errs"
	"ecredit/ledger"
)

// *DB keeps the verifiable ledger (tables of migration 00002).
var _ ledger.Store = (*DB)(nil)

// ledgerLockKey is the PostgreSQL advisory lock that serialises ledger
// appends ("ecredit" in ASCII). SQLite needs none: it has one writer
// connection and every write transaction is IMMEDIATE.
const ledgerLockKey int64 = 0x65637265646974

// Rows per multi-row INSERT: 6 parameters per entry row stay far below
// both engines' parameter limits.
const ledgerInsertChunk = 400

// AppendLedger appends entries to the ledger in a transaction of its own.
// See AppendLedgerTx.
func (db *DB) AppendLedger(ctx context.Context, es ...*ledger.Entry) error {
	return db.write(ctx, "sqlstore.AppendLedger", func(tx *sql.Tx) error {
		return db.appendLedgerTx(ctx, tx, es...)
	})
}

// AppendLedgerTx appends entries to the ledger inside tx, the transaction
// that makes the change they record, so that the change and its entries
// commit or roll back together. For packages that keep their own tables in
// this database and write through WriteTx.
func (db *DB) AppendLedgerTx(ctx context.Context, tx *sql.Tx, es ...*ledger.Entry) error {
	return mapErr("sqlstore.AppendLedgerTx", db.appendLedgerTx(ctx, tx, es...))
}

// appendLedgerTx is the primitive every store method that changes a
// ledgered object calls inside its transaction. It fills a zero At from
// the store's clock (and normalises At to UTC microseconds), validates
// every entry, assigns Index = the current log size (in order), and writes
// each entry with the node hashes tlog.StoredHashes returns for it.
//
// On PostgreSQL it first takes a transaction-scoped advisory lock, held
// until tx ends, so that concurrent appends form one sequence; tx must be
// READ COMMITTED (the default) so that the size read after the lock sees
// the previous holder's commit. Call it as late in the transaction as
// possible: it serialises every writer of the ledger until commit.
//
// On error Index is reset to 0 and the caller must roll tx back.
func (db *DB) appendLedgerTx(ctx context.Context, tx *sql.Tx, es ...*ledger.Entry) (err error) {
	if len(es) == 0 {
		return nil
	}
	defer func() {
		if err != nil {
			for _, e := range es {
				e.Index = 0
			}
		}
	}()
	now := db.now()
	for i, e := range es {
		if e.At.IsZero() {
			e.At = now
		}
		norm(&e.At)
		if err := e.Validate(); err != nil {
			if len(es) > 1 {
				fe := errs.All(err)[0]
				return &errs.Error{Code: errs.Invalid, Field: fmt.Sprintf("ledger[%d].%s", i, fe.Field), Message: fe.Message, Err: err}
			}
			return err
		}
	}
	if db.d.name == EnginePostgres {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", ledgerLockKey); err != nil {
			return err
		}
	}
	var size int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(idx), -1) + 1 FROM ledger_entries").Scan(&size); err != nil {
		return err
	}

	// Hashes written by this call, for the later entries of the batch;
	// older ones are read from the table through tx.
	pending := make(map[int64]tlog.Hash, 2*len(es))
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		var need []int64
		for _, x := range idx {
			if _, ok := pending[x]; !ok {
				need = append(need, x)
			}
		}
		got, err := db.readHashes(ctx, tx, need)
		if err != nil {
			return nil, err
		}
		for i, x := range idx {
			if h, ok := pending[x]; ok {
				out[i] = h
			} else {
				out[i] = got[x]
			}
		}
		return out, nil
	})
	var hashIdx []int64
	for i, e := range es {
		e.Index = size + int64(i)
		hs, err := tlog.StoredHashes(e.Index, ledger.Leaf(*e), reader)
		if err != nil {
			return err
		}
		base := tlog.StoredHashIndex(0, e.Index)
		for k, h := range hs {
			pending[base+int64(k)] = h
			hashIdx = append(hashIdx, base+int64(k))
		}
	}

	for start := 0; start < len(es); start += ledgerInsertChunk {
		chunk := es[start:min(start+ledgerInsertChunk, len(es))]
		var b strings.Builder
		b.WriteString("INSERT INTO ledger_entries (idx, kind, object_id, op, content, at) VALUES ")
		args := make([]any, 0, 6*len(chunk))
		for i, e := range chunk {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?, ?, ?, ?, ?, ?)")
			args = append(args, e.Index, e.Kind, e.ObjectID, e.Op, e.Content[:], micros(e.At))
		}
		if _, err := db.exec(ctx, tx, b.String(), args...); err != nil {
			return err
		}
	}
	for start := 0; start < len(hashIdx); start += 3 * ledgerInsertChunk {
		chunk := hashIdx[start:min(start+3*ledgerInsertChunk, len(hashIdx))]
		var b strings.Builder
		b.WriteString("INSERT INTO ledger_hashes (idx, hash) VALUES ")
		args := make([]any, 0, 2*len(chunk))
		for i, x := range chunk {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?, ?)")
			h := pending[x]
			args = append(args, x, h[:])
		}
		if _, err := db.exec(ctx, tx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// readHashes reads the hashes at idx; every one must exist.
func (db *DB) readHashes(ctx context.Context, q querier, idx []int64) (map[int64]tlog.Hash, error) {
	out := make(map[int64]tlog.Hash, len(idx))
	for start := 0; start < len(idx); start += 500 {
		chunk := idx[start:min(start+500, len(idx))]
		args := make([]any, len(chunk))
		for i, x := range chunk {
			args[i] = x
		}
		q2 := "SELECT idx, hash FROM ledger_hashes WHERE idx IN (?" + strings.Repeat(", ?", len(chunk)-1) + ")"
		rows, err := q.QueryContext(ctx, db.d.Rebind(q2), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var x int64
			var h []byte
			if err := rows.Scan(&x, &h); err != nil {
				rows.Close()
				return nil, err
			}
			if len(h) != tlog.HashSize {
				rows.Close()
				return nil, fmt.Errorf("ledger hash %d has %d bytes", x, len(h))
			}
			out[x] = tlog.Hash(h)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	for _, x := range idx {
		if _, ok := out[x]; !ok {
			return nil, &errs.Error{Code: errs.Internal, Message: fmt.Sprintf("账本哈希 %d 缺失 (ledger hash missing)", x)}
		}
	}
	return out, nil
}

// LedgerSize returns the number of ledger entries.
func (db *DB) LedgerSize(ctx context.Context) (int64, error) {
	var n int64
	if err := db.r.QueryRowContext(ctx, "SELECT COALESCE(MAX(idx), -1) + 1 FROM ledger_entries").Scan(&n); err != nil {
		return 0, mapErr("sqlstore.LedgerSize", err)
	}
	return n, nil
}

// ReadHashes returns the ledger hashes at the given storage indexes.
func (db *DB) ReadHashes(ctx context.Context, idx []int64) ([]tlog.Hash, error) {
	const op = "sqlstore.ReadHashes"
	m, err := db.readHashes(ctx, db.r, idx)
	if err != nil {
		return nil, mapErr(op, err)
	}
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m[x]
	}
	return out, nil
}

// HashRange returns the stored hashes with storage index in [from, to).
func (db *DB) HashRange(ctx context.Context, from, to int64) ([]ledger.StoredHash, error) {
	const op = "sqlstore.HashRange"
	rows, err := db.readQuery(ctx, "SELECT idx, hash FROM ledger_hashes WHERE idx >= ? AND idx < ? ORDER BY idx", from, to)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	out := make([]ledger.StoredHash, 0, max(0, min(to-from, 1<<16)))
	for rows.Next() {
		var s ledger.StoredHash
		var h []byte
		if err := rows.Scan(&s.Index, &h); err != nil {
			return nil, mapErr(op, err)
		}
		// A hash of the wrong length (tampering) compares unequal to any
		// real hash: keep what fits, Verify reports the difference.
		copy(s.Hash[:], h)
		if len(h) != tlog.HashSize {
			s.Hash[0] ^= 0xff
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(op, err)
	}
	return out, nil
}

const ledgerEntryCols = "idx, kind, object_id, op, content, at"

func scanLedgerEntries(rows *sql.Rows) ([]ledger.Entry, error) {
	defer rows.Close()
	var out []ledger.Entry
	for rows.Next() {
		var e ledger.Entry
		var content []byte
		var at int64
		if err := rows.Scan(&e.Index, &e.Kind, &e.ObjectID, &e.Op, &content, &at); err != nil {
			return nil, err
		}
		// A content of the wrong length (tampering) cannot equal what is
		// recomputed; mark it so instead of failing the whole read.
		copy(e.Content[:], content)
		if len(content) != len(e.Content) {
			e.Content[0] ^= 0xff
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Entries returns the ledger entries with index in [from, to).
func (db *DB) Entries(ctx context.Context, from, to int64) ([]ledger.Entry, error) {
	rows, err := db.readQuery(ctx, "SELECT "+ledgerEntryCols+" FROM ledger_entries WHERE idx >= ? AND idx < ? ORDER BY idx", from, to)
	if err != nil {
		return nil, mapErr("sqlstore.Entries", err)
	}
	out, err := scanLedgerEntries(rows)
	return out, mapErr("sqlstore.Entries", err)
}

// LedgerEntriesFor returns the ledger entries of one object, oldest first
// (for the inclusion proofs of a subject's records in a credit report).
func (db *DB) LedgerEntriesFor(ctx context.Context, kind string, objectID int64) ([]ledger.Entry, error) {
	rows, err := db.readQuery(ctx, "SELECT "+ledgerEntryCols+" FROM ledger_entries WHERE kind = ? AND object_id = ? ORDER BY idx", kind, objectID)
	if err != nil {
		return nil, mapErr("sqlstore.LedgerEntriesFor", err)
	}
	out, err := scanLedgerEntries(rows)
	return out, mapErr("sqlstore.LedgerEntriesFor", err)
}

func scanCheckpoints(rows *sql.Rows) ([]ledger.Checkpoint, error) {
	defer rows.Close()
	var out []ledger.Checkpoint
	for rows.Next() {
		var c ledger.Checkpoint
		var signed string
		var at int64
		if err := rows.Scan(&c.Size, &signed, &at); err != nil {
			return nil, err
		}
		c.Signed, c.At = []byte(signed), fromMicros(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// LatestCheckpoint returns the checkpoint of the largest size.
func (db *DB) LatestCheckpoint(ctx context.Context) (ledger.Checkpoint, error) {
	const op = "sqlstore.LatestCheckpoint"
	rows, err := db.r.QueryContext(ctx, "SELECT size, signed, at FROM ledger_checkpoints ORDER BY size DESC LIMIT 1")
	if err != nil {
		return ledger.Checkpoint{}, mapErr(op, err)
	}
	cps, err := scanCheckpoints(rows)
	if err != nil {
		return ledger.Checkpoint{}, mapErr(op, err)
	}
	if len(cps) == 0 {
		return ledger.Checkpoint{}, &errs.Error{Code: errs.NotFound, Op: op, Message: "尚无账本检查点 (no ledger checkpoint yet)"}
	}
	return cps[0], nil
}

// Checkpoints returns up to limit checkpoints of size > after, ascending.
func (db *DB) Checkpoints(ctx context.Context, after int64, limit int) ([]ledger.Checkpoint, error) {
	const op = "sqlstore.Checkpoints"
	rows, err := db.readQuery(ctx, "SELECT size, signed, at FROM ledger_checkpoints WHERE size > ? ORDER BY size LIMIT ?",
		after, clampLimit(limit, 100, 10000))
	if err != nil {
		return nil, mapErr(op, err)
	}
	out, err := scanCheckpoints(rows)
	return out, mapErr(op, err)
}

// SaveCheckpoint stores a signed checkpoint; one already stored for size
// is kept.
func (db *DB) SaveCheckpoint(ctx context.Context, size int64, signed []byte) error {
	return db.write(ctx, "sqlstore.SaveCheckpoint", func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, "INSERT INTO ledger_checkpoints (size, signed, at) VALUES (?, ?, ?) ON CONFLICT (size) DO NOTHING",
			size, string(signed), micros(db.now()))
		return err
	})
}
