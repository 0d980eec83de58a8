package demo

import (
	"context"
	"fmt"
	"testing"

	"ecredit/account"
	"ecredit/clock"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trade"
)

// TestGenerateTrade checks the demo's orders and reviews on both engines:
// the service takes every generated order back as "unchanged" (so each is
// valid and stored exactly as the service would store it), the monthly
// buyer–seller bounds hold, and every shop's tally equals its counted,
// unfolded reviews.
func TestGenerateTrade(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := account.With(context.Background(), account.System)
		clk := clock.NewFake(testNow)
		db.SetClock(clk)
		sum, err := Generate(ctx, db, testKeys(t), Options{Seed: 5, Subjects: 300, Clock: clk, Batch: 300})
		if err != nil {
			t.Fatal(err)
		}
		tc := sum.Trade
		if tc.Orders != 300*OrdersPerSubject || tc.Reviews < tc.Orders/3 || tc.Followups == 0 || tc.BuyerRatings == 0 || tc.BatchReviews == 0 {
			t.Fatalf("trade counts %+v", tc)
		}
		// Today's reviews came as one platform's batch through the service:
		// one audit entry of that platform for them.
		var batches int
		if err := db.ReaderDB().QueryRowContext(ctx, db.Dialect().Rebind("SELECT COUNT(*) FROM audit_log WHERE object = ?"),
			fmt.Sprintf("reviews:platform:%d", tc.BatchPlatform)).Scan(&batches); err != nil || batches != 1 {
			t.Fatalf("review batch audit entries: %d, %v", batches, err)
		}
		// Third-party evaluations: every one stored and valid now, one per
		// evaluated merchant, as many as the summary says; the city has
		// credit agencies to make them.
		var agencies, stored, n0, valid int
		if err := db.ReaderDB().QueryRowContext(ctx, "SELECT COUNT(*) FROM subjects WHERE kind = 'service' AND form = 'credit_service'").Scan(&agencies); err != nil {
			t.Fatal(err)
		}
		if err := db.ReaderDB().QueryRowContext(ctx, db.Dialect().Rebind("SELECT COUNT(*), COUNT(DISTINCT subject_id), SUM(CASE WHEN valid_from <= ? AND valid_until > ? THEN 1 ELSE 0 END) FROM credit_evaluations"),
			clk.Now().UnixMicro(), clk.Now().UnixMicro()).Scan(&stored, &n0, &valid); err != nil {
			t.Fatal(err)
		}
		if agencies == 0 || tc.Evaluations == 0 || stored != tc.Evaluations || n0 != stored || valid != stored {
			t.Fatalf("%d agencies; %d evaluations in the summary, %d stored of %d subjects, %d valid now", agencies, tc.Evaluations, stored, n0, valid)
		}
		svc := &trade.Service{Store: db, Clock: clk}
		var n int
		for after := int64(0); ; {
			list, err := db.ListOrders(ctx, trade.OrderFilter{After: after, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(list) == 0 {
				break
			}
			ins := make([]trade.OrderInput, len(list))
			for i, o := range list {
				in := trade.OrderInput{OrderNo: o.OrderNo, ShopID: o.ShopID, Buyer: o.Buyer, AmountFen: o.AmountFen, Status: o.Status,
					PaidAt: o.PaidAt, ShippedAt: o.ShippedAt, SignedAt: o.SignedAt, Region: o.Region, Waybill: o.Waybill}
				for _, it := range o.Items {
					in.Items = append(in.Items, trade.ItemInput{GTIN: it.GTIN, Batch: it.Batch, Name: it.Name, Category: it.Category, Quantity: it.Quantity, PriceFen: it.PriceFen})
				}
				if o.CarrierID != 0 {
					c, err := db.GetSubject(ctx, o.CarrierID)
					if err != nil {
						t.Fatal(err)
					}
					in.CarrierCode = c.CreditCode
				}
				ins[i] = in
			}
			res, err := svc.IngestBatch(ctx, ins)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				if r.Status != trade.ResultUnchanged {
					t.Fatalf("order %s: %s %v", list[i].OrderNo, r.Status, r.Err)
				}
			}
			n += len(list)
			after = list[len(list)-1].ID
		}
		if n != tc.Orders {
			t.Fatalf("%d orders stored, summary says %d", n, tc.Orders)
		}
		q := func(query string) int {
			var v int
			if err := db.ReaderDB().QueryRowContext(ctx, query).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		bounds := trade.DefaultConfig()
		if m := q(`SELECT COALESCE(MAX(c), 0) FROM (SELECT SUM(counted) AS c FROM reviews GROUP BY platform_id, seller_id, buyer, month) x`); m > bounds.PairMonthlyPoints {
			t.Errorf("a pair counted %d reviews in a month", m)
		}
		if m := q(`SELECT COALESCE(MAX(c), 0) FROM (SELECT SUM(dsr_counted) AS c FROM reviews GROUP BY platform_id, seller_id, buyer, month) x`); m > bounds.PairMonthlyDSR {
			t.Errorf("a pair counted %d detailed ratings in a month", m)
		}
		if m := q(`SELECT COUNT(*) FROM reviews WHERE counted = 0`); m == 0 {
			t.Error("no review beyond the monthly bound: the regulars of popular shops should exceed it")
		}
		bad := q(`SELECT COUNT(*) FROM shop_scores s WHERE s.positive <> (SELECT COUNT(*) FROM reviews r WHERE r.shop_id = s.shop_id AND r.counted = 1 AND r.folded_at = 0 AND r.rating = 1)
			OR s.negative <> (SELECT COUNT(*) FROM reviews r WHERE r.shop_id = s.shop_id AND r.counted = 1 AND r.folded_at = 0 AND r.rating = -1)
			OR s.description_sum <> (SELECT COALESCE(SUM(description), 0) FROM reviews r WHERE r.shop_id = s.shop_id AND r.dsr_counted = 1 AND r.folded_at = 0)
			OR s.reviews <> (SELECT COUNT(*) FROM reviews r WHERE r.shop_id = s.shop_id)
			OR s.folded <> (SELECT COUNT(*) FROM reviews r WHERE r.shop_id = s.shop_id AND r.folded_at <> 0)`)
		if bad != 0 {
			t.Errorf("%d shop tallies differ from their reviews", bad)
		}
		// The day sums of the rolling windows (review_days, kept by the
		// triggers of migration 00012 under the demo's bulk inserts)
		// equal the counted, unfolded reviews.
		bad = q(`SELECT COUNT(*) FROM shop_scores s WHERE s.positive <> (SELECT COALESCE(SUM(positive), 0) FROM review_days d WHERE d.shop_id = s.shop_id)
			OR s.neutral <> (SELECT COALESCE(SUM(neutral), 0) FROM review_days d WHERE d.shop_id = s.shop_id)
			OR s.negative <> (SELECT COALESCE(SUM(negative), 0) FROM review_days d WHERE d.shop_id = s.shop_id)
			OR s.dsr_count <> (SELECT COALESCE(SUM(dsr_count), 0) FROM review_days d WHERE d.shop_id = s.shop_id)
			OR s.logistics_sum <> (SELECT COALESCE(SUM(logistics_sum), 0) FROM review_days d WHERE d.shop_id = s.shop_id)`)
		if bad != 0 {
			t.Errorf("%d shops' day sums differ from their tallies", bad)
		}
		// The busiest shop's 信用评价 table has reviews in the last week and
		// before the last six months.
		var busiest int64
		if err := db.ReaderDB().QueryRowContext(ctx, `SELECT shop_id FROM shop_scores ORDER BY reviews DESC, shop_id LIMIT 1`).Scan(&busiest); err != nil {
			t.Fatal(err)
		}
		sp, err := svc.ShopPublic(ctx, busiest)
		if err != nil {
			t.Fatal(err)
		}
		w := sp.Reputation.Windows
		if w.Row(trade.WindowWeek).Counted() == 0 || w.Row(trade.WindowOlder).Counted() == 0 || w.Row(trade.WindowHalfYear).Counted() <= w.Row(trade.WindowMonth).Counted() {
			t.Errorf("busiest shop %d: windows %+v", busiest, w.Rows)
		}
		// Zipf: the busiest shop sells far more than the median one.
		top := q(`SELECT MAX(c) FROM (SELECT COUNT(*) AS c FROM orders GROUP BY shop_id) x`)
		if top < 10*tc.Orders/q(`SELECT COUNT(*) FROM shops`) {
			t.Errorf("busiest shop has only %d orders", top)
		}
	})
}
