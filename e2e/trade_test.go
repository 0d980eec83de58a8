package e2e

import (
	"cmp"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"ecredit/trade"
)

func init() { register("trade-ratings", flowTradeRatings) }

// publicShop is GET /api/v1/public/shops/{id}.
type publicShop struct {
	Shop struct {
		ID        int64  `json:"id"`
		Name      string `json:"name"`
		OwnerID   int64  `json:"owner_id"`
		OwnerName string `json:"owner_name"`
		OwnerCode string `json:"owner_credit_code"`
	} `json:"shop"`
	Points        int64          `json:"points"`
	Level         trade.Level    `json:"level"`
	Ratings       trade.Ratings  `json:"ratings"`
	RatingWindows *trade.Windows `json:"rating_windows"`
}

// Reputation is the shop's figures as the "ratings" template takes them.
func (s publicShop) Reputation() trade.Reputation {
	return trade.Reputation{Points: s.Points, Level: s.Level, Ratings: s.Ratings, Windows: s.RatingWindows}
}

func (s publicShop) Path() string { return "/shops/" + strconv.FormatInt(s.Shop.ID, 10) }

// The public's view of a shop's trade credit: the owner's profile shows the
// level, points, 好评率 (six months and lifetime), the three detailed ratings
// (six months and lifetime) and the 信用评价 table (好评 / 中评 / 差评 over
// 最近1周 … 总计) over all its shops; its shop link leads to the shop's page
// with the same figures for the shop and the reviews, a folded one with the
// platform's reason. Every figure is compared with what the public JSON API
// answers.
func flowTradeRatings(t *testing.T, b *Tab) {
	c := b.City
	shop, folded := pickShop(t, c)
	t.Logf("shop %d %s: %d reviews, %d folded, %d points, %s", shop.Shop.ID, shop.Shop.Name,
		shop.Ratings.Reviews, shop.Ratings.Folded, shop.Points, shop.Level.Name)

	// The owner's profile: the ratings over all its shops.
	owner := "/subjects/" + strconv.FormatInt(shop.Shop.OwnerID, 10)
	b.Go(owner)
	b.WaitText(".profile-head h1", shop.Shop.OwnerName)
	b.WaitText("h2", "交易信用评价")
	var links []string
	if err := b.evalJSON(`Array.from(document.querySelectorAll('table.list a[href^="/shops/"]')).map(function (a) { return a.getAttribute("href"); })`, &links); err != nil {
		t.Fatalf("read the profile's shop links: %v", err)
	}
	if !slices.Contains(links, shop.Path()) {
		t.Fatalf("the owner's profile does not link %s (links %q)", shop.Path(), links)
	}
	want, exact := ownerReputation(t, c, shop, links)
	checkRatings(t, b, "profile "+owner, want, exact)

	// Follow the shop link.
	b.Click(`table.list a[href="` + shop.Path() + `"]`)
	b.WaitURL(shop.Path())
	b.WaitText(".profile-head h1", shop.Shop.Name)
	if badge := b.WaitText(".profile-head .badge-verified", ""); strings.TrimSpace(badge) != shop.Level.Name {
		t.Errorf("shop page level badge %q, the API says %q", badge, shop.Level.Name)
	}
	checkRatings(t, b, "shop page", shop.Reputation(), true)
	items := b.Texts(".review-list .review-item")
	if n := min(shop.Ratings.Reviews, 20); len(items) != n {
		t.Errorf("the shop page lists %d reviews, want %d of %d", len(items), n, shop.Ratings.Reviews)
	}

	// The folded review is shown (not hidden) with the platform's reason,
	// on whichever page of the reviews it falls.
	if folded == nil {
		t.Logf("the demo has no folded review at the shops checked")
		return
	}
	for page := 1; ; page++ {
		notes := b.Texts(".review-folded .fold-note")
		i := slices.IndexFunc(notes, func(s string) bool { return strings.Contains(s, folded.FoldReason) })
		if i >= 0 {
			if !strings.Contains(notes[i], "不计入积分和评分") || !strings.Contains(notes[i], folded.FoldedBy) {
				t.Errorf("fold note %q does not say who folded it and that it is not counted", notes[i])
			}
			break
		}
		if page >= 10 || len(b.Texts(`a.btn[href*="before="]`)) == 0 {
			t.Fatalf("the folded review %d (%q) is not shown on the shop's %d review pages", folded.ID, folded.FoldReason, page)
		}
		from := b.URL()
		b.Click(`a.btn[href*="before="]`)
		b.waitURLChange(from)
		b.WaitText(".profile-head h1", shop.Shop.Name)
	}
}

// pickShop finds a shop of the demo with reviews, and its folded review
// when one of the busiest shops has one. No public list of shops exists:
// the orders the platforms reported (read with the admin's key) rank the
// shops by sales; the public API then tells their reviews.
func pickShop(t *testing.T, c *City) (publicShop, *trade.ReviewView) {
	t.Helper()
	sales := map[int64]int{}
	for cursor := ""; ; {
		var page struct {
			Items      []trade.OrderView `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		c.AdminJSON(t, "/api/v1/orders?limit=500&cursor="+url.QueryEscape(cursor), &page)
		for _, o := range page.Items {
			sales[o.ShopID]++
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	ids := make([]int64, 0, len(sales))
	for id := range sales {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b int64) int { return cmp.Or(cmp.Compare(sales[b], sales[a]), cmp.Compare(a, b)) })
	var first *publicShop
	for _, id := range ids[:min(len(ids), 12)] {
		var s publicShop
		c.GetJSON(t, fmt.Sprintf("/api/v1/public/shops/%d", id), &s)
		if s.Ratings.Reviews == 0 {
			continue
		}
		if first == nil {
			first = &s
		}
		if s.Ratings.Folded > 0 {
			return s, foldedReview(t, c, s)
		}
	}
	if first == nil {
		t.Fatalf("none of the %d busiest of %d shops with orders has a review", min(len(ids), 12), len(ids))
	}
	return *first, nil
}

// foldedReview finds a folded review of the shop through the public reviews
// API.
func foldedReview(t *testing.T, c *City, s publicShop) *trade.ReviewView {
	t.Helper()
	for cursor := ""; ; {
		var page struct {
			Items      []trade.ReviewView `json:"items"`
			NextCursor string             `json:"next_cursor"`
		}
		c.GetJSON(t, fmt.Sprintf("/api/v1/shops/%d/reviews?limit=100&cursor=%s", s.Shop.ID, url.QueryEscape(cursor)), &page)
		for _, r := range page.Items {
			if r.Folded {
				if r.FoldReason == "" {
					t.Fatalf("folded review %d has no reason in the public API", r.ID)
				}
				return &r
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			t.Fatalf("shop %d: the API counts %d folded reviews but lists none", s.Shop.ID, s.Ratings.Folded)
		}
	}
}

// ownerReputation is what the owner's profile should show: the profile
// JSON's figures when the owner has a public credit code; otherwise (a
// masked individual) the sum of its shops' public figures, whose detailed
// scores are exact only for a single shop.
func ownerReputation(t *testing.T, c *City, shop publicShop, links []string) (trade.Reputation, bool) {
	t.Helper()
	if shop.Shop.OwnerCode != "" {
		var p struct {
			Points        *int64         `json:"points"`
			Level         *trade.Level   `json:"level"`
			Ratings       *trade.Ratings `json:"ratings"`
			RatingWindows *trade.Windows `json:"rating_windows"`
		}
		c.GetJSON(t, "/api/v1/public/subjects/"+url.PathEscape(shop.Shop.OwnerCode), &p)
		if p.Points == nil || p.Level == nil || p.Ratings == nil || p.RatingWindows == nil {
			t.Fatalf("the profile JSON of %s has no ratings although it runs shop %d", shop.Shop.OwnerCode, shop.Shop.ID)
		}
		return trade.Reputation{Points: *p.Points, Level: *p.Level, Ratings: *p.Ratings, Windows: p.RatingWindows}, true
	}
	if len(links) == 1 {
		return shop.Reputation(), true
	}
	// The windows' counts add up over the shops; the six-month rate is
	// recomputed from them, the six-month detailed scores only counted.
	sum := trade.Reputation{Windows: &trade.Windows{}}
	for _, l := range links {
		var s publicShop
		c.GetJSON(t, "/api/v1/public"+l, &s)
		if s.RatingWindows == nil || len(s.RatingWindows.Rows) != 5 {
			t.Fatalf("shop %s: no rating windows in the public JSON", l)
		}
		w := sum.Windows
		if w.Rows == nil {
			w.Rows = append([]trade.WindowCount(nil), s.RatingWindows.Rows...)
			w.AsOf = s.RatingWindows.AsOf
		} else {
			for i, r := range s.RatingWindows.Rows {
				w.Rows[i].Positive += r.Positive
				w.Rows[i].Neutral += r.Neutral
				w.Rows[i].Negative += r.Negative
			}
		}
		w.HalfYear.Counted += s.RatingWindows.HalfYear.Counted
		w.HalfYear.Description.Count += s.RatingWindows.HalfYear.Description.Count
		w.HalfYear.Service.Count += s.RatingWindows.HalfYear.Service.Count
		w.HalfYear.Logistics.Count += s.RatingWindows.HalfYear.Logistics.Count
		r := &sum.Ratings
		sum.Points += s.Points
		r.Reviews += s.Ratings.Reviews
		r.Counted += s.Ratings.Counted
		r.Folded += s.Ratings.Folded
		r.Positive += s.Ratings.Positive
		r.Neutral += s.Ratings.Neutral
		r.Negative += s.Ratings.Negative
		r.Description.Count += s.Ratings.Description.Count
		r.Service.Count += s.Ratings.Service.Count
		r.Logistics.Count += s.Ratings.Logistics.Count
	}
	if sum.Ratings.Counted > 0 {
		sum.Ratings.PositiveRate = math.Round(float64(sum.Ratings.Positive)/float64(sum.Ratings.Counted)*10000) / 10000
	}
	if h := sum.Windows.Row(trade.WindowHalfYear); h.Counted() > 0 {
		sum.Windows.HalfYear.PositiveRate = math.Round(float64(h.Positive)/float64(h.Counted())*10000) / 10000
	}
	sum.Level = trade.LevelOf(sum.Points)
	return sum, false
}

// checkRatings compares the page's ratings (the template "ratings": the
// key–value table, the detailed ratings table and the 信用评价 table) with a
// reputation; exact=false leaves out the detailed scores (not their
// counts).
func checkRatings(t *testing.T, b *Tab, where string, r trade.Reputation, exact bool) {
	t.Helper()
	if l := trade.LevelOf(r.Points); l.Name != r.Level.Name {
		t.Errorf("%s: the API's level %q does not match its %d points (%q)", where, r.Level.Name, r.Points, l.Name)
	}
	if r.Windows == nil || len(r.Windows.Rows) != 5 {
		t.Fatalf("%s: the API gives no rating windows", where)
	}
	b.WaitText("table.ratings", "信用等级")
	got := b.KV("table.ratings tr")
	rt, w := r.Ratings, r.Windows
	level := r.Level.Name
	if r.Level.NextAt > 0 {
		level += fmt.Sprintf(" （%d 分升级）", r.Level.NextAt)
	}
	rate := "暂无计分评价"
	if rt.Counted > 0 {
		rate = fmt.Sprintf("%.2f%%（好评 %d、中评 %d、差评 %d）", rt.PositiveRate*100, rt.Positive, rt.Neutral, rt.Negative)
	}
	half := w.Row(trade.WindowHalfYear)
	rate6 := "近6个月暂无计分评价"
	if half.Counted() > 0 {
		rate6 = fmt.Sprintf("%.2f%%（好评 %d、中评 %d、差评 %d）", w.HalfYear.PositiveRate*100, half.Positive, half.Neutral, half.Negative)
	}
	total := strconv.Itoa(rt.Reviews)
	if rt.Folded > 0 {
		total += fmt.Sprintf("，其中 %d 条被平台折叠", rt.Folded)
	}
	want := map[string]string{
		"信用等级":      level,
		"信用积分":      fmt.Sprintf("%d 分 ", r.Points),
		"好评率（近6个月）": rate6,
		"好评率（累计）":   rate,
		"评价总数":      total,
	}
	for k, v := range want {
		g, ok := got[k]
		match := g == v
		if k == "信用积分" {
			match = strings.HasPrefix(g, v)
		}
		if !ok || !match {
			t.Errorf("%s: %s shows %q, the API says %q", where, k, g, v)
		}
	}

	// The detailed ratings: six months, then lifetime.
	score := func(d trade.DetailScore) string {
		s := fmt.Sprintf("（%d 次评分）", d.Count)
		if exact {
			s = fmt.Sprintf("%.2f ", d.Score) + s
		}
		return s
	}
	dsr := map[string][2]trade.DetailScore{
		"宝贝与描述相符": {w.HalfYear.Description, rt.Description},
		"卖家服务态度":  {w.HalfYear.Service, rt.Service},
		"物流服务质量":  {w.HalfYear.Logistics, rt.Logistics},
	}
	if head := b.Rows("table.dsr thead tr"); len(head) != 1 || strings.Join(head[0], "|") != "评分项|近6个月|累计" {
		t.Errorf("%s: detailed ratings header %q", where, head)
	}
	rows := b.Rows("table.dsr tbody tr")
	if len(rows) != len(dsr) {
		t.Errorf("%s: %d detailed rating rows, want %d", where, len(rows), len(dsr))
	}
	for _, row := range rows {
		d, ok := dsr[row[0]]
		if !ok || len(row) != 3 {
			t.Errorf("%s: detailed rating row %q", where, row)
			continue
		}
		for i, label := range []string{"近6个月", "累计"} {
			if v := score(d[i]); exact && row[i+1] != v || !exact && !strings.HasSuffix(row[i+1], v) {
				t.Errorf("%s: %s %s shows %q, the API says %q", where, row[0], label, row[i+1], v)
			}
		}
	}

	// The 信用评价 table: a column per window, a row per rating.
	table := b.Rows("table.rating-windows tr")
	wantTable := [][]string{{"评价"}, {"好评"}, {"中评"}, {"差评"}}
	for _, wc := range w.Rows {
		wantTable[0] = append(wantTable[0], wc.Label)
		wantTable[1] = append(wantTable[1], strconv.Itoa(wc.Positive))
		wantTable[2] = append(wantTable[2], strconv.Itoa(wc.Neutral))
		wantTable[3] = append(wantTable[3], strconv.Itoa(wc.Negative))
	}
	if fmt.Sprint(table) != fmt.Sprint(wantTable) {
		t.Errorf("%s: the 信用评价 table shows %q, the API says %q", where, table, wantTable)
	}
	if h, o, tot := w.Row(trade.WindowHalfYear), w.Row(trade.WindowOlder), w.Row(trade.WindowTotal); h.Positive+o.Positive != tot.Positive ||
		tot.Positive != rt.Positive || tot.Negative != rt.Negative {
		t.Errorf("%s: the API's windows do not add up to its lifetime counts: %+v, %+v", where, w.Rows, rt)
	}
}
