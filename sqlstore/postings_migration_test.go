package sqlstore_test

import (
	"fmt"
	"testing"

	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trade"
)

// Migration 00022 moves the forward trace from an index of order_items
// to batch postings and back. Down to 00021 every order item is still in
// order_items (on SQLite rebuilt as a rowid table); an order written then,
// the way the previous release writes it, is traced after the way up
// (every order stored before 00022 is pending until indexed), and
// indexing leaves every item in exactly one posting.
func TestBatchPostingsMigration(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTraceWorld(t, db)
		db.SetIndexEvery(0)
		g := gtin13(t, "690123456005")
		n := 0
		create := func(k int) {
			t.Helper()
			var os []*trade.Order
			for range k {
				n++
				os = append(os, &trade.Order{PlatformID: w.platA.ID, ShopID: w.shopA1.ID, SellerID: w.seller1.ID, OrderNo: fmt.Sprintf("MIG-%d", n),
					Buyer: "b", AmountFen: 100, Region: "130802", Status: trade.StatusPaid, PaidAt: t0,
					Items: []trade.Item{{Line: 1, GTIN: g, Batch: "M1", Quantity: 2, PriceFen: 50}, {Line: 2, GTIN: g, Batch: fmt.Sprintf("M%d", 2+n%2), Quantity: 1, PriceFen: 10}}})
			}
			if _, err := db.CreateOrders(ctx, os, nil); err != nil {
				t.Fatal(err)
			}
		}
		create(5)
		if _, err := db.IndexOrders(ctx); err != nil {
			t.Fatal(err)
		}
		create(4) // pending with its items
		stored := func() map[string]int64 {
			out := map[string]int64{}
			rows, err := db.ReaderDB().QueryContext(ctx, "SELECT batch, SUM(quantity) FROM order_items GROUP BY batch")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var b string
				var q int64
				if err := rows.Scan(&b, &q); err != nil {
					t.Fatal(err)
				}
				out[b] = q
			}
			return out
		}
		traced := func(when string, batch string, orders, quantity int64) {
			t.Helper()
			gs, err := db.ReachGroups(ctx, []string{g}, batch, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			var o, q int64
			for _, x := range gs {
				o += x.Orders
				q += x.Quantity
			}
			if o != orders || q != quantity {
				t.Fatalf("%s: %s traced to %d orders, %d units; want %d, %d", when, batch, o, q, orders, quantity)
			}
		}
		traced("before", "M1", 9, 18)
		before := stored()
		if err := db.MigrateTo(ctx, 21); err != nil {
			t.Fatalf("down to 21: %v", err)
		}
		if after := stored(); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("order items down at 21: %v, before %v", after, before)
		}
		// The previous release writes an order and its items.
		d := db.Dialect()
		var id int64
		if err := db.WriterDB().QueryRowContext(ctx, d.Rebind(`INSERT INTO orders (platform_id, shop_id, seller_id, order_no, buyer, amount_fen,
			region, status, paid_at, created_at, updated_at) VALUES (?, ?, ?, 'MIG-OLD', 'b', 100, '130802', 'paid', 1, 1, 1) RETURNING id`),
			w.platA.ID, w.shopA1.ID, w.seller1.ID).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if _, err := db.WriterDB().ExecContext(ctx, d.Rebind(`INSERT INTO order_items (order_id, line, gtin, batch, quantity, price_fen)
			VALUES (?, 1, ?, 'M1', 7, 10)`), id, g); err != nil {
			t.Fatal(err)
		}
		_, latest, err := db.MigrationVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.MigrateTo(ctx, latest); err != nil {
			t.Fatalf("up again: %v", err)
		}
		traced("up again, pending", "M1", 10, 25)
		traced("up again, pending", "M2", 4, 4)
		if _, err := db.IndexOrders(ctx); err != nil {
			t.Fatal(err)
		}
		traced("indexed", "M1", 10, 25)
		checkIndexed(t, db)
		create(2) // the store writes on as before
		traced("and on", "M1", 12, 29)
	})
}
