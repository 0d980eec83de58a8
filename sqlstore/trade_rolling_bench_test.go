package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
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

// The rolling windows of a busy shop on both engines (bench/run.sh
// windows):
//
//	go test ./sqlstore -run '^$' -bench '^BenchmarkReviewWindows$' -benchtime 200x
//
// Two shops of one seller with ECREDIT_BENCH_REVIEWS reviews each (default
// 100 000), seeded with raw multi-row INSERTs (orders through
// storetest.InsertOrders): "spread" over the last two years (a quarter in
// the last six months), "recent" all in the last six months (the worst
// case: every review is in the range scanned). 90 % 好评, 4 % 中评, 6 %
// 差评; 97 % counted, 70 % of those with their detailed ratings; 1 %
// folded.
//
//   - Spread, Recent: the store's ReviewWindows of the shop (lifetime tally
//     and four buckets in one statement);
//   - Seller: the same for the seller (both shops, 200 000 reviews);
//   - ShopPublic/Recent: the whole public read of the shop (shop, owner,
//     windows, 10 recent reviews), what a profile page costs;
//   - Ceiling/Tally: the shop's lifetime tally by primary key (Tallies),
//     the read the shop page made before the windows: the ratio
//     Recent/Ceiling says what the windows cost on top of it;
//   - RowScan/Recent: COUNT(*) of the six months' reviews over
//     reviews_window_idx, the least a query reading them one by one
//     costs: what the day sums of review_days save.
//
// Each reports queries/s; bench/run.sh divides by the ceiling.

func benchReviews() int {
	if s := os.Getenv("ECREDIT_BENCH_REVIEWS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 100000
}

var benchWindowsAt = time.Date(2026, 6, 20, 4, 0, 0, 0, time.UTC)

// seedShopReviews writes n orders and their reviews for shop, written over
// the days before benchWindowsAt, and the shop's tally.
func seedShopReviews(b *testing.B, db *sqlstore.DB, sh *registry.Shop, n, days int, seed uint64) {
	b.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	created := make([]time.Time, n)
	for i := range created {
		created[i] = benchWindowsAt.Add(-time.Duration(rng.Int64N(int64(days) * 24 * int64(time.Hour)))).Truncate(time.Second)
	}
	first := storetest.InsertOrders(b, db, n, func(i int) storetest.Order {
		return storetest.Order{PlatformID: sh.PlatformID, ShopID: sh.ID, SellerID: sh.OwnerID, OrderNo: fmt.Sprintf("RW%d-%d", sh.ID, i),
			Buyer: fmt.Sprintf("b%d", i%5000), Status: "signed", PaidAt: created[i].Add(-72 * time.Hour),
			Items: []storetest.Item{{GTIN: gtinA, Quantity: 1, PriceFen: 990}}}
	})
	t := trade.Tally{ShopID: sh.ID, SellerID: sh.OwnerID}
	const cols = 15
	const perStmt = 500
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	err := db.WriteTx(ctx, "bench", func(tx *sql.Tx) error {
		for start := 0; start < n; start += perStmt {
			end := min(start+perStmt, n)
			args := make([]any, 0, (end-start)*cols)
			for i := start; i < end; i++ {
				rating := 1
				switch x := rng.IntN(100); {
				case x < 4:
					rating = 0
				case x < 10:
					rating = -1
				}
				stars := 3 + rating + rng.IntN(2) // 2–5
				counted, dsr := rng.IntN(100) < 97, false
				dsr = counted && rng.IntN(100) < 70
				var folded int64
				t.Reviews++
				if rng.IntN(100) == 0 {
					folded = created[i].Add(time.Hour).UnixMicro()
					t.Folded++
				} else if counted {
					switch rating {
					case 1:
						t.Positive++
					case 0:
						t.Neutral++
					default:
						t.Negative++
					}
					if dsr {
						t.DSRCount++
						t.DescriptionSum += int64(stars)
						t.ServiceSum += int64(stars)
						t.LogisticsSum += int64(stars)
					}
				}
				paid := created[i].Add(-72 * time.Hour).In(clock.Shanghai)
				args = append(args, first+int64(i), sh.PlatformID, sh.ID, sh.OwnerID, fmt.Sprintf("b%d", i%5000), paid.Year()*100+int(paid.Month()),
					rating, stars, stars, stars, bit(counted), bit(dsr), created[i].UnixMicro(), folded, "")
			}
			q := `INSERT INTO reviews (order_id, platform_id, shop_id, seller_id, buyer, month, rating, description, service, logistics,
				counted, dsr_counted, created_at, folded_at, fold_reason) VALUES ` + tuple + strings.Repeat(", "+tuple, end-start-1)
			if _, err := tx.ExecContext(ctx, db.Dialect().Rebind(q), args...); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, db.Dialect().Rebind(`INSERT INTO shop_scores (shop_id, seller_id, reviews, folded, positive,
			neutral, negative, dsr_count, description_sum, service_sum, logistics_sum, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			t.ShopID, t.SellerID, t.Reviews, t.Folded, t.Positive, t.Neutral, t.Negative, t.DSRCount, t.DescriptionSum, t.ServiceSum,
			t.LogisticsSum, benchWindowsAt.UnixMicro())
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
}

func bit(v bool) int {
	if v {
		return 1
	}
	return 0
}

func BenchmarkReviewWindows(b *testing.B) {
	storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
		n := benchReviews()
		start := time.Now()
		db.SetClock(clock.NewFake(benchWindowsAt))
		k := int(benchSeq.Add(10))
		p := mustCreate(b, db, org(b, 6_000_000+k, registry.KindPlatform, "窗口基准平台", "130802"))
		m := mustCreate(b, db, org(b, 6_000_001+k, registry.KindMerchant, "窗口基准商户", "130802"))
		var shops []*registry.Shop
		for i := range 2 {
			sh := &registry.Shop{PlatformID: p.ID, OwnerID: m.ID, Name: fmt.Sprintf("窗口店%d", i), URL: "https://w.example.cn",
				Domain: "w.example.cn", Category: "food", Status: registry.StatusActive}
			if err := db.CreateShop(ctx, sh, nil); err != nil {
				b.Fatal(err)
			}
			shops = append(shops, sh)
		}
		seedShopReviews(b, db, shops[0], n, 730, 1)
		seedShopReviews(b, db, shops[1], n, 180, 2)
		if _, err := db.WriterDB().ExecContext(ctx, "ANALYZE"); err != nil {
			b.Fatal(err)
		}
		b.Logf("%s: seeded 2 shops × %d reviews in %s", db.Engine(), n, time.Since(start).Round(time.Millisecond))
		edges := trade.WindowEdges(benchWindowsAt)
		plan, err := db.ReviewWindowsPlan(ctx, shops[1].ID, edges)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%s plan of the windows statement:\n%s", db.Engine(), plan)
		report := func(b *testing.B) { b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s") }
		windows := func(name string, seller int64, shopIDs []int64) {
			b.Run(name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if _, _, err := db.ReviewWindows(ctx, seller, shopIDs, edges); err != nil {
						b.Fatal(err)
					}
				}
				report(b)
			})
		}
		windows("Spread", 0, []int64{shops[0].ID})
		windows("Recent", 0, []int64{shops[1].ID})
		windows("Seller", m.ID, nil)
		b.Run("ShopPublic/Recent", func(b *testing.B) {
			svc := &trade.Service{Store: db, Clock: clock.NewFake(benchWindowsAt)}
			pub := account.With(context.Background(), account.Public("1.2.3.4", "bench"))
			for i := 0; i < b.N; i++ {
				if _, err := svc.ShopPublic(pub, shops[1].ID); err != nil {
					b.Fatal(err)
				}
			}
			report(b)
		})
		// The read a shop's page made before the windows: its lifetime
		// tally by primary key.
		b.Run("Ceiling/Tally", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := db.Tallies(ctx, 0, []int64{shops[1].ID}); err != nil {
					b.Fatal(err)
				}
			}
			report(b)
		})
		// What reading the six months review by review would at least
		// cost: COUNT(*) over the same rows of reviews_window_idx.
		b.Run("RowScan/Recent", func(b *testing.B) {
			q := db.Dialect().Rebind("SELECT COUNT(*) FROM reviews WHERE shop_id = ? AND counted = 1 AND folded_at = 0 AND created_at >= ?")
			for i := 0; i < b.N; i++ {
				var c int
				if err := db.ReaderDB().QueryRowContext(ctx, q, shops[1].ID, edges[0].UnixMicro()).Scan(&c); err != nil {
					b.Fatal(err)
				}
			}
			report(b)
		})
	})
}
