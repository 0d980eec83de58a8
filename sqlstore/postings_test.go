package sqlstore_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trace"
	"ecredit/trade"
)

// forwardCase is the city of TestForwardIndex: orders as written, so that
// every forward-trace read can be worked out by hand.
type forwardCase struct {
	orders []*trade.Order
}

// want works out a forward read from the orders: each order holding the
// batch (any of gtins) with an id in (after, upto] (upto 0: no bound),
// with its summed quantity and lines, by id.
func (c *forwardCase) want(gtins []string, batch string, after, upto int64) (ids []int64, qty, lines map[int64]int64, byID map[int64]*trade.Order) {
	qty, lines, byID = map[int64]int64{}, map[int64]int64{}, map[int64]*trade.Order{}
	for _, o := range c.orders {
		if o.ID <= after || (upto != 0 && o.ID > upto) {
			continue
		}
		for _, it := range o.Items {
			if it.Batch == batch && slices.Contains(gtins, it.GTIN) {
				if lines[o.ID] == 0 {
					ids = append(ids, o.ID)
				}
				qty[o.ID] += int64(it.Quantity)
				lines[o.ID]++
				byID[o.ID] = o
			}
		}
	}
	slices.Sort(ids)
	return ids, qty, lines, byID
}

// check compares every forward read of every batch with the orders.
func (c *forwardCase) check(t *testing.T, db *sqlstore.DB, stage string, forms [][]string, batches []string, platforms []int64) {
	t.Helper()
	for _, gtins := range forms {
		for _, batch := range batches {
			ids, qty, lines, byID := c.want(gtins, batch, 0, 0)
			at := fmt.Sprintf("%s: %v %s", stage, gtins, batch)
			// BatchSpan.
			lo, hi, n, err := db.BatchSpan(ctx, gtins, batch)
			var wantLines int64
			for _, l := range lines {
				wantLines += l
			}
			if err != nil || n != wantLines || (len(ids) > 0 && (lo != ids[0] || hi != ids[len(ids)-1])) || (len(ids) == 0 && lo+hi != 0) {
				t.Fatalf("%s: span %d..%d of %d lines (%v), want %v lines %d", at, lo, hi, n, err, ids, wantLines)
			}
			// CountBatchLines and ReachGroups at several cuts.
			cuts := []int64{0}
			if len(ids) > 0 {
				cuts = append(cuts, ids[len(ids)/3], ids[len(ids)/2]+1, ids[len(ids)-1])
			}
			for _, cut := range cuts {
				_, _, l, _ := c.want(gtins, batch, 0, cut)
				var wl int64
				for _, v := range l {
					wl += v
				}
				upto := cut
				if cut == 0 {
					upto = 1 << 62
				}
				if got, err := db.CountBatchLines(ctx, gtins, batch, upto); err != nil || got != wl {
					t.Fatalf("%s: %d lines up to %d (%v), want %d", at, got, upto, err, wl)
				}
				for _, span := range [][2]int64{{0, cut}, {cut, 0}} {
					gs, err := db.ReachGroups(ctx, gtins, batch, span[0], span[1])
					if err != nil {
						t.Fatal(err)
					}
					wids, wq, wl, wo := c.want(gtins, batch, span[0], span[1])
					type gk struct {
						p, s, sel int64
						r         string
					}
					want := map[gk]trace.ReachGroup{}
					for _, id := range wids {
						o := wo[id]
						k := gk{o.PlatformID, o.ShopID, o.SellerID, o.Region}
						g := want[k]
						g.PlatformID, g.ShopID, g.SellerID, g.Region = o.PlatformID, o.ShopID, o.SellerID, o.Region
						g.Orders++
						g.Quantity += wq[id]
						g.Lines += wl[id]
						g.MaxOrderID = max(g.MaxOrderID, id)
						want[k] = g
					}
					if len(gs) != len(want) {
						t.Fatalf("%s: %d groups in %v, want %d: %+v", at, len(gs), span, len(want), gs)
					}
					for _, g := range gs {
						if w := want[gk{g.PlatformID, g.ShopID, g.SellerID, g.Region}]; g != w {
							t.Fatalf("%s: group in %v %+v, want %+v", at, span, g, w)
						}
					}
				}
			}
			// ReachOrders, page by page, with and without a platform,
			// in small pages and in pages that need several windows of
			// postings.
			for _, pc := range [][2]int64{{0, 7}, {platforms[0], 7}, {platforms[1], 7}, {0, 60}, {platforms[0], 60}} {
				platform, size := pc[0], int(pc[1])
				var wantIDs []int64
				for _, id := range ids {
					if platform == 0 || byID[id].PlatformID == platform {
						wantIDs = append(wantIDs, id)
					}
				}
				var got []int64
				var after int64
				for page := 0; ; page++ {
					ls, err := db.ReachOrders(ctx, gtins, batch, platform, after, size)
					if err != nil {
						t.Fatal(err)
					}
					for _, l := range ls {
						o := byID[l.OrderID]
						if o == nil || l.Quantity != qty[l.OrderID] || l.OrderNo != o.OrderNo || l.ShopID != o.ShopID || l.Region != o.Region {
							t.Fatalf("%s: page line %+v, order %+v, quantity %d", at, l, o, qty[l.OrderID])
						}
						got = append(got, l.OrderID)
					}
					if len(ls) < size {
						break
					}
					after = ls[len(ls)-1].OrderID
					if page > 1000 {
						t.Fatal("no end of pages")
					}
				}
				if !slices.Equal(got, wantIDs) {
					t.Fatalf("%s: platform %d pages %v, want %v", at, platform, got, wantIDs)
				}
			}
		}
	}
}

// TestForwardIndex writes orders the way platforms do (CreateOrders) and
// the way an upgraded store holds them (ranges without items, from
// migration 00022), and reads every batch forward while none, some and
// all of them are indexed: every read must equal what the orders say,
// and indexing must leave nothing pending and every item in exactly one
// posting.
func TestForwardIndex(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTraceWorld(t, db)
		db.SetIndexEvery(0)
		g1 := gtin13(t, "690123456001")
		g14 := "0" + g1 // the same product under its GTIN-14 form
		g2 := gtin13(t, "690123456002")
		forms := [][]string{{g1, g14}, {g1}, {g2}}
		batches := []string{"L1", "L2", "L3", "NONE"}
		c := &forwardCase{}
		rng := rand.New(rand.NewPCG(7, 11))
		regions := []string{"130802", "130821", "110105"}
		shops := [][3]int64{{w.platA.ID, w.shopA1.ID, w.seller1.ID}, {w.platB.ID, w.shopB2.ID, w.seller2.ID}}
		seq := 0
		batch := func(n int) []*trade.Order {
			var os []*trade.Order
			for range n {
				seq++
				sh := shops[rng.IntN(2)]
				o := &trade.Order{PlatformID: sh[0], ShopID: sh[1], SellerID: sh[2], OrderNo: fmt.Sprintf("FWD-%d", seq), Buyer: "b",
					AmountFen: 100, Region: regions[rng.IntN(3)], Status: trade.StatusPaid, PaidAt: t0}
				for line := 1; line <= 1+rng.IntN(3); line++ {
					g := []string{g1, g14, g2}[rng.IntN(3)]
					o.Items = append(o.Items, trade.Item{Line: line, GTIN: g, Batch: batches[rng.IntN(3)], Quantity: 1 + rng.IntN(4), PriceFen: 10})
				}
				os = append(os, o)
			}
			return os
		}
		create := func(n int) {
			t.Helper()
			os := batch(n)
			taken, err := db.CreateOrders(ctx, os, nil)
			if err != nil || len(taken) != 0 {
				t.Fatalf("create: %v %v", err, taken)
			}
			c.orders = append(c.orders, os...)
		}
		platforms := []int64{w.platA.ID, w.platB.ID}
		create(40)
		create(25)
		c.check(t, db, "all pending", forms, batches, platforms)
		if n, err := db.IndexOrders(ctx); err != nil || n == 0 {
			t.Fatalf("index: %d %v", n, err)
		}
		c.check(t, db, "all indexed", forms, batches, platforms)
		create(30)
		// An upgraded store's orders: a pending range without items.
		first := storetest.InsertOrders(t, db, 12, func(i int) storetest.Order {
			o := storetest.Order{PlatformID: w.platA.ID, ShopID: w.shopA1.ID, SellerID: w.seller1.ID, Region: "130802", PaidAt: t0,
				Items: []storetest.Item{{GTIN: g14, Batch: "L2", Quantity: 2, PriceFen: 10}}}
			if i%2 == 0 {
				o.Items = append(o.Items, storetest.Item{GTIN: g1, Batch: "L2", Quantity: 3, PriceFen: 10})
			}
			return o
		})
		for i := range 12 {
			o := &trade.Order{ID: first + int64(i), PlatformID: w.platA.ID, ShopID: w.shopA1.ID, SellerID: w.seller1.ID, OrderNo: fmt.Sprintf("SEED%012d", first+int64(i)),
				Region: "130802", Items: []trade.Item{{GTIN: g14, Batch: "L2", Quantity: 2}}}
			if i%2 == 0 {
				o.Items = append(o.Items, trade.Item{GTIN: g1, Batch: "L2", Quantity: 3})
			}
			c.orders = append(c.orders, o)
		}
		create(20)
		c.check(t, db, "some indexed", forms, batches, platforms)
		if _, err := db.IndexOrders(ctx); err != nil {
			t.Fatal(err)
		}
		c.check(t, db, "indexed again", forms, batches, platforms)
		checkIndexed(t, db)
		// CreateOrders indexes on its own once enough items came in.
		db.SetIndexEvery(50)
		create(30)
		create(30)
		var pending int
		if err := db.ReaderDB().QueryRowContext(ctx, "SELECT COUNT(*) FROM trace_pending").Scan(&pending); err != nil || pending != 0 {
			t.Fatalf("after two batches of more than 50 items: %d pending (%v), want 0", pending, err)
		}
		c.check(t, db, "indexed by ingest", forms, batches, platforms)
		// Many small steps: dozens of postings a batch, so that a page
		// of orders reads them window by window (firstItems), with
		// postings of two GTIN forms starting at the same order.
		db.SetIndexEvery(0)
		for step := range 40 {
			create(3)
			// Orders holding batch TIE under three GTINs: every step
			// writes three TIE postings starting at the same order, so
			// windows of 16 postings end inside such a tie.
			var ties []*trade.Order
			for k := range 2 {
				seq++
				o := &trade.Order{PlatformID: w.platA.ID, ShopID: w.shopA1.ID, SellerID: w.seller1.ID, OrderNo: fmt.Sprintf("FWD-%d", seq), Buyer: "b",
					AmountFen: 100, Region: "130802", Status: trade.StatusPaid, PaidAt: t0}
				for line, g := range []string{g1, g14, g2} {
					o.Items = append(o.Items, trade.Item{Line: line + 1, GTIN: g, Batch: "TIE", Quantity: 1 + (step+k+line)%3, PriceFen: 10})
				}
				ties = append(ties, o)
			}
			if _, err := db.CreateOrders(ctx, ties, nil); err != nil {
				t.Fatal(err)
			}
			c.orders = append(c.orders, ties...)
			if _, err := db.IndexOrders(ctx); err != nil {
				t.Fatal(err)
			}
		}
		forms = append(forms, []string{g1, g14, g2})
		batches = append(batches, "TIE")
		create(5) // and a pending tail
		var most int
		if err := db.ReaderDB().QueryRowContext(ctx, "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM batch_postings GROUP BY gtin, batch) x").Scan(&most); err != nil || most < 40 {
			t.Fatalf("at most %d postings a batch (%v), want 40 or more", most, err)
		}
		c.check(t, db, "many postings", forms, batches, platforms)
	})
}

// checkIndexed requires nothing pending and every order item in exactly
// one posting entry.
func checkIndexed(t *testing.T, db *sqlstore.DB) {
	t.Helper()
	var pending, items, lines int64
	r := db.ReaderDB()
	if err := r.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM trace_pending), (SELECT COUNT(*) FROM order_items), "+
		"(SELECT COALESCE(SUM(lines), 0) FROM batch_postings)").Scan(&pending, &items, &lines); err != nil {
		t.Fatal(err)
	}
	if pending != 0 || items != lines {
		t.Fatalf("%d pending rows, %d order items, %d posting entries", pending, items, lines)
	}
	rows, err := r.QueryContext(ctx, "SELECT gtin, batch, COUNT(*) FROM order_items GROUP BY gtin, batch")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var g, b string
		var n int64
		if err := rows.Scan(&g, &b, &n); err != nil {
			t.Fatal(err)
		}
		if got, err := db.CountBatchLines(ctx, []string{g}, b, 1<<62); err != nil || got != n {
			t.Fatalf("%s %s: %d lines traced (%v), %d stored", g, b, got, err, n)
		}
	}
}

// TestIndexOrdersConcurrent ingests from four writers at once while
// CreateOrders and a loop of IndexOrders index (on PostgreSQL the order
// ids of concurrent transactions interleave, and indexers race for the
// lock): no item may be lost or indexed twice.
func TestIndexOrdersConcurrent(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTraceWorld(t, db)
		db.SetIndexEvery(150)
		g := gtin13(t, "690123456003")
		var wg sync.WaitGroup
		done := make(chan struct{})
		errc := make(chan error, 8)
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := db.IndexOrders(ctx); err != nil {
					errc <- err
					return
				}
				time.Sleep(time.Millisecond)
			}
		})
		var writers sync.WaitGroup
		for wr := range 4 {
			writers.Go(func() {
				for b := range 12 {
					var os []*trade.Order
					for i := range 30 {
						os = append(os, &trade.Order{PlatformID: w.platA.ID, ShopID: w.shopA1.ID, SellerID: w.seller1.ID,
							OrderNo: fmt.Sprintf("CC-%d-%d-%d", wr, b, i), Buyer: "b", AmountFen: 1, Status: trade.StatusPaid, PaidAt: t0,
							Items: []trade.Item{{Line: 1, GTIN: g, Batch: fmt.Sprintf("B%d", i%5), Quantity: 1, PriceFen: 1},
								{Line: 2, GTIN: g, Batch: fmt.Sprintf("B%d", (i+wr)%5), Quantity: 2, PriceFen: 1}}})
					}
					if _, err := db.CreateOrders(ctx, os, nil); err != nil {
						errc <- err
						return
					}
				}
			})
		}
		writers.Wait()
		close(done)
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		if _, err := db.IndexOrders(ctx); err != nil {
			t.Fatal(err)
		}
		checkIndexed(t, db)
	})
}

// TestIndexInterleavedIDs indexes two pending transactions whose order ids
// interleave (as concurrent transactions drawing from a PostgreSQL
// sequence may): the batch's posting lists the items in ascending order
// id, and every count and bound holds.
func TestIndexInterleavedIDs(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		db.SetIndexEvery(0)
		g := gtin13(t, "690123456004")
		order := func(id int64, qty int) *trade.Order {
			return &trade.Order{ID: id, Items: []trade.Item{{Line: 1, GTIN: g, Batch: "X", Quantity: qty}}}
		}
		for _, os := range [][]*trade.Order{{order(101, 1), order(103, 3), order(110, 5)}, {order(102, 2), order(104, 4)}} {
			if err := db.WritePending(ctx, os); err != nil {
				t.Fatal(err)
			}
		}
		check := func(stage string) {
			t.Helper()
			if lo, hi, n, err := db.BatchSpan(ctx, []string{g}, "X"); err != nil || lo != 101 || hi != 110 || n != 5 {
				t.Fatalf("%s: span %d..%d, %d lines (%v), want 101..110, 5", stage, lo, hi, n, err)
			}
			for upto, want := range map[int64]int64{100: 0, 101: 1, 102: 2, 103: 3, 105: 4, 110: 5} {
				if n, err := db.CountBatchLines(ctx, []string{g}, "X", upto); err != nil || n != want {
					t.Fatalf("%s: %d lines up to %d (%v), want %d", stage, n, upto, err, want)
				}
			}
		}
		check("pending")
		if _, err := db.IndexOrders(ctx); err != nil {
			t.Fatal(err)
		}
		check("indexed")
	})
}
