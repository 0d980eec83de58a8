package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"ecredit/audit"
	"ecredit/errs"
	"ecredit/registry"
	"ecredit/trade"
)

// *DB keeps orders (migration 00005), reviews, buyer ratings, shop tallies
// and credit evaluations (migration 00006).
var _ trade.Store = (*DB)(nil)

// inChunk is how many values go into one IN (…) list.
const inChunk = 500

// eachRow runs query on q and calls fn for every row.
func (db *DB) eachRow(ctx context.Context, q querier, query string, args []any, fn func(*sql.Rows) error) error {
	var rows *sql.Rows
	var err error
	if q == querier(db.r) { // the readers: a statement kept (cachedRead) when there is one
		rows, err = db.readQuery(ctx, query, args...)
	} else {
		rows, err = q.QueryContext(ctx, db.d.Rebind(query), args...)
	}
	return eachOf(rows, err, fn)
}

// eachOf calls fn for every row of a query's result (rows, err) and
// closes it.
func eachOf(rows *sql.Rows, err error, fn func(*sql.Rows) error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	return forRows(rows, fn)
}

// forRows calls fn for every row of rows (database/sql's or pgx's) until
// fn fails, then returns that error or the rows' own.
func forRows[R interface {
	Next() bool
	Err() error
}](rows R, fn func(R) error) error {
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// byKeys reads the rows of "SELECT cols FROM table WHERE where AND key IN
// (keys)" (where's parameters in args) and scans each with fn. On SQLite
// the keys go in IN lists of inChunk. On PostgreSQL they go in one text
// array, and a LATERAL subquery that OFFSET 0 keeps from being flattened
// into a join probes the index once a key, whatever the statistics say:
// an IN list is planned from them, and pgx prepares every statement, so
// after five runs PostgreSQL may keep a generic plan made while the table
// was small. One such plan matched a platform's orders by platform alone
// and filtered them all by the list of order numbers: 64–170 ms for 500
// numbers among 7,000–30,000 orders in the review-batch benchmark.
func (db *DB) byKeys(ctx context.Context, cols, table, where string, args []any, key string, keys []string, fn func(*sql.Rows) error) error {
	if db.d.name == EnginePostgres {
		return db.eachRow(ctx, db.r, db.byKeysQuery(cols, table, where, key, 0), append([]any{keys}, args...), fn)
	}
	for start := 0; start < len(keys); start += inChunk {
		chunk := keys[start:min(start+inChunk, len(keys))]
		a := append([]any(nil), args...)
		for _, k := range chunk {
			a = append(a, k)
		}
		if err := db.eachRow(ctx, db.r, db.byKeysQuery(cols, table, where, key, len(chunk)), a, fn); err != nil {
			return err
		}
	}
	return nil
}

// byKeysQuery is byKeys' statement (with '?' parameter markers): on PostgreSQL the
// key array first, then where's parameters; on SQLite where's, then n keys.
func (db *DB) byKeysQuery(cols, table, where, key string, n int) string {
	if db.d.name == EnginePostgres {
		return "SELECT t.* FROM unnest(?::text[]) AS k (key) JOIN LATERAL (SELECT " + cols + " FROM " + table +
			" WHERE " + where + " AND " + key + " = k.key OFFSET 0) t ON true"
	}
	return "SELECT " + cols + " FROM " + table + " WHERE " + where + " AND " + key + " IN " + inList(n)
}

// inList returns "(?, ?, …)" for n values.
func inList(n int) string { return "(?" + strings.Repeat(", ?", n-1) + ")" }

// multiInsert inserts rows (each of the same length) into table: on
// PostgreSQL with one INSERT … SELECT FROM unnest of one array per column
// (types are the columns' SQL types), on SQLite with multi-row
// INSERT … VALUES (…), (…) statements of at most perStmt rows, preparing
// the full-size statement once. tail, when not "", is appended to each
// statement (an ON CONFLICT and/or RETURNING clause); when scan is not nil
// every returned row goes to it.
func (db *DB) multiInsert(ctx context.Context, tx *sql.Tx, table, cols string, types []string, rows [][]any, perStmt int, tail string, scan func(*sql.Rows) error) error {
	if len(rows) == 0 {
		return nil
	}
	if db.d.Name() == EnginePostgres {
		q := "INSERT INTO " + table + " (" + cols + ") SELECT * FROM " + unnestOf(types) + " " + tail
		if scan == nil {
			_, err := tx.ExecContext(ctx, db.d.Rebind(q), columnArrays(rows)...)
			return err
		}
		return db.eachRow(ctx, tx, q, columnArrays(rows), scan)
	}
	n := len(rows[0])
	query := func(k int) string { return db.d.Rebind(insertValues(table, cols, n, k, tail)) }
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, min(perStmt, len(rows))*n)
	for start := 0; start < len(rows); start += perStmt {
		chunk := rows[start:min(start+perStmt, len(rows))]
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r...)
		}
		var res *sql.Rows
		var err error
		switch {
		case len(chunk) == perStmt && len(rows) > perStmt:
			if full == nil {
				// Prepared once per store when warmInsert did it before
				// the transaction; else for this transaction only.
				q := query(perStmt)
				if st := db.preparedStmt(db.w, q); st != nil {
					full = tx.StmtContext(ctx, st)
				} else if full, err = tx.PrepareContext(ctx, q); err != nil {
					return err
				}
			}
			if scan == nil {
				_, err = full.ExecContext(ctx, args...)
			} else {
				res, err = full.QueryContext(ctx, args...)
			}
		case scan == nil:
			_, err = tx.ExecContext(ctx, query(len(chunk)), args...)
		default:
			res, err = tx.QueryContext(ctx, query(len(chunk)), args...)
		}
		if err != nil {
			return err
		}
		if res != nil {
			for res.Next() {
				if err := scan(res); err != nil {
					res.Close()
					return err
				}
			}
			err = res.Err()
			res.Close()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// insertValues is "INSERT INTO table (cols) VALUES (?, …), … tail" for k
// rows of n columns.
func insertValues(table, cols string, n, k int, tail string) string {
	tuple := "(?" + strings.Repeat(", ?", n-1) + ")"
	q := "INSERT INTO " + table + " (" + cols + ") VALUES " + tuple + strings.Repeat(", "+tuple, k-1)
	if tail != "" {
		q += " " + tail
	}
	return q
}

// warmInsert prepares on the SQLite writer, once per store and outside any
// transaction (the writer has one connection), the full-size statement
// multiInsert will take for rows rows of n columns in statements of
// perStmt: preparing a statement of 500 rows costs about as much as a
// third of running it.
func (db *DB) warmInsert(ctx context.Context, table, cols string, n, rows, perStmt int, tail string) error {
	if db.d.Name() == EnginePostgres || rows <= perStmt {
		return nil
	}
	_, err := db.cachedStmt(ctx, db.w, db.d.Rebind(insertValues(table, cols, n, perStmt, tail)))
	return err
}

// ShopsByIDs returns the shops with the given ids; unknown ids are missing.
func (db *DB) ShopsByIDs(ctx context.Context, ids []int64) (map[int64]*registry.Shop, error) {
	const op = "sqlstore.ShopsByIDs"
	out := map[int64]*registry.Shop{}
	ids = uniqueIDs(ids)
	for start := 0; start < len(ids); start += inChunk {
		chunk := ids[start:min(start+inChunk, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		err := db.eachRow(ctx, db.r, "SELECT "+shopCols+" FROM shops WHERE id IN "+inList(len(chunk)), args, func(r *sql.Rows) error {
			sh, err := scanShop(r)
			if err == nil {
				out[sh.ID] = sh
			}
			return err
		})
		if err != nil {
			return nil, mapErr(op, err)
		}
	}
	return out, nil
}

// uniqueIDs returns the positive ids, each once, in first-seen order.
func uniqueIDs(ids []int64) []int64 { return distinct(ids, func(id int64) bool { return id > 0 }) }

// uniqueStrings returns the non-empty strings, each once, in first-seen
// order.
func uniqueStrings(ss []string) []string { return distinct(ss, func(s string) bool { return s != "" }) }

// distinct returns the values keep accepts, each once, in first-seen order
// (a new slice: xs is left as it is).
func distinct[T comparable](xs []T, keep func(T) bool) []T {
	seen := make(map[T]bool, len(xs))
	out := xs[:0:0]
	for _, x := range xs {
		if keep(x) && !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// ShopsByPlatformShopIDs returns a platform's shops by its own shop ids.
func (db *DB) ShopsByPlatformShopIDs(ctx context.Context, platformID int64, psids []string) (map[string]*registry.Shop, error) {
	const op = "sqlstore.ShopsByPlatformShopIDs"
	out := map[string]*registry.Shop{}
	psids = uniqueStrings(psids)
	err := db.byKeys(ctx, shopCols, "shops", "platform_id = ?", []any{platformID}, "platform_shop_id", psids, func(r *sql.Rows) error {
		sh, err := scanShop(r)
		if err == nil {
			out[sh.PlatformShopID] = sh
		}
		return err
	})
	if err != nil {
		return nil, mapErr(op, err)
	}
	return out, nil
}

const orderCols = `id, platform_id, shop_id, seller_id, order_no, buyer, amount_fen, region, waybill, carrier_id, status,
	paid_at, shipped_at, signed_at, created_at, updated_at, version`

// orderInsertCols are the columns CreateOrders writes, in orderArgs order.
const orderInsertCols = `platform_id, shop_id, seller_id, order_no, buyer, amount_fen, region, waybill, carrier_id, status,
	paid_at, shipped_at, signed_at, created_at, updated_at, version`

// orderStoredCols are the columns CreateOrders writes: orderInsertCols
// and the items (00024), in storedOrderRows order.
const orderStoredCols = orderInsertCols + ", items"

// The SQL types of orderStoredCols, for unnest.
var orderStoredTypes = []string{"BIGINT", "BIGINT", "BIGINT", "TEXT", "TEXT", "BIGINT", "TEXT", "TEXT", "BIGINT", "TEXT",
	"BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "TEXT"}

// fillOrderArgs sets row[0:16] to the values of orderInsertCols for o.
func fillOrderArgs(row []any, o *trade.Order) {
	row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] = o.PlatformID, o.ShopID, o.SellerID, o.OrderNo, o.Buyer, o.AmountFen, o.Region, o.Waybill
	row[8], row[9], row[10], row[11], row[12] = o.CarrierID, string(o.Status), micros(o.PaidAt), micros(o.ShippedAt), micros(o.SignedAt)
	row[13], row[14], row[15] = micros(o.CreatedAt), micros(o.UpdatedAt), o.Version
}

// storedOrderRows are the values of orderStoredCols for each of os (the
// order's columns, then its items' text), in one backing array, the
// items' texts in one string.
func storedOrderRows(os []*trade.Order) [][]any {
	n := len(OrderColumns) + 1
	all := make([]any, 0, n*len(os))
	var buf []byte
	ends := make([]int, len(os))
	for i, o := range os {
		buf = appendItems(buf, o.Items)
		ends[i] = len(buf)
	}
	text := string(buf)
	rows := make([][]any, len(os))
	start := 0
	for i, o := range os {
		row := all[len(all) : len(all)+n]
		fillOrderArgs(row, o)
		row[n-1] = text[start:ends[i]]
		all = all[:len(all)+n]
		rows[i] = row
		start = ends[i]
	}
	return rows
}

// OrderColumns and StoredOrderColumns name the columns of
// orderInsertCols and orderStoredCols.
var (
	OrderColumns       = splitCols(orderInsertCols)
	StoredOrderColumns = splitCols(orderStoredCols)
)

func splitCols(s string) []string {
	var out []string
	for _, c := range strings.Split(s, ",") {
		out = append(out, strings.TrimSpace(c))
	}
	return out
}

func scanOrder(r scanner) (*trade.Order, error) {
	var o trade.Order
	var status string
	var paid, shipped, signed, created, updated int64
	if err := r.Scan(&o.ID, &o.PlatformID, &o.ShopID, &o.SellerID, &o.OrderNo, &o.Buyer, &o.AmountFen, &o.Region, &o.Waybill,
		&o.CarrierID, &status, &paid, &shipped, &signed, &created, &updated, &o.Version); err != nil {
		return nil, err
	}
	o.Status = trade.Status(status)
	o.PaidAt, o.ShippedAt, o.SignedAt = fromMicros(paid), fromMicros(shipped), fromMicros(signed)
	o.CreatedAt, o.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &o, nil
}

// withItems loads the items of the given orders.
func (db *DB) withItems(ctx context.Context, q querier, orders []*trade.Order) error {
	byID := make(map[int64]*trade.Order, len(orders))
	ids := make([]int64, 0, len(orders))
	for _, o := range orders {
		byID[o.ID] = o
		o.Items = nil
		ids = append(ids, o.ID)
	}
	for start := 0; start < len(ids); start += inChunk {
		chunk := ids[start:min(start+inChunk, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		err := db.eachRow(ctx, q, "SELECT id, items FROM orders WHERE id IN "+inList(len(chunk)), args, func(r *sql.Rows) error {
			var id int64
			var items string
			if err := r.Scan(&id, &items); err != nil {
				return err
			}
			if o := byID[id]; o != nil {
				var err error
				o.Items, err = parseItems(items)
				return err
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// OrdersByNos returns a platform's orders by order number, with items.
func (db *DB) OrdersByNos(ctx context.Context, platformID int64, nos []string) (map[string]*trade.Order, error) {
	return db.ordersByNos(ctx, "sqlstore.OrdersByNos", platformID, nos, true)
}

// OrderHeadsByNos is OrdersByNos without the orders' items.
func (db *DB) OrderHeadsByNos(ctx context.Context, platformID int64, nos []string) (map[string]*trade.Order, error) {
	return db.ordersByNos(ctx, "sqlstore.OrderHeadsByNos", platformID, nos, false)
}

func (db *DB) ordersByNos(ctx context.Context, op string, platformID int64, nos []string, items bool) (map[string]*trade.Order, error) {
	out := map[string]*trade.Order{}
	nos = uniqueStrings(nos)
	var list []*trade.Order
	err := db.byKeys(ctx, orderCols, "orders", "platform_id = ?", []any{platformID}, "order_no", nos, func(r *sql.Rows) error {
		o, err := scanOrder(r)
		if err == nil {
			out[o.OrderNo] = o
			list = append(list, o)
		}
		return err
	})
	if err != nil {
		return nil, mapErr(op, err)
	}
	if !items {
		return out, nil
	}
	if err := db.withItems(ctx, db.r, list); err != nil {
		return nil, mapErr(op, err)
	}
	return out, nil
}

// orderInsertTail ends CreateOrders' INSERT into orders: skip the numbers
// taken, hand back the ids of the rows written.
const orderInsertTail = "ON CONFLICT (platform_id, order_no) DO NOTHING RETURNING id, platform_id, order_no"

// Rows per multi-row statement: 17 order columns × 500 stay far below
// both engines' limits on bound parameters.
const ordersPerInsert = 500

func normOrder(o *trade.Order) {
	norm(&o.PaidAt)
	norm(&o.ShippedAt)
	norm(&o.SignedAt)
	norm(&o.CreatedAt)
	norm(&o.UpdatedAt)
}

// CreateOrders inserts the orders not yet stored and their items with
// multi-row INSERT … ON CONFLICT (platform_id, order_no) DO NOTHING
// RETURNING (on PostgreSQL with COPY when no order number is taken, see
// copyOrders), and one audit entry, in one transaction: all or none. An order
// whose number its platform already reported is skipped and returned (see
// trade.Store); only conflicts on that key are skipped, every other
// constraint still fails the transaction. It sets ID and Version = 1 of
// the inserted orders.
func (db *DB) CreateOrders(ctx context.Context, os []*trade.Order, entry func([]*trade.Order) *audit.Entry) ([]*trade.Order, error) {
	const op = "sqlstore.CreateOrders"
	if len(os) == 0 {
		return nil, nil
	}
	now := db.now()
	key := func(platform int64, no string) string { return strconv.FormatInt(platform, 10) + "\x00" + no }
	for _, o := range os {
		if o.CreatedAt.IsZero() {
			o.CreatedAt = now
		}
		if o.UpdatedAt.IsZero() {
			o.UpdatedAt = o.CreatedAt
		}
		o.Version = 1
		normOrder(o)
	}
	rows := storedOrderRows(os)
	ids := make(map[*trade.Order]int64, len(os))
	var created, taken []*trade.Order
	// insert writes the orders (with their items, 00024) with ON
	// CONFLICT DO NOTHING, the pending row of those it wrote, and the
	// audit entry.
	insert := func(tx *sql.Tx) error {
		clear(ids)
		byKey := make(map[string]*trade.Order, len(os))
		for _, o := range os {
			byKey[key(o.PlatformID, o.OrderNo)] = o
		}
		// Multi-row RETURNING gives no guaranteed order: rows are matched
		// back by (platform, order_no), which is unique.
		err := db.multiInsert(ctx, tx, "orders", orderStoredCols, orderStoredTypes, rows, ordersPerInsert, orderInsertTail, func(r *sql.Rows) error {
			var id, platform int64
			var no string
			if err := r.Scan(&id, &platform, &no); err != nil {
				return err
			}
			if o := byKey[key(platform, no)]; o != nil {
				ids[o] = id
			}
			return nil
		})
		if err != nil {
			return err
		}
		created, taken = created[:0], taken[:0]
		var createdIDs []int64
		for _, o := range os {
			id, ok := ids[o]
			if !ok {
				taken = append(taken, o)
				continue
			}
			created = append(created, o)
			createdIDs = append(createdIDs, id)
		}
		if err := db.addPending(ctx, tx, created, createdIDs); err != nil {
			return err
		}
		if len(created) == 0 || entry == nil {
			return nil
		}
		return db.appendAudit(ctx, tx, entry(created), "orders", 0)
	}
	var err error
	if db.d.Name() == EnginePostgres {
		err = db.writeCopy(ctx, op, func(tx *sql.Tx, copyIn CopyFunc) error {
			ok, err := db.copyOrders(ctx, tx, copyIn, os, rows, ids)
			if err != nil {
				return err
			}
			if !ok {
				// An order's number was taken: the batch goes the
				// ON CONFLICT way, in the same transaction.
				return insert(tx)
			}
			created, taken = os, nil
			if entry == nil {
				return nil
			}
			return db.appendAudit(ctx, tx, entry(created), "orders", 0)
		})
	} else {
		if err := db.warmInsert(ctx, "orders", orderStoredCols, len(StoredOrderColumns), len(os), ordersPerInsert, orderInsertTail); err != nil {
			return nil, mapErr(op, err)
		}
		err = db.write(ctx, op, insert)
	}
	if err != nil {
		return nil, err
	}
	items := 0
	for _, o := range created {
		o.ID = ids[o]
		items += len(o.Items)
	}
	db.afterOrders(ctx, items)
	for _, o := range taken {
		o.ID, o.Version = 0, 0
	}
	return taken, nil
}

// copyOrders is CreateOrders' fast way on PostgreSQL, for a batch of new
// orders: ids drawn from the orders' identity in one query (drawIDs), then the
// orders (rows: their storedOrderRows, items included) written with COPY,
// which fires the same statement-level reference checks (00013) as INSERT. COPY
// has no ON CONFLICT: when an order's (platform, order_no) is already
// taken, copyOrders rolls back to before the orders' COPY and reports
// false (the caller then inserts the ON CONFLICT way); any other error
// fails the transaction, as it would the INSERT. On success it sets the
// orders' ids in ids.
func (db *DB) copyOrders(ctx context.Context, tx *sql.Tx, copyIn CopyFunc, os []*trade.Order, rows [][]any, ids map[*trade.Order]int64) (bool, error) {
	drawn, err := drawIDs(ctx, tx, "orders", len(os))
	if err != nil {
		return false, err
	}
	orows := make([][]any, len(os))
	for i := range os {
		orows[i] = append([]any{drawn[i]}, rows[i]...)
	}
	if _, err := tx.ExecContext(ctx, "SAVEPOINT copy_orders"); err != nil {
		return false, err
	}
	if _, err := copyIn("orders", orderCopyColumns, orows); err != nil {
		if isUniqueViolation(err, "orders_platform_no_key") {
			_, err = tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT copy_orders")
			return false, err
		}
		return false, err
	}
	if err := db.addPending(ctx, tx, os, drawn); err != nil {
		return false, err
	}
	for i, o := range os {
		ids[o] = drawn[i]
	}
	return true, nil
}

// orderCopyColumns are the columns copyOrders writes: the id, then
// StoredOrderColumns.
var orderCopyColumns = append([]string{"id"}, StoredOrderColumns...)

// UpdateOrders writes the status, times, waybill and carrier of each order
// whose stored version equals its Version, then increments it, with one
// audit entry, in one transaction.
func (db *DB) UpdateOrders(ctx context.Context, os []*trade.Order, ev *audit.Entry) error {
	const op = "sqlstore.UpdateOrders"
	if len(os) == 0 {
		return nil
	}
	for _, o := range os {
		if o.UpdatedAt.IsZero() {
			o.UpdatedAt = db.now()
		}
		normOrder(o)
	}
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, db.d.Rebind(`UPDATE orders SET status = ?, shipped_at = ?, signed_at = ?, waybill = ?,
			carrier_id = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?`))
		if err != nil {
			return err
		}
		defer st.Close()
		for _, o := range os {
			res, err := st.ExecContext(ctx, string(o.Status), micros(o.ShippedAt), micros(o.SignedAt), o.Waybill, o.CarrierID,
				micros(o.UpdatedAt), o.ID, o.Version)
			if err != nil {
				return err
			}
			if err := db.staleOrMissing(ctx, tx, res, "orders", o.ID, "订单", "order"); err != nil {
				return err
			}
		}
		return db.appendAudit(ctx, tx, ev, "orders", 0)
	})
	if err == nil {
		for _, o := range os {
			o.Version++
		}
	}
	return err
}

// GetOrder returns an order with its items, or NotFound.
func (db *DB) GetOrder(ctx context.Context, id int64) (*trade.Order, error) {
	const op = "sqlstore.GetOrder"
	o, err := scanOrder(db.readRow(ctx, "SELECT "+orderCols+" FROM orders WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Wrap(op, notFound("订单", "order", id))
	}
	if err != nil {
		return nil, mapErr(op, err)
	}
	if err := db.withItems(ctx, db.r, []*trade.Order{o}); err != nil {
		return nil, mapErr(op, err)
	}
	return o, nil
}

// ListOrders returns orders with their items in ascending id order after
// f.After.
func (db *DB) ListOrders(ctx context.Context, f trade.OrderFilter) ([]*trade.Order, error) {
	const op = "sqlstore.ListOrders"
	limit := clampLimit(f.Limit, 50, 1000)
	shops := []int64{f.ShopID} // 0: any shop
	if f.SellerID != 0 && f.ShopID == 0 {
		ids, err := db.shopsOfOwner(ctx, f.SellerID, f.PlatformID)
		if err != nil || len(ids) == 0 {
			return nil, mapErr(op, err)
		}
		shops = ids
	}
	var out []*trade.Order
	for _, shop := range shops {
		var where []string
		var args []any
		add := func(cond string, a any) { where = append(where, cond); args = append(args, a) }
		if f.After > 0 {
			add("id > ?", f.After)
		}
		if f.PlatformID != 0 {
			add("platform_id = ?", f.PlatformID)
		}
		if shop != 0 {
			add("shop_id = ?", shop)
		}
		if f.SellerID != 0 {
			add("seller_id = ?", f.SellerID)
		}
		if f.Buyer != "" {
			add("buyer = ?", f.Buyer)
		}
		q := "SELECT " + orderCols + " FROM orders"
		if len(where) > 0 {
			q += " WHERE " + strings.Join(where, " AND ")
		}
		q += " ORDER BY id LIMIT ?"
		args = append(args, limit)
		err := db.eachRow(ctx, db.r, q, args, func(r *sql.Rows) error {
			o, err := scanOrder(r)
			if err == nil {
				out = append(out, o)
			}
			return err
		})
		if err != nil {
			return nil, mapErr(op, err)
		}
	}
	if len(shops) > 1 {
		slices.SortFunc(out, func(a, b *trade.Order) int { return cmp.Compare(a.ID, b.ID) })
		out = out[:min(len(out), limit)]
	}
	if err := db.withItems(ctx, db.r, out); err != nil {
		return nil, mapErr(op, err)
	}
	return out, nil
}

// shopsOfOwner returns the ids of the shops of a seller (on one platform
// when platformID is not 0). Orders carry their shop's owner as seller_id
// (a shop never changes owner), so a seller's orders are its shops' orders:
// they are read shop by shop through orders_shop_idx, and orders need no
// index of their own by seller (00013).
func (db *DB) shopsOfOwner(ctx context.Context, ownerID, platformID int64) ([]int64, error) {
	q, args := "SELECT id FROM shops WHERE owner_id = ?", []any{ownerID}
	if platformID != 0 {
		q, args = q+" AND platform_id = ?", append(args, platformID)
	}
	var ids []int64
	err := db.eachRow(ctx, db.r, q+" ORDER BY id", args, func(r *sql.Rows) error {
		var id int64
		err := r.Scan(&id)
		ids = append(ids, id)
		return err
	})
	return ids, err
}

const reviewCols = `id, order_id, platform_id, shop_id, seller_id, buyer, month, rating, description, service, logistics, body,
	counted, dsr_counted, created_at, followup, followup_at, folded_at, fold_reason, folded_by`

func scanReview(r scanner) (*trade.Review, error) {
	var v trade.Review
	var rating, counted, dsr int
	var created, followupAt, foldedAt int64
	if err := r.Scan(&v.ID, &v.OrderID, &v.PlatformID, &v.ShopID, &v.SellerID, &v.Buyer, &v.Month, &rating, &v.Description,
		&v.Service, &v.Logistics, &v.Text, &counted, &dsr, &created, &v.Followup, &followupAt, &foldedAt, &v.FoldReason,
		&v.FoldedBy); err != nil {
		return nil, err
	}
	v.Rating, v.Counted, v.DSRCounted = trade.Rating(rating), counted == 1, dsr == 1
	v.CreatedAt, v.FollowupAt, v.FoldedAt = fromMicros(created), fromMicros(followupAt), fromMicros(foldedAt)
	return &v, nil
}

func b01(b bool) int {
	if b {
		return 1
	}
	return 0
}

// lockSeller serialises, on PostgreSQL, the review writes of one seller
// for the rest of the transaction, so that the per-pair monthly bound is
// counted exactly under concurrency (SQLite has one writer anyway).
func (db *DB) lockSeller(ctx context.Context, tx *sql.Tx, sellerID int64) error {
	return db.lockSellers(ctx, tx, []int64{sellerID})
}

// tallyDelta adds (sign +1) or removes (sign −1) a review's contribution
// to its shop's tally; folded counts a fold.
func (db *DB) tallyDelta(ctx context.Context, tx *sql.Tx, r *trade.Review, sign int, newReview, folded bool, at time.Time) error {
	var pos, neu, neg, dsr, d, s, l int
	if r.Counted {
		switch r.Rating {
		case trade.Positive:
			pos = sign
		case trade.Neutral:
			neu = sign
		case trade.Negative:
			neg = sign
		}
	}
	if r.DSRCounted {
		dsr, d, s, l = sign, sign*r.Description, sign*r.Service, sign*r.Logistics
	}
	return db.tallyAdd(ctx, tx, r.ShopID, r.SellerID, shopTally{reviews: b01(newReview), folded: b01(folded), pos: pos, neu: neu, neg: neg,
		dsr: dsr, d: d, s: s, l: l}, at)
}

// CreateReview stores r, deciding whether it counts from the bounds and
// the counted, unfolded reviews of its pair and month, and adds it to its
// shop's tally, with the audit entry, in one transaction.
func (db *DB) CreateReview(ctx context.Context, r *trade.Review, b trade.Bounds, ev *audit.Entry) error {
	const op = "sqlstore.CreateReview"
	if r.CreatedAt.IsZero() {
		r.CreatedAt = db.now()
	}
	norm(&r.CreatedAt)
	var id int64
	var counted, dsr bool
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		if err := db.lockSeller(ctx, tx, r.SellerID); err != nil {
			return err
		}
		var n, m int
		if err := tx.QueryRowContext(ctx, db.d.Rebind(`SELECT COALESCE(SUM(counted), 0), COALESCE(SUM(dsr_counted), 0) FROM reviews
			WHERE platform_id = ? AND seller_id = ? AND buyer = ? AND month = ? AND folded_at = 0`),
			r.PlatformID, r.SellerID, r.Buyer, r.Month).Scan(&n, &m); err != nil {
			return err
		}
		counted = n < b.Points
		dsr = counted && m < b.DSR
		var err error
		id, err = db.insertID(ctx, tx, `INSERT INTO reviews (order_id, platform_id, shop_id, seller_id, buyer, month, rating,
			description, service, logistics, body, counted, dsr_counted, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.OrderID, r.PlatformID, r.ShopID, r.SellerID, r.Buyer, r.Month, int(r.Rating), r.Description, r.Service, r.Logistics,
			r.Text, b01(counted), b01(dsr), micros(r.CreatedAt))
		if err != nil {
			return err
		}
		c := *r
		c.Counted, c.DSRCounted = counted, dsr
		if err := db.tallyDelta(ctx, tx, &c, 1, true, false, r.CreatedAt); err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, ev, "review", id)
	})
	if err != nil {
		if errs.Is(err, errs.Conflict) && errs.FieldOf(err) == "" {
			return &errs.Error{Code: errs.Conflict, Op: op, Field: "order_id", Message: "该订单已评价 (order already reviewed)", Err: err}
		}
		return err
	}
	r.ID, r.Counted, r.DSRCounted = id, counted, dsr
	return nil
}

func (db *DB) getReview(ctx context.Context, q querier, where string, arg any) (*trade.Review, error) {
	r, err := scanReview(q.QueryRowContext(ctx, db.d.Rebind("SELECT "+reviewCols+" FROM reviews WHERE "+where+" = ?"), arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("评价", "review", arg)
	}
	return r, err
}

// GetReview returns a review, or NotFound.
func (db *DB) GetReview(ctx context.Context, id int64) (*trade.Review, error) {
	r, err := db.getReview(ctx, db.r, "id", id)
	return r, mapErr("sqlstore.GetReview", err)
}

// ReviewOfOrder returns the review of an order, or NotFound.
func (db *DB) ReviewOfOrder(ctx context.Context, orderID int64) (*trade.Review, error) {
	r, err := db.getReview(ctx, db.r, "order_id", orderID)
	return r, mapErr("sqlstore.ReviewOfOrder", err)
}

// AddFollowup sets the follow-up of a review that has none.
func (db *DB) AddFollowup(ctx context.Context, id int64, text string, at time.Time, ev *audit.Entry) error {
	const op = "sqlstore.AddFollowup"
	norm(&at)
	return db.write(ctx, op, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, "UPDATE reviews SET followup = ?, followup_at = ? WHERE id = ? AND followup = ''", text, micros(at), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if _, err := db.getReview(ctx, tx, "id", id); err != nil {
				return err
			}
			return &errs.Error{Code: errs.Conflict, Field: "followup", Message: "该评价已有追评 (review already has a follow-up)"}
		}
		return db.appendAudit(ctx, tx, ev, "review", id)
	})
}

// FoldReview folds an unfolded review and takes it out of its shop's
// tally, with the audit entry, in one transaction.
func (db *DB) FoldReview(ctx context.Context, id int64, reason, by string, at time.Time, ev *audit.Entry) error {
	const op = "sqlstore.FoldReview"
	norm(&at)
	return db.write(ctx, op, func(tx *sql.Tx) error {
		r, err := db.getReview(ctx, tx, "id", id)
		if err != nil {
			return err
		}
		if err := db.lockSeller(ctx, tx, r.SellerID); err != nil {
			return err
		}
		res, err := db.exec(ctx, tx, "UPDATE reviews SET folded_at = ?, fold_reason = ?, folded_by = ? WHERE id = ? AND folded_at = 0",
			micros(at), reason, by, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return &errs.Error{Code: errs.Conflict, Field: "id", Message: "该评价已折叠 (review already folded)"}
		}
		if err := db.tallyDelta(ctx, tx, r, -1, false, true, at); err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, ev, "review", id)
	})
}

// ListReviews returns reviews newest first before f.Before.
func (db *DB) ListReviews(ctx context.Context, f trade.ReviewFilter) ([]*trade.Review, error) {
	const op = "sqlstore.ListReviews"
	var where []string
	var args []any
	add := func(cond string, a any) { where = append(where, cond); args = append(args, a) }
	if f.ShopID != 0 {
		add("shop_id = ?", f.ShopID)
	}
	if f.SellerID != 0 {
		add("seller_id = ?", f.SellerID)
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	q := "SELECT " + reviewCols + " FROM reviews"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, clampLimit(f.Limit, 20, 500))
	var out []*trade.Review
	err := db.eachRow(ctx, db.r, q, args, func(r *sql.Rows) error {
		v, err := scanReview(r)
		if err == nil {
			out = append(out, v)
		}
		return err
	})
	if err != nil {
		return nil, mapErr(op, err)
	}
	return out, nil
}

// FoldedReviews lists folded reviews, the latest fold first, through the
// partial index reviews_folded_idx (00015).
func (db *DB) FoldedReviews(ctx context.Context, f trade.FoldFilter) ([]*trade.Review, error) {
	const op = "sqlstore.FoldedReviews"
	q := "SELECT " + reviewCols + " FROM reviews WHERE folded_at <> 0"
	var args []any
	if f.PlatformID != 0 {
		q += " AND platform_id = ?"
		args = append(args, f.PlatformID)
	}
	if !f.BeforeAt.IsZero() {
		at := micros(f.BeforeAt)
		q += " AND (folded_at < ? OR (folded_at = ? AND id < ?))"
		args = append(args, at, at, f.BeforeID)
	}
	q += " ORDER BY folded_at DESC, id DESC LIMIT ?"
	args = append(args, clampLimit(f.Limit, 50, 500))
	out := []*trade.Review{}
	err := db.eachRow(ctx, db.r, q, args, func(r *sql.Rows) error {
		v, err := scanReview(r)
		if err == nil {
			out = append(out, v)
		}
		return err
	})
	return out, mapErr(op, err)
}

// FoldStats counts, per platform, the reviews and folds of its shops'
// tallies (one row a shop) and the folds by rating (the folded reviews
// alone, through reviews_folded_idx).
func (db *DB) FoldStats(ctx context.Context) ([]trade.FoldStat, error) {
	const op = "sqlstore.FoldStats"
	by := map[int64]*trade.FoldStat{}
	var order []int64
	get := func(p int64) *trade.FoldStat {
		st := by[p]
		if st == nil {
			st = &trade.FoldStat{PlatformID: p}
			by[p] = st
			order = append(order, p)
		}
		return st
	}
	err := db.eachRow(ctx, db.r, `SELECT s.platform_id, SUM(t.reviews), SUM(t.folded) FROM shop_scores t JOIN shops s ON s.id = t.shop_id
		GROUP BY s.platform_id ORDER BY s.platform_id`, nil, func(r *sql.Rows) error {
		var p, n, f int64
		if err := r.Scan(&p, &n, &f); err != nil {
			return err
		}
		st := get(p)
		st.Reviews, st.Folded = n, f
		return nil
	})
	if err != nil {
		return nil, mapErr(op, err)
	}
	err = db.eachRow(ctx, db.r, `SELECT platform_id, rating, COUNT(*), MAX(folded_at) FROM reviews WHERE folded_at <> 0
		GROUP BY platform_id, rating`, nil, func(r *sql.Rows) error {
		var p, rating, n, last int64
		if err := r.Scan(&p, &rating, &n, &last); err != nil {
			return err
		}
		st := get(p)
		switch trade.Rating(rating) {
		case trade.Negative:
			st.FoldedNegative = n
		case trade.Neutral:
			st.FoldedNeutral = n
		case trade.Positive:
			st.FoldedPositive = n
		}
		if at := fromMicros(last); at.After(st.LastFold) {
			st.LastFold = at
		}
		return nil
	})
	if err != nil {
		return nil, mapErr(op, err)
	}
	out := make([]trade.FoldStat, 0, len(order))
	for _, p := range order {
		out = append(out, *by[p])
	}
	return out, nil
}

// Tallies returns the tallies of the given shops, or of every shop of the
// seller when shopIDs is nil.
func (db *DB) Tallies(ctx context.Context, sellerID int64, shopIDs []int64) ([]trade.Tally, error) {
	const op = "sqlstore.Tallies"
	q := `SELECT shop_id, seller_id, reviews, folded, positive, neutral, negative, dsr_count, description_sum, service_sum,
		logistics_sum FROM shop_scores WHERE `
	var args []any
	if shopIDs == nil {
		q += "seller_id = ?"
		args = []any{sellerID}
	} else {
		shopIDs = uniqueIDs(shopIDs)
		if len(shopIDs) == 0 {
			return nil, nil
		}
		if len(shopIDs) > inChunk {
			return nil, &errs.Error{Code: errs.Invalid, Op: op, Message: "too many shops"}
		}
		q += "shop_id IN " + inList(len(shopIDs))
		for _, id := range shopIDs {
			args = append(args, id)
		}
	}
	var out []trade.Tally
	err := db.eachRow(ctx, db.r, q+" ORDER BY shop_id", args, func(r *sql.Rows) error {
		var t trade.Tally
		err := r.Scan(&t.ShopID, &t.SellerID, &t.Reviews, &t.Folded, &t.Positive, &t.Neutral, &t.Negative, &t.DSRCount,
			&t.DescriptionSum, &t.ServiceSum, &t.LogisticsSum)
		out = append(out, t)
		return err
	})
	if err != nil {
		return nil, mapErr(op, err)
	}
	return out, nil
}

// CreateBuyerRating stores a seller's rating of a buyer with its audit
// entry.
func (db *DB) CreateBuyerRating(ctx context.Context, r *trade.BuyerRating, ev *audit.Entry) error {
	const op = "sqlstore.CreateBuyerRating"
	if r.CreatedAt.IsZero() {
		r.CreatedAt = db.now()
	}
	norm(&r.CreatedAt)
	var id int64
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		var err error
		id, err = db.insertID(ctx, tx, `INSERT INTO buyer_ratings (order_id, platform_id, seller_id, buyer, rating, body, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, r.OrderID, r.PlatformID, r.SellerID, r.Buyer, int(r.Rating), r.Text, micros(r.CreatedAt))
		if err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, ev, "buyer_rating", id)
	})
	if err != nil {
		if errs.Is(err, errs.Conflict) && errs.FieldOf(err) == "" {
			return &errs.Error{Code: errs.Conflict, Op: op, Field: "order_id", Message: "该订单的买家已被评价 (buyer already rated for this order)", Err: err}
		}
		return err
	}
	r.ID = id
	return nil
}

// BuyerRatingOfOrder returns the seller's rating of an order's buyer, or
// NotFound.
func (db *DB) BuyerRatingOfOrder(ctx context.Context, orderID int64) (*trade.BuyerRating, error) {
	const op = "sqlstore.BuyerRatingOfOrder"
	var r trade.BuyerRating
	var rating int
	var at int64
	err := db.readRow(ctx, `SELECT id, order_id, platform_id, seller_id, buyer, rating, body, created_at
		FROM buyer_ratings WHERE order_id = ?`, orderID).Scan(&r.ID, &r.OrderID, &r.PlatformID, &r.SellerID, &r.Buyer, &rating, &r.Text, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Wrap(op, notFound("买家评价", "buyer rating", orderID))
	}
	if err != nil {
		return nil, mapErr(op, err)
	}
	r.Rating, r.CreatedAt = trade.Rating(rating), fromMicros(at)
	return &r, nil
}

// BuyerTally counts the ratings a buyer of a platform received.
func (db *DB) BuyerTally(ctx context.Context, platformID int64, buyer string) (pos, neu, neg int, err error) {
	err = db.eachRow(ctx, db.r, "SELECT rating, COUNT(*) FROM buyer_ratings WHERE platform_id = ? AND buyer = ? GROUP BY rating",
		[]any{platformID, buyer}, func(r *sql.Rows) error {
			var rating, n int
			if err := r.Scan(&rating, &n); err != nil {
				return err
			}
			switch trade.Rating(rating) {
			case trade.Positive:
				pos = n
			case trade.Neutral:
				neu = n
			case trade.Negative:
				neg = n
			}
			return nil
		})
	return pos, neu, neg, mapErr("sqlstore.BuyerTally", err)
}

const evaluationCols = `id, account_id, agency, ref, subject_id, subject_code, score, scale, grade, method, valid_from, valid_until, created_at`

func scanEvaluation(r scanner) (*trade.Evaluation, error) {
	var e trade.Evaluation
	var score sql.NullFloat64
	var from, until, created int64
	if err := r.Scan(&e.ID, &e.AccountID, &e.Agency, &e.Ref, &e.SubjectID, &e.SubjectCode, &score, &e.Scale, &e.Grade,
		&e.Method, &from, &until, &created); err != nil {
		return nil, err
	}
	if score.Valid {
		v := score.Float64
		e.Score = &v
	}
	e.ValidFrom, e.ValidUntil, e.CreatedAt = fromMicros(from), fromMicros(until), fromMicros(created)
	return &e, nil
}

// CreateEvaluation stores an agency's evaluation with its audit entry.
func (db *DB) CreateEvaluation(ctx context.Context, e *trade.Evaluation, ev *audit.Entry) error {
	const op = "sqlstore.CreateEvaluation"
	if e.CreatedAt.IsZero() {
		e.CreatedAt = db.now()
	}
	norm(&e.CreatedAt)
	norm(&e.ValidFrom)
	norm(&e.ValidUntil)
	var score any
	if e.Score != nil {
		score = *e.Score
	}
	var id int64
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		var err error
		id, err = db.insertID(ctx, tx, `INSERT INTO credit_evaluations (account_id, agency, ref, subject_id, subject_code, score,
			scale, grade, method, valid_from, valid_until, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.AccountID, e.Agency, e.Ref, e.SubjectID, e.SubjectCode, score, e.Scale, e.Grade, e.Method, micros(e.ValidFrom),
			micros(e.ValidUntil), micros(e.CreatedAt))
		if err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, ev, "evaluation", id)
	})
	if err != nil {
		if errs.Is(err, errs.Conflict) && errs.FieldOf(err) == "" {
			return &errs.Error{Code: errs.Conflict, Op: op, Field: "ref", Message: "该报告编号已报送 (ref already submitted)", Err: err}
		}
		return err
	}
	e.ID = id
	return nil
}

// FindEvaluation returns an agency account's evaluation by its ref, or
// NotFound.
func (db *DB) FindEvaluation(ctx context.Context, accountID int64, ref string) (*trade.Evaluation, error) {
	const op = "sqlstore.FindEvaluation"
	e, err := scanEvaluation(db.readRow(ctx, "SELECT "+evaluationCols+
		" FROM credit_evaluations WHERE account_id = ? AND ref = ?", accountID, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Wrap(op, notFound("评价报告", "evaluation", ref))
	}
	return e, mapErr(op, err)
}

// ListEvaluations returns a subject's evaluations valid at or after
// validAt (zero: all), newest first.
func (db *DB) ListEvaluations(ctx context.Context, subjectID int64, validAt time.Time, limit int) ([]*trade.Evaluation, error) {
	const op = "sqlstore.ListEvaluations"
	var out []*trade.Evaluation
	err := db.eachRow(ctx, db.r, "SELECT "+evaluationCols+" FROM credit_evaluations WHERE subject_id = ? AND valid_until > ? ORDER BY id DESC LIMIT ?",
		[]any{subjectID, micros(validAt), clampLimit(limit, 20, 200)}, func(r *sql.Rows) error {
			e, err := scanEvaluation(r)
			if err == nil {
				out = append(out, e)
			}
			return err
		})
	if err != nil {
		return nil, mapErr(op, err)
	}
	return out, nil
}
