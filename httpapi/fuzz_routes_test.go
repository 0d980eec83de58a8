package httpapi

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"ecredit/account"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// FuzzParams: any raw query string is read strictly: values come back in
// range, and every error names a parameter that is in the query.
func FuzzParams(f *testing.F) {
	for _, s := range []string{"q=商贸&limit=10", "limit=0", "limit=501", "limit=1e3", "cursor=" + base64.RawURLEncoding.EncodeToString([]byte("42")),
		"cursor=!!", "cursor=LTE", "platform_id=-1", "platform_id=9223372036854775808", "q=a&q=b", "x=1", "q=%ff", "q=%zz", "index=1&size=0",
		"q=" + strings.Repeat("字", 101), ";", "&&&", "limit", "=1"} {
		f.Add(s)
	}
	allowed := []string{"q", "limit", "cursor", "platform_id", "index", "size"}
	f.Fuzz(func(t *testing.T, raw string) {
		r := &http.Request{Method: "GET", URL: &url.URL{Path: "/x", RawQuery: raw}}
		p := newParams(r, allowed...)
		q := p.str("q", 100)
		pid := p.id("platform_id")
		lim := p.limit(50, 500)
		cur := p.cursor()
		idx := p.size("index", true)
		size := p.size("size", false)
		if !utf8.ValidString(q) || utf8.RuneCountInString(q) > 100 {
			t.Fatalf("q %q", q)
		}
		if pid < 0 || lim < 1 || lim > 500 || cur < 0 || idx < 0 || size < 0 {
			t.Fatalf("out of range: platform_id %d limit %d cursor %d index %d size %d", pid, lim, cur, idx, size)
		}
		vals, _ := url.ParseQuery(raw)
		for _, e := range p.errs {
			if _, in := vals[e.Field]; !in && e.Field != "index" {
				t.Fatalf("error names %q, not in the query %q", e.Field, raw)
			}
			if e.Message == "" {
				t.Fatalf("error without a message: %+v", e)
			}
		}
		if cur > 0 {
			if c := nextCursor(1, 1, cur); c == "" {
				t.Fatalf("no cursor for %d", cur)
			}
		}
	})
}

// fuzzRoutes are the main write routes FuzzRouteBodies throws bodies at
// (an id of 1 is the first subject, shop, account or record).
var fuzzRoutes = []struct{ method, path, ctype string }{
	{"POST", "/api/v1/subjects", "application/json"},
	{"PATCH", "/api/v1/subjects/{subject}", "application/json"},
	{"POST", "/api/v1/subjects/batch", "application/x-ndjson"},
	{"POST", "/api/v1/subjects/lookup", "application/json"},
	{"POST", "/api/v1/subjects/{subject}/personal", "application/json"},
	{"POST", "/api/v1/subjects/{subject}/verifications", "application/json"},
	{"POST", "/api/v1/shops", "application/json"},
	{"PATCH", "/api/v1/shops/{shop}", "application/json"},
	{"POST", "/api/v1/accounts", "application/json"},
	{"POST", "/api/v1/accounts/{account}/keys", "application/json"},
	{"POST", "/api/v1/records", "application/json"},
	{"POST", "/api/v1/records/batch", "application/x-ndjson"},
	{"POST", "/api/v1/records/{record}/withdraw", "application/json"},
	{"POST", "/api/v1/records/{record}/objections", "application/json"},
	{"POST", "/api/v1/records/{record}/objections/answer", "application/json"},
	{"POST", "/api/v1/records/{record}/repair", "application/json"},
	{"POST", "/api/v1/records/{record}/repair/review", "application/json"},
	{"POST", "/api/v1/records/{record}/repair/decision", "application/json"},
	// Trade, logistics and traceability (issue 3); order and review 1
	// may not exist, which is a 404 like any other refusal.
	{"POST", "/api/v1/orders", "application/json"},
	{"POST", "/api/v1/orders/batch", "application/x-ndjson"},
	{"POST", "/api/v1/orders/1/reviews", "application/json"},
	{"POST", "/api/v1/orders/1/buyer-rating", "application/json"},
	{"POST", "/api/v1/reviews/batch", "application/x-ndjson"},
	{"POST", "/api/v1/reviews/1/followup", "application/json"},
	{"POST", "/api/v1/reviews/1/fold", "application/json"},
	{"POST", "/api/v1/evaluations", "application/json"},
	{"POST", "/api/v1/parcels/batch", "application/x-ndjson"},
	{"POST", "/api/v1/parcels/events/batch", "application/x-ndjson"},
	{"POST", "/api/v1/products", "application/json"},
	{"POST", "/api/v1/batches", "application/json"},
	{"POST", "/api/v1/batches/6901234567892/L1/recall", "application/json"},
	{"POST", "/api/v1/batches/6901234567892/L1/inputs", "application/json"},
	{"POST", "/api/v1/trace/events", "application/json"},
	{"POST", "/api/v1/trace/events/batch", "application/x-ndjson"},
	{"POST", "/api/v1/trace/epcis", "application/json"},
}

// FuzzRouteBodies throws arbitrary bodies at the main write routes as
// the credit office, a platform and a department: no body may produce a 5xx, and
// every refusal carries a message.
func FuzzRouteBodies(f *testing.F) {
	seeds := []string{
		`{"kind":"merchant","name":"承德公司","credit_code":"` + usccB + `"}`,
		`{"name":"新名称","version":1}`, `{"status":"suspended"}`, `{"id_number":"` + idA + `"}`, `{"phone":"13912345678"}`,
		`{"reason":"核实"}`, `{"method":"id_check","passed":true,"valid_days":30}`, `{"owner_id":1,"name":"店","url":"https://a.example.com"}`,
		`{"name":"机构","role":"agency"}`, `{"label":"k"}`, `{"type":"penalty","fields":{"doc_no":"1","处罚决定日期":"2026-01-01"}}`,
		`{"reason":"撤销","revoked_on":"2026-02-30"}`, `{"upheld":true,"answer":"是"}`, `{"note":"受理"}`, `{"approve":true,"note":"同意"}`,
		`{"type":"other","fields":{"x":"y"}}` + "\n" + `{"kind":"seller","name":"张三","id_number":"` + idB + `"}`,
		`{"order_no":"F1","shop_id":1,"buyer":"b","amount_fen":100,"paid_at":"2026-01-02T03:04:05Z","items":[{"gtin":"6901234567892","quantity":1,"price_fen":100}]}`,
		`{"order_no":"F1","rating":"good","describe":5,"service":4,"logistics":3,"text":"好"}`,
		`{"waybill":"W1","type":"signed","at":"2026-01-02T03:04:05Z","signed_by":"locker"}`,
		`{"gtin":"6901234567892","batch":"L1","produced_on":"2026-01-01","quantity":10}`,
		`{"type":"EPCISDocument","epcisBody":{"eventList":[{"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-01-02T03:04:05Z","quantityList":[{"epcClass":"https://id.gs1.org/01/06901234567892/10/L1"}]}]}}`,
		`{`, `[]`, `null`, `{"a":` + strings.Repeat("[", 200) + `}`, "\ufeff{}", `{"name":"\ud800"}`, `{"valid_days":1e400}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), s)
	}
	db := storetest.Open(f, sqlstore.EngineSQLite)
	e := newEnv(f, db, envOpts{quiet: true})
	e.noCheck = true
	sys := account.With(context.Background(), account.System)
	sub, err := e.reg.CreateSubject(sys, registry.SubjectInput{Kind: registry.KindMerchant, Name: "模糊测试商贸有限公司", CreditCode: mkUSCC(f, 777)})
	if err != nil {
		f.Fatal(err)
	}
	admin := account.With(context.Background(), account.Actor{Role: account.RoleAdmin, AccountID: e.ids["admin"], Name: "admin"})
	sh, err := e.reg.CreateShop(admin, registry.ShopInput{PlatformID: e.platA, OwnerID: sub.ID, Name: "模糊店", URL: "https://fuzz.example.com/", Category: "food"})
	if err != nil {
		f.Fatal(err)
	}
	res, err := e.recs.Ingest(admin, penalty(sub.CreditCode, "模糊〔2026〕1号", "2026-01-05"))
	if err != nil {
		f.Fatal(err)
	}
	ids := strings.NewReplacer("{subject}", strconv.FormatInt(sub.ID, 10), "{shop}", strconv.FormatInt(sh.ID, 10),
		"{account}", strconv.FormatInt(e.ids["agency"], 10), "{record}", strconv.FormatInt(res.ID, 10))
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		for _, who := range []string{"admin", "platA", "dept"} {
			req := httptest.NewRequest(rt.method, ids.Replace(rt.path), strings.NewReader(body))
			req.Header.Set("Content-Type", rt.ctype)
			req.Header.Set("Authorization", "Bearer "+e.keys[who])
			w := httptest.NewRecorder()
			e.srv.Config.Handler.ServeHTTP(w, req)
			if w.Code >= 500 {
				t.Fatalf("%s %s as %s %q → %d %s", rt.method, rt.path, who, body, w.Code, w.Body)
			}
			if w.Code >= 400 && !strings.Contains(w.Body.String(), `"message"`) {
				t.Fatalf("%s %s %q → %d without an error message: %s", rt.method, rt.path, body, w.Code, w.Body)
			}
		}
	})
}
