package sqlstore_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/clock"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trade"
)

// Order ingest on both engines, as orders/s next to the ceiling measured
// in the same run (bench/run.sh orders):
//
//	go test ./sqlstore -run '^$' -bench 'Order' -benchtime 20x
//
// BenchmarkOrderIngestBatch goes through trade.Service.IngestBatch with
// benchBatch (1000) orders of two items each per call: validation (GTIN,
// region, times, pseudonym), the shops of the batch looked up in one
// query, then one transaction that inserts the orders not yet stored
// and their items — on SQLite multi-row INSERTs (ON CONFLICT DO NOTHING
// RETURNING their ids), on PostgreSQL COPY with ids drawn beforehand — with the
// indexes and reference checks of 00005 and 00013, one audit entry and the
// batch's trace_pending row (00022); and, every sqlstore IndexEvery
// (40,000) order items, the indexing step that writes their batches'
// postings: the forward-trace index's whole cost, in the timing.
// BenchmarkOrderRawInsertCeiling writes the same column values into
// scratch tables without index, foreign key or audit row, one transaction
// per 1000 orders, the fastest raw way each engine has: multi-row INSERTs
// on SQLite (RETURNING the order ids for the items), COPY on PostgreSQL
// (with ids the benchmark assigns). BenchmarkOrderSchemaInsert does the
// same into the real tables: the ceiling less what the schema costs
// (without the trace_pending row, which is the service's).

const benchItemsPerOrder = 2

type orderBench struct {
	svc   *trade.Service
	plat  int64
	shops []int64
}

func setupOrderBench(b testing.TB, db *sqlstore.DB) *orderBench {
	b.Helper()
	db.SetClock(clock.NewFake(time.Date(2026, 6, 20, 4, 0, 0, 0, time.UTC)))
	n := int(benchSeq.Add(100))
	p := mustCreate(b, db, org(b, 5_000_000+n, registry.KindPlatform, "基准平台", "130802"))
	ob := &orderBench{svc: &trade.Service{Store: db, Clock: clock.NewFake(time.Date(2026, 6, 20, 4, 0, 0, 0, time.UTC))}, plat: p.ID}
	for i := range 20 {
		m := mustCreate(b, db, org(b, 5_000_000+n+1+i, registry.KindMerchant, fmt.Sprintf("基准商户%d", i), "130802"))
		sh := &registry.Shop{PlatformID: p.ID, OwnerID: m.ID, Name: "店", URL: "https://s.example.cn", Domain: "s.example.cn", Status: registry.StatusActive}
		if err := db.CreateShop(ctx, sh, nil); err != nil {
			b.Fatal(err)
		}
		ob.shops = append(ob.shops, sh.ID)
	}
	return ob
}

var benchOrderSeq int

// inputs builds n fresh orders of the bench platform's shops.
func (ob *orderBench) inputs(n int) []trade.OrderInput {
	out := make([]trade.OrderInput, n)
	paid := time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC)
	for i := range out {
		benchOrderSeq++
		k := benchOrderSeq
		items := make([]trade.ItemInput, benchItemsPerOrder)
		for j := range items {
			items[j] = trade.ItemInput{GTIN: gtinA, Batch: fmt.Sprintf("L%04d", k%997), Name: "承德山楂干 500g", Category: "food", Quantity: 1 + j, PriceFen: 1990}
		}
		at := paid.Add(time.Duration(k%7200) * time.Minute)
		out[i] = trade.OrderInput{OrderNo: fmt.Sprintf("BENCH%012d", k), ShopID: ob.shops[k%len(ob.shops)], Buyer: fmt.Sprintf("tb_%x", k*7919),
			AmountFen: 5970, Items: items, PaidAt: at, ShippedAt: at.Add(3 * time.Hour), SignedAt: at.Add(40 * time.Hour),
			Region: "130802", Waybill: fmt.Sprintf("CD%012d", k)}
	}
	return out
}

func BenchmarkOrderIngestBatch(b *testing.B) {
	storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
		ob := setupOrderBench(b, db)
		plat := account.With(ctx, account.Actor{AccountID: 9, Name: "基准平台", Role: account.RolePlatform, SubjectID: ob.plat, Via: "api"})
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			ins := ob.inputs(benchBatch)
			b.StartTimer()
			res, err := ob.svc.IngestBatch(plat, ins)
			if err != nil {
				b.Fatal(err)
			}
			if res[0].Status != trade.ResultCreated || res[len(res)-1].Status != trade.ResultCreated {
				b.Fatalf("not created: %+v %v", res[0], res[0].Err)
			}
		}
		reportRows(b, b.N*benchBatch)
	})
}

func BenchmarkOrderRawInsertCeiling(b *testing.B) { rawOrderInsert(b, false) }

// BenchmarkOrderSchemaInsert writes the same values the same raw way as
// the ceiling, but into the real orders table, in its form (each order's
// items a JSON text of its row, 00024; built in the timed part), with its
// keys, indexes, checks and reference checks (00005, 00013): what the
// schema alone costs, without the service (validation, tenancy,
// idempotency, per-line results), the audit entry and the trace_pending
// row.
func BenchmarkOrderSchemaInsert(b *testing.B) { rawOrderInsert(b, true) }

// BenchmarkOrderIndexCost is the ceiling with one of the real tables'
// indexes on its scratch tables (and "all": every one of them, without
// the keys' and references' checks, triggers or audit), so that each
// index's share of what BenchmarkOrderSchemaInsert loses is measured, not
// guessed. The indexes are those of 00005, 00010 and 00013 on each engine
// (on PostgreSQL the scratch orders table has its primary key, as the
// ceiling's has). trace_batch is the index that traced a batch forward
// until migration 00022 moved the forward trace to batch postings: its
// entries land at the batch's place in (gtin, batch) order, spread over
// the index instead of appended; it is kept here to show what it cost.
func BenchmarkOrderIndexCost(b *testing.B) {
	for _, ix := range orderIndexes {
		b.Run(ix.name, func(b *testing.B) {
			storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
				ddl := ix.sqlite
				if db.Dialect().Name() == sqlstore.EnginePostgres {
					ddl = ix.postgres
				}
				rawOrderInsertInto(b, db, false, ddl)
			})
		})
	}
}

// orderIndexes are the real tables' indexes, as DDL on the scratch tables
// of the order ceiling, on each engine.
var orderIndexes = func() []struct{ name, sqlite, postgres string } {
	one := []struct{ name, sqlite, postgres string }{
		{"platform_no", "CREATE UNIQUE INDEX bench_orders_no ON bench_orders (platform_id, order_no)", ""},
		{"shop", "CREATE INDEX bench_orders_shop ON bench_orders (shop_id)", "CREATE INDEX bench_orders_shop ON bench_orders (shop_id, id)"},
		{"waybill", "CREATE INDEX bench_orders_waybill ON bench_orders (waybill) WHERE waybill <> ''", ""},
		{"items_key", "CREATE UNIQUE INDEX bench_items_key ON bench_items (order_id, line)", ""},
		{"trace_batch", "CREATE INDEX bench_items_batch ON bench_items (gtin, batch, order_id, quantity)", ""},
	}
	all := struct{ name, sqlite, postgres string }{name: "all"}
	for i := range one {
		if one[i].postgres == "" {
			one[i].postgres = one[i].sqlite
		}
		all.sqlite += one[i].sqlite + ";\n"
		all.postgres += one[i].postgres + ";\n"
	}
	return append(one, all)
}()

// rawOrderInsert is the order ceiling (schema false: bare scratch tables)
// or the schema insert (schema true: the real tables).
func rawOrderInsert(b *testing.B, schema bool) {
	storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) { rawOrderInsertInto(b, db, schema, "") })
}

// rawOrderInsertInto times the raw insert into db's real tables (schema
// true) or into scratch ones, created bare and then given the DDL indexes.
func rawOrderInsertInto(b *testing.B, db *sqlstore.DB, schema bool, indexes string) {
	ob := setupOrderBench(b, db)
	d := db.Dialect()
	table := func(name string, cols []string) {
		defs := []string{"id " + d.AutoID()}
		if name == "bench_items" {
			defs = nil
		}
		for _, c := range cols {
			typ := "BIGINT"
			switch c {
			case "order_no", "buyer", "region", "waybill", "status", "gtin", "batch", "name", "category":
				typ = "TEXT"
			}
			defs = append(defs, c+" "+typ)
		}
		if _, err := db.WriterDB().ExecContext(ctx, "CREATE TABLE "+name+" ("+strings.Join(defs, ", ")+")"); err != nil {
			b.Fatal(err)
		}
	}
	oT, iT := "orders", ""
	ocols := sqlstore.StoredOrderColumns
	if !schema {
		ocols = sqlstore.OrderColumns
		oT, iT = "bench_orders", "bench_items"
		table(oT, sqlstore.OrderColumns)
		table(iT, sqlstore.ItemColumns)
		for _, q := range strings.Split(indexes, ";\n") {
			if q == "" {
				continue
			}
			if _, err := db.WriterDB().ExecContext(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
	}
	multi := func(tbl string, cols []string, k int, ret bool) string {
		tuple := "(?" + strings.Repeat(", ?", len(cols)-1) + ")"
		q := "INSERT INTO " + tbl + " (" + strings.Join(cols, ", ") + ") VALUES " + tuple + strings.Repeat(", "+tuple, k-1)
		if ret {
			q += " RETURNING id"
		}
		return d.Rebind(q)
	}
	const perStmt = 500 // as sqlstore.CreateOrders on SQLite
	var nextID int64
	if schema {
		nextID = 1 << 40 // COPY's own ids, far above the identity's
	}
	insOrders := multi(oT, ocols, perStmt, true)
	insItems := multi(iT, sqlstore.ItemColumns, benchItemsPerOrder*perStmt, false)
	oargs := sqlstore.OrderArgs
	if schema {
		oargs = sqlstore.StoredOrderArgs
	}
	// Prepared once and reused by every transaction, as a bulk loader
	// (and sqlstore.CreateOrders) does.
	var prepOrders, prepItems *sql.Stmt
	if d.Name() != sqlstore.EnginePostgres {
		var err error
		if prepOrders, err = db.WriterDB().PrepareContext(ctx, insOrders); err != nil {
			b.Fatal(err)
		}
		defer prepOrders.Close()
		if !schema {
			if prepItems, err = db.WriterDB().PrepareContext(ctx, insItems); err != nil {
				b.Fatal(err)
			}
			defer prepItems.Close()
		}
	}
	shops, err := db.ShopsByIDs(ctx, ob.shops)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ins := ob.inputs(benchBatch)
		orders := make([]*trade.Order, len(ins))
		for j, in := range ins {
			o := &trade.Order{PlatformID: ob.plat, ShopID: in.ShopID, SellerID: shops[in.ShopID].OwnerID, OrderNo: in.OrderNo, Buyer: in.Buyer,
				AmountFen: in.AmountFen, Region: in.Region, Waybill: in.Waybill, Status: trade.StatusSigned, PaidAt: in.PaidAt,
				ShippedAt: in.ShippedAt, SignedAt: in.SignedAt, CreatedAt: in.PaidAt, UpdatedAt: in.PaidAt, Version: 1}
			for k, it := range in.Items {
				o.Items = append(o.Items, trade.Item{Line: k + 1, GTIN: it.GTIN, Batch: it.Batch, Name: it.Name, Category: it.Category, Quantity: it.Quantity, PriceFen: it.PriceFen})
			}
			orders[j] = o
		}
		b.StartTimer()
		var err error
		if d.Name() == sqlstore.EnginePostgres {
			// COPY has no RETURNING: the ids are the benchmark's own.
			var orows, irows [][]any
			for _, o := range orders {
				nextID++
				o.ID = nextID
				orows = append(orows, append([]any{o.ID}, oargs(o)...))
				for _, it := range o.Items {
					if !schema {
						irows = append(irows, sqlstore.ItemArgs(o.ID, it))
					}
				}
			}
			tables := []copyTable{{oT, append([]string{"id"}, ocols...), orows}}
			if !schema {
				tables = append(tables, copyTable{iT, sqlstore.ItemColumns, irows})
			}
			err = copyTables(db, tables)
		} else {
			err = db.WriteTx(ctx, "bench", func(tx *sql.Tx) error {
				so := tx.StmtContext(ctx, prepOrders)
				defer so.Close()
				var si *sql.Stmt
				if !schema {
					si = tx.StmtContext(ctx, prepItems)
					defer si.Close()
				}
				for start := 0; start < len(orders); start += perStmt {
					chunk := orders[start : start+perStmt]
					args := make([]any, 0, perStmt*len(ocols))
					for _, o := range chunk {
						args = append(args, oargs(o)...)
					}
					rows, err := so.QueryContext(ctx, args...)
					if err != nil {
						return err
					}
					k := 0
					for rows.Next() {
						if err := rows.Scan(&chunk[k].ID); err != nil {
							rows.Close()
							return err
						}
						k++
					}
					rows.Close()
					if schema {
						continue // the items are in the orders' rows
					}
					args = args[:0]
					for _, o := range chunk {
						for _, it := range o.Items {
							args = append(args, sqlstore.ItemArgs(o.ID, it)...)
						}
					}
					if _, err := si.ExecContext(ctx, args...); err != nil {
						return err
					}
				}
				return nil
			})
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	reportRows(b, b.N*benchBatch)
}
