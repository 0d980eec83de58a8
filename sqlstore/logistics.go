package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"ecredit/audit"
	"ecredit/errs"
	"ecredit/logistics"
	"ecredit/record"
)

// *DB keeps parcels and tracking events (tables of migration 00007).
var _ logistics.Store = (*DB)(nil)

// parcelCols are the columns of parcels after id, in insert order.
var parcelCols = []string{"firm_id", "waybill", "weight_g", "origin", "dest", "courier_id", "courier_code", "promised_at",
	"status", "picked_at", "out_at", "signed_at", "signed_by", "returned_at", "lost", "damaged", "exceptions",
	"complaints", "events", "gap", "last_event_at", "started_at", "created_at", "updated_at", "version"}

// parcelTypes are the SQL types of parcelCols, for the casts of the
// multi-row update.
var parcelTypes = []string{"BIGINT", "TEXT", "BIGINT", "TEXT", "TEXT", "BIGINT", "TEXT", "BIGINT",
	"TEXT", "BIGINT", "BIGINT", "BIGINT", "TEXT", "BIGINT", "INTEGER", "INTEGER", "INTEGER",
	"INTEGER", "INTEGER", "INTEGER", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "INTEGER"}

// parcelEventCols are an event's fields as the columns of a row, in the
// order of a track line (trackLine) but for the parcel: what the
// raw-insert ceiling of the benchmark writes a row an event.
var parcelEventCols = []string{"parcel_id", "type", "at", "region", "detail", "courier_code", "note", "account_id", "recorded_at"}

// ParcelEventColumns are an event's fields as the columns of a row (for
// the raw-insert ceiling of the benchmark).
func ParcelEventColumns() []string { return append([]string(nil), parcelEventCols...) }

// ParcelEventArgs are the values of an event's fields as a row.
func ParcelEventArgs(e *logistics.Event) []any { return eventArgs(e) }

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func normParcel(p *logistics.Parcel) {
	for _, t := range []*time.Time{&p.PromisedAt, &p.PickedAt, &p.OutAt, &p.SignedAt, &p.ReturnedAt, &p.LastEventAt,
		&p.StartedAt, &p.CreatedAt, &p.UpdatedAt} {
		norm(t)
	}
	if p.StartedAt.IsZero() {
		p.StartedAt = p.CreatedAt
	}
}

func parcelArgs(p *logistics.Parcel) []any {
	return []any{p.FirmID, p.Waybill, p.WeightG, p.Origin, p.Dest, p.CourierID, p.CourierCode, micros(p.PromisedAt),
		string(p.Status), micros(p.PickedAt), micros(p.OutAt), micros(p.SignedAt), p.SignedBy, micros(p.ReturnedAt),
		b2i(p.Lost), b2i(p.Damaged), p.Exceptions, p.Complaints, p.Events, b2i(p.Gap), micros(p.LastEventAt),
		micros(p.StartedAt), micros(p.CreatedAt), micros(p.UpdatedAt), p.Version}
}

func scanParcel(sc scanner) (*logistics.Parcel, error) {
	var p logistics.Parcel
	var status string
	var promised, picked, out, signed, returned, last, started, created, updated int64
	var lost, damaged, gap int64
	if err := sc.Scan(&p.ID, &p.FirmID, &p.Waybill, &p.WeightG, &p.Origin, &p.Dest, &p.CourierID, &p.CourierCode, &promised,
		&status, &picked, &out, &signed, &p.SignedBy, &returned, &lost, &damaged, &p.Exceptions,
		&p.Complaints, &p.Events, &gap, &last, &started, &created, &updated, &p.Version); err != nil {
		return nil, err
	}
	p.Status = logistics.EventType(status)
	p.PromisedAt, p.PickedAt, p.OutAt, p.SignedAt = fromMicros(promised), fromMicros(picked), fromMicros(out), fromMicros(signed)
	p.ReturnedAt, p.LastEventAt, p.StartedAt = fromMicros(returned), fromMicros(last), fromMicros(started)
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	p.Lost, p.Damaged, p.Gap = lost != 0, damaged != 0, gap != 0
	return &p, nil
}

// scanParcelState scans the columns of parcelStateReadCols.
func scanParcelState(sc scanner) (*logistics.Parcel, error) {
	var p logistics.Parcel
	var status string
	var picked, out, signed, returned, last, started, created, updated int64
	var lost, damaged, gap int64
	if err := sc.Scan(&p.ID, &p.FirmID, &p.Waybill, &status, &picked, &out, &signed, &p.SignedBy, &returned, &lost, &damaged, &p.Exceptions,
		&p.Complaints, &p.Events, &gap, &last, &started, &updated, &created, &p.Version); err != nil {
		return nil, err
	}
	p.Status = logistics.EventType(status)
	p.PickedAt, p.OutAt, p.SignedAt = fromMicros(picked), fromMicros(out), fromMicros(signed)
	p.ReturnedAt, p.LastEventAt, p.StartedAt = fromMicros(returned), fromMicros(last), fromMicros(started)
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	p.Lost, p.Damaged, p.Gap = lost != 0, damaged != 0, gap != 0
	return &p, nil
}

func eventArgs(e *logistics.Event) []any {
	return []any{e.ParcelID, string(e.Type), micros(e.At), e.Region, e.Detail, e.CourierCode, e.Note, e.AccountID, micros(e.RecordedAt)}
}

// valueRows returns "(?, ?, …), (?, …)" for rows of n values, each
// wrapped in the cast of types[i] when types is given.
func valueRows(rows, n int, types []string) string {
	var one strings.Builder
	one.WriteByte('(')
	for i := 0; i < n; i++ {
		if i > 0 {
			one.WriteString(", ")
		}
		if types != nil {
			one.WriteString("CAST(? AS " + types[i] + ")")
		} else {
			one.WriteByte('?')
		}
	}
	one.WriteByte(')')
	row := one.String()
	var b strings.Builder
	b.Grow(rows * (len(row) + 2))
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

// FindParcels returns the firm's parcels with the given waybills, by
// waybill.
//
// On SQLite the rows come as one JSON array of arrays (json_group_array),
// parsed here straight into the parcels: every column a row hands over
// costs the driver two calls under a mutex, and reading 26 columns of 250
// parcels one by one took twice as long as building and parsing the one
// text. The IN lists have one of a few lengths (padded with the first
// waybill again), each statement prepared once per store.
func (db *DB) FindParcels(ctx context.Context, firmID int64, waybills []string) (map[string]*logistics.Parcel, error) {
	return db.findParcels(ctx, "sqlstore.FindParcels", firmID, waybills, parcelReadCols, scanParcel)
}

// ParcelStates is FindParcels with only what judging events needs (see
// logistics.Store): 20 of the 26 columns. The parcels this process wrote
// or read lately come from its cache (parcelStateCache: advisory, as every
// write of them checks their version), the others from the store.
func (db *DB) ParcelStates(ctx context.Context, firmID int64, waybills []string) (map[string]*logistics.Parcel, error) {
	out := make(map[string]*logistics.Parcel, len(waybills))
	missing := db.states.get(firmID, waybills, out)
	if len(missing) == 0 {
		return out, nil
	}
	read, err := db.findParcels(ctx, "sqlstore.ParcelStates", firmID, missing, parcelStateReadCols, scanParcelState)
	if err != nil {
		return nil, err
	}
	got := make([]*logistics.Parcel, 0, len(read))
	for wb, p := range read {
		out[wb] = p
		got = append(got, p)
	}
	db.states.put(got)
	return out, nil
}

// The columns FindParcels and ParcelStates read, in their scanners' order.
var (
	parcelReadCols      = "id, " + strings.Join(parcelCols, ", ")
	parcelStateReadCols = "id, firm_id, waybill, " + strings.Join(parcelStateCols, ", ") + ", created_at, version"
)

func (db *DB) findParcels(ctx context.Context, op string, firmID int64, waybills []string, cols string, scan func(scanner) (*logistics.Parcel, error)) (map[string]*logistics.Parcel, error) {
	out := make(map[string]*logistics.Parcel, len(waybills))
	if db.d.name == EngineSQLite {
		return out, mapErr(op, db.findParcelsSQLite(ctx, firmID, waybills, cols, scan, out))
	}
	err := db.eachPgxRow(ctx, db.byKeysQuery(cols, "parcels", "firm_id = ?", "waybill", 0), []any{waybills, firmID}, func(rows pgx.Rows) error {
		p, err := scan(rows)
		if err == nil {
			out[p.Waybill] = p
		}
		return err
	})
	return out, mapErr(op, err)
}

// findListLengths are the lengths of FindParcels' IN lists on SQLite.
var findListLengths = []int{1, 10, 50, 250, 500}

func (db *DB) findParcelsSQLite(ctx context.Context, firmID int64, waybills []string, cols string, scan func(scanner) (*logistics.Parcel, error), out map[string]*logistics.Parcel) error {
	sel := "SELECT json_group_array(json_array(" + cols + ")) FROM parcels WHERE firm_id = ? AND waybill IN "
	step := findListLengths[len(findListLengths)-1]
	for start := 0; start < len(waybills); start += step {
		chunk := waybills[start:min(start+step, len(waybills))]
		n := step
		for _, l := range findListLengths {
			if l >= len(chunk) {
				n = l
				break
			}
		}
		st, err := db.cachedStmt(ctx, db.r, sel+"(?"+strings.Repeat(", ?", n-1)+")")
		if err != nil {
			return err
		}
		args := make([]any, 0, n+1)
		args = append(args, firmID)
		for k := range n {
			args = append(args, chunk[min(k, len(chunk)-1)])
		}
		var list string
		if err := st.QueryRowContext(ctx, args...).Scan(&list); err != nil {
			return err
		}
		if err := parseParcelRows(list, scan, out); err != nil {
			return err
		}
	}
	return nil
}

// jsonRows reads the JSON array of rows that SQLite's json_group_array of
// json_array(…) makes (and PostgreSQL's json_agg, with its spaces), of
// integers and strings only; as a scanner it scans the next row's values
// into *int64, *int and *string.
type jsonRows struct {
	s string
	i int
}

// skipSpace consumes white space.
func (r *jsonRows) skipSpace() {
	for r.i < len(r.s) && (r.s[r.i] == ' ' || r.s[r.i] == '\n' || r.s[r.i] == '\t' || r.s[r.i] == '\r') {
		r.i++
	}
}

// end requires nothing but white space after the value read.
func (r *jsonRows) end() error {
	r.skipSpace()
	if r.i != len(r.s) {
		return r.bad()
	}
	return nil
}

func (r *jsonRows) bad() error {
	return fmt.Errorf("sqlstore: unexpected JSON at %d: %.20q", r.i, r.s[min(r.i, len(r.s)):])
}

// next consumes c, after any white space.
func (r *jsonRows) next(c byte) bool {
	r.skipSpace()
	if r.i < len(r.s) && r.s[r.i] == c {
		r.i++
		return true
	}
	return false
}

func (r *jsonRows) Scan(dst ...any) error {
	if !r.next('[') {
		return r.bad()
	}
	for k, d := range dst {
		if k > 0 && !r.next(',') {
			return r.bad()
		}
		if sp, ok := d.(*string); ok {
			if !r.next('"') {
				return r.bad()
			}
			j, esc := r.i, false
			for j < len(r.s) && r.s[j] != '"' {
				if r.s[j] == '\\' {
					esc = true
					j++
				}
				j++
			}
			if j >= len(r.s) {
				return r.bad()
			}
			*sp = r.s[r.i:j]
			if esc {
				u, err := strconv.Unquote(r.s[r.i-1 : j+1])
				if err != nil {
					return r.bad()
				}
				*sp = u
			}
			r.i = j + 1
			continue
		}
		r.skipSpace()
		j := r.i
		for j < len(r.s) && (r.s[j] == '-' || r.s[j] >= '0' && r.s[j] <= '9') {
			j++
		}
		n, err := strconv.ParseInt(r.s[r.i:j], 10, 64)
		if err != nil {
			return r.bad()
		}
		r.i = j
		switch d := d.(type) {
		case *int64:
			*d = n
		case *int:
			*d = int(n)
		default:
			return fmt.Errorf("sqlstore: scan a number into %T", d)
		}
	}
	if !r.next(']') {
		return r.bad()
	}
	return nil
}

// parseParcelRows adds the parcels of json_group_array(json_array(…)) to
// out, by waybill, each row read by scan.
func parseParcelRows(s string, scan func(scanner) (*logistics.Parcel, error), out map[string]*logistics.Parcel) error {
	r := &jsonRows{s: s}
	if !r.next('[') {
		return r.bad()
	}
	if r.next(']') {
		return nil
	}
	for {
		p, err := scan(r)
		if err != nil {
			return err
		}
		out[p.Waybill] = p
		if r.next(']') {
			if r.i != len(r.s) {
				return r.bad()
			}
			return nil
		}
		if !r.next(',') {
			return r.bad()
		}
	}
}

// lookup reads the rows of n keys: on SQLite with IN lists of at most
// 500 keys (query(start, end) returns the statement and arguments of keys
// [start, end)), on PostgreSQL with one array parameter (query(0, n)),
// which the query should probe a key at a time as byKeys does (a LATERAL
// subquery that OFFSET 0 keeps from being flattened into a join): so
// PostgreSQL probes the index once a key whatever its statistics say (on a
// fresh table, without any, it hashed a scan of all the firm's parcels:
// 29 ms for 250 of 20,000).
func (db *DB) lookup(ctx context.Context, n int, query func(start, end int) (string, []any), scan func(*sql.Rows) error) error {
	step := 500
	if db.d.name == EnginePostgres {
		step = max(n, 1)
	}
	for start := 0; start < n; start += step {
		q, args := query(start, min(start+step, n))
		if err := db.eachRow(ctx, db.r, q, args, scan); err != nil {
			return err
		}
	}
	return nil
}

// idList is inList for the ids, with the ids as its arguments (for
// lookup's SQLite statements).
func idList(ids []int64) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return inList(len(ids)), args
}

// columnArrays turns rows of int, int64, string or []byte values into one
// slice per column, []int64, []string or [][]byte, the arguments of unnest on PostgreSQL.
func columnArrays(rows [][]any) []any {
	if len(rows) == 0 {
		return nil
	}
	out := make([]any, len(rows[0]))
	for c := range rows[0] {
		switch rows[0][c].(type) {
		case string:
			a := make([]string, len(rows))
			for r, row := range rows {
				a[r] = row[c].(string)
			}
			out[c] = a
		case []byte:
			a := make([][]byte, len(rows))
			for r, row := range rows {
				a[r] = row[c].([]byte)
			}
			out[c] = a
		default:
			a := make([]int64, len(rows))
			for r, row := range rows {
				switch v := row[c].(type) {
				case int64:
					a[r] = v
				case int:
					a[r] = int64(v)
				default:
					panic(fmt.Sprintf("sqlstore.columnArrays: %T", v))
				}
			}
			out[c] = a
		}
	}
	return out
}

// unnestOf is "unnest(?::T1[], ?::T2[], …)" for SQL types.
func unnestOf(types []string) string {
	var b strings.Builder
	b.WriteString("unnest(")
	for i, t := range types {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("?::" + t + "[]")
	}
	b.WriteByte(')')
	return b.String()
}

// rowsPerStatement bounds the rows of one multi-row statement (SQLite
// allows 32766 parameters).
const rowsPerStatement = 500

// insertParcelsTx inserts parcels (ID 0) with multi-row statements and
// sets their ids.
func (db *DB) insertParcelsTx(ctx context.Context, tx *sql.Tx, ps []*logistics.Parcel) error {
	if db.d.name == EngineSQLite && len(ps) > 0 {
		st, err := tx.PrepareContext(ctx, "INSERT INTO parcels ("+strings.Join(parcelCols, ", ")+") VALUES "+
			valueRows(1, len(parcelCols), nil)+" RETURNING id")
		if err != nil {
			return err
		}
		defer st.Close()
		for _, p := range ps {
			if err := st.QueryRowContext(ctx, parcelArgs(p)...).Scan(&p.ID); err != nil {
				return err
			}
		}
		return nil
	}
	for start := 0; start < len(ps); start += rowsPerStatement {
		chunk := ps[start:min(start+rowsPerStatement, len(ps))]
		args := make([]any, 0, len(chunk)*len(parcelCols))
		byKey := make(map[string]*logistics.Parcel, len(chunk))
		for _, p := range chunk {
			args = append(args, parcelArgs(p)...)
			byKey[fmt.Sprint(p.FirmID, "\x00", p.Waybill)] = p
		}
		q := "INSERT INTO parcels (" + strings.Join(parcelCols, ", ") + ") VALUES " + valueRows(len(chunk), len(parcelCols), nil) +
			" RETURNING id, firm_id, waybill"
		rows, err := tx.QueryContext(ctx, db.d.Rebind(q), args...)
		if err != nil {
			return err
		}
		n := 0
		for rows.Next() {
			var id, firm int64
			var wb string
			if err := rows.Scan(&id, &firm, &wb); err != nil {
				rows.Close()
				return err
			}
			if p := byKey[fmt.Sprint(firm, "\x00", wb)]; p != nil {
				p.ID = id
				n++
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
		if n != len(chunk) {
			return &errs.Error{Code: errs.Internal, Message: fmt.Sprintf("inserted %d parcels, got %d ids", len(chunk), n)}
		}
	}
	return nil
}

var errStaleParcel = &errs.Error{Code: errs.Conflict, Field: "waybill", Message: "运单已被同时修改，请重试 (a parcel changed concurrently)"}

// updateParcelsTx writes parcels whose stored version is p.Version with
// multi-row statements (the stored version is incremented; the caller
// increments p.Version once the transaction commits); a stale one is a
// Conflict.
func (db *DB) updateParcelsTx(ctx context.Context, tx *sql.Tx, ps []*logistics.Parcel) error {
	cols := parcelCols[2:] // firm_id and waybill never change
	types := append([]string{"BIGINT"}, parcelTypes[2:]...)
	set := make([]string, 0, len(cols))
	for _, c := range cols {
		if c == "version" {
			set = append(set, "version = parcels.version + 1")
			continue
		}
		set = append(set, c+" = v."+c)
	}
	if db.d.name == EngineSQLite && len(ps) > 0 {
		// In process, one prepared statement a row beats parsing a large
		// statement; PostgreSQL saves the round trips below.
		one := make([]string, 0, len(cols))
		for _, c := range cols {
			if c == "version" {
				one = append(one, "version = version + 1")
			} else {
				one = append(one, c+" = ?")
			}
		}
		st, err := tx.PrepareContext(ctx, db.d.Rebind("UPDATE parcels SET "+strings.Join(one, ", ")+" WHERE id = ? AND version = ?"))
		if err != nil {
			return err
		}
		defer st.Close()
		return updateEach(ctx, st, ps, func(p *logistics.Parcel) []any {
			args := parcelArgs(p)[2:]
			return append(args[:len(args)-1], p.ID, p.Version) // version is not set from the row
		})
	}
	for start := 0; start < len(ps); start += rowsPerStatement {
		chunk := ps[start:min(start+rowsPerStatement, len(ps))]
		args := make([]any, 0, len(chunk)*(len(cols)+1))
		for _, p := range chunk {
			args = append(args, p.ID)
			args = append(args, parcelArgs(p)[2:]...)
		}
		q := "WITH v (id, " + strings.Join(cols, ", ") + ") AS (VALUES " + valueRows(len(chunk), len(cols)+1, types) + ") " +
			"UPDATE parcels SET " + strings.Join(set, ", ") + " FROM v WHERE parcels.id = v.id AND parcels.version = v.version"
		res, err := tx.ExecContext(ctx, db.d.Rebind(q), args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if int(n) != len(chunk) {
			return errStaleParcel
		}
	}
	return nil
}

// SaveParcels inserts new parcels and updates changed ones with the audit
// entry in one transaction.
func (db *DB) SaveParcels(ctx context.Context, ps []*logistics.Parcel, a *audit.Entry) error {
	const op = "sqlstore.SaveParcels"
	var ins, up []*logistics.Parcel
	for _, p := range ps {
		normParcel(p)
		if p.ID == 0 {
			if p.Version == 0 {
				p.Version = 1
			}
			ins = append(ins, p)
		} else {
			up = append(up, p)
		}
	}
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		if err := db.insertParcelsTx(ctx, tx, ins); err != nil {
			return err
		}
		if err := db.updateParcelsTx(ctx, tx, up); err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, a, "", 0)
	})
	if err != nil {
		db.states.drop(ps)
		for _, p := range ins {
			p.ID = 0
		}
		if errs.Is(err, errs.Conflict) && errs.FieldOf(err) == "" {
			return &errs.Error{Code: errs.Conflict, Op: op, Field: "waybill", Message: "该运单号已存在 (waybill exists)", Err: err}
		}
		return err
	}
	for _, p := range up {
		p.Version++
	}
	db.states.put(ps)
	return nil
}

// parcelStateCols are the columns of parcels an event changes (see
// logistics.Apply) and updated_at, with their SQL types.
var (
	parcelStateCols  = []string{"status", "picked_at", "out_at", "signed_at", "signed_by", "returned_at", "lost", "damaged", "exceptions", "complaints", "events", "gap", "last_event_at", "started_at", "updated_at"}
	parcelStateTypes = []string{"TEXT", "BIGINT", "BIGINT", "BIGINT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT"}
)

func parcelStateArgs(p *logistics.Parcel) []any {
	return []any{string(p.Status), micros(p.PickedAt), micros(p.OutAt), micros(p.SignedAt), p.SignedBy, micros(p.ReturnedAt),
		b2i(p.Lost), b2i(p.Damaged), int64(p.Exceptions), int64(p.Complaints), int64(p.Events), b2i(p.Gap), micros(p.LastEventAt),
		micros(p.StartedAt), micros(p.UpdatedAt)}
}

// parcelStateArrays is the parcels' id, version and parcelStateArgs as
// one typed array a column (what columnArrays makes of those rows, without
// boxing every value first): the arguments of writeEventsPG's unnest.
func parcelStateArrays(ps []*logistics.Parcel) []any {
	n := len(ps)
	ints := make([]int64, 15*n) // the integer columns, one backing array
	col := func(k int) []int64 { return ints[k*n : (k+1)*n : (k+1)*n] }
	id, version, picked, out, signed, returned := col(0), col(1), col(2), col(3), col(4), col(5)
	lost, damaged, exceptions, complaints, events, gap := col(6), col(7), col(8), col(9), col(10), col(11)
	last, started, updated := col(12), col(13), col(14)
	status, signedBy := make([]string, n), make([]string, n)
	for i, p := range ps {
		id[i], version[i], status[i] = p.ID, int64(p.Version), string(p.Status)
		picked[i], out[i], signed[i], signedBy[i], returned[i] = micros(p.PickedAt), micros(p.OutAt), micros(p.SignedAt), p.SignedBy, micros(p.ReturnedAt)
		lost[i], damaged[i], exceptions[i], complaints[i] = b2i(p.Lost), b2i(p.Damaged), int64(p.Exceptions), int64(p.Complaints)
		events[i], gap[i], last[i], started[i], updated[i] = int64(p.Events), b2i(p.Gap), micros(p.LastEventAt), micros(p.StartedAt), micros(p.UpdatedAt)
	}
	return []any{id, version, status, picked, out, signed, signedBy, returned, lost, damaged, exceptions, complaints, events, gap, last, started, updated}
}

// oneRow is the outcome of a statement that must change exactly one row:
// its error (err, or the count's), else otherwise when it changed none or
// several.
func oneRow(res interface{ RowsAffected() (int64, error) }, err, otherwise error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return otherwise
	}
	return nil
}

// updateEach runs the prepared UPDATE st once a parcel, with args(p), and
// requires one row changed each time; else the parcel is stale.
func updateEach(ctx context.Context, st *sql.Stmt, ps []*logistics.Parcel, args func(*logistics.Parcel) []any) error {
	for _, p := range ps {
		res, err := st.ExecContext(ctx, args(p)...)
		if err := oneRow(res, err, errStaleParcel); err != nil {
			return err
		}
	}
	return nil
}

// aggregateCols are the sums of logistics.Counts over a set of parcels.
// Arguments: now (for due), stale-before (for valid).
const aggregateCols = `COUNT(*),
	COALESCE(SUM(CASE WHEN promised_at > 0 AND returned_at = 0 AND (signed_at > 0 OR promised_at < ?) THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN promised_at > 0 AND returned_at = 0 AND signed_at > 0 AND signed_at <= promised_at THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN signed_at > 0 THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN lost <> 0 OR damaged <> 0 THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(complaints), 0),
	COALESCE(SUM(CASE WHEN picked_at > 0 AND gap = 0 AND (signed_at > 0 OR returned_at > 0 OR lost <> 0 OR last_event_at >= ?) THEN 1 ELSE 0 END), 0)`

func scanCounts(sc scanner, extra ...any) (logistics.Counts, error) {
	var c logistics.Counts
	dst := append(extra, &c.Parcels, &c.Due, &c.OnTime, &c.Delivered, &c.LostOrDam, &c.Complaint, &c.Valid)
	err := sc.Scan(dst...)
	return c, err
}

// Aggregate counts the firm's parcels started in the window.
func (db *DB) Aggregate(ctx context.Context, firmID int64, w logistics.Window) (logistics.Counts, error) {
	const op = "sqlstore.Aggregate"
	var total logistics.Counts
	for _, part := range startedIn(firmID, w.From, w.To) {
		c, err := scanCounts(db.readRow(ctx, "SELECT "+aggregateCols+" FROM parcels WHERE "+part.where,
			append([]any{micros(w.To), micros(w.StaleBefore)}, part.args...)...))
		if err != nil {
			return total, mapErr(op, err)
		}
		total.Add(c)
	}
	return total, nil
}

// parcelStartSlack is how far a parcel's start (started_at) may lie from
// its registration (created_at) for the parcel to be found by the
// registration: 259200000000 µs in migration 00025, whose far_start keeps
// the start of the parcels beyond it.
const parcelStartSlack = 3 * 24 * time.Hour

// windowPart is a condition on parcels and its arguments.
type windowPart struct {
	where string
	args  []any
}

// startedIn is the firm's parcels started in [from, to) as two disjoint
// parts found without an index on the start (00025): those registered in
// [from, to) widened by parcelStartSlack on each side, through
// (firm_id, created_at), their start filtered; and those registered
// outside it, whose start, if it is in the window, then lies beyond the
// slack from their registration and is their far_start.
func startedIn(firmID int64, from, to time.Time) [2]windowPart {
	f, t, slack := micros(from), micros(to), parcelStartSlack.Microseconds()
	return [2]windowPart{
		{"firm_id = ? AND created_at >= ? AND created_at < ? AND started_at >= ? AND started_at < ?", []any{firmID, f - slack, t + slack, f, t}},
		{"firm_id = ? AND far_start <> 0 AND far_start >= ? AND far_start < ? AND (created_at < ? OR created_at >= ?)", []any{firmID, f, t, f - slack, t + slack}},
	}
}

// AggregateCouriers counts the firm's parcels and each courier's in one
// pass: the groups by courier (the firm's parcels without one in the
// group (0, "")) add up to the firm's counts; the couriers are sorted
// and cut here (a firm has hundreds of couriers, not millions). On SQLite the window is split into as many parts as there are cores
// (at most the readers' four), each counted on its own reader connection
// at once and the counts summed: each part's GROUP BY sorts only its own
// parcels (the sort took a third of the time at 300,000 parcels), and the
// parts run side by side. PostgreSQL parallelises the one query itself.
func (db *DB) AggregateCouriers(ctx context.Context, firmID int64, w logistics.Window, limit int) (logistics.Counts, []logistics.CourierCounts, error) {
	const op = "sqlstore.AggregateCouriers"
	var total logistics.Counts
	parts := 1
	if db.d.name == EngineSQLite && w.To.Sub(w.From) > 24*time.Hour {
		parts = max(1, min(runtime.GOMAXPROCS(0), 4))
	}
	type key struct {
		id   int64
		code string
	}
	results := make([]map[key]logistics.Counts, parts)
	errsOf := make([]error, parts)
	span := w.To.Sub(w.From)
	var wg sync.WaitGroup
	for p := range parts {
		from, to := w.From.Add(span*time.Duration(p)/time.Duration(parts)), w.From.Add(span*time.Duration(p+1)/time.Duration(parts))
		if p == parts-1 {
			to = w.To
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := map[key]logistics.Counts{}
			results[p] = out
			errsOf[p] = db.countCouriers(ctx, firmID, from, to, w, func(id int64, code string, c logistics.Counts) {
				s := out[key{id, code}]
				s.Add(c)
				out[key{id, code}] = s
			})
		}()
	}
	wg.Wait()
	if err := errors.Join(errsOf...); err != nil {
		return total, nil, mapErr(op, err)
	}
	sum := map[key]logistics.Counts{}
	for _, r := range results {
		for k, c := range r {
			total.Add(c)
			if k.id != 0 || k.code != "" {
				s := sum[k]
				s.Add(c)
				sum[k] = s
			}
		}
	}
	out := make([]logistics.CourierCounts, 0, len(sum))
	for k, c := range sum {
		out = append(out, logistics.CourierCounts{CourierID: k.id, CourierCode: k.code, Counts: c})
	}
	slices.SortFunc(out, func(a, b logistics.CourierCounts) int {
		return cmp.Or(cmp.Compare(b.Parcels, a.Parcels), cmp.Compare(a.CourierID, b.CourierID), strings.Compare(a.CourierCode, b.CourierCode))
	})
	return total, out[:min(len(out), clampLimit(limit, 50, 1000))], nil
}

// countCouriers counts the firm's parcels started in [from, to) by
// courier, both parts of the window (startedIn), and hands each group's
// counts to add.
func (db *DB) countCouriers(ctx context.Context, firmID int64, from, to time.Time, w logistics.Window, add func(id int64, code string, c logistics.Counts)) error {
	for _, part := range startedIn(firmID, from, to) {
		err := func() error {
			rows, err := db.readQuery(ctx, "SELECT courier_id, courier_code, "+aggregateCols+" FROM parcels WHERE "+part.where+" GROUP BY courier_id, courier_code",
				append([]any{micros(w.To), micros(w.StaleBefore)}, part.args...)...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id int64
				var code string
				c, err := scanCounts(rows, &id, &code)
				if err != nil {
					return err
				}
				add(id, code, c)
			}
			return rows.Err()
		}()
		if err != nil {
			return err
		}
	}
	return nil
}

// CountPenalties counts the active penalty records of each subject
// decided on or after since.
func (db *DB) CountPenalties(ctx context.Context, subjectIDs []int64, since string) (map[int64]int, error) {
	out := map[int64]int{}
	const tail = " AND type = ? AND status = ? AND decision_date >= ? GROUP BY subject_id"
	rest := []any{string(record.TypePenalty), string(record.StatusActive), since}
	err := db.lookup(ctx, len(subjectIDs), func(start, end int) (string, []any) {
		if db.d.name == EnginePostgres {
			return "SELECT r.* FROM unnest(?::bigint[]) AS w (id) JOIN LATERAL (SELECT subject_id, COUNT(*) FROM records WHERE subject_id = w.id" +
				tail + " OFFSET 0) r ON true", append([]any{subjectIDs}, rest...)
		}
		in, args := idList(subjectIDs[start:end])
		return "SELECT subject_id, COUNT(*) FROM records WHERE subject_id IN " + in + tail, append(args, rest...)
	}, func(rows *sql.Rows) error {
		var id int64
		var n int
		err := rows.Scan(&id, &n)
		out[id] = n
		return err
	})
	return out, mapErr("sqlstore.CountPenalties", err)
}

// PlatformShipped reports whether the platform has an order with the
// waybill carried by the firm.
func (db *DB) PlatformShipped(ctx context.Context, platformID, firmID int64, waybill string) (bool, error) {
	var n int
	err := db.readRow(ctx, "SELECT COUNT(*) FROM orders WHERE waybill = ? AND platform_id = ? AND carrier_id = ?",
		waybill, platformID, firmID).Scan(&n)
	return n > 0, mapErr("sqlstore.PlatformShipped", err)
}

// boxes turns the repeated values of a batch's rows into the interface
// values database/sql takes without allocating each anew: a string seen
// before is boxed once, and an int64 column (slot) repeating its previous
// value reuses that box (the events of one parcel, one account, one
// recording time). Thousands of allocations a batch less.
type boxes struct {
	strs map[string]any
	ints [3]struct {
		v   int64
		box any
	}
}

func newBoxes() *boxes { return &boxes{strs: make(map[string]any, 16)} }

func (b *boxes) str(s string) any {
	if s == "" {
		return s // boxing "" does not allocate
	}
	v, ok := b.strs[s]
	if !ok {
		v = s
		if len(b.strs) < 256 {
			b.strs[s] = v
		}
	}
	return v
}

func (b *boxes) int(slot int, n int64) any {
	c := &b.ints[slot]
	if c.box == nil || c.v != n {
		c.v, c.box = n, n
	}
	return c.box
}
