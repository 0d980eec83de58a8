package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/logistics"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// Tracking-event ingest on both engines, reported as events/s ("rows/s")
// next to the ceiling measured in the same run (bench/run.sh parcels):
//
//	go test ./sqlstore -run '^$' -bench '^BenchmarkParcel' -benchtime 20x
//
// BenchmarkParcelEventIngest goes through logistics.Service.IngestEvents:
// 1000 events a batch (250 parcels × picked up, in transit, out for
// delivery, signed), each validated and judged against its parcel, the
// parcels' state taken from the store's cache (the parcels were registered
// through this store just before; see BenchmarkParcelEventIngestCold for
// a read of them in one query), the stored events of those whose row says
// an event may be stored already read, the events written with cached
// multi-row INSERTs (SQLite) or COPY (PostgreSQL, ids from the sequence
// in one query), the 250 parcels' state with their version checked, and
// one audit entry, in one transaction.
// BenchmarkParcelEventStore is the store call alone (no validation, no
// lookups, the parcels' state folded untimed).
// BenchmarkParcelRawInsertCeiling inserts the same event values, 1000 to
// a transaction, into a scratch table with the same columns and no index,
// key, trigger or audit row, the fastest way each engine takes them:
// SQLite multi-row INSERTs of ceilingRows rows with one statement prepared
// once for the whole run (1.2–2× one row a statement), PostgreSQL COPY (pgx CopyFrom: on the
// development server about 2× INSERT … SELECT FROM unnest and 8× one row
// a statement, 20× in bench/run.sh's throwaway cluster).

const parcelsPerBatch = 250

// benchParcels creates n fresh parcels of the firm (untimed) and returns
// their waybills and stored parcels.
func benchParcels(b *testing.B, db *sqlstore.DB, firmID int64, n int, seq *int) []*logistics.Parcel {
	b.Helper()
	now := time.Now().UTC()
	ps := make([]*logistics.Parcel, n)
	for i := range ps {
		*seq++
		ps[i] = &logistics.Parcel{FirmID: firmID, Waybill: fmt.Sprintf("BN%010d", *seq), WeightG: 800, Origin: "130802", Dest: "110105",
			CourierCode: fmt.Sprintf("C%03d", *seq%50), PromisedAt: now.Add(24 * time.Hour), Status: logistics.StatusCreated,
			CreatedAt: now, UpdatedAt: now, Version: 1}
	}
	if err := db.SaveParcels(ctx, ps, nil); err != nil {
		b.Fatal(err)
	}
	return ps
}

// journey is the four events of a parcel picked up at start.
func journey(wb string, start time.Time) []logistics.EventInput {
	f := func(h int) string { return start.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	return []logistics.EventInput{
		{Waybill: wb, Type: "picked_up", At: f(0), Region: "130802"},
		{Waybill: wb, Type: "in_transit", At: f(3), Region: "130800"},
		{Waybill: wb, Type: "out_for_delivery", At: f(8), Region: "110105", Courier: "C001"},
		{Waybill: wb, Type: "signed", At: f(9), Region: "110105", SignedBy: "recipient"},
	}
}

func benchFirm(b *testing.B, db *sqlstore.DB) *registry.Subject {
	firm := org(b, 90001, registry.KindLogistics, "承德快运有限公司", "130802")
	return mustCreate(b, db, firm)
}

// benchFeed is a logistics firm, its service and its account's context.
func benchFeed(b *testing.B, db *sqlstore.DB) (*registry.Subject, *logistics.Service, context.Context) {
	firm := benchFirm(b, db)
	svc := &logistics.Service{Store: db, Subjects: db, Keys: testKeys(b)}
	return firm, svc, account.With(ctx, account.Actor{AccountID: 1, Name: "bench", Role: account.RoleLogistics, SubjectID: firm.ID, Via: "api"})
}

func BenchmarkParcelEventIngest(b *testing.B) { parcelEventIngest(b, false) }

// BenchmarkParcelEventIngestCold is BenchmarkParcelEventIngest with the
// store's cache of parcel states off: every batch reads its 250 parcels
// from the database, as when another server registered them or they have
// left the cache.
func BenchmarkParcelEventIngestCold(b *testing.B) { parcelEventIngest(b, true) }

func parcelEventIngest(b *testing.B, cold bool) {
	storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
		if cold {
			db.SetParcelStateCache(0)
		}
		firm, svc, fc := benchFeed(b, db)
		seq := 0
		start := time.Now().UTC().Add(-48 * time.Hour)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			ps := benchParcels(b, db, firm.ID, parcelsPerBatch, &seq)
			ins := make([]logistics.EventInput, 0, 4*len(ps))
			for _, p := range ps {
				ins = append(ins, journey(p.Waybill, start)...)
			}
			b.StartTimer()
			ingestCreated(b, svc, fc, ins)
		}
		reportRows(b, b.N*4*parcelsPerBatch)
	})
}

// BenchmarkParcelEventAppend is the steady state of a firm's feed: 1000
// events a batch, one each of 1000 parcels picked up in an earlier batch
// (untimed), so every event is judged against a parcel with a log and
// appended to it — a row read and two rows written an event, where
// BenchmarkParcelEventIngest's parcels take their four events at once.
func BenchmarkParcelEventAppend(b *testing.B) {
	storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
		firm, svc, fc := benchFeed(b, db)
		seq := 0
		start := time.Now().UTC().Add(-48 * time.Hour)
		const n = 4 * parcelsPerBatch
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			ps := benchParcels(b, db, firm.ID, n, &seq)
			picks := make([]logistics.EventInput, 0, n)
			ins := make([]logistics.EventInput, 0, n)
			for _, p := range ps {
				j := journey(p.Waybill, start)
				picks, ins = append(picks, j[0]), append(ins, j[1])
			}
			if _, err := svc.IngestEvents(fc, "", picks); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			ingestCreated(b, svc, fc, ins)
		}
		reportRows(b, b.N*n)
	})
}

// ingestCreated sends the events through the service and requires the
// last line created.
func ingestCreated(b *testing.B, svc *logistics.Service, fc context.Context, ins []logistics.EventInput) {
	rs, err := svc.IngestEvents(fc, "", ins)
	if err != nil {
		b.Fatal(err)
	}
	if rs[len(rs)-1].Status != logistics.ResultCreated {
		b.Fatalf("last line %+v", rs[len(rs)-1])
	}
}

// storeEvents builds the stored form of the four events of each parcel.
func storeEvents(ps []*logistics.Parcel, start time.Time) []*logistics.Event {
	evs := make([]*logistics.Event, 0, 4*len(ps))
	for _, p := range ps {
		for h, t := range map[int]logistics.EventType{0: logistics.EventPickedUp, 3: logistics.EventInTransit, 8: logistics.EventOutForDelivery, 9: logistics.EventSigned} {
			evs = append(evs, &logistics.Event{ParcelID: p.ID, Type: t, At: start.Add(time.Duration(h) * time.Hour), Region: "110105",
				CourierCode: "C001", AccountID: 1, RecordedAt: start})
		}
	}
	return evs
}

func BenchmarkParcelEventStore(b *testing.B) {
	storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
		firm := benchFirm(b, db)
		seq := 0
		start := time.Now().UTC().Add(-48 * time.Hour)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			ps := benchParcels(b, db, firm.ID, parcelsPerBatch, &seq)
			evs := storeEvents(ps, start)
			byID := make(map[int64]*logistics.Parcel, len(ps))
			for _, p := range ps {
				byID[p.ID] = p
			}
			for _, e := range evs {
				if err := logistics.Apply(byID[e.ParcelID], e); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
			if err := db.AppendEvents(ctx, evs, ps, &audit.Entry{ActorName: "bench", Action: audit.ActCreate, Object: "logistics"}); err != nil {
				b.Fatal(err)
			}
		}
		reportRows(b, b.N*4*parcelsPerBatch)
	})
}

// ceilingRows is how many rows one INSERT of the SQLite ceiling takes
// (the fastest of 1, 50, 100, 250, 500 and 1000 measured).
const ceilingRows = 250

func BenchmarkParcelRawInsertCeiling(b *testing.B) { rawEventInsert(b, false) }

// BenchmarkParcelSchemaInsert writes the same events the same raw way as
// the ceiling, but in the schema's form: each parcel's lines (built in the
// timed part) as the first log of the parcel in parcel_tracks, with its key
// and parcel check (00020) — what storing the events alone costs, without
// judging them, the parcels' state or the audit entry.
func BenchmarkParcelSchemaInsert(b *testing.B) { rawEventInsert(b, true) }

// rawEventInsert is the event ceiling (schema false: a bare scratch table,
// a row an event) or the schema insert (schema true: parcel_tracks, a row
// a parcel).
func rawEventInsert(b *testing.B, schema bool) {
	storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
		firm := benchFirm(b, db)
		d := db.Dialect()
		cols := sqlstore.ParcelEventColumns()
		table := "parcel_tracks"
		if schema {
			cols = []string{"parcel_id", "log"}
		} else {
			table = "bench_raw_events"
			defs := []string{"id " + d.AutoID()}
			for _, c := range cols {
				typ := "BIGINT"
				switch c {
				case "type", "region", "detail", "courier_code", "note":
					typ = "TEXT"
				}
				defs = append(defs, c+" "+typ)
			}
			if _, err := db.WriterDB().ExecContext(ctx, "CREATE TABLE bench_raw_events ("+strings.Join(defs, ", ")+")"); err != nil {
				b.Fatal(err)
			}
		}
		tuple := "(?" + strings.Repeat(", ?", len(cols)-1) + ")"
		ins := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES " + tuple + strings.Repeat(", "+tuple, ceilingRows-1)
		// Prepared once and reused by every transaction, as a bulk loader
		// (and the event store) does: preparing a statement of 250 rows
		// costs about a third of running it.
		var prepared *sql.Stmt
		if d.Name() != sqlstore.EnginePostgres {
			var err error
			if prepared, err = db.WriterDB().PrepareContext(ctx, ins); err != nil {
				b.Fatal(err)
			}
			defer prepared.Close()
		}
		seq := 0
		start := time.Now().UTC().Add(-48 * time.Hour)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			ps := benchParcels(b, db, firm.ID, parcelsPerBatch, &seq)
			evs := storeEvents(ps, start)
			var rows [][]any
			if !schema {
				rows = make([][]any, len(evs))
				for j, e := range evs {
					rows[j] = sqlstore.ParcelEventArgs(e)
				}
			}
			b.StartTimer()
			if schema {
				rows = make([][]any, 0, len(ps))
				for j, p := range ps {
					rows = append(rows, []any{p.ID, sqlstore.TrackLog(evs[4*j : 4*j+4])})
				}
			}
			err := rawInsert(db, table, cols, prepared, rows)
			if err != nil {
				b.Fatal(err)
			}
		}
		reportRows(b, b.N*4*parcelsPerBatch)
	})
}

// rawInsert writes rows into table in one transaction, the ceilings' way:
// PostgreSQL COPY; SQLite the multi-row INSERT of ceilingRows rows
// prepared (a shorter last chunk in a statement of its own).
func rawInsert(db *sqlstore.DB, table string, cols []string, prepared *sql.Stmt, rows [][]any) error {
	if db.Dialect().Name() == sqlstore.EnginePostgres {
		return copyRows(db, table, cols, rows)
	}
	tuple := "(?" + strings.Repeat(", ?", len(cols)-1) + ")"
	return db.WriteTx(ctx, "bench", func(tx *sql.Tx) error {
		st := tx.StmtContext(ctx, prepared)
		defer st.Close()
		args := make([]any, 0, ceilingRows*len(cols))
		for k := 0; k < len(rows); k += ceilingRows {
			args = args[:0]
			for _, r := range rows[k:min(k+ceilingRows, len(rows))] {
				args = append(args, r...)
			}
			var err error
			if len(args) == cap(args) {
				_, err = st.ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, "INSERT INTO "+table+" ("+strings.Join(cols, ", ")+") VALUES "+
					tuple+strings.Repeat(", "+tuple, len(args)/len(cols)-1), args...)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// copyRows copies rows into a PostgreSQL table in one transaction with
// COPY FROM STDIN (pgx CopyFrom).
func copyRows(db *sqlstore.DB, table string, cols []string, rows [][]any) error {
	return copyTables(db, []copyTable{{table, cols, rows}})
}

// copyTable is the rows to copy into one table.
type copyTable struct {
	name string
	cols []string
	rows [][]any
}

// copyTables copies into each table in turn, in one transaction, with
// COPY FROM STDIN (pgx CopyFrom).
func copyTables(db *sqlstore.DB, tables []copyTable) error {
	conn, err := db.WriterDB().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c := dc.(*stdlib.Conn).Conn()
		tx, err := c.Begin(ctx)
		if err != nil {
			return err
		}
		for _, t := range tables {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
				tx.Rollback(ctx)
				return err
			}
		}
		return tx.Commit(ctx)
	})
}
