package proof

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"ecredit/httpapi"
	"ecredit/record"
	"ecredit/registry"
	"ecredit/web"
)

// Outcome classes of the access matrix.
const (
	ok    = "ok"    // 2xx; for a console form also a 303 to a page other than the sign-in
	c401  = "401"   // authentication required
	c403  = "403"   // authenticated but not allowed (or a console form without a session)
	c404  = "404"   // hidden: another tenant's object does not exist for the caller
	login = "login" // console page without a session: 303 to /console/login
)

// accessCase is one row of the access matrix: a route, and for every
// role (in the order of roles: public, platform A, platform B, logistics,
// department, agency, admin) the outcome class the route must give. The
// fixtures are platform A's (its shop, its seller, its records), so the
// platform B column is the cross-tenant column.
type accessCase struct {
	pattern string // the route's pattern, "GET /api/v1/shops/{id}"
	name    string // what the row shows, when a route has several
	want    string // seven classes separated by spaces
	// req builds the request for a role; it may create fresh fixtures
	// (a record to withdraw) so that every cell starts from the same
	// state.
	req func(e *env, r role) req
	// class, when set, refines the outcome (batches answer 200 and carry
	// each line's fate).
	class func(r resp) string
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func id(n int64) string { return strconv.FormatInt(n, 10) }

// fixed returns the same request for every role.
func fixed(rq req) func(*env, role) req { return func(*env, role) req { return rq } }

// batchClass classifies a batch answer by the fate of its first line.
func batchClass(r resp) string {
	if r.status != 200 {
		return strconv.Itoa(r.status)
	}
	var b struct {
		Results []struct {
			Status string `json:"status"`
			Error  *struct {
				Code string `json:"code"`
			} `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal(r.body, &b); err != nil || len(b.Results) == 0 {
		return "bad batch answer"
	}
	switch l := b.Results[0]; {
	case l.Error == nil:
		return ok
	case l.Error.Code == "forbidden":
		return c403
	case l.Error.Code == "unauthorized":
		return c401
	case l.Error.Code == "not_found": // another tenant's object, hidden
		return c404
	default:
		return "line " + l.Error.Code
	}
}

// classify turns an answer into an outcome class.
func classify(r resp) string {
	switch {
	case r.status >= 200 && r.status < 300:
		return ok
	case r.status == http.StatusSeeOther || r.status == http.StatusFound:
		if strings.HasPrefix(r.header.Get("Location"), "/console/login") {
			return login
		}
		return ok
	}
	return strconv.Itoa(r.status)
}

// apiCases are the API's rows.
var apiCases = []accessCase{
	{pattern: "GET /healthz", want: "ok ok ok ok ok ok ok", req: fixed(get("/healthz"))},
	// Metrics: loopback or an admin key (the matrix's clients are remote).
	{pattern: "GET /metrics", want: "401 403 403 403 403 403 ok", req: fixed(get("/metrics"))},
	{pattern: "GET /api/v1/openapi.json", want: "ok ok ok ok ok ok ok", req: fixed(get("/api/v1/openapi.json"))},
	{pattern: "GET /api/v1/me", want: "ok ok ok ok ok ok ok", req: fixed(get("/api/v1/me"))},
	{pattern: "GET /api/v1/codes/{code}", want: "ok ok ok ok ok ok ok", req: fixed(get("/api/v1/codes/91110000600037341L"))},
	{pattern: "GET /api/v1/public/marks/{mark}", want: "ok ok ok ok ok ok ok",
		req: func(e *env, _ role) req { return get("/api/v1/public/marks/" + e.merchantA.Mark) }},
	{pattern: "GET /api/v1/public/subjects", want: "ok ok ok ok ok ok ok", req: fixed(get("/api/v1/public/subjects?q=" + url.QueryEscape("商贸")))},
	{pattern: "GET /api/v1/public/subjects/{code}", want: "ok ok ok ok ok ok ok",
		req: func(e *env, _ role) req { return get("/api/v1/public/subjects/" + e.merchantA.CreditCode) }},

	// Subjects: platforms register merchants and sellers, logistics
	// firms couriers, departments and the office anything.
	{pattern: "POST /api/v1/subjects", want: "401 ok ok 403 ok 403 ok",
		req: func(e *env, _ role) req {
			return jsonReq("POST", "/api/v1/subjects", registry.SubjectInput{Kind: registry.KindMerchant, Name: "新登记商户", CreditCode: e.uscc()})
		}},
	{pattern: "GET /api/v1/subjects", want: "401 ok ok ok ok ok ok", req: fixed(get("/api/v1/subjects?limit=5"))},
	{pattern: "GET /api/v1/subjects", name: "platform filter of another platform", want: "401 ok 403 ok ok ok ok",
		req: func(e *env, _ role) req { return get("/api/v1/subjects?platform_id=" + id(e.platA.ID)) }},
	{pattern: "POST /api/v1/subjects/batch", want: "401 ok ok 403 ok 403 ok", class: batchClass,
		req: func(e *env, _ role) req {
			b, _ := json.Marshal(registry.SubjectInput{Kind: registry.KindMerchant, Name: "批量商户", CreditCode: e.uscc()})
			return req{method: "POST", path: "/api/v1/subjects/batch", body: append(b, '\n'), ctype: "application/x-ndjson"}
		}},
	{pattern: "POST /api/v1/subjects/lookup", want: "401 ok ok 403 ok 403 ok",
		req: func(e *env, _ role) req {
			return jsonReq("POST", "/api/v1/subjects/lookup", httpapi.LookupInput{IDNumber: e.persons[0].idNumber})
		}},
	{pattern: "GET /api/v1/subjects/by-code/{code}", want: "ok ok ok ok ok ok ok",
		req: func(e *env, _ role) req { return get("/api/v1/subjects/by-code/" + e.merchantA.CreditCode) }},
	// The registry is shared: every account reads any subject, masked.
	{pattern: "GET /api/v1/subjects/{id}", want: "401 ok ok ok ok ok ok",
		req: func(e *env, _ role) req { return get("/api/v1/subjects/" + id(e.sellerA.ID)) }},
	{pattern: "PATCH /api/v1/subjects/{id}", want: "401 403 403 403 ok 403 ok",
		req: func(e *env, _ role) req {
			return jsonReq("PATCH", "/api/v1/subjects/"+id(e.sellerA.ID), map[string]string{"region_code": "130802"})
		}},
	{pattern: "PATCH /api/v1/subjects/{id}", name: "a logistics firm on its own courier", want: "401 403 403 ok ok 403 ok",
		req: func(e *env, _ role) req {
			return jsonReq("PATCH", "/api/v1/subjects/"+id(e.courier.ID), map[string]string{"region_code": "130802"})
		}},
	{pattern: "POST /api/v1/subjects/{id}/personal", want: "401 ok 403 403 ok 403 ok",
		req: func(e *env, _ role) req {
			return jsonReq("POST", "/api/v1/subjects/"+id(e.sellerA.ID)+"/personal", httpapi.RevealInput{Reason: "核实卖家身份"})
		}},
	{pattern: "GET /api/v1/subjects/{id}/verifications", want: "401 ok ok ok ok ok ok",
		req: func(e *env, _ role) req { return get("/api/v1/subjects/" + id(e.sellerA.ID) + "/verifications") }},
	{pattern: "POST /api/v1/subjects/{id}/verifications", want: "401 ok 403 403 ok 403 ok",
		req: func(e *env, _ role) req {
			return jsonReq("POST", "/api/v1/subjects/"+id(e.sellerA.ID)+"/verifications", registry.VerificationInput{Method: "id_check", Passed: true})
		}},

	// Shops: a platform acts on its own platform only; another
	// platform's shop does not exist for it.
	{pattern: "POST /api/v1/shops", want: "401 ok 403 403 403 403 ok",
		req: func(e *env, _ role) req {
			n := e.next()
			return jsonReq("POST", "/api/v1/shops", registry.ShopInput{PlatformID: e.platA.ID, OwnerID: e.merchantA.ID,
				Name: fmt.Sprintf("甲平台新店%d", n), URL: fmt.Sprintf("https://new%d.example.com/", n), Category: "food"})
		}},
	{pattern: "GET /api/v1/shops", want: "401 ok ok ok ok ok ok", req: fixed(get("/api/v1/shops"))},
	{pattern: "GET /api/v1/shops", name: "platform filter of another platform", want: "401 ok 403 ok ok ok ok",
		req: func(e *env, _ role) req { return get("/api/v1/shops?platform_id=" + id(e.platA.ID)) }},
	{pattern: "GET /api/v1/shops/{id}", want: "401 ok 404 ok ok ok ok",
		req: func(e *env, _ role) req { return get("/api/v1/shops/" + id(e.shopA.ID)) }},
	{pattern: "PATCH /api/v1/shops/{id}", want: "401 ok 404 403 403 403 ok",
		req: func(e *env, _ role) req {
			return jsonReq("PATCH", "/api/v1/shops/"+id(e.shopA.ID), map[string]string{"category": "food"})
		}},

	// Accounts and keys: the credit office only.
	{pattern: "POST /api/v1/accounts", want: "401 403 403 403 403 403 ok",
		req: func(e *env, _ role) req {
			return jsonReq("POST", "/api/v1/accounts", map[string]any{"name": fmt.Sprintf("新机构%d", e.next()), "role": "agency"})
		}},
	{pattern: "GET /api/v1/accounts", want: "401 403 403 403 403 403 ok", req: fixed(get("/api/v1/accounts"))},
	{pattern: "POST /api/v1/accounts/{id}/keys", want: "401 403 403 403 403 403 ok",
		req: func(e *env, _ role) req {
			return jsonReq("POST", "/api/v1/accounts/"+id(e.actors[rAgency].AccountID)+"/keys", httpapi.KeyInput{Label: "矩阵"})
		}},
	{pattern: "DELETE /api/v1/keys/{id}", want: "401 403 403 403 403 403 ok",
		req: func(e *env, _ role) req {
			_, k := must2(e.app.Accounts.CreateKey(system, e.actors[rAgency].AccountID, "待吊销"))
			return req{method: "DELETE", path: "/api/v1/keys/" + id(k.ID)}
		}},
	{pattern: "GET /api/v1/audit", want: "401 403 403 403 ok 403 ok", req: fixed(get("/api/v1/audit?limit=5"))},

	// Records.
	{pattern: "GET /api/v1/records/types", want: "ok ok ok ok ok ok ok", req: fixed(get("/api/v1/records/types"))},
	{pattern: "POST /api/v1/records", name: "a penalty", want: "401 403 403 403 ok 403 ok",
		req: func(e *env, _ role) req {
			return jsonReq("POST", "/api/v1/records", e.penaltyInput(e.merchantA, "2026-10-20"))
		}},
	{pattern: "POST /api/v1/records", name: "a commitment of platform A's shop owner", want: "401 ok 403 403 ok 403 ok",
		req: func(e *env, _ role) req {
			return jsonReq("POST", "/api/v1/records", record.Input{Type: record.TypeCommitment, Fields: map[string]string{
				"subject_name": e.merchantA.Name, "credit_code": e.merchantA.CreditCode, "commitment_no": fmt.Sprintf("CN-%d", e.next()),
				"commitment_type": "主动公示型", "matter": "网络销售", "content": "依法诚信经营", "commitment_date": "2026-05-20"}})
		}},
	{pattern: "POST /api/v1/records/batch", want: "401 403 403 403 ok 403 ok", class: batchClass,
		req: func(e *env, _ role) req {
			b, _ := json.Marshal(e.penaltyInput(e.merchantA, "2026-10-21"))
			return req{method: "POST", path: "/api/v1/records/batch", body: append(b, '\n'), ctype: "application/x-ndjson"}
		}},
	{pattern: "GET /api/v1/records/{id}", name: "in public view", want: "ok ok ok ok ok ok ok",
		req: func(e *env, _ role) req { return get("/api/v1/records/" + id(e.recPublic.ID)) }},
	{pattern: "GET /api/v1/records/{id}", name: "withdrawn (archive)", want: "404 ok ok ok ok ok ok",
		req: func(e *env, _ role) req { return get("/api/v1/records/" + id(e.recWithdrawn.ID)) }},
	{pattern: "GET /api/v1/records/{id}/events", want: "401 ok ok ok ok ok ok",
		req: func(e *env, _ role) req { return get("/api/v1/records/" + id(e.recPublic.ID) + "/events") }},
	{pattern: "GET /api/v1/records/{id}/proof", want: "ok ok ok ok ok ok ok",
		req: func(e *env, _ role) req { return get("/api/v1/records/" + id(e.recPublic.ID) + "/proof") }},
	{pattern: "POST /api/v1/records/{id}/withdraw", name: "a department's record", want: "401 403 403 403 ok 403 ok",
		req: func(e *env, _ role) req {
			rec := must(e.penalty(e.merchantA, "2026-10-22"))
			return jsonReq("POST", "/api/v1/records/"+id(rec.ID)+"/withdraw", record.WithdrawInput{Reason: "决定已撤销"})
		}},
	{pattern: "POST /api/v1/records/{id}/withdraw", name: "platform A's record", want: "401 ok 403 403 403 403 ok",
		req: func(e *env, _ role) req {
			rec := must(e.commitment(rPlatA, e.merchantA))
			return jsonReq("POST", "/api/v1/records/"+id(rec.ID)+"/withdraw", record.WithdrawInput{Reason: "承诺录入有误"})
		}},
	{pattern: "POST /api/v1/records/{id}/objections", want: "401 ok 403 403 ok 403 ok",
		req: func(e *env, _ role) req {
			rec := must(e.penalty(e.merchantA, "2026-10-23"))
			return jsonReq("POST", "/api/v1/records/"+id(rec.ID)+"/objections", httpapi.ObjectionInput{Reason: "处罚对象有误"})
		}},
	{pattern: "POST /api/v1/records/{id}/objections/answer", want: "401 403 403 403 ok 403 ok",
		req: func(e *env, _ role) req {
			rec := must(e.penalty(e.merchantA, "2026-10-24"))
			must(e.app.Records.FileObjection(e.ctx(rAdmin), rec.ID, "处罚对象有误"))
			return jsonReq("POST", "/api/v1/records/"+id(rec.ID)+"/objections/answer", httpapi.ObjectionAnswer{Answer: "经核实无误"})
		}},
	{pattern: "POST /api/v1/records/{id}/repair", want: "401 ok 403 403 ok 403 ok",
		req: func(e *env, _ role) req {
			rec := must(e.penalty(e.merchantA, "2025-09-01"))
			return jsonReq("POST", "/api/v1/records/"+id(rec.ID)+"/repair", httpapi.RepairInput{Reason: "已整改完毕"})
		}},
	{pattern: "POST /api/v1/records/{id}/repair/review", want: "401 403 403 403 ok 403 ok",
		req: func(e *env, _ role) req {
			rec := e.repairApplied()
			return jsonReq("POST", "/api/v1/records/"+id(rec.ID)+"/repair/review", httpapi.RepairReview{Note: "受理"})
		}},
	{pattern: "POST /api/v1/records/{id}/repair/decision", want: "401 403 403 403 ok 403 ok",
		req: func(e *env, _ role) req {
			rec := e.repairApplied()
			return jsonReq("POST", "/api/v1/records/"+id(rec.ID)+"/repair/decision", httpapi.RepairDecision{Approve: false, Note: "材料不全"})
		}},
	{pattern: "GET /api/v1/subjects/{id}/records", want: "ok ok ok ok ok ok ok",
		req: func(e *env, _ role) req { return get("/api/v1/subjects/" + id(e.merchantA.ID) + "/records") }},
	{pattern: "GET /api/v1/changes", want: "401 ok ok ok ok ok ok", req: fixed(get("/api/v1/changes?limit=5"))},
	{pattern: "GET /api/v1/exports/{file}", want: "401 ok ok ok ok ok ok", req: fixed(get("/api/v1/exports/penalty.csv"))},

	// The ledger is public.
	{pattern: "GET /api/v1/ledger/checkpoint", want: "ok ok ok ok ok ok ok", req: fixed(get("/api/v1/ledger/checkpoint"))},
	{pattern: "GET /api/v1/ledger/key", want: "ok ok ok ok ok ok ok", req: fixed(get("/api/v1/ledger/key"))},
	{pattern: "GET /api/v1/ledger/proof/inclusion", want: "ok ok ok ok ok ok ok", req: fixed(get("/api/v1/ledger/proof/inclusion?index=0"))},
	{pattern: "GET /api/v1/ledger/proof/consistency", want: "ok ok ok ok ok ok ok", req: fixed(get("/api/v1/ledger/proof/consistency?old=1"))},
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

// repairApplied is a fresh department penalty with a pending repair
// application.
func (e *env) repairApplied() *record.Record {
	rec := must(e.penalty(e.merchantA, "2025-09-02"))
	return must(e.app.Records.ApplyRepair(e.ctx(rAdmin), rec.ID, "已整改完毕"))
}

// staffGET is a console page for department and admin accounts only.
const staffGET = "login 403 403 403 ok 403 ok"

// adminGET is a console page of the credit office only.
const adminGET = "login 403 403 403 403 403 ok"

// staffPOST is a console form for department and admin accounts only.
const staffPOST = "403 403 403 403 ok 403 ok"

// adminPOST is a console form of the credit office only.
const adminPOST = "403 403 403 403 403 403 ok"

const everyone = "ok ok ok ok ok ok ok"

// webCases are the web site's rows.
var webCases = []accessCase{
	{pattern: "GET /{$}", want: everyone, req: fixed(get("/"))},
	{pattern: "GET /search", want: everyone, req: fixed(get("/search?q=" + url.QueryEscape("商贸")))},
	{pattern: "GET /subjects/{id}", want: everyone, req: func(e *env, _ role) req { return get("/subjects/" + id(e.merchantA.ID)) }},
	{pattern: "GET /subjects/{id}/{rest}", name: "credit report", want: everyone,
		req: func(e *env, _ role) req { return get("/subjects/" + id(e.merchantA.ID) + "/report") }},
	{pattern: "GET /subjects/{id}/{rest}", name: "by credit code", want: everyone,
		req: func(e *env, _ role) req { return get("/subjects/code/" + e.merchantA.CreditCode) }},
	{pattern: "GET /verify/{id}", want: everyone, req: func(e *env, _ role) req {
		rep := must(e.app.Disclosure.Report(e.ctx(rPublic), e.merchantA.ID))
		return get(rep.VerifyPath)
	}},
	{pattern: "GET /marks", want: everyone, req: fixed(get("/marks"))},
	{pattern: "GET /marks/{mark}", want: everyone, req: func(e *env, _ role) req { return get("/marks/" + e.merchantA.Mark) }},
	{pattern: "GET /codes", want: everyone, req: fixed(get("/codes?code=91110000600037341L"))},
	{pattern: "POST /codes", want: everyone, req: fixed(formReq("/codes", "code", "91110000600037341L"))},
	{pattern: "GET /static/{name}", want: everyone, req: fixed(get("/static/site.css"))},

	{pattern: "GET /console/login", want: everyone, req: fixed(get("/console/login"))},
	// Each role signs in with its own credentials (the public with
	// wrong ones); the double-submit token comes from the form's cookie.
	{pattern: "POST /console/login", want: "401 ok ok ok ok ok ok", req: func(e *env, r role) req {
		login, pw := e.logins[r], password
		if r == rPublic {
			login, pw = "proof.nobody", "wrong-password"
		}
		rq := formReq("/console/login", "login", login, "password", pw, "csrf", "double-submit-token")
		rq.header = http.Header{"Cookie": {"ecredit_login_csrf=double-submit-token"}}
		return rq
	}},
	// Signing out works for every signed-in account and leads to the
	// sign-in page.
	{pattern: "POST /console/logout", want: "403 ok ok ok ok ok ok", class: func(r resp) string {
		if r.status == http.StatusSeeOther && r.header.Get("Location") == "/console/login" {
			return ok
		}
		return classify(r)
	}, req: func(e *env, r role) req {
		rq := formReq("/console/logout")
		if r != rPublic { // a session of its own, so the shared one stays
			s := must(e.login(r))
			rq.form.Set("csrf", s.csrf)
			rq.header = http.Header{"Cookie": {"ecredit_session=" + s.token}}
		}
		return rq
	}},
	{pattern: "GET /console/{$}", want: staffGET, req: fixed(get("/console/"))},
	{pattern: "GET /console/subjects", want: staffGET, req: fixed(get("/console/subjects"))},
	{pattern: "GET /console/subjects/new", want: staffGET, req: fixed(get("/console/subjects/new"))},
	{pattern: "POST /console/subjects/new", want: staffPOST, req: func(e *env, _ role) req {
		return formReq("/console/subjects/new", "kind", "merchant", "name", "控制台登记商户", "credit_code", e.uscc())
	}},
	{pattern: "GET /console/subjects/{id}", want: staffGET, req: func(e *env, _ role) req { return get("/console/subjects/" + id(e.sellerA.ID)) }},
	{pattern: "POST /console/subjects/{id}/verify", want: staffPOST, req: func(e *env, _ role) req {
		return formReq("/console/subjects/"+id(e.sellerA.ID)+"/verify", "method", "id_check", "passed", "1")
	}},
	{pattern: "POST /console/subjects/{id}/reveal", want: staffPOST, req: func(e *env, _ role) req {
		return formReq("/console/subjects/"+id(e.sellerA.ID)+"/reveal", "reason", "核查投诉")
	}},
	{pattern: "GET /console/subjects/{id}/edit", want: staffGET, req: func(e *env, _ role) req { return get("/console/subjects/" + id(e.merchantA.ID) + "/edit") }},
	{pattern: "POST /console/subjects/{id}/edit", want: staffPOST, req: func(e *env, _ role) req {
		sub := must(e.app.Registry.GetSubject(system, e.merchantA.ID))
		return formReq("/console/subjects/"+id(sub.ID)+"/edit", "name", sub.Name, "address", fmt.Sprintf("承德市双桥区%d号", e.next()),
			"region_code", sub.RegionCode, "form", sub.Form, "status", string(sub.Status), "version", strconv.Itoa(sub.Version))
	}},
	{pattern: "GET /console/shops", want: staffGET, req: fixed(get("/console/shops"))},
	{pattern: "GET /console/shops/new", want: adminGET, req: fixed(get("/console/shops/new"))},
	// Registering a shop needs shops:write: the credit office only.
	{pattern: "POST /console/shops/new", want: adminPOST, req: func(e *env, _ role) req {
		n := e.next()
		return formReq("/console/shops/new", "platform_id", id(e.platA.ID), "owner_id", id(e.merchantA.ID), "name", fmt.Sprintf("控制台店铺%d", n),
			"url", fmt.Sprintf("https://console%d.example.com/", n), "category", "food")
	}},
	{pattern: "GET /console/accounts", want: adminGET, req: fixed(get("/console/accounts"))},
	{pattern: "POST /console/accounts", want: adminPOST, req: func(e *env, _ role) req {
		return formReq("/console/accounts", "name", fmt.Sprintf("控制台机构%d", e.next()), "role", "agency")
	}},
	{pattern: "POST /console/accounts/{id}/keys", want: adminPOST, req: func(e *env, _ role) req {
		return formReq("/console/accounts/"+id(e.actors[rAgency].AccountID)+"/keys", "label", "控制台")
	}},
	{pattern: "POST /console/keys/{id}/revoke", want: adminPOST, req: func(e *env, _ role) req {
		_, k := must2(e.app.Accounts.CreateKey(system, e.actors[rAgency].AccountID, "待吊销"))
		return formReq("/console/keys/" + id(k.ID) + "/revoke")
	}},
	{pattern: "GET /console/audit", want: staffGET, req: fixed(get("/console/audit"))},

	{pattern: "GET /console/records", want: staffGET, req: fixed(get("/console/records"))},
	{pattern: "GET /console/records/import", want: staffGET, req: fixed(get("/console/records/import"))},
	{pattern: "POST /console/records/import", want: staffPOST, req: func(e *env, _ role) req {
		rq := formReq("/console/records/import", "type", "penalty", "source", "承德市市场监督管理局")
		rq.file, rq.fileName = penaltyCSV(e, 1), "penalty.csv"
		return rq
	}},
	// The error report of an import is the importing account's: each
	// staff role imports a file with a bad row first.
	{pattern: "GET /console/records/import/errors/{token}", want: staffGET, req: func(e *env, r role) req {
		token := "none"
		if r == rDept || r == rAdmin {
			token = e.importErrorsToken(r)
		}
		return get("/console/records/import/errors/" + token)
	}},
	{pattern: "GET /console/records/{id}", want: staffGET, req: func(e *env, _ role) req { return get("/console/records/" + id(e.recWithdrawn.ID)) }},
	{pattern: "POST /console/records/{id}/{action}", want: staffPOST, req: func(e *env, _ role) req {
		rec := must(e.penalty(e.merchantA, "2026-10-25"))
		return formReq("/console/records/"+id(rec.ID)+"/withdraw", "reason", "决定已撤销")
	}},
}

// penaltyCSV is a penalty file with n good rows (and, with bad, a row
// without its decision date).
func penaltyCSV(e *env, n int, bad ...bool) []byte {
	var b strings.Builder
	b.WriteString("行政相对人名称,统一社会信用代码,行政处罚决定书文号,违法行为类型,违法事实,处罚依据,处罚类别,处罚内容,罚款金额（万元）,处罚决定日期,处罚机关,处罚机关统一社会信用代码\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%s,%s,承市监罚〔2026〕%d号,虚假宣传,网店宣传无事实依据,《反不正当竞争法》第二十条,罚款,罚款人民币2000元,0.2,2026-10-10,承德市双桥区市场监督管理局,11130800000001257M\n",
			e.merchantA.Name, e.merchantA.CreditCode, e.next())
	}
	if len(bad) > 0 && bad[0] {
		fmt.Fprintf(&b, "%s,%s,承市监罚〔2026〕%d号,虚假宣传,网店宣传无事实依据,《反不正当竞争法》第二十条,罚款,罚款人民币2000元,0.2,,承德市双桥区市场监督管理局,11130800000001257M\n",
			e.merchantA.Name, e.merchantA.CreditCode, e.next())
	}
	return []byte(b.String())
}

var errorsLink = regexpMust(`/console/records/import/errors/([A-Za-z0-9_-]+)`)

// importErrorsToken imports a file with a bad row as role r and returns
// the token of its error report.
func (e *env) importErrorsToken(r role) string {
	rq := formReq("/console/records/import", "type", "penalty", "source", "承德市市场监督管理局")
	rq.file, rq.fileName = penaltyCSV(e, 1, true), "bad.csv"
	res, err := e.send(r, rq)
	if err != nil {
		panic(err)
	}
	m := errorsLink.FindSubmatch(res.body)
	if m == nil {
		panic(fmt.Sprintf("no error report link in the import answer: %s", res))
	}
	return string(m[1])
}

// routesOf lists the patterns of the API and the site.
func routesOf(t *testing.T, e *env) (api, site []string) {
	t.Helper()
	a, err := httpapi.New(httpapi.Deps{Registry: e.app.Registry, Accounts: e.app.Accounts, Audit: e.app.Store})
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range a.Routes() {
		api = append(api, rt.Pattern())
	}
	s, err := web.New(web.Deps{Registry: e.app.Registry, Accounts: e.app.Accounts, Audit: e.app.Store})
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range s.Routes() {
		site = append(site, rt.Pattern())
	}
	return api, site
}

// TestAccessMatrixComplete fails for a route without a row, or a row
// without a route, naming what to add.
func TestAccessMatrixComplete(t *testing.T) {
	e := setup(t)
	api, site := routesOf(t, e)
	check := func(what string, routes []string, cases []accessCase, file string) {
		have := map[string]bool{}
		for _, c := range cases {
			have[c.pattern] = true
			if f := strings.Fields(c.want); len(f) != len(roles) {
				t.Errorf("%s %q: want has %d classes, need %d (%v)", what, c.pattern, len(f), len(roles), roles)
			}
		}
		known := map[string]bool{}
		for _, p := range routes {
			known[p] = true
			if !have[p] {
				t.Errorf("%s route %q has no row in the access matrix: add an accessCase{pattern: %q, want: \"… seven classes for %v …\", req: …} to %s in proof/access_test.go",
					what, p, p, roles, file)
			}
		}
		for p := range have {
			if !known[p] {
				t.Errorf("access matrix row %q matches no %s route: remove it or fix its pattern", p, what)
			}
		}
	}
	check("API", api, apiCases, "apiCases")
	check("web", site, webCases, "webCases")
}

// TestAccessMatrix runs every cell through real HTTP.
func TestAccessMatrix(t *testing.T) {
	e := setup(t)
	cells, failures := 0, 0
	routes := map[string]bool{}
	for _, set := range [][]accessCase{apiCases, webCases} {
		for _, c := range set {
			routes[c.pattern] = true
			want := strings.Fields(c.want)
			if len(want) != len(roles) {
				continue // TestAccessMatrixComplete says so
			}
			for i, r := range roles {
				rq := c.req(e, r)
				res := e.do(t, r, rq)
				got := classify(res)
				if c.class != nil {
					got = c.class(res)
				}
				cells++
				if got != want[i] {
					failures++
					t.Errorf("%s %s (%s) as %s: got %s, want %s\n\t%s", rq.method, rq.path, c.name, r, got, want[i], res)
				}
			}
		}
	}
	t.Logf("access matrix: %d routes × %d roles, %d cells, %d failures", len(routes), len(roles), cells, failures)
}

// massFields are fields a caller might add to a body to set what is not
// theirs to set.
var massFields = map[string]any{
	"id": 1, "role": "admin", "subject_id": 1, "version": 99, "status": "deregistered", "created_at": "2000-01-01T00:00:00Z",
	"updated_at": "2000-01-01T00:00:00Z", "account_id": 1, "created_by": 1, "platform_id": 1, "verification": "verified",
	"verified_by": "admin", "mark": "ECM-0000-0000-0000", "source_key": "account:1", "ledger_index": 0, "scopes": []string{"accounts:manage"},
	"is_admin": true, "department": "公安", "owner_id": 1, "hash": "00",
}

// legitFields are the fields of massFields that a route's input does
// declare: setting them is the route's business, and the access matrix
// and the services' own tests cover who may. Every other field must be
// refused with a 400 naming it.
var legitFields = map[string][]string{
	"POST /api/v1/subjects":       {"status"},
	"POST /api/v1/subjects/batch": {"status"},
	"PATCH /api/v1/subjects/{id}": {"status", "version"},
	"POST /api/v1/shops":          {"platform_id", "owner_id"},
	"PATCH /api/v1/shops/{id}":    {"status", "version"},
	"POST /api/v1/accounts":       {"role", "subject_id", "department"},
	// trade: an order names its platform (the credit office reports for
	// any); a platform naming another is refused (TestOrderPlatformOfAnother).
	"POST /api/v1/orders":       {"platform_id"},
	"POST /api/v1/orders/batch": {"platform_id"},
	// trace: products and batches are changed over their version.
	"PATCH /api/v1/products/{gtin}":        {"version"},
	"PATCH /api/v1/batches/{gtin}/{batch}": {"version"},
}

// TestMassAssignment adds each of massFields to a valid JSON body of
// every API route that takes one, sent by a role allowed to use it: the
// field is refused with a 400 naming it (the API decodes strictly), or it
// is one the route declares.
func TestMassAssignment(t *testing.T) {
	e := setup(t)
	routes, tried := 0, 0
	for _, c := range apiCases {
		who := allowedRole(c.want)
		probe := c.req(e, who)
		if probe.ctype != "application/json" && probe.ctype != "application/x-ndjson" {
			continue
		}
		routes++
		legit := map[string]bool{}
		for _, f := range legitFields[c.pattern] {
			legit[f] = true
		}
		for field, v := range massFields {
			rq := c.req(e, who)
			var m map[string]any
			body := strings.TrimSpace(string(rq.body))
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				t.Fatalf("%s: body %s: %v", c.pattern, body, err)
			}
			if _, has := m[field]; has {
				continue
			}
			m[field] = v
			b, _ := json.Marshal(m)
			if rq.ctype == "application/x-ndjson" {
				b = append(b, '\n')
			}
			rq.body = b
			tried++
			r := e.do(t, who, rq)
			field400 := r.status == 400 && r.errorField() == field
			if rq.ctype == "application/x-ndjson" && r.status == 200 {
				var res struct {
					Results []struct {
						Error *struct {
							Code, Field string
						} `json:"error"`
					} `json:"results"`
				}
				json.Unmarshal(r.body, &res)
				field400 = len(res.Results) == 1 && res.Results[0].Error != nil && res.Results[0].Error.Code == "invalid" && res.Results[0].Error.Field == field
			}
			if !field400 && !legit[field] {
				t.Errorf("%s as %s with %q: %s — want 400 naming %q", c.pattern, who, field, r, field)
			}
			if r.status >= 500 {
				t.Errorf("%s with %q: %s", c.pattern, field, r)
			}
		}
	}
	// Forms read only their own fields: extra ones have no effect.
	name := fmt.Sprintf("表单多余字段商户%d", e.next())
	r := e.do(t, rDept, formReq("/console/subjects/new", "kind", "merchant", "name", name, "credit_code", e.uscc(),
		"id", "1", "created_by", id(e.actors[rAdmin].AccountID), "mark", "ECM-0000-0000-0000", "verification", "verified", "role", "admin"))
	if classify(r) != ok {
		t.Fatalf("console registration: %s", r)
	}
	list := must(e.app.Registry.ListSubjects(system, registry.Filter{Name: name, Limit: 5}))
	if len(list) != 1 || list[0].ID == 1 || list[0].CreatedBy != e.actors[rDept].AccountID || list[0].Mark == "ECM-0000-0000-0000" || list[0].Verify != registry.VerifyNone {
		t.Errorf("extra form fields took effect: %+v", list)
	}
	// A platform cannot move a shop to another platform or register one
	// there, whatever it sends.
	r = e.do(t, rPlatB, jsonReq("POST", "/api/v1/shops", registry.ShopInput{PlatformID: e.platA.ID, OwnerID: e.merchantB.ID,
		Name: "越权店铺", URL: fmt.Sprintf("https://x%d.example.com/", e.next())}))
	if r.status != 403 || r.errorField() != "platform_id" {
		t.Errorf("platform B registering on A: %s", r)
	}
	t.Logf("mass assignment: %d routes with JSON bodies × %d fields, %d requests", routes, len(massFields), tried)
}
