package sqlstore_test

import (
	"fmt"
	"testing"
	"time"

	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trace"
)

// TestTraceWarmReach: warming follows the orders step by step and keeps
// the reach of each registered batch of at least 1000 order items (in the
// store, so a restarted service starts from it), not of a small batch nor
// of orders naming an unregistered batch; a step with no new orders does
// nothing; the warmed reach answers the forward trace exactly.
func TestTraceWarmReach(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTraceWorld(t, db)
		hot := w.productBatch(t, "690400000001", "HOT", "2026-01-01")
		small := w.productBatch(t, "690400000002", "SMALL", "2026-01-01")
		seed := func(prefix, gtin, batch string, n int) {
			t.Helper()
			storetest.InsertOrders(t, db, n, func(i int) storetest.Order {
				return storetest.Order{PlatformID: w.platA.ID, ShopID: w.shopA1.ID, SellerID: w.seller1.ID, Region: "130802",
					PaidAt: t0.Add(time.Duration(i) * time.Minute), OrderNo: fmt.Sprintf("%s-%d", prefix, i),
					Items: []storetest.Item{{GTIN: gtin, Batch: batch, Name: "山楂糕", Category: "食品", Quantity: 1, PriceFen: 1590}}}
			})
		}
		seed("H", hot, "HOT", 1050)    // 1050 lines: warmed
		seed("S", small, "SMALL", 150) // not
		seed("N", hot, "NOBODY", 10)   // a batch nobody registered
		keptLines := func() map[string]int64 {
			t.Helper()
			out := map[string]int64{}
			rows, err := db.WriterDB().QueryContext(ctx, "SELECT batch_key, lines FROM trace_reach")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var k string
				var n int64
				if err := rows.Scan(&k, &n); err != nil {
					t.Fatal(err)
				}
				out[k] = n
			}
			return out
		}
		var after int64
		steps, warmed := 0, 0
		for ; steps < 10; steps++ {
			upto, n, err := w.svc.WarmReach(ctx, after)
			if err != nil {
				t.Fatal(err)
			}
			warmed += n
			if upto == after {
				break
			}
			after = upto
		}
		if warmed != 1 || steps != 1 {
			t.Fatalf("warmed %d batches in %d steps, want 1 in 1", warmed, steps)
		}
		k := keptLines()
		if len(k) != 1 {
			t.Fatalf("kept: %v", k)
		}
		for key, n := range k {
			if n != 1050 || key != hot+",0"+hot+"/HOT" {
				t.Fatalf("kept %s with %d lines, want %s/HOT with 1050", key, n, hot)
			}
		}
		// A fresh service answers from the warmed entry, exactly.
		fresh := &trace.Service{Store: db, Subjects: db, Records: db, Clock: w.clk}
		ft, err := fresh.Forward(w.dept, hot, "HOT", 0, 10)
		if err != nil || ft.Reach.Orders != 1050 {
			t.Fatalf("forward from the warmed reach: %v %+v", err, ft.Reach)
		}
		// More orders: the next step takes only them.
		seed("H2", hot, "HOT", 150)
		upto, n, err := w.svc.WarmReach(ctx, after)
		if err != nil || n != 1 || upto <= after {
			t.Fatalf("second step: %v warmed %d, upto %d after %d", err, n, upto, after)
		}
		if upto2, n, err := w.svc.WarmReach(ctx, upto); err != nil || n != 0 || upto2 != upto {
			t.Fatalf("nothing new: %v warmed %d, upto %d", err, n, upto2)
		}
		if ft, err := w.svc.Forward(w.dept, hot, "HOT", 0, 10); err != nil || ft.Reach.Orders != 1200 {
			t.Fatalf("forward after the second step: %v %+v", err, ft.Reach)
		}
	})
}
