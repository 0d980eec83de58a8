package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"math"
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
		unique{"batch_inputs.batch_id, batch_inputs.input_id", "batch_inputs_pkey", "inputs", "该原料批次已登记 (input recorded already)"},
	)
}

const productCols = `id, gtin, name, category, brand, spec, producer_id, created_by, created_at, updated_at, version`

func scanProduct(r scanner) (*trace.Product, error) {
	var p trace.Product
	var c, u int64
	if err := r.Scan(&p.ID, &p.GTIN, &p.Name, &p.Category, &p.Brand, &p.Spec, &p.ProducerID, &p.CreatedBy, &c, &u, &p.Version); err != nil {
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
		p.ID, p.Version = id, 1
		return db.appendAudit(ctx, tx, a, "trace_product", id)
	})
}

// GetProduct returns the product of a GTIN, or NotFound.
func (db *DB) GetProduct(ctx context.Context, gtin string) (*trace.Product, error) {
	const op = "sqlstore.GetProduct"
	p, err := scanProduct(db.readRow(ctx, "SELECT "+productCols+" FROM trace_products WHERE gtin = ?", gtin))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Wrap(op, notFound("商品条码", "product", gtin))
	}
	return p, mapErr(op, err)
}

const batchCols = `id, product_id, gtin, batch, produced_on, expires_on, quantity, producer_id, status, created_by, created_at, updated_at, version, uom`

func scanBatch(r scanner) (*trace.Batch, error) {
	var b trace.Batch
	var c, u int64
	if err := r.Scan(&b.ID, &b.ProductID, &b.GTIN, &b.Batch, &b.ProducedOn, &b.ExpiresOn, &b.Quantity, &b.ProducerID, &b.Status, &b.CreatedBy, &c, &u, &b.Version, &b.UOM); err != nil {
		return nil, err
	}
	b.CreatedAt, b.UpdatedAt = fromMicros(c), fromMicros(u)
	return &b, nil
}

// LineageGen returns the lineage's generation (00019).
func (db *DB) LineageGen(ctx context.Context) (int64, error) {
	var gen int64
	err := db.r.QueryRowContext(ctx, "SELECT gen FROM trace_lineage_gen WHERE id = 1").Scan(&gen)
	return gen, mapErr("sqlstore.LineageGen", err)
}

// moveLineage moves the lineage's generation on from gen in tx, or fails
// with trace.LineageMoved when it is no longer gen. On PostgreSQL a
// concurrent writer holding the row makes this wait for its end, then
// see its new value. trace.NoLineageCheck does nothing.
func (db *DB) moveLineage(ctx context.Context, tx *sql.Tx, gen int64) error {
	if gen == trace.NoLineageCheck {
		return nil
	}
	res, err := db.exec(ctx, tx, "UPDATE trace_lineage_gen SET gen = gen + 1 WHERE id = 1 AND gen = ?", gen)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return trace.LineageMoved()
	}
	return nil
}

// CreateBatch inserts b and its inputs with its audit entry and sets b.ID.
func (db *DB) CreateBatch(ctx context.Context, b *trace.Batch, ins []*trace.Input, gen int64, a *audit.Entry) error {
	const op = "sqlstore.CreateBatch"
	norm(&b.CreatedAt)
	norm(&b.UpdatedAt)
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		if err := db.moveLineage(ctx, tx, gen); err != nil {
			return err
		}
		id, err := db.insertID(ctx, tx, `INSERT INTO trace_batches (product_id, gtin, batch, produced_on, expires_on, quantity, uom, producer_id, status,
			created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, b.ProductID, b.GTIN, b.Batch, b.ProducedOn, b.ExpiresOn,
			b.Quantity, b.UOM, b.ProducerID, b.Status, b.CreatedBy, micros(b.CreatedAt), micros(b.UpdatedAt))
		if err != nil {
			return err
		}
		b.ID, b.Version = id, 1
		for _, in := range ins {
			in.BatchID = id
		}
		if err := db.insertInputs(ctx, tx, ins); err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, a, "trace_batch", id)
	})
	if err != nil {
		b.ID, b.Version = 0, 0
	}
	return err
}

// AddInputs stores inputs of a batch with the audit entry, the lineage
// moved on from gen.
func (db *DB) AddInputs(ctx context.Context, ins []*trace.Input, gen int64, a *audit.Entry) error {
	if len(ins) == 0 {
		return nil
	}
	return db.createEventsWithInputs(ctx, "sqlstore.AddInputs", nil, ins, gen, a, nil)
}

func (db *DB) insertInputs(ctx context.Context, tx *sql.Tx, ins []*trace.Input) error {
	for _, in := range ins {
		norm(&in.RecordedAt)
		if _, err := db.exec(ctx, tx, `INSERT INTO batch_inputs (batch_id, input_id, quantity, uom, actor_id, actor_name, recorded_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, in.BatchID, in.InputID, in.Quantity, in.UOM, in.ActorID, in.ActorName, micros(in.RecordedAt)); err != nil {
			return err
		}
	}
	return nil
}

// Lineage returns the inputs of the batches ids (up) or the batches made
// from them, each with the batch at the other end.
func (db *DB) Lineage(ctx context.Context, ids []int64, up bool) ([]trace.Link, error) {
	const op = "sqlstore.Lineage"
	near, far := "batch_id", "input_id"
	if !up {
		near, far = far, near
	}
	cols := strings.Split(batchCols, ", ")
	for i, c := range cols {
		cols[i] = "b." + c
	}
	head := "SELECT i.batch_id, i.input_id, i.quantity, i.uom, i.actor_id, i.actor_name, i.recorded_at, " + strings.Join(cols, ", ") +
		" FROM batch_inputs i JOIN trace_batches b ON b.id = i." + far + " WHERE i." + near
	var out []trace.Link
	err := db.lookup(ctx, len(ids), func(start, end int) (string, []any) {
		if db.d.name == EnginePostgres {
			return head + " = ANY(?::bigint[])", []any{ids[start:end]}
		}
		in, args := idList(ids[start:end])
		return head + " IN " + in, args
	}, func(rows *sql.Rows) error {
		var k trace.Link
		var b trace.Batch
		var rec, c, u int64
		if err := rows.Scan(&k.BatchID, &k.InputID, &k.Quantity, &k.UOM, &k.ActorID, &k.ActorName, &rec,
			&b.ID, &b.ProductID, &b.GTIN, &b.Batch, &b.ProducedOn, &b.ExpiresOn, &b.Quantity, &b.ProducerID, &b.Status, &b.CreatedBy, &c, &u, &b.Version, &b.UOM); err != nil {
			return err
		}
		k.RecordedAt, b.CreatedAt, b.UpdatedAt = fromMicros(rec), fromMicros(c), fromMicros(u)
		k.Other = &b
		out = append(out, k)
		return nil
	})
	if err != nil {
		return nil, mapErr(op, err)
	}
	slices.SortFunc(out, func(x, y trace.Link) int {
		if !up {
			return cmp.Or(cmp.Compare(x.InputID, y.InputID), cmp.Compare(x.BatchID, y.BatchID))
		}
		return cmp.Or(cmp.Compare(x.BatchID, y.BatchID), cmp.Compare(x.InputID, y.InputID))
	})
	return out, nil
}

// GetBatch returns a batch, or NotFound.
func (db *DB) GetBatch(ctx context.Context, gtin, batch string) (*trace.Batch, error) {
	const op = "sqlstore.GetBatch"
	b, err := scanBatch(db.readRow(ctx, "SELECT "+batchCols+" FROM trace_batches WHERE gtin = ? AND batch = ?", gtin, batch))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Wrap(op, notFound("批次", "batch", gtin+"/"+batch))
	}
	return b, mapErr(op, err)
}

// UpdateProduct writes a product's own fields over the version read, with
// its audit entry.
func (db *DB) UpdateProduct(ctx context.Context, p *trace.Product, a *audit.Entry) error {
	const op = "sqlstore.UpdateProduct"
	norm(&p.UpdatedAt)
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE trace_products SET name = ?, category = ?, brand = ?, spec = ?, updated_at = ?, version = version + 1
			WHERE id = ? AND version = ?`, p.Name, p.Category, p.Brand, p.Spec, micros(p.UpdatedAt), p.ID, p.Version)
		if err != nil {
			return err
		}
		if err := db.staleOrMissing(ctx, tx, res, "trace_products", p.ID, "产品", "product"); err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, a, "trace_product", p.ID)
	})
	if err == nil {
		p.Version++
	}
	return err
}

// ProductBatches returns up to limit batches of the GTIN, the latest
// production first, and its batch counts: the unique (gtin, batch) index
// ranges over the product's batches alone.
func (db *DB) ProductBatches(ctx context.Context, gtin string, limit int) ([]*trace.Batch, int64, int64, error) {
	const op = "sqlstore.ProductBatches"
	var total, recalled int64
	if err := db.readRow(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = ? THEN 1 ELSE 0 END), 0)
		FROM trace_batches WHERE gtin = ?`, trace.BatchRecalled, gtin).Scan(&total, &recalled); err != nil {
		return nil, 0, 0, mapErr(op, err)
	}
	out := []*trace.Batch{}
	err := db.eachRow(ctx, db.r, `SELECT `+batchCols+` FROM trace_batches WHERE gtin = ? ORDER BY produced_on DESC, batch DESC LIMIT ?`,
		[]any{gtin, clampLimit(limit, 100, 500)}, func(r *sql.Rows) error {
			b, err := scanBatch(r)
			if err == nil {
				out = append(out, b)
			}
			return err
		})
	return out, total, recalled, mapErr(op, err)
}

// UpdateBatch writes a batch's dates and quantity over the version read,
// while it is not recalled, with its audit entry, the lineage moved on
// from gen.
func (db *DB) UpdateBatch(ctx context.Context, b *trace.Batch, gen int64, a *audit.Entry) error {
	const op = "sqlstore.UpdateBatch"
	norm(&b.UpdatedAt)
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		if err := db.moveLineage(ctx, tx, gen); err != nil {
			return err
		}
		res, err := db.exec(ctx, tx, `UPDATE trace_batches SET produced_on = ?, expires_on = ?, quantity = ?, uom = ?, updated_at = ?, version = version + 1
			WHERE id = ? AND version = ? AND status <> ?`, b.ProducedOn, b.ExpiresOn, b.Quantity, b.UOM, micros(b.UpdatedAt), b.ID, b.Version, trace.BatchRecalled)
		if err != nil {
			return err
		}
		if err := db.staleOrMissing(ctx, tx, res, "trace_batches", b.ID, "批次", "batch"); err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, a, "trace_batch", b.ID)
	})
	if err == nil {
		b.Version++
	}
	return err
}

const traceEventCols = `id, source_key, event_id, type, gtin, batch, at, region, subject_id, shop_id, biz_step, disposition, ref_type, ref,
	quantity, note, actor_id, actor_name, recorded_at, read_point, biz_location`

func scanTraceEvent(r scanner) (*trace.Event, error) {
	var e trace.Event
	var typ string
	var at, rec int64
	if err := r.Scan(&e.ID, &e.SourceKey, &e.EventID, &typ, &e.GTIN, &e.Batch, &at, &e.Region, &e.SubjectID, &e.ShopID, &e.BizStep,
		&e.Disposition, &e.RefType, &e.Ref, &e.Quantity, &e.Note, &e.ActorID, &e.ActorName, &rec, &e.ReadPoint, &e.BizLocation); err != nil {
		return nil, err
	}
	e.Type, e.At, e.RecordedAt = trace.EventType(typ), fromMicros(at), fromMicros(rec)
	return &e, nil
}

// traceEventInsertCols are the columns of trace_events after id.
var traceEventInsertCols = []string{"source_key", "event_id", "type", "gtin", "batch", "at", "region", "subject_id", "shop_id",
	"biz_step", "disposition", "ref_type", "ref", "quantity", "note", "actor_id", "actor_name", "recorded_at", "read_point", "biz_location"}

// traceEventArgs appends the values of traceEventInsertCols of e to a.
func traceEventArgs(a []any, e *trace.Event) []any {
	return append(a, e.SourceKey, e.EventID, string(e.Type), e.GTIN, e.Batch, micros(e.At), e.Region, e.SubjectID, e.ShopID,
		e.BizStep, e.Disposition, e.RefType, e.Ref, e.Quantity, e.Note, e.ActorID, e.ActorName, micros(e.RecordedAt), e.ReadPoint, e.BizLocation)
}

// insertTraceEvent inserts one event in tx (a recall's) and sets its id.
func (db *DB) insertTraceEvent(ctx context.Context, tx *sql.Tx, e *trace.Event) error {
	norm(&e.At)
	norm(&e.RecordedAt)
	id, err := db.insertID(ctx, tx, "INSERT INTO trace_events ("+strings.Join(traceEventInsertCols, ", ")+") VALUES "+
		valueRows(1, len(traceEventInsertCols), nil), traceEventArgs(nil, e)...)
	if err != nil {
		return err
	}
	e.ID = id
	return nil
}

// CreateEvents inserts events (all or nothing) with one audit entry, and
// sets their ids. SQLite numbers them itself and inserts them with
// multi-row statements prepared once (numberedInsert); PostgreSQL draws
// the ids from the sequence in one query and copies the rows in with
// COPY. An event id the source used already is a Conflict either way
// (trace.Service then stores the batch one event at a time).
func (db *DB) CreateEvents(ctx context.Context, evs []*trace.Event, a *audit.Entry) error {
	return db.createEventsWithInputs(ctx, "sqlstore.CreateEvents", evs, nil, trace.NoLineageCheck, nil, a)
}

// CreateEventsWithInputs stores events (none, or all) and inputs of
// batches (none stored yet) in one transaction with their audit entries,
// moving the lineage generation from gen when there are inputs: a
// TransformationEvent's produced event and the inputs it names.
func (db *DB) CreateEventsWithInputs(ctx context.Context, evs []*trace.Event, ins []*trace.Input, gen int64, inputsEntry, eventsEntry *audit.Entry) error {
	return db.createEventsWithInputs(ctx, "sqlstore.CreateEventsWithInputs", evs, ins, gen, inputsEntry, eventsEntry)
}

// createEventsWithInputs writes ins (with inputsEntry, under gen) and evs
// (with eventsEntry) in one transaction; on PostgreSQL the events by COPY
// with ids drawn first, on SQLite by multi-row INSERTs numbering them.
func (db *DB) createEventsWithInputs(ctx context.Context, op string, evs []*trace.Event, ins []*trace.Input, gen int64, inputsEntry, eventsEntry *audit.Entry) error {
	for _, e := range evs {
		norm(&e.At)
		norm(&e.RecordedAt)
		e.ID = 0
	}
	inputs := func(tx *sql.Tx) error {
		if len(ins) == 0 {
			return nil
		}
		if err := db.moveLineage(ctx, tx, gen); err != nil {
			return err
		}
		if err := db.insertInputs(ctx, tx, ins); err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, inputsEntry, "trace_batch", ins[0].BatchID)
	}
	var err error
	switch {
	case len(evs) == 0:
		err = db.write(ctx, op, inputs)
	case db.d.name == EnginePostgres:
		err = db.writeCopy(ctx, op, func(tx *sql.Tx, copyIn CopyFunc) error {
			if err := inputs(tx); err != nil {
				return err
			}
			ids, err := drawIDs(ctx, tx, "trace_events", len(evs))
			if err != nil {
				return err
			}
			rows := make([][]any, len(evs))
			for i, e := range evs {
				rows[i] = traceEventArgs(append(make([]any, 0, len(traceEventInsertCols)+1), ids[i]), e)
			}
			if _, err := copyIn("trace_events", append([]string{"id"}, traceEventInsertCols...), rows); err != nil {
				return err
			}
			for i, e := range evs {
				e.ID = ids[i]
			}
			return db.appendAudit(ctx, tx, eventsEntry, "trace_events", 0)
		})
	default:
		var nins *numberedInsert
		if nins, err = db.numberedInserter(ctx, "trace_events", traceEventInsertCols); err != nil {
			return mapErr(op, err)
		}
		err = db.write(ctx, op, func(tx *sql.Tx) error {
			if err := inputs(tx); err != nil {
				return err
			}
			if _, err := nins.run(ctx, tx, len(evs), func(a []any, i int, id int64) []any {
				evs[i].ID = id
				return traceEventArgs(a, evs[i])
			}); err != nil {
				return err
			}
			return db.appendAudit(ctx, tx, eventsEntry, "trace_events", 0)
		})
	}
	if err != nil {
		for _, e := range evs {
			e.ID = 0
		}
	}
	return err
}

// FindEvents returns a source's stored events among ids, by event id,
// each id looked up in the index (byKeys: on PostgreSQL a plan from fresh
// statistics scanned the source's events, 100–200 ms for 500 ids).
func (db *DB) FindEvents(ctx context.Context, sourceKey string, ids []string) (map[string]*trace.Event, error) {
	const op = "sqlstore.FindEvents"
	out := map[string]*trace.Event{}
	err := db.byKeys(ctx, traceEventCols, "trace_events", "source_key = ?", []any{sourceKey}, "event_id", ids, func(rows *sql.Rows) error {
		e, err := scanTraceEvent(rows)
		if err == nil {
			out[e.EventID] = e
		}
		return err
	})
	return out, mapErr(op, err)
}

// qmarks returns "?, ?, …" for an IN list of n values.
func qmarks(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func (db *DB) eachTraceEvent(ctx context.Context, q string, args []any, fn func(*trace.Event)) error {
	rows, err := db.readQuery(ctx, q, args...)
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
func (db *DB) BatchEvents(ctx context.Context, gtin, batch string, types []trace.EventType, after trace.EventCursor, limit int) ([]*trace.Event, error) {
	const op = "sqlstore.BatchEvents"
	q := "SELECT " + traceEventCols + " FROM trace_events WHERE gtin = ? AND batch = ?"
	args := []any{gtin, batch}
	if after.ID != 0 {
		// Spelt out rather than as a row comparison, which SQLite does
		// not always take to the index (gtin, batch, at, id).
		at := micros(after.At)
		q += " AND (at > ? OR (at = ? AND id > ?))"
		args = append(args, at, at, after.ID)
	}
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
	rows, err := db.readQuery(ctx, "SELECT type, COUNT(*) FROM trace_events WHERE gtin = ? AND batch = ? GROUP BY type", gtin, batch)
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
		res, err := db.exec(ctx, tx, "UPDATE trace_batches SET status = ?, updated_at = ?, version = version + 1 WHERE id = ? AND status <> ?",
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
const recallCols = `id, batch_id, gtin, batch, reason, record_id, actor_id, actor_name, role, orders, quantity, platforms, recalled_at`

func scanRecall(sc scanner) (*trace.Recall, error) {
	var rc trace.Recall
	var ps string
	var at int64
	if err := sc.Scan(&rc.ID, &rc.BatchID, &rc.GTIN, &rc.Batch, &rc.Reason, &rc.RecordID, &rc.ActorID, &rc.ActorName, &rc.Role,
		&rc.Orders, &rc.Quantity, &ps, &at); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(ps), &rc.Platforms); err != nil {
		return nil, err
	}
	rc.At = fromMicros(at)
	return &rc, nil
}

func (db *DB) GetRecall(ctx context.Context, gtin, batch string) (*trace.Recall, error) {
	const op = "sqlstore.GetRecall"
	rc, err := scanRecall(db.readRow(ctx, `SELECT `+recallCols+` FROM trace_recalls WHERE gtin = ? AND batch = ?`, gtin, batch))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Wrap(op, notFound("召回", "recall", gtin+"/"+batch))
	}
	if err != nil {
		return nil, mapErr(op, err)
	}
	return rc, nil
}

// RecentRecalls returns up to limit recalls before the id (0: the latest),
// newest first, by the primary key.
func (db *DB) RecentRecalls(ctx context.Context, before int64, limit int) ([]*trace.Recall, error) {
	const op = "sqlstore.RecentRecalls"
	out := []*trace.Recall{}
	if before <= 0 {
		before = math.MaxInt64
	}
	err := db.eachRow(ctx, db.r, `SELECT `+recallCols+` FROM trace_recalls WHERE id < ? ORDER BY id DESC LIMIT ?`, []any{before, clampLimit(limit, 20, 200)}, func(r *sql.Rows) error {
		rc, err := scanRecall(r)
		if err == nil {
			out = append(out, rc)
		}
		return err
	})
	return out, mapErr(op, err)
}

// The forward trace reads a batch's order items from its postings and
// the pending orders (postings.go, batchItems) and each order by its
// primary key: the cost grows with the orders of the batch (for the
// reach) or with the page (for the order list) and the pending tail,
// never with the size of the orders table.

// gtinsIn is "gtin IN (?, …)" for the forms of a GTIN, with their args.
func gtinsIn(gtins []string, batch string, more ...any) (string, []any) {
	args := make([]any, 0, len(gtins)+1+len(more))
	for _, g := range gtins {
		args = append(args, g)
	}
	args = append(args, batch)
	return "gtin IN (" + qmarks(len(gtins)) + ") AND batch = ?", append(args, more...)
}

// ReachGroups sums the orders holding the batch with an id above after
// (and at most upto, unless 0) by platform, region, shop and seller: the
// batch's items summed by order (an order may hold the batch in two lines
// or under two GTIN forms), then the orders joined and grouped in SQL,
// reachGroupsPerQuery orders a statement, so that only the groups come
// back, not a row an order.
func (db *DB) ReachGroups(ctx context.Context, gtins []string, batch string, after, upto int64) ([]trace.ReachGroup, error) {
	const op = "sqlstore.ReachGroups"
	items, err := db.batchItems(ctx, gtins, batch, after, upto)
	if err != nil {
		return nil, mapErr(op, err)
	}
	ids, qty, lines := orderSums(items)
	type gkey struct {
		platform, shop, seller int64
		region                 string
	}
	groups := map[gkey]*trace.ReachGroup{}
	var order []gkey
	const cols = "SELECT o.platform_id, o.region, o.shop_id, o.seller_id, COUNT(*), SUM(x.q), SUM(x.n), MAX(o.id) FROM "
	const tail = " JOIN orders o ON o.id = x.id GROUP BY o.platform_id, o.region, o.shop_id, o.seller_id"
	for start := 0; start < len(ids); start += reachGroupsPerQuery {
		chunk := ids[start:min(start+reachGroupsPerQuery, len(ids))]
		var q string
		var args []any
		if db.d.Name() == EnginePostgres {
			qs, ns := make([]int64, len(chunk)), make([]int64, len(chunk))
			for i, id := range chunk {
				qs[i], ns[i] = qty[id], lines[id]
			}
			q, args = cols+"unnest(?::bigint[], ?::bigint[], ?::bigint[]) AS x(id, q, n)"+tail, []any{chunk, qs, ns}
		} else {
			// Padded with (0, 0, 0) rows, which join no order, to a
			// power of two: a few statements serve every call.
			k := 64
			for k < len(chunk) {
				k *= 2
			}
			q = cols + "(" + tripleValues(k) + ") AS x" + tail
			args = make([]any, 0, 3*k)
			for _, id := range chunk {
				args = append(args, id, qty[id], lines[id])
			}
			for range k - len(chunk) {
				args = append(args, 0, 0, 0)
			}
		}
		err := db.eachRow(ctx, db.r, q, args, func(r *sql.Rows) error {
			var g trace.ReachGroup
			if err := r.Scan(&g.PlatformID, &g.Region, &g.ShopID, &g.SellerID, &g.Orders, &g.Quantity, &g.Lines, &g.MaxOrderID); err != nil {
				return err
			}
			k := gkey{g.PlatformID, g.ShopID, g.SellerID, g.Region}
			if had := groups[k]; had != nil {
				had.Orders += g.Orders
				had.Quantity += g.Quantity
				had.Lines += g.Lines
				had.MaxOrderID = max(had.MaxOrderID, g.MaxOrderID)
				return nil
			}
			groups[k] = &g
			order = append(order, k)
			return nil
		})
		if err != nil {
			return nil, mapErr(op, err)
		}
	}
	out := make([]trace.ReachGroup, len(order))
	for i, k := range order {
		out[i] = *groups[k]
	}
	return out, nil
}

// reachGroupsPerQuery is how many orders one ReachGroups statement joins
// (on SQLite three parameters each, within its 32,766).
const reachGroupsPerQuery = 8_192

// tripleValues is "SELECT ? AS id, ? AS q, ? AS n UNION ALL VALUES (?, ?, ?), …",
// n rows in all: a table of parameters for SQLite to join.
func tripleValues(n int) string {
	var b strings.Builder
	b.Grow(n * 11)
	b.WriteString("SELECT ? AS id, ? AS q, ? AS n")
	if n > 1 {
		b.WriteString(" UNION ALL VALUES (?, ?, ?)")
		b.WriteString(strings.Repeat(", (?, ?, ?)", n-2))
	}
	return b.String()
}

// BatchSpan returns the smallest and largest order id of the batch's
// order items and their number (batchCount: the postings' bounds and
// counts, no entry decoded).
func (db *DB) BatchSpan(ctx context.Context, gtins []string, batch string) (lo, hi, lines int64, err error) {
	lo, hi, lines, err = db.batchCount(ctx, gtins, batch, 0)
	return lo, hi, lines, mapErr("sqlstore.BatchSpan", err)
}

// CountBatchLines counts the batch's order items up to an order id
// (batchCount: only the posting upto cuts is decoded).
func (db *DB) CountBatchLines(ctx context.Context, gtins []string, batch string, upto int64) (int64, error) {
	_, _, n, err := db.batchCount(ctx, gtins, batch, upto)
	return n, mapErr("sqlstore.CountBatchLines", err)
}

// BatchLinesSince counts the order items of the orders after..upto by
// batch: a range of order_items' primary key (order_id, line).
func (db *DB) BatchLinesSince(ctx context.Context, after, upto int64) ([]trace.BatchLines, error) {
	const op = "sqlstore.BatchLinesSince"
	var out []trace.BatchLines
	err := db.eachRow(ctx, db.r, "SELECT gtin, batch, COUNT(*) FROM order_items WHERE order_id > ? AND order_id <= ? GROUP BY gtin, batch",
		[]any{after, upto}, func(r *sql.Rows) error {
			var b trace.BatchLines
			err := r.Scan(&b.GTIN, &b.Batch, &b.Lines)
			out = append(out, b)
			return err
		})
	return out, mapErr(op, err)
}

// LastOrderID returns the largest order id, 0 when there is none.
func (db *DB) LastOrderID(ctx context.Context) (int64, error) {
	var id int64
	err := db.r.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM orders").Scan(&id)
	return id, mapErr("sqlstore.LastOrderID", err)
}

// ReachOrders pages through the orders holding the batch (any GTIN form;
// an order holding it in two lines or forms adds up) by order id: it
// reads the batch's items only as far as the page needs (firstItems'
// want), then the page's orders by id, and reads on while a platform
// filter leaves the page short.
func (db *DB) ReachOrders(ctx context.Context, gtins []string, batch string, platformID, after int64, limit int) ([]trace.OrderLine, error) {
	const op = "sqlstore.ReachOrders"
	limit = clampLimit(limit, 100, trace.MaxPage)
	out := []trace.OrderLine{}
	for len(out) < limit {
		want := limit - len(out)
		if platformID != 0 {
			want = max(want, 4*limit)
		}
		items, err := db.firstItems(ctx, gtins, batch, after, want)
		if err != nil {
			return nil, mapErr(op, err)
		}
		// The first want orders (a later order's items may be read
		// only in part).
		for i, n := 0, 0; i < len(items); i++ {
			if i == 0 || items[i-1].order != items[i].order {
				if n++; n > want {
					items = items[:i]
					break
				}
			}
		}
		ids, qty, _ := orderSums(items)
		if len(ids) == 0 {
			break
		}
		err = db.ordersByID(ctx, ids, func(o orderRef) error {
			if (platformID != 0 && o.platform != platformID) || len(out) == limit {
				return nil
			}
			out = append(out, trace.OrderLine{OrderID: o.id, OrderNo: o.no, PlatformID: o.platform, ShopID: o.shop, SellerID: o.seller,
				Region: o.region, Status: o.status, PaidAt: fromMicros(o.paid), Quantity: qty[o.id]})
			return nil
		})
		if err != nil {
			return nil, mapErr(op, err)
		}
		if len(ids) < want {
			break // the batch has no more orders
		}
		after = ids[len(ids)-1]
	}
	return out, nil
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
		rows, err := db.readQuery(ctx, "SELECT id, name FROM shops WHERE id IN ("+qmarks(len(chunk))+")", args...)
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
	var items string
	err := db.readRow(ctx, `SELECT id, platform_id, shop_id, seller_id, order_no, amount_fen, region, waybill, status,
		paid_at, shipped_at, signed_at, carrier_id, items FROM orders WHERE id = ?`, id).Scan(&o.ID, &o.PlatformID, &o.ShopID, &o.SellerID, &o.OrderNo,
		&o.AmountFen, &o.Region, &o.Waybill, &o.Status, &paid, &shipped, &signed, &o.CarrierID, &items)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Wrap(op, notFound("订单", "order", id))
	}
	if err != nil {
		return nil, mapErr(op, err)
	}
	o.PaidAt, o.ShippedAt, o.SignedAt = fromMicros(paid), fromMicros(shipped), fromMicros(signed)
	its, err := parseItems(items)
	if err != nil {
		return nil, mapErr(op, err)
	}
	for _, it := range its {
		o.Items = append(o.Items, trace.OrderItem{Line: it.Line, GTIN: it.GTIN, Batch: it.Batch, Name: it.Name, Category: it.Category,
			Quantity: int64(it.Quantity), PriceFen: it.PriceFen})
	}
	return &o, nil
}

// OrderFacts returns what was recorded about an order after its sale (see
// trace.Store): every read by a unique key or an index range.
func (db *DB) OrderFacts(ctx context.Context, o *trace.Order, batches []trace.BatchKey) (*trace.OrderFacts, error) {
	const op = "sqlstore.OrderFacts"
	f := &trace.OrderFacts{}
	if o.Waybill != "" && o.CarrierID != 0 {
		var p trace.ParcelFacts
		var id int64
		err := db.readRow(ctx, "SELECT id, firm_id, waybill, status FROM parcels WHERE firm_id = ? AND waybill = ?",
			o.CarrierID, o.Waybill).Scan(&id, &p.FirmID, &p.Waybill, &p.Status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, mapErr(op, err)
		default:
			evs, err := db.ParcelEvents(ctx, id)
			if err != nil {
				return nil, err
			}
			for _, e := range evs {
				p.Events = append(p.Events, trace.ParcelStep{Type: string(e.Type), At: e.At, Region: e.Region, Detail: e.Detail, Note: e.Note})
			}
			f.Parcel = &p
		}
	}
	var r trace.ReviewFacts
	var at, fAt, folded int64
	err := db.readRow(ctx, `SELECT rating, description, service, logistics, body, created_at, followup, followup_at,
		folded_at, fold_reason, folded_by FROM reviews WHERE order_id = ?`, o.ID).Scan(&r.Rating, &r.Description, &r.Service, &r.Logistics,
		&r.Body, &at, &r.Followup, &fAt, &folded, &r.FoldReason, &r.FoldedBy)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, mapErr(op, err)
	default:
		r.At, r.FollowupAt, r.FoldedAt = fromMicros(at), fromMicros(fAt), fromMicros(folded)
		f.Review = &r
	}
	var br trace.RatingFacts
	err = db.readRow(ctx, "SELECT rating, body, created_at FROM buyer_ratings WHERE order_id = ?", o.ID).Scan(&br.Rating, &br.Body, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, mapErr(op, err)
	default:
		br.At = fromMicros(at)
		f.BuyerRating = &br
	}
	// The events naming the order (trace_events_order_ref_idx), of its
	// batches, and its batches' listings in its shop
	// (trace_events_listed_idx): never a scan of a batch's events.
	for _, k := range batches {
		args := []any{o.OrderNo}
		for _, g := range k.GTINs {
			args = append(args, g)
		}
		args = append(args, k.Batch)
		q := "SELECT " + traceEventCols + " FROM trace_events WHERE ref_type = 'order' AND ref = ? AND gtin IN (" + qmarks(len(k.GTINs)) +
			") AND batch = ? ORDER BY at, id LIMIT 100"
		if err := db.eachTraceEvent(ctx, q, args, func(e *trace.Event) { f.Events = append(f.Events, e) }); err != nil {
			return nil, mapErr(op, err)
		}
		args = args[1:]
		args = append(args, o.ShopID)
		q = "SELECT " + traceEventCols + " FROM trace_events WHERE type = 'listed' AND gtin IN (" + qmarks(len(k.GTINs)) +
			") AND batch = ? AND shop_id = ? ORDER BY at, id LIMIT 10"
		if err := db.eachTraceEvent(ctx, q, args, func(e *trace.Event) {
			if e.RefType != "order" || e.Ref != o.OrderNo { // not read twice
				f.Events = append(f.Events, e)
			}
		}); err != nil {
			return nil, mapErr(op, err)
		}
	}
	return f, nil
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
	rows, err := db.readQuery(ctx, `SELECT DISTINCT COALESCE(NULLIF(i.category, ''), p.category, '')
		FROM (SELECT id FROM (`+strings.Join(latest, " UNION ALL ")+`) u ORDER BY id DESC LIMIT ?) r
		JOIN order_items i ON i.order_id = r.id
		LEFT JOIN trace_products p ON p.gtin = i.gtin`, args...)
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

// LoadReach returns the reach kept for a batch key (trace_reach, 00014),
// or nil.
func (db *DB) LoadReach(ctx context.Context, key string) (*trace.KeptReach, error) {
	const op = "sqlstore.LoadReach"
	var k trace.KeptReach
	err := db.readRow(ctx, "SELECT upto, lines, sums FROM trace_reach WHERE batch_key = ?", key).Scan(&k.Upto, &k.Lines, &k.Sums)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, mapErr(op, err)
	}
	return &k, nil
}

// SaveReach keeps a batch's reach, replacing the kept one unless that
// was summed over more orders (a larger upto).
func (db *DB) SaveReach(ctx context.Context, key string, k *trace.KeptReach) error {
	const op = "sqlstore.SaveReach"
	_, err := db.w.ExecContext(ctx, db.d.Rebind(`INSERT INTO trace_reach (batch_key, upto, lines, sums, saved_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (batch_key) DO UPDATE SET upto = excluded.upto, lines = excluded.lines, sums = excluded.sums, saved_at = excluded.saved_at
		WHERE excluded.upto >= trace_reach.upto`), key, k.Upto, k.Lines, k.Sums, micros(db.now()))
	return mapErr(op, err)
}
