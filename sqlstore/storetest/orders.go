package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"ecredit/sqlstore"
	"ecredit/trade"
)

// Order is an order to seed into the orders table, its items in its row
// (migrations 00005 and 00024, owned by package trade), with raw SQL, for the tests and
// benchmarks of packages that read orders (trace) without going through
// package trade.
type Order struct {
	PlatformID, ShopID, SellerID int64
	OrderNo                      string
	Buyer                        string // a platform-scoped pseudonym; "" → "buyer"
	Region                       string
	Status                       string // "" → "paid"
	PaidAt                       time.Time
	Items                        []Item
}

// Item is one line of a seeded order.
type Item struct {
	GTIN, Batch, Name, Category string
	Quantity                    int
	PriceFen                    int64
}

// seedChunk is how many orders go into one INSERT statement.
const seedChunk = 200

// InsertOrders inserts n orders, the i-th made by gen(i), in transactions
// of a few thousand, with ids following the largest one stored; it
// returns the first id. Amounts are the items' prices times quantities.
func InsertOrders(tb testing.TB, db *sqlstore.DB, n int, gen func(i int) Order) int64 {
	tb.Helper()
	ctx := context.Background()
	d := db.Dialect()
	var first int64
	if err := db.WriterDB().QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) + 1 FROM orders").Scan(&first); err != nil {
		tb.Fatal(err)
	}
	id := first
	for start := 0; start < n; start += 20 * seedChunk {
		err := db.WriteTx(ctx, "storetest.InsertOrders", func(tx *sql.Tx) error {
			// The transaction's orders wait for the forward-trace index
			// as CreateOrders' do (migration 00022).
			if _, err := tx.ExecContext(ctx, d.Rebind("INSERT INTO trace_pending (lo, hi) VALUES (?, ?)"), id, id+int64(min(20*seedChunk, n-start))-1); err != nil {
				return err
			}
			for cs := start; cs < min(start+20*seedChunk, n); cs += seedChunk {
				var oq strings.Builder
				var oa []any
				oq.WriteString(`INSERT INTO orders (id, platform_id, shop_id, seller_id, order_no, buyer, amount_fen, region, status, paid_at, created_at, updated_at, items) VALUES `)
				for i := cs; i < min(cs+seedChunk, n); i++ {
					o := gen(i)
					if o.Buyer == "" {
						o.Buyer = "buyer"
					}
					if o.Status == "" {
						o.Status = "paid"
					}
					if o.OrderNo == "" {
						o.OrderNo = fmt.Sprintf("SEED%012d", id)
					}
					var amount int64
					items := make([]trade.Item, len(o.Items))
					for j, it := range o.Items {
						amount += it.PriceFen * int64(it.Quantity)
						items[j] = trade.Item{Line: j + 1, GTIN: it.GTIN, Batch: it.Batch, Name: it.Name, Category: it.Category, Quantity: it.Quantity, PriceFen: it.PriceFen}
					}
					if len(oa) > 0 {
						oq.WriteString(", ")
					}
					oq.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
					at := o.PaidAt.UnixMicro()
					oa = append(oa, id, o.PlatformID, o.ShopID, o.SellerID, o.OrderNo, o.Buyer, amount, o.Region, o.Status, at, at, at, sqlstore.ItemsText(items))
					id++
				}
				if _, err := tx.ExecContext(ctx, d.Rebind(oq.String()), oa...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatalf("seeding orders: %v", err)
		}
	}
	if d.Name() == sqlstore.EnginePostgres {
		if _, err := db.WriterDB().ExecContext(ctx, "SELECT setval(pg_get_serial_sequence('orders', 'id'), (SELECT MAX(id) FROM orders))"); err != nil {
			tb.Fatal(err)
		}
	}
	return first
}
