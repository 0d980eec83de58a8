package httpapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"ecredit/audit"
	"ecredit/httpx"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// TestOpenAPIRoutes checks that the document validates and that it and the
// route table describe the same operations.
func TestOpenAPIRoutes(t *testing.T) {
	loadDoc(t)
	doc, err := openapi3.NewLoader().LoadFromData(openAPIDoc)
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	served := map[string]bool{}
	for _, rt := range routeTable {
		served[rt.Pattern()] = true
		if !documented[rt.Pattern()] {
			t.Errorf("route %s is not in openapi.json", rt.Pattern())
		}
	}
	for op := range documented {
		if !served[op] {
			t.Errorf("openapi.json documents %s, which is not served", op)
		}
	}
	if len(routeTable) < 25 {
		t.Errorf("only %d routes", len(routeTable))
	}
}

// TestAPI runs every scenario on both engines over the real store.
func TestAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, envOpts{})
		t.Run("happy", func(t *testing.T) { e.t = t; happyPath(e) })
		t.Run("errors", func(t *testing.T) { e.t = t; errorCases(e) })
		t.Run("tenancy", func(t *testing.T) { e.t = t; tenancy(e) })
		t.Run("batch", func(t *testing.T) { e.t = t; batch(e) })
		t.Run("personal", func(t *testing.T) { e.t = t; personal(e) })
		t.Run("pagination", func(t *testing.T) { e.t = t; pagination(e) })
		t.Run("records", func(t *testing.T) { e.t = t; records(e) })
		t.Run("record batch", func(t *testing.T) { e.t = t; recordBatch(e) })
		t.Run("record errors", func(t *testing.T) { e.t = t; recordErrors(e) })
		t.Run("change feed", func(t *testing.T) { e.t = t; changeFeed(e) })
		t.Run("export", func(t *testing.T) { e.t = t; exportRoundTrip(e) })
		t.Run("ledger", func(t *testing.T) { e.t = t; ledgerProofs(e) })
		t.Run("public disclosure", func(t *testing.T) { e.t = t; publicDisclosure(e) })
		t.Run("logistics", func(t *testing.T) { e.t = t; logisticsAPI(e) })
		t.Run("trace", func(t *testing.T) { e.t = t; traceFlow(e) }) // traceability (M10)
		t.Run("trade", func(t *testing.T) { e.t = t; tradeAPI(e) })
		t.Run("every route", func(t *testing.T) {
			for _, rt := range routeTable {
				if !e.hit[rt.Pattern()] {
					t.Errorf("route %s never answered 2xx in the tests", rt.Pattern())
				}
			}
		})
	})
}

func happyPath(e *env) {
	t := e.t
	// system
	r := e.do("GET", "/healthz", "", nil, true)
	e.want(r, 200)
	if m := r.m(t); m["status"] != "ok" || m["engine"] != e.db.Engine() {
		t.Errorf("healthz %s", r.body)
	}
	r = e.do("GET", "/api/v1/openapi.json", "", nil, true)
	e.want(r, 200)
	if !json.Valid(r.body) || string(r.body) != string(openAPIDoc) {
		t.Error("openapi.json not served as embedded")
	}
	r = e.do("GET", "/metrics", "", nil, true) // the test client is on loopback
	e.want(r, 200)
	if !strings.Contains(string(r.body), "ecredit_http_requests_total") {
		t.Errorf("metrics lack the request counter: %.300s", r.body)
	}
	r = e.do("GET", "/api/v1/me", "platA", nil, true)
	e.want(r, 200)
	var me Me
	r.json(t, &me)
	if me.Role != "platform" || me.SubjectID != e.platA || !slices.Contains(me.Scopes, "shops:write") || !me.Authenticated {
		t.Errorf("me %+v", me)
	}
	r = e.do("GET", "/api/v1/me", "", nil, true)
	e.want(r, 200)
	if r.m(t)["role"] != "public" {
		t.Errorf("public me %s", r.body)
	}
	// also through X-API-Key
	r = e.do("GET", "/api/v1/me", "", nil, true, header("X-API-Key", e.keys["dept"]))
	e.want(r, 200)
	if r.m(t)["role"] != "department" {
		t.Errorf("X-API-Key me %s", r.body)
	}

	// codes: valid, invalid (200 with valid=false)
	r = e.do("GET", "/api/v1/codes/"+usccA, "", nil, true)
	e.want(r, 200)
	if m := r.m(t); m["valid"] != true || m["kind"] != "uscc" {
		t.Errorf("code %s", r.body)
	}
	r = e.do("GET", "/api/v1/codes/91110000600037341A", "", nil, true)
	e.want(r, 200)
	if m := r.m(t); m["valid"] != false || len(m["errors"].([]any)) == 0 {
		t.Errorf("bad code %s", r.body)
	}
	r = e.do("GET", "/api/v1/codes/"+idB, "", nil, true)
	e.want(r, 200)
	if m := r.m(t); m["kind"] != "id_number" || m["valid"] != true {
		t.Errorf("id code %s", r.body)
	}
	if strings.Contains(e.logs.String(), idB) {
		t.Error("an ID number checked through /codes is in the log")
	}
	r = e.do("GET", "/metrics", "", nil, true)
	if !strings.Contains(string(r.body), `route="GET /api/v1/codes/{code}"`) {
		t.Errorf("metrics lack the route label: %.2000s", r.body)
	}

	// subjects
	mer := e.createSubject("dept", registry.SubjectInput{Kind: registry.KindMerchant, Name: "承德山庄食品有限公司", CreditCode: usccA,
		Phone: "0314-2025678", Address: "承德市双桥区南营子大街1号", LegalRep: "王五"})
	if mer.ID == 0 || mer.CreditCode != usccA || mer.Form != "enterprise" || mer.Mark == "" || mer.Version != 1 {
		t.Errorf("created %+v", mer)
	}
	r = e.do("GET", fmt.Sprintf("/api/v1/subjects/%d", mer.ID), "agency", nil, true)
	e.want(r, 200)
	r = e.do("GET", "/api/v1/subjects/by-code/"+strings.ToLower(usccA), "", nil, true)
	e.want(r, 200)
	if r.m(t)["id"] != float64(mer.ID) {
		t.Errorf("by-code %s", r.body)
	}
	name := "承德山庄食品股份有限公司"
	r = e.do("PATCH", fmt.Sprintf("/api/v1/subjects/%d", mer.ID), "dept", registry.SubjectPatch{Name: &name, Version: 1}, true)
	e.want(r, 200)
	if m := r.m(t); m["name"] != name || m["version"] != float64(2) {
		t.Errorf("patched %s", r.body)
	}
	r = e.do("GET", "/api/v1/subjects?kind=merchant&region=11&name=山庄&limit=10", "dept", nil, true)
	e.want(r, 200)
	var page Page[registry.SubjectView]
	r.json(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != mer.ID {
		t.Errorf("list %s", r.body)
	}
	// verification
	r = e.do("POST", fmt.Sprintf("/api/v1/subjects/%d/verifications", mer.ID), "dept", registry.VerificationInput{Method: "license_check", Passed: true, Note: "营业执照原件核对"}, true)
	e.want(r, 201)
	var vd Verified
	r.json(t, &vd)
	if vd.Subject.Verify != registry.VerifyOK || vd.Verification.ValidUntil == nil {
		t.Errorf("verify %s", r.body)
	}
	r = e.do("GET", fmt.Sprintf("/api/v1/subjects/%d/verifications", mer.ID), "dept", nil, true)
	e.want(r, 200)
	if len(r.m(t)["items"].([]any)) != 1 {
		t.Errorf("verifications %s", r.body)
	}
	r = e.do("GET", "/api/v1/subjects?verification=verified", "dept", nil, true)
	e.want(r, 200)
	r.json(t, &page)
	if len(page.Items) != 1 {
		t.Errorf("verified list %s", r.body)
	}
	// public mark check, with a lower-case, misread mark
	r = e.do("GET", "/api/v1/public/marks/"+strings.ToLower(vd.Subject.Mark), "", nil, true)
	e.want(r, 200)
	var mv MarkView
	r.json(t, &mv)
	if !mv.Trusted || mv.CreditCode != usccA || mv.Name != name {
		t.Errorf("mark %s", r.body)
	}

	// shops: the platform registers its merchant's shop
	shop := e.createShop("platA", registry.ShopInput{OwnerCode: usccA, Name: "山庄食品旗舰店", URL: "https://shanzhuang.shop.example.com/", Category: "food"})
	if shop.PlatformID != e.platA || shop.Domain != "shanzhuang.shop.example.com" {
		t.Errorf("shop %+v", shop)
	}
	r = e.do("GET", fmt.Sprintf("/api/v1/shops/%d", shop.ID), "platA", nil, true)
	e.want(r, 200)
	cat := "agricultural"
	r = e.do("PATCH", fmt.Sprintf("/api/v1/shops/%d", shop.ID), "platA", registry.ShopPatch{Category: &cat}, true)
	e.want(r, 200)
	if r.m(t)["category"] != cat {
		t.Errorf("patched shop %s", r.body)
	}
	r = e.do("GET", "/api/v1/shops?domain=SHANZHUANG.shop.example.com", "platA", nil, true)
	e.want(r, 200)
	if len(r.m(t)["items"].([]any)) != 1 {
		t.Errorf("shops %s", r.body)
	}
	r = e.do("GET", fmt.Sprintf("/api/v1/subjects?platform_id=%d", e.platA), "dept", nil, true)
	e.want(r, 200)
	r.json(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != mer.ID {
		t.Errorf("subjects on platform %s", r.body)
	}

	// a person: seller registered by the platform, looked up by ID number
	seller := e.createSubject("platA", registry.SubjectInput{Kind: registry.KindSeller, Name: "李四", IDNumber: idB, Phone: "13912345678"})
	e.createShop("platA", registry.ShopInput{OwnerID: seller.ID, Name: "小李的店", URL: "lisi.example.com"})
	r = e.do("POST", "/api/v1/subjects/lookup", "dept", LookupInput{IDNumber: idB}, true)
	e.want(r, 200)
	if r.m(t)["id"] != float64(seller.ID) {
		t.Errorf("lookup %s", r.body)
	}
	r = e.do("POST", "/api/v1/subjects/lookup", "dept", LookupInput{Phone: "139 1234 5678"}, true)
	e.want(r, 200)
	r = e.do("POST", fmt.Sprintf("/api/v1/subjects/%d/personal", seller.ID), "dept", RevealInput{Reason: "投诉处理 2026-001"}, true)
	e.want(r, 200)
	var p registry.Personal
	r.json(t, &p)
	if p.IDNumber != idB || p.Phone != "13912345678" || p.Name != "李四" {
		t.Errorf("personal %+v", p)
	}

	// accounts and keys
	r = e.do("POST", "/api/v1/accounts", "admin", map[string]any{"name": "京东", "role": "platform", "subject_id": e.platB}, true)
	e.want(r, 201)
	var ac AccountCreated
	r.json(t, &ac)
	if !strings.HasPrefix(ac.APIKey, "ek_") || ac.Account.Role != "platform" {
		t.Errorf("account %s", r.body)
	}
	r = e.do("GET", "/api/v1/me", ac.APIKey, nil, true)
	e.want(r, 200)
	if r.m(t)["name"] != "京东" {
		t.Errorf("new key me %s", r.body)
	}
	r = e.do("GET", "/api/v1/accounts", "admin", nil, true)
	e.want(r, 200)
	if n := len(r.m(t)["items"].([]any)); n < 7 {
		t.Errorf("%d accounts", n)
	}
	r = e.do("POST", fmt.Sprintf("/api/v1/accounts/%d/keys", ac.Account.ID), "admin", KeyInput{Label: "备用"}, true)
	e.want(r, 201)
	var kc KeyCreated
	r.json(t, &kc)
	r = e.do("POST", fmt.Sprintf("/api/v1/accounts/%d/keys", ac.Account.ID), "admin", nil, true) // body optional
	e.want(r, 201)
	r = e.do("DELETE", fmt.Sprintf("/api/v1/keys/%d", kc.ID), "admin", nil, true)
	e.want(r, 200)
	r = e.do("GET", "/api/v1/me", kc.APIKey, nil, true)
	e.want(r, 401) // revoked at once, no fall back to the public
	r = e.do("GET", "/api/v1/me", ac.APIKey, nil, true)
	e.want(r, 200) // the other key still works

	// audit
	r = e.do("GET", "/api/v1/audit?action=create&limit=5", "dept", nil, true)
	e.want(r, 200)
	var ap AuditPage
	r.json(t, &ap)
	if len(ap.Items) != 5 || ap.NextBefore == 0 {
		t.Fatalf("audit page %s", r.body)
	}
	for _, it := range ap.Items {
		if it.Action != "create" {
			t.Errorf("audit filter: %+v", it)
		}
	}
	r = e.do("GET", fmt.Sprintf("/api/v1/audit?before=%d&actor_id=%d", ap.NextBefore, e.ids["dept"]), "admin", nil, true)
	e.want(r, 200)
	r.json(t, &ap)
	for _, it := range ap.Items {
		if it.ActorID != e.ids["dept"] {
			t.Errorf("actor filter: %+v", it)
		}
	}
	// the write carries who and from where
	r = e.do("GET", fmt.Sprintf("/api/v1/audit?object=subject:%d", mer.ID), "admin", nil, true)
	e.want(r, 200)
	r.json(t, &ap)
	if len(ap.Items) == 0 || ap.Items[0].Remote == "" || ap.Items[0].RequestID == "" || ap.Items[0].Via != "api" {
		t.Errorf("audit of subject %d: %s", mer.ID, r.body)
	}

	// health turns 503 when the database is down
	e.pingOK = false
	r = e.do("GET", "/healthz", "", nil, true)
	if r.status != 503 || r.m(t)["status"] != "unavailable" {
		t.Errorf("healthz with the database down: %d %s", r.status, r.body)
	}
	e.pingOK = true
}

func errorCases(e *env) {
	t := e.t.(*testing.T)
	valid := registry.SubjectInput{Kind: registry.KindMerchant, Name: "错误测试公司", CreditCode: usccB}
	cases := []struct {
		name   string
		method string
		path   string
		who    string
		body   any
		status int
		field  string
	}{
		{"public cannot write", "POST", "/api/v1/subjects", "", valid, 401, ""},
		{"public cannot batch", "POST", "/api/v1/subjects/batch", "", `{"kind":"merchant"}`, 401, ""},
		{"public cannot list", "GET", "/api/v1/subjects", "", nil, 401, ""},
		{"bad key no fallback", "GET", "/api/v1/codes/" + usccA, "ek_aaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", nil, 401, ""},
		{"malformed key", "GET", "/api/v1/me", "nonsense", nil, 401, ""},
		{"department cannot create accounts", "POST", "/api/v1/accounts", "dept", map[string]any{"name": "x", "role": "admin"}, 403, ""},
		{"platform cannot list accounts", "GET", "/api/v1/accounts", "platA", nil, 403, ""},
		{"platform cannot read audit", "GET", "/api/v1/audit", "platA", nil, 403, ""},
		{"public cannot read audit", "GET", "/api/v1/audit", "", nil, 401, ""},
		{"logistics cannot register merchants", "POST", "/api/v1/subjects", "logistics", valid, 403, "kind"},
		{"agency cannot reveal", "POST", "/api/v1/subjects/1/personal", "agency", RevealInput{Reason: "x"}, 403, ""},
		{"unknown field", "POST", "/api/v1/subjects", "dept", `{"kind":"merchant","name":"x","credit_cod":"` + usccB + `"}`, 400, "credit_cod"},
		{"wrong type", "POST", "/api/v1/subjects", "dept", `{"kind":"merchant","name":12}`, 400, "name"},
		{"wrong type patch", "PATCH", "/api/v1/subjects/1", "dept", `{"version":"2"}`, 400, "version"},
		{"syntax", "POST", "/api/v1/subjects", "dept", `{"kind":`, 400, ""},
		{"empty body", "POST", "/api/v1/subjects", "dept", ``, 400, ""},
		{"trailing data", "POST", "/api/v1/subjects", "dept", `{"kind":"merchant","name":"x"} {}`, 400, ""},
		{"oversize", "POST", "/api/v1/subjects", "dept", `{"kind":"merchant","name":"` + strings.Repeat("长", 400_000) + `"}`, 413, ""},
		{"invalid credit code", "POST", "/api/v1/subjects", "dept", registry.SubjectInput{Kind: registry.KindMerchant, Name: "x", CreditCode: "91110000600037341A"}, 400, "credit_code"},
		{"missing credit code", "POST", "/api/v1/subjects", "dept", registry.SubjectInput{Kind: registry.KindMerchant, Name: "x"}, 400, "credit_code"},
		{"unknown kind", "POST", "/api/v1/subjects", "dept", registry.SubjectInput{Kind: "alien", Name: "x"}, 400, "kind"},
		{"invalid id number", "POST", "/api/v1/subjects", "dept", registry.SubjectInput{Kind: registry.KindSeller, Name: "张三", IDNumber: "110105194912310021"}, 400, "id_number"},
		{"non-numeric id", "GET", "/api/v1/subjects/abc", "dept", nil, 400, "id"},
		{"zero id", "GET", "/api/v1/shops/0", "dept", nil, 400, "id"},
		{"no such subject", "GET", "/api/v1/subjects/999999", "dept", nil, 404, ""},
		{"no such shop", "PATCH", "/api/v1/shops/999999", "admin", `{"name":"x"}`, 404, ""},
		{"bad list param", "GET", "/api/v1/subjects?kind=alien", "dept", nil, 400, "kind"},
		{"unknown list param", "GET", "/api/v1/subjects?knid=merchant", "dept", nil, 400, "knid"},
		{"bad limit", "GET", "/api/v1/subjects?limit=0", "dept", nil, 400, "limit"},
		{"big limit", "GET", "/api/v1/shops?limit=501", "dept", nil, 400, "limit"},
		{"bad region", "GET", "/api/v1/subjects?region=13a8", "dept", nil, 400, "region"},
		{"bad verification", "GET", "/api/v1/subjects?verification=maybe", "dept", nil, 400, "verification"},
		{"bad cursor", "GET", "/api/v1/subjects?cursor=!!", "dept", nil, 400, "cursor"},
		{"bad platform_id", "GET", "/api/v1/subjects?platform_id=x", "dept", nil, 400, "platform_id"},
		{"repeated param", "GET", "/api/v1/shops?status=active&status=pending", "dept", nil, 400, "status"},
		{"bad audit param", "GET", "/api/v1/audit?before=-1", "admin", nil, 400, "before"},
		{"oversize code", "GET", "/api/v1/codes/" + strings.Repeat("9", 101), "", nil, 400, "code"},
		{"bad mark", "GET", "/api/v1/public/marks/XYZ", "", nil, 400, "mark"},
		{"no such mark", "GET", "/api/v1/public/marks/ECM-0000-0000-0000", "", nil, 404, "mark"},
		{"by-code invalid", "GET", "/api/v1/subjects/by-code/123", "", nil, 400, "code"},
		{"by-code unknown", "GET", "/api/v1/subjects/by-code/" + usccD, "", nil, 404, ""},
		{"lookup nothing", "POST", "/api/v1/subjects/lookup", "dept", `{}`, 400, "id_number"},
		{"lookup both", "POST", "/api/v1/subjects/lookup", "dept", LookupInput{IDNumber: idA, Phone: "13900000000"}, 400, "phone"},
		{"lookup public", "POST", "/api/v1/subjects/lookup", "", LookupInput{IDNumber: idA}, 401, ""},
		{"reveal without reason", "POST", "/api/v1/subjects/1/personal", "dept", `{"reason":"  "}`, 400, "reason"},
		{"bad verification method", "POST", "/api/v1/subjects/1/verifications", "dept", registry.VerificationInput{Method: "guess"}, 400, "method"},
		{"bad account role", "POST", "/api/v1/accounts", "admin", map[string]any{"name": "x", "role": "emperor"}, 400, "role"},
		{"key for no account", "POST", "/api/v1/accounts/999999/keys", "admin", nil, 404, ""},
		{"revoke no key", "DELETE", "/api/v1/keys/999999", "admin", nil, 404, ""},
		{"shop bad url", "POST", "/api/v1/shops", "admin", registry.ShopInput{PlatformID: e.platA, OwnerCode: usccA, Name: "x", URL: "not a url"}, 400, "url"},
		{"metrics on loopback with any key", "GET", "/metrics", "dept", nil, 200, ""}, // loopback is allowed whatever the key
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			r := e.do(c.method, c.path, c.who, c.body, false)
			e.want(r, c.status, c.field)
			if c.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	e.t = t

	// duplicate → 409 naming the field
	e.createSubject("dept", valid)
	r := e.do("POST", "/api/v1/subjects", "dept", valid, true)
	e.want(r, 409, "credit_code")
	// a stale version → 409
	sub := e.createSubject("dept", registry.SubjectInput{Kind: registry.KindLogistics, Name: "承德快运", CreditCode: usccC})
	addr := "新地址"
	e.want(e.do("PATCH", fmt.Sprintf("/api/v1/subjects/%d", sub.ID), "dept", registry.SubjectPatch{Address: &addr, Version: 7}, true), 409, "version")
	// several field errors are all listed
	r = e.do("POST", "/api/v1/subjects", "dept", registry.SubjectInput{Kind: registry.KindMerchant, Name: "", CreditCode: "x", RegionCode: "999999"}, false)
	e.want(r, 400)
	if info := r.errInfo(t); len(info.Details) < 3 {
		t.Errorf("details %s", r.body)
	}

	// unknown path → 404 JSON; wrong method → 405 JSON with Allow
	r = e.do("GET", "/api/v1/nothing", "", nil, false)
	e.want(r, 404, "path")
	r = e.do("DELETE", "/api/v1/subjects", "admin", nil, false)
	if r.status != 405 || r.errInfo(t).Code != "method_not_allowed" || r.header.Get("Allow") != "GET, HEAD, POST" {
		t.Errorf("405: %d %s allow=%q", r.status, r.body, r.header.Get("Allow"))
	}
	r = e.do("POST", "/healthz", "", nil, false)
	if r.status != 405 || r.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /healthz: %d allow=%q", r.status, r.header.Get("Allow"))
	}
	r = e.do("PUT", "/api/v1/subjects/1", "admin", `{}`, false)
	if r.status != 405 || r.header.Get("Allow") != "GET, HEAD, PATCH" {
		t.Errorf("PUT subject: %d allow=%q", r.status, r.header.Get("Allow"))
	}
	// security headers on API answers
	if r.header.Get("Content-Security-Policy") != httpx.ContentSecurityPolicy || r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers %v", r.header)
	}
}

func tenancy(e *env) {
	t := e.t
	own := e.createSubject("platB", registry.SubjectInput{Kind: registry.KindMerchant, Name: "乙平台商户", CreditCode: usccD})
	shopB := e.createShop("platB", registry.ShopInput{OwnerID: own.ID, Name: "乙店", URL: "https://b.example.org"})
	// A cannot see, change or list B's shop
	e.want(e.do("GET", fmt.Sprintf("/api/v1/shops/%d", shopB.ID), "platA", nil, true), 404)
	e.want(e.do("PATCH", fmt.Sprintf("/api/v1/shops/%d", shopB.ID), "platA", `{"name":"抢走"}`, true), 404)
	e.want(e.do("GET", fmt.Sprintf("/api/v1/shops?platform_id=%d", e.platB), "platA", nil, true), 403, "platform_id")
	r := e.do("GET", "/api/v1/shops?limit=500", "platA", nil, true)
	e.want(r, 200)
	var sp Page[registry.ShopView]
	r.json(t, &sp)
	for _, s := range sp.Items {
		if s.PlatformID != e.platA {
			t.Errorf("platform A sees shop %d of platform %d", s.ID, s.PlatformID)
		}
	}
	// A cannot register a shop on B
	e.want(e.do("POST", "/api/v1/shops", "platA", registry.ShopInput{PlatformID: e.platB, OwnerID: own.ID, Name: "冒名店", URL: "fake.example.org"}, true), 403, "platform_id")
	// nor touch B's merchant
	e.want(e.do("PATCH", fmt.Sprintf("/api/v1/subjects/%d", own.ID), "platA", `{"address":"x"}`, true), 403)
	e.want(e.do("POST", fmt.Sprintf("/api/v1/subjects/%d/personal", own.ID), "platA", RevealInput{Reason: "好奇"}, true), 403)
	// the shop is unchanged
	r = e.do("GET", fmt.Sprintf("/api/v1/shops/%d", shopB.ID), "platB", nil, true)
	e.want(r, 200)
	if r.m(t)["name"] != "乙店" {
		t.Errorf("shop changed: %s", r.body)
	}
}

func batch(e *env) {
	t := e.t
	good1, good2, good3 := mkUSCC(t, 101), mkUSCC(t, 102), mkUSCC(t, 103)
	seller := mkID(t, 7)
	body := strings.Join([]string{
		`{"kind":"merchant","name":"批量一号","credit_code":"` + good1 + `"}`,
		`{"kind":"merchant","name":"坏代码","credit_code":"91110000600037341A"}`,
		``,
		`{"kind":"merchant","name":"批量二号","credit_code":"` + good2 + `","extra":1}`,
		`{"kind":"merchant","name":"批量二号","credit_code":"` + good2 + `"}`,
		`{"kind":"merchant","name":"重复","credit_code":"` + good2 + `"}`,
		`not json`,
		`{"kind":"seller","name":"赵六","id_number":"` + seller + `"}`,
		`{"kind":"merchant","name":"批量三号","credit_code":"` + good3 + `"}`,
	}, "\n") + "\n"
	r := e.do("POST", "/api/v1/subjects/batch", "dept", body, true, header("Content-Type", "application/x-ndjson"))
	e.want(r, 200)
	var br BatchResult
	r.json(t, &br)
	type want struct {
		line   int
		status string
		field  string
	}
	wants := []want{{1, "created", ""}, {2, "error", "credit_code"}, {4, "error", "extra"}, {5, "created", ""},
		{6, "error", "credit_code"}, {7, "error", ""}, {8, "created", ""}, {9, "created", ""}}
	if br.Created != 4 || br.Failed != 4 || len(br.Results) != len(wants) {
		t.Fatalf("batch %s", r.body)
	}
	for i, w := range wants {
		got := br.Results[i]
		if got.Line != w.line || got.Status != w.status {
			t.Errorf("result %d: %+v, want %+v", i, got, w)
		}
		if w.status == "created" && got.ID == 0 {
			t.Errorf("line %d created without id", w.line)
		}
		if w.status == "error" && (got.Error == nil || got.Error.Field != w.field || got.Error.Message == "") {
			t.Errorf("line %d error %+v, want field %q", w.line, got.Error, w.field)
		}
	}
	if br.Results[4].Error.Code != "conflict" {
		t.Errorf("duplicate line code %q", br.Results[4].Error.Code)
	}
	// the good lines are stored
	for _, c := range []string{good1, good2, good3} {
		e.want(e.do("GET", "/api/v1/subjects/by-code/"+c, "dept", nil, true), 200)
	}

	// a JSON array works the same, numbered from 1
	arr := []map[string]any{{"kind": "merchant", "name": "数组一号", "credit_code": mkUSCC(t, 104)}, {"kind": "merchant", "name": 5}}
	r = e.do("POST", "/api/v1/subjects/batch", "dept", arr, true)
	e.want(r, 200)
	r.json(t, &br)
	if br.Created != 1 || br.Failed != 1 || br.Results[1].Line != 2 || br.Results[1].Error.Field != "name" {
		t.Errorf("array batch %s", r.body)
	}
	// a broken array stores nothing
	c5 := mkUSCC(t, 105)
	r = e.do("POST", "/api/v1/subjects/batch", "dept", `[{"kind":"merchant","name":"半截","credit_code":"`+c5+`"}, {"kind":`, false)
	e.want(r, 400)
	e.want(e.do("GET", "/api/v1/subjects/by-code/"+c5, "dept", nil, true), 404)
	// too many lines: refused whole, nothing stored
	var sb strings.Builder
	c6 := mkUSCC(t, 106)
	fmt.Fprintf(&sb, `{"kind":"merchant","name":"超量","credit_code":"%s"}`+"\n", c6)
	for i := 0; i < MaxBatchRows; i++ {
		sb.WriteString(`{"kind":"merchant","name":"x"}` + "\n")
	}
	r = e.do("POST", "/api/v1/subjects/batch", "dept", sb.String(), false, header("Content-Type", "application/x-ndjson"))
	e.want(r, 413)
	e.want(e.do("GET", "/api/v1/subjects/by-code/"+c6, "dept", nil, true), 404)
	// over 4 MiB
	big := strings.Repeat(" ", MaxBatchBody+10)
	r = e.do("POST", "/api/v1/subjects/batch", "dept", big, false, header("Content-Type", "application/x-ndjson"))
	e.want(r, 413)
	// between 1 and 4 MiB is fine for the batch route only
	mid := `{"kind":"merchant","name":"大批量","credit_code":"` + mkUSCC(t, 107) + `"}` + strings.Repeat("\n", 2<<20)
	r = e.do("POST", "/api/v1/subjects/batch", "dept", mid, false, header("Content-Type", "application/x-ndjson"))
	e.want(r, 200)
	// empty
	e.want(e.do("POST", "/api/v1/subjects/batch", "dept", "\n\n", false, header("Content-Type", "application/x-ndjson")), 400)
}

func personal(e *env) {
	t := e.t
	const name, phone = "欧阳娜娜", "13812345678"
	id := idC
	seller := e.createSubject("dept", registry.SubjectInput{Kind: registry.KindSeller, Name: name, IDNumber: id, Phone: phone, Address: "承德市双桥区某小区"})
	// a logistics firm registers its courier and may verify it
	courier := e.createSubject("logistics", registry.SubjectInput{Kind: registry.KindCourier, Name: "快递员甲", IDNumber: mkID(t, 11), Phone: "13700001111"})
	e.want(e.do("POST", fmt.Sprintf("/api/v1/subjects/%d/verifications", courier.ID), "logistics", registry.VerificationInput{Method: "face", Passed: true}, true), 201)
	before := e.do("GET", fmt.Sprintf("/api/v1/audit?action=%s&object=subject:%d", audit.ActReadPersonal, seller.ID), "admin", nil, true)
	e.want(before, 200)
	var ap AuditPage
	before.json(t, &ap)
	n0 := len(ap.Items)

	// every way of reading the seller
	e.do("GET", fmt.Sprintf("/api/v1/subjects/%d", seller.ID), "agency", nil, true)
	e.do("GET", "/api/v1/subjects?kind=seller", "dept", nil, true)
	e.do("GET", "/api/v1/public/marks/"+seller.Mark, "", nil, true)
	e.do("POST", "/api/v1/subjects/lookup", "dept", LookupInput{IDNumber: id}, true)
	e.do("POST", "/api/v1/subjects/lookup", "dept", LookupInput{Phone: phone}, true)
	nn := "欧阳娜娜娜"
	e.do("PATCH", fmt.Sprintf("/api/v1/subjects/%d", seller.ID), "dept", registry.SubjectPatch{Name: &nn}, true)
	e.do("POST", fmt.Sprintf("/api/v1/subjects/%d/verifications", seller.ID), "dept", registry.VerificationInput{Method: "id_check", Passed: true}, true)
	e.do("GET", fmt.Sprintf("/api/v1/subjects/%d/verifications", seller.ID), "dept", nil, true)
	e.do("GET", "/api/v1/audit?limit=500", "admin", nil, true)
	// a duplicate registration must not echo the number either
	e.want(e.do("POST", "/api/v1/subjects", "dept", registry.SubjectInput{Kind: registry.KindSeller, Name: name, IDNumber: id}, true), 409, "id_number")

	r := e.do("POST", fmt.Sprintf("/api/v1/subjects/%d/personal", seller.ID), "dept", RevealInput{Reason: "消费纠纷调查"}, true)
	e.want(r, 200)
	var p registry.Personal
	r.json(t, &p)
	if p.IDNumber != id || p.Phone != phone || p.Name != nn {
		t.Errorf("personal %+v", p)
	}
	// the reveal is audited, with its reason
	r = e.do("GET", fmt.Sprintf("/api/v1/audit?action=%s&object=subject:%d", audit.ActReadPersonal, seller.ID), "admin", nil, true)
	e.want(r, 200)
	r.json(t, &ap)
	if len(ap.Items) != n0+1 || ap.Items[0].Detail != "消费纠纷调查" || ap.Items[0].ActorID != e.ids["dept"] {
		t.Errorf("audit of the reveal: %s", r.body)
	}
	// lookups are audited too
	r = e.do("GET", "/api/v1/audit?action="+audit.ActLookup, "admin", nil, true)
	e.want(r, 200)
	r.json(t, &ap)
	if len(ap.Items) < 2 {
		t.Errorf("lookups not audited: %s", r.body)
	}

	// nothing but /personal ever showed the clear values
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, rec := range e.responses {
		if strings.HasSuffix(rec.path, "/personal") && rec.status == 200 {
			continue
		}
		if strings.HasPrefix(rec.path, "/api/v1/codes/") {
			continue // the caller's own input echoed by the code checker
		}
		if x := contains(rec.body, id, phone, name, nn, "承德市双桥区某小区", idB, "13912345678", "李四"); x != "" {
			t.Errorf("%s %s → %d shows %q: %.300s", rec.method, rec.path, rec.status, x, rec.body)
		}
	}
}

func pagination(e *env) {
	t := e.t
	seen := map[int64]bool{}
	cursor := ""
	pages := 0
	for {
		path := "/api/v1/subjects?limit=3"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := e.do("GET", path, "dept", nil, true)
		e.want(r, 200)
		var p Page[registry.SubjectView]
		r.json(t, &p)
		pages++
		for _, s := range p.Items {
			if seen[s.ID] {
				t.Fatalf("subject %d on two pages", s.ID)
			}
			seen[s.ID] = true
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
		if pages > 100 {
			t.Fatal("pagination does not end")
		}
	}
	n, err := e.db.CountSubjects(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(seen)) != n || pages < 2 {
		t.Errorf("paged %d subjects in %d pages, store has %d", len(seen), pages, n)
	}
}

// TestRateLimitCodes: the public code check answers 429 with Retry-After
// once a client has used its burst, and other clients are unaffected.
func TestRateLimitCodes(t *testing.T) {
	db := storetest.Open(t, sqlstore.EngineSQLite)
	lim := httpx.NewLimiter(0.001, 3)
	e := newEnv(t, db, envOpts{publicLimiter: lim})
	for i := 1; i <= 5; i++ {
		r := e.do("GET", "/api/v1/codes/"+usccA, "", nil, true)
		if i <= 3 {
			e.want(r, 200)
			continue
		}
		e.want(r, 429)
		if r.errInfo(t).Code != "rate_limited" || r.header.Get("Retry-After") == "" {
			t.Errorf("429 %s %v", r.body, r.header)
		}
	}
	// an authenticated caller has its own bucket
	e.want(e.do("GET", "/api/v1/codes/"+usccA, "agency", nil, true), 200)
	if strings.Contains(e.logs.String(), "level=ERROR") {
		t.Errorf("errors logged: %s", e.logs.String())
	}
}

// TestLimiterAllAPI: Deps.Limiter limits every /api/ request per account.
func TestLimiterAllAPI(t *testing.T) {
	db := storetest.Open(t, sqlstore.EngineSQLite)
	e := newEnv(t, db, envOpts{limiter: httpx.NewLimiter(0.001, 2)})
	e.want(e.do("GET", "/api/v1/me", "dept", nil, true), 200)
	e.want(e.do("GET", "/api/v1/subjects", "dept", nil, true), 200)
	e.want(e.do("GET", "/api/v1/shops", "dept", nil, true), 429)
	e.want(e.do("GET", "/api/v1/shops", "agency", nil, true), 200) // another account
	e.want(e.do("GET", "/healthz", "dept", nil, true), 200)        // not under /api/
}
