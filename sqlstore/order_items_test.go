package sqlstore_test

import (
	"fmt"
	"reflect"
	"testing"

	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trade"
)

// An order's items live in its row (migration 00024). They read back as
// written, whatever their text holds, by order number and by the backward
// trace; down to 00023 they are rows of order_items again, and an order
// the previous release writes there reads back after the way up, its
// items turned into the row's text by SQL (json_group_array on SQLite,
// json_agg on PostgreSQL, with spaces).
func TestOrderLinesMigration(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTraceWorld(t, db)
		g := gtin13(t, "690123456006")
		names := []string{`承德"山楂"干 500g`, `back\slash / 斜杠`, "tab\there", "emoji 🍒", ""}
		var nos []string
		want := map[string][]trade.Item{}
		var os []*trade.Order
		for i, name := range names {
			no := fmt.Sprintf("LINES-%d", i)
			o := &trade.Order{PlatformID: w.platA.ID, ShopID: w.shopA1.ID, SellerID: w.seller1.ID, OrderNo: no,
				Buyer: "b", AmountFen: 100, Region: "130802", Status: trade.StatusPaid, PaidAt: t0}
			for line := 1; line <= 1+i%3; line++ {
				o.Items = append(o.Items, trade.Item{Line: line, GTIN: g, Batch: fmt.Sprintf("B-%d", line), Name: name, Category: "food",
					Quantity: line + i, PriceFen: int64(1990 * line)})
			}
			os = append(os, o)
			nos = append(nos, no)
			want[no] = o.Items
		}
		if _, err := db.CreateOrders(ctx, os, nil); err != nil {
			t.Fatal(err)
		}
		check := func(when string) {
			t.Helper()
			got, err := db.OrdersByNos(ctx, w.platA.ID, nos)
			if err != nil {
				t.Fatal(err)
			}
			for _, no := range nos {
				o := got[no]
				if o == nil || !reflect.DeepEqual(o.Items, want[no]) {
					t.Fatalf("%s: order %s items %+v, want %+v", when, no, o, want[no])
				}
				tr, err := db.TraceOrder(ctx, o.ID)
				if err != nil || len(tr.Items) != len(want[no]) {
					t.Fatalf("%s: traced order %s: %v %+v", when, no, err, tr)
				}
				for k, it := range tr.Items {
					w := want[no][k]
					if it.Line != w.Line || it.GTIN != w.GTIN || it.Batch != w.Batch || it.Name != w.Name || it.Category != w.Category ||
						it.Quantity != int64(w.Quantity) || it.PriceFen != w.PriceFen {
						t.Fatalf("%s: traced order %s item %+v, want %+v", when, no, it, w)
					}
				}
			}
		}
		check("written")
		if err := db.MigrateTo(ctx, 23); err != nil {
			t.Fatalf("down to 23: %v", err)
		}
		var rows int
		if err := db.ReaderDB().QueryRowContext(ctx, "SELECT COUNT(*) FROM order_items").Scan(&rows); err != nil || rows != 1+2+3+1+2 {
			t.Fatalf("down at 23: %d rows in order_items (%v)", rows, err)
		}
		// The previous release writes an order and its items.
		d := db.Dialect()
		var id int64
		if err := db.WriterDB().QueryRowContext(ctx, d.Rebind(`INSERT INTO orders (platform_id, shop_id, seller_id, order_no, buyer, amount_fen,
			region, status, paid_at, created_at, updated_at) VALUES (?, ?, ?, 'LINES-OLD', 'b', 100, '130802', 'paid', 1, 1, 1) RETURNING id`),
			w.platA.ID, w.shopA1.ID, w.seller1.ID).Scan(&id); err != nil {
			t.Fatal(err)
		}
		old := []trade.Item{{Line: 1, GTIN: g, Batch: "OLD", Name: `旧"版"\本`, Category: "food", Quantity: 7, PriceFen: 10},
			{Line: 2, GTIN: g, Batch: "OLD", Name: "第二行", Quantity: 1, PriceFen: 0}}
		for _, it := range old {
			if _, err := db.WriterDB().ExecContext(ctx, d.Rebind(`INSERT INTO order_items (order_id, line, gtin, batch, name, category, quantity, price_fen)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), id, it.Line, it.GTIN, it.Batch, it.Name, it.Category, it.Quantity, it.PriceFen); err != nil {
				t.Fatal(err)
			}
		}
		nos = append(nos, "LINES-OLD")
		want["LINES-OLD"] = old
		_, latest, err := db.MigrationVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.MigrateTo(ctx, latest); err != nil {
			t.Fatalf("up again: %v", err)
		}
		check("up again")
		var viewed int
		if err := db.ReaderDB().QueryRowContext(ctx, d.Rebind("SELECT SUM(quantity) FROM order_items WHERE batch = 'OLD' AND order_id = ?"), id).Scan(&viewed); err != nil || viewed != 8 {
			t.Fatalf("order_items shows %d units of the old order (%v), want 8", viewed, err)
		}
	})
}

// The stored form of an order is its OrderArgs, the ceiling's values, and
// its items' text.
func TestStoredOrderArgs(t *testing.T) {
	o := &trade.Order{PlatformID: 1, ShopID: 2, SellerID: 3, OrderNo: "N-1", Buyer: "b", AmountFen: 5970, Region: "130802", Waybill: "SF1",
		CarrierID: 9, Status: trade.StatusSigned, PaidAt: t0, ShippedAt: t0.Add(1), SignedAt: t0.Add(2), CreatedAt: t0.Add(3), UpdatedAt: t0.Add(4), Version: 1,
		Items: []trade.Item{{Line: 1, GTIN: "6901234567892", Batch: "L1", Name: `山楂"干"`, Category: "food", Quantity: 2, PriceFen: 1990}}}
	stored, plain := sqlstore.StoredOrderArgs(o), sqlstore.OrderArgs(o)
	if len(stored) != len(sqlstore.StoredOrderColumns) || len(plain) != len(sqlstore.OrderColumns) || !reflect.DeepEqual(stored[:len(plain)], plain) {
		t.Fatalf("stored %v, plain %v", stored, plain)
	}
	if want := `[[1,"6901234567892","L1","山楂\"干\"","food",2,1990]]`; stored[len(plain)] != want || sqlstore.ItemsText(o.Items) != want {
		t.Fatalf("items %v, want %s", stored[len(plain)], want)
	}
}
