package sqlstore_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/clock"
	"ecredit/errs"
	"ecredit/logistics"
	"ecredit/record"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// logisticsWorld is a firm with a courier, a second firm, and the service.
type logisticsWorld struct {
	svc            *logistics.Service
	firm, other    *registry.Subject
	courier        *registry.Subject
	platform, shop int64
}

func newLogistics(t *testing.T, db *sqlstore.DB) *logisticsWorld {
	t.Helper()
	reg, clk := newService(t, db)
	admin := actor(account.RoleAdmin, 1, 0, "市信用办")
	mk := func(in registry.SubjectInput) *registry.Subject {
		s, err := reg.CreateSubject(admin, in)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	w := &logisticsWorld{
		firm:    mk(registry.SubjectInput{Kind: registry.KindLogistics, Name: "承德快运有限公司", CreditCode: uscc(t, 71), RegionCode: "130802"}),
		other:   mk(registry.SubjectInput{Kind: registry.KindLogistics, Name: "避暑山庄速递有限公司", CreditCode: uscc(t, 72), RegionCode: "130802"}),
		courier: mk(registry.SubjectInput{Kind: registry.KindCourier, Name: "李四", IDNumber: idCourier}),
	}
	plat := mk(registry.SubjectInput{Kind: registry.KindPlatform, Name: "甲平台", CreditCode: codePlatformA})
	seller := mk(registry.SubjectInput{Kind: registry.KindMerchant, Name: "山货商行", CreditCode: uscc(t, 73), RegionCode: "130802"})
	sh, err := reg.CreateShop(admin, registry.ShopInput{PlatformID: plat.ID, OwnerID: seller.ID, Name: "山货店", URL: "https://shop.example.cn/1"})
	if err != nil {
		t.Fatal(err)
	}
	w.platform, w.shop = plat.ID, sh.ID
	// One order of the platform shipped with the firm (table of 00005).
	if _, err := db.WriterDB().ExecContext(ctx, db.Dialect().Rebind(`INSERT INTO orders (platform_id, shop_id, seller_id, order_no, buyer,
		amount_fen, waybill, carrier_id, status, created_at, updated_at) VALUES (?, ?, ?, 'O-1', 'b1', 100, 'SF0001', ?, 'shipped', 1, 1)`),
		plat.ID, sh.ID, seller.ID, w.firm.ID); err != nil {
		t.Fatal(err)
	}
	w.svc = &logistics.Service{Store: db, Subjects: db, Keys: testKeys(t), Clock: clk}
	return w
}

// ingestAll ingests parcels and then events, every line of which must be
// stored.
func (w *logisticsWorld) ingestAll(t *testing.T, c context.Context, ps []logistics.ParcelInput, evs []logistics.EventInput) {
	t.Helper()
	if rs, err := w.svc.IngestParcels(c, "", ps); err != nil || strings.Contains(statuses(rs), "error") {
		t.Fatalf("parcels: %s %v", statuses(rs), err)
	}
	if rs, err := w.svc.IngestEvents(c, "", evs); err != nil || strings.Contains(statuses(rs), "error") {
		t.Fatalf("events: %s %v", statuses(rs), err)
	}
}

func statuses(rs []logistics.Result) string {
	var b []string
	for _, r := range rs {
		s := r.Status
		if r.Err != nil {
			s += ":" + errs.FieldOf(r.Err)
		}
		b = append(b, s)
	}
	return strings.Join(b, " ")
}

func TestLogisticsIngestAndTracking(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newLogistics(t, db)
		firmCtx := actor(account.RoleLogistics, 5, w.firm.ID, "承德快运")
		promised := t0.Add(48 * time.Hour).Format(time.RFC3339)
		parcels := []logistics.ParcelInput{
			{Waybill: "SF0001", WeightG: 1200, Origin: "130802", Dest: "110105", Courier: "C01", PromisedAt: promised},
			{Waybill: "SF0002", WeightG: 300, Origin: "130802", Dest: "999999"},                               // bad region
			{Waybill: "SF0001", WeightG: 1, Origin: "130802", Dest: "110105"},                                 // duplicate in batch
			{Waybill: "SF0003", Origin: "130802", Dest: "130821", CourierIDNumber: idSeller},                  // not a courier
			{Waybill: "SF0004", Origin: "130802", Dest: "130821", CourierIDNumber: idCourier, WeightG: -1},    // bad weight
			{Waybill: "SF0005", Origin: "130802", Dest: "130821", CourierIDNumber: idCourier, Courier: "C02"}, // good
		}
		rs, err := w.svc.IngestParcels(firmCtx, "", parcels)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := statuses(rs), "created error:dest error:waybill error:courier_id_number error:weight_g created"; got != want {
			t.Fatalf("parcel results = %s, want %s", got, want)
		}
		// Resubmission: unchanged; changed data: updated.
		parcels[0].WeightG = 1300
		rs, err = w.svc.IngestParcels(firmCtx, "", []logistics.ParcelInput{parcels[0], parcels[5]})
		if err != nil || statuses(rs) != "updated unchanged" {
			t.Fatalf("resubmission = %s, %v", statuses(rs), err)
		}
		// A logistics account cannot act for another firm; a department cannot report parcels.
		if _, err := w.svc.IngestParcels(firmCtx, w.other.CreditCode, parcels[:1]); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("other firm: %v", err)
		}
		if _, err := w.svc.IngestParcels(actor(account.RoleDepartment, 6, 0, "邮政管理局"), w.firm.CreditCode, parcels[:1]); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("department parcels: %v", err)
		}

		at := func(h float64) string { return t0.Add(time.Duration(h * float64(time.Hour))).Format(time.RFC3339) }
		events := []logistics.EventInput{
			{Waybill: "SF0001", Type: "signed", At: at(-1), SignedBy: "recipient", Region: "110105"}, // out of order in the batch: fine
			{Waybill: "SF0001", Type: "picked_up", At: at(-30), Region: "130802", Courier: "C01"},
			{Waybill: "SF0001", Type: "in_transit", At: at(-20), Region: "130000"},
			{Waybill: "SF0001", Type: "out_for_delivery", At: at(-3), Region: "110105"},
			{Waybill: "SF9999", Type: "picked_up", At: at(-2)},                       // unknown waybill
			{Waybill: "SF0005", Type: "picked_up", At: at(2)},                        // in the future
			{Waybill: "SF0005", Type: "picked_up", At: at(-10)},                      // good
			{Waybill: "SF0005", Type: "signed", At: at(-12), SignedBy: "locker"},     // before the pickup
			{Waybill: "SF0005", Type: "lost_in_space", At: at(-5)},                   // unknown type
			{Waybill: "SF0005", Type: "exception", At: at(-4), Exception: "damaged"}, // good
			{Waybill: "SF0001", Type: "in_transit", At: at(-0.5)},                    // after the signature
			{Waybill: "SF0001", Type: "picked_up", At: at(-30), Region: "130802"},    // the same event twice
			{Waybill: "SF0005", Type: "complaint", At: at(-1), Note: "包装破损，客服不理睬"},   // good
		}
		rs, err = w.svc.IngestEvents(firmCtx, "", events)
		if err != nil {
			t.Fatal(err)
		}
		want := "created created created created error:waybill error:at created error:at error:type created error:at unchanged created"
		if got := statuses(rs); got != want {
			t.Fatalf("event results\n got %s\nwant %s", got, want)
		}
		// Re-sent: nothing stored twice, the state is unchanged.
		rs, err = w.svc.IngestEvents(firmCtx, "", events[:4])
		if err != nil || statuses(rs) != "unchanged unchanged unchanged unchanged" {
			t.Fatalf("re-sent = %s, %v", statuses(rs), err)
		}
		v, err := w.svc.Parcel(firmCtx, "", "SF0001")
		if err != nil {
			t.Fatal(err)
		}
		if v.Status != logistics.EventSigned || len(v.Events) != 4 || v.Events[0].Type != logistics.EventPickedUp ||
			v.OnTime == nil || !*v.OnTime || !v.Complete || v.SignedBy != "recipient" || v.WeightG != 1300 {
			t.Fatalf("parcel view %+v", v)
		}
		v5, err := w.svc.Parcel(firmCtx, "", "SF0005")
		if err != nil || !v5.Damaged || v5.Complaints != 1 || v5.CourierID != w.courier.ID || v5.Status != logistics.EventException {
			t.Fatalf("parcel 5 %+v, %v", v5, err)
		}

		// Departments report complaints only; they read every firm.
		dept := actor(account.RoleDepartment, 6, 0, "邮政管理局")
		rs, err = w.svc.IngestEvents(dept, w.firm.CreditCode, []logistics.EventInput{
			{Waybill: "SF0001", Type: "complaint", At: at(-0.2), Note: "延误"},
			{Waybill: "SF0001", Type: "in_transit", At: at(-25)},
		})
		if err != nil || statuses(rs) != "created error:type" {
			t.Fatalf("department events = %s, %v", statuses(rs), err)
		}
		if _, err := w.svc.Parcel(dept, w.firm.CreditCode, "SF0001"); err != nil {
			t.Fatal(err)
		}
		// A platform reads the tracking of its own orders' waybills only.
		plat := actor(account.RolePlatform, 7, w.platform, "甲平台")
		if _, err := w.svc.Parcel(plat, w.firm.CreditCode, "SF0001"); err != nil {
			t.Fatalf("platform own order: %v", err)
		}
		if _, err := w.svc.Parcel(plat, w.firm.CreditCode, "SF0005"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("platform other waybill: %v", err)
		}
		if _, err := w.svc.Parcel(actor(account.RoleLogistics, 8, w.other.ID, "速递"), "", "SF0001"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("other firm sees the waybill: %v", err)
		}
		if _, err := w.svc.Parcel(account.With(ctx, account.Public("1.2.3.4", "r")), w.firm.CreditCode, "SF0001"); !errs.Is(err, errs.Unauthorized) {
			t.Fatalf("public parcel: %v", err)
		}
	})
}

func TestLogisticsMetricsAndGrade(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newLogistics(t, db)
		firmCtx := actor(account.RoleLogistics, 5, w.firm.ID, "承德快运")
		// 40 parcels: 36 on time, 2 late, 1 lost, 1 picked up and then silent.
		var ps []logistics.ParcelInput
		var evs []logistics.EventInput
		for i := range 40 {
			wb := fmt.Sprintf("YT%04d", i)
			start := t0.Add(-time.Duration(10*24+i) * time.Hour)
			ps = append(ps, logistics.ParcelInput{Waybill: wb, Origin: "130802", Dest: "130821", Courier: fmt.Sprintf("C%d", i%2),
				PromisedAt: start.Add(48 * time.Hour).Format(time.RFC3339)})
			evs = append(evs, logistics.EventInput{Waybill: wb, Type: "picked_up", At: start.Format(time.RFC3339)})
			deliver := start.Add(30 * time.Hour)
			switch {
			case i == 38:
				evs = append(evs, logistics.EventInput{Waybill: wb, Type: "exception", Exception: "lost", At: start.Add(5 * time.Hour).Format(time.RFC3339)})
				continue
			case i == 39:
				continue // stale: no event since
			case i < 2:
				deliver = start.Add(60 * time.Hour)
			}
			evs = append(evs,
				logistics.EventInput{Waybill: wb, Type: "out_for_delivery", At: deliver.Add(-2 * time.Hour).Format(time.RFC3339)},
				logistics.EventInput{Waybill: wb, Type: "signed", SignedBy: "recipient", At: deliver.Format(time.RFC3339)})
		}
		w.ingestAll(t, firmCtx, ps, evs)
		rep, err := w.svc.Metrics(firmCtx, w.firm.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		m := rep.Metrics
		if m.Parcels != 40 || m.Due != 40 || m.Delivered != 38 || m.OnTimeRate != 0.9 || m.LossDamageRate != 0.025 || m.ValidityRate != 0.975 {
			t.Fatalf("metrics %+v", m)
		}
		// 90% on time, 2.5% lost, 97.5% valid: D under the defaults.
		if rep.Grade != logistics.GradeD || len(rep.Treatment) == 0 || len(rep.Couriers) != 2 || len(rep.Rules) != 3 {
			t.Fatalf("report %+v", rep)
		}
		// A laxer policy grades the same data C.
		lax := logistics.DefaultPolicy()
		lax.Rules[2].MaxLossDamage, lax.Rules[2].MinOnTime = 0.03, 0.85
		w.svc.Policy = &lax
		pub, err := w.svc.PublicGrade(ctx, w.firm)
		if err != nil || pub.Grade != logistics.GradeC {
			t.Fatalf("lax grade %+v, %v", pub, err)
		}
		// Other firms and the public may not read the report; departments may.
		if _, err := w.svc.Metrics(actor(account.RoleLogistics, 8, w.other.ID, "速递"), w.firm.ID, 0); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("other firm metrics: %v", err)
		}
		if _, err := w.svc.Metrics(actor(account.RoleDepartment, 6, 0, "邮政管理局"), w.firm.ID, 30); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Metrics(firmCtx, w.firm.ID, 9999); errs.FieldOf(err) != "days" {
			t.Fatalf("days: %v", err)
		}
		// The second firm has no parcels: not graded.
		if pub, err := w.svc.PublicGrade(ctx, w.other); err != nil || pub.Grade != logistics.GradeNone || pub.Metrics.Parcels != 0 {
			t.Fatalf("empty firm %+v, %v", pub, err)
		}
		if pub, err := w.svc.PublicGrade(ctx, w.courier); err != nil || pub != nil {
			t.Fatalf("courier grade %+v, %v", pub, err)
		}
	})
}

// racingParcels stores an event of the batch, as a concurrent batch would,
// after the service has read the parcels the first time.
type racingParcels struct {
	*sqlstore.DB
	race func()
}

func (r *racingParcels) ParcelStates(ctx context.Context, firmID int64, waybills []string) (map[string]*logistics.Parcel, error) {
	out, err := r.DB.ParcelStates(ctx, firmID, waybills)
	if r.race != nil {
		r.race()
		r.race = nil
	}
	return out, err
}

func TestLogisticsEventsConcurrentAndIdempotent(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newLogistics(t, db)
		firmCtx := actor(account.RoleLogistics, 5, w.firm.ID, "承德快运")
		if rs, err := w.svc.IngestParcels(firmCtx, "", []logistics.ParcelInput{
			{Waybill: "ZT01", Origin: "130802", Dest: "110105"}, {Waybill: "ZT02", Origin: "130802", Dest: "110105"}}); err != nil || statuses(rs) != "created created" {
			t.Fatalf("parcel: %s %v", statuses(rs), err)
		}
		findWB := func(wb string) *logistics.Parcel {
			ps, err := db.FindParcels(ctx, w.firm.ID, []string{wb})
			if err != nil || ps[wb] == nil {
				t.Fatalf("find: %v", err)
			}
			return ps[wb]
		}
		find := func() *logistics.Parcel { return findWB("ZT01") }
		base := t0.Truncate(time.Second)
		at := func(h float64) time.Time { return base.Add(time.Duration(h * float64(time.Hour))).UTC() }
		entry := &audit.Entry{ActorName: "test", Action: audit.ActCreate, Object: "logistics"}

		// The store appends events only with their parcel's state, at the
		// version they were judged at: a stale parcel is a Conflict; an
		// event without its parcel's state, an event twice and a count that
		// misses the new events are Invalid. Nothing is written.
		p := find()
		pick := &logistics.Event{ParcelID: p.ID, Type: logistics.EventPickedUp, At: at(-30), RecordedAt: t0}
		if err := logistics.Apply(p, pick); err != nil {
			t.Fatal(err)
		}
		if err := db.AppendEvents(ctx, []*logistics.Event{pick}, []*logistics.Parcel{p}, entry); err != nil || p.Version != 2 {
			t.Fatalf("append: %v, version %d", err, p.Version)
		}
		again := find()
		transit := &logistics.Event{ParcelID: p.ID, Type: logistics.EventInTransit, At: at(-20), RecordedAt: t0}
		twice := *transit
		_ = logistics.Apply(again, transit)
		uncounted := *again
		uncounted.Events = 0
		for name, c := range map[string]struct {
			evs []*logistics.Event
			ps  []*logistics.Parcel
		}{
			"an event twice":          {[]*logistics.Event{transit, &twice}, []*logistics.Parcel{again}},
			"no parcel state":         {[]*logistics.Event{transit}, nil},
			"a parcel twice":          {[]*logistics.Event{transit}, []*logistics.Parcel{again, again}},
			"count misses new events": {[]*logistics.Event{transit}, []*logistics.Parcel{&uncounted}},
		} {
			if err := db.AppendEvents(ctx, c.evs, c.ps, entry); !errs.Is(err, errs.Invalid) {
				t.Fatalf("%s: %v", name, err)
			}
		}
		stale := find()
		stale.Version = 1
		if err := db.AppendEvents(ctx, []*logistics.Event{transit}, []*logistics.Parcel{stale}, entry); !errs.Is(err, errs.Conflict) {
			t.Fatalf("stale parcel: %v", err)
		}
		if evs, err := db.ParcelEvents(ctx, p.ID); err != nil || len(evs) != 1 || find().Version != 2 {
			t.Fatalf("after refusals: %d events, %v", len(evs), err)
		}
		// A parcel whose count says it has a log that is not there: an
		// internal error, checked after the state is written (on
		// PostgreSQL by the statement itself), and the state and the audit
		// entry roll back with it.
		if _, err := w.svc.IngestParcels(firmCtx, "", []logistics.ParcelInput{{Waybill: "ZT10", Origin: "130802", Dest: "110105"}}); err != nil {
			t.Fatal(err)
		}
		lone := findWB("ZT10")
		lonePick := &logistics.Event{ParcelID: lone.ID, Type: logistics.EventPickedUp, At: at(-30), RecordedAt: t0}
		if err := logistics.Apply(lone, lonePick); err != nil {
			t.Fatal(err)
		}
		lone.Events++ // one more than it has: its lines would be appended to a log
		audits := auditCount(t, db)
		if err := db.AppendEvents(ctx, []*logistics.Event{lonePick}, []*logistics.Parcel{lone}, entry); !errs.Is(err, errs.Internal) {
			t.Fatalf("missing track: %v", err)
		}
		if got := findWB("ZT10"); got.Version != 1 || got.Events != 0 || got.Status != logistics.StatusCreated || auditCount(t, db) != audits {
			t.Fatalf("after a missing track: %+v, audit %d → %d", got, audits, auditCount(t, db))
		}
		// A parcel's start moves only with its pickup: on SQLite a state
		// without a pickup among its events is written by a statement that
		// leaves started_at alone and requires it unchanged, and when it
		// did change all the same, by the one that sets it.
		if _, err := w.svc.IngestParcels(firmCtx, "", []logistics.ParcelInput{{Waybill: "ZT09", Origin: "130802", Dest: "110105"}}); err != nil {
			t.Fatal(err)
		}
		for i, c := range []struct {
			ev    logistics.Event
			start time.Time // moved by hand when not zero
		}{
			{ev: logistics.Event{Type: logistics.EventPickedUp, At: at(-30)}},
			{ev: logistics.Event{Type: logistics.EventInTransit, At: at(-28)}},
			{ev: logistics.Event{Type: logistics.EventComplaint, At: at(-27), Detail: "态度"}, start: at(-29)},
		} {
			q := findWB("ZT09")
			ev := c.ev
			ev.ParcelID, ev.RecordedAt = q.ID, t0
			if err := logistics.Apply(q, &ev); err != nil {
				t.Fatal(err)
			}
			want := at(-30)
			if !c.start.IsZero() {
				q.StartedAt, want = c.start, c.start
			}
			if err := db.AppendEvents(ctx, []*logistics.Event{&ev}, []*logistics.Parcel{q}, entry); err != nil {
				t.Fatalf("ZT09 event %d: %v", i, err)
			}
			if got := findWB("ZT09"); !got.StartedAt.Equal(want) || got.Version != i+2 || got.Events != i+1 || got.Status != q.Status {
				t.Fatalf("ZT09 after event %d: %+v, want start %v", i, got, want)
			}
		}
		keys, err := db.StoredEvents(ctx, []int64{p.ID, p.ID + 1000})
		if err != nil || len(keys) != 1 || !keys[pick.Key()] {
			t.Fatalf("stored keys %v, %v", keys, err)
		}

		// A concurrent batch stores ZT01's in-transit event and ZT02's
		// pickup after the service has read the parcels (ZT02 without
		// events then, so the service did not look its events up): the
		// service is refused (a stale version, a stored key), judges again
		// and reports those unchanged, the rest created, nothing twice.
		rs := &racingParcels{DB: db}
		svc := logistics.Service{Store: rs, Subjects: w.svc.Subjects, Keys: w.svc.Keys, Clock: w.svc.Clock, Policy: w.svc.Policy}
		rs.race = func() {
			q, q2 := find(), findWB("ZT02")
			ev := &logistics.Event{ParcelID: q.ID, Type: logistics.EventInTransit, At: at(-20), RecordedAt: t0}
			ev2 := &logistics.Event{ParcelID: q2.ID, Type: logistics.EventPickedUp, At: at(-30), RecordedAt: t0}
			_, _ = logistics.Apply(q, ev), logistics.Apply(q2, ev2)
			if err := db.AppendEvents(ctx, []*logistics.Event{ev, ev2}, []*logistics.Parcel{q, q2}, entry); err != nil {
				t.Errorf("racing append: %v", err)
			}
		}
		f := func(h float64) string { return at(h).Format(time.RFC3339) }
		res, err := svc.IngestEvents(firmCtx, "", []logistics.EventInput{
			{Waybill: "ZT01", Type: "in_transit", At: f(-20)},
			{Waybill: "ZT01", Type: "picked_up", At: f(-30)},
			{Waybill: "ZT01", Type: "out_for_delivery", At: f(-3)},
			{Waybill: "ZT01", Type: "signed", At: f(-1), SignedBy: "proxy"},
			{Waybill: "ZT02", Type: "picked_up", At: f(-30)},
			{Waybill: "ZT02", Type: "in_transit", At: f(-25)},
		})
		if err != nil || statuses(res) != "unchanged unchanged created created unchanged created" {
			t.Fatalf("after the race: %s, %v", statuses(res), err)
		}
		evs, err := db.ParcelEvents(ctx, p.ID)
		final := find()
		if err != nil || len(evs) != 4 || final.Events != 4 || final.Status != logistics.EventSigned || final.SignedBy != "proxy" ||
			final.Gap || !final.OutAt.Equal(at(-3)) || !final.StartedAt.Equal(at(-30)) || final.Version != 4 {
			t.Fatalf("final %d events, parcel %+v, %v", len(evs), final, err)
		}
		if p2 := findWB("ZT02"); p2.Events != 2 || p2.Status != logistics.EventInTransit || p2.Version != 3 {
			t.Fatalf("ZT02 %+v", p2)
		}
		// A parcel's first events insert its log: a log stored meanwhile
		// (here around the store) is a Conflict, and nothing is written.
		if _, err := w.svc.IngestParcels(firmCtx, "", []logistics.ParcelInput{{Waybill: "ZT03", Origin: "130802", Dest: "110105"}}); err != nil {
			t.Fatal(err)
		}
		p3 := findWB("ZT03")
		if _, err := db.WriterDB().ExecContext(ctx, db.Dialect().Rebind("INSERT INTO parcel_tracks (parcel_id, log) VALUES (?, ?)"),
			p3.ID, fmt.Sprintf("[%d,\"picked_up\",\"\",\"\",\"\",\"\",0,1]\n", at(-30).UnixMicro())); err != nil {
			t.Fatal(err)
		}
		first := &logistics.Event{ParcelID: p3.ID, Type: logistics.EventInTransit, At: at(-29), RecordedAt: t0}
		if err := logistics.Apply(p3, first); err != nil {
			t.Fatal(err)
		}
		if err := db.AppendEvents(ctx, []*logistics.Event{first}, []*logistics.Parcel{p3}, entry); !errs.Is(err, errs.Conflict) {
			t.Fatalf("log stored meanwhile: %v", err)
		}
		if evs, err := db.ParcelEvents(ctx, p3.ID); err != nil || len(evs) != 1 || evs[0].Type != logistics.EventPickedUp || findWB("ZT03").Version != 1 {
			t.Fatalf("after the clash: %d events, %v", len(evs), err)
		}

		// A log of no parcel is refused (the foreign key on SQLite, a check
		// once a statement on PostgreSQL, 00020); logs only grow and are
		// never deleted; parcels are never deleted nor renumbered.
		if _, err := db.WriterDB().ExecContext(ctx, db.Dialect().Rebind("INSERT INTO parcel_tracks (parcel_id, log) VALUES (?, 'x')"), p3.ID+100000); err == nil {
			t.Error("a log of no parcel: no error")
		}
		for _, q := range []string{"UPDATE parcel_tracks SET log = 'x' WHERE parcel_id = ?", "UPDATE parcel_tracks SET parcel_id = parcel_id + 100000 WHERE parcel_id = ?",
			"DELETE FROM parcel_tracks WHERE parcel_id = ?"} {
			if _, err := db.WriterDB().ExecContext(ctx, db.Dialect().Rebind(q), p3.ID); err == nil {
				t.Errorf("%s: no error", q)
			}
		}
		if _, err := db.WriterDB().ExecContext(ctx, db.Dialect().Rebind("UPDATE parcel_tracks SET log = log || ? WHERE parcel_id = ?"),
			fmt.Sprintf("[%d, \"in_transit\", \"\", \"\", \"\", \"\", 0, 1]\n", at(-28).UnixMicro()), p3.ID); err != nil {
			t.Errorf("appending to a log: %v", err)
		}
		if evs, err := db.ParcelEvents(ctx, p3.ID); err != nil || len(evs) != 2 || evs[1].Type != logistics.EventInTransit {
			t.Fatalf("after an append: %d events, %v", len(evs), err)
		}
		for _, q := range []string{"DELETE FROM parcels WHERE id = ?", "UPDATE parcels SET id = id + 100000 WHERE id = ?"} {
			if _, err := db.WriterDB().ExecContext(ctx, db.Dialect().Rebind(q), p3.ID); err == nil {
				t.Errorf("%s: no error", q)
			}
		}
	})
}

// A penalty naming a registered courier (by its ID number: the record holds
// only the HMAC index and masks) counts in that courier's metrics and grade
// as a firm's penalties count in the firm's; penalties before the window
// and those of others do not.
func TestLogisticsCourierPenalties(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newLogistics(t, db)
		firmCtx := actor(account.RoleLogistics, 5, w.firm.ID, "承德快运")
		var ps []logistics.ParcelInput
		var evs []logistics.EventInput
		for i := range 80 {
			wb := fmt.Sprintf("PN%04d", i)
			start := t0.Add(-time.Duration(10*24+i) * time.Hour)
			in := logistics.ParcelInput{Waybill: wb, Origin: "130802", Dest: "130821", Courier: "C8", PromisedAt: start.Add(48 * time.Hour).Format(time.RFC3339)}
			if i%2 == 0 {
				in.Courier, in.CourierIDNumber = "C7", idCourier
			}
			ps = append(ps, in)
			evs = append(evs, logistics.EventInput{Waybill: wb, Type: "picked_up", At: start.Format(time.RFC3339)},
				logistics.EventInput{Waybill: wb, Type: "out_for_delivery", At: start.Add(20 * time.Hour).Format(time.RFC3339)},
				logistics.EventInput{Waybill: wb, Type: "signed", SignedBy: "recipient", At: start.Add(22 * time.Hour).Format(time.RFC3339)})
		}
		w.ingestAll(t, firmCtx, ps, evs)
		report := func() (logistics.Grading, logistics.Metrics, map[string]logistics.CourierReport) {
			rep, err := w.svc.Metrics(firmCtx, w.firm.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			cs := map[string]logistics.CourierReport{}
			for _, c := range rep.Couriers {
				cs[c.CourierCode] = c
			}
			if len(cs) != 2 || cs["C7"].CourierID != w.courier.ID || cs["C8"].CourierID != 0 || cs["C7"].CourierName != "李*" {
				t.Fatalf("couriers %+v", rep.Couriers)
			}
			return logistics.Grading{Grade: rep.Grade, Reasons: rep.Reasons}, rep.Metrics, cs
		}
		g, m, cs := report()
		if g.Grade != logistics.GradeA || m.Violations != 0 || cs["C7"].Grade != logistics.GradeA || cs["C7"].Metrics.Violations != 0 {
			t.Fatalf("before penalties: firm %s %+v, courier %+v", g.Grade, m, cs["C7"])
		}

		recs := &record.Service{Store: db, Subjects: db, Keys: testKeys(t), Clock: w.svc.Clock}
		dept := account.With(ctx, samr)
		person := func(ref, date string) record.Input {
			in := penaltyInput(ref, "警告", "", date)
			delete(in.Fields, "CF_XDR_SHXYM")
			in.Fields["CF_XDR_MC"], in.Fields["id_number"], in.Fields["CF_WFXW"] = "李四", idCourier, "违规收寄"
			return in
		}
		firmPenalty := penaltyInput("承邮罚〔2026〕9号", "罚款", "5000", "2026-02-20")
		firmPenalty.Fields["CF_XDR_MC"], firmPenalty.Fields["CF_XDR_SHXYM"] = w.firm.Name, w.firm.CreditCode
		for _, in := range []record.Input{
			person("承邮罚〔2026〕7号", "2026-02-10"), // in the window
			person("承邮罚〔2025〕3号", "2025-06-01"), // before the window (90 days)
			firmPenalty,
		} {
			if _, err := recs.Ingest(dept, in); err != nil {
				t.Fatalf("penalty %s: %v", in.Fields["CF_WSH"], err)
			}
		}
		g, m, cs = report()
		c7, c8 := cs["C7"], cs["C8"]
		if m.Violations != 1 || g.Grade != logistics.GradeB {
			t.Fatalf("firm after its penalty: %s %+v", g.Grade, m)
		}
		if c7.Metrics.Violations != 1 || c7.Grade != logistics.GradeB || !strings.Contains(strings.Join(c7.Reasons, ";"), "行政处罚 1 次") {
			t.Fatalf("courier after its penalty: %+v", c7)
		}
		if c8.Metrics.Violations != 0 || c8.Grade != logistics.GradeA {
			t.Fatalf("courier known by code only: %+v", c8)
		}
	})
}

// Batches of events in pieces: a parcel's first lines and later ones, in
// one batch and across batches, every line reported with its parcel; a
// batch holding an event stored before is judged per line (that line
// unchanged, the rest stored once, one audit entry); a stale parcel among
// many: all or nothing.
func TestLogisticsEventBatchWrites(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newLogistics(t, db)
		firmCtx := actor(account.RoleLogistics, 5, w.firm.ID, "承德快运")
		const n = 120
		var pin []logistics.ParcelInput
		var wbs []string
		for i := range n {
			wbs = append(wbs, fmt.Sprintf("BW%04d", i))
			pin = append(pin, logistics.ParcelInput{Waybill: wbs[i], Origin: "130802", Dest: "110105"})
		}
		if rs, err := w.svc.IngestParcels(firmCtx, "", pin); err != nil || strings.Contains(statuses(rs), "error") {
			t.Fatalf("parcels: %v", err)
		}
		found, err := db.FindParcels(ctx, w.firm.ID, wbs)
		if err != nil {
			t.Fatal(err)
		}
		at := func(h float64) string { return t0.Add(time.Duration(h * float64(time.Hour))).Format(time.RFC3339) }
		ingest := func(ins []logistics.EventInput, want int) []logistics.Result {
			t.Helper()
			rs, err := w.svc.IngestEvents(firmCtx, "", ins)
			if err != nil || strings.Count(statuses(rs), "created") != want {
				t.Fatalf("events: %d lines, %d created, want %d: %v", len(ins), strings.Count(statuses(rs), "created"), want, err)
			}
			for i, r := range rs {
				if r.Status == logistics.ResultCreated && r.ID != found[ins[i].Waybill].ID {
					t.Fatalf("line %d: id %d, want its parcel's %d", r.Line, r.ID, found[ins[i].Waybill].ID)
				}
			}
			return rs
		}
		countEvents := func() int {
			c := 0
			for _, wb := range wbs {
				evs, err := db.ParcelEvents(ctx, found[wb].ID)
				if err != nil {
					t.Fatal(err)
				}
				c += len(evs)
			}
			return c
		}
		// 263 events, every parcel's first (2 or 3 each), then 37 appended.
		var ins []logistics.EventInput
		for i := range n {
			ins = append(ins, logistics.EventInput{Waybill: wbs[i], Type: "picked_up", At: at(-40)},
				logistics.EventInput{Waybill: wbs[i], Type: "in_transit", At: at(-30)})
		}
		for i := range 23 {
			ins = append(ins, logistics.EventInput{Waybill: wbs[i], Type: "out_for_delivery", At: at(-20)})
		}
		ingest(ins, 263)
		ins = ins[:0]
		for i := range 37 {
			if i < 23 {
				ins = append(ins, logistics.EventInput{Waybill: wbs[i], Type: "signed", At: at(-10), SignedBy: "recipient"})
			} else {
				ins = append(ins, logistics.EventInput{Waybill: wbs[i], Type: "out_for_delivery", At: at(-20)})
			}
		}
		ingest(ins, 37)
		evs, err := db.ParcelEvents(ctx, found[wbs[0]].ID)
		if err != nil || len(evs) != 4 || evs[0].Type != logistics.EventPickedUp || evs[3].Type != logistics.EventSigned || evs[3].Detail != "recipient" ||
			evs[3].AccountID != 5 || evs[3].RecordedAt.IsZero() {
			t.Fatalf("%s: %d events %+v, %v", wbs[0], len(evs), evs, err)
		}
		if countEvents() != 300 {
			t.Fatalf("%d events stored, want 300", countEvents())
		}

		// 300 events of 100 parcels, the 250th (a pickup) stored before.
		ins = ins[:0]
		for i := range 100 {
			for k, kind := range []string{"delayed", "address", "other"} {
				ins = append(ins, logistics.EventInput{Waybill: wbs[i], Type: "exception", Exception: kind, At: at(-9 + float64(k)/10)})
				if len(ins) == 250 {
					ins[len(ins)-1] = logistics.EventInput{Waybill: wbs[i], Type: "picked_up", At: at(-40)}
				}
			}
		}
		audits := auditCount(t, db)
		rs := ingest(ins, 299)
		if rs[249].Status != logistics.ResultUnchanged || countEvents() != 599 || auditCount(t, db) != audits+1 {
			t.Fatalf("line 250 %+v; %d events, %d audit entries", rs[249], countEvents(), auditCount(t, db)-audits)
		}

		// A stale parcel among several: nothing written.
		found2, err := db.FindParcels(ctx, w.firm.ID, wbs[100:103])
		if err != nil {
			t.Fatal(err)
		}
		var batch []*logistics.Event
		var ps []*logistics.Parcel
		for i, wb := range wbs[100:103] {
			p := found2[wb]
			ev := &logistics.Event{ParcelID: p.ID, Type: logistics.EventOutForDelivery, At: mustTime(t, at(-20)), RecordedAt: t0}
			if err := logistics.Apply(p, ev); err != nil {
				t.Fatal(err)
			}
			if i == 1 {
				p.Version--
			}
			batch, ps = append(batch, ev), append(ps, p)
		}
		entry := &audit.Entry{ActorName: "test", Action: audit.ActCreate, Object: "logistics"}
		if err := db.AppendEvents(ctx, batch, ps, entry); !errs.Is(err, errs.Conflict) || countEvents() != 599 ||
			mustParcel(t, db, w.firm.ID, wbs[100]).Version != ps[0].Version {
			t.Fatalf("stale parcel: %v, %d events", err, countEvents())
		}
	})
}

// Two SQLite stores open at once each write their own events (the
// statements the store reuses are those of its own database).
func TestLogisticsEventsTwoStores(t *testing.T) {
	a, b := storetest.Open(t, sqlstore.EngineSQLite), storetest.Open(t, sqlstore.EngineSQLite)
	for round := range 2 {
		for k, db := range []*sqlstore.DB{a, b} {
			firm := mustCreate(t, db, org(t, 95000+10*round+k, registry.KindLogistics, "承德快运有限公司", "130802"))
			p := &logistics.Parcel{FirmID: firm.ID, Waybill: "TS01", Origin: "130802", Dest: "110105", Status: logistics.StatusCreated,
				CreatedAt: t0, UpdatedAt: t0, Version: 1}
			if err := db.SaveParcels(ctx, []*logistics.Parcel{p}, nil); err != nil {
				t.Fatal(err)
			}
			for part := range 2 {
				var evs []*logistics.Event
				for h := range 3 + k*60 {
					ev := &logistics.Event{ParcelID: p.ID, Type: logistics.EventInTransit, At: t0.Add(time.Duration(part*100+h) * time.Minute), RecordedAt: t0}
					_ = logistics.Apply(p, ev)
					evs = append(evs, ev)
				}
				if err := db.AppendEvents(ctx, evs, []*logistics.Parcel{p}, nil); err != nil {
					t.Fatalf("store %d round %d: %v", k, round, err)
				}
			}
			if evs, err := db.ParcelEvents(ctx, p.ID); err != nil || len(evs) != 2*(3+k*60) {
				t.Fatalf("store %d round %d: %d events, %v", k, round, len(evs), err)
			}
		}
	}
}

func mustParcel(t *testing.T, db *sqlstore.DB, firmID int64, wb string) *logistics.Parcel {
	t.Helper()
	ps, err := db.FindParcels(ctx, firmID, []string{wb})
	if err != nil || ps[wb] == nil {
		t.Fatalf("parcel %s: %v", wb, err)
	}
	return ps[wb]
}

func mustTime(t *testing.T, v string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, v)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// lookupCounter records which parcels' stored events the service looks up.
type lookupCounter struct {
	*sqlstore.DB
	looked []int64
}

func (c *lookupCounter) StoredEvents(ctx context.Context, ids []int64) (map[logistics.EventKey]bool, error) {
	c.looked = append(c.looked, ids...)
	return c.DB.StoredEvents(ctx, ids)
}

// The service looks a parcel's stored events up only when its row says an
// event of the batch may be one of them (one at or before its latest
// event, or a complaint when it has some), and still reports resent
// events unchanged.
func TestLogisticsEventsLookupOnlyWhenTheyMayClash(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newLogistics(t, db)
		firmCtx := actor(account.RoleLogistics, 5, w.firm.ID, "承德快运")
		if _, err := w.svc.IngestParcels(firmCtx, "", []logistics.ParcelInput{{Waybill: "LK01", Origin: "130802", Dest: "110105"}}); err != nil {
			t.Fatal(err)
		}
		c := &lookupCounter{DB: db}
		svc := logistics.Service{Store: c, Subjects: w.svc.Subjects, Keys: w.svc.Keys, Clock: w.svc.Clock, Policy: w.svc.Policy}
		at := func(h float64) string { return t0.Add(time.Duration(h * float64(time.Hour))).Format(time.RFC3339) }
		for _, step := range []struct {
			ins    []logistics.EventInput
			want   string
			looked bool
		}{
			{[]logistics.EventInput{{Waybill: "LK01", Type: "picked_up", At: at(-30)}, {Waybill: "LK01", Type: "in_transit", At: at(-20)}}, "created created", false},
			{[]logistics.EventInput{{Waybill: "LK01", Type: "out_for_delivery", At: at(-5)}, {Waybill: "LK01", Type: "complaint", At: at(-4)}}, "created created", false},
			{[]logistics.EventInput{{Waybill: "LK01", Type: "signed", At: at(-2), SignedBy: "proxy"}, {Waybill: "LK01", Type: "in_transit", At: at(-20)}}, "created unchanged", true},
			{[]logistics.EventInput{{Waybill: "LK01", Type: "complaint", At: at(-4)}}, "unchanged", true},
			{[]logistics.EventInput{{Waybill: "LK01", Type: "signed", At: at(-2), SignedBy: "proxy"}}, "unchanged", true},
		} {
			c.looked = nil
			rs, err := svc.IngestEvents(firmCtx, "", step.ins)
			if err != nil || statuses(rs) != step.want || (len(c.looked) > 0) != step.looked {
				t.Fatalf("%+v: %s, looked up %v, %v", step.ins, statuses(rs), c.looked, err)
			}
		}
		if p := mustParcel(t, db, w.firm.ID, "LK01"); p.Events != 5 || p.Complaints != 1 || p.Status != logistics.EventSigned {
			t.Fatalf("parcel %+v", p)
		}
	})
}

// FindParcels returns every field as stored, whatever the number of
// waybills asked for (SQLite: IN lists padded to a few lengths, chunks of
// 500, rows read as JSON) and whatever the text holds.
func TestFindParcelsListsAndText(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		firm := mustCreate(t, db, org(t, 96001, registry.KindLogistics, "承德快运有限公司", "130802"))
		var ps []*logistics.Parcel
		for i := range 520 {
			ps = append(ps, &logistics.Parcel{FirmID: firm.ID, Waybill: fmt.Sprintf("FP%04d", i), WeightG: int64(i), Origin: "130802",
				Dest: "110105", CourierCode: fmt.Sprintf("C%d", i), PromisedAt: t0.Add(time.Duration(i) * time.Hour), Status: logistics.StatusCreated,
				CreatedAt: t0, UpdatedAt: t0.Add(time.Duration(i) * time.Second), Version: 1})
		}
		odd := ps[7]
		odd.CourierCode, odd.SignedBy, odd.Status = `张"三\ 1`+"\u00e9", "proxy", logistics.EventSigned
		odd.SignedAt, odd.PickedAt, odd.Lost, odd.Exceptions, odd.Events = t0.Add(-time.Hour), t0.Add(-9*time.Hour), true, 2, 5
		if err := db.SaveParcels(ctx, ps, nil); err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 1, 2, 11, 250, 251, 501, 520} {
			var wbs []string
			for i := range n {
				wbs = append(wbs, ps[i].Waybill)
			}
			wbs = append(wbs, "NOPE", "FP0000")
			got, err := db.FindParcels(ctx, firm.ID, wbs)
			if err != nil || len(got) != max(n, 1) { // FP0000 asked for twice
				t.Fatalf("%d waybills: %d found, %v", n, len(got), err)
			}
			for i := range n {
				if g, w := got[ps[i].Waybill], ps[i]; g == nil || g.ID != w.ID || g.WeightG != w.WeightG || g.CourierCode != w.CourierCode ||
					!g.PromisedAt.Equal(w.PromisedAt) || g.Version != w.Version {
					t.Fatalf("%s: got %+v, want %+v", w.Waybill, g, w)
				}
			}
		}
		got, err := db.FindParcels(ctx, firm.ID, []string{odd.Waybill})
		if g := got[odd.Waybill]; err != nil || g == nil || g.CourierCode != odd.CourierCode || g.SignedBy != "proxy" || g.Status != logistics.EventSigned ||
			!g.SignedAt.Equal(odd.SignedAt) || !g.StartedAt.Equal(odd.StartedAt) || !g.PickedAt.Equal(odd.PickedAt) || !g.Lost || g.Exceptions != 2 || g.Events != 5 {
			t.Fatalf("odd parcel: %+v, %v", g, err)
		}
		if got, err := db.FindParcels(ctx, firm.ID+1, []string{odd.Waybill}); err != nil || len(got) != 0 {
			t.Fatalf("another firm's: %v, %v", got, err)
		}
		// ParcelStates: the same parcels, their state as FindParcels reads
		// it, the fields judging needs not left zero.
		var all []string
		for _, p := range ps {
			all = append(all, p.Waybill)
		}
		full, err := db.FindParcels(ctx, firm.ID, all)
		if err != nil {
			t.Fatal(err)
		}
		states, err := db.ParcelStates(ctx, firm.ID, append(all, "NOPE"))
		if err != nil || len(states) != len(ps) {
			t.Fatalf("states: %d of %d, %v", len(states), len(ps), err)
		}
		for wb, f := range full {
			want := *f
			want.WeightG, want.Origin, want.Dest, want.CourierID, want.CourierCode, want.PromisedAt = 0, "", "", 0, "", time.Time{}
			if g := states[wb]; g == nil || !reflect.DeepEqual(*g, want) {
				t.Fatalf("state of %s: %+v, want %+v", wb, g, want)
			}
		}
	})
}

// Two connections sending the same batch at once: every event is stored
// once, each line is created in one of the two answers and unchanged in
// the other, and each parcel's state is written once.
func TestLogisticsEventsSentTwiceAtOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newLogistics(t, db)
		firmCtx := actor(account.RoleLogistics, 5, w.firm.ID, "承德快运")
		at := func(h float64) string { return t0.Add(time.Duration(h * float64(time.Hour))).Format(time.RFC3339) }
		for round := range 8 {
			var pin []logistics.ParcelInput
			var ins []logistics.EventInput
			for i := range 50 {
				wb := fmt.Sprintf("TW%d-%02d", round, i)
				pin = append(pin, logistics.ParcelInput{Waybill: wb, Origin: "130802", Dest: "110105"})
				ins = append(ins, logistics.EventInput{Waybill: wb, Type: "picked_up", At: at(-30)},
					logistics.EventInput{Waybill: wb, Type: "in_transit", At: at(-20)},
					logistics.EventInput{Waybill: wb, Type: "out_for_delivery", At: at(-5)},
					logistics.EventInput{Waybill: wb, Type: "signed", At: at(-4), SignedBy: "locker"})
			}
			if _, err := w.svc.IngestParcels(firmCtx, "", pin); err != nil {
				t.Fatal(err)
			}
			// From round 3 on, the second sender has the parcels in the
			// opposite order (each parcel's events still in order): the
			// two transactions then take the same row and key locks in
			// opposite orders, which PostgreSQL may break as a deadlock;
			// that is a conflict the service judges again, never a
			// failed batch.
			sends := [2][]logistics.EventInput{ins, ins}
			if round >= 3 {
				var rev []logistics.EventInput
				for i := len(ins) - 4; i >= 0; i -= 4 {
					rev = append(rev, ins[i:i+4]...)
				}
				sends[1] = rev
			}
			var rs [2][]logistics.Result
			var errs2 [2]error
			start := make(chan struct{})
			done := make(chan int)
			for k := range 2 {
				go func() {
					<-start
					rs[k], errs2[k] = w.svc.IngestEvents(firmCtx, "", sends[k])
					done <- k
				}()
			}
			close(start)
			<-done
			<-done
			created := map[string]int{}
			for k := range 2 {
				if errs2[k] != nil || len(rs[k]) != len(ins) {
					t.Fatalf("round %d, sender %d: %v", round, k, errs2[k])
				}
				for i, r := range rs[k] {
					switch r.Status {
					case logistics.ResultCreated:
						created[sends[k][i].Waybill+"/"+sends[k][i].Type]++
					case logistics.ResultUnchanged:
					default:
						t.Fatalf("round %d, sender %d, line %d: %s %v", round, k, i+1, r.Status, r.Err)
					}
				}
			}
			for _, in := range ins {
				if n := created[in.Waybill+"/"+in.Type]; n != 1 {
					t.Fatalf("round %d: %s %s created %d times", round, in.Waybill, in.Type, n)
				}
			}
			for _, p := range pin {
				got := mustParcel(t, db, w.firm.ID, p.Waybill)
				evs, err := db.ParcelEvents(ctx, got.ID)
				if err != nil || len(evs) != 4 || got.Events != 4 || got.Version != 2 || got.Status != logistics.EventSigned {
					t.Fatalf("round %d %s: %d events, parcel %+v, %v", round, p.Waybill, len(evs), got, err)
				}
			}
		}
	})
}

// aggregateCounter counts the store's firm-wide aggregations.
type aggregateCounter struct {
	logistics.Store
	n atomic.Int64
}

func (c *aggregateCounter) Aggregate(ctx context.Context, firmID int64, w logistics.Window) (logistics.Counts, error) {
	c.n.Add(1)
	return c.Store.Aggregate(ctx, firmID, w)
}

// AggregateCouriers adds the firm's parcels up too (with its couriers').
func (c *aggregateCounter) AggregateCouriers(ctx context.Context, firmID int64, w logistics.Window, limit int) (logistics.Counts, []logistics.CourierCounts, error) {
	c.n.Add(1)
	return c.Store.AggregateCouriers(ctx, firmID, w, limit)
}

// TestLogisticsGradeCountsKept: the public grade adds a firm's parcels up
// once per logistics.CountsTTL (once for concurrent callers), afresh after
// an ingest of the firm's parcels or events through the service, and
// after the TTL for writes it did not see; the firm's own report is always
// fresh.
func TestLogisticsGradeCountsKept(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newLogistics(t, db)
		counter := &aggregateCounter{Store: db}
		clk := clock.NewFake(t0)
		w.svc = &logistics.Service{Store: counter, Subjects: db, Keys: testKeys(t), Clock: clk}
		firmCtx := actor(account.RoleLogistics, 5, w.firm.ID, "承德快运")
		parcels := func(from, n int) ([]logistics.ParcelInput, []logistics.EventInput) {
			var ps []logistics.ParcelInput
			var evs []logistics.EventInput
			for i := from; i < from+n; i++ {
				wb := fmt.Sprintf("KC%04d", i)
				start := t0.Add(-time.Duration(100+i) * time.Hour)
				ps = append(ps, logistics.ParcelInput{Waybill: wb, Origin: "130802", Dest: "130821", PromisedAt: start.Add(48 * time.Hour).Format(time.RFC3339)})
				evs = append(evs, logistics.EventInput{Waybill: wb, Type: "picked_up", At: start.Format(time.RFC3339)},
					logistics.EventInput{Waybill: wb, Type: "signed", SignedBy: "recipient", At: start.Add(20 * time.Hour).Format(time.RFC3339)})
			}
			return ps, evs
		}
		ps, evs := parcels(0, 40)
		w.ingestAll(t, firmCtx, ps, evs)
		grade := func(want int) *logistics.Public {
			t.Helper()
			var wg sync.WaitGroup
			out := make([]*logistics.Public, 4)
			for i := range out {
				wg.Go(func() {
					var err error
					if out[i], err = w.svc.PublicGrade(ctx, w.firm); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			for _, g := range out[1:] {
				if g.Metrics != out[0].Metrics {
					t.Fatalf("concurrent grades differ: %+v and %+v", g.Metrics, out[0].Metrics)
				}
			}
			if out[0].Metrics.Parcels != want {
				t.Fatalf("grade counts %d parcels, want %d", out[0].Metrics.Parcels, want)
			}
			return out[0]
		}
		sums := func(want int64) {
			t.Helper()
			if got := counter.n.Load(); got != want {
				t.Fatalf("%d aggregations, want %d", got, want)
			}
		}
		g := grade(40)
		sums(1)
		if grade(40).Grade != g.Grade {
			t.Fatal("the kept grade changed")
		}
		sums(1)
		// An ingest through the service: added up afresh.
		ps, evs = parcels(40, 2)
		w.ingestAll(t, firmCtx, ps, evs)
		grade(42)
		sums(2)
		// A write the service did not see counts once the TTL is past.
		if err := db.SaveParcels(ctx, []*logistics.Parcel{{FirmID: w.firm.ID, Waybill: "KC-DIRECT", Origin: "130802", Dest: "130821",
			Status: logistics.StatusCreated, StartedAt: t0.Add(-time.Hour), CreatedAt: t0.Add(-time.Hour), UpdatedAt: t0.Add(-time.Hour), Version: 1}}, nil); err != nil {
			t.Fatal(err)
		}
		grade(42)
		sums(2)
		clk.Advance(logistics.CountsTTL)
		grade(43)
		sums(3)
		// The firm's report is fresh every time.
		for i := range 2 {
			if rep, err := w.svc.Metrics(firmCtx, w.firm.ID, 0); err != nil || rep.Metrics.Parcels != 43 {
				t.Fatalf("report: %v %+v", err, rep)
			}
			sums(int64(4 + i))
		}
	})
}

// TestAggregateCouriersAddsUp: the report's one pass gives the firm's
// counts exactly as Aggregate does (parcels without a courier included)
// and its couriers, busiest first, cut at the limit. The parcels start
// all over the 30-day window, one of them at its middle, so that on
// SQLite, which counts the window's parts apart (one a core), every
// courier's counts are summed across parts.
func TestAggregateCouriersAddsUp(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newLogistics(t, db)
		firmCtx := actor(account.RoleLogistics, 5, w.firm.ID, "承德快运")
		var ps []logistics.ParcelInput
		var evs []logistics.EventInput
		for i := range 30 {
			wb := fmt.Sprintf("AC%04d", i)
			start := t0.Add(-time.Duration(50+23*i) * time.Hour)
			if i == 13 {
				start = t0.Add(-15 * 24 * time.Hour) // the window's middle: where two parts meet
			}
			courier := ""
			if i%10 != 0 { // every tenth without a courier
				courier = fmt.Sprintf("C%02d", i%4) // C01 8 parcels, C03 7, C00 and C02 6
			}
			ps = append(ps, logistics.ParcelInput{Waybill: wb, Origin: "130802", Dest: "130821", Courier: courier,
				PromisedAt: start.Add(48 * time.Hour).Format(time.RFC3339)})
			evs = append(evs, logistics.EventInput{Waybill: wb, Type: "picked_up", At: start.Format(time.RFC3339)})
			if i%3 != 0 {
				evs = append(evs, logistics.EventInput{Waybill: wb, Type: "signed", SignedBy: "recipient", At: start.Add(time.Duration(20+i%40) * time.Hour).Format(time.RFC3339)})
			}
		}
		w.ingestAll(t, firmCtx, ps, evs)
		win := logistics.Window{From: t0.Add(-30 * 24 * time.Hour), To: t0, StaleBefore: t0.Add(-72 * time.Hour)}
		want, err := db.Aggregate(ctx, w.firm.ID, win)
		if err != nil {
			t.Fatal(err)
		}
		total, cs, err := db.AggregateCouriers(ctx, w.firm.ID, win, 2)
		if err != nil {
			t.Fatal(err)
		}
		if total != want || want.Parcels != 30 || want.Delivered != 20 {
			t.Fatalf("one pass %+v, Aggregate %+v", total, want)
		}
		if len(cs) != 2 || cs[0].CourierCode != "C01" || cs[0].Parcels != 8 || cs[1].CourierCode != "C03" || cs[1].Parcels != 7 {
			t.Fatalf("couriers %+v", cs)
		}
	})
}
