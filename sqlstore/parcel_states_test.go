package sqlstore_test

import (
	"reflect"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/logistics"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// Two stores on one database, as two servers would have it. Store a
// caches the parcels' state it writes and reads (ParcelStates); b writes
// behind its back. What a judges on a stale entry is refused by the
// version check, the entry dropped, and the batch judged again on the
// stored state: events b stored are unchanged, not stored twice, and a's
// cache agrees with the store after every batch.
func TestParcelStateCacheTwoStores(t *testing.T) {
	storetest.RunTwin(t, func(t *testing.T, a, b *sqlstore.DB) {
		w := newLogistics(t, a)
		b.SetClock(w.svc.Clock)
		b.SetParcelStateCache(0) // b reads the store every time
		other := &logistics.Service{Store: b, Subjects: b, Keys: testKeys(t), Clock: w.svc.Clock}
		firmCtx := actor(account.RoleLogistics, 5, w.firm.ID, "承德快运")
		base := t0.Truncate(time.Second).Add(-48 * time.Hour)
		at := func(h int) string { return base.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
		ev := func(wb, typ string, h int) logistics.EventInput {
			return logistics.EventInput{Waybill: wb, Type: typ, At: at(h), Region: "130802"}
		}
		wbs := []string{"CW01", "CW02", "CW03", "CW04"}
		// a's cached state of every parcel is what the store holds.
		agree := func(step string) {
			t.Helper()
			cached, err := a.ParcelStates(ctx, w.firm.ID, wbs)
			if err != nil {
				t.Fatal(err)
			}
			stored, err := b.ParcelStates(ctx, w.firm.ID, wbs)
			if err != nil {
				t.Fatal(err)
			}
			if len(stored) == 0 || !reflect.DeepEqual(cached, stored) {
				for wb, p := range stored {
					t.Errorf("%s: %s cached %+v\nstored %+v", step, wb, cached[wb], p)
				}
				t.FailNow()
			}
		}
		send := func(svc *logistics.Service, want string, evs ...logistics.EventInput) {
			t.Helper()
			rs, err := svc.IngestEvents(firmCtx, "", evs)
			if err != nil || statuses(rs) != want {
				t.Fatalf("events: %s, want %s; %v", statuses(rs), want, err)
			}
		}

		var ps []logistics.ParcelInput
		for _, wb := range wbs[:3] {
			ps = append(ps, logistics.ParcelInput{Waybill: wb, Origin: "130802", Dest: "110105"})
		}
		if rs, err := w.svc.IngestParcels(firmCtx, "", ps); err != nil || statuses(rs) != "created created created" {
			t.Fatalf("parcels: %s %v", statuses(rs), err)
		}
		if n := a.CachedParcelStates(); n != 3 {
			t.Fatalf("%d parcels cached after registering 3", n)
		}
		agree("registered")
		send(w.svc, "created created created", ev("CW01", "picked_up", 0), ev("CW02", "picked_up", 0), ev("CW03", "picked_up", 0))
		agree("picked up")

		// b moves CW01 on and registers CW04: a's entry of CW01 is stale,
		// and a has none of CW04.
		send(other, "created", ev("CW01", "in_transit", 3))
		if rs, err := other.IngestParcels(firmCtx, "", []logistics.ParcelInput{{Waybill: "CW04", Origin: "130802", Dest: "110105"}}); err != nil || statuses(rs) != "created" {
			t.Fatalf("CW04: %s %v", statuses(rs), err)
		}
		// a is sent CW01's transit again with what follows it: judged on
		// the stale entry, the write is refused, and judged again on the
		// store, the transit is unchanged and the rest created.
		send(w.svc, "unchanged created unchanged created created",
			ev("CW01", "in_transit", 3), ev("CW01", "out_for_delivery", 8), ev("CW02", "picked_up", 0), ev("CW02", "in_transit", 4),
			ev("CW04", "picked_up", 1))
		agree("after b's writes")
		evs, err := b.ParcelEvents(ctx, mustParcel(t, b, w.firm.ID, "CW01").ID)
		if err != nil || len(evs) != 3 {
			t.Fatalf("CW01: %d events, want 3 (picked up, in transit, out); %v", len(evs), err)
		}

		// Again with b's write the last one before a's batch, the parcel
		// now known to both: the same outcome.
		send(other, "created", ev("CW03", "in_transit", 2))
		send(w.svc, "unchanged created", ev("CW03", "in_transit", 2), ev("CW03", "out_for_delivery", 6))
		agree("after b's second write")
		if p := mustParcel(t, b, w.firm.ID, "CW03"); p.Events != 3 || p.Status != logistics.EventOutForDelivery {
			t.Fatalf("CW03: %d events, status %s", p.Events, p.Status)
		}
	})
}
