package sqlstore

import (
	"context"
	"database/sql"
	"strings"
)

// numberedChunks are the row counts of the multi-row INSERTs of
// numberedInsert: a batch goes in as as many statements of the largest
// count as fit, the rest with the smaller ones, so that every statement is
// one of four prepared once per store.
var numberedChunks = []int{EventRowsPerStatement, 50, 10, 1}

// numberedInsert inserts rows into a table on SQLite with the ids it
// numbers itself: SQLite has one writer, so inside a write transaction the
// largest id + 1 … are free. Its statements are prepared once per store
// (cachedStmt) by numberedInserter, outside the write transaction.
type numberedInsert struct {
	width  int // values a row: the id and the columns
	maxID  *sql.Stmt
	insert map[int]*sql.Stmt // by row count (numberedChunks)
}

// numberedInserter returns the inserter of cols (after id) into table;
// call it outside the write transaction.
func (db *DB) numberedInserter(ctx context.Context, table string, cols []string) (*numberedInsert, error) {
	out := &numberedInsert{width: len(cols) + 1, insert: make(map[int]*sql.Stmt, len(numberedChunks))}
	head := "INSERT INTO " + table + " (id, " + strings.Join(cols, ", ") + ") VALUES "
	for _, n := range numberedChunks {
		st, err := db.cachedStmt(ctx, db.w, head+valueRows(n, out.width, nil))
		if err != nil {
			return nil, err
		}
		out.insert[n] = st
	}
	var err error
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
	buf := make([]any, 0, min(n, numberedChunks[0])*ni.width)
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
			id := last + int64(i) + 1
			buf = args(append(buf, id), i, id)
		}
		if _, err := tx.StmtContext(ctx, ni.insert[k]).ExecContext(ctx, buf...); err != nil {
			return 0, err
		}
		start += k
	}
	return last + 1, nil
}
