package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"ecredit/audit"
	"ecredit/errs"
	"ecredit/logistics"
)

// A parcel's tracking events are one append-only log a parcel, a row of
// parcel_tracks (migration 00020): one line an event in the order stored,
// each a JSON array and a newline,
//
//	[at, "type", "region", "detail", "courier_code", "note", account_id, recorded_at]
//
// with instants in unix microseconds. A batch of events then writes a row
// a parcel — next to the parcel's state, which it writes anyway — instead
// of a row and two index entries an event.

// trackFields is how many values a track line holds.
const trackFields = 8

// appendTrackLine appends e's line to b.
func appendTrackLine(b []byte, e *logistics.Event) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, micros(e.At), 10)
	for _, s := range [...]string{string(e.Type), e.Region, e.Detail, e.CourierCode, e.Note} {
		b = append(b, ',')
		b = appendJSONString(b, s)
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, e.AccountID, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, micros(e.RecordedAt), 10)
	return append(b, ']', '\n')
}

// appendJSONString appends s as a JSON string (invalid UTF-8 replaced).
func appendJSONString(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// parseTrack calls fn with each event of a parcel's log, in stored order.
// It reads what appendTrackLine writes and what the migration's SQL
// writes (PostgreSQL puts a space after each comma).
func parseTrack(parcelID int64, log []byte, fn func(*logistics.Event)) error {
	for len(log) > 0 {
		end := slices.Index(log, '\n')
		if end < 0 {
			end = len(log)
		}
		line := log[:end]
		log = log[min(end+1, len(log)):]
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		var raw [trackFields]json.RawMessage
		if err := json.Unmarshal(line, &raw); err != nil {
			return fmt.Errorf("parcel %d: track line %q: %w", parcelID, line, err)
		}
		var at, account, recorded int64
		var typ string
		e := &logistics.Event{ParcelID: parcelID}
		for i, dst := range []any{&at, &typ, &e.Region, &e.Detail, &e.CourierCode, &e.Note, &account, &recorded} {
			var err error
			switch d := dst.(type) {
			case *int64:
				*d, err = strconv.ParseInt(string(raw[i]), 10, 64)
			case *string:
				err = unquoteJSON(raw[i], d)
			}
			if err != nil {
				return fmt.Errorf("parcel %d: track line %q, value %d: %w", parcelID, line, i+1, err)
			}
		}
		e.Type, e.At, e.AccountID, e.RecordedAt = logistics.EventType(typ), fromMicros(at), account, fromMicros(recorded)
		fn(e)
	}
	return nil
}

// unquoteJSON decodes a JSON string, without encoding/json when it holds
// no escape (the usual case).
func unquoteJSON(raw json.RawMessage, dst *string) error {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && !slices.Contains(raw[1:n-1], '\\') {
		*dst = string(raw[1 : n-1])
		return nil
	}
	return json.Unmarshal(raw, dst)
}

// StoredEvents returns the keys of the stored events of the parcels.
func (db *DB) StoredEvents(ctx context.Context, parcelIDs []int64) (map[logistics.EventKey]bool, error) {
	out := map[logistics.EventKey]bool{}
	err := db.tracks(ctx, parcelIDs, func(e *logistics.Event) { out[e.Key()] = true })
	return out, mapErr("sqlstore.StoredEvents", err)
}

// tracks calls fn with every stored event of the parcels.
func (db *DB) tracks(ctx context.Context, parcelIDs []int64, fn func(*logistics.Event)) error {
	sel := "SELECT parcel_id, log FROM parcel_tracks WHERE "
	return db.lookup(ctx, len(parcelIDs), func(start, end int) (string, []any) {
		if db.d.name == EnginePostgres {
			return "SELECT t.* FROM unnest(?::bigint[]) AS w (id) JOIN LATERAL (" + sel + "parcel_id = w.id OFFSET 0) t ON true", []any{parcelIDs}
		}
		in, args := idList(parcelIDs[start:end])
		return sel + "parcel_id IN " + in, args
	}, func(rows *sql.Rows) error {
		var id int64
		var log []byte
		if err := rows.Scan(&id, &log); err != nil {
			return err
		}
		return parseTrack(id, log, fn)
	})
}

// ParcelEvents returns a parcel's events in time order (stored order
// among events of the same time).
func (db *DB) ParcelEvents(ctx context.Context, parcelID int64) ([]*logistics.Event, error) {
	var out []*logistics.Event
	err := db.tracks(ctx, []int64{parcelID}, func(e *logistics.Event) { out = append(out, e) })
	slices.SortStableFunc(out, func(a, b *logistics.Event) int { return a.At.Compare(b.At) })
	return out, mapErr("sqlstore.ParcelEvents", err)
}

// trackWrite is what a batch writes to one parcel's log: its new lines,
// and whether they start the log (the parcel had no events before).
type trackWrite struct {
	parcelID int64
	lines    string
	first    bool
}

// trackWrites groups the events by parcel into the lines each parcel's
// log gains, in ps order. Every event's parcel must be among ps (whose
// state, version-checked, is written with them), once; no two events may
// share a key; a parcel's count of events must include its new ones.
func trackWrites(evs []*logistics.Event, ps []*logistics.Parcel) ([]trackWrite, error) {
	at := make(map[int64]int, len(ps))
	for i, p := range ps {
		if _, dup := at[p.ID]; dup {
			return nil, &errs.Error{Code: errs.Invalid, Field: "parcel_id", Message: fmt.Sprintf("包裹 %d 的状态在一次写入中出现两次 (a parcel twice)", p.ID)}
		}
		at[p.ID] = i
	}
	// Each parcel's events, grouped in ps order (a counting sort, stable),
	// written into one buffer; a parcel's lines are a slice of it.
	counts := make([]int, len(ps)+1)
	rank := make([]int, len(evs))
	for j, e := range evs {
		i, ok := at[e.ParcelID]
		if !ok {
			return nil, &errs.Error{Code: errs.Invalid, Field: "parcel_id",
				Message: fmt.Sprintf("轨迹所属的包裹 %d 不在同时写入的包裹状态之中 (an event's parcel state is not written with it)", e.ParcelID)}
		}
		rank[j] = i
		counts[i+1]++
	}
	first := make([]int, len(ps)+1) // parcel i's events are order[first[i]:first[i+1]]
	for i := range ps {
		first[i+1] = first[i] + counts[i+1]
	}
	order := make([]*logistics.Event, len(evs))
	next := append([]int(nil), first[:len(ps)]...)
	for j, e := range evs {
		order[next[rank[j]]] = e
		next[rank[j]]++
	}
	buf := make([]byte, 0, 96*len(evs))
	ends := make([]int, len(ps)+1)
	for i := range ps {
		mine := order[first[i]:first[i+1]]
		for k, e := range mine {
			for _, o := range mine[:k] {
				if o.Type == e.Type && o.At.Equal(e.At) {
					return nil, &errs.Error{Code: errs.Invalid, Field: "at",
						Message: fmt.Sprintf("包裹 %d 的同一时间、同一类型的轨迹出现两次 (an event twice)", e.ParcelID)}
				}
			}
			buf = appendTrackLine(buf, e)
		}
		ends[i+1] = len(buf)
	}
	all := string(buf)
	out := make([]trackWrite, 0, len(ps))
	for i, p := range ps {
		n := first[i+1] - first[i]
		if n == 0 {
			continue
		}
		if p.Events < n {
			return nil, &errs.Error{Code: errs.Invalid, Field: "events",
				Message: fmt.Sprintf("包裹 %d 的轨迹数 %d 少于本次写入的 %d 条 (the parcel's count misses its new events)", p.ID, p.Events, n)}
		}
		out = append(out, trackWrite{parcelID: p.ID, lines: all[ends[i]:ends[i+1]], first: p.Events == n})
	}
	return out, nil
}

// errTrackMissing: a parcel whose count says it has events has no log.
var errTrackMissing = &errs.Error{Code: errs.Internal, Message: "包裹的轨迹记录缺失 (a parcel with events has no track)"}

// AppendEvents appends new events to their parcels' logs and writes the
// state they gave the parcels, with the audit entry, in one transaction
// (see logistics.Store). The parcels' state goes first, version-checked:
// a stale parcel is a Conflict before any log is touched. A parcel's
// first events insert its log (a clash with a log stored meanwhile is a
// Conflict); later ones are appended to it. SQLite: one UPDATE a parcel's
// state, multi-row INSERTs of first logs (chunkedInsert), one UPDATE an
// appended log, all prepared once; PostgreSQL: one statement
// (writeEventsPG).
func (db *DB) AppendEvents(ctx context.Context, evs []*logistics.Event, ps []*logistics.Parcel, a *audit.Entry) error {
	const op = "sqlstore.AppendEvents"
	for _, e := range evs {
		norm(&e.At)
		norm(&e.RecordedAt)
	}
	for _, p := range ps {
		normParcel(p)
	}
	tws, err := trackWrites(evs, ps)
	if err != nil {
		return errs.Wrap(op, err)
	}
	if db.d.name == EnginePostgres {
		err = db.writeEventsPG(ctx, op, ps, tws, a)
	} else {
		var st *sqliteTrackStmts
		if st, err = db.sqliteTrackStatements(ctx); err != nil {
			return mapErr(op, err)
		}
		err = db.writeConn(ctx, op, func(conn *sql.Conn, tx *sql.Tx) error {
			if err := db.stateW.write(ctx, conn, ps); err != nil {
				return err
			}
			if err := writeTracksSQLite(ctx, tx, st, tws); err != nil {
				return err
			}
			return db.appendAudit(ctx, tx, a, "", 0)
		})
	}
	if err != nil {
		db.states.drop(ps) // one may be stale: the caller reads them again
		if errs.Is(err, errs.Conflict) && errs.FieldOf(err) == "" {
			return &errs.Error{Code: errs.Conflict, Op: op, Message: "物流轨迹已被同时报送，请重试 (tracking events written concurrently)", Err: err}
		}
		return err
	}
	for _, p := range ps {
		p.Version++
	}
	db.states.put(ps)
	return nil
}

// sqliteTrackStmts are the cached statements of AppendEvents on SQLite.
type sqliteTrackStmts struct {
	insert *chunkedInsert // parcels' first lines
	append *sql.Stmt      // a parcel's later lines
}

// sqliteTrackStatements returns the statements of AppendEvents on SQLite,
// prepared on first use (call outside the write transaction).
func (db *DB) sqliteTrackStatements(ctx context.Context) (*sqliteTrackStmts, error) {
	out := &sqliteTrackStmts{}
	var err error
	if out.insert, err = db.chunkedInserter(ctx, "INSERT INTO parcel_tracks (parcel_id, log) VALUES ", 2, ""); err != nil {
		return nil, err
	}
	out.append, err = db.cachedStmt(ctx, db.w, "UPDATE parcel_tracks SET log = log || ? WHERE parcel_id = ?")
	return out, err
}

func writeTracksSQLite(ctx context.Context, tx *sql.Tx, st *sqliteTrackStmts, tws []trackWrite) error {
	var first []int
	for i, w := range tws {
		if w.first {
			first = append(first, i)
		}
	}
	if err := st.insert.run(ctx, tx, len(first), func(a []any, i int) []any {
		w := &tws[first[i]]
		return append(a, w.parcelID, w.lines)
	}, nil); err != nil {
		return err
	}
	if len(first) == len(tws) {
		return nil
	}
	app := tx.StmtContext(ctx, st.append)
	defer app.Close()
	for _, w := range tws {
		if w.first {
			continue
		}
		res, err := app.ExecContext(ctx, w.lines, w.parcelID)
		if err := oneRow(res, err, errTrackMissing); err != nil {
			return err
		}
	}
	return nil
}

// writeEventsPG writes the parcels' state (version-checked), their logs —
// first lines inserted, later ones appended — and the audit entry a in
// one pipeline (DB.pipeline: one round trip, one implicit transaction):
// the session's planner settings, then one statement of three
// data-modifying parts that checks the rows each part changed itself
// (ecredit_check: a stale parcel is EC409, a log missing EC500, and
// either rolls everything back), then the audit entry.
func (db *DB) writeEventsPG(ctx context.Context, op string, ps []*logistics.Parcel, tws []trackWrite, a *audit.Entry) error {
	set := make([]string, 0, len(parcelStateCols)+1)
	for _, c := range parcelStateCols {
		set = append(set, c+" = v."+c)
	}
	set = append(set, "version = parcels.version + 1")
	newIDs, oldIDs := []int64{}, []int64{}
	newLines, oldLines := []string{}, []string{}
	for _, w := range tws {
		if w.first {
			newIDs, newLines = append(newIDs, w.parcelID), append(newLines, w.lines)
		} else {
			oldIDs, oldLines = append(oldIDs, w.parcelID), append(oldLines, w.lines)
		}
	}
	q := "WITH state AS (UPDATE parcels SET " + strings.Join(set, ", ") + " FROM " + unnestOf(append([]string{"BIGINT", "BIGINT"}, parcelStateTypes...)) +
		" AS v (id, version, " + strings.Join(parcelStateCols, ", ") + ") WHERE parcels.id = v.id AND parcels.version = v.version RETURNING 1), " +
		"first AS (INSERT INTO parcel_tracks (parcel_id, log) SELECT * FROM unnest(?::bigint[], ?::text[]) RETURNING 1), " +
		"later AS (UPDATE parcel_tracks AS t SET log = t.log || l.log FROM unnest(?::bigint[], ?::text[]) AS l (parcel_id, log) " +
		"WHERE t.parcel_id = l.parcel_id RETURNING 1) " +
		"SELECT ecredit_check((SELECT count(*) FROM state) = ?, 'EC409', 'stale parcel'), " +
		"ecredit_check((SELECT count(*) FROM first) = ? AND (SELECT count(*) FROM later) = ?, 'EC500', 'parcel track missing')"
	b := &pgx.Batch{}
	if len(ps) > 0 {
		// Index probes, whatever the statistics say (see lookup), for this
		// pipeline only (its implicit transaction).
		b.Queue(setIndexProbes)
		b.Queue(db.d.Rebind(q), append(parcelStateArrays(ps), newIDs, newLines, oldIDs, oldLines, len(ps), len(newIDs), len(oldIDs))...)
	}
	if a != nil {
		b.Queue(db.d.Rebind(insertAudit), db.auditArgs(a, "", 0)...).QueryRow(func(r pgx.Row) error { return r.Scan(&a.ID) })
	}
	if b.Len() == 0 {
		return nil
	}
	err := db.pipeline(ctx, op, b)
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "EC409":
			return errs.Wrap(op, errStaleParcel)
		case "EC500":
			return errs.Wrap(op, errTrackMissing)
		}
	}
	return err
}

// setIndexProbes makes the planner probe indexes a key at a time for the
// rest of the transaction (SET LOCAL), whatever a table's statistics say:
// on a fresh table, without any, it may hash a scan of the whole table.
const setIndexProbes = "SELECT set_config('enable_seqscan', 'off', true), set_config('enable_hashjoin', 'off', true), " +
	"set_config('enable_mergejoin', 'off', true)"
