package sqlstore

import (
	"context"
	"database/sql"
	"strings"
)

// numberedChunks are the row counts of the multi-row INSERTs of
// numberedInsert: a batch goes in as as many statements of the largest
// count as fit, the rest with the smaller ones, so that every statement is
// one of four prepared once per store (measured on tracking events: 100–250
// rows a statement insert about twice as fast as one row a statement; 1000
// is slower again).
var numberedChunks = []int{250, 50, 10, 1}

// chunkedInsert inserts rows into a table on SQLite with multi-row
// INSERTs of numberedChunks rows, each statement prepared once per store
// (cachedStmt) by chunkedInserter, outside the write transaction.
type chunkedInsert struct {
	width  int               // values a row
	insert map[int]*sql.Stmt // by row count (numberedChunks)
}

// chunkedInserter returns the inserter of rows of width values: each
// statement is head, then its rows' parameter markers, then tail.
func (db *DB) chunkedInserter(ctx context.Context, head string, width int, tail string) (*chunkedInsert, error) {
	out := &chunkedInsert{width: width, insert: make(map[int]*sql.Stmt, len(numberedChunks))}
	for _, n := range numberedChunks {
		st, err := db.cachedStmt(ctx, db.w, head+valueRows(n, width, nil)+tail)
		if err != nil {
			return nil, err
		}
		out.insert[n] = st
	}
	return out, nil
}

// run inserts n rows in tx: args appends row i's values to a and returns
// it; changed is called with each statement's rows affected and count.
func (ci *chunkedInsert) run(ctx context.Context, tx *sql.Tx, n int, args func(a []any, i int) []any, changed func(rows int64, k int) error) error {
	buf := make([]any, 0, min(n, numberedChunks[0])*ci.width)
	for start := 0; start < n; {
		k := 1
		for _, c := range numberedChunks {
			if n-start >= c {
				k = c
				break
			}
		}
		buf = buf[:0]
		for i := start; i < start+k; i++ {
			buf = args(buf, i)
		}
		res, err := tx.StmtContext(ctx, ci.insert[k]).ExecContext(ctx, buf...)
		if err != nil {
			return err
		}
		if changed != nil {
			rows, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if err := changed(rows, k); err != nil {
				return err
			}
		}
		start += k
	}
	return nil
}

// numberedInsert inserts rows into a table on SQLite with the ids it
// numbers itself: SQLite has one writer, so inside a write transaction the
// largest id + 1 … are free.
type numberedInsert struct {
	rows  *chunkedInsert
	maxID *sql.Stmt
}

// numberedInserter returns the inserter of cols (after id) into table;
// call it outside the write transaction.
func (db *DB) numberedInserter(ctx context.Context, table string, cols []string) (*numberedInsert, error) {
	rows, err := db.chunkedInserter(ctx, "INSERT INTO "+table+" (id, "+strings.Join(cols, ", ")+") VALUES ", len(cols)+1, "")
	if err != nil {
		return nil, err
	}
	out := &numberedInsert{rows: rows}
	out.maxID, err = db.cachedStmt(ctx, db.w, "SELECT COALESCE(MAX(id), 0) FROM "+table)
	return out, err
}

// run inserts n rows in tx: args appends row i's values after its id to a
// and returns it. Row i gets the id first+i.
func (ni *numberedInsert) run(ctx context.Context, tx *sql.Tx, n int, args func(a []any, i int, id int64) []any) (first int64, err error) {
	if n == 0 {
		return 0, nil
	}
	var last int64
	if err := tx.StmtContext(ctx, ni.maxID).QueryRowContext(ctx).Scan(&last); err != nil {
		return 0, err
	}
	err = ni.rows.run(ctx, tx, n, func(a []any, i int) []any {
		id := last + int64(i) + 1
		return args(append(a, id), i, id)
	}, nil)
	if err != nil {
		return 0, err
	}
	return last + 1, nil
}
