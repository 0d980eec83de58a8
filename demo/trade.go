package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/clock"
	"ecredit/code"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/trade"
)

// The demo city's orders and reviews (trade, M5), generated after the
// subjects and shops:
//
//   - OrdersPerSubject orders per subject of the city, most over the last
//     tradeDays days and historyPercent % in the year before (so a shop's
//     信用评价 table has reviews in every window, 6个月前 included),
//     spread over the shops with Zipf popularity (a few
//     shops sell most), a weekly cycle (weekends busier) and a daily one
//     (evening peak, night trough), plus group-buy bursts (团购: one shop,
//     dozens of orders within two hours of an evening, a quarter of them
//     by its organiser 团长);
//   - buyers are platform-scoped pseudonyms drawn with Zipf repetition, and
//     every shop has two regulars (6 % of its orders), so the monthly
//     buyer–seller bound bites at popular shops;
//   - paid → shipped (2–30 h) → signed (1–4 days); a few cancelled and
//     refunded; destinations mostly in Chengde, the rest in Hebei, Beijing
//     and Tianjin; carriers are the city's logistics firms;
//   - about 60 % of signed orders are reviewed, by shop quality (most shops
//     good, some mediocre, a few bad), with the three detailed ratings
//     following the overall one; some 追评, a few folded (恶意差评, 刷单),
//     and sellers rate a third of their buyers.
//
// Orders go in through sqlstore.CreateOrders (multi-row inserts, one audit
// entry a batch). Reviews are written in the order they were made with the
// store's rule applied in Go (the first trade.Config PairMonthlyPoints
// reviews of a pair in a month count, PairMonthlyDSR of them with their
// detailed ratings; folded ones leave the tallies), in multi-row inserts
// with one summary audit entry, together with each shop's tally.

// OrdersPerSubject is how many orders the demo generates per subject.
const OrdersPerSubject = 4

const tradeDays = 180

// historyPercent of the orders (not the group-buy bursts) are moved back by
// historyWeeks weeks and up to historyDays more, into the year before the
// last six months (rolling windows: the 6个月前 column of the 信用评价
// table).
const (
	historyPercent = 30
	historyWeeks   = 26
	historyDays    = 365
)

// organiserPercent of a group buy's orders come from its organiser (团长),
// so the monthly buyer–seller bound bites even though the history thins
// out the last six months.
const organiserPercent = 25

// TradeCounts tells what orders and reviews a generation wrote.
type TradeCounts struct {
	Orders, Reviews, Followups, Folded, BuyerRatings int
	// BatchReviews are the reviews of orders signed lately that one
	// platform (BatchPlatform) sends today as a batch through the service.
	BatchReviews      int
	BatchPlatform     int64
	BatchPlatformName string
	Evaluations       int // third-party credit evaluations (evaluations.go)
}

// hourWeight is the relative share of orders in each hour of the day
// (Asia/Shanghai): night trough, lunch bump, evening peak.
var hourWeight = [24]float64{0.6, 0.35, 0.2, 0.12, 0.1, 0.15, 0.35, 0.7, 1.0, 1.2, 1.3, 1.4,
	1.5, 1.3, 1.2, 1.2, 1.3, 1.4, 1.6, 1.9, 2.3, 2.5, 2.1, 1.2}

// weekdayWeight: weekends sell more.
var weekdayWeight = [7]float64{1.3, 0.9, 0.95, 1.0, 1.0, 1.05, 1.35} // Sunday first

var reviewTexts = map[trade.Rating][]string{
	trade.Positive: {"质量很好，和描述一致", "物流很快，包装完好", "味道正宗，家里人都喜欢", "第二次购买了，一如既往的好", "性价比高，推荐",
		"卖家服务热情，有问必答", "承德特产，送人很有面子", "", "", ""},
	trade.Neutral:  {"一般般，和图片有点差距", "物流有点慢", "包装简陋了些", "还行吧", ""},
	trade.Negative: {"收到的和描述不符", "有破损，联系客服没人理", "发货太慢，等了一周", "质量差，不会再买", "分量不足"},
}

// followupTexts are the 追评 of each rating: a buyer who gave a 差评 does
// not come back to say it will buy again.
var followupTexts = map[trade.Rating][]string{
	trade.Positive: {"用了一段时间，依然满意", "吃完了，准备回购", "家人很喜欢，再来一单", "后来发现有点问题，客服处理得不错"},
	trade.Neutral:  {"时间长了质量一般", "后来发现有点问题，客服处理得不错", "用了一段时间，还可以"},
	trade.Negative: {"商家至今没有处理，不推荐", "申请退款后才联系，体验很差", "后来商家补发了，态度还行"},
}

var foldReasons = []string{"经平台核实为同行恶意差评", "评价内容与商品无关", "经平台核实为刷单评价"}

// aggressiveFolder is the demo platform (subject 7, 滦平金山岭直播电商) that
// folds a large share of its 差评.
const aggressiveFolder = 7

type demoShop struct {
	sh      *registry.Shop
	quality float64 // chance a review is positive
	goods   []product
}

type demoReview struct {
	r        trade.Review
	foldAt   time.Time
	followAt time.Time
}

// writeTrade generates and stores the orders and reviews of the city.
func writeTrade(ctx context.Context, store *sqlstore.DB, seed int64, now time.Time, subjects int, carriers []int64, actor account.Actor) (TradeCounts, error) {
	var tc TradeCounts
	rng := rand.New(rand.NewPCG(uint64(seed)^0x7472616465, 0x6f72646572))
	var shops []*demoShop
	for after := int64(0); ; {
		list, err := store.ListShops(ctx, registry.ShopFilter{After: after, Limit: 10000})
		if err != nil {
			return tc, err
		}
		for _, sh := range list {
			if sh.Status != registry.StatusActive {
				continue
			}
			q := 0.985
			switch x := rng.IntN(100); {
			case x < 5:
				q = 0.8 // a bad shop
			case x < 25:
				q = 0.93
			}
			ds := &demoShop{sh: sh, quality: q}
			for _, p := range products {
				if p.Category == sh.Category {
					ds.goods = append(ds.goods, p)
				}
			}
			if len(ds.goods) == 0 {
				ds.goods = products
			}
			shops = append(shops, ds)
		}
		if len(list) < 10000 {
			break
		}
		after = list[len(list)-1].ID
	}
	if len(shops) == 0 {
		return tc, nil
	}
	// Popularity: a seeded permutation of the shops ranked by Zipf.
	rng.Shuffle(len(shops), func(i, j int) { shops[i], shops[j] = shops[j], shops[i] })
	shopZipf := rand.NewZipf(rng, 1.15, 4, uint64(len(shops)-1))
	buyerZipf := rand.NewZipf(rng, 1.05, 2, uint64(subjects*3))
	var dests []string
	for _, p := range []string{"1308", "1308", "1308", "13", "11", "12"} {
		for _, r := range code.Regions(p) {
			if r.Code[4:] != "00" {
				dests = append(dests, r.Code)
			}
		}
	}
	gtins := make(map[string]string) // goods → GTIN-13
	gtinOf := func(goods string) string {
		if g, ok := gtins[goods]; ok {
			return g
		}
		body := fmt.Sprintf("690%09d", 100000+len(gtins)*7919)
		c, _ := code.GTINCheck(body)
		gtins[goods] = body + string(c)
		return gtins[goods]
	}
	start := now.Add(-tradeDays * day)
	// Its own generator, so that the rest of the city is drawn as before.
	hist := rand.New(rand.NewPCG(uint64(seed)^0x68697374, 0x6f7279))
	instant := func() time.Time {
		for {
			d := rng.IntN(tradeDays)
			t := start.Add(time.Duration(d) * day).In(clock.Shanghai)
			if rng.Float64()*1.35 > weekdayWeight[t.Weekday()] {
				continue
			}
			for {
				h := rng.IntN(24)
				if rng.Float64()*2.5 <= hourWeight[h] {
					base := time.Date(t.Year(), t.Month(), t.Day(), h, 0, 0, 0, clock.Shanghai)
					at := base.Add(time.Duration(rng.IntN(3600)) * time.Second).UTC()
					if at.After(now.Add(-time.Hour)) {
						break // today's later hours have not come yet
					}
					return at
				}
			}
		}
	}
	total := subjects * OrdersPerSubject
	type planned struct {
		shop      *demoShop
		paid      time.Time
		organiser uint64 // a group buy's 团长 + 1; 0 outside group buys
	}
	plan := make([]planned, 0, total)
	// Group-buy bursts: about 8 % of the orders.
	for len(plan) < total*8/100 {
		s := shops[shopZipf.Uint64()]
		at := instant()
		at = time.Date(at.Year(), at.Month(), at.Day(), 12, 0, 0, 0, time.UTC) // 20:00 in Shanghai
		n := 20 + rng.IntN(60)
		org := 1 + uint64(hist.IntN(subjects*3))
		for i := 0; i < n && len(plan) < total*8/100; i++ {
			if t := at.Add(time.Duration(rng.IntN(7200)) * time.Second); t.Before(now) {
				plan = append(plan, planned{s, t, org})
			}
		}
	}
	for len(plan) < total {
		at := instant()
		if hist.IntN(100) < historyPercent {
			// Back by whole weeks (weekday and hour kept).
			at = at.Add(-time.Duration(7*(historyWeeks+hist.IntN(historyDays/7))) * day)
		}
		plan = append(plan, planned{shops[shopZipf.Uint64()], at, 0})
	}
	sort.SliceStable(plan, func(i, j int) bool { return plan[i].paid.Before(plan[j].paid) })

	quality := map[int64]float64{}
	for _, s := range shops {
		quality[s.sh.ID] = s.quality
	}
	var reviews []*demoReview
	var brs [][]any
	var pending []*trade.Order // signed lately, reviewed today in a platform's batch
	orders := make([]*trade.Order, 0, 1000)
	flush := func(batch int) error {
		if len(orders) == 0 {
			return nil
		}
		ev := actor.Audit(audit.ActCreate, fmt.Sprintf("demo:trade:seed=%d", seed), fmt.Sprintf("演示订单第 %d 批：%d 笔", batch, len(orders)))
		taken, err := store.CreateOrders(ctx, orders, func([]*trade.Order) *audit.Entry { return ev })
		if err != nil {
			return err
		}
		if len(taken) > 0 {
			return fmt.Errorf("demo: order %s already stored", taken[0].OrderNo)
		}
		for _, o := range orders {
			rs, br, later := reviewOf(rng, o, now, quality[o.ShopID])
			if later {
				pending = append(pending, o)
			}
			if rs != nil {
				reviews = append(reviews, rs)
			}
			if br != nil {
				brs = append(brs, br)
			}
		}
		tc.Orders += len(orders)
		orders = orders[:0]
		return nil
	}
	for i, p := range plan {
		b := buyerZipf.Uint64()
		if rng.IntN(100) < 6 { // one of the shop's two regulars
			b = uint64(subjects*3) + uint64(p.shop.sh.ID)*2 + uint64(rng.IntN(2))
		}
		if p.organiser != 0 && hist.IntN(100) < organiserPercent {
			b = p.organiser - 1 // the group buy's organiser orders again
		}
		o := plannedOrder(rng, p.shop, p.paid, now, i, seed, b, dests, carriers, gtinOf)
		orders = append(orders, o)
		if len(orders) == 1000 {
			if err := flush(i/1000 + 1); err != nil {
				return tc, err
			}
		}
	}
	if err := flush(len(plan)/1000 + 1); err != nil {
		return tc, err
	}
	if err := writeReviews(ctx, store, seed, now, reviews, brs, actor, &tc); err != nil {
		return tc, err
	}
	var err error
	tc.BatchReviews, tc.BatchPlatform, tc.BatchPlatformName, err = sendReviewBatch(ctx, store, seed, now, pending, quality)
	return tc, err
}

// sendReviewBatch has the platform with the most orders signed lately
// send today's reviews of them, and its sellers' ratings of a third of
// the buyers, as one batch through the service
// (POST /api/v1/reviews/batch), at most trade.MaxReviewBatch lines.
func sendReviewBatch(ctx context.Context, store *sqlstore.DB, seed int64, now time.Time, pending []*trade.Order, quality map[int64]float64) (int, int64, string, error) {
	byPlatform := map[int64][]*trade.Order{}
	var best int64
	for _, o := range pending {
		byPlatform[o.PlatformID] = append(byPlatform[o.PlatformID], o)
		if n := len(byPlatform[o.PlatformID]); n > len(byPlatform[best]) || n == len(byPlatform[best]) && o.PlatformID < best {
			best = o.PlatformID
		}
	}
	list := byPlatform[best]
	if len(list) == 0 {
		return 0, 0, "", nil
	}
	rng := rand.New(rand.NewPCG(uint64(seed)^0x6261746368, 0x7265766965))
	var lines []trade.ReviewLine
	for _, o := range list {
		if len(lines)+2 > trade.MaxReviewBatch {
			break
		}
		rating, stars := 1, 5
		if rng.Float64() >= quality[o.ShopID] {
			rating, stars = -1, 1+rng.IntN(2)
		} else if rng.IntN(100) < 12 {
			stars = 4
		}
		texts := reviewTexts[trade.Rating(rating)]
		lines = append(lines, trade.ReviewLine{OrderNo: o.OrderNo, Buyer: o.Buyer, Rating: &rating, Description: stars, Service: stars,
			Logistics: max(stars, 3), Text: texts[rng.IntN(len(texts))]})
		if rng.IntN(3) == 0 {
			good := 1
			lines = append(lines, trade.ReviewLine{Type: trade.LineBuyerRating, OrderNo: o.OrderNo, Rating: &good, Text: "买家爽快，好评"})
		}
	}
	plat, err := store.GetSubject(ctx, best)
	if err != nil {
		return 0, 0, "", err
	}
	svc := &trade.Service{Store: store, Clock: fixedClock(now)}
	pctx := account.With(ctx, account.Actor{Name: plat.Name, Role: account.RolePlatform, SubjectID: plat.ID, Via: "api"})
	res, err := svc.IngestReviews(pctx, lines)
	if err != nil {
		return 0, 0, "", fmt.Errorf("demo review batch of %s: %w", plat.Name, err)
	}
	n := 0
	for _, r := range res {
		if r.Status == trade.ResultError {
			return n, best, plat.Name, fmt.Errorf("demo review batch of %s, line %d: %w", plat.Name, r.Line, r.Err)
		}
		if r.Status == trade.ResultCreated && lines[r.Line-1].Type != trade.LineBuyerRating {
			n++
		}
	}
	return n, best, plat.Name, nil
}

func plannedOrder(rng *rand.Rand, s *demoShop, paid, now time.Time, i int, seed int64, buyer uint64, dests []string, carriers []int64, gtinOf func(string) string) *trade.Order {
	o := &trade.Order{PlatformID: s.sh.PlatformID, ShopID: s.sh.ID, SellerID: s.sh.OwnerID,
		OrderNo: fmt.Sprintf("DM%d%010d", seed%100, i+1), Buyer: fmt.Sprintf("u%06x", mix60(buyer*2654435761+uint64(s.sh.PlatformID))&0xffffff),
		Region: dests[rng.IntN(len(dests))], Status: trade.StatusPaid, PaidAt: paid.Truncate(time.Second), CreatedAt: paid, UpdatedAt: paid, Version: 1}
	n := 1 + rng.IntN(3)
	if rng.IntN(3) > 0 {
		n = 1
	}
	for k := 0; k < n; k++ {
		p := s.goods[rng.IntN(len(s.goods))]
		price := int64(990 + rng.IntN(20000))
		q := 1 + rng.IntN(3)
		batch := "L" + paid.AddDate(0, -1-rng.IntN(3), 0).Format("200601")
		if p.Category == "services" {
			batch = "" // a booking has no production lot, so no trace
		}
		o.Items = append(o.Items, trade.Item{Line: k + 1, GTIN: gtinOf(p.Goods), Batch: batch,
			Name: "承德" + p.Goods, Category: s.sh.Category, Quantity: q, PriceFen: price})
		o.AmountFen += price * int64(q)
	}
	if rng.IntN(100) < 2 { // cancelled before shipping
		o.Status = trade.StatusCancelled
		o.UpdatedAt = paid.Add(time.Duration(1+rng.IntN(10)) * time.Hour)
		return o
	}
	shipped := paid.Add(time.Duration(2*3600+rng.IntN(28*3600)) * time.Second)
	if shipped.After(now) {
		return o
	}
	ci := rng.IntN(max(1, len(carriers)))
	o.Status, o.ShippedAt, o.UpdatedAt = trade.StatusShipped, shipped.Truncate(time.Second), shipped
	o.Waybill = fmt.Sprintf("CD%02d%010d", ci, uint64(seed%97)*1e8+uint64(i+1))
	if len(carriers) > 0 {
		o.CarrierID = carriers[ci]
	}
	signed := shipped.Add(time.Duration(24*3600+rng.IntN(72*3600)) * time.Second)
	if signed.After(now) {
		return o
	}
	o.Status, o.SignedAt, o.UpdatedAt = trade.StatusSigned, signed.Truncate(time.Second), signed
	if rng.IntN(100) == 0 {
		o.Status, o.UpdatedAt = trade.StatusRefunded, signed.Add(48*time.Hour)
	}
	return o
}

// reviewOf draws the review and the seller's rating of a stored order of
// a shop whose reviews are positive with probability q.
func reviewOf(rng *rand.Rand, o *trade.Order, now time.Time, q float64) (*demoReview, []any, bool) {
	if o.Status != trade.StatusSigned || rng.IntN(100) >= 60 {
		return nil, nil, false
	}
	at := o.SignedAt.Add(time.Duration(rng.IntN(10*24*3600)) * time.Second)
	if at.After(now) {
		return nil, nil, true // to be reviewed: the platform's batch of today
	}
	rating := trade.Positive
	if x := rng.Float64(); x >= q {
		rating = trade.Negative
		if rng.IntN(3) == 0 {
			rating = trade.Neutral
		}
	}
	star := func() int {
		switch rating {
		case trade.Positive:
			return 5 - b2i(rng.IntN(100) < 12) - b2i(rng.IntN(100) < 3)
		case trade.Neutral:
			return 3 + rng.IntN(2)
		}
		return 1 + rng.IntN(2)
	}
	texts := reviewTexts[rating]
	dr := &demoReview{r: trade.Review{OrderID: o.ID, PlatformID: o.PlatformID, ShopID: o.ShopID, SellerID: o.SellerID, Buyer: o.Buyer,
		Month: trade.MonthOf(o.PaidAt), Rating: rating, Description: star(), Service: star(), Logistics: star(),
		Text: texts[rng.IntN(len(texts))], CreatedAt: at.Truncate(time.Second)}}
	if rng.IntN(100) < 8 {
		if f := at.Add(time.Duration(7+rng.IntN(50)) * day); f.Before(now) {
			dr.followAt = f.Truncate(time.Second)
		}
	}
	// Platforms fold a few 差评 (恶意差评, off-topic) and the odd 好评 (刷单);
	// one live-streaming platform folds 差评 far more often, for the
	// console's 评价折叠 monitor to find.
	foldPct := 0
	switch rating {
	case trade.Negative:
		foldPct = 3
		if o.PlatformID == aggressiveFolder {
			foldPct = 40
		}
	case trade.Positive:
		foldPct = b2i(rng.IntN(200) == 0) * 100
	}
	if foldPct > 0 && rng.IntN(100) < foldPct {
		dr.foldAt = at.Add(time.Duration(1+rng.IntN(72)) * time.Hour).Truncate(time.Second)
		if dr.foldAt.After(now) {
			dr.foldAt = time.Time{}
		}
	}
	var br []any
	if rng.IntN(3) == 0 {
		r := trade.Positive
		if rng.IntN(50) == 0 {
			r = trade.Negative
		}
		br = []any{o.ID, o.PlatformID, o.SellerID, o.Buyer, int(r), "", micros(at.Add(time.Hour))}
	}
	return dr, br, false
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// writeReviews applies the counting rule in the order reviews were made
// and stores the reviews, the sellers' ratings and the shops' tallies.
func writeReviews(ctx context.Context, store *sqlstore.DB, seed int64, now time.Time, reviews []*demoReview, brs [][]any, actor account.Actor, tc *TradeCounts) error {
	sort.SliceStable(reviews, func(i, j int) bool { return reviews[i].r.CreatedAt.Before(reviews[j].r.CreatedAt) })
	bounds := trade.DefaultConfig()
	type pair struct {
		platform, seller int64
		buyer            string
		month            int
	}
	// The pair's counted reviews still unfolded when each review was
	// written: folds happen after the review, so a review folded before a
	// later one of its pair frees its slot.
	type slot struct{ counted, dsr []*demoReview }
	slots := map[pair]*slot{}
	tallies := map[int64]*trade.Tally{}
	rows := make([][]any, 0, len(reviews))
	for _, dr := range reviews {
		r := &dr.r
		k := pair{r.PlatformID, r.SellerID, r.Buyer, r.Month}
		sl := slots[k]
		if sl == nil {
			sl = &slot{}
			slots[k] = sl
		}
		live := func(list []*demoReview) int {
			n := 0
			for _, x := range list {
				if x.foldAt.IsZero() || x.foldAt.After(r.CreatedAt) {
					n++
				}
			}
			return n
		}
		r.Counted = live(sl.counted) < bounds.PairMonthlyPoints
		r.DSRCounted = r.Counted && live(sl.dsr) < bounds.PairMonthlyDSR
		if r.Counted {
			sl.counted = append(sl.counted, dr)
		}
		if r.DSRCounted {
			sl.dsr = append(sl.dsr, dr)
		}
		t := tallies[r.ShopID]
		if t == nil {
			t = &trade.Tally{ShopID: r.ShopID, SellerID: r.SellerID}
			tallies[r.ShopID] = t
		}
		t.Reviews++
		folded := !dr.foldAt.IsZero()
		if folded {
			t.Folded++
			tc.Folded++
		}
		if r.Counted && !folded {
			switch r.Rating {
			case trade.Positive:
				t.Positive++
			case trade.Neutral:
				t.Neutral++
			case trade.Negative:
				t.Negative++
			}
		}
		if r.DSRCounted && !folded {
			t.DSRCount++
			t.DescriptionSum += int64(r.Description)
			t.ServiceSum += int64(r.Service)
			t.LogisticsSum += int64(r.Logistics)
		}
		followup, reason, by := "", "", ""
		if !dr.followAt.IsZero() {
			texts := followupTexts[r.Rating]
			followup = texts[int(r.OrderID)%len(texts)]
			tc.Followups++
		}
		if folded {
			reason, by = foldReasons[int(r.OrderID)%2], "平台客服"
			if r.Rating == trade.Positive {
				reason = foldReasons[2]
			}
		}
		rows = append(rows, []any{r.OrderID, r.PlatformID, r.ShopID, r.SellerID, r.Buyer, r.Month, int(r.Rating), r.Description,
			r.Service, r.Logistics, r.Text, b2i(r.Counted), b2i(r.DSRCounted), micros(r.CreatedAt), followup, micros(dr.followAt),
			micros(dr.foldAt), reason, by})
	}
	tc.Reviews, tc.BuyerRatings = len(rows), len(brs)
	if err := insertRows(ctx, store, "demo.reviews", "reviews", `order_id, platform_id, shop_id, seller_id, buyer, month, rating,
		description, service, logistics, body, counted, dsr_counted, created_at, followup, followup_at, folded_at, fold_reason, folded_by`, rows); err != nil {
		return err
	}
	if err := insertRows(ctx, store, "demo.buyer_ratings", "buyer_ratings", "order_id, platform_id, seller_id, buyer, rating, body, created_at", brs); err != nil {
		return err
	}
	ids := make([]int64, 0, len(tallies))
	for id := range tallies {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	scores := make([][]any, len(ids))
	for i, id := range ids {
		t := tallies[id]
		scores[i] = []any{t.ShopID, t.SellerID, t.Reviews, t.Folded, t.Positive, t.Neutral, t.Negative, t.DSRCount,
			t.DescriptionSum, t.ServiceSum, t.LogisticsSum, micros(now)}
	}
	if err := insertRows(ctx, store, "demo.shop_scores", "shop_scores", `shop_id, seller_id, reviews, folded, positive, neutral,
		negative, dsr_count, description_sum, service_sum, logistics_sum, updated_at`, scores); err != nil {
		return err
	}
	return store.Append(ctx, actor.Audit(audit.ActCreate, fmt.Sprintf("demo:trade:seed=%d", seed),
		fmt.Sprintf("演示评价 %d 条、追评 %d 条、折叠 %d 条、卖家评价买家 %d 条", tc.Reviews, tc.Followups, tc.Folded, tc.BuyerRatings)))
}
