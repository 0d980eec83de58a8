package web

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ecredit/code"
	"ecredit/httpx"
	"ecredit/record"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trace"
	"ecredit/trade"
)

// traceEnv is newEnv with the trace and record services.
func traceEnv(t *testing.T, db *sqlstore.DB) (*env, *trace.Service) {
	t.Helper()
	return traceEnvWith(t, db, nil)
}

// traceEnvWith is traceEnv with the trade service too, when not nil (its
// clock is the env's).
func traceEnvWith(t *testing.T, db *sqlstore.DB, tr *trade.Service) (*env, *trace.Service) {
	t.Helper()
	e := newEnv(t, db)
	recs := &record.Service{Store: db, Subjects: db, Keys: e.reg.Keys, Clock: e.clk}
	svc := &trace.Service{Store: db, Subjects: db, Records: db, Recorder: recs, Clock: e.clk}
	logger := slog.New(slog.NewTextHandler(e.logs, nil))
	if tr != nil {
		tr.Clock = e.clk
	}
	site, err := New(Deps{Registry: e.reg, Accounts: e.acc, Audit: db, Clock: e.clk, Logger: logger, Trace: svc, Records: recs, Trade: tr})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(httpx.Wrap(site, httpx.Options{Logger: logger}))
	t.Cleanup(e.srv.Close)
	return e, svc
}

// TestTracePages: the lookup form redirects to a batch's page, which shows
// the timeline, the reach by city and the recall banner, and never an
// order number or the seller's personal data.
func TestTracePages(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e, svc := traceEnv(t, db)
		srv := e.srv
		c, _ := code.GTINCheck("690111122223")
		g := "690111122223" + string(c)
		if _, _, err := svc.CreateProduct(samrCtx, trace.ProductInput{GTIN: g, Name: "承德山楂糕", Category: "food", ProducerCode: e.merchant.CreditCode}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.CreateBatch(samrCtx, trace.BatchInput{GTIN: g, Batch: "B7", ProducedOn: "2025-02-01"}); err != nil {
			t.Fatal(err)
		}
		// Inspected at the producer's registered quality room; stored at
		// an unregistered location (shown as sent).
		cl, _ := code.GTINCheck("690111100001")
		room := "690111100001" + string(cl)
		if _, err := svc.RegisterSites(samrCtx, []trace.SiteInput{{GLN: room, SubjectCode: e.merchant.CreditCode, Name: "质检室", Region: "130821"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.IngestEvent(samrCtx, trace.EventInput{EventID: "1", Type: trace.EventInspected, GTIN: g, Batch: "B7",
			Time: "2025-02-02T09:00:00+08:00", Disposition: "conformant", Ref: "QJ-2025-7", Region: "130821",
			ReadPoint: "https://id.gs1.org/414/" + room, BizLocation: "urn:epc:id:sgln:6901111.00002.0"}); err != nil {
			t.Fatal(err)
		}
		shops, err := db.ListShops(sys, registry.ShopFilter{PlatformID: e.platform.ID})
		if err != nil || len(shops) != 1 {
			t.Fatal(shops, err)
		}
		storetest.InsertOrders(t, db, 3, func(i int) storetest.Order {
			return storetest.Order{PlatformID: e.platform.ID, ShopID: shops[0].ID, SellerID: e.seller.ID, OrderNo: "ORD-SECRET-" + string(rune('a'+i)),
				Region: []string{"130802", "110105", "130821"}[i], PaidAt: time.Date(2025, 2, 10, 0, 0, 0, 0, time.UTC),
				Items: []storetest.Item{{GTIN: g, Batch: "B7", Quantity: 1, PriceFen: 990}}}
		})
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		get := func(path string) (int, string, http.Header) {
			t.Helper()
			resp, err := noRedirect.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b), resp.Header
		}
		st, body, _ := get("/trace")
		if st != 200 || !strings.Contains(body, `name="batch"`) {
			t.Fatalf("form: %d", st)
		}
		st, _, h := get("/trace?gtin=" + g + "&batch=B7")
		if st != http.StatusSeeOther || h.Get("Location") != "/trace/"+g+"/B7" {
			t.Fatalf("lookup: %d %s", st, h.Get("Location"))
		}
		if st, body, _ = get("/trace?gtin=123&batch=B7"); st != 400 || !strings.Contains(body, "商品条码") {
			t.Errorf("bad gtin: %d", st)
		}
		st, body, _ = get("/trace/" + g + "/B7")
		if st != 200 || !strings.Contains(body, "承德山楂糕") || !strings.Contains(body, "QJ-2025-7") || !strings.Contains(body, "北京市") ||
			!strings.Contains(body, "承德市") || strings.Contains(body, "ORD-SECRET") || strings.Contains(body, e.sellerName) ||
			!strings.Contains(body, "观察点 质检室（"+e.merchant.Name) || !strings.Contains(body, `货物所在 <span class="mono">urn:epc:id:sgln:6901111.00002.0</span>`) {
			t.Fatalf("trace page: %d %s", st, body)
		}
		// The producer's profile lists its sites.
		if st, body, _ = get(fmt.Sprintf("/subjects/%d", e.merchant.ID)); st != 200 || !strings.Contains(body, "追溯地点") || !strings.Contains(body, room) {
			t.Errorf("profile sites: %d", st)
		}
		if strings.Contains(body, "已召回") {
			t.Error("recall banner before the recall")
		}
		if _, err := svc.Recall(samrCtx, g, "B7", trace.RecallInput{Reason: "标签日期错误"}); err != nil {
			t.Fatal(err)
		}
		if st, body, _ = get("/trace/" + g + "/B7"); st != 200 || !strings.Contains(body, "该批次已召回") || !strings.Contains(body, "标签日期错误") {
			t.Errorf("recall banner: %d", st)
		}
		if st, _, _ = get("/trace/" + g + "/NOPE"); st != 404 {
			t.Errorf("unknown batch: %d", st)
		}
		if st, body, _ = get("/"); !strings.Contains(body, `action="/trace"`) {
			t.Errorf("home has no trace form")
		}
	})
}
