package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	"ecredit/audit"
	"ecredit/errs"
	"ecredit/trace"
)

var _ trace.Store = (*DB)(nil)

func init() {
	uniques = append(uniques,
		unique{"trace_products.gtin", "trace_products_gtin_key", "gtin", "该商品条码已登记 (GTIN already registered)"},
		unique{"trace_batches.gtin, trace_batches.batch", "trace_batches_key", "batch", "该批次已登记 (batch already registered)"},
		unique{"trace_events.source_key, trace_events.event_id", "trace_events_source_key", "event_id", "事件编号已使用 (event id already used)"},
		unique{"trace_recalls.batch_id", "trace_recalls_batch_key", "batch", "该批次已召回 (batch already recalled)"},
	)
}

const productCols = `id, gtin, name, category, brand, spec, producer_id, created_by, created_at, updated_at`

func scanProduct(r scanner) (*trace.Product, error) {
	var p trace.Product
	var c, u int64
	if err := r.Scan(&p.ID, &p.GTIN, &p.Name, &p.Category, &p.Brand, &p.Spec, &p.ProducerID, &p.CreatedBy, &c, &u); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(c), fromMicros(u)
	return &p, nil
}

// CreateProduct inserts p with its audit entry and sets p.ID.
func (db *DB) CreateProduct(ctx context.Context, p *trace.Product, a *audit.Entry) error {
	const op = "sqlstore.CreateProduct"
	norm(&p.CreatedAt)
	norm(&p.UpdatedAt)
	return db.write(ctx, op, func(tx *sql.Tx) error {
		id, err := db.insertID(ctx, tx, `INSERT INTO trace_products (gtin, name, category, brand, spec, producer_id, created_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.GTIN, p.Name, p.Category, p.Brand, p.Spec, p.ProducerID, p.CreatedBy, micros(p.CreatedAt), micros(p.UpdatedAt))
		if err != nil {
			return err
		}
		p.ID = id
		return db.appendAudit(ctx, tx, a, "trace_product", id)
	})
}

// GetProduct returns the product of a GTIN, or NotFound.
func (db *DB) GetProduct(ctx context.Context, gtin string) (*trace.Product, error) {
	const op = "sqlstore.GetProduct"
	p, err := scanProduct(db.r.QueryRowContext(ctx, db.d.Rebind("SELECT "+productCols+" FROM trace_products WHERE gtin = ?"), gtin))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Wrap(op, notFound("商品条码", "product", gtin))
	}
	return p, mapErr(op, err)
}

const batchCols = `id, product_id, gtin, batch, produced_on, expires_on, quantity, producer_id, status, created_by, created_at, updated_at`

func scanBatch(r scanner) (*trace.Batch, error) {
	var b trace.Batch
	var c, u int64
	if err := r.Scan(&b.ID, &b.ProductID, &b.GTIN, &b.Batch, &b.ProducedOn, &b.ExpiresOn, &b.Quantity, &b.ProducerID, &b.Status, &b.CreatedBy, &c, &u); err != nil {
		return nil, err
	}
	b.CreatedAt, b.UpdatedAt = fromMicros(c), fromMicros(u)
	return &b, nil
}

// CreateBatch inserts b with its audit entry and sets b.ID.
func (db *DB) CreateBatch(ctx context.Context, b *trace.Batch, a *audit.Entry) error {
	const op = "sqlstore.CreateBatch"
	norm(&b.CreatedAt)
	norm(&b.UpdatedAt)
	return db.write(ctx, op, func(tx *sql.Tx) error {
		id, err := db.insertID(ctx, tx, `INSERT INTO trace_batches (product_id, gtin, batch, produced_on, expires_on, quantity, producer_id, status,
			created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, b.ProductID, b.GTIN, b.Batch, b.ProducedOn, b.ExpiresOn,
			b.Quantity, b.ProducerID, b.Status, b.CreatedBy, micros(b.CreatedAt), micros(b.UpdatedAt))
		if err != nil {
			return err
		}
		b.ID = id
		return db.appendAudit(ctx, tx, a, "trace_batch", id)
	})
}

// GetBatch returns a batch, or NotFound.
func (db *DB) GetBatch(ctx context.Context, gtin, batch string) (*trace.Batch, error) {
	const op = "sqlstore.GetBatch"
	b, err := scanBatch(db.r.QueryRowContext(ctx, db.d.Rebind("SELECT "+batchCols+" FROM trace_batches WHERE gtin = ? AND batch = ?"), gtin, batch))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Wrap(op, notFound("批次", "batch", gtin+"/"+batch))
	}
	return b, mapErr(op, err)
}

const traceEventCols = `id, source_key, event_id, type, gtin, batch, at, region, subject_id, shop_id, biz_step, disposition, ref_type, ref,
	quantity, note, actor_id, actor_name, recorded_at`

func scanTraceEvent(r scanner) (*trace.Event, error) {
	var e trace.Event
	var typ string
	var at, rec int64
	if err := r.Scan(&e.ID, &e.SourceKey, &e.EventID, &typ, &e.GTIN, &e.Batch, &at, &e.Region, &e.SubjectID, &e.ShopID, &e.BizStep,
		&e.Disposition, &e.RefType, &e.Ref, &e.Quantity, &e.Note, &e.ActorID, &e.ActorName, &rec); err != nil {
		return nil, err
	}
	e.Type, e.At, e.RecordedAt = trace.EventType(typ), fromMicros(at), fromMicros(rec)
	return &e, nil
}

func (db *DB) insertTraceEvent(ctx context.Context, tx *sql.Tx, e *trace.Event) error {
	norm(&e.At)
	norm(&e.RecordedAt)
	id, err := db.insertID(ctx, tx, `INSERT INTO trace_events (source_key, event_id, type, gtin, batch, at, region, subject_id, shop_id,
		biz_step, disposition, ref_type, ref, quantity, note, actor_id, actor_name, recorded_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.SourceKey, e.EventID, string(e.Type), e.GTIN, e.Batch, micros(e.At),
		e.Region, e.SubjectID, e.ShopID, e.BizStep, e.Disposition, e.RefType, e.Ref, e.Quantity, e.Note, e.ActorID, e.ActorName, micros(e.RecordedAt))
	if err != nil {
		return err
	}
	e.ID = id
	return nil
}

// CreateEvents inserts events (all or nothing) with one audit entry.
func (db *DB) CreateEvents(ctx context.Context, evs []*trace.Event, a *audit.Entry) error {
	const op = "sqlstore.CreateEvents"
	return db.write(ctx, op, func(tx *sql.Tx) error {
		for _, e := range evs {
			if err := db.insertTraceEvent(ctx, tx, e); err != nil {
				return err
			}
		}
		return db.appendAudit(ctx, tx, a, "trace_events", 0)
	})
}

// FindEvents returns a source's stored events among ids, by event id.
func (db *DB) FindEvents(ctx context.Context, sourceKey string, ids []string) (map[string]*trace.Event, error) {
	const op = "sqlstore.FindEvents"
	out := map[string]*trace.Event{}
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := []any{sourceKey}
		for _, id := range chunk {
			args = append(args, id)
		}
		q := "SELECT " + traceEventCols + " FROM trace_events WHERE source_key = ? AND event_id IN (" + qmarks(len(chunk)) + ")"
		if err := db.eachTraceEvent(ctx, q, args, func(e *trace.Event) { out[e.EventID] = e }); err != nil {
			return nil, mapErr(op, err)
		}
	}
	return out, nil
}

// qmarks returns "?, ?, …" for an IN list of n values.
func qmarks(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func (db *DB) eachTraceEvent(ctx context.Context, q string, args []any, fn func(*trace.Event)) error {
	rows, err := db.r.QueryContext(ctx, db.d.Rebind(q), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanTraceEvent(rows)
		if err != nil {
			return err
		}
		fn(e)
	}
	return rows.Err()
}

// BatchEvents returns up to limit events of a batch of the given types,
// oldest first.
func (db *DB) BatchEvents(ctx context.Context, gtin, batch string, types []trace.EventType, limit int) ([]*trace.Event, error) {
	const op = "sqlstore.BatchEvents"
	q := "SELECT " + traceEventCols + " FROM trace_events WHERE gtin = ? AND batch = ?"
	args := []any{gtin, batch}
	if len(types) > 0 {
		q += " AND type IN (" + qmarks(len(types)) + ")"
		for _, t := range types {
			args = append(args, string(t))
		}
	}
	q += " ORDER BY at, id LIMIT ?"
	args = append(args, clampLimit(limit, 200, 1000))
	var out []*trace.Event
	err := db.eachTraceEvent(ctx, q, args, func(e *trace.Event) { out = append(out, e) })
	return out, mapErr(op, err)
}

// CountBatchEvents counts a batch's events by type.
func (db *DB) CountBatchEvents(ctx context.Context, gtin, batch string) (map[trace.EventType]int64, error) {
	const op = "sqlstore.CountBatchEvents"
	rows, err := db.r.QueryContext(ctx, db.d.Rebind("SELECT type, COUNT(*) FROM trace_events WHERE gtin = ? AND batch = ? GROUP BY type"), gtin, batch)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	out := map[trace.EventType]int64{}
	for rows.Next() {
		var t string
		var n int64
		if err := rows.Scan(&t, &n); err != nil {
			return nil, mapErr(op, err)
		}
		out[trace.EventType(t)] = n
	}
	return out, mapErr(op, rows.Err())
}

// CreateRecall stores the recall, its event and the batch's status.
func (db *DB) CreateRecall(ctx context.Context, rc *trace.Recall, ev *trace.Event, a *audit.Entry) error {
	const op = "sqlstore.CreateRecall"
	norm(&rc.At)
	ps, err := json.Marshal(rc.Platforms)
	if err != nil {
		return errs.Wrap(op, err)
	}
	return db.write(ctx, op, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, "UPDATE trace_batches SET status = ?, updated_at = ? WHERE id = ? AND status <> ?",
			trace.BatchRecalled, micros(rc.At), rc.BatchID, trace.BatchRecalled)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return &errs.Error{Code: errs.Conflict, Field: "batch", Message: "该批次已召回或不存在 (batch already recalled or missing)"}
		}
		id, err := db.insertID(ctx, tx, `INSERT INTO trace_recalls (batch_id, gtin, batch, reason, record_id, actor_id, actor_name, role,
			orders, quantity, platforms, recalled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, rc.BatchID, rc.GTIN, rc.Batch, rc.Reason,
			rc.RecordID, rc.ActorID, rc.ActorName, rc.Role, rc.Orders, rc.Quantity, string(ps), micros(rc.At))
		if err != nil {
			return err
		}
		rc.ID = id
		if err := db.insertTraceEvent(ctx, tx, ev); err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, a, "trace_recall", id)
	})
}

// GetRecall returns the recall of a batch, or NotFound.
func (db *DB) GetRecall(ctx context.Context, gtin, batch string) (*trace.Recall, error) {
	const op = "sqlstore.GetRecall"
	var rc trace.Recall
	var ps string
	var at int64
	err := db.r.QueryRowContext(ctx, db.d.Rebind(`SELECT id, batch_id, gtin, batch, reason, record_id, actor_id, actor_name, role, orders, quantity,
		platforms, recalled_at FROM trace_recalls WHERE gtin = ? AND batch = ?`), gtin, batch).Scan(&rc.ID, &rc.BatchID, &rc.GTIN, &rc.Batch,
		&rc.Reason, &rc.RecordID, &rc.ActorID, &rc.ActorName, &rc.Role, &rc.Orders, &rc.Quantity, &ps, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Wrap(op, notFound("召回", "recall", gtin+"/"+batch))
	}
	if err != nil {
		return nil, mapErr(op, err)
	}
	if err := json.Unmarshal([]byte(ps), &rc.Platforms); err != nil {
		return nil, errs.Wrap(op, err)
	}
	rc.At = fromMicros(at)
	return &rc, nil
}

// The forward trace reads order_items through its (gtin, batch) index and
// each order by its primary key: the cost grows with the orders of the
// batch, not with the size of the orders table.

// itemsOf is the FROM/WHERE of the orders holding a batch.
func itemsOf(gtins []string, platformID int64) string {
	q := " FROM order_items i JOIN orders o ON o.id = i.order_id WHERE i.gtin IN (" + qmarks(len(gtins)) + ") AND i.batch = ?"
	if platformID != 0 {
		q += " AND o.platform_id = ?"
	}
	return q
}

func itemArgs(gtins []string, batch string, platformID int64, more ...any) []any {
	args := make([]any, 0, len(gtins)+2+len(more))
	for _, g := range gtins {
		args = append(args, g)
	}
	args = append(args, batch)
	if platformID != 0 {
		args = append(args, platformID)
	}
	return append(args, more...)
}

// Reach sums the orders holding the batch, by platform, region and shop,
// in one scan: the rows grouped by (platform, region, shop, seller) are
// added up here. An order has one platform, region, shop and seller, so
// the distinct orders of the groups add up exactly.
func (db *DB) Reach(ctx context.Context, gtins []string, batch string, platformID int64) (*trace.Reach, error) {
	const op = "sqlstore.Reach"
	from := itemsOf(gtins, platformID)
	rows, err := db.r.QueryContext(ctx, db.d.Rebind(`SELECT o.platform_id, o.region, o.shop_id, o.seller_id, COUNT(DISTINCT o.id), SUM(i.quantity)`+from+
		` GROUP BY o.platform_id, o.region, o.shop_id, o.seller_id`), itemArgs(gtins, batch, platformID)...)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	r := &trace.Reach{Platforms: []trace.PlatformReach{}, Regions: []trace.RegionReach{}, TopShops: []trace.ShopReach{}}
	platforms, regions, shops, sellers := map[int64]int{}, map[string]int{}, map[int64]int{}, map[int64]bool{}
	for rows.Next() {
		var p, shop, seller, n, q int64
		var region string
		if err := rows.Scan(&p, &region, &shop, &seller, &n, &q); err != nil {
			return nil, mapErr(op, err)
		}
		r.Orders += n
		r.Quantity += q
		sellers[seller] = true
		if k, ok := platforms[p]; ok {
			r.Platforms[k].Orders += n
			r.Platforms[k].Quantity += q
		} else {
			platforms[p] = len(r.Platforms)
			r.Platforms = append(r.Platforms, trace.PlatformReach{PlatformID: p, Orders: n, Quantity: q})
		}
		if k, ok := regions[region]; ok {
			r.Regions[k].Orders += n
			r.Regions[k].Quantity += q
		} else {
			regions[region] = len(r.Regions)
			r.Regions = append(r.Regions, trace.RegionReach{Region: region, Orders: n, Quantity: q})
		}
		if k, ok := shops[shop]; ok {
			r.TopShops[k].Orders += n
			r.TopShops[k].Quantity += q
		} else {
			shops[shop] = len(r.TopShops)
			r.TopShops = append(r.TopShops, trace.ShopReach{ShopID: shop, SellerID: seller, Orders: n, Quantity: q})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(op, err)
	}
	r.Shops, r.Sellers = int64(len(r.TopShops)), int64(len(sellers))
	slices.SortFunc(r.Platforms, func(a, b trace.PlatformReach) int {
		return cmp.Or(cmp.Compare(b.Orders, a.Orders), cmp.Compare(a.PlatformID, b.PlatformID))
	})
	slices.SortFunc(r.Regions, func(a, b trace.RegionReach) int {
		return cmp.Or(cmp.Compare(b.Orders, a.Orders), strings.Compare(a.Region, b.Region))
	})
	slices.SortFunc(r.TopShops, func(a, b trace.ShopReach) int {
		return cmp.Or(cmp.Compare(b.Orders, a.Orders), cmp.Compare(a.ShopID, b.ShopID))
	})
	if len(r.Regions) > 500 {
		r.Regions = r.Regions[:500]
	}
	if len(r.TopShops) > trace.MaxReachShops {
		r.TopShops = r.TopShops[:trace.MaxReachShops]
	}
	return r, nil
}

// ReachOrders pages through the orders holding the batch by order id.
func (db *DB) ReachOrders(ctx context.Context, gtins []string, batch string, platformID, after int64, limit int) ([]trace.OrderLine, error) {
	const op = "sqlstore.ReachOrders"
	from := itemsOf(gtins, platformID)
	q := `SELECT o.id, o.order_no, o.platform_id, o.shop_id, o.seller_id, o.region, o.status, o.paid_at, SUM(i.quantity)` + from +
		` AND i.order_id > ? GROUP BY o.id, o.order_no, o.platform_id, o.shop_id, o.seller_id, o.region, o.status, o.paid_at ORDER BY o.id LIMIT ?`
	rows, err := db.r.QueryContext(ctx, db.d.Rebind(q), itemArgs(gtins, batch, platformID, after, clampLimit(limit, 100, trace.MaxPage))...)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	out := []trace.OrderLine{}
	for rows.Next() {
		var o trace.OrderLine
		var paid int64
		if err := rows.Scan(&o.OrderID, &o.OrderNo, &o.PlatformID, &o.ShopID, &o.SellerID, &o.Region, &o.Status, &paid, &o.Quantity); err != nil {
			return nil, mapErr(op, err)
		}
		o.PaidAt = fromMicros(paid)
		out = append(out, o)
	}
	return out, mapErr(op, rows.Err())
}

// ShopNames returns the names of the shops among ids, by id.
func (db *DB) ShopNames(ctx context.Context, ids []int64) (map[int64]string, error) {
	const op = "sqlstore.ShopNames"
	out := map[int64]string{}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := db.r.QueryContext(ctx, db.d.Rebind("SELECT id, name FROM shops WHERE id IN ("+qmarks(len(chunk))+")"), args...)
		if err != nil {
			return nil, mapErr(op, err)
		}
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return nil, mapErr(op, err)
			}
			out[id] = name
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, mapErr(op, err)
		}
	}
	return out, nil
}

// TraceOrder returns an order with its items (no buyer), or NotFound.
func (db *DB) TraceOrder(ctx context.Context, id int64) (*trace.Order, error) {
	const op = "sqlstore.TraceOrder"
	var o trace.Order
	var paid, shipped, signed int64
	err := db.r.QueryRowContext(ctx, db.d.Rebind(`SELECT id, platform_id, shop_id, seller_id, order_no, amount_fen, region, waybill, status,
		paid_at, shipped_at, signed_at FROM orders WHERE id = ?`), id).Scan(&o.ID, &o.PlatformID, &o.ShopID, &o.SellerID, &o.OrderNo,
		&o.AmountFen, &o.Region, &o.Waybill, &o.Status, &paid, &shipped, &signed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Wrap(op, notFound("订单", "order", id))
	}
	if err != nil {
		return nil, mapErr(op, err)
	}
	o.PaidAt, o.ShippedAt, o.SignedAt = fromMicros(paid), fromMicros(shipped), fromMicros(signed)
	rows, err := db.r.QueryContext(ctx, db.d.Rebind(`SELECT line, gtin, batch, name, category, quantity, price_fen FROM order_items
		WHERE order_id = ? ORDER BY line`), id)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var it trace.OrderItem
		if err := rows.Scan(&it.Line, &it.GTIN, &it.Batch, &it.Name, &it.Category, &it.Quantity, &it.PriceFen); err != nil {
			return nil, mapErr(op, err)
		}
		o.Items = append(o.Items, it)
	}
	return &o, mapErr(op, rows.Err())
}

// SellerCategories returns the distinct categories of the items of the
// seller's latest `recent` reported orders (by id: each of the seller's
// shops' latest through orders_shop_idx, see shopsOfOwner); an item
// without a category takes its product's.
func (db *DB) SellerCategories(ctx context.Context, sellerID int64, recent int) ([]string, error) {
	const op = "sqlstore.SellerCategories"
	shops, err := db.shopsOfOwner(ctx, sellerID, 0)
	if err != nil || len(shops) == 0 {
		return []string{}, mapErr(op, err)
	}
	recent = clampLimit(recent, 5000, 100000)
	var latest []string
	var args []any
	for i, shop := range shops {
		latest = append(latest, "SELECT id FROM (SELECT id FROM orders WHERE shop_id = ? ORDER BY id DESC LIMIT ?) s"+strconv.Itoa(i))
		args = append(args, shop, recent)
	}
	args = append(args, recent)
	rows, err := db.r.QueryContext(ctx, db.d.Rebind(`SELECT DISTINCT COALESCE(NULLIF(i.category, ''), p.category, '')
		FROM (SELECT id FROM (`+strings.Join(latest, " UNION ALL ")+`) u ORDER BY id DESC LIMIT ?) r
		JOIN order_items i ON i.order_id = r.id
		LEFT JOIN trace_products p ON p.gtin = i.gtin`), args...)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, mapErr(op, err)
		}
		if c != "" {
			out = append(out, c)
		}
	}
	return out, mapErr(op, rows.Err())
}
