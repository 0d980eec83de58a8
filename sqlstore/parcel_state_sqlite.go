package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"sync"

	"ecredit/logistics"
)

// sqliteStateWriter writes the parcels' state of AppendEvents on SQLite
// with one UPDATE a parcel run on the driver's own prepared statement,
// below database/sql (sql.Conn.Raw), inside the write transaction that
// DB.writeConn opened on that connection.
//
// One prepared statement a row: in process that is cheaper than parsing a
// large statement, than UPDATE … FROM VALUES (which measured 2–3× slower),
// than a multi-row upsert (1.2× slower), than UPDATE … FROM json_each or
// from a temporary table (3×), and than a trigger applying a staged
// multi-row INSERT (1.2×). PostgreSQL writes the state in one statement
// with the logs (writeEventsPG); with no indexed column changed it updates
// the row in place (HOT).
//
// Why below database/sql: the UPDATEs are most of a burst's cost on
// SQLite (250 a batch of 1000 events), and database/sql adds to each a
// statement lookup, the conversion of its 17 arguments into a fresh slice
// and a result; run on the driver's statement with one argument slice
// reused, a batch saved about 0.3 ms of some 4 (BenchmarkParcelEventStore).
//
// Why it is safe: the statements run while Raw holds the connection, so
// the transaction cannot end under them — database/sql rolls a
// transaction back when its context ends, on this same connection, so its
// rollback waits for Raw. A context that has ended before Raw starts may
// have rolled the transaction back already, and the statements would then
// run outside it: write checks the context first and does nothing then.
// The statement is kept for the connection it was prepared on; another
// connection (the pool replaced a broken one) prepares it again.
type sqliteStateWriter struct {
	mu   sync.Mutex
	conn any         // the driver connection st was prepared on
	st   driver.Stmt // updateParcelStateSQL on conn
}

// updateParcelStateSQL writes parcelStateCols of a parcel whose stored
// version is the last argument and increments its version. It writes no
// index entry: since 00025 the start is in no full index, only in the
// partial one of far_start, which holds the few parcels started far from
// their registration.
var updateParcelStateSQL = "UPDATE parcels SET " + strings.Join(parcelStateCols, " = ?, ") +
	" = ?, version = version + 1 WHERE id = ? AND version = ?"

// checkEvery is how many parcels write updates between looks at the
// context (an ended one stops the batch, which then rolls back).
const checkEvery = 64

// write updates the state of ps on conn, in its open transaction; a parcel
// whose stored version is not p.Version is errStaleParcel.
func (w *sqliteStateWriter) write(ctx context.Context, conn *sql.Conn, ps []*logistics.Parcel) error {
	if len(ps) == 0 {
		return nil
	}
	return conn.Raw(func(dc any) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		st, err := w.prepared(dc)
		if err != nil {
			return err
		}
		exec, ok := st.(driver.StmtExecContext)
		if !ok {
			return errors.New("sqlstore: the SQLite driver's statements lack ExecContext")
		}
		n := len(parcelStateCols) + 2
		args := make([]driver.NamedValue, n)
		for i := range args {
			args[i].Ordinal = i + 1
		}
		// The driver watches a context that can end with a goroutine a
		// statement; the batch looks at ctx itself every checkEvery rows.
		bg := context.Background()
		bx := newBoxes()
		for i, p := range ps {
			if i%checkEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			v := [...]driver.Value{bx.str(string(p.Status)), micros(p.PickedAt), micros(p.OutAt), micros(p.SignedAt), bx.str(p.SignedBy),
				micros(p.ReturnedAt), b2i(p.Lost), b2i(p.Damaged), int64(p.Exceptions), int64(p.Complaints), int64(p.Events), b2i(p.Gap),
				micros(p.LastEventAt), micros(p.StartedAt), bx.int(0, micros(p.UpdatedAt)), p.ID, int64(p.Version)}
			for k := range args {
				args[k].Value = v[k]
			}
			res, err := exec.ExecContext(bg, args)
			if err := oneRow(res, err, errStaleParcel); err != nil {
				return err
			}
		}
		return nil
	})
}

// prepared returns the statement on dc, preparing it when dc is not the
// connection it was last prepared on. A statement of an earlier
// connection is left to that connection's close: finalizing it after the
// connection closed would touch freed memory.
func (w *sqliteStateWriter) prepared(dc any) (driver.Stmt, error) {
	if w.st != nil && w.conn == dc {
		return w.st, nil
	}
	p, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return nil, errors.New("sqlstore: the SQLite driver's connections lack PrepareContext")
	}
	st, err := p.PrepareContext(context.Background(), updateParcelStateSQL)
	if err != nil {
		return nil, err
	}
	w.conn, w.st = dc, st
	return st, nil
}

// close finalizes the statement if the writer's connection is still the
// one it was prepared on (call before closing the pool).
func (w *sqliteStateWriter) close(pool *sql.DB) error {
	w.mu.Lock()
	st := w.st
	w.mu.Unlock()
	if st == nil {
		return nil
	}
	conn, err := pool.Conn(context.Background())
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		var err error
		if dc == w.conn {
			err = w.st.Close()
		}
		w.conn, w.st = nil, nil
		return err
	})
}
