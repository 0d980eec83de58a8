package sqlstore_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/logistics"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// TestParcelWindows: a firm's parcels started in a window are found
// through their registration when the start is within three days of it,
// and through far_start otherwise (00025), on both sides of the window
// and of the slack; a pickup that moves the start beyond the slack (or
// back) moves the parcel between the two.
func TestParcelWindows(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newLogistics(t, db)
		const slack = 3 * 24 * time.Hour
		from, to := t0.Add(-30*24*time.Hour), t0
		us := time.Microsecond
		cases := []struct {
			created, started time.Time
			in, far          bool
		}{
			{t0.Add(-10 * 24 * time.Hour), t0.Add(-10*24*time.Hour + time.Hour), true, false},
			{from.Add(-slack), from, true, false},          // the slack exactly, at the window's start
			{from.Add(-slack - us), from, true, true},      // a microsecond beyond it
			{from.Add(-us), from.Add(-us), false, false},   // just before the window
			{to.Add(slack - us), to.Add(-us), true, false}, // registered after the pickup
			{to.Add(slack), to.Add(-us), true, true},
			{to.Add(slack + time.Hour), to.Add(time.Hour), false, false}, // after the window
			{t0.Add(-200 * 24 * time.Hour), t0.Add(-5 * 24 * time.Hour), true, true},
			{t0.Add(-24 * time.Hour), t0.Add(time.Hour), false, false},
			{t0.Add(-24 * time.Hour), to, false, false}, // the window's end is open
			{t0.Add(-90 * 24 * time.Hour), t0.Add(-40 * 24 * time.Hour), false, true},
			{from.Add(-slack - us), from.Add(-slack - us), false, false},
			{from.Add(-2 * 24 * time.Hour), from.Add(5 * 24 * time.Hour), true, true}, // far, registered near the window: counted once
		}
		var ps []*logistics.Parcel
		want := 0
		for i, c := range cases {
			p := &logistics.Parcel{FirmID: w.firm.ID, Waybill: fmt.Sprintf("PW%03d", i), Status: logistics.StatusCreated,
				CreatedAt: c.created, UpdatedAt: c.created, StartedAt: c.started, Version: 1}
			if !c.started.Equal(c.created) {
				p.Status, p.PickedAt, p.LastEventAt, p.Events = logistics.EventPickedUp, c.started, c.started, 1
			}
			ps = append(ps, p)
			if c.in {
				want++
			}
		}
		// Another firm's parcel in the window is not counted.
		ps = append(ps, &logistics.Parcel{FirmID: w.other.ID, Waybill: "PW-OTHER", Status: logistics.StatusCreated,
			CreatedAt: t0.Add(-time.Hour), UpdatedAt: t0.Add(-time.Hour), StartedAt: t0.Add(-time.Hour), Version: 1})
		if err := db.SaveParcels(ctx, ps, nil); err != nil {
			t.Fatal(err)
		}
		for i, c := range cases {
			var far int64
			if err := db.WriterDB().QueryRowContext(ctx, db.Dialect().Rebind("SELECT far_start FROM parcels WHERE id = ?"), ps[i].ID).Scan(&far); err != nil {
				t.Fatal(err)
			}
			if (far != 0) != c.far || c.far && far != c.started.Truncate(us).UnixMicro() {
				t.Errorf("case %d (registered %s, started %s): far_start %d, want far %v", i, c.created, c.started, far, c.far)
			}
		}
		win := logistics.Window{From: from, To: to, StaleBefore: to.Add(-72 * time.Hour)}
		got, err := db.Aggregate(ctx, w.firm.ID, win)
		if err != nil {
			t.Fatal(err)
		}
		total, _, err := db.AggregateCouriers(ctx, w.firm.ID, win, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got.Parcels != want || total != got {
			t.Fatalf("window: %d parcels (couriers' pass %+v), want %d", got.Parcels, total, want)
		}

		// Down to 00024 and up again: the parcels stay, far_start comes
		// back from their columns, the window holds the same.
		if err := db.MigrateTo(ctx, 24); err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if again, err := db.Aggregate(ctx, w.firm.ID, win); err != nil || again != got {
			t.Fatalf("after down and up: %+v %v, want %+v", again, err, got)
		}

		// SQLite's plan reads the two parts through their indexes, never
		// the whole table.
		if db.Dialect().Name() == sqlstore.EngineSQLite {
			wheres, args := sqlstore.StartedIn(w.firm.ID, from, to)
			for i, index := range []string{"parcels_firm_created_idx", "parcels_firm_far_idx"} {
				plan := sqlitePlan(t, db, "SELECT COUNT(*) FROM parcels WHERE "+wheres[i], args[i]...)
				if !strings.Contains(plan, "USING INDEX "+index) || strings.Contains(plan, "SCAN parcels") {
					t.Errorf("part %d: plan %q, want a search of %s", i, plan, index)
				}
			}
		}

		// Through the service: parcels registered now (the clock's t0),
		// picked up a day ago (near) and ten days ago (far); the window
		// of the last five days holds the first only, that of the last
		// fifteen both.
		firmCtx := actor(account.RoleLogistics, 5, w.firm.ID, "承德快运")
		last := func(days int) logistics.Window {
			return logistics.Window{From: t0.Add(-time.Duration(days) * 24 * time.Hour), To: t0.Add(-time.Hour)}
		}
		before := map[int]int{}
		for _, days := range []int{5, 15} {
			c, err := db.Aggregate(ctx, w.firm.ID, last(days))
			if err != nil {
				t.Fatal(err)
			}
			before[days] = c.Parcels
		}
		w.ingestAll(t, firmCtx, []logistics.ParcelInput{{Waybill: "PW-NEAR", Origin: "130802", Dest: "130821"}, {Waybill: "PW-FAR", Origin: "130802", Dest: "130821"}}, []logistics.EventInput{
			{Waybill: "PW-NEAR", Type: "picked_up", At: t0.Add(-24 * time.Hour).Format(time.RFC3339)},
			{Waybill: "PW-FAR", Type: "picked_up", At: t0.Add(-10 * 24 * time.Hour).Format(time.RFC3339)},
		})
		for days, n := range map[int]int{5: 1, 15: 2} {
			c, err := db.Aggregate(ctx, w.firm.ID, last(days))
			if err != nil || c.Parcels-before[days] != n {
				t.Errorf("last %d days: %+v %v, want %d parcels more than %d", days, c, err, n, before[days])
			}
		}
	})
}

// TestParcelStateArrays: the typed arrays of the parcels' state sent to
// PostgreSQL hold what parcelStateArgs says, column for column.
func TestParcelStateArrays(t *testing.T) {
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	ps := []*logistics.Parcel{
		{ID: 7, Version: 3, Status: logistics.EventSigned, PickedAt: at(1), OutAt: at(2), SignedAt: at(3), SignedBy: "locker", ReturnedAt: at(4),
			Lost: true, Exceptions: 2, Complaints: 5, Events: 9, Gap: true, LastEventAt: at(5), StartedAt: at(6), UpdatedAt: at(7)},
		{ID: 8, Version: 1, Status: logistics.StatusCreated, Damaged: true, Gap: true, StartedAt: at(-1), UpdatedAt: at(8)}, // every column differs from every other
	}
	got, want := sqlstore.ParcelStateArrays(ps), sqlstore.ParcelStateColumns(ps)
	if len(got) != len(want) {
		t.Fatalf("%d columns, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("column %d: %v, want %v", i, got[i], want[i])
		}
	}
}
