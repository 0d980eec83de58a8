package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"ecredit/audit"
	"ecredit/errs"
	"ecredit/ledger"
	"ecredit/record"
)

// *DB keeps credit records (tables of migration 00003).
var _ record.Store = (*DB)(nil)

const recordCols = `id, type, subject_id, subject_code, subject_id_index, subject_id_masked, subject_name,
	source, source_account, source_key, source_ref, fields, personal, decision_date, severity,
	public_from, public_until, public, status, disputed, withdrawal, objection, repair, version, created_at, updated_at`

const insertRecord = `INSERT INTO records (type, subject_id, subject_code, subject_id_index, subject_id_masked, subject_name,
	source, source_account, source_key, source_ref, fields, personal, decision_date, severity,
	public_from, public_until, public, status, disputed, withdrawal, objection, repair, version, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

const eventCols = `id, record_id, seq, type, at, actor_id, actor_name, reason, content, ledger_index`

// jsonText marshals v for a JSON text column (maps are written with
// sorted keys by encoding/json, so equal values give equal text).
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// normRecord brings r's instants to what the store keeps and fills nil
// maps, so that what is written equals what is read back.
func normRecord(r *record.Record) {
	norm(&r.CreatedAt)
	norm(&r.UpdatedAt)
	norm(&r.Objection.FiledAt)
	norm(&r.Objection.AnsweredAt)
	norm(&r.Repair.AppliedAt)
	norm(&r.Repair.DecidedAt)
	if r.Fields == nil {
		r.Fields = map[string]string{}
	}
	if r.Personal == nil {
		r.Personal = map[string]string{}
	}
}

// recordArgs are the values of insertRecord, without the id.
func recordArgs(r *record.Record) ([]any, error) {
	var texts [5]string
	for i, v := range []any{r.Fields, r.Personal, r.Withdrawal, r.Objection, r.Repair} {
		t, err := jsonText(v)
		if err != nil {
			return nil, err
		}
		texts[i] = t
	}
	return []any{string(r.Type), r.SubjectID, r.SubjectCode, r.SubjectIDIndex, r.SubjectIDMasked, r.SubjectName,
		r.Source, r.SourceAccount, r.SourceKey, r.SourceRef, texts[0], texts[1], string(r.DecisionDate), string(r.Severity),
		string(r.PublicFrom), string(r.PublicUntil), r.Public, string(r.Status), r.Disputed, texts[2], texts[3], texts[4],
		r.Version, micros(r.CreatedAt), micros(r.UpdatedAt)}, nil
}

func scanRecord(sc scanner) (*record.Record, error) {
	var r record.Record
	var typ, decision, severity, from, until, status string
	var fields, personal, withdrawal, objection, repair string
	var created, updated int64
	err := sc.Scan(&r.ID, &typ, &r.SubjectID, &r.SubjectCode, &r.SubjectIDIndex, &r.SubjectIDMasked, &r.SubjectName,
		&r.Source, &r.SourceAccount, &r.SourceKey, &r.SourceRef, &fields, &personal, &decision, &severity,
		&from, &until, &r.Public, &status, &r.Disputed, &withdrawal, &objection, &repair, &r.Version, &created, &updated)
	if err != nil {
		return nil, err
	}
	r.Type, r.DecisionDate, r.Severity = record.Type(typ), record.Date(decision), record.Severity(severity)
	r.PublicFrom, r.PublicUntil, r.Status = record.Date(from), record.Date(until), record.Status(status)
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	for _, x := range []struct {
		text string
		dst  any
	}{{fields, &r.Fields}, {personal, &r.Personal}, {withdrawal, &r.Withdrawal}, {objection, &r.Objection}, {repair, &r.Repair}} {
		if err := json.Unmarshal([]byte(x.text), x.dst); err != nil {
			return nil, fmt.Errorf("record %d: stored JSON is invalid: %w", r.ID, err)
		}
	}
	normRecord(&r)
	return &r, nil
}

func scanEvent(sc scanner) (*record.Event, error) {
	var ev record.Event
	var typ, content string
	var at int64
	if err := sc.Scan(&ev.ID, &ev.RecordID, &ev.Seq, &typ, &at, &ev.ActorID, &ev.ActorName, &ev.Reason, &content, &ev.LedgerIndex); err != nil {
		return nil, err
	}
	ev.Type, ev.At, ev.Content = record.EventType(typ), fromMicros(at), []byte(content)
	return &ev, nil
}

// appendRecordEventsTx writes the events of several records (whose ids
// are set) inside tx: their contents, one ledger append for all of them,
// the event rows and the audit entries.
func (db *DB) appendRecordEventsTx(ctx context.Context, tx *sql.Tx, rs []*record.Record, evs []*record.Event, as []*audit.Entry) error {
	les := make([]*ledger.Entry, len(rs))
	for i, r := range rs {
		ev := evs[i]
		norm(&ev.At)
		ev.RecordID = r.ID
		content, err := record.Content(r, ev)
		if err != nil {
			return err
		}
		ev.Content = content
		les[i] = &ledger.Entry{Kind: record.LedgerKind, ObjectID: r.ID, Op: string(ev.Type), Content: ledger.ContentHash(content), At: ev.At}
	}
	if err := db.appendLedgerTx(ctx, tx, les...); err != nil {
		return err
	}
	st, err := tx.PrepareContext(ctx, db.d.Rebind(`INSERT INTO record_events (record_id, seq, type, at, actor_id, actor_name, reason, content, ledger_index)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`))
	if err != nil {
		return err
	}
	defer st.Close()
	au, err := tx.PrepareContext(ctx, db.d.Rebind(insertAudit))
	if err != nil {
		return err
	}
	defer au.Close()
	auditRow := func(args ...any) *sql.Row { return au.QueryRowContext(ctx, args...) }
	for i, r := range rs {
		ev := evs[i]
		if err := st.QueryRowContext(ctx, r.ID, ev.Seq, string(ev.Type), micros(ev.At), ev.ActorID, ev.ActorName, ev.Reason,
			string(ev.Content), les[i].Index).Scan(&ev.ID); err != nil {
			return err
		}
		ev.LedgerIndex = les[i].Index
		if i < len(as) && as[i] != nil {
			if err := db.appendAuditWith(ctx, auditRow, as[i], "record", r.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// CreateRecords inserts several new records, each with its first event,
// ledger entry and audit entry, in one transaction: all or none.
func (db *DB) CreateRecords(ctx context.Context, rs []*record.Record, evs []*record.Event, as []*audit.Entry) error {
	const op = "sqlstore.CreateRecords"
	if len(rs) != len(evs) {
		return &errs.Error{Code: errs.Internal, Op: op, Message: "records and events differ in number"}
	}
	if len(rs) == 0 {
		return nil
	}
	args := make([][]any, len(rs))
	for i, r := range rs {
		normRecord(r)
		a, err := recordArgs(r)
		if err != nil {
			return errs.Wrap(op, err)
		}
		args[i] = a
	}
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, db.d.Rebind(insertRecord+" RETURNING id"))
		if err != nil {
			return err
		}
		defer st.Close()
		for i, r := range rs {
			if err := st.QueryRowContext(ctx, args[i]...).Scan(&r.ID); err != nil {
				return err
			}
		}
		return db.appendRecordEventsTx(ctx, tx, rs, evs, as)
	})
	if err != nil {
		for i, r := range rs {
			r.ID = 0
			evs[i].ID, evs[i].RecordID, evs[i].LedgerIndex, evs[i].Content = 0, 0, 0, nil
		}
	}
	return err
}

// appendRecordEventTx writes ev for r (whose id is set) inside tx: its
// canonical content, the ledger entry committing to it, the event row and
// the audit entry.
func (db *DB) appendRecordEventTx(ctx context.Context, tx *sql.Tx, r *record.Record, ev *record.Event, a *audit.Entry) error {
	norm(&ev.At)
	ev.RecordID = r.ID
	content, err := record.Content(r, ev)
	if err != nil {
		return err
	}
	le := &ledger.Entry{Kind: record.LedgerKind, ObjectID: r.ID, Op: string(ev.Type), Content: ledger.ContentHash(content), At: ev.At}
	if err := db.appendLedgerTx(ctx, tx, le); err != nil {
		return err
	}
	id, err := db.insertID(ctx, tx, `INSERT INTO record_events (record_id, seq, type, at, actor_id, actor_name, reason, content, ledger_index)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, ev.Seq, string(ev.Type), micros(ev.At), ev.ActorID, ev.ActorName, ev.Reason, string(content), le.Index)
	if err != nil {
		return err
	}
	ev.ID, ev.LedgerIndex, ev.Content = id, le.Index, content
	return db.appendAudit(ctx, tx, a, "record", r.ID)
}

// CreateRecord inserts r, its first event, the event's ledger entry and
// the audit entry in one transaction.
func (db *DB) CreateRecord(ctx context.Context, r *record.Record, ev *record.Event, a *audit.Entry) error {
	const op = "sqlstore.CreateRecord"
	normRecord(r)
	args, err := recordArgs(r)
	if err != nil {
		return errs.Wrap(op, err)
	}
	err = db.write(ctx, op, func(tx *sql.Tx) error {
		id, err := db.insertID(ctx, tx, insertRecord, args...)
		if err != nil {
			return err
		}
		r.ID = id
		return db.appendRecordEventTx(ctx, tx, r, ev, a)
	})
	if err != nil {
		r.ID, ev.ID, ev.RecordID, ev.LedgerIndex, ev.Content = 0, 0, 0, 0, nil
		if errs.Is(err, errs.Conflict) && errs.FieldOf(err) == "" {
			return &errs.Error{Code: errs.Conflict, Op: op, Field: "source_ref", Message: "该来源编号的记录已存在 (record with this source id exists)", Err: err}
		}
	}
	return err
}

// UpdateRecord writes r when the stored version is r.Version-1, with its
// event, ledger entry and audit entry, in one transaction.
func (db *DB) UpdateRecord(ctx context.Context, r *record.Record, ev *record.Event, a *audit.Entry) error {
	const op = "sqlstore.UpdateRecord"
	normRecord(r)
	args, err := recordArgs(r)
	if err != nil {
		return errs.Wrap(op, err)
	}
	return db.write(ctx, op, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE records SET type = ?, subject_id = ?, subject_code = ?, subject_id_index = ?, subject_id_masked = ?,
			subject_name = ?, source = ?, source_account = ?, source_key = ?, source_ref = ?, fields = ?, personal = ?,
			decision_date = ?, severity = ?, public_from = ?, public_until = ?, public = ?, status = ?, disputed = ?,
			withdrawal = ?, objection = ?, repair = ?, version = ?, created_at = ?, updated_at = ?
			WHERE id = ? AND version = ?`, append(args, r.ID, r.Version-1)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var v int
			err := tx.QueryRowContext(ctx, db.d.Rebind("SELECT version FROM records WHERE id = ?"), r.ID).Scan(&v)
			if errors.Is(err, sql.ErrNoRows) {
				return notFound("记录", "record", r.ID)
			}
			if err != nil {
				return err
			}
			return &errs.Error{Code: errs.Conflict, Field: "version", Message: fmt.Sprintf("记录已被他人修改（当前版本 %d），请刷新后重试 (stale version)", v)}
		}
		return db.appendRecordEventTx(ctx, tx, r, ev, a)
	})
}

func (db *DB) getRecord(ctx context.Context, q querier, id int64) (*record.Record, error) {
	r, err := scanRecord(q.QueryRowContext(ctx, db.d.Rebind("SELECT "+recordCols+" FROM records WHERE id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("记录", "record", id)
	}
	return r, err
}

// GetRecord returns a record by id.
func (db *DB) GetRecord(ctx context.Context, id int64) (*record.Record, error) {
	r, err := db.getRecord(ctx, db.r, id)
	return r, mapErr("sqlstore.GetRecord", err)
}

// FindRecordByRef returns the record a source stored under its own id.
func (db *DB) FindRecordByRef(ctx context.Context, typ record.Type, sourceKey, ref string) (*record.Record, error) {
	const op = "sqlstore.FindRecordByRef"
	r, err := scanRecord(db.readRow(ctx, "SELECT "+recordCols+
		" FROM records WHERE type = ? AND source_key = ? AND source_ref = ?", string(typ), sourceKey, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &errs.Error{Code: errs.NotFound, Op: op, Message: fmt.Sprintf("来源编号「%s」的记录不存在 (record not found)", ref)}
	}
	return r, mapErr(op, err)
}

// FindRecordsByRefs returns the records a source stored under the given
// refs, by ref; absent refs are missing from the map.
func (db *DB) FindRecordsByRefs(ctx context.Context, typ record.Type, sourceKey string, refs []string) (map[string]*record.Record, error) {
	const op = "sqlstore.FindRecordsByRefs"
	out := map[string]*record.Record{}
	for start := 0; start < len(refs); start += 500 {
		chunk := refs[start:min(start+500, len(refs))]
		args := []any{string(typ), sourceKey}
		for _, r := range chunk {
			args = append(args, r)
		}
		q := "SELECT " + recordCols + " FROM records WHERE type = ? AND source_key = ? AND source_ref IN (?" + strings.Repeat(", ?", len(chunk)-1) + ")"
		rows, err := db.readQuery(ctx, q, args...)
		if err != nil {
			return nil, mapErr(op, err)
		}
		for rows.Next() {
			r, err := scanRecord(rows)
			if err != nil {
				rows.Close()
				return nil, mapErr(op, err)
			}
			out[r.SourceRef] = r
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, mapErr(op, err)
		}
	}
	return out, nil
}

// ListRecords returns records in id order after f.After.
func (db *DB) ListRecords(ctx context.Context, f record.Filter) ([]*record.Record, error) {
	const op = "sqlstore.ListRecords"
	var where []string
	var args []any
	if f.SubjectID != 0 {
		where, args = append(where, "subject_id = ?"), append(args, f.SubjectID)
	}
	if f.Type != "" {
		where, args = append(where, "type = ?"), append(args, string(f.Type))
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	where, args = append(where, "id > ?"), append(args, f.After)
	q := "SELECT " + recordCols + " FROM records WHERE " + strings.Join(where, " AND ") + " ORDER BY id LIMIT ?"
	args = append(args, clampLimit(f.Limit, 100, 1000))
	rows, err := db.readQuery(ctx, q, args...)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	var out []*record.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, mapErr(op, err)
		}
		out = append(out, r)
	}
	return out, mapErr(op, rows.Err())
}

func (db *DB) listEvents(ctx context.Context, q string, args ...any) ([]*record.Event, error) {
	rows, err := db.readQuery(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*record.Event
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// ListEvents returns a record's events in order.
func (db *DB) ListEvents(ctx context.Context, recordID int64) ([]*record.Event, error) {
	evs, err := db.listEvents(ctx, "SELECT "+eventCols+" FROM record_events WHERE record_id = ? ORDER BY seq", recordID)
	return evs, mapErr("sqlstore.ListEvents", err)
}

// EventsAfter returns up to limit events with id > after, ascending.
func (db *DB) EventsAfter(ctx context.Context, after int64, limit int) ([]*record.Event, error) {
	evs, err := db.listEvents(ctx, "SELECT "+eventCols+" FROM record_events WHERE id > ? ORDER BY id LIMIT ?", after, clampLimit(limit, 100, 1000))
	return evs, mapErr("sqlstore.EventsAfter", err)
}

// RecomputeRecordEntry is the ledger.RecomputeFunc of kind "record": it
// rebuilds the content hash of entry e from the stored data. The stored
// event content is re-canonicalised (an edited record_events row gives a
// different hash); for the record's latest event the current records row
// must also equal the state the event committed to (an edited records
// row is reported, naming the record). Register it with
//
//	ledger.Recomputers{record.LedgerKind: db.RecomputeRecordEntry}
func (db *DB) RecomputeRecordEntry(ctx context.Context, e ledger.Entry) ([32]byte, error) {
	const op = "sqlstore.RecomputeRecordEntry"
	ev, err := scanEvent(db.readRow(ctx, "SELECT "+eventCols+" FROM record_events WHERE ledger_index = ?", e.Index))
	if errors.Is(err, sql.ErrNoRows) {
		return [32]byte{}, &errs.Error{Code: errs.NotFound, Op: op, Message: fmt.Sprintf("账本条目 #%d 对应的记录事件不存在 (record event missing)", e.Index)}
	}
	if err != nil {
		return [32]byte{}, mapErr(op, err)
	}
	bad := func(format string, args ...any) ([32]byte, error) {
		return [32]byte{}, &errs.Error{Code: errs.Invalid, Op: op, Message: fmt.Sprintf(format, args...)}
	}
	if ev.RecordID != e.ObjectID || string(ev.Type) != e.Op {
		return bad("记录事件（记录 %d，%s）与账本条目（对象 %d，%s）不符（数据被改动）", ev.RecordID, ev.Type, e.ObjectID, e.Op)
	}
	canon, err := ledger.Canonical(json.RawMessage(ev.Content))
	if err != nil {
		return bad("记录 %d 第 %d 个事件的存储内容不是有效的规范 JSON（数据被改动）", ev.RecordID, ev.Seq)
	}
	r, err := db.getRecord(ctx, db.r, ev.RecordID)
	if err != nil {
		return [32]byte{}, mapErr(op, err)
	}
	switch {
	case ev.Seq < r.Version:
		var n int
		if err := db.readRow(ctx, "SELECT COUNT(*) FROM record_events WHERE record_id = ? AND seq = ?", r.ID, r.Version).Scan(&n); err != nil {
			return [32]byte{}, mapErr(op, err)
		}
		if n == 0 {
			return bad("记录 %d 的版本 %d 没有对应的事件（数据被改动）", r.ID, r.Version)
		}
	case ev.Seq > r.Version:
		return bad("记录 %d 的版本 %d 小于其事件序号 %d（数据被改动）", r.ID, r.Version, ev.Seq)
	case ev.Seq == r.Version:
		row, err := record.ContentWithState(ev.Content, r)
		if err != nil {
			return bad("记录 %d：%v", r.ID, err)
		}
		if !bytes.Equal(row, canon) {
			return bad("记录 %d（%s %s）的当前数据与其最后一个事件提交的内容不一致（数据被改动）", r.ID, r.Type, r.SourceRef)
		}
	}
	return ledger.ContentHash(canon), nil
}
