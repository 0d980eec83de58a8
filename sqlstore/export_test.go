package sqlstore

import (
	"context"
	"database/sql"

	"ecredit/logistics"
	"ecredit/registry"
	"ecredit/trade"
)

// SubjectArgs exposes the subject insert values to the benchmarks, so that
// the raw-insert ceiling writes exactly the values the store writes.
func (db *DB) SubjectArgs(s *registry.Subject) []any { return db.subjectArgs(s) }

// TrackLog is the log lines of events as the store writes them (for the
// schema insert of the tracking-event benchmark).
func TrackLog(evs []*logistics.Event) string {
	var b []byte
	for _, e := range evs {
		b = appendTrackLine(b, e)
	}
	return string(b)
}

// ReviewInsertCols are the columns a review batch writes (for the
// raw-insert ceiling of the review benchmark).
const ReviewInsertCols = reviewInsertCols

// ByKeysQuery is the statement byKeys runs, rebound for the engine.
func (db *DB) ByKeysQuery(cols, table, where, key string, n int) string {
	return db.d.Rebind(db.byKeysQuery(cols, table, where, key, n))
}

// WritePending writes the trace_pending row of orders (their ids set) as
// CreateOrders would, without the orders themselves.
func (db *DB) WritePending(ctx context.Context, os []*trade.Order) error {
	return db.write(ctx, "sqlstore.WritePending", func(tx *sql.Tx) error {
		ids := make([]int64, len(os))
		for i, o := range os {
			ids[i] = o.ID
		}
		return db.addPending(ctx, tx, os, ids)
	})
}
