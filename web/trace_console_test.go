package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/code"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trace"
)

// foodBatch registers the merchant's food product of the GTIN body (12
// digits, check digit added) and a batch of it made on 2025-02-01; it
// returns the GTIN.
func foodBatch(t *testing.T, svc *trace.Service, e *env, body, name, batch string) string {
	t.Helper()
	c, _ := code.GTINCheck(body)
	g := body + string(c)
	if _, _, err := svc.CreateProduct(samrCtx, trace.ProductInput{GTIN: g, Name: name, Category: "food", ProducerCode: e.merchant.CreditCode}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateBatch(samrCtx, trace.BatchInput{GTIN: g, Batch: batch, ProducedOn: "2025-02-01"}); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestConsoleTraceAndRecall: a department looks a batch up in the
// console, pages through every order that holds it, recalls it (only
// with a reason and the confirming tick, once), and traces an order back
// to its batch, producer and inspections.
func TestConsoleTraceAndRecall(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e, svc := traceEnv(t, db)
		g := foodBatch(t, svc, e, "690111133334", "承德杏仁露", "X9")
		if _, err := svc.IngestEvent(samrCtx, trace.EventInput{EventID: "1", Type: trace.EventInspected, GTIN: g, Batch: "X9",
			Time: "2025-02-02T09:00:00+08:00", Disposition: "conformant", Ref: "QJ-2025-88", Region: "130821"}); err != nil {
			t.Fatal(err)
		}
		shops, err := db.ListShops(sys, registry.ShopFilter{PlatformID: e.platform.ID})
		if err != nil || len(shops) != 1 {
			t.Fatal(shops, err)
		}
		const orders = consoleTracePage + 3
		first := storetest.InsertOrders(t, db, orders, func(i int) storetest.Order {
			return storetest.Order{PlatformID: e.platform.ID, ShopID: shops[0].ID, SellerID: e.seller.ID, OrderNo: fmt.Sprintf("TB-%04d", i),
				Region: []string{"130802", "110105", "130821"}[i%3], PaidAt: time.Date(2025, 2, 10, 0, 0, 0, 0, time.UTC),
				Items: []storetest.Item{{GTIN: g, Batch: "X9", Quantity: 2, PriceFen: 1250}}}
		})
		dept := e.staff(account.RoleDepartment, "samr1")

		st, body := dept.get("/console/trace")
		if st != 200 || !strings.Contains(body, `name="gtin"`) || !strings.Contains(body, `name="order"`) || !strings.Contains(body, `href="/console/trace"`) {
			t.Fatalf("lookup form: %d", st)
		}
		for q, want := range map[string]string{
			"?gtin=" + g + "&batch=X9": "/console/trace/" + g + "/X9",
			"?order=" + itoa(first):    "/console/orders/" + itoa(first),
		} {
			req, _ := http.NewRequest(http.MethodGet, dept.base+"/console/trace"+q, nil)
			if st, _, resp := dept.do(req); st != http.StatusSeeOther || resp.Header.Get("Location") != want {
				t.Errorf("lookup %s: %d → %q, want %s", q, st, resp.Header.Get("Location"), want)
			}
		}
		for q, want := range map[string]string{"?gtin=123&batch=X9": "商品条码", "?order=abc": "订单编号"} {
			if st, body := dept.get("/console/trace" + q); st != 400 || !strings.Contains(body, want) {
				t.Errorf("lookup %s: %d, want 400 naming %s", q, st, want)
			}
		}
		if st, body := dept.get("/console/trace/" + g + "/NOPE"); st != 404 || !strings.Contains(body, "未找到该批次") {
			t.Errorf("unknown batch: %d", st)
		}

		// The whole forward trace, a page at a time.
		page := "/console/trace/" + g + "/X9"
		st, body = dept.get(page)
		if st != 200 || !strings.Contains(body, "承德杏仁露") || !strings.Contains(body, itoa(orders)+" 笔") || !strings.Contains(body, "TB-0000") ||
			!strings.Contains(body, "TB-0099") || strings.Contains(body, "TB-0100") || !strings.Contains(body, "承德优品商城") || !strings.Contains(body, "北京市") {
			t.Fatalf("trace page: %d\n%s", st, body)
		}
		next := fmt.Sprintf(`%s?after=%d`, page, first+consoleTracePage-1)
		if !strings.Contains(body, `href="`+next+`"`) || !strings.Contains(body, `action="`+page+`/recall"`) {
			t.Fatalf("no next page link %s or recall form", next)
		}
		// The batch's QR code, with the print-size image to download.
		if !strings.Contains(body, `src="/trace/`+g+`/X9/qr.png"`) || !strings.Contains(body, `href="/trace/`+g+`/X9/qr.png?size=1000"`) ||
			!strings.Contains(body, "/01/0"+g+"/10/X9</a>") {
			t.Errorf("no QR code on the console's batch page")
		}
		st, body = dept.get(strings.TrimPrefix(next, ""))
		if st != 200 || !strings.Contains(body, "TB-0100") || !strings.Contains(body, "TB-0102") || strings.Contains(body, "TB-0099") || strings.Contains(body, "?after=") {
			t.Fatalf("second page: %d", st)
		}
		if st, _ := dept.get(page + "?after=x"); st != 400 {
			t.Errorf("bad cursor: %d", st)
		}

		// Recall: refused without the tick or a reason, then done once.
		csrf := csrfOf(t, body)
		recalled := func() bool {
			b, _, err := svc.GetBatch(samrCtx, g, "X9")
			if err != nil {
				t.Fatal(err)
			}
			return b.Status == trace.BatchRecalled
		}
		st, body, _ = dept.post(page+"/recall", url.Values{"csrf": {csrf}, "reason": {"菌落总数超标"}})
		if st != 400 || !strings.Contains(body, "请勾选确认") || !strings.Contains(body, "菌落总数超标") || recalled() {
			t.Fatalf("recall without the tick: %d, recalled %v", st, recalled())
		}
		st, body, _ = dept.post(page+"/recall", url.Values{"csrf": {csrf}, "confirm": {"1"}})
		if st != 400 || !strings.Contains(body, "has-error") || recalled() {
			t.Fatalf("recall without a reason: %d, recalled %v", st, recalled())
		}
		st, _, resp := dept.post(page+"/recall", url.Values{"csrf": {csrf}, "reason": {"菌落总数超标"}, "confirm": {"1"}})
		if st != http.StatusSeeOther || resp.Header.Get("Location") != page+"?done=recall" || !recalled() {
			t.Fatalf("recall: %d → %q, recalled %v", st, resp.Header.Get("Location"), recalled())
		}
		st, body = dept.get(page + "?done=recall")
		if st != 200 || !strings.Contains(body, "召回已发布") || !strings.Contains(body, "该批次已召回") || !strings.Contains(body, "菌落总数超标") ||
			!strings.Contains(body, "/console/records/") || strings.Contains(body, "发布召回</h2>") {
			t.Fatalf("after the recall: %d\n%s", st, body)
		}
		rc, err := svc.Forward(samrCtx, g, "X9", 0, 1)
		if err != nil || rc.Recall == nil || rc.Recall.Orders != orders || rc.Recall.Quantity != 2*orders {
			t.Fatalf("recall stored: %v %+v", err, rc)
		}
		if st, body, _ := dept.post(page+"/recall", url.Values{"csrf": {csrf}, "reason": {"再次"}, "confirm": {"1"}}); st != 409 || !strings.Contains(body, "已召回") {
			t.Errorf("second recall: %d", st)
		}

		// The seller's page flags the licensed category it sells in
		// without a licence (food, from its orders' product).
		st, body = dept.get("/console/subjects/" + itoa(e.seller.ID))
		if st != 200 || !strings.Contains(body, "经营许可核对") || !strings.Contains(body, "预警") || !strings.Contains(body, "食品") {
			t.Errorf("seller's licence flags: %d\n%s", st, body)
		}
		st, body = dept.get("/console/subjects/" + itoa(e.merchant.ID))
		if st != 200 || !strings.Contains(body, "未发现需行政许可的经营类别") || strings.Contains(body, "badge-failed\">预警") {
			t.Errorf("producer without shops or orders: %d", st)
		}

		// The lookup page lists the latest recalls, newest first.
		if _, _, err := svc.CreateBatch(samrCtx, trace.BatchInput{GTIN: g, Batch: "X10", ProducedOn: "2025-03-01"}); err != nil {
			t.Fatal(err)
		}
		e.clk.Advance(time.Hour)
		if _, err := svc.Recall(samrCtx, g, "X10", trace.RecallInput{Reason: "标签缺少生产日期"}); err != nil {
			t.Fatal(err)
		}
		st, body = dept.get("/console/trace")
		i, j := strings.Index(body, `href="/console/trace/`+g+`/X10"`), strings.Index(body, `href="/console/trace/`+g+`/X9"`)
		if st != 200 || !strings.Contains(body, "最近的召回") || i < 0 || j < 0 || i > j || !strings.Contains(body, "标签缺少生产日期") || !strings.Contains(body, "承德杏仁露") {
			t.Fatalf("recent recalls: %d (X10 at %d, X9 at %d)\n%s", st, i, j, body)
		}

		// The dashboard shows the latest recalls too.
		if st, body := dept.get("/console/"); st != 200 || !strings.Contains(body, "最近的召回") || !strings.Contains(body, `href="/console/trace/`+g+`/X10"`) {
			t.Errorf("dashboard recalls: %d", st)
		}

		// Backward from an order.
		st, body = dept.get("/console/orders/" + itoa(first+1))
		if st != 200 || !strings.Contains(body, "TB-0001") || !strings.Contains(body, "QJ-2025-88") || !strings.Contains(body, e.merchant.Name) ||
			!strings.Contains(body, `href="`+page+`"`) || !strings.Contains(body, "已召回") || !strings.Contains(body, "25.00 元") {
			t.Fatalf("backward trace: %d\n%s", st, body)
		}
		// Its lifecycle: the payment, recorded by the platform.
		if life := body[strings.Index(body, "全过程留痕"):]; !strings.Contains(life, "付款下单") || !strings.Contains(life, "订单 TB-0001，金额 25.00 元") || !strings.Contains(life, "电商平台") {
			t.Errorf("lifecycle: %.1500s", life)
		}
		if st, _ := dept.get("/console/orders/" + itoa(first+orders+50)); st != 404 {
			t.Errorf("unknown order: %d", st)
		}
		if st, _ := dept.get("/console/orders/x"); st != 404 {
			t.Errorf("bad order id: %d", st)
		}
	})
}

// TestConsoleTraceWithoutService: without the trace service the pages say
// so.
func TestConsoleTraceWithoutService(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		dept := e.staff(account.RoleDepartment, "samr2")
		for _, p := range []string{"/console/trace", "/console/trace/06901234567892/L1", "/console/orders/1"} {
			if st, body := dept.get(p); st != http.StatusServiceUnavailable || !strings.Contains(body, "产品追溯服务未启用") {
				t.Errorf("%s: %d", p, st)
			}
		}
	})
}
