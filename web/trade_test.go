package web

import (
	"html"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/httpx"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trade"
)

// TestShopRatingsPage renders a shop's ratings page (level, points, the
// three detailed ratings, 好评率, reviews with 追评 and a folded one with its
// reason, buyers masked) and the ratings section of the owner's profile.
func TestShopRatingsPage(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		tr := &trade.Service{Store: db, Clock: e.clk}
		site, err := New(Deps{Registry: e.reg, Accounts: e.acc, Audit: db, Clock: e.clk, Logger: slog.New(slog.NewTextHandler(e.logs, nil)), Trade: tr})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(httpx.Wrap(site, httpx.Options{Logger: slog.New(slog.NewTextHandler(e.logs, nil))}))
		t.Cleanup(srv.Close)
		shop, err := e.reg.CreateShop(sys, registry.ShopInput{PlatformID: e.platform.ID, OwnerID: e.merchant.ID, Name: "山庄特产旗舰店",
			URL: "https://shanzhuang.example.cn", Category: "food"})
		if err != nil {
			t.Fatal(err)
		}
		plat := account.With(sys, account.Actor{AccountID: 7, Name: "承德优品商城", Role: account.RolePlatform, SubjectID: e.platform.ID, Via: "api"})
		paid := e.clk.Now().Add(-5 * 24 * time.Hour)
		one, minus := 1, -1
		var reviews []*trade.Review
		for i, b := range []string{"tb_buyer1", "tb_buyer2"} {
			o, err := tr.Ingest(plat, trade.OrderInput{OrderNo: "W-" + b, ShopID: shop.ID, Buyer: b, AmountFen: 100,
				Items:  []trade.ItemInput{{GTIN: "6901234567892", Quantity: 1, PriceFen: 100}},
				PaidAt: paid, ShippedAt: paid.Add(time.Hour), SignedAt: paid.Add(30 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			rating := &one
			if i == 1 {
				rating = &minus
			}
			rv, err := tr.Review(plat, o.ID, trade.ReviewInput{Buyer: b, Rating: rating, Description: 5 - 3*i, Service: 5, Logistics: 4, Text: "评价内容"})
			if err != nil {
				t.Fatal(err)
			}
			reviews = append(reviews, rv)
		}
		if _, err := tr.Followup(plat, reviews[0].ID, trade.FollowupInput{Buyer: "tb_buyer1", Text: "用了一个月还不错"}); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Fold(plat, reviews[1].ID, trade.FoldInput{Reason: "同行恶意差评"}); err != nil {
			t.Fatal(err)
		}
		c := &client{t: t, base: srv.URL, hc: srv.Client()}
		status, body := c.get("/shops/" + itoa(shop.ID))
		if status != 200 {
			t.Fatalf("shop page %d: %s", status, body)
		}
		body = html.UnescapeString(body)
		for _, want := range []string{"山庄特产旗舰店", "信用积分", "1 分", "好评率", "100.00%", "宝贝与描述相符", "卖家服务态度", "物流服务质量",
			"用了一个月还不错", "同行恶意差评", "t***1", "被平台折叠"} {
			if !strings.Contains(body, want) {
				t.Errorf("shop page lacks %q", want)
			}
		}
		// The 信用评价 table: the one counted review (the other is folded)
		// was written now, so it is in every window but 6个月前.
		for _, want := range []string{"好评率（近6个月）", "好评率（累计）", "<caption>店铺动态评分</caption>", `<th scope="col">近6个月</th>`,
			"<caption>信用评价（截至 ", `<th scope="col">最近1周</th><th scope="col">最近1个月</th><th scope="col">最近6个月</th><th scope="col">6个月前</th><th scope="col">总计</th>`,
			`<th scope="row">好评</th><td>1</td><td>1</td><td>1</td><td>0</td><td>1</td>`,
			`<th scope="row">差评</th><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td>`} {
			if !strings.Contains(body, want) {
				t.Errorf("shop page lacks %q", want)
			}
		}
		if strings.Contains(body, "tb_buyer1") {
			t.Error("shop page shows a buyer unmasked")
		}
		// Two agencies' evaluations: a score with its scale and grade, a
		// grade alone.
		score := 87.5
		for _, in := range []trade.EvaluationInput{
			{Ref: "XP-1", SubjectCode: e.merchant.CreditCode, Score: &score, Scale: "0-100", Grade: "AA", Method: "评分卡模型：许可、处罚、网店评价加权", ValidUntil: e.clk.Now().AddDate(1, 0, 0)},
			{Ref: "ZX-1", SubjectCode: e.merchant.CreditCode, Grade: "A+", Method: "专家评审结合定量指标，两名评审员合议", ValidUntil: e.clk.Now().AddDate(1, 0, 0)},
		} {
			ag := account.With(sys, account.Actor{AccountID: 8, Name: "承德信用评估有限公司", Role: account.RoleAgency, Via: "api"})
			if _, _, err := tr.SubmitEvaluation(ag, in); err != nil {
				t.Fatal(err)
			}
		}
		status, body = c.get("/subjects/" + itoa(e.merchant.ID))
		if status != 200 || !strings.Contains(body, "交易信用评价") || !strings.Contains(body, "/shops/"+itoa(shop.ID)) {
			t.Errorf("profile %d lacks the ratings section or the shop link", status)
		}
		body = html.UnescapeString(body)
		for _, want := range []string{"第三方信用评价", "<td>87.5（0-100） AA</td>", "<td> A+</td>", "评分卡模型"} {
			if !strings.Contains(body, want) {
				t.Errorf("profile lacks %q", want)
			}
		}
		if strings.Contains(body, "%!") {
			t.Error("profile shows a formatting error")
		}
		if status, _ := c.get("/shops/999999"); status != 404 {
			t.Errorf("unknown shop: %d", status)
		}
		if status, _ := c.get("/shops/" + itoa(shop.ID) + "?before=x"); status != 400 {
			t.Errorf("bad cursor: %d", status)
		}
	})
}
