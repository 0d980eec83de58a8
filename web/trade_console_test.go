package web

import (
	"fmt"
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
