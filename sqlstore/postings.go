package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"ecredit/errs"
	"ecredit/trade"
)

// The forward-trace index (M10, migration 00022). Order ingest does not
// sort a platform's orders into batch order. In the transaction that
// stores them it writes one trace_pending row: the range of the order ids
// it created and, packed in one value, their items' batches and
// quantities (pendingItems). IndexOrders later moves pending rows into
// batch_postings a step at a time: one row per batch seen in the step,
// listing that batch's order items (order id, quantity) in id order. A
// batch's forward trace reads its postings and the pending rows in one
// statement, so it sees every order item exactly once whether or not it
// has been indexed yet.
//
// Why: an index on order_items (gtin, batch, …) dirtied a page at its
// batch's place for nearly every order of a 1000-order batch, and reading
// the items back to index them later costs two B-tree seeks an item; a
// packed pending row is written once for the whole batch, and a posting
// row once per batch per step.
//
// A pending row without items (from the migration: every order stored
// before it) stands for the items of its range's orders in order_items.

// Indexing bounds: a step takes pending rows covering at most
// indexStepIDs order ids (a range without items is cut when longer), and
// CreateOrders runs one step once about IndexEvery order items have come
// in on this store since the last step (SetIndexEvery). The server's
// warmer indexes the rest (trace.Service.WarmReach), so the pending tail
// stays short on an idle store and across instances.
const (
	indexStepIDs       = 50_000
	defaultIndexEvery  = 40_000
	postingFormat      = 1
	pendingFormat      = 2
	postingLockKey     = 0x65637265_6469740a // pg advisory lock of IndexOrders
	ordersByIDPerQuery = 500
)

// SetIndexEvery sets how many order items CreateOrders lets in between
// two indexing steps (0 or less: never from CreateOrders; the warmer and
// IndexOrders still index).
func (db *DB) SetIndexEvery(items int64) { db.indexEvery.Store(items) }

// batchKey is a batch as order items name it.
type batchKey struct{ gtin, batch string }

// batchItem is an order item of a batch: its order and quantity.
type batchItem struct{ order, qty int64 }

// pendingItems packs the items of orders (ids[i] the id of os[i]) as a
// trace_pending row's items: the format byte, the number of distinct
// batches and each (uvarint length and bytes of the GTIN, then of the
// batch), then per item in ascending order id the uvarints of its
// batch's number, its order id less the previous item's (lo for the
// first) and its quantity. It returns lo and hi, the smallest and largest
// order id.
func pendingItems(os []*trade.Order, ids []int64) (lo, hi int64, packed []byte) {
	at := make([]int, len(os)) // os by ascending id: usually as given
	for i := range at {
		at[i] = i
	}
	if !slices.IsSorted(ids) {
		slices.SortFunc(at, func(a, b int) int { return cmp.Compare(ids[a], ids[b]) })
	}
	lo, hi = ids[at[0]], ids[at[len(at)-1]]
	keys := map[batchKey]uint64{}
	var dict []byte
	items := make([]byte, 0, 8*len(os))
	prev := lo
	last, lastN := batchKey{}, uint64(0)
	for _, i := range at {
		for _, it := range os[i].Items {
			k := batchKey{it.GTIN, it.Batch}
			n, ok := lastN, len(keys) > 0 && k == last
			if !ok {
				if n, ok = keys[k]; !ok {
					n = uint64(len(keys))
					keys[k] = n
					dict = binary.AppendUvarint(dict, uint64(len(k.gtin)))
					dict = append(dict, k.gtin...)
					dict = binary.AppendUvarint(dict, uint64(len(k.batch)))
					dict = append(dict, k.batch...)
				}
				last, lastN = k, n
			}
			items = binary.AppendUvarint(items, n)
			items = binary.AppendUvarint(items, uint64(ids[i]-prev))
			items = binary.AppendUvarint(items, uint64(it.Quantity))
			prev = ids[i]
		}
	}
	packed = make([]byte, 0, 1+binary.MaxVarintLen64+len(dict)+len(items))
	packed = append(packed, pendingFormat)
	packed = binary.AppendUvarint(packed, uint64(len(keys)))
	return lo, hi, append(append(packed, dict...), items...)
}

// eachPending decodes a trace_pending row's items (pendingItems) and calls
// fn for each, in ascending order id.
func eachPending(lo int64, b []byte, fn func(k batchKey, order, qty int64)) error {
	bad := fmt.Errorf("pending orders from %d: items not readable", lo)
	if len(b) == 0 || b[0] != pendingFormat {
		return bad
	}
	b = b[1:]
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	str := func() (string, bool) {
		n, ok := next()
		if !ok || n > uint64(len(b)) {
			return "", false
		}
		s := string(b[:n])
		b = b[n:]
		return s, true
	}
	nk, ok := next()
	if !ok || nk > uint64(len(b)) {
		return bad
	}
	keys := make([]batchKey, nk)
	for i := range keys {
		g, ok1 := str()
		bt, ok2 := str()
		if !ok1 || !ok2 {
			return bad
		}
		keys[i] = batchKey{g, bt}
	}
	id := lo
	for len(b) > 0 {
		k, ok1 := next()
		d, ok2 := next()
		q, ok3 := next()
		if !ok1 || !ok2 || !ok3 || k >= nk || d > math.MaxInt64 || q > math.MaxInt64 {
			return bad
		}
		id += int64(d)
		fn(keys[k], id, int64(q))
	}
	return nil
}

// addPending writes the trace_pending row of orders just created in tx
// (ids[i] the id of os[i]).
func (db *DB) addPending(ctx context.Context, tx *sql.Tx, os []*trade.Order, ids []int64) error {
	if len(os) == 0 {
		return nil
	}
	lo, hi, packed := pendingItems(os, ids)
	_, err := tx.ExecContext(ctx, db.d.Rebind("INSERT INTO trace_pending (lo, hi, items) VALUES (?, ?, ?)"), lo, hi, packed)
	return err
}

// afterOrders counts the order items just stored and runs an indexing
// step once IndexEvery of them have come in. The orders are committed
// already: a failed step is not theirs to report, and the next step (or
// the warmer, which logs) indexes what this one did not.
func (db *DB) afterOrders(ctx context.Context, items int) {
	every := db.indexEvery.Load()
	if every <= 0 || db.pendingCount.Add(int64(items)) < every {
		return
	}
	db.pendingCount.Store(0)
	_, _ = db.indexStep(ctx)
}

// IndexOrders moves every pending order into batch_postings, a step (one
// transaction) at a time, and returns how many order ids it covered. On
// PostgreSQL one indexer runs at a time (an advisory lock): a call that
// finds another one running returns at once.
func (db *DB) IndexOrders(ctx context.Context) (int64, error) {
	var total int64
	for {
		n, err := db.indexStep(ctx)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// indexStep indexes pending rows covering at most indexStepIDs order ids
// (at least one row) in one transaction: the rows taken are deleted (a
// range without items cut short when longer than the step, the rest left
// pending) and their items written as postings, one row per batch.
func (db *DB) indexStep(ctx context.Context) (int64, error) {
	const op = "sqlstore.IndexOrders"
	// Nothing pending (the warmer asks every step of every round): a
	// read, not a write transaction on SQLite's one writer.
	var pending int
	switch err := db.readRow(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM trace_pending LIMIT 1) x").Scan(&pending); {
	case err != nil:
		return 0, mapErr(op, err)
	case pending == 0:
		return 0, nil
	}
	var covered int64
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		covered = 0
		if db.d.Name() == EnginePostgres {
			var ok bool
			if err := tx.QueryRowContext(ctx, "SELECT pg_try_advisory_xact_lock($1)", int64(postingLockKey)).Scan(&ok); err != nil || !ok {
				return err
			}
		}
		type pending struct {
			lo, hi int64
			items  []byte
		}
		var take []pending
		err := db.eachRow(ctx, tx, "SELECT lo, hi, items FROM trace_pending ORDER BY lo LIMIT 1000", nil, func(r *sql.Rows) error {
			var p pending
			if covered >= indexStepIDs {
				return nil
			}
			if err := r.Scan(&p.lo, &p.hi, &p.items); err != nil {
				return err
			}
			take = append(take, p)
			covered += p.hi - p.lo + 1
			return nil
		})
		if err != nil || len(take) == 0 {
			return err
		}
		del := make([]any, len(take))
		for i, p := range take {
			del[i] = p.lo
		}
		if _, err := tx.ExecContext(ctx, db.d.Rebind("DELETE FROM trace_pending WHERE lo IN "+inList(len(del))), del...); err != nil {
			return err
		}
		if last := &take[len(take)-1]; covered > indexStepIDs && last.items == nil && len(take) > 0 {
			// The rest of the last range stays pending.
			cut := max(last.lo, last.hi-(covered-indexStepIDs))
			if cut < last.hi {
				if _, err := tx.ExecContext(ctx, db.d.Rebind("INSERT INTO trace_pending (lo, hi) VALUES (?, ?)"), cut+1, last.hi); err != nil {
					return err
				}
				covered -= last.hi - cut
				last.hi = cut
			}
		}
		byKey := map[batchKey][]batchItem{}
		var keys []batchKey
		add := func(k batchKey, order, qty int64) {
			its, ok := byKey[k]
			if !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(its, batchItem{order, qty})
		}
		for _, p := range take {
			if p.items != nil {
				if err := eachPending(p.lo, p.items, add); err != nil {
					return err
				}
				continue
			}
			err := db.eachRow(ctx, tx, "SELECT id, items FROM orders WHERE id BETWEEN ? AND ? ORDER BY id",
				[]any{p.lo, p.hi}, func(r *sql.Rows) error {
					var id int64
					var items string
					if err := r.Scan(&id, &items); err != nil {
						return err
					}
					its, err := parseItems(items)
					for _, it := range its {
						add(batchKey{it.GTIN, it.Batch}, id, int64(it.Quantity))
					}
					return err
				})
			if err != nil {
				return err
			}
		}
		rows := make([][]any, len(keys))
		for i, k := range keys {
			// Pending rows of concurrent transactions may interleave
			// their order ids (a PostgreSQL sequence): sorted here.
			its := byKey[k]
			slices.SortStableFunc(its, func(a, b batchItem) int { return cmp.Compare(a.order, b.order) })
			buf, prev := []byte{postingFormat}, its[0].order
			for _, it := range its {
				buf = binary.AppendUvarint(buf, uint64(it.order-prev))
				buf = binary.AppendUvarint(buf, uint64(it.qty))
				prev = it.order
			}
			rows[i] = []any{k.gtin, k.batch, its[0].order, prev, int64(len(its)), buf}
		}
		return db.multiInsert(ctx, tx, "batch_postings", "gtin, batch, first_id, last_id, lines, entries",
			[]string{"text", "text", "bigint", "bigint", "bigint", "bytea"}, rows, rowsPerStatement, "", nil)
	})
	if err != nil {
		return 0, err
	}
	return covered, nil
}

// eachEntry decodes a posting's entries (order id, quantity) in ascending
// order id.
func eachEntry(first int64, buf []byte, fn func(order, qty int64)) error {
	if len(buf) == 0 || buf[0] != postingFormat {
		return fmt.Errorf("batch posting at order %d: unknown format", first)
	}
	b, id := buf[1:], first
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		if n <= 0 {
			return fmt.Errorf("batch posting at order %d: bad entry", first)
		}
		q, m := binary.Uvarint(b[n:])
		if m <= 0 || d > math.MaxInt64 || q > math.MaxInt64 {
			return fmt.Errorf("batch posting at order %d: bad entry", first)
		}
		id += int64(d)
		fn(id, int64(q))
		b = b[n+m:]
	}
	return nil
}

// tailQuery is the statement that reads the pending orders' items of the
// batch (gtin any of gtins) with an order id above after and, unless upto
// is 0, at most upto: rows (0, order id, quantity, 0, NULL) from pending
// ranges without items (their items from the order_items view, 00024),
// and rows (1, lo, hi, 0, items) of the other pending rows, whose items
// the caller filters (eachTailItem). Postings rows go after it as (2,
// first id, last id, lines, entries).
func (db *DB) tailQuery(gtins []string, batch string, after, upto int64) (string, []any) {
	where, args := gtinsIn(gtins, batch, after)
	q := "SELECT 0, i.order_id, i.quantity, 0, " + db.nullBlob() + " FROM trace_pending p JOIN order_items i ON i.order_id BETWEEN p.lo AND p.hi WHERE p.items IS NULL AND i." +
		strings.Replace(where, "batch = ?", "i.batch = ?", 1) + " AND i.order_id > ?"
	if upto != 0 {
		q += " AND i.order_id <= ?"
		args = append(args, upto)
	}
	q += " UNION ALL SELECT 1, lo, hi, 0, items FROM trace_pending WHERE items IS NOT NULL AND hi > ?"
	args = append(args, after)
	if upto != 0 {
		q += " AND lo <= ?"
		args = append(args, upto)
	}
	return q, args
}

// eachTailItem calls fn for the items of a tailQuery row (src, id, n,
// packed) that are the batch's and in (after, upto].
func eachTailItem(gtins []string, batch string, after, upto, src, id, n int64, packed []byte, fn func(order, qty int64)) error {
	if src == 0 {
		fn(id, n)
		return nil
	}
	return eachPending(id, packed, func(k batchKey, order, qty int64) {
		if k.batch == batch && slices.Contains(gtins, k.gtin) && order > after && (upto == 0 || order <= upto) {
			fn(order, qty)
		}
	})
}

// sortItems sorts items by order id, keeping each order's in their order.
func sortItems(items []batchItem) {
	slices.SortStableFunc(items, func(a, b batchItem) int { return cmp.Compare(a.order, b.order) })
}

// batchItems returns the batch's order items (gtin any of gtins) whose
// order id is above after and, unless upto is 0, at most upto, sorted by
// order id, in one statement (one snapshot: an item indexed meanwhile is
// read once): the pending orders' items (tailQuery), then the postings.
func (db *DB) batchItems(ctx context.Context, gtins []string, batch string, after, upto int64) ([]batchItem, error) {
	var out []batchItem
	sorted := true
	err := db.eachBatchRow(ctx, gtins, batch, after, upto, false, func(src, id, n, _ int64, packed []byte) error {
		add := func(order, qty int64) {
			if k := len(out); k > 0 && out[k-1].order > order {
				sorted = false
			}
			out = append(out, batchItem{order, qty})
		}
		if src < 2 {
			return eachTailItem(gtins, batch, after, upto, src, id, n, packed, add)
		}
		return eachEntry(id, packed, func(order, qty int64) {
			if order > after && (upto == 0 || order <= upto) {
				add(order, qty)
			}
		})
	})
	if err != nil {
		return nil, err
	}
	if !sorted {
		sortItems(out)
	}
	return out, nil
}

// eachBatchRow runs tailQuery with the batch's postings after it (those
// with an order above after and, unless upto is 0, one at most upto) as
// one statement, and calls fn with each row (src, id, n, lines, packed).
// With whole, a posting wholly within the bounds comes without its
// entries (nil packed): its count is in lines.
func (db *DB) eachBatchRow(ctx context.Context, gtins []string, batch string, after, upto int64, whole bool, fn func(src, id, n, lines int64, packed []byte) error) error {
	q, args := db.tailQuery(gtins, batch, after, upto)
	entries := "entries"
	var wargs []any
	if whole {
		entries = "CASE WHEN first_id > ? AND last_id <= ? THEN NULL ELSE entries END"
		hi := upto
		if hi == 0 {
			hi = math.MaxInt64
		}
		wargs = []any{after, hi}
	}
	where, more := gtinsIn(gtins, batch, after)
	q += " UNION ALL SELECT 2, first_id, last_id, lines, " + entries + " FROM batch_postings WHERE " + where + " AND last_id > ?"
	args = append(append(args, wargs...), more...)
	if upto != 0 {
		q += " AND first_id <= ?"
		args = append(args, upto)
	}
	return db.eachRow(ctx, db.r, q, args, func(r *sql.Rows) error {
		var src, id, n, lines int64
		var packed []byte
		if err := r.Scan(&src, &id, &n, &lines, &packed); err != nil {
			return err
		}
		return fn(src, id, n, lines, packed)
	})
}

// batchCount returns the smallest and largest order id of the batch's
// items up to upto (0: all) and their number, in one statement, decoding
// only the pending rows and the postings upto cuts.
func (db *DB) batchCount(ctx context.Context, gtins []string, batch string, upto int64) (lo, hi, n int64, err error) {
	see := func(first, last, k int64) {
		if n == 0 || first < lo {
			lo = first
		}
		hi = max(hi, last)
		n += k
	}
	err = db.eachBatchRow(ctx, gtins, batch, 0, upto, true, func(src, id, v, lines int64, packed []byte) error {
		switch {
		case src < 2:
			return eachTailItem(gtins, batch, 0, upto, src, id, v, packed, func(order, _ int64) { see(order, order, 1) })
		case packed == nil:
			see(id, v, lines)
			return nil
		}
		return eachEntry(id, packed, func(order, _ int64) {
			if upto == 0 || order <= upto {
				see(order, order, 1)
			}
		})
	})
	return lo, hi, n, err
}

// postingsWindow is the most postings firstItems reads a statement (it
// starts with 2 and doubles).
const postingsWindow = 16

// firstItems returns the items of the batch's first want orders above
// after (and maybe of some later ones), sorted by order id: all when the
// batch has fewer. It reads the pending orders' items, then the postings
// in first-id order, 2, 4, 8 and then postingsWindow a statement, and stops once it holds
// want orders below the next unread posting's first id (every item of
// those is then read). The statements are not one snapshot: an order
// indexed between the first and a later one is read twice, and its
// pending copy dropped (an order's items move from pending to one
// posting per GTIN form in one transaction, and postings are never
// removed).
func (db *DB) firstItems(ctx context.Context, gtins []string, batch string, after int64, want int) ([]batchItem, error) {
	var tail, out []batchItem
	q, args := db.tailQuery(gtins, batch, after, 0)
	err := db.eachRow(ctx, db.r, q, args, func(r *sql.Rows) error {
		var src, id, n, zero int64
		var packed []byte
		if err := r.Scan(&src, &id, &n, &zero, &packed); err != nil {
			return err
		}
		return eachTailItem(gtins, batch, after, 0, src, id, n, packed, func(order, qty int64) { tail = append(tail, batchItem{order, qty}) })
	})
	if err != nil {
		return nil, err
	}
	indexed := map[int64]bool{} // orders read in a posting
	type key struct {
		gtin  string
		first int64
	}
	read := map[key]bool{}
	where, wargs := gtinsIn(gtins, batch, after)
	from := int64(math.MinInt64)
	for window := 2; ; window = min(2*window, postingsWindow) {
		n, last := 0, int64(0)
		err := db.eachRow(ctx, db.r, "SELECT gtin, first_id, entries FROM batch_postings WHERE "+where+" AND last_id > ? AND first_id >= ? ORDER BY first_id LIMIT ?",
			append(slices.Clone(wargs), from, window), func(r *sql.Rows) error {
				var k key
				var packed []byte
				if err := r.Scan(&k.gtin, &k.first, &packed); err != nil {
					return err
				}
				n++
				last = k.first
				if read[k] {
					return nil // read by the previous window (a tie at its end)
				}
				read[k] = true
				return eachEntry(k.first, packed, func(order, qty int64) {
					if order > after {
						out = append(out, batchItem{order, qty})
						indexed[order] = true
					}
				})
			})
		if err != nil {
			return nil, err
		}
		if n < window {
			break // no more postings
		}
		// The postings not read yet start at last or later (a tie: the
		// same orders under another GTIN form): the orders below last
		// are whole.
		below := map[int64]bool{}
		for _, it := range out {
			if it.order < last {
				below[it.order] = true
			}
		}
		for _, it := range tail {
			if it.order < last {
				below[it.order] = true
			}
		}
		if len(below) >= want {
			break
		}
		from = last
	}
	for _, it := range tail {
		if !indexed[it.order] {
			out = append(out, it)
		}
	}
	sortItems(out)
	return out, nil
}

// nullBlob is a NULL of the engine's binary type, for a UNION ALL whose
// other branches read packed items.
func (db *DB) nullBlob() string {
	if db.d.Name() == EnginePostgres {
		return "CAST(NULL AS BYTEA)"
	}
	return "CAST(NULL AS BLOB)"
}

// orderRef is what the forward trace reads of an order.
type orderRef struct {
	id, platform, shop, seller, paid int64
	no, region, status               string
}

// ordersByID calls fn for each stored order among ids (ascending, no
// duplicates), in id order: ordersByIDPerQuery ids a query, a range scan
// of the primary key where the ids are dense, else an IN list (padded to
// a power of two, so that a few statements serve every call).
func (db *DB) ordersByID(ctx context.Context, ids []int64, fn func(orderRef) error) error {
	const cols = "SELECT id, order_no, platform_id, shop_id, seller_id, region, status, paid_at FROM orders WHERE "
	args := make([]any, 0, ordersByIDPerQuery)
	for start := 0; start < len(ids); start += ordersByIDPerQuery {
		chunk := ids[start:min(start+ordersByIDPerQuery, len(ids))]
		args = args[:0]
		var q string
		lo, hi := chunk[0], chunk[len(chunk)-1]
		if hi-lo < 4*int64(len(chunk)) {
			q = cols + "id BETWEEN ? AND ? ORDER BY id"
			args = append(args, lo, hi)
		} else {
			k := 8 // the list padded to a power of two: few statements to keep
			for k < len(chunk) {
				k *= 2
			}
			q = cols + "id IN " + inList(k) + " ORDER BY id"
			for i := range k {
				args = append(args, chunk[min(i, len(chunk)-1)])
			}
		}
		err := db.eachRow(ctx, db.r, q, args, func(r *sql.Rows) error {
			var o orderRef
			if err := r.Scan(&o.id, &o.no, &o.platform, &o.shop, &o.seller, &o.region, &o.status, &o.paid); err != nil {
				return err
			}
			if _, found := slices.BinarySearch(chunk, o.id); !found {
				return nil
			}
			return fn(o)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// orderSums folds sorted items into one (order, summed quantity, lines)
// per order, in order id order.
func orderSums(items []batchItem) (ids []int64, qty, lines map[int64]int64) {
	qty, lines = make(map[int64]int64, len(items)), make(map[int64]int64, len(items))
	for i, it := range items {
		if i == 0 || items[i-1].order != it.order {
			ids = append(ids, it.order)
		}
		qty[it.order] += it.qty
		lines[it.order]++
	}
	return ids, qty, lines
}

// TracedLines counts the order items the forward trace sees, per batch
// (the GTIN as the order gives it, and the batch): the pending rows'
// items and the postings' lines, read through q (a transaction gives one
// snapshot). Each batch's count must equal its rows in order_items; the
// crash harness checks that after every kill.
func TracedLines(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}) (map[[2]string]int64, error) {
	const op = "sqlstore.TracedLines"
	out := map[[2]string]int64{}
	each := func(query string, fn func(*sql.Rows) error) error {
		rows, err := q.QueryContext(ctx, query)
		return eachOf(rows, err, fn)
	}
	sum := func(r *sql.Rows) error {
		var g, b string
		var n int64
		if err := r.Scan(&g, &b, &n); err != nil {
			return err
		}
		out[[2]string{g, b}] += n
		return nil
	}
	err := errors.Join(
		each("SELECT gtin, batch, SUM(lines) FROM batch_postings GROUP BY gtin, batch", sum),
		each("SELECT i.gtin, i.batch, COUNT(*) FROM trace_pending p JOIN order_items i ON i.order_id BETWEEN p.lo AND p.hi WHERE p.items IS NULL GROUP BY i.gtin, i.batch", sum),
		each("SELECT lo, items FROM trace_pending WHERE items IS NOT NULL", func(r *sql.Rows) error {
			var lo int64
			var packed []byte
			if err := r.Scan(&lo, &packed); err != nil {
				return err
			}
			return eachPending(lo, packed, func(k batchKey, _, _ int64) { out[[2]string{k.gtin, k.batch}]++ })
		}))
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	return out, nil
}
