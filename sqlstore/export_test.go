package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

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

// OrderArgs are the values of orderInsertCols for o: what the order
// ceiling writes a row an order.
func OrderArgs(o *trade.Order) []any {
	row := make([]any, len(OrderColumns))
	fillOrderArgs(row, o)
	return row
}

// StoredOrderArgs are the values of StoredOrderColumns for o, as
// CreateOrders writes them (for the schema insert of the order benchmark).
func StoredOrderArgs(o *trade.Order) []any { return storedOrderRows([]*trade.Order{o})[0] }

// ItemColumns are an item's values as a row of the order ceiling (the
// columns of the view order_items), in ItemArgs order.
var ItemColumns = []string{"order_id", "line", "gtin", "batch", "name", "category", "quantity", "price_fen"}

// ItemArgs are the values of ItemColumns for one item of order id.
func ItemArgs(id int64, it trade.Item) []any {
	return []any{id, it.Line, it.GTIN, it.Batch, it.Name, it.Category, it.Quantity, it.PriceFen}
}

// StartedIn is the conditions of the two parts of a firm's parcels
// started in a window (Aggregate's), each with its arguments.
func StartedIn(firmID int64, from, to time.Time) (wheres [2]string, args [2][]any) {
	for i, p := range startedIn(firmID, from, to) {
		wheres[i], args[i] = p.where, p.args
	}
	return wheres, args
}

// ParcelStateArrays is what writeEventsPG sends for the parcels' state,
// and ParcelStateColumns the same built from parcelStateArgs' rows.
func ParcelStateArrays(ps []*logistics.Parcel) []any { return parcelStateArrays(ps) }

func ParcelStateColumns(ps []*logistics.Parcel) []any {
	rows := make([][]any, len(ps))
	for i, p := range ps {
		rows[i] = append([]any{p.ID, int64(p.Version)}, parcelStateArgs(p)...)
	}
	return columnArrays(rows)
}

// SetParcelStateCache gives the store a new cache of parcels' state of
// entries (0: none). Call it before the store is used.
func (db *DB) SetParcelStateCache(entries int) { db.states = newParcelStateCache(entries) }

// CachedParcelStates is how many parcels' state the store caches.
func (db *DB) CachedParcelStates() int { return db.states.len() }

// BreakWriter has the writer's pool drop a connection as broken
// (driver.ErrBadConn), as after a failed one: on SQLite, its one
// connection, and the next write opens another.
func (db *DB) BreakWriter(ctx context.Context) error {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.Raw(func(any) error { return driver.ErrBadConn }); !errors.Is(err, driver.ErrBadConn) {
		return fmt.Errorf("breaking the writer: %v", err)
	}
	return nil
}
