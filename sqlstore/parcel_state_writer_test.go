package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/errs"
	"ecredit/logistics"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// The parcels' state of a batch of events is written on the writer's
// connection itself (on SQLite below database/sql, with a statement kept
// for that connection): a connection the pool drops as broken is replaced
// and the statement prepared again on the new one; a stale parcel is a
// Conflict with nothing written; a request whose context has ended writes
// nothing; and the store closes cleanly with its statement's connection
// gone.
func TestParcelStateWriter(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newLogistics(t, db)
		firmCtx := actor(account.RoleLogistics, 5, w.firm.ID, "承德快运")
		base := t0.Truncate(time.Second).Add(-48 * time.Hour)
		ev := func(wb, typ string, h int) logistics.EventInput {
			return logistics.EventInput{Waybill: wb, Type: typ, At: base.Add(time.Duration(h) * time.Hour).Format(time.RFC3339), Region: "130802"}
		}
		send := func(c context.Context, want string, evs ...logistics.EventInput) {
			t.Helper()
			rs, err := w.svc.IngestEvents(c, "", evs)
			if err != nil || statuses(rs) != want {
				t.Fatalf("events: %s, want %s; %v", statuses(rs), want, err)
			}
		}
		state := func(wb string, events int, status logistics.EventType, version int) {
			t.Helper()
			p := mustParcel(t, db, w.firm.ID, wb)
			if p.Events != events || p.Status != status || p.Version != version {
				t.Fatalf("%s: %d events, status %s, version %d; want %d, %s, %d", wb, p.Events, p.Status, p.Version, events, status, version)
			}
			stored, err := db.ParcelEvents(ctx, p.ID)
			if err != nil || len(stored) != events {
				t.Fatalf("%s: %d events stored, want %d; %v", wb, len(stored), events, err)
			}
		}
		if rs, err := w.svc.IngestParcels(firmCtx, "", []logistics.ParcelInput{
			{Waybill: "SW01", Origin: "130802", Dest: "110105"}, {Waybill: "SW02", Origin: "130802", Dest: "110105"},
		}); err != nil || statuses(rs) != "created created" {
			t.Fatalf("parcels: %s %v", statuses(rs), err)
		}
		send(firmCtx, "created created", ev("SW01", "picked_up", 0), ev("SW02", "picked_up", 0))
		state("SW01", 1, logistics.EventPickedUp, 2)

		// The connection the statement was prepared on is dropped.
		if err := db.BreakWriter(ctx); err != nil {
			t.Fatal(err)
		}
		send(firmCtx, "created created", ev("SW01", "in_transit", 3), ev("SW02", "in_transit", 3))
		state("SW01", 2, logistics.EventInTransit, 3)

		// A stale version: the store refuses the whole batch.
		p1, p2 := mustParcel(t, db, w.firm.ID, "SW01"), mustParcel(t, db, w.firm.ID, "SW02")
		at := base.Add(5 * time.Hour)
		out := func(p *logistics.Parcel) *logistics.Event {
			return &logistics.Event{ParcelID: p.ID, Type: logistics.EventOutForDelivery, At: at, Region: "110105", AccountID: 5, RecordedAt: at}
		}
		e1, e2 := out(p1), out(p2)
		for _, x := range []struct {
			p *logistics.Parcel
			e *logistics.Event
		}{{p1, e1}, {p2, e2}} {
			if err := logistics.Apply(x.p, x.e); err != nil {
				t.Fatal(err)
			}
		}
		p2.Version-- // judged on a state one write old
		if err := db.AppendEvents(ctx, []*logistics.Event{e1, e2}, []*logistics.Parcel{p1, p2}, nil); !errs.Is(err, errs.Conflict) {
			t.Fatalf("stale parcel: %v, want a conflict", err)
		}
		state("SW01", 2, logistics.EventInTransit, 3) // SW01, written first, rolled back
		state("SW02", 2, logistics.EventInTransit, 3)

		// A request that has ended writes nothing.
		ended, cancel := context.WithCancel(firmCtx)
		cancel()
		if _, err := w.svc.IngestEvents(ended, "", []logistics.EventInput{ev("SW01", "out_for_delivery", 8)}); err == nil {
			t.Fatal("events of an ended request: no error")
		}
		state("SW01", 2, logistics.EventInTransit, 3)

		send(firmCtx, "created", ev("SW01", "out_for_delivery", 8))
		state("SW01", 3, logistics.EventOutForDelivery, 4)
		// Closing (at the test's end) with the statement's connection
		// gone must leave it alone.
		if err := db.BreakWriter(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
