package proof

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/logistics"
	"ecredit/trace"
	"ecredit/trade"
)

// The access matrix rows of trade (M5), logistics (M4), traceability
// (M10) and the console's second factor. The fixtures are platform A's
// (e.tr): platform B is the cross-tenant column.
func init() {
	apiCases = append(apiCases, tradeAPICases...)
	webCases = append(webCases, tradeWebCases...)
}

func ndjson(path string, v any) req {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return req{method: "POST", path: path, body: append(b, '\n'), ctype: "application/x-ndjson"}
}

// freshOrder is a fresh signed order of platform A's shop.
func (e *env) freshOrder() *trade.Order {
	return must(e.order(fmt.Sprintf("proof-buyer-%d", e.next())))
}

// freshBatch is a fresh batch of the fixture product.
func (e *env) freshBatch() string {
	b := fmt.Sprintf("PF-%d", e.next())
	must2(e.app.Trace.CreateBatch(e.ctx(rDept), trace.BatchInput{GTIN: e.tr.gtin, Batch: b, ProducedOn: "2026-05-02"}))
	return b
}

var tradeAPICases = []accessCase{
	// Orders: a platform reports and reads its own shops' orders; another
	// platform's order does not exist for it.
	{pattern: "POST /api/v1/orders", want: "401 ok 404 403 403 403 ok",
		req: func(e *env, _ role) req {
			return jsonReq("POST", "/api/v1/orders", e.orderInput(fmt.Sprintf("proof-buyer-%d", e.next()), time.Now().Add(-48*time.Hour).UTC().Truncate(time.Second)))
		}},
	{pattern: "GET /api/v1/orders", want: "401 ok ok 403 ok 403 ok", req: fixed(get("/api/v1/orders?limit=5"))},
	{pattern: "GET /api/v1/orders", name: "platform filter of another platform", want: "401 ok 403 403 ok 403 ok",
		req: func(e *env, _ role) req { return get("/api/v1/orders?platform_id=" + id(e.platA.ID)) }},
	{pattern: "POST /api/v1/orders/batch", want: "401 ok 404 403 403 403 ok", class: batchClass,
		req: func(e *env, _ role) req {
			return ndjson("/api/v1/orders/batch", e.orderInput(fmt.Sprintf("proof-buyer-%d", e.next()), time.Now().Add(-48*time.Hour).UTC().Truncate(time.Second)))
		}},
	{pattern: "GET /api/v1/orders/{id}", want: "401 ok 404 403 ok 403 ok",
		req: func(e *env, _ role) req { return get("/api/v1/orders/" + id(e.tr.order.ID)) }},
	// Reviews are the buyer's, passed on by the platform of the order.
	{pattern: "POST /api/v1/orders/{id}/reviews", want: "401 ok 403 403 403 403 403",
		req: func(e *env, _ role) req {
			good := 1
			o := e.freshOrder()
			return jsonReq("POST", "/api/v1/orders/"+id(o.ID)+"/reviews", trade.ReviewInput{Buyer: o.Buyer, Rating: &good, Description: 5, Service: 5, Logistics: 5})
		}},
	// In bulk, by the platform's own order numbers: another platform's
	// are not found; only platforms send.
	{pattern: "POST /api/v1/reviews/batch", want: "401 ok 404 403 403 403 403", class: batchClass,
		req: func(e *env, _ role) req {
			good := 1
			o := e.freshOrder()
			return ndjson("/api/v1/reviews/batch", trade.ReviewLine{OrderNo: o.OrderNo, Buyer: o.Buyer, Rating: &good, Description: 5, Service: 4, Logistics: 5})
		}},
	{pattern: "POST /api/v1/orders/{id}/buyer-rating", want: "401 ok 403 403 403 403 403",
		req: func(e *env, _ role) req {
			good := 1
			o := e.freshOrder()
			return jsonReq("POST", "/api/v1/orders/"+id(o.ID)+"/buyer-rating", trade.BuyerRatingInput{Rating: &good})
		}},
	{pattern: "POST /api/v1/reviews/{id}/followup", want: "401 ok 403 403 403 403 403",
		req: func(e *env, _ role) req {
			o := e.freshOrder()
			rv := must(e.review(o, o.Buyer))
			return jsonReq("POST", "/api/v1/reviews/"+id(rv.ID)+"/followup", trade.FollowupInput{Buyer: o.Buyer, Text: "用了一周，口感依旧"})
		}},
	{pattern: "POST /api/v1/reviews/{id}/fold", want: "401 ok 403 403 403 403 ok",
		req: func(e *env, _ role) req {
			o := e.freshOrder()
			rv := must(e.review(o, o.Buyer))
			return jsonReq("POST", "/api/v1/reviews/"+id(rv.ID)+"/fold", trade.FoldInput{Reason: "疑似刷单"})
		}},
	{pattern: "GET /api/v1/buyers/{buyer}", want: "401 ok 403 403 ok 403 ok",
		req: func(e *env, _ role) req {
			return get("/api/v1/buyers/" + e.tr.buyer + "?platform_id=" + id(e.platA.ID))
		}},
	{pattern: "GET /api/v1/shops/{id}/reviews", want: everyone,
		req: func(e *env, _ role) req { return get("/api/v1/shops/" + id(e.shopA.ID) + "/reviews") }},
	{pattern: "GET /api/v1/public/shops/{id}", want: everyone,
		req: func(e *env, _ role) req { return get("/api/v1/public/shops/" + id(e.shopA.ID)) }},
	{pattern: "POST /api/v1/evaluations", want: "401 403 403 403 403 ok 403",
		req: func(e *env, _ role) req {
			score := 88.5
			return jsonReq("POST", "/api/v1/evaluations", trade.EvaluationInput{Ref: fmt.Sprintf("PJ-%d", e.next()), SubjectCode: e.merchantA.CreditCode,
				Score: &score, Scale: "0-100", Grade: "A", Method: "经营、履约、投诉三类指标加权", ValidUntil: time.Now().AddDate(1, 0, 0).UTC().Truncate(time.Second)})
		}},

	// Logistics: a logistics account reports and reads its own firm's
	// parcels; departments and the credit office every firm's.
	{pattern: "POST /api/v1/parcels/batch", want: "401 403 403 ok 403 403 ok", class: batchClass,
		req: func(e *env, _ role) req {
			return ndjson("/api/v1/parcels/batch?firm="+e.logiFirm.CreditCode, logistics.ParcelInput{Waybill: fmt.Sprintf("PF%010d", e.next()),
				WeightG: 800, Origin: "130802", Dest: "130821"})
		}},
	{pattern: "POST /api/v1/parcels/events/batch", want: "401 403 403 ok 403 403 ok", class: batchClass,
		req: func(e *env, _ role) req {
			return ndjson("/api/v1/parcels/events/batch?firm="+e.logiFirm.CreditCode, logistics.EventInput{Waybill: e.tr.waybill, Type: "picked_up",
				At: time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)})
		}},
	// A platform reads the tracking of its own orders' waybills only.
	{pattern: "GET /api/v1/parcels/{waybill}", name: "the waybill of platform A's order", want: "401 ok 404 ok ok 403 ok",
		req: func(e *env, _ role) req {
			return get("/api/v1/parcels/" + e.tr.waybill + "?firm=" + e.logiFirm.CreditCode)
		}},
	{pattern: "GET /api/v1/parcels/{waybill}", name: "a waybill of no platform's order", want: "401 404 404 ok ok 403 ok",
		req: func(e *env, _ role) req {
			return get("/api/v1/parcels/" + e.tr.waybill2 + "?firm=" + e.logiFirm.CreditCode)
		}},
	{pattern: "GET /api/v1/logistics/{id}/metrics", want: "401 403 403 ok ok 403 ok",
		req: func(e *env, _ role) req { return get("/api/v1/logistics/" + id(e.logiFirm.ID) + "/metrics") }},
	{pattern: "GET /api/v1/public/logistics/{code}", want: everyone,
		req: func(e *env, _ role) req { return get("/api/v1/public/logistics/" + e.logiFirm.CreditCode) }},

	// Traceability: departments and the credit office register products
	// and batches of any producer and recall; platforms trace their own
	// orders; the public trace is public.
	{pattern: "POST /api/v1/products", want: "401 403 403 403 ok 403 ok",
		req: func(e *env, _ role) req {
			return jsonReq("POST", "/api/v1/products", trace.ProductInput{GTIN: gtinOf(fmt.Sprintf("6900003%05d", e.next()%100000)), Name: "承德杏仁露",
				Category: "食品", ProducerCode: e.merchantA.CreditCode})
		}},
	{pattern: "GET /api/v1/products/{gtin}", want: everyone, req: func(e *env, _ role) req { return get("/api/v1/products/" + e.tr.gtin) }},
	{pattern: "POST /api/v1/batches", want: "401 403 403 403 ok 403 ok",
		req: func(e *env, _ role) req {
			return jsonReq("POST", "/api/v1/batches", trace.BatchInput{GTIN: e.tr.gtin, Batch: fmt.Sprintf("PF-%d", e.next()), ProducedOn: "2026-05-03"})
		}},
	{pattern: "GET /api/v1/batches/{gtin}/{batch}/trace", want: "401 ok ok 403 ok 403 ok",
		req: func(e *env, _ role) req { return get("/api/v1/batches/" + e.tr.gtin + "/" + e.tr.batch + "/trace") }},
	{pattern: "GET /api/v1/recalls", want: "401 403 403 403 ok 403 ok", req: fixed(get("/api/v1/recalls?limit=5"))},
	// Folded reviews: the authorities any platform's, a platform its own;
	// the statistics by platform are the authorities'.
	{pattern: "GET /api/v1/reviews/folded", want: "401 ok ok 403 ok 403 ok", req: fixed(get("/api/v1/reviews/folded"))},
	{pattern: "GET /api/v1/reviews/folded", name: "platform A's", want: "401 ok 403 403 ok 403 ok",
		req: func(e *env, _ role) req { return get("/api/v1/reviews/folded?platform_id=" + id(e.platA.ID)) }},
	{pattern: "GET /api/v1/reviews/fold-stats", want: "401 403 403 403 ok 403 ok", req: fixed(get("/api/v1/reviews/fold-stats"))},
	{pattern: "POST /api/v1/batches/{gtin}/{batch}/recall", want: "401 403 403 403 ok 403 ok",
		req: func(e *env, _ role) req {
			return jsonReq("POST", "/api/v1/batches/"+e.tr.gtin+"/"+e.freshBatch()+"/recall", trace.RecallInput{Reason: "抽检菌落总数超标"})
		}},
	// Lineage: who may register a batch may record its raw lots.
	{pattern: "POST /api/v1/batches/{gtin}/{batch}/inputs", want: "401 403 403 403 ok 403 ok",
		req: func(e *env, _ role) req {
			return jsonReq("POST", "/api/v1/batches/"+e.tr.gtin+"/"+e.freshBatch()+"/inputs",
				map[string]any{"inputs": []trace.InputRef{{GTIN: e.tr.gtin, Batch: e.tr.batch, Quantity: 12.5, UOM: "KGM"}}})
		}},
	// Trace sites: a subject registers its own; departments and the
	// credit office anyone's; the register is public.
	{pattern: "POST /api/v1/trace/sites", name: "a site of merchant A", want: "401 403 403 403 ok 403 ok",
		req: func(e *env, _ role) req {
			return jsonReq("POST", "/api/v1/trace/sites", map[string]any{"sites": []trace.SiteInput{{GLN: gtinOf(fmt.Sprintf("6900004%05d", e.next()%100000)),
				SubjectCode: e.merchantA.CreditCode, Name: "生产车间", Region: "130802"}}})
		}},
	{pattern: "POST /api/v1/trace/sites", name: "a site of the caller's own subject", want: "401 ok ok ok 400 ok 400",
		req: func(e *env, _ role) req {
			return jsonReq("POST", "/api/v1/trace/sites", map[string]any{"sites": []trace.SiteInput{{GLN: gtinOf(fmt.Sprintf("6900005%05d", e.next()%100000)),
				Name: "仓库"}}})
		}},
	{pattern: "GET /api/v1/public/subjects/{code}/sites", want: everyone,
		req: func(e *env, _ role) req { return get("/api/v1/public/subjects/" + e.merchantA.CreditCode + "/sites") }},
	{pattern: "POST /api/v1/trace/events", name: "an inspection", want: "401 403 403 403 ok ok ok",
		req: func(e *env, _ role) req {
			return jsonReq("POST", "/api/v1/trace/events", trace.EventInput{EventID: fmt.Sprintf("JC-%d", e.next()), Type: trace.EventInspected,
				GTIN: e.tr.gtin, Batch: e.tr.batch, Time: "2026-05-02T10:00:00+08:00", Region: "130802", Disposition: "conformant", Ref: fmt.Sprintf("JCBG-%d", e.next())})
		}},
	{pattern: "POST /api/v1/trace/events", name: "a listing in platform A's shop", want: "401 ok 403 403 ok 403 ok",
		req: func(e *env, _ role) req {
			return jsonReq("POST", "/api/v1/trace/events", trace.EventInput{EventID: fmt.Sprintf("SJ-%d", e.next()), Type: trace.EventListed,
				GTIN: e.tr.gtin, Batch: e.tr.batch, Time: "2026-05-03T10:00:00+08:00", ShopID: e.shopA.ID})
		}},
	{pattern: "POST /api/v1/trace/events/batch", want: "401 403 403 403 ok ok ok", class: batchClass,
		req: func(e *env, _ role) req {
			return ndjson("/api/v1/trace/events/batch", trace.EventInput{EventID: fmt.Sprintf("JC-%d", e.next()), Type: trace.EventInspected,
				GTIN: e.tr.gtin, Batch: e.tr.batch, Time: "2026-05-02T11:00:00+08:00", Region: "130802", Disposition: "conformant", Ref: fmt.Sprintf("JCBG-%d", e.next())})
		}},
	{pattern: "GET /api/v1/public/trace/{gtin}/{batch}", want: everyone,
		req: func(e *env, _ role) req { return get("/api/v1/public/trace/" + e.tr.gtin + "/" + e.tr.batch) }},
	{pattern: "GET /api/v1/public/recalls", want: everyone, req: fixed(get("/api/v1/public/recalls?limit=5"))},
	{pattern: "GET /api/v1/public/products/{gtin}", want: everyone, req: func(e *env, _ role) req { return get("/api/v1/public/products/" + e.tr.gtin) }},
	// EPCIS 2.0: an inspection captured from a document; every event
	// exported to those who read whole traces, the public ones to all.
	{pattern: "POST /api/v1/trace/epcis", name: "an inspection document", want: "401 403 403 403 ok ok ok", class: batchClass,
		req: func(e *env, _ role) req {
			doc := fmt.Sprintf(`{"@context":["%s"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-05-02T12:00:00+08:00",
"epcisBody":{"eventList":[{"type":"ObjectEvent","eventID":"urn:uuid:proof-%d","eventTime":"2026-05-02T12:00:00+08:00","eventTimeZoneOffset":"+08:00",
"action":"OBSERVE","bizStep":"inspecting","disposition":"conformant","quantityList":[{"epcClass":"%s"}],"certificationInfo":"JCBG-%d","ecredit:region":"130802"}]}}`,
				trace.EPCISContext, e.next(), trace.BatchLink(e.tr.gtin, e.tr.batch), e.next())
			return req{method: "POST", path: "/api/v1/trace/epcis", body: []byte(doc), ctype: "application/ld+json"}
		}},
	{pattern: "GET /api/v1/batches/{gtin}/{batch}/epcis", want: "401 403 403 403 ok 403 ok",
		req: func(e *env, _ role) req { return get("/api/v1/batches/" + e.tr.gtin + "/" + e.tr.batch + "/epcis") }},
	{pattern: "GET /api/v1/public/trace/{gtin}/{batch}/epcis", want: everyone,
		req: func(e *env, _ role) req {
			return get("/api/v1/public/trace/" + e.tr.gtin + "/" + e.tr.batch + "/epcis")
		}},
	{pattern: "GET /api/v1/orders/{id}/trace", want: "401 ok 404 403 ok 403 ok",
		req: func(e *env, _ role) req { return get("/api/v1/orders/" + id(e.tr.order.ID) + "/trace") }},
	{pattern: "GET /api/v1/licence-flags", want: "401 ok 404 403 ok 403 ok",
		req: func(e *env, _ role) req { return get("/api/v1/licence-flags?seller=" + id(e.merchantA.ID)) }},
	// Changing a product or a batch: the producer itself (no column
	// here), departments and the credit office.
	{pattern: "PATCH /api/v1/products/{gtin}", want: "401 403 403 403 ok 403 ok",
		req: func(e *env, _ role) req {
			return jsonReq("PATCH", "/api/v1/products/"+e.tr.gtin, trace.ProductPatch{Spec: ptrTo(fmt.Sprintf("%d g", e.next()))})
		}},
	{pattern: "PATCH /api/v1/batches/{gtin}/{batch}", want: "401 403 403 403 ok 403 ok",
		req: func(e *env, _ role) req {
			return jsonReq("PATCH", "/api/v1/batches/"+e.tr.gtin+"/"+e.freshBatch(), trace.BatchPatch{Quantity: ptrTo(int64(e.next()))})
		}},
}

func ptrTo[T any](v T) *T { return &v }

// throwaway is a fresh console account with the role (and subject) of r,
// signed in: for the second-factor rows, whose effect is permanent.
func (e *env) throwaway(r role) (login string, s session, actor account.Actor) {
	a := e.actors[r]
	login = fmt.Sprintf("proof.tmp%d", e.next())
	_, key := must2(e.app.Accounts.CreateAccount(system, account.AccountInput{Name: fmt.Sprintf("临时账户%d", e.next()), Role: a.Role,
		SubjectID: a.SubjectID, Department: a.Department, Login: login, Password: password}))
	actor = must(e.app.Accounts.Authenticate(system, key, "127.0.0.1", ""))
	res := must(e.app.Accounts.Login(e.ctx(rPublic), login, password, "127.0.0.1"))
	return login, session{token: res.Token, csrf: res.Session.CSRF}, actor
}

// totpKey begins the actor's enrolment and returns its key.
func (e *env) totpKey(actor account.Actor) []byte {
	en := must(e.app.Accounts.BeginTOTP(account.With(system, actor)))
	return must(account.DecodeTOTPSecret(en.Secret))
}

var tradeWebCases = []accessCase{
	{pattern: "GET /trace", want: everyone, req: func(e *env, _ role) req { return get("/trace?gtin=" + e.tr.gtin + "&batch=" + e.tr.batch) }},
	{pattern: "GET /trace/{gtin}/{batch}", want: everyone, req: func(e *env, _ role) req { return get("/trace/" + e.tr.gtin + "/" + e.tr.batch) }},
	{pattern: "GET /recalls", want: everyone, req: fixed(get("/recalls"))},
	{pattern: "GET /trace/{gtin}", want: everyone, req: func(e *env, _ role) req { return get("/trace/" + e.tr.gtin) }},
	{pattern: "GET /trace/{gtin}/{batch}/qr.png", want: everyone, req: func(e *env, _ role) req { return get("/trace/" + e.tr.gtin + "/" + e.tr.batch + "/qr.png") }},
	// The GS1 Digital Link resolver: its linkset (a redirect otherwise).
	{pattern: "GET /01/{path...}", want: everyone, req: func(e *env, _ role) req {
		return get(trace.DigitalLinkPath(e.tr.gtin, e.tr.batch) + "?linkType=linkset")
	}},
	{pattern: "GET /logistics/{id}", want: everyone, req: func(e *env, _ role) req { return get("/logistics/" + id(e.logiFirm.ID)) }},
	{pattern: "GET /shops/{id}", want: everyone, req: func(e *env, _ role) req { return get("/shops/" + id(e.shopA.ID)) }},

	// The console's trace pages: departments and the credit office trace
	// any batch forward and any order back, and recall.
	{pattern: "GET /console/trace", want: staffGET, req: fixed(get("/console/trace"))},
	{pattern: "GET /console/trace/{gtin}/{batch}", want: staffGET, req: func(e *env, _ role) req { return get("/console/trace/" + e.tr.gtin + "/" + e.tr.batch) }},
	{pattern: "GET /console/trace/{gtin}/{batch}/epcis", want: staffGET, req: func(e *env, _ role) req { return get("/console/trace/" + e.tr.gtin + "/" + e.tr.batch + "/epcis") }},
	{pattern: "POST /console/trace/epcis", want: staffPOST, req: func(e *env, _ role) req {
		rq := formReq("/console/trace/epcis")
		rq.file, rq.fileName = []byte(fmt.Sprintf(`{"@context":["%s"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-05-02T12:00:00+08:00",
"epcisBody":{"eventList":[{"type":"ObjectEvent","eventID":"urn:uuid:proof-web-%d","eventTime":"2026-05-02T12:00:00+08:00","eventTimeZoneOffset":"+08:00",
"action":"OBSERVE","bizStep":"inspecting","disposition":"conformant","quantityList":[{"epcClass":"%s"}],"certificationInfo":"JCBG-%d"}]}}`,
			trace.EPCISContext, e.next(), trace.BatchLink(e.tr.gtin, e.tr.batch), e.next())), "jc.jsonld"
		return rq
	}},
	{pattern: "POST /console/trace/{gtin}/{batch}/recall", want: staffPOST, req: func(e *env, _ role) req {
		return formReq("/console/trace/"+e.tr.gtin+"/"+e.freshBatch()+"/recall", "reason", "抽检菌落总数超标", "confirm", "1")
	}},
	{pattern: "GET /console/trace/sites", want: staffGET, req: func(e *env, _ role) req { return get("/console/trace/sites?subject=" + e.merchantA.CreditCode) }},
	{pattern: "POST /console/trace/sites", want: staffPOST, req: func(e *env, _ role) req {
		return formReq("/console/trace/sites", "sites[0].subject_code", e.merchantA.CreditCode, "sites[0].gln", gtinOf(fmt.Sprintf("6900006%05d", e.next()%100000)),
			"sites[0].name", "成品仓库")
	}},
	{pattern: "POST /console/trace/{gtin}/{batch}/inputs", want: staffPOST, req: func(e *env, _ role) req {
		return formReq("/console/trace/"+e.tr.gtin+"/"+e.freshBatch()+"/inputs", "inputs[0].gtin", e.tr.gtin, "inputs[0].batch", e.tr.batch,
			"inputs[0].quantity", "12.5", "inputs[0].uom", "KGM")
	}},
	{pattern: "GET /console/orders/{id}", want: staffGET, req: func(e *env, _ role) req { return get("/console/orders/" + id(e.tr.order.ID)) }},
	{pattern: "GET /console/orders", want: staffGET, req: func(e *env, _ role) req { return get("/console/orders?shop=" + id(e.shopA.ID)) }},
	{pattern: "GET /console/reviews/folded", want: staffGET, req: func(e *env, _ role) req { return get("/console/reviews/folded?platform=" + id(e.platA.ID)) }},
	// The console's logistics grades: every firm, and one firm's report
	// with its couriers.
	{pattern: "GET /console/logistics", want: staffGET, req: fixed(get("/console/logistics"))},
	{pattern: "GET /console/logistics/{id}", want: staffGET, req: func(e *env, _ role) req { return get("/console/logistics/" + id(e.logiFirm.ID) + "?days=30") }},

	// The second step of a sign-in: each role's account with a second
	// factor enters its current code (the public a wrong one).
	{pattern: "POST /console/login/code", want: "401 ok ok ok ok ok ok", req: func(e *env, r role) req {
		login, challenge, code := "proof.nobody", "no-such-challenge", "000000"
		if r != rPublic {
			var actor account.Actor
			login, _, actor = e.throwaway(r)
			k := e.totpKey(actor)
			now := time.Now()
			must(0, e.app.Accounts.ConfirmTOTP(account.With(system, actor), account.TOTPCode(k, now.Add(-account.TOTPPeriod*time.Second))))
			res := must(e.app.Accounts.Login(e.ctx(rPublic), login, password, "127.0.0.1"))
			challenge, code = res.Challenge, account.TOTPCode(k, now.Add(account.TOTPPeriod*time.Second))
		}
		rq := formReq("/console/login/code", "login", login, "challenge", challenge, "code", code, "csrf", "double-submit-token")
		rq.header = http.Header{"Cookie": {"ecredit_login_csrf=double-submit-token"}}
		return rq
	}},
	// Every signed-in account may enrol a second factor for itself.
	{pattern: "GET /console/totp", want: "login ok ok ok ok ok ok", req: fixed(get("/console/totp"))},
	{pattern: "POST /console/totp/begin", want: "403 ok ok ok ok ok ok", req: fixed(formReq("/console/totp/begin"))},
	{pattern: "POST /console/totp/confirm", want: "403 ok ok ok ok ok ok", req: func(e *env, r role) req {
		rq := formReq("/console/totp/confirm", "code", "000000")
		if r != rPublic { // a fresh account, so that the shared one keeps signing in with its password
			_, s, actor := e.throwaway(r)
			rq.form.Set("code", account.TOTPCode(e.totpKey(actor), time.Now()))
			rq.form.Set("csrf", s.csrf)
			rq.header = http.Header{"Cookie": {"ecredit_session=" + s.token}}
		}
		return rq
	}},
}

// TestOrderPlatformOfAnother: a platform cannot report an order on
// another platform or of another platform's shop, whatever platform_id it
// sends, and the refused order is stored nowhere.
func TestOrderPlatformOfAnother(t *testing.T) {
	e := setup(t)
	in := e.orderInput(fmt.Sprintf("proof-buyer-%d", e.next()), time.Now().Add(-48*time.Hour).UTC().Truncate(time.Second))
	in.PlatformID = e.platA.ID
	r := e.do(t, rPlatB, jsonReq("POST", "/api/v1/orders", in))
	if r.status != 403 || r.errorField() != "platform_id" {
		t.Errorf("platform B reporting an order on A: %s, want 403 naming platform_id", r)
	}
	in.PlatformID, in.ShopID = e.platB.ID, e.shopA.ID
	if r := e.do(t, rPlatB, jsonReq("POST", "/api/v1/orders", in)); r.status != 404 {
		t.Errorf("platform B reporting an order of A's shop: %s, want 404", r)
	}
	if list := must(e.app.Trade.ListOrders(system, trade.OrderFilter{Limit: 500})); len(list) == 0 {
		t.Fatal("no orders at all")
	} else {
		for _, o := range list {
			if o.OrderNo == in.OrderNo {
				t.Errorf("a refused order was stored: %+v", o)
			}
		}
	}
}

// TestPlatformListsOwnOnly: the rows where platform B answers 200 on
// platform A's data (the order list, a batch's forward trace) show it
// none of A's orders, while A sees them.
func TestPlatformListsOwnOnly(t *testing.T) {
	e := setup(t)
	type order struct {
		ID         int64 `json:"id"`
		OrderID    int64 `json:"order_id"`
		PlatformID int64 `json:"platform_id"`
	}
	orders := func(r role, path, key string) []order {
		res := e.do(t, r, get(path))
		if res.status != 200 {
			t.Fatalf("%s as %s: %s", path, r, res)
		}
		var m map[string]json.RawMessage
		var list []order
		if err := json.Unmarshal(res.body, &m); err != nil || json.Unmarshal(m[key], &list) != nil {
			t.Fatalf("%s as %s: no %q list in %s", path, r, key, res)
		}
		return list
	}
	for _, c := range []struct{ path, key string }{
		{"/api/v1/orders?limit=500", "items"},
		{"/api/v1/batches/" + e.tr.gtin + "/" + e.tr.batch + "/trace", "orders"},
	} {
		seen := false
		for _, o := range orders(rPlatA, c.path, c.key) {
			seen = seen || o.ID == e.tr.order.ID || o.OrderID == e.tr.order.ID
			if o.PlatformID != e.platA.ID {
				t.Errorf("%s as platform A shows an order of platform %d", c.path, o.PlatformID)
			}
		}
		if !seen {
			t.Errorf("%s as platform A lacks its order %d", c.path, e.tr.order.ID)
		}
		for _, o := range orders(rPlatB, c.path, c.key) {
			if o.PlatformID != e.platB.ID {
				t.Errorf("%s as platform B shows an order of platform %d: %+v", c.path, o.PlatformID, o)
			}
		}
	}
}
