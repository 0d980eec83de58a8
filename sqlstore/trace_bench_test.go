package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/code"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trace"
)

// Trace query latency on a store seeded with many orders, on both engines:
//
//	ECREDIT_BENCH_TRACE_ORDERS=1000000 go test ./sqlstore -run '^$' -bench '^BenchmarkTrace$' -benchtime 200x
//
// (bench/run.sh trace). The orders (default 20 000; set
// ECREDIT_BENCH_TRACE_ORDERS for the 10 M-order city) are seeded with raw
// multi-row INSERTs: 8 platforms, 400 shops, 1 000 GTINs × 10 batches,
// 1.2 items an order, batches drawn from a Zipf distribution, so a few
// batches are in a large share of the orders and most in few.
//
//   - Forward/{hot,mid,tail}: trace.Service.Forward (totals, platforms,
//     regions and the first 100 orders) of the most popular batch, the
//     100th and the 5 000th, asked again and again of one service (which
//     keeps a big batch's reach and checks it against the index each
//     time); Forward/{hot,mid,tail}-cold asks a fresh service each time
//     with no reach kept in the store, so every order of the batch is
//     read (a batch's first trace ever); Forward/{hot,mid,tail}-restart
//     asks a fresh service that starts from the reach kept in the store
//     (trace_reach) as a restarted or second instance does;
//     Forward/hot-crowd has 16 callers ask a fresh service at once, with
//     nothing kept, as the public might right after a recall (they share
//     one sum of the batch's orders); Forward/hot-crowd-apart has each of
//     them ask a fresh service of its own (no sharing);
//   - Public/mid, Public/mid-cold: the public trace (timeline, reach by
//     city, licence check of the top 20 shops' sellers), likewise;
//   - Backward: trace.Service.Backward of a random order (order, items,
//     batch, product, producer, inspections, licence records);
//   - Ceiling: one order and its items by primary key, the cheapest read of
//     the same tables: the ratio Forward/Ceiling says how far a trace is
//     from a single-row read.
//
// Each reports queries/s; bench/run.sh divides by the ceiling.

const (
	benchGTINs          = 1000
	benchBatchesPerGTIN = 10
	traceCrowd          = 16 // callers at once in Forward/hot-crowd
)

func benchOrders() int {
	if s := os.Getenv("ECREDIT_BENCH_TRACE_ORDERS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 20000
}

func benchGTIN(i int) string {
	body := fmt.Sprintf("693%09d", i+1)
	c, _ := code.GTINCheck(body)
	return body + string(c)
}

func benchLot(i int) string { return fmt.Sprintf("B%02d", i) }

// seedTraceCity seeds the benchmark city and returns its first order id.
func seedTraceCity(b *testing.B, db *sqlstore.DB, orders int) int64 {
	b.Helper()
	start := time.Now()
	var subs []*registry.Subject
	for i := 0; i < 8+200+50; i++ {
		kind := registry.KindMerchant
		if i < 8 {
			kind = registry.KindPlatform
		}
		s := org(b, 70000+i, kind, fmt.Sprintf("基准主体%d", i), []string{"130802", "130821", "130822"}[i%3])
		s.Mark = fmt.Sprintf("ECM-BNCH-%04d-%04d", i/10000, i%10000)
		subs = append(subs, s)
	}
	if err := db.CreateSubjects(ctx, subs, func(*registry.Subject) *audit.Entry { return nil }); err != nil {
		b.Fatal(err)
	}
	platforms, sellers, producers := subs[:8], subs[8:208], subs[208:]
	var shops []*registry.Shop
	for i := 0; i < 400; i++ {
		sh := &registry.Shop{PlatformID: platforms[i%8].ID, OwnerID: sellers[i%200].ID, Name: fmt.Sprintf("店铺%d", i), Category: "food",
			Status: registry.StatusActive, CreatedAt: t0, UpdatedAt: t0}
		if err := db.CreateShop(ctx, sh, nil); err != nil {
			b.Fatal(err)
		}
		shops = append(shops, sh)
	}
	// Products and batches in bulk.
	err := db.WriteTx(ctx, "bench", func(tx *sql.Tx) error {
		for g := 0; g < benchGTINs; g++ {
			var id int64
			if err := tx.QueryRowContext(ctx, db.Dialect().Rebind(`INSERT INTO trace_products (gtin, name, category, producer_id, created_at, updated_at)
				VALUES (?, ?, 'food', ?, 1, 1) RETURNING id`), benchGTIN(g), fmt.Sprintf("产品%d", g), producers[g%50].ID).Scan(&id); err != nil {
				return err
			}
			q := "INSERT INTO trace_batches (product_id, gtin, batch, produced_on, quantity, producer_id, status, created_at, updated_at) VALUES " +
				strings.TrimSuffix(strings.Repeat("(?, ?, ?, '2025-01-01', 1000, ?, 'normal', 1, 1), ", benchBatchesPerGTIN), ", ")
			var args []any
			for k := 0; k < benchBatchesPerGTIN; k++ {
				args = append(args, id, benchGTIN(g), benchLot(k), producers[g%50].ID)
			}
			if _, err := tx.ExecContext(ctx, db.Dialect().Rebind(q), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// Orders: batch ranks from a Zipf distribution; rank r is batch
	// (r % batches per GTIN) of GTIN (r / batches per GTIN).
	n := benchGTINs * benchBatchesPerGTIN
	rng := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(rng, 1.1, 20, uint64(n-1))
	regions := []string{"130802", "130803", "130821", "130822", "110105", "120101", "310101", "440305"}
	item := func() storetest.Item {
		r := int(zipf.Uint64())
		return storetest.Item{GTIN: benchGTIN(r / benchBatchesPerGTIN), Batch: benchLot(r % benchBatchesPerGTIN), Category: "食品", Quantity: 1 + r%3, PriceFen: 990}
	}
	first := storetest.InsertOrders(b, db, orders, func(i int) storetest.Order {
		sh := shops[rng.IntN(len(shops))]
		o := storetest.Order{PlatformID: sh.PlatformID, ShopID: sh.ID, SellerID: sh.OwnerID, OrderNo: "BO" + strconv.Itoa(i),
			Region: regions[rng.IntN(len(regions))], PaidAt: t0.Add(time.Duration(i) * time.Second), Items: []storetest.Item{item()}}
		if i%5 == 0 {
			if x := item(); x.GTIN != o.Items[0].GTIN || x.Batch != o.Items[0].Batch {
				o.Items = append(o.Items, x)
			}
		}
		return o
	})
	if _, err := db.IndexOrders(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := db.WriterDB().ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: seeded %d orders in %s", db.Engine(), orders, time.Since(start).Round(time.Millisecond))
	return first
}

func BenchmarkTrace(b *testing.B) {
	storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
		orders := benchOrders()
		first := seedTraceCity(b, db, orders)
		traceBenchCases(b, db, first, orders)
	})
}

// traceRanks is the (gtin, batch) of each popularity rank.
func traceRanks() [][2]string {
	ranks := make([][2]string, benchGTINs*benchBatchesPerGTIN)
	for r := range ranks {
		ranks[r] = [2]string{benchGTIN(r / benchBatchesPerGTIN), benchLot(r % benchBatchesPerGTIN)}
	}
	return ranks
}

// forgetReach deletes the reach the trace services kept in the store.
func forgetReach(b *testing.B, db *sqlstore.DB) {
	if _, err := db.WriterDB().ExecContext(ctx, "DELETE FROM trace_reach"); err != nil {
		b.Fatal(err)
	}
}

// traceBenchCases runs the trace queries on a seeded city whose orders
// have the ids first … first+orders-1.
func traceBenchCases(b *testing.B, db *sqlstore.DB, first int64, orders int) {
	ranks := traceRanks()
	newService := func() *trace.Service { return &trace.Service{Store: db, Subjects: db, Records: db} }
	svc := newService()
	dept := account.With(context.Background(), account.Actor{AccountID: 1, Name: "bench", Role: account.RoleDepartment, Via: "system"})
	report := func(b *testing.B) { b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s") }
	for _, c := range []struct {
		name string
		rank int
	}{{"hot", 0}, {"mid", 100}, {"tail", 5000}} {
		g, bn := ranks[c.rank][0], ranks[c.rank][1]
		// cold: a fresh service each time and no reach kept in the
		// store, so the batch's reach is summed from every order (its
		// first trace ever); restart: a fresh service each time, which
		// starts from the reach kept in the store; warm: the same
		// service, which keeps a big batch's reach in memory. Restart
		// and warm read only the orders added since.
		b.Run("Forward/"+c.name+"-cold", func(b *testing.B) {
			var ft *trace.ForwardTrace
			var err error
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				forgetReach(b, db)
				b.StartTimer()
				if ft, err = newService().Forward(dept, g, bn, 0, 100); err != nil {
					b.Fatal(err)
				}
			}
			report(b)
			b.ReportMetric(float64(ft.Reach.Orders), "batch_orders")
		})
		if c.name == "hot" {
			// crowd: traceCrowd callers at once ask a fresh service, with
			// no reach kept, for the hot batch (the public right after a
			// recall): they share one sum of its orders (trace's
			// reachFlight); queries/s counts every caller's answer.
			// crowd-apart: the same callers each ask a service of their
			// own (as many instances, or no sharing): what sharing saves.
			crowd := func(shared bool) func(b *testing.B) {
				return func(b *testing.B) {
					for i := 0; i < b.N; i++ {
						b.StopTimer()
						forgetReach(b, db)
						svcs := make([]*trace.Service, traceCrowd)
						for k := range svcs {
							if svcs[k] = newService(); shared {
								svcs[k] = svcs[0]
							}
						}
						b.StartTimer()
						var wg sync.WaitGroup
						errs := make([]error, traceCrowd)
						for k, s := range svcs {
							wg.Go(func() { _, errs[k] = s.Forward(dept, g, bn, 0, 100) })
						}
						wg.Wait()
						for _, err := range errs {
							if err != nil {
								b.Fatal(err)
							}
						}
					}
					b.ReportMetric(float64(b.N*traceCrowd)/b.Elapsed().Seconds(), "queries/s")
				}
			}
			b.Run("Forward/hot-crowd", crowd(true))
			b.Run("Forward/hot-crowd-apart", crowd(false))
		}
		b.Run("Forward/"+c.name+"-restart", func(b *testing.B) {
			if _, err := newService().Forward(dept, g, bn, 0, 100); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := newService().Forward(dept, g, bn, 0, 100); err != nil {
					b.Fatal(err)
				}
			}
			report(b)
		})
		b.Run("Forward/"+c.name, func(b *testing.B) {
			ft, err := svc.Forward(dept, g, bn, 0, 100)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := svc.Forward(dept, g, bn, 0, 100); err != nil {
					b.Fatal(err)
				}
			}
			report(b)
			b.ReportMetric(float64(ft.Reach.Orders), "batch_orders")
		})
	}
	// Warm: the server's catch-up after a start (trace.WarmReach from the
	// first order to the last, nothing kept before): every batch of 1000
	// order items or more summed and kept, so that its first trace is the
	// restart case above, not the cold one.
	b.Run("Warm", func(b *testing.B) {
		var warmed int
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			forgetReach(b, db)
			s := newService()
			b.StartTimer()
			warmed = 0
			for after := int64(0); ; {
				upto, n, err := s.WarmReach(ctx, after)
				if err != nil {
					b.Fatal(err)
				}
				warmed += n
				if upto == after {
					break
				}
				after = upto
			}
		}
		b.ReportMetric(float64(orders)*float64(b.N)/b.Elapsed().Seconds(), "orders/s")
		b.ReportMetric(float64(warmed), "batches")
	})
	g, bn := ranks[100][0], ranks[100][1]
	b.Run("Public/mid-cold", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			forgetReach(b, db)
			b.StartTimer()
			if _, err := newService().Public(dept, g, bn); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	b.Run("Public/mid", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := svc.Public(dept, g, bn); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	b.Run("Backward", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(3, 4))
		for i := 0; i < b.N; i++ {
			if _, err := svc.Backward(dept, first+int64(rng.IntN(orders))); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	b.Run("Ceiling", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(3, 4))
		for i := 0; i < b.N; i++ {
			if _, err := db.TraceOrder(ctx, first+int64(rng.IntN(orders))); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
}
