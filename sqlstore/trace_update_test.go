package sqlstore_test

import (
	"encoding/json"
	"slices"
	"testing"

	"ecredit/account"
	"ecredit/errs"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trace"
	"ecredit/trade"
)

func TestTraceUpdateProductAndBatch(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTraceWorld(t, db)
		g := gtin13(t, "690123456789")
		p, _, err := w.svc.CreateProduct(w.dept, trace.ProductInput{GTIN: g, Name: "山楂糕", Category: "food", ProducerCode: w.producer.CreditCode})
		if err != nil || p.Version != 1 {
			t.Fatalf("create: %v %+v", err, p)
		}
		other := actor(account.RoleAgency, 16, w.seller1.ID, "双桥区好味食品店")

		// Products: who may, what is checked.
		_, err = w.svc.UpdateProduct(w.public, g, trace.ProductPatch{Name: ptr("x")})
		wantCode(t, err, errs.Unauthorized, "-")
		_, err = w.svc.UpdateProduct(w.platformA, g, trace.ProductPatch{Name: ptr("x")})
		wantCode(t, err, errs.Forbidden, "-")
		_, err = w.svc.UpdateProduct(other, g, trace.ProductPatch{Name: ptr("x")})
		wantCode(t, err, errs.Forbidden, "-")
		_, err = w.svc.UpdateProduct(w.produce, g[:12]+"0", trace.ProductPatch{Name: ptr("x")})
		if g[12] != '0' {
			wantCode(t, err, errs.Invalid, "gtin")
		}
		_, err = w.svc.UpdateProduct(w.produce, gtin13(t, "690123456788"), trace.ProductPatch{Name: ptr("x")})
		wantCode(t, err, errs.NotFound, "-")
		_, err = w.svc.UpdateProduct(w.produce, g, trace.ProductPatch{Name: ptr("  "), Category: ptr("玩具")})
		if l := errs.All(err); len(l) != 2 || errs.FieldOf(l[0]) != "name" || errs.FieldOf(l[1]) != "category" {
			t.Fatalf("bad name and category: %v", err)
		}
		_, err = w.svc.UpdateProduct(w.produce, g, trace.ProductPatch{})
		wantCode(t, err, errs.Invalid, "")
		before := auditCount(t, db)
		up, err := w.svc.UpdateProduct(w.produce, g, trace.ProductPatch{Name: ptr("山楂糕（礼盒）"), Category: ptr("农产品"), Spec: ptr("1kg"), Version: 1})
		if err != nil || up.Version != 2 || up.Category != "agricultural" {
			t.Fatalf("update: %v %+v", err, up)
		}
		if n := auditCount(t, db); n != before+1 {
			t.Errorf("audit entries: %d, want %d", n, before+1)
		}
		got, err := db.GetProduct(ctx, g)
		if err != nil || got.Name != "山楂糕（礼盒）" || got.Spec != "1kg" || got.Version != 2 || got.ProducerID != w.producer.ID {
			t.Fatalf("stored: %v %+v", err, got)
		}
		_, err = w.svc.UpdateProduct(w.dept, g, trace.ProductPatch{Brand: ptr("山庄"), Version: 1})
		wantCode(t, err, errs.Conflict, "version")
		// The store refuses a write over a version it no longer has.
		got.Version = 1
		wantCode(t, db.UpdateProduct(ctx, got, nil), errs.Conflict, "version")

		// Batches.
		b, _, err := w.svc.CreateBatch(w.dept, trace.BatchInput{GTIN: g, Batch: "L1", ProducedOn: "2026-02-01", ExpiresOn: "2026-08-01", Quantity: 100})
		if err != nil || b.Version != 1 {
			t.Fatalf("batch: %v %+v", err, b)
		}
		if _, err := w.svc.IngestEvent(w.dept, trace.EventInput{EventID: "p1", Type: trace.EventProduced, GTIN: g, Batch: "L1",
			Time: "2026-02-02T10:00:00+08:00"}); err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.UpdateBatch(w.platformA, g, "L1", trace.BatchPatch{Quantity: ptr[int64](5)})
		wantCode(t, err, errs.Forbidden, "-")
		_, err = w.svc.UpdateBatch(w.produce, g, "NOPE", trace.BatchPatch{Quantity: ptr[int64](5)})
		wantCode(t, err, errs.NotFound, "-")
		_, err = w.svc.UpdateBatch(w.produce, g, "L1", trace.BatchPatch{Quantity: ptr[int64](-1)})
		wantCode(t, err, errs.Invalid, "quantity")
		_, err = w.svc.UpdateBatch(w.produce, g, "L1", trace.BatchPatch{ProducedOn: ptr("2099-01-01")})
		wantCode(t, err, errs.Invalid, "produced_on")
		_, err = w.svc.UpdateBatch(w.produce, g, "L1", trace.BatchPatch{ExpiresOn: ptr("2026-01-01")})
		wantCode(t, err, errs.Invalid, "expires_on")
		_, err = w.svc.UpdateBatch(w.produce, g, "L1", trace.BatchPatch{ExpiresOn: ptr("2026-13-01")})
		wantCode(t, err, errs.Invalid, "expires_on")
		// The produced event is on 2 February: production cannot move after it.
		_, err = w.svc.UpdateBatch(w.produce, g, "L1", trace.BatchPatch{ProducedOn: ptr("2026-02-03")})
		wantCode(t, err, errs.Invalid, "produced_on")
		nb, err := w.svc.UpdateBatch(w.produce, g, "L1", trace.BatchPatch{ProducedOn: ptr("2026-01-30"), ExpiresOn: ptr(""), Quantity: ptr[int64](120), Version: 1})
		if err != nil || nb.Version != 2 || nb.ProducedOn != "2026-01-30" || nb.ExpiresOn != "" || nb.Quantity != 120 {
			t.Fatalf("update batch: %v %+v", err, nb)
		}
		if sb, err := db.GetBatch(ctx, g, "L1"); err != nil || sb.Version != 2 || sb.Quantity != 120 || sb.ExpiresOn != "" {
			t.Fatalf("stored batch: %v %+v", err, sb)
		}
		_, err = w.svc.UpdateBatch(w.dept, g, "L1", trace.BatchPatch{Quantity: ptr[int64](1), Version: 1})
		wantCode(t, err, errs.Conflict, "version")
		// A recall bumps the version and freezes the batch.
		if _, err := w.svc.Recall(w.dept, g, "L1", trace.RecallInput{Reason: "标签错误"}); err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.UpdateBatch(w.dept, g, "L1", trace.BatchPatch{Quantity: ptr[int64](1), Version: 3})
		wantCode(t, err, errs.Conflict, "batch")
		sb, _ := db.GetBatch(ctx, g, "L1")
		wantCode(t, db.UpdateBatch(ctx, sb, trace.NoLineageCheck, nil), errs.Conflict, "version")
	})
}

// TestTraceReachKept: the reach of a big batch is kept between traces and
// stays exact as orders come in, also when an order is committed late
// with a lower id than the last one summed.
func TestTraceReachKept(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTraceWorld(t, db)
		g := gtin13(t, "690123456789")
		if _, _, err := w.svc.CreateProduct(w.dept, trace.ProductInput{GTIN: g, Name: "山楂糕", Category: "food", ProducerCode: w.producer.CreditCode}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.svc.CreateBatch(w.dept, trace.BatchInput{GTIN: g, Batch: "HOT", ProducedOn: "2026-01-01"}); err != nil {
			t.Fatal(err)
		}
		seedBatchOrders(t, db, w, g, "HOT", 800) // 1 200 orders, 1 201 lines: kept
		want := func(name string, orders, platformA int64) {
			t.Helper()
			ft, err := w.svc.Forward(w.dept, g, "HOT", 0, 10)
			if err != nil || ft.Reach.Orders != orders {
				t.Fatalf("%s: %v orders %d, want %d", name, err, ft.Reach.Orders, orders)
			}
			fa, err := w.svc.Forward(w.platformA, g, "HOT", 0, 10)
			if err != nil || fa.Reach.Orders != platformA || len(fa.Reach.Platforms) != 1 {
				t.Fatalf("%s: platform A %v %+v, want %d", name, err, fa.Reach, platformA)
			}
			// A restarted service starts from the reach kept in the store;
			// one with nothing kept anywhere sums from scratch: the same
			// answer all three ways.
			// "parallel" sums from scratch in parts over ranges of order
			// ids, at once (a part per 100 order items, as many as there
			// are cores).
			for _, how := range []string{"restarted", "scratch", "parallel"} {
				if how != "restarted" {
					if _, err := db.WriterDB().ExecContext(ctx, "DELETE FROM trace_reach"); err != nil {
						t.Fatal(err)
					}
				}
				fresh := &trace.Service{Store: db, Subjects: db, Records: db, Clock: w.clk}
				if how == "parallel" {
					fresh.ReachChunk = 100
				}
				ff, err := fresh.Forward(w.dept, g, "HOT", 0, 10)
				if err != nil || ff.Reach.Orders != ft.Reach.Orders || ff.Reach.Quantity != ft.Reach.Quantity || len(ff.Reach.Regions) != len(ft.Reach.Regions) {
					t.Fatalf("%s: kept %+v, %s %+v", name, ft.Reach, how, ff.Reach)
				}
				for i, r := range ft.Reach.Regions {
					if ff.Reach.Regions[i] != r {
						t.Fatalf("%s: region %d kept %+v %s %+v", name, i, r, how, ff.Reach.Regions[i])
					}
				}
			}
		}
		kept := func() (lines int64) {
			t.Helper()
			err := db.WriterDB().QueryRowContext(ctx, "SELECT lines FROM trace_reach").Scan(&lines)
			if err != nil {
				t.Fatal(err)
			}
			return lines
		}
		want("seeded", 1200, 800)
		if n := kept(); n != 1201 {
			t.Fatalf("kept in the store: %d lines, want 1201", n)
		}
		// The kept reach is what a restarted service starts from: an
		// order's region changed behind the store's back (no path of the
		// application changes it) is not seen until the batch is summed
		// again from scratch.
		var first int64
		if err := db.WriterDB().QueryRowContext(ctx, "SELECT MIN(id) FROM orders").Scan(&first); err != nil {
			t.Fatal(err)
		}
		region := func() string {
			var r string
			if err := db.WriterDB().QueryRowContext(ctx, db.Dialect().Rebind("SELECT region FROM orders WHERE id = ?"), first).Scan(&r); err != nil {
				t.Fatal(err)
			}
			return r
		}
		was := region()
		setRegion := func(r string) {
			t.Helper()
			if _, err := db.WriterDB().ExecContext(ctx, db.Dialect().Rebind("UPDATE orders SET region = ? WHERE id = ?"), r, first); err != nil {
				t.Fatal(err)
			}
		}
		setRegion("130804")
		has804 := func(svc *trace.Service) bool {
			ft, err := svc.Forward(w.dept, g, "HOT", 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range ft.Reach.Regions {
				if r.Region == "130804" {
					return true
				}
			}
			return false
		}
		if has804(&trace.Service{Store: db, Subjects: db, Records: db, Clock: w.clk}) {
			t.Error("a restarted service summed the batch again instead of starting from the kept reach")
		}
		if _, err := db.WriterDB().ExecContext(ctx, db.Dialect().Rebind("UPDATE trace_reach SET sums = ?"), []byte{9, 9}); err != nil {
			t.Fatal(err)
		}
		if !has804(&trace.Service{Store: db, Subjects: db, Records: db, Clock: w.clk}) {
			t.Error("a kept reach that does not decode was used")
		}
		setRegion(was)
		if _, err := db.WriterDB().ExecContext(ctx, "DELETE FROM trace_reach"); err != nil {
			t.Fatal(err)
		}
		want("region back", 1200, 800)
		// More orders of platform A, one to a new region.
		last := storetest.InsertOrders(t, db, 3, func(i int) storetest.Order {
			return storetest.Order{PlatformID: w.platA.ID, ShopID: w.shopA1.ID, SellerID: w.seller1.ID, Region: []string{"130802", "130803", "130802"}[i],
				PaidAt: t0, Items: []storetest.Item{{GTIN: g, Batch: "HOT", Quantity: 2, PriceFen: 100}}}
		}) + 2
		want("three more", 1203, 803)
		// An order committed late under a lower id than the last summed
		// (as a PostgreSQL sequence allows): it must be counted too.
		editItems(t, db, last-1, func(items []trade.Item) []trade.Item { return nil })
		want("one line gone", 1202, 802)
		editItems(t, db, last-1, func(items []trade.Item) []trade.Item {
			return []trade.Item{{Line: 1, GTIN: g, Batch: "HOT", Quantity: 1, PriceFen: 100}}
		})
		want("late line", 1203, 803)
		// An early order loses its second line of the batch: the count up
		// to the kept reach's last order changes, in memory and in the
		// store, and both are summed again.
		if n := kept(); n != 1204 {
			t.Fatalf("kept in the store: %d lines, want 1204", n)
		}
		editItems(t, db, first, func(items []trade.Item) []trade.Item {
			return slices.DeleteFunc(items, func(it trade.Item) bool { return it.Line == 2 })
		})
		var orders, quantity int64
		if err := db.WriterDB().QueryRowContext(ctx, db.Dialect().Rebind(`SELECT COUNT(DISTINCT order_id), SUM(quantity) FROM order_items
			WHERE gtin = ? AND batch = 'HOT'`), g).Scan(&orders, &quantity); err != nil {
			t.Fatal(err)
		}
		restarted := &trace.Service{Store: db, Subjects: db, Records: db, Clock: w.clk}
		if ft, err := restarted.Forward(w.dept, g, "HOT", 0, 10); err != nil || ft.Reach.Orders != orders || ft.Reach.Quantity != quantity {
			t.Fatalf("restarted after an early line went: %v %+v, want %d orders, %d units", err, ft.Reach, orders, quantity)
		}
		want("early line gone", 1203, 803)
		if n := kept(); n != 1203 {
			t.Fatalf("kept in the store after the recount: %d lines, want 1203", n)
		}
	})
}

// editItems rewrites the items stored in order id's row (00024) as edit
// returns them, behind the store's back.
func editItems(t *testing.T, db *sqlstore.DB, id int64, edit func([]trade.Item) []trade.Item) {
	t.Helper()
	var text string
	if err := db.WriterDB().QueryRowContext(ctx, db.Dialect().Rebind("SELECT items FROM orders WHERE id = ?"), id).Scan(&text); err != nil {
		t.Fatal(err)
	}
	var rows [][]any
	if err := json.Unmarshal([]byte(text), &rows); err != nil {
		t.Fatal(err)
	}
	var items []trade.Item
	for _, r := range rows {
		items = append(items, trade.Item{Line: int(r[0].(float64)), GTIN: r[1].(string), Batch: r[2].(string), Name: r[3].(string),
			Category: r[4].(string), Quantity: int(r[5].(float64)), PriceFen: int64(r[6].(float64))})
	}
	if _, err := db.WriterDB().ExecContext(ctx, db.Dialect().Rebind("UPDATE orders SET items = ? WHERE id = ?"), sqlstore.ItemsText(edit(items)), id); err != nil {
		t.Fatal(err)
	}
}
