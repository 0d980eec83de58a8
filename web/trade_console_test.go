package web

import (
	"fmt"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trade"
)

// TestConsoleOrders: staff list the orders of a shop, a seller or a
// platform a page at a time, each linking its backward trace; a bad filter
// is refused next to its field.
func TestConsoleOrders(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e, _ := traceEnvWith(t, db, &trade.Service{Store: db, Clock: nil})
		shops, err := db.ListShops(sys, registry.ShopFilter{PlatformID: e.platform.ID})
		if err != nil || len(shops) != 1 {
			t.Fatal(shops, err)
		}
		const n = ordersPage + 5
		first := storetest.InsertOrders(t, db, n, func(i int) storetest.Order {
			return storetest.Order{PlatformID: e.platform.ID, ShopID: shops[0].ID, SellerID: e.seller.ID, OrderNo: fmt.Sprintf("CO-%04d", i),
				Region: "130802", PaidAt: time.Date(2025, 2, 10, 0, 0, 0, 0, time.UTC), Items: []storetest.Item{{GTIN: "6901234567892", Quantity: 1, PriceFen: 1990}}}
		})
		dept := e.staff(account.RoleDepartment, "samr3")
		for _, q := range []string{fmt.Sprintf("?shop=%d", shops[0].ID), fmt.Sprintf("?seller=%d", e.seller.ID), fmt.Sprintf("?platform=%d", e.platform.ID), ""} {
			st, body := dept.get("/console/orders" + q)
			if st != 200 || !strings.Contains(body, "CO-0000") || !strings.Contains(body, fmt.Sprintf("CO-%04d", ordersPage-1)) ||
				strings.Contains(body, fmt.Sprintf("CO-%04d", ordersPage)) || !strings.Contains(body, fmt.Sprintf(`href="/console/orders/%d"`, first)) ||
				!strings.Contains(body, "丰哥山货小铺") || !strings.Contains(body, "19.90 元") {
				t.Fatalf("orders %s: %d\n%s", q, st, body)
			}
			next := fmt.Sprintf("after=%d", first+ordersPage-1)
			i := strings.Index(body, "/console/orders?")
			for i >= 0 && !strings.Contains(body[i:i+80], next) {
				j := strings.Index(body[i+1:], "/console/orders?")
				if j < 0 {
					i = -1
					break
				}
				i += 1 + j
			}
			if i < 0 {
				t.Fatalf("orders %s: no next page link with %s", q, next)
			}
			link := strings.ReplaceAll(body[i:i+strings.IndexByte(body[i:], '"')], "&amp;", "&")
			st, body = dept.get(link)
			if st != 200 || !strings.Contains(body, fmt.Sprintf("CO-%04d", n-1)) || strings.Contains(body, "CO-0000") || strings.Contains(body, "下一页") {
				t.Fatalf("second page %s: %d", link, st)
			}
		}
		if st, body := dept.get("/console/orders?shop=abc"); st != http.StatusBadRequest || !strings.Contains(body, "店铺编号必须是正整数") {
			t.Errorf("a bad shop id: %d", st)
		}
		if st, body := dept.get("/console/orders?shop=999999"); st != 200 || !strings.Contains(body, "没有符合条件的订单") {
			t.Errorf("a shop without orders: %d", st)
		}
		if st, body := dept.get("/console/shops"); st != 200 || !strings.Contains(body, fmt.Sprintf(`href="/console/orders?shop=%d"`, shops[0].ID)) {
			t.Errorf("the shops list does not link the orders: %d", st)
		}
		if st, body := dept.get(fmt.Sprintf("/console/subjects/%d", e.seller.ID)); st != 200 || !strings.Contains(body, fmt.Sprintf(`href="/console/orders?seller=%d"`, e.seller.ID)) {
			t.Errorf("the seller's page does not link its orders: %d", st)
		}
	})
}

// TestConsoleFolds: the console counts each platform's reviews and folds
// (the folds by rating) and lists the folded reviews, the latest fold
// first, a page at a time, of one platform or all.
func TestConsoleFolds(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		tr := &trade.Service{Store: db}
		e, _ := traceEnvWith(t, db, tr)
		other, err := e.reg.CreateSubject(sys, registry.SubjectInput{Kind: registry.KindPlatform, Name: "避暑山庄商城", CreditCode: mustUSCC(t, "130802", "MA0PLAT2")})
		if err != nil {
			t.Fatal(err)
		}
		paid := e.clk.Now().Add(-5 * 24 * time.Hour)
		one, minus := 1, -1
		// Platform A: foldsPage + 4 reviews, every one but 3 folded (the
		// negative ones); platform B: 2 reviews, one folded.
		review := func(p *registry.Subject, n int, fold func(i int) bool, rating func(i int) *int) {
			plat := account.With(sys, account.Actor{AccountID: 7, Name: p.Name, Role: account.RolePlatform, SubjectID: p.ID, Via: "api"})
			sh, err := e.reg.CreateShop(sys, registry.ShopInput{PlatformID: p.ID, OwnerID: e.merchant.ID, Name: p.Name + "旗舰店",
				URL: "https://s" + itoa(p.ID) + ".example.cn", Category: "food"})
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				b := fmt.Sprintf("tb_%d_%d", p.ID, i)
				o, err := tr.Ingest(plat, trade.OrderInput{OrderNo: "F-" + b, ShopID: sh.ID, Buyer: b, AmountFen: 100,
					Items:  []trade.ItemInput{{GTIN: "6901234567892", Quantity: 1, PriceFen: 100}},
					PaidAt: paid, ShippedAt: paid.Add(time.Hour), SignedAt: paid.Add(30 * time.Hour)})
				if err != nil {
					t.Fatal(err)
				}
				rv, err := tr.Review(plat, o.ID, trade.ReviewInput{Buyer: b, Rating: rating(i), Description: 3, Service: 4, Logistics: 4, Text: "评价 " + b})
				if err != nil {
					t.Fatal(err)
				}
				if fold(i) {
					e.clk.Advance(time.Second)
					if _, err := tr.Fold(plat, rv.ID, trade.FoldInput{Reason: fmt.Sprintf("折叠理由 %d-%d", p.ID, i)}); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		review(e.platform, foldsPage+4, func(i int) bool { return i >= 3 }, func(i int) *int {
			if i >= 3 {
				return &minus
			}
			return &one
		})
		review(other, 2, func(i int) bool { return i == 0 }, func(int) *int { return &one })
		dept := e.staff(account.RoleDepartment, "samr4")

		st, body := dept.get("/console/reviews/folded")
		body = html.UnescapeString(body)
		if st != 200 || !strings.Contains(body, fmt.Sprintf("<td>%d</td><td>%d</td>", foldsPage+4, foldsPage+1)) || !strings.Contains(body, fmt.Sprintf("%d / 0 / 0", foldsPage+1)) ||
			!strings.Contains(body, "<td>2</td><td>1</td><td>50.00%</td>") || !strings.Contains(body, "0 / 0 / 1") {
			t.Fatalf("fold stats: %d\n%s", st, body)
		}
		// All platforms: the latest fold first (platform B's), 50 a page.
		last := fmt.Sprintf("折叠理由 %d-0", other.ID)
		first := fmt.Sprintf("折叠理由 %d-%d", e.platform.ID, foldsPage+3)
		if i, j := strings.Index(body, last), strings.Index(body, first); i < 0 || j < 0 || i > j {
			t.Fatalf("order of folds: %q at %d, %q at %d", last, i, first, j)
		}
		if strings.Contains(body, fmt.Sprintf("折叠理由 %d-3<", e.platform.ID)) || !strings.Contains(body, "下一页") {
			t.Fatalf("first page holds the oldest fold, or no next page")
		}
		// One platform, both pages.
		st, body = dept.get(fmt.Sprintf("/console/reviews/folded?platform=%d", e.platform.ID))
		if st != 200 || strings.Contains(body, last) || !strings.Contains(body, first) {
			t.Fatalf("platform A's folds: %d", st)
		}
		i := strings.Index(body, "/console/reviews/folded?before=")
		if i < 0 {
			t.Fatal("no next page of platform A's folds")
		}
		st, body = dept.get(html.UnescapeString(body[i : i+strings.IndexByte(body[i:], '"')]))
		if st != 200 || !strings.Contains(body, fmt.Sprintf("折叠理由 %d-3<", e.platform.ID)) || strings.Contains(body, first) || strings.Contains(body, "下一页") {
			t.Fatalf("platform A's second page: %d\n%s", st, body)
		}
		// The dashboard names the platform that folded the most 差评.
		st, body = dept.get("/console/")
		if i, j := strings.Index(body, "折叠差评最多的平台"), strings.Index(body, fmt.Sprintf(`href="/console/reviews/folded?platform=%d"`, e.platform.ID)); st != 200 || i < 0 || j < i ||
			strings.Contains(body, fmt.Sprintf(`href="/console/reviews/folded?platform=%d"`, other.ID)) {
			t.Errorf("dashboard folds: %d", st)
		}
		for _, q := range []string{"?before=x", "?before=5.", "?platform=-2"} {
			if st, _ := dept.get("/console/reviews/folded" + q); st != 400 {
				t.Errorf("%s: %d", q, st)
			}
		}
	})
}
