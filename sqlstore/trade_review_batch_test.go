package sqlstore_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"ecredit/audit"
	"ecredit/errs"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trade"
)

// A review batch is stored in one transaction and counts as the same
// reviews sent one at a time do: the monthly bound of a buyer–seller pair
// counts the batch's earlier reviews, the shop's tally is the same, a line
// repeating an earlier one (stored or in the batch) is unchanged with its
// id, a different one a conflict; a 追评 may follow its review in the same
// batch. The store refuses a batch naming a rated order as a whole.
func TestTradeReviewBatch(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTradeWorld(t, db)
		w.clk.Set(time.Date(2026, 7, 10, 4, 0, 0, 0, time.UTC))
		june := time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC)
		one := func(v int) *int { return &v }
		ingest := func(in trade.OrderInput) int64 {
			t.Helper()
			r, err := w.svc.Ingest(w.platA, in)
			if err != nil {
				t.Fatal(err)
			}
			return r.ID
		}
		var lines []trade.ReviewLine
		for i := 1; i <= 9; i++ {
			no := fmt.Sprintf("RB-%d", i)
			ingest(w.order(no, "buyer_r", june.Add(time.Duration(i)*24*time.Hour)))
			l := trade.ReviewLine{OrderNo: no, Buyer: "buyer_r", Rating: one(1), Description: 1, Service: 5, Logistics: 4, Text: "好"}
			if i == 1 {
				l.Description = 5
			}
			lines = append(lines, l)
		}
		ingest(w.order("RB-J", "buyer_r", time.Date(2026, 6, 30, 17, 0, 0, 0, time.UTC))) // 1 July in Shanghai
		lines = append(lines,
			trade.ReviewLine{OrderNo: "RB-J", Buyer: "buyer_r", Rating: one(1), Description: 5, Service: 5, Logistics: 4, Text: "好"},
			lines[2], // the same again: unchanged
			trade.ReviewLine{OrderNo: "RB-4", Buyer: "buyer_r", Rating: one(-1), Description: 1, Service: 1, Logistics: 1}, // conflict
			trade.ReviewLine{Type: trade.LineFollowup, OrderNo: "RB-1", Buyer: "buyer_r", Text: "用了一个月"},
			trade.ReviewLine{Type: trade.LineBuyerRating, OrderNo: "RB-1", Rating: one(1), Text: "爽快"},
			trade.ReviewLine{Type: trade.LineBuyerRating, OrderNo: "RB-1", Rating: one(1), Text: "爽快"},                    // unchanged
			trade.ReviewLine{OrderNo: "RB-2", Buyer: "someone", Rating: one(1), Description: 5, Service: 5, Logistics: 5}, // not the buyer
		)
		res, err := w.svc.IngestReviews(w.platA, lines)
		if err != nil {
			t.Fatal(err)
		}
		want := "created created created created created created created created created created unchanged error created created unchanged error"
		if got := resultStatuses(res); got != want {
			t.Fatalf("statuses\n got %s\nwant %s", got, want)
		}
		if res[10].ID != res[2].ID || res[14].ID != res[13].ID || res[2].ID == 0 || res[13].ID == 0 {
			t.Fatalf("ids of repeated lines: %+v", res)
		}
		wantCode(t, res[11].Err, errs.Conflict, "order_no")
		wantCode(t, res[15].Err, errs.Forbidden, "buyer")
		sp, err := w.svc.ShopPublic(w.public, w.shopA.ID)
		if err != nil {
			t.Fatal(err)
		}
		// As TestTradeReviews sent one at a time: June 6 counted, 3 with
		// their detailed ratings; July 1 with them.
		rt := sp.Reputation.Ratings
		if sp.Reputation.Points != 7 || rt.Reviews != 10 || rt.Counted != 7 || rt.Description.Count != 4 {
			t.Fatalf("reputation %+v", sp.Reputation)
		}
		if want := math.Round(trade.Bayes(12, 4, 4.5, 30)*100) / 100; rt.Description.Score != want {
			t.Fatalf("description %+v, want score %v", rt.Description, want)
		}
		r1, err := db.GetReview(ctx, res[0].ID)
		if err != nil || r1.Followup != "用了一个月" || r1.Description != 5 {
			t.Fatalf("review 1 %+v %v", r1, err)
		}
		// Sent again whole: nothing new.
		again, err := w.svc.IngestReviews(w.platA, lines)
		if err != nil {
			t.Fatal(err)
		}
		if got := resultStatuses(again); got != "unchanged unchanged unchanged unchanged unchanged unchanged unchanged unchanged unchanged unchanged unchanged error unchanged unchanged unchanged error" {
			t.Fatalf("again: %s", got)
		}

		// The store: a batch naming an order that has a review is refused
		// whole — no review, tally or audit entry written.
		fresh := ingest(w.order("RB-X", "buyer_x", june))
		o1, err := db.GetOrder(ctx, fresh)
		if err != nil {
			t.Fatal(err)
		}
		mk := func(orderID int64) *trade.Review {
			return &trade.Review{OrderID: orderID, PlatformID: o1.PlatformID, ShopID: o1.ShopID, SellerID: o1.SellerID, Buyer: "buyer_x",
				Month: 202606, Rating: trade.Positive, Description: 5, Service: 5, Logistics: 5}
		}
		audits := auditCount(t, db)
		before, _ := w.svc.ShopPublic(w.public, w.shopA.ID)
		err = db.CreateReviewBatch(ctx, []*trade.Review{mk(fresh), mk(mustOrderID(t, db, w, "RB-1"))}, nil, trade.Bounds{Points: 6, DSR: 3},
			&audit.Entry{ActorName: "test", Action: audit.ActCreate, Object: "reviews"})
		wantCode(t, err, errs.Conflict, "order_id")
		after, _ := w.svc.ShopPublic(w.public, w.shopA.ID)
		if _, err := db.ReviewOfOrder(ctx, fresh); !errs.Is(err, errs.NotFound) || auditCount(t, db) != audits ||
			after.Reputation.Ratings.Reviews != before.Reputation.Ratings.Reviews {
			t.Fatalf("a refused batch wrote: %v, %d audit entries more", err, auditCount(t, db)-audits)
		}
	})
}

func resultStatuses(rs []trade.Result) string {
	s := ""
	for i, r := range rs {
		if i > 0 {
			s += " "
		}
		s += r.Status
	}
	return s
}

func mustOrderID(t *testing.T, db *sqlstore.DB, w *tradeWorld, no string) int64 {
	t.Helper()
	os, err := db.OrdersByNos(ctx, w.platAID, []string{no})
	if err != nil || os[no] == nil {
		t.Fatalf("order %s: %v", no, err)
	}
	return os[no].ID
}

// Batches racing for the same buyer–seller pair and month (and a single
// call among them) never count more than the monthly bound: each takes
// the seller's lock before it counts.
func TestTradeReviewBatchRace(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTradeWorld(t, db)
		w.clk.Set(time.Date(2026, 7, 10, 4, 0, 0, 0, time.UTC))
		june := time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC)
		one := func(v int) *int { return &v }
		const racers, each = 4, 3
		var ids []int64
		lines := make([][]trade.ReviewLine, racers)
		for g := range racers {
			for k := range each {
				no := fmt.Sprintf("RR-%d-%d", g, k)
				r, err := w.svc.Ingest(w.platA, w.order(no, "buyer_r", june.Add(time.Duration(g*each+k)*time.Hour)))
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, r.ID)
				lines[g] = append(lines[g], trade.ReviewLine{OrderNo: no, Buyer: "buyer_r", Rating: one(1), Description: 5, Service: 5, Logistics: 5})
			}
		}
		single, err := w.svc.Ingest(w.platA, w.order("RR-single", "buyer_r", june.Add(20*time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, racers+1)
		for g := range racers {
			go func() {
				res, err := w.svc.IngestReviews(w.platA, lines[g])
				if err == nil && resultStatuses(res) != "created created created" {
					err = fmt.Errorf("racer %d: %s", g, resultStatuses(res))
				}
				errc <- err
			}()
		}
		go func() {
			_, err := w.svc.Review(w.platA, single.ID, trade.ReviewInput{Buyer: "buyer_r", Rating: one(1), Description: 5, Service: 5, Logistics: 5})
			errc <- err
		}()
		for range racers + 1 {
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		}
		var counted, dsr, n int
		if err := db.ReaderDB().QueryRowContext(ctx, db.Dialect().Rebind("SELECT SUM(counted), SUM(dsr_counted), COUNT(*) FROM reviews WHERE buyer = ?"),
			"buyer_r").Scan(&counted, &dsr, &n); err != nil {
			t.Fatal(err)
		}
		bounds := trade.DefaultConfig()
		if n != racers*each+1 || counted != bounds.PairMonthlyPoints || dsr != bounds.PairMonthlyDSR {
			t.Fatalf("%d reviews, %d counted (bound %d), %d with detailed ratings (bound %d)", n, counted, bounds.PairMonthlyPoints, dsr, bounds.PairMonthlyDSR)
		}
	})
}

// A review or rating must agree with its order (00021: once a statement
// on PostgreSQL, once a row on SQLite), and never changes order,
// platform, shop or seller.
func TestTradeRatingRefs(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTradeWorld(t, db)
		w.clk.Set(time.Date(2026, 7, 10, 4, 0, 0, 0, time.UTC))
		r, err := w.svc.Ingest(w.platA, w.order("RF-1", "buyer_f", time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC)))
		if err != nil {
			t.Fatal(err)
		}
		o := r.Order
		good := func() *trade.Review {
			return &trade.Review{OrderID: o.ID, PlatformID: o.PlatformID, ShopID: o.ShopID, SellerID: o.SellerID, Buyer: o.Buyer,
				Month: 202606, Rating: trade.Positive, Description: 5, Service: 5, Logistics: 5}
		}
		entry := func() *audit.Entry {
			return &audit.Entry{ActorName: "test", Action: audit.ActCreate, Object: "reviews"}
		}
		wrongShop, wrongSeller := good(), good()
		wrongShop.ShopID = w.shopS.ID // another shop of the same platform
		wrongSeller.SellerID = w.seller.ID
		for name, rv := range map[string]*trade.Review{"shop": wrongShop, "seller": wrongSeller} {
			if err := db.CreateReviewBatch(ctx, []*trade.Review{rv}, nil, trade.Bounds{Points: 6, DSR: 3}, entry()); err == nil {
				t.Fatalf("a review naming another %s than its order's: stored", name)
			}
		}
		badRating := &trade.BuyerRating{OrderID: o.ID, PlatformID: w.platBID, SellerID: o.SellerID, Buyer: o.Buyer, Rating: trade.Positive}
		if err := db.CreateReviewBatch(ctx, nil, []*trade.BuyerRating{badRating}, trade.Bounds{}, entry()); err == nil {
			t.Fatal("a rating naming another platform than its order's: stored")
		}
		if _, err := db.ReviewOfOrder(ctx, o.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("after the refusals: %v", err)
		}
		if err := db.CreateReviewBatch(ctx, []*trade.Review{good()}, nil, trade.Bounds{Points: 6, DSR: 3}, entry()); err != nil {
			t.Fatal(err)
		}
		for q, v := range map[string]int64{"UPDATE reviews SET shop_id = ? WHERE order_id = ?": w.shopS.ID,
			"UPDATE reviews SET seller_id = ? WHERE order_id = ?": w.seller.ID} {
			if _, err := db.WriterDB().ExecContext(ctx, db.Dialect().Rebind(q), v, o.ID); err == nil {
				t.Errorf("%s: no error", q)
			}
		}
	})
}
