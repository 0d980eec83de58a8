package httpapi

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"ecredit/account"
	"ecredit/disclosure"
	"ecredit/httpx"
	"ecredit/record"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// publicDisclosure covers GET /api/v1/public/subjects and
// /api/v1/public/subjects/{code}.
func publicDisclosure(e *env) {
	t := e.t
	code := mkUSCC(t, 7701)
	m := e.createSubject("dept", registry.SubjectInput{Kind: registry.KindMerchant, Name: "承德京东山楂电子商务有限公司", CreditCode: code,
		Phone: "13812345678", LegalRep: "王五"})
	dept := account.With(context.Background(), account.Actor{AccountID: e.ids["dept"], Name: "市场监管局", Role: account.RoleDepartment, Department: "市场监管", Via: "api"})
	res, err := e.recs.Ingest(dept, record.Input{Type: record.TypeLicence, Fields: map[string]string{
		"subject_name": m.Name, "credit_code": code, "doc_no": "承市监食许〔2026〕77号", "certificate_name": "食品经营许可证",
		"content": "预包装食品销售", "decision_date": "2026-05-02", "valid_until": "2031-05-01", "authority": "承德市市场监督管理局"}})
	if err != nil || res.Status != record.ResultCreated {
		t.Fatalf("ingest: %+v %v", res, err)
	}

	r := e.do("GET", "/api/v1/public/subjects?q="+url.QueryEscape("京东山楂")+"&limit=5", "", nil, true)
	e.want(r, 200)
	var page disclosure.SearchPage
	r.json(t, &page)
	if len(page.Results) != 1 || page.Results[0].ID != m.ID || page.More || page.Results[0].Phone != "" {
		t.Errorf("search: %s", r.body)
	}
	r = e.do("GET", "/api/v1/public/subjects?q="+strings.ToLower(code), "", nil, true)
	e.want(r, 200)
	r.json(t, &page)
	if !page.ByCode || len(page.Results) != 1 {
		t.Errorf("search by code: %s", r.body)
	}
	for _, tc := range []struct{ query, field string }{
		{"q=" + url.QueryEscape("京"), "q"},
		{"q=" + url.QueryEscape("！？"), "q"},
		{"", "q"},
		{"q=ab&limit=0", "limit"},
		{"q=ab&offset=-1", "offset"},
		{"q=ab&offset=x", "offset"},
		{"q=ab&kind=bank", "kind"},
		{"q=ab&region=13x", "region"},
		{"q=ab&sort=name", "sort"},
	} {
		r := e.do("GET", "/api/v1/public/subjects?"+tc.query, "", nil, false)
		e.want(r, 400, tc.field)
	}

	r = e.do("GET", "/api/v1/public/subjects/"+strings.ToLower(code), "", nil, true)
	e.want(r, 200)
	var p disclosure.Profile
	r.json(t, &p)
	if p.Subject.ID != m.ID || p.Total != 1 || len(p.Groups) != 4 || len(p.Groups[0].Records) != 1 || p.Subject.Phone != "" {
		t.Errorf("profile: %s", r.body)
	}
	if strings.Contains(string(r.body), "13812345678") {
		t.Errorf("profile shows the phone number")
	}
	e.want(e.do("GET", "/api/v1/public/subjects/91130802MA0ABCDE00", "", nil, false), 400, "code")
	e.want(e.do("GET", "/api/v1/public/subjects/"+mkUSCC(t, 7702), "", nil, true), 404, "code")
}

// The public disclosure routes share the public per-client limit.
func TestPublicDisclosureRateLimited(t *testing.T) {
	db := storetest.Open(t, sqlstore.EngineSQLite)
	lim := httpx.NewLimiter(0.001, 2)
	e := newEnv(t, db, envOpts{publicLimiter: lim})
	e.want(e.do("GET", "/api/v1/public/subjects?q=ab", "", nil, true), 200)
	e.want(e.do("GET", "/api/v1/public/subjects/"+mkUSCC(t, 1), "", nil, true), 404)
	r := e.do("GET", "/api/v1/public/subjects?q=ab", "", nil, true)
	e.want(r, 429)
	if r.header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
}
