package sqlstore_test

import (
	"fmt"
	"testing"
	"time"

	"ecredit/audit"
	"ecredit/logistics"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// Migration 00020 turns the event rows of parcel_events into the parcels'
// logs and back: down to 00019 every event is a row again, in order, with
// every field (quotes, backslashes, newlines and Chinese in the free
// text); up again, the logs hold the same events, and the store appends
// to what the SQL of either engine wrote.
func TestParcelTracksMigration(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		firm := mustCreate(t, db, org(t, 96001, registry.KindLogistics, "承德快运有限公司", "130802"))
		var ps []*logistics.Parcel
		for i := range 3 {
			ps = append(ps, &logistics.Parcel{FirmID: firm.ID, Waybill: fmt.Sprintf("MG%02d", i), Origin: "130802", Dest: "110105",
				Status: logistics.StatusCreated, CreatedAt: t0, UpdatedAt: t0, Version: 1})
		}
		if err := db.SaveParcels(ctx, ps, nil); err != nil {
			t.Fatal(err)
		}
		at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour).UTC() }
		var evs []*logistics.Event
		for i, p := range ps[:2] {
			for k, typ := range []logistics.EventType{logistics.EventPickedUp, logistics.EventInTransit, logistics.EventComplaint} {
				ev := &logistics.Event{ParcelID: p.ID, Type: typ, At: at(-30 + k), Region: "130802", CourierCode: "C00" + fmt.Sprint(i),
					AccountID: int64(7 + i), RecordedAt: at(-1)}
				if typ == logistics.EventComplaint {
					ev.Detail, ev.Note = "破损", "外箱\"压扁\"\\ 内件\n损坏\t待核实"
				}
				if err := logistics.Apply(p, ev); err != nil {
					t.Fatal(err)
				}
				evs = append(evs, ev)
			}
		}
		entry := &audit.Entry{ActorName: "test", Action: audit.ActCreate, Object: "logistics"}
		if err := db.AppendEvents(ctx, evs, ps[:2], entry); err != nil {
			t.Fatal(err)
		}
		want := map[int64][]*logistics.Event{}
		for _, p := range ps[:2] {
			got, err := db.ParcelEvents(ctx, p.ID)
			if err != nil || len(got) != 3 {
				t.Fatalf("before: %d events, %v", len(got), err)
			}
			want[p.ID] = got
		}
		if err := db.MigrateTo(ctx, 19); err != nil {
			t.Fatalf("down to 19: %v", err)
		}
		rows, err := db.ReaderDB().QueryContext(ctx, "SELECT parcel_id, type, at, region, detail, courier_code, note, account_id, recorded_at FROM parcel_events ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var e logistics.Event
			var typ string
			var at, rec int64
			if err := rows.Scan(&e.ParcelID, &typ, &at, &e.Region, &e.Detail, &e.CourierCode, &e.Note, &e.AccountID, &rec); err != nil {
				t.Fatal(err)
			}
			w := evs[n]
			if e.ParcelID != w.ParcelID || typ != string(w.Type) || at != w.At.UnixMicro() || e.Region != w.Region || e.Detail != w.Detail ||
				e.CourierCode != w.CourierCode || e.Note != w.Note || e.AccountID != w.AccountID || rec != w.RecordedAt.UnixMicro() {
				t.Errorf("row %d: %+v %s %d %d, want %+v", n, e, typ, at, rec, w)
			}
			n++
		}
		if err := rows.Err(); err != nil || n != len(evs) {
			t.Fatalf("%d event rows, want %d: %v", n, len(evs), err)
		}
		rows.Close()
		if err := db.MigrateTo(ctx, 10_000); err == nil {
			t.Error("a version past the latest: no error")
		}
		_, latest, err := db.MigrationVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.MigrateTo(ctx, latest); err != nil {
			t.Fatalf("up again: %v", err)
		}
		for id, w := range want {
			got, err := db.ParcelEvents(ctx, id)
			if err != nil || eventsText(got) != eventsText(w) {
				t.Fatalf("parcel %d after the round trip: %v\n got %s\nwant %s", id, err, eventsText(got), eventsText(w))
			}
		}
		// The store appends to a log the migration wrote.
		found, err := db.FindParcels(ctx, firm.ID, []string{"MG00"})
		if err != nil {
			t.Fatal(err)
		}
		p := found["MG00"]
		out := &logistics.Event{ParcelID: p.ID, Type: logistics.EventOutForDelivery, At: at(-20), RecordedAt: at(-1)}
		if err := logistics.Apply(p, out); err != nil {
			t.Fatal(err)
		}
		if err := db.AppendEvents(ctx, []*logistics.Event{out}, []*logistics.Parcel{p}, entry); err != nil {
			t.Fatal(err)
		}
		if got, err := db.ParcelEvents(ctx, p.ID); err != nil || len(got) != 4 || got[3].Type != logistics.EventOutForDelivery || got[2].Note != evs[2].Note {
			t.Fatalf("after an append: %v, %v", got, err)
		}
	})
}

// eventsText is the events' values, one line each.
func eventsText(evs []*logistics.Event) string {
	s := ""
	for _, e := range evs {
		s += fmt.Sprintf("%+v\n", *e)
	}
	return s
}
