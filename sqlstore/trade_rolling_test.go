package sqlstore_test

import (
	"fmt"
	"testing"
	"time"

	"ecredit/clock"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trade"
)

// TestTradeRollingWindows writes reviews at chosen instants with a fake
// clock — on each side of every window edge, after the instant asked for,
// folded, and beyond the monthly buyer–seller bound — and checks the
// 信用评价 table, the six-month 好评率 and detailed ratings of a shop and of
// a seller against a brute-force count of the stored reviews and against
// numbers worked out by hand.
func TestTradeRollingWindows(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTradeWorld(t, db)
		sh := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, clock.Shanghai) }
		// Asked at 31 August 2026 12:00 in Shanghai: the month edge is 31
		// July, the six-month edge 28 February (no 31st), the week edge
		// 24 August, all at 12:00.
		at := sh(2026, 8, 31, 12)
		weekEdge, monthEdge, halfEdge := sh(2026, 8, 24, 12), sh(2026, 7, 31, 12), sh(2026, 2, 28, 12)
		if e := trade.WindowEdges(at); !e[0].Equal(halfEdge) || !e[1].Equal(monthEdge) || !e[2].Equal(weekEdge) || !e[3].Equal(at.Add(time.Microsecond)) {
			t.Fatalf("edges %v", e)
		}
		us := time.Microsecond
		seq := 0
		type spec struct {
			shop     int64
			buyer    string
			at       time.Time
			paid     time.Time // zero: 3 days before at
			rating   int
			stars    int
			fold     bool
			platform string // "b" for shop B
		}
		write := func(s spec) *trade.Review {
			t.Helper()
			seq++
			w.clk.Set(s.at)
			paid := s.paid
			if paid.IsZero() {
				paid = s.at.Add(-72 * time.Hour)
			}
			in := w.order(fmt.Sprintf("W-%d", seq), s.buyer, paid)
			in.Waybill = fmt.Sprintf("SFW%d", seq)
			plat := w.platA
			if s.shop != 0 {
				in.ShopID = s.shop
			}
			if s.platform == "b" {
				plat = w.platB
			}
			o, err := w.svc.Ingest(plat, in)
			if err != nil {
				t.Fatal(err)
			}
			r := s.rating
			rv, err := w.svc.Review(plat, o.ID, trade.ReviewInput{Buyer: s.buyer, Rating: &r, Description: s.stars, Service: s.stars, Logistics: 6 - s.stars})
			if err != nil {
				t.Fatal(err)
			}
			if s.fold {
				w.clk.Set(s.at.Add(time.Hour))
				if _, err := w.svc.Fold(plat, rv.ID, trade.FoldInput{Reason: "恶意差评"}); err != nil {
					t.Fatal(err)
				}
			}
			return rv
		}
		// Shop A.
		write(spec{buyer: "w01", at: at, rating: 1, stars: 5})                              // week (the instant itself)
		write(spec{buyer: "w02", at: weekEdge, rating: 1, stars: 4})                        // week (its first instant)
		write(spec{buyer: "w03", at: weekEdge.Add(-us), rating: 0, stars: 3})               // month
		write(spec{buyer: "w04", at: monthEdge, rating: -1, stars: 1})                      // month (its first instant)
		write(spec{buyer: "w05", at: monthEdge.Add(-us), rating: 1, stars: 5})              // six months
		write(spec{buyer: "w06", at: halfEdge, rating: 0, stars: 2})                        // six months (its first instant)
		write(spec{buyer: "w07", at: halfEdge.Add(-us), rating: -1, stars: 1})              // older
		write(spec{buyer: "w08", at: sh(2025, 10, 1, 9), rating: 1, stars: 5})              // older
		write(spec{buyer: "w09", at: sh(2026, 8, 28, 9), rating: -1, stars: 1, fold: true}) // folded: nowhere
		write(spec{buyer: "w10", at: at.Add(us), rating: -1, stars: 1})                     // after the instant: nowhere
		// Beyond the bound: 8 reviews of one buyer's orders paid in August,
		// written in the week: 6 count, 3 of them with their detailed
		// ratings (4 stars); the other 5 stars never count.
		for i := range 8 {
			stars := 4
			if i >= 3 {
				stars = 2
			}
			write(spec{buyer: "regular", at: sh(2026, 8, 26, 10+i), paid: sh(2026, 8, 10, 10+i), rating: 1, stars: stars})
		}
		// Shop B (the same merchant, platform B) and shop S (another seller).
		write(spec{shop: w.shopB.ID, platform: "b", buyer: "b01", at: sh(2026, 8, 30, 9), rating: 0, stars: 3})
		write(spec{shop: w.shopB.ID, platform: "b", buyer: "b02", at: sh(2026, 1, 5, 9), rating: 1, stars: 5})
		write(spec{shop: w.shopS.ID, buyer: "s01", at: sh(2026, 8, 30, 9), rating: -1, stars: 1})

		w.clk.Set(at)
		sp, err := w.svc.ShopPublic(w.public, w.shopA.ID)
		if err != nil {
			t.Fatal(err)
		}
		win := sp.Reputation.Windows
		if win == nil || !win.AsOf.Equal(at) {
			t.Fatalf("windows %+v", win)
		}
		// By hand: week w01 w02 + 6 of the regular's = 8 好评; month adds
		// w03 (中) and w04 (差); six months adds w05 (好) and w06 (中);
		// older w07 (差) and w08 (好).
		want := map[string][3]int{
			trade.WindowWeek:     {8, 0, 0},
			trade.WindowMonth:    {8, 1, 1},
			trade.WindowHalfYear: {9, 2, 1},
			trade.WindowOlder:    {1, 0, 1},
			trade.WindowTotal:    {10, 2, 2},
		}
		checkRows(t, "shop A", win, want)
		if r := win.Row(trade.WindowWeek); !r.From.Equal(weekEdge) || !r.Until.IsZero() {
			t.Errorf("week row bounds %v %v", r.From, r.Until)
		}
		if r := win.Row(trade.WindowOlder); !r.From.IsZero() || !r.Until.Equal(halfEdge) {
			t.Errorf("older row bounds %v %v", r.From, r.Until)
		}
		// Six months: 12 counted, 9 好评 → 0.75. Detailed ratings: w01 5,
		// w02 4, w03 3, w04 1, w05 5, w06 2 and the regular's first three
		// 4s: 9 ratings summing to 32 (description); logistics is 6 − stars.
		hy := win.HalfYear
		if hy.Counted != 12 || hy.PositiveRate != 0.75 {
			t.Errorf("half year %+v", hy)
		}
		bayes := func(sum int64, n int) float64 { return float64(int64(trade.Bayes(sum, n, 4.5, 30)*100+0.5)) / 100 }
		if hy.Description.Count != 9 || hy.Description.Score != bayes(32, 9) || hy.Logistics.Score != bayes(9*6-32, 9) {
			t.Errorf("half-year detailed ratings %+v %+v", hy.Description, hy.Logistics)
		}
		// Lifetime: the same plus the older two and the review after the
		// instant (the lifetime tally has every written review).
		rt := sp.Reputation.Ratings
		if rt.Positive != 10 || rt.Negative != 3 || rt.Folded != 1 || rt.Reviews != 18 || rt.Description.Count != 12 {
			t.Errorf("lifetime %+v", rt)
		}
		checkAgainstReviews(t, w, []int64{w.shopA.ID}, at, win)

		// The seller over its two shops (B adds a 中评 in the week and an
		// older 好评 of 5 January); shop S's owner is someone else.
		sr, err := w.svc.SubjectReputation(w.public, w.merchant.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkRows(t, "merchant", sr.Windows, map[string][3]int{
			trade.WindowWeek:     {8, 1, 0},
			trade.WindowMonth:    {8, 2, 1},
			trade.WindowHalfYear: {9, 3, 1},
			trade.WindowOlder:    {2, 0, 1},
			trade.WindowTotal:    {11, 3, 2},
		})
		checkAgainstReviews(t, w, []int64{w.shopA.ID, w.shopB.ID}, at, sr.Windows)
		ss, err := w.svc.SubjectReputation(w.public, w.seller.ID)
		if err != nil || ss.Windows.Row(trade.WindowWeek).Negative != 1 || ss.Windows.Row(trade.WindowTotal).Counted() != 1 {
			t.Fatalf("seller S: %+v %v", ss, err)
		}

		// Forty days later the week and month are empty of the old ones
		// and the review written after the first instant is in them.
		later := at.AddDate(0, 0, 40)
		w.clk.Set(later)
		sp, err = w.svc.ShopPublic(w.public, w.shopA.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkRows(t, "shop A later", sp.Reputation.Windows, map[string][3]int{
			trade.WindowWeek:     {0, 0, 0},
			trade.WindowMonth:    {0, 0, 0},
			trade.WindowHalfYear: {9, 1, 2}, // since 10 April: w10 (written 1 µs after at) joins
			trade.WindowOlder:    {1, 1, 1}, // w06 (28 February) is older now
			trade.WindowTotal:    {10, 2, 3},
		})
		checkAgainstReviews(t, w, []int64{w.shopA.ID}, later, sp.Reputation.Windows)

		// Bad edges are refused, not answered.
		if _, _, err := db.ReviewWindows(ctx, 0, []int64{w.shopA.ID}, nil); err == nil {
			t.Error("no edges accepted")
		}
		if _, _, err := db.ReviewWindows(ctx, 0, []int64{w.shopA.ID}, []time.Time{at, at}); err == nil {
			t.Error("edges not ascending accepted")
		}
	})
}

func checkRows(t *testing.T, where string, win *trade.Windows, want map[string][3]int) {
	t.Helper()
	if win == nil || len(win.Rows) != 5 {
		t.Fatalf("%s: windows %+v", where, win)
	}
	keys := []string{trade.WindowWeek, trade.WindowMonth, trade.WindowHalfYear, trade.WindowOlder, trade.WindowTotal}
	for i, r := range win.Rows {
		if r.Key != keys[i] || r.Label == "" {
			t.Errorf("%s: row %d is %q %q", where, i, r.Key, r.Label)
		}
		if got := [3]int{r.Positive, r.Neutral, r.Negative}; got != want[r.Key] {
			t.Errorf("%s: %s (%s) 好评/中评/差评 = %v, want %v", where, r.Label, r.Key, got, want[r.Key])
		}
	}
}

// checkAgainstReviews counts the shops' stored reviews one by one — counted,
// not folded, written at or before at — into the windows' rows and the
// six-month detailed ratings, and compares.
func checkAgainstReviews(t *testing.T, w *tradeWorld, shops []int64, at time.Time, win *trade.Windows) {
	t.Helper()
	e := trade.WindowEdges(at)
	got := map[string]*[3]int{}
	for _, k := range []string{trade.WindowWeek, trade.WindowMonth, trade.WindowHalfYear, trade.WindowOlder, trade.WindowTotal} {
		got[k] = &[3]int{}
	}
	var dsrN int
	var dsrSum int64
	for _, shop := range shops {
		list, err := w.db.ListReviews(ctx, trade.ReviewFilter{ShopID: shop, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range list {
			if !r.Counted || r.Folded() || r.CreatedAt.After(at) {
				continue
			}
			i := 1 - int(r.Rating) // 好评 0, 中评 1, 差评 2
			add := func(k string) { got[k][i]++ }
			add(trade.WindowTotal)
			if r.CreatedAt.Before(e[0]) {
				add(trade.WindowOlder)
				continue
			}
			add(trade.WindowHalfYear)
			if r.DSRCounted {
				dsrN++
				dsrSum += int64(r.Description)
			}
			if !r.CreatedAt.Before(e[1]) {
				add(trade.WindowMonth)
			}
			if !r.CreatedAt.Before(e[2]) {
				add(trade.WindowWeek)
			}
		}
	}
	want := map[string][3]int{}
	for k, v := range got {
		want[k] = *v
	}
	checkRows(t, "brute force", win, want)
	if win.HalfYear.Description.Count != dsrN || (dsrN > 0 && win.HalfYear.Description.Mean != float64(int64(float64(dsrSum)/float64(dsrN)*100+0.5))/100) {
		t.Errorf("half-year description %+v, brute force %d ratings summing to %d", win.HalfYear.Description, dsrN, dsrSum)
	}
}
