package httpapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"ecredit/registry"
	"ecredit/trade"
)

// tradeAPI drives every trade route: orders single and in batches (with bad
// lines), tenancy, reviews and their rules, 追评, folding, 互评, the public
// shop reputation and reviews, agency evaluations, and the profile's
// points, level and ratings.
func tradeAPI(e *env) {
	t := e.t
	code := mkUSCC(t, 8801)
	m := e.createSubject("admin", registry.SubjectInput{Kind: registry.KindMerchant, Name: "承德热河山货有限公司", CreditCode: code})
	shop := e.createShop("platA", registry.ShopInput{OwnerCode: code, Name: "热河山货旗舰店", URL: "https://rehe.example.cn", PlatformShopID: "TR-01", Category: "food"})
	paid := e.clk.Now().Add(-10 * 24 * time.Hour)
	order := func(no, buyer string) map[string]any {
		return map[string]any{"order_no": no, "shop_id": shop.ID, "buyer": buyer, "amount_fen": 3980,
			"items":   []map[string]any{{"gtin": "6901234567892", "batch": "B1", "name": "山楂糕", "category": "food", "quantity": 2, "price_fen": 1990}},
			"paid_at": paid.Format(time.RFC3339), "shipped_at": paid.Add(6 * time.Hour).Format(time.RFC3339),
			"signed_at": paid.Add(48 * time.Hour).Format(time.RFC3339), "region": "130802", "waybill": "YT" + no}
	}

	// One order: created, then unchanged; another platform cannot see it.
	r := e.do("POST", "/api/v1/orders", "platA", order("T-1", "tb_alpha"), true)
	e.want(r, 201)
	var res OrderResult
	r.json(t, &res)
	if res.Status != "created" || res.Order.SellerID != m.ID || r.header.Get("Location") == "" {
		t.Fatalf("create: %s", r.body)
	}
	id := res.ID
	e.want(e.do("POST", "/api/v1/orders", "platA", order("T-1", "tb_alpha"), true), 200)
	e.want(e.do("POST", "/api/v1/orders", "platB", order("T-9", "tb_alpha"), true), 404, "shop_id")
	e.want(e.do("POST", "/api/v1/orders", "", order("T-9", "tb_alpha"), true), 401)
	changed := order("T-1", "tb_alpha")
	changed["amount_fen"] = 1
	e.want(e.do("POST", "/api/v1/orders", "platA", changed, true), 409, "amount_fen")
	e.want(e.do("POST", "/api/v1/orders", "platA", `{"order_no":"x","nope":1}`, false), 400, "nope")
	e.want(e.do("GET", fmt.Sprintf("/api/v1/orders/%d", id), "platA", nil, true), 200)
	e.want(e.do("GET", fmt.Sprintf("/api/v1/orders/%d", id), "platB", nil, true), 404, "id")
	e.want(e.do("GET", "/api/v1/orders?shop_id="+fmt.Sprint(shop.ID), "platA", nil, true), 200)

	// A batch in NDJSON: good lines stored, every bad line named.
	line := func(v map[string]any) string {
		b, _ := json.Marshal(v)
		return string(b)
	}
	badGTIN := order("T-3", "tb_c")
	badGTIN["items"] = []map[string]any{{"gtin": "6901234567891", "quantity": 1, "price_fen": 1}}
	idBuyer := order("T-4", "11010519491231002X")
	early := order("T-5", "tb_e")
	early["shipped_at"] = paid.Add(-time.Hour).Format(time.RFC3339)
	byPSID := order("T-6", "tb_f")
	delete(byPSID, "shop_id")
	byPSID["platform_shop_id"] = "TR-01"
	body := strings.Join([]string{line(order("T-2", "tb_b")), "{not json", line(badGTIN), "", line(idBuyer), line(early), line(byPSID), line(order("T-1", "tb_alpha"))}, "\n")
	r = e.do("POST", "/api/v1/orders/batch", "platA", body, true, header("Content-Type", "application/x-ndjson"))
	e.want(r, 200)
	var br OrderBatchResult
	r.json(t, &br)
	want := []struct {
		line          int
		status, field string
	}{{1, "created", ""}, {2, "error", ""}, {3, "error", "items.1.gtin"}, {5, "error", "buyer"}, {6, "error", "shipped_at"}, {7, "created", ""}, {8, "unchanged", ""}}
	if br.Created != 2 || br.Unchanged != 1 || br.Failed != 4 || len(br.Results) != len(want) {
		t.Fatalf("batch: %s", r.body)
	}
	for i, w := range want {
		got := br.Results[i]
		if got.Line != w.line || got.Status != w.status || (w.field != "" && (got.Error == nil || got.Error.Field != w.field)) {
			t.Errorf("batch line %d: %+v %+v, want %+v", i, got, got.Error, w)
		}
	}
	r = e.do("POST", "/api/v1/orders/batch", "platA", []map[string]any{order("T-7", "tb_g")}, true)
	e.want(r, 200)
	e.want(e.do("POST", "/api/v1/orders/batch", "platA", "", false), 400)

	// Reviews: only the buyer, only once, only the order's platform.
	review := map[string]any{"buyer": "tb_alpha", "rating": 1, "description": 5, "service": 4, "logistics": 5, "text": "山楂糕很新鲜"}
	path := fmt.Sprintf("/api/v1/orders/%d/reviews", id)
	e.want(e.do("POST", path, "platB", review, true), 403, "id")
	e.want(e.do("POST", "/api/v1/orders/999999/reviews", "platA", review, true), 404, "id")
	wrong := map[string]any{"buyer": "tb_zzz", "rating": 1, "description": 5, "service": 4, "logistics": 5}
	e.want(e.do("POST", path, "platA", wrong, true), 403, "buyer")
	bad := map[string]any{"buyer": "tb_alpha", "rating": 2, "description": 5, "service": 4, "logistics": 5}
	e.want(e.do("POST", path, "platA", bad, false), 400, "rating")
	r = e.do("POST", path, "platA", review, true)
	e.want(r, 201)
	var rv struct {
		ID      int64 `json:"id"`
		Counted bool  `json:"counted"`
	}
	r.json(t, &rv)
	if !rv.Counted {
		t.Fatalf("review: %s", r.body)
	}
	e.want(e.do("POST", path, "platA", review, true), 409, "order_id")
	e.want(e.do("POST", fmt.Sprintf("/api/v1/reviews/%d/followup", rv.ID), "platA", map[string]any{"buyer": "tb_alpha", "text": "吃完了，回购"}, true), 200)
	e.want(e.do("POST", fmt.Sprintf("/api/v1/reviews/%d/followup", rv.ID), "platA", map[string]any{"buyer": "tb_alpha", "text": "again"}, true), 409, "followup")
	e.want(e.do("POST", fmt.Sprintf("/api/v1/orders/%d/buyer-rating", id), "platA", map[string]any{"rating": 1, "text": "好买家"}, true), 201)
	r = e.do("GET", "/api/v1/buyers/tb_alpha", "platA", nil, true)
	e.want(r, 200)
	if !strings.Contains(string(r.body), `"positive":1`) {
		t.Errorf("buyer credit: %s", r.body)
	}

	// A second review, folded with a reason: listed with it, not counted.
	ids := map[string]int64{}
	for _, res := range br.Results {
		if res.ID != 0 {
			ids[fmt.Sprint(res.Line)] = res.ID
		}
	}
	r = e.do("POST", fmt.Sprintf("/api/v1/orders/%d/reviews", ids["1"]), "platA", map[string]any{"buyer": "tb_b", "rating": -1, "description": 1, "service": 1, "logistics": 1, "text": "差"}, true)
	e.want(r, 201)
	var bad2 struct {
		ID int64 `json:"id"`
	}
	r.json(t, &bad2)
	e.want(e.do("POST", fmt.Sprintf("/api/v1/reviews/%d/fold", bad2.ID), "platA", map[string]any{}, false), 400, "reason")
	e.want(e.do("POST", fmt.Sprintf("/api/v1/reviews/%d/fold", bad2.ID), "platB", map[string]any{"reason": "x"}, true), 403, "id")
	e.want(e.do("POST", fmt.Sprintf("/api/v1/reviews/%d/fold", bad2.ID), "platA", map[string]any{"reason": "经核实为同行恶意差评"}, true), 200)

	// The folds: the department sees every platform's, a platform its
	// own; the statistics are the department's.
	var folds Page[FoldedReview]
	r = e.do("GET", "/api/v1/reviews/folded", "dept", nil, true)
	e.want(r, 200)
	r.json(t, &folds)
	if len(folds.Items) != 1 || folds.Items[0].ID != bad2.ID || folds.Items[0].PlatformID != e.platA || folds.Items[0].FoldReason != "经核实为同行恶意差评" || folds.NextCursor != "" {
		t.Errorf("folded reviews: %s", r.body)
	}
	r = e.do("GET", "/api/v1/reviews/folded?limit=1", "platA", nil, true)
	e.want(r, 200)
	r.json(t, &folds)
	if len(folds.Items) != 1 || folds.NextCursor == "" {
		t.Errorf("platform A's folds: %s", r.body)
	}
	r = e.do("GET", "/api/v1/reviews/folded?limit=1&cursor="+folds.NextCursor, "platA", nil, true)
	e.want(r, 200)
	r.json(t, &folds)
	if len(folds.Items) != 0 {
		t.Errorf("platform A's second page of folds: %s", r.body)
	}
	r = e.do("GET", "/api/v1/reviews/folded", "platB", nil, true)
	e.want(r, 200)
	r.json(t, &folds)
	if len(folds.Items) != 0 {
		t.Errorf("platform B sees another's folds: %s", r.body)
	}
	e.want(e.do("GET", fmt.Sprintf("/api/v1/reviews/folded?platform_id=%d", e.platA), "platB", nil, true), 403, "platform_id")
	e.want(e.do("GET", "/api/v1/reviews/folded?cursor=bm9wZQ", "dept", nil, false), 400, "cursor")
	var stats Page[trade.FoldStat]
	r = e.do("GET", "/api/v1/reviews/fold-stats", "dept", nil, true)
	e.want(r, 200)
	r.json(t, &stats)
	found := false
	for _, st := range stats.Items {
		if st.PlatformID == e.platA {
			found = st.Folded == 1 && st.FoldedNegative == 1 && st.Reviews >= 2 && !st.LastFold.IsZero()
		}
	}
	if !found {
		t.Errorf("fold stats: %s", r.body)
	}
	e.want(e.do("GET", "/api/v1/reviews/fold-stats", "platA", nil, true), 403)

	// Public: the shop's reputation and reviews, buyers masked.
	r = e.do("GET", fmt.Sprintf("/api/v1/public/shops/%d", shop.ID), "", nil, true)
	e.want(r, 200)
	var ps PublicShop
	r.json(t, &ps)
	if ps.Points != 1 || ps.Ratings.Reviews != 2 || ps.Ratings.Folded != 1 || ps.Ratings.PositiveRate != 1 || len(ps.RecentReviews) != 2 ||
		ps.RecentReviews[0].FoldReason == "" || ps.RecentReviews[1].Buyer != "t***a" || ps.Shop.OwnerCode != code {
		t.Errorf("public shop: %s", r.body)
	}
	// The rolling windows: the one counted review (the other is folded)
	// was written just now, so it is in every window.
	if w := ps.RatingWindows; w == nil || len(w.Rows) != 5 || w.Row(trade.WindowWeek).Positive != 1 || w.Row(trade.WindowOlder).Counted() != 0 ||
		w.Row(trade.WindowTotal).Negative != 0 || w.HalfYear.Counted != 1 || w.HalfYear.PositiveRate != 1 || w.Rows[0].Label != "最近1周" {
		t.Errorf("public shop windows: %s", r.body)
	}
	r = e.do("GET", fmt.Sprintf("/api/v1/shops/%d/reviews?limit=1", shop.ID), "", nil, true)
	e.want(r, 200)
	if !strings.Contains(string(r.body), `"next_cursor"`) || strings.Contains(string(r.body), "tb_b") {
		t.Errorf("reviews page: %s", r.body)
	}
	e.want(e.do("GET", "/api/v1/public/shops/999999", "", nil, true), 404)

	// An agency's evaluation, then the public profile.
	ev := map[string]any{"ref": "CR-2026-0001", "subject_code": code, "score": 88.5, "scale": "0-100", "grade": "A",
		"method": "履约、评价、合规、经营稳定性四项加权，数据来自平台订单与公示记录", "valid_until": e.clk.Now().AddDate(1, 0, 0).Format(time.RFC3339)}
	e.want(e.do("POST", "/api/v1/evaluations", "agency", ev, true), 201)
	e.want(e.do("POST", "/api/v1/evaluations", "agency", ev, true), 200)
	e.want(e.do("POST", "/api/v1/evaluations", "platA", ev, true), 403)
	r = e.do("GET", "/api/v1/public/subjects/"+code, "", nil, true)
	e.want(r, 200)
	p := r.m(t)
	if p["points"] != float64(1) || p["level"].(map[string]any)["name"] != "无等级" || p["ratings"] == nil || len(p["evaluations"].([]any)) != 1 ||
		p["rating_windows"] == nil || len(p["rating_windows"].(map[string]any)["rows"].([]any)) != 5 {
		t.Errorf("profile: %s", r.body)
	}
	// A subject without shops has no trade fields.
	r = e.do("GET", "/api/v1/public/subjects/"+mkUSCC(t, 900), "", nil, true)
	e.want(r, 200)
	if strings.Contains(string(r.body), `"points"`) {
		t.Errorf("platform profile has points: %s", r.body)
	}

	// Reviews in bulk, by the platform's order numbers: reviews, 追评 and
	// sellers' ratings of buyers; the same line again is unchanged, a
	// different one a conflict; every bad line named, good ones stored.
	rl := func(typ, no string, v map[string]any) string {
		m := map[string]any{"order_no": no}
		if typ != "" {
			m["type"] = typ
		}
		for k, x := range v {
			m[k] = x
		}
		return line(m)
	}
	differs := map[string]any{"buyer": "tb_alpha", "rating": 1, "description": 5, "service": 4, "logistics": 5, "text": "改了"}
	body = strings.Join([]string{
		rl("", "T-7", map[string]any{"buyer": "tb_g", "rating": 1, "description": 5, "service": 5, "logistics": 4, "text": "很好"}),
		rl("followup", "T-7", map[string]any{"buyer": "tb_g", "text": "回购了"}),
		rl("buyer_rating", "T-7", map[string]any{"rating": 1}),
		rl("review", "T-1", review),
		rl("review", "T-1", differs),
		rl("", "T-404", review),
		rl("", "T-6", wrong),
		rl("like", "T-6", nil),
		rl("followup", "T-6", map[string]any{"buyer": "tb_f", "text": "追评"}),
		"{not json",
		rl("buyer_rating", "T-1", map[string]any{"rating": 1, "text": "好买家"}),
		rl("followup", "T-1", map[string]any{"buyer": "tb_alpha", "text": "吃完了，回购"}),
	}, "\n")
	r = e.do("POST", "/api/v1/reviews/batch", "platA", body, true, header("Content-Type", "application/x-ndjson"))
	e.want(r, 200)
	var rb OrderBatchResult
	r.json(t, &rb)
	wantR := []struct{ status, field string }{{"created", ""}, {"created", ""}, {"created", ""}, {"unchanged", ""}, {"error", "order_no"},
		{"error", "order_no"}, {"error", "buyer"}, {"error", "type"}, {"error", "order_no"}, {"error", ""}, {"unchanged", ""}, {"unchanged", ""}}
	if rb.Created != 3 || rb.Unchanged != 3 || rb.Failed != 6 || len(rb.Results) != len(wantR) {
		t.Fatalf("review batch: %s", r.body)
	}
	for i, w := range wantR {
		got := rb.Results[i]
		if got.Line != i+1 || got.Status != w.status || (w.field != "" && (got.Error == nil || got.Error.Field != w.field)) || (w.status != "error") != (got.ID != 0) {
			t.Errorf("review batch line %d: %+v %+v, want %+v", i+1, got, got.Error, w)
		}
	}
	// Sent again whole: the good lines unchanged.
	r = e.do("POST", "/api/v1/reviews/batch", "platA", body, true, header("Content-Type", "application/x-ndjson"))
	e.want(r, 200)
	if r.json(t, &rb); rb.Created != 0 || rb.Unchanged != 6 || rb.Failed != 6 {
		t.Errorf("review batch again: %s", r.body)
	}
	// Another platform's order numbers are not found; only platforms send.
	r = e.do("POST", "/api/v1/reviews/batch", "platB", []map[string]any{{"order_no": "T-7", "type": "buyer_rating", "rating": -1}}, true)
	e.want(r, 200)
	if r.json(t, &rb); rb.Failed != 1 || rb.Results[0].Error == nil || rb.Results[0].Error.Field != "order_no" {
		t.Errorf("another platform's order: %s", r.body)
	}
	e.want(e.do("POST", "/api/v1/reviews/batch", "dept", []map[string]any{{"order_no": "T-7"}}, true), 403)
	e.want(e.do("POST", "/api/v1/reviews/batch", "", []map[string]any{{"order_no": "T-7"}}, true), 401)
}
