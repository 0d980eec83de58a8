package httpapi

import (
	"fmt"
	"strings"
	"time"

	"ecredit/code"
	"ecredit/registry"
	"ecredit/sqlstore/storetest"
	"ecredit/trace"
)

// traceFlow runs traceability through the API: products, batches, events
// (single and NDJSON), forward, public and backward traces, licence flags,
// and a recall that reaches the platforms' change feed.
func traceFlow(e *env) {
	t := e.t
	// The env is shared by every scenario; traceability is wired here.
	e.api.d.Trace = &trace.Service{Store: e.db, Subjects: e.db, Records: e.db, Recorder: e.recs, Clock: e.clk}
	producer := e.createSubject("admin", registry.SubjectInput{Kind: registry.KindMerchant, Name: "承德山庄食品有限公司", CreditCode: mkUSCC(t, 700)})
	seller := e.createSubject("admin", registry.SubjectInput{Kind: registry.KindMerchant, Name: "双桥好味食品店", CreditCode: mkUSCC(t, 701)})
	shopA := e.createShop("platA", registry.ShopInput{OwnerID: seller.ID, Name: "好味食品旗舰店", URL: "https://haowei.example.cn", Category: "food"})
	shopB := e.createShop("platB", registry.ShopInput{OwnerID: seller.ID, Name: "好味乙店", URL: "https://haowei-b.example.cn", Category: "food"})
	c, _ := code.GTINCheck("690765432101")
	g := "690765432101" + string(c)

	// Products.
	prod := map[string]any{"gtin": g, "name": "山楂糕", "category": "食品", "producer_code": producer.CreditCode}
	e.want(e.do("POST", "/api/v1/products", "", prod, true), 401)
	e.want(e.do("POST", "/api/v1/products", "platA", prod, true), 403)
	e.want(e.do("POST", "/api/v1/products", "dept", map[string]any{"gtin": g[:12] + "0", "name": "x", "category": "food", "producer_code": producer.CreditCode}, true), 400, "gtin")
	e.want(e.do("POST", "/api/v1/products", "dept", map[string]any{"gtin": g, "nmae": "x"}, false), 400, "nmae")
	e.want(e.do("POST", "/api/v1/products", "dept", prod, true), 201)
	r := e.do("POST", "/api/v1/products", "dept", prod, true)
	e.want(r, 200)
	if m := r.m(t); m["status"] != "unchanged" {
		t.Errorf("product again: %s", r.body)
	}
	r = e.do("GET", "/api/v1/products/"+g, "", nil, true)
	e.want(r, 200)
	if !strings.Contains(string(r.body), producer.CreditCode) || !strings.Contains(string(r.body), `"licence_required":true`) {
		t.Errorf("product: %s", r.body)
	}
	e.want(e.do("GET", "/api/v1/products/123", "", nil, true), 400, "gtin")

	// Batches.
	e.want(e.do("POST", "/api/v1/batches", "dept", map[string]any{"gtin": g, "batch": "L1", "produced_on": "2026-07-01"}, true), 400, "produced_on")
	e.want(e.do("POST", "/api/v1/batches", "dept", map[string]any{"gtin": g, "batch": "L1", "produced_on": "2026-05-01", "quantity": 1000}, true), 201)
	e.want(e.do("POST", "/api/v1/batches", "dept", map[string]any{"gtin": g, "batch": "L2", "produced_on": "2026-05-02"}, true), 201)

	// Lineage: a raw lot, recorded as L1's input with the batch or later.
	cr, _ := code.GTINCheck("690765432118")
	rawG := "690765432118" + string(cr)
	e.want(e.do("POST", "/api/v1/products", "dept", map[string]any{"gtin": rawG, "name": "鲜山楂", "category": "农产品", "producer_code": producer.CreditCode}, true), 201)
	e.want(e.do("POST", "/api/v1/batches", "dept", map[string]any{"gtin": rawG, "batch": "R1", "produced_on": "2026-04-20"}, true), 201)
	in := func(batch string, q float64, uom string) map[string]any {
		return map[string]any{"inputs": []map[string]any{{"gtin": rawG, "batch": batch, "quantity": q, "uom": uom}}}
	}
	e.want(e.do("POST", "/api/v1/batches/"+g+"/L1/inputs", "", in("R1", 100, "KGM"), true), 401)
	e.want(e.do("POST", "/api/v1/batches/"+g+"/L1/inputs", "platA", in("R1", 100, "KGM"), true), 403)
	e.want(e.do("POST", "/api/v1/batches/"+g+"/L1/inputs", "dept", in("R9", 100, "KGM"), true), 400, "inputs[0].batch")
	e.want(e.do("POST", "/api/v1/batches/"+g+"/L1/inputs", "dept", in("R1", 100, "LB"), false), 400, "inputs[0].uom")
	e.want(e.do("POST", "/api/v1/batches/"+g+"/L1/inputs", "dept", map[string]any{"inputs": []any{}}, false), 400, "inputs")
	e.want(e.do("POST", "/api/v1/batches/"+g+"/L9/inputs", "dept", in("R1", 100, "KGM"), true), 404)
	r = e.do("POST", "/api/v1/batches/"+g+"/L1/inputs", "dept", in("R1", 120.5, "KGM"), true)
	e.want(r, 201)
	if m := r.m(t); m["created"] != 1.0 {
		t.Errorf("inputs: %s", r.body)
	}
	e.want(e.do("POST", "/api/v1/batches/"+g+"/L1/inputs", "dept", in("R1", 120.5, "KGM"), true), 200)
	e.want(e.do("POST", "/api/v1/batches/"+g+"/L1/inputs", "dept", in("R1", 99, "KGM"), true), 409, "inputs[0].quantity")
	r = e.do("POST", "/api/v1/batches", "dept", map[string]any{"gtin": g, "batch": "L2", "produced_on": "2026-05-02", "quantity": 500,
		"inputs": []map[string]any{{"gtin": rawG, "batch": "R1", "quantity": 80, "uom": "KGM"}}}, true)
	e.want(r, 409, "batch") // L2's quantity differs: the batch is not the same
	r = e.do("POST", "/api/v1/batches", "dept", map[string]any{"gtin": g, "batch": "L2", "produced_on": "2026-05-02",
		"inputs": []map[string]any{{"gtin": rawG, "batch": "R1", "quantity": 80, "uom": "KGM"}}}, true)
	e.want(r, 200)
	if m := r.m(t); m["status"] != "updated" {
		t.Errorf("batch again with an input: %s", r.body)
	}
	// A weighed lot: no more can go out of it than it held.
	r = e.do("POST", "/api/v1/batches", "dept", map[string]any{"gtin": rawG, "batch": "R2", "produced_on": "2026-04-21", "quantity": 100, "uom": "KGM"}, true)
	e.want(r, 201)
	if m := r.m(t); m["batch"].(map[string]any)["quantity_label"] != "100 千克" {
		t.Errorf("weighed lot: %s", r.body)
	}
	e.want(e.do("POST", "/api/v1/batches", "dept", map[string]any{"gtin": rawG, "batch": "R3", "produced_on": "2026-04-21", "uom": "KGM"}, true), 400, "uom")
	e.want(e.do("POST", "/api/v1/batches/"+g+"/L1/inputs", "dept", in("R2", 150, "KGM"), true), 400, "inputs[0].quantity")
	e.want(e.do("PATCH", "/api/v1/batches/"+rawG+"/R2", "dept", map[string]any{"uom": "磅"}, false), 400, "uom")
	r = e.do("GET", "/api/v1/public/trace/"+rawG+"/R1", "", nil, true)
	e.want(r, 200)
	if s := string(r.body); !strings.Contains(s, `"downstream":[{"depth":1,"of":"`+rawG+`/R1","gtin":"`+g+`","batch":"L1"`) || !strings.Contains(s, `"quantity_label":"120.5 千克"`) {
		t.Errorf("public lineage of the raw lot: %s", s)
	}

	// Updates: the GTIN is not a field; strict decoding, field errors,
	// versions; platforms may not.
	e.want(e.do("PATCH", "/api/v1/products/"+g, "", map[string]any{"name": "x"}, true), 401)
	e.want(e.do("PATCH", "/api/v1/products/"+g, "platA", map[string]any{"name": "x"}, true), 403)
	e.want(e.do("PATCH", "/api/v1/products/"+g, "dept", map[string]any{"gtin": g}, false), 400, "gtin")
	e.want(e.do("PATCH", "/api/v1/products/"+g, "dept", map[string]any{"category": "玩具"}, true), 400, "category")
	r = e.do("PATCH", "/api/v1/products/"+g, "dept", map[string]any{"spec": "500g", "version": 1}, true)
	e.want(r, 200)
	if m := r.m(t); m["version"] != 2.0 || m["spec"] != "500g" || m["gtin"] != g {
		t.Errorf("product update: %s", r.body)
	}
	e.want(e.do("PATCH", "/api/v1/products/"+g, "dept", map[string]any{"spec": "1kg", "version": 1}, true), 409, "version")
	e.want(e.do("PATCH", "/api/v1/batches/"+g+"/L2", "platA", map[string]any{"quantity": 5}, true), 403)
	e.want(e.do("PATCH", "/api/v1/batches/"+g+"/L2", "dept", map[string]any{"quantity": "many"}, false), 400, "quantity")
	e.want(e.do("PATCH", "/api/v1/batches/"+g+"/L2", "dept", map[string]any{"expires_on": "2026-04-01"}, true), 400, "expires_on")
	e.want(e.do("PATCH", "/api/v1/batches/"+g+"/L9", "dept", map[string]any{"quantity": 5}, true), 404)
	r = e.do("PATCH", "/api/v1/batches/"+g+"/L2", "dept", map[string]any{"quantity": 500, "expires_on": "2026-11-02", "version": 1}, true)
	e.want(r, 200)
	if m := r.m(t); m["version"] != 2.0 || m["quantity"] != 500.0 || m["expires_on"] != "2026-11-02" {
		t.Errorf("batch update: %s", r.body)
	}

	// Events: one, then an NDJSON batch with a good, a bad and a broken line.
	cs, _ := code.GTINCheck("690765432199")
	lab := "690765432199" + string(cs) // the testing centre's reception, registered below
	insp := map[string]any{"event_id": "JC-1", "type": "inspected", "gtin": g, "batch": "L1", "time": "2026-05-02T10:00:00+08:00",
		"disposition": "conformant", "ref": "JC2026-0502-01", "subject_code": producer.CreditCode, "read_point": "https://id.gs1.org/414/" + lab}
	e.want(e.do("POST", "/api/v1/trace/events", "agency", insp, true), 201)
	r = e.do("POST", "/api/v1/trace/events", "agency", insp, true)
	e.want(r, 200)
	e.want(e.do("POST", "/api/v1/trace/events", "logistics", insp, true), 403)
	nd := fmt.Sprintf(`{"event_id":"P-1","type":"produced","gtin":"%s","batch":"L1","time":"2026-05-01T08:00:00+08:00","region":"130821"}
{"event_id":"L-1","type":"listed","gtin":"%s","batch":"L1","time":"2026-04-01T08:00:00+08:00"}

{"event_id":
{"event_id":"P-1","type":"produced","gtin":"%s","batch":"L1","time":"2026-05-01T08:00:00+08:00","region":"130821"}
`, g, g, g)
	r = e.do("POST", "/api/v1/trace/events/batch", "dept", nd, true, header("Content-Type", "application/x-ndjson"))
	e.want(r, 200)
	var br TraceEventBatchResult
	r.json(t, &br)
	if br.Created != 1 || br.Unchanged != 1 || br.Failed != 2 || len(br.Results) != 4 || br.Results[1].Error == nil || br.Results[1].Error.Field != "time" ||
		br.Results[2].Line != 4 || br.Results[3].Line != 5 {
		t.Errorf("event batch: %s", r.body)
	}
	e.want(e.do("POST", "/api/v1/trace/events/batch", "", nd, false, header("Content-Type", "application/x-ndjson")), 401)

	// Sites: the producer's, registered by a department; a platform may
	// not register one for another subject; bad input names its field.
	site := func(gln, code, name string) map[string]any {
		return map[string]any{"sites": []map[string]any{{"gln": gln, "subject_code": code, "name": name, "region": "130821"}}}
	}
	e.want(e.do("POST", "/api/v1/trace/sites", "", site(lab, producer.CreditCode, "检测中心收样室"), true), 401)
	e.want(e.do("POST", "/api/v1/trace/sites", "platA", site(lab, producer.CreditCode, "检测中心收样室"), true), 403, "sites[0].subject_code")
	e.want(e.do("POST", "/api/v1/trace/sites", "dept", site(lab[:12]+"x", producer.CreditCode, "检测中心收样室"), true), 400, "sites[0].gln")
	e.want(e.do("POST", "/api/v1/trace/sites", "dept", map[string]any{"sites": []map[string]any{{"gln": lab, "nmae": "x"}}}, false), 400, "sites[0].nmae")
	r = e.do("POST", "/api/v1/trace/sites", "dept", site(lab, producer.CreditCode, "检测中心收样室"), true)
	e.want(r, 201)
	var sr SitesResult
	r.json(t, &sr)
	if sr.Created != 1 || len(sr.Results) != 1 || sr.Results[0].Link != "https://id.gs1.org/414/"+lab {
		t.Errorf("sites: %s", r.body)
	}
	r = e.do("POST", "/api/v1/trace/sites", "dept", site(lab, producer.CreditCode, "检测中心收样室"), true)
	e.want(r, 200)
	r.json(t, &sr)
	if sr.Unchanged != 1 {
		t.Errorf("sites again: %s", r.body)
	}
	r = e.do("GET", "/api/v1/public/subjects/"+strings.ToLower(producer.CreditCode)+"/sites", "", nil, true)
	e.want(r, 200)
	if s := string(r.body); !strings.Contains(s, "检测中心收样室") || !strings.Contains(s, producer.Name) {
		t.Errorf("public sites: %s", r.body)
	}
	e.want(e.do("GET", "/api/v1/public/subjects/"+mkUSCC(t, 799)+"/sites", "", nil, true), 404)
	e.want(e.do("GET", "/api/v1/public/subjects/123/sites", "", nil, true), 400, "code")

	// Orders on both platforms (seeded as package trade would store them).
	platformOf := []int64{e.platA, e.platA, e.platA, e.platB, e.platB}
	shopOf := []int64{shopA.ID, shopA.ID, shopA.ID, shopB.ID, shopB.ID}
	first := storetest.InsertOrders(t, e.db, 5, func(i int) storetest.Order {
		return storetest.Order{PlatformID: platformOf[i], ShopID: shopOf[i], SellerID: seller.ID, OrderNo: fmt.Sprintf("TR-%d", i),
			Region: []string{"130802", "110105"}[i%2], PaidAt: time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC),
			Items: []storetest.Item{{GTIN: g, Batch: "L1", Name: "山楂糕", Category: "食品", Quantity: 2, PriceFen: 1590}}}
	})

	// Forward: pages for a department, own orders for a platform.
	r = e.do("GET", "/api/v1/batches/"+g+"/L1/trace?limit=3", "dept", nil, true)
	e.want(r, 200)
	m := r.m(t)
	if reach := m["reach"].(map[string]any); reach["orders"] != 5.0 || reach["quantity"] != 10.0 || len(m["orders"].([]any)) != 3 || m["next_cursor"] == "" {
		t.Fatalf("forward: %s", r.body)
	}
	r = e.do("GET", "/api/v1/batches/"+g+"/L1/trace?limit=3&cursor="+m["next_cursor"].(string), "dept", nil, true)
	e.want(r, 200)
	if m := r.m(t); len(m["orders"].([]any)) != 2 || m["next_cursor"] != nil {
		t.Errorf("forward page 2: %s", r.body)
	}
	r = e.do("GET", "/api/v1/batches/"+g+"/L1/trace", "platB", nil, true)
	e.want(r, 200)
	if m := r.m(t); m["scope"] != "platform" || len(m["orders"].([]any)) != 2 {
		t.Errorf("platform forward: %s", r.body)
	}
	e.want(e.do("GET", "/api/v1/batches/"+g+"/L1/trace?limit=0", "dept", nil, false), 400, "limit")
	e.want(e.do("GET", "/api/v1/batches/"+g+"/L9/trace", "dept", nil, true), 404)
	e.want(e.do("GET", "/api/v1/batches/"+g+"/L1/trace", "", nil, true), 401)

	// Public: masked, aggregated, no orders.
	r = e.do("GET", "/api/v1/public/trace/"+g+"/L1", "", nil, true)
	e.want(r, 200)
	if s := string(r.body); strings.Contains(s, "T-0") || !strings.Contains(s, `"region":"130800"`) || !strings.Contains(s, "JC2026-0502-01") ||
		!strings.Contains(s, `"read_point_site":{"gln":"`+lab) || !strings.Contains(s, "检测中心收样室") {
		t.Errorf("public trace: %s", s)
	}
	e.want(e.do("GET", "/api/v1/public/trace/"+g+"/bad%20batch", "", nil, true), 400, "batch")

	// Backward: own order only.
	r = e.do("GET", fmt.Sprintf("/api/v1/orders/%d/trace", first), "platA", nil, true)
	e.want(r, 200)
	if s := string(r.body); !strings.Contains(s, `"found":true`) || !strings.Contains(s, "JC2026-0502-01") || !strings.Contains(s, `"flagged":true`) ||
		!strings.Contains(s, `"stage":"paid"`) || !strings.Contains(s, `"sources":[{"depth":1,"of":"`+g+`/L1","gtin":"`+rawG+`","batch":"R1"`) {
		t.Errorf("backward: %s", s)
	}
	e.want(e.do("GET", fmt.Sprintf("/api/v1/orders/%d/trace", first), "platB", nil, true), 404)
	e.want(e.do("GET", "/api/v1/orders/x/trace", "dept", nil, false), 400, "id")

	// Licence flags.
	r = e.do("GET", fmt.Sprintf("/api/v1/licence-flags?seller=%d", seller.ID), "dept", nil, true)
	e.want(r, 200)
	if m := r.m(t); m["flagged"] != 1.0 {
		t.Errorf("licence flags: %s", r.body)
	}
	e.want(e.do("GET", fmt.Sprintf("/api/v1/licence-flags?shop=%d", shopB.ID), "platA", nil, true), 404, "shop")
	e.want(e.do("GET", "/api/v1/licence-flags", "dept", nil, true), 400, "seller")
	e.want(e.do("GET", "/api/v1/licence-flags?seller=1", "", nil, true), 401)

	// Recall: platforms may not; the department recalls once; the
	// platforms find it in the change feed.
	e.want(e.do("POST", "/api/v1/batches/"+g+"/L1/recall", "platA", map[string]any{"reason": "x"}, true), 403)
	e.want(e.do("POST", "/api/v1/batches/"+g+"/L1/recall", "dept", map[string]any{}, false), 400, "reason")
	r = e.do("POST", "/api/v1/batches/"+g+"/L1/recall", "dept", map[string]any{"reason": "抽检菌落总数超标"}, true)
	e.want(r, 201)
	rm := r.m(t)
	if rm["orders"] != 5.0 || len(rm["platforms"].([]any)) != 2 {
		t.Errorf("recall: %s", r.body)
	}
	e.want(e.do("POST", "/api/v1/batches/"+g+"/L1/recall", "dept", map[string]any{"reason": "again"}, true), 409)
	// The latest recalls: departments, not platforms.
	r = e.do("GET", "/api/v1/recalls?limit=5", "dept", nil, true)
	e.want(r, 200)
	var recalls Page[trace.RecallItem]
	r.json(t, &recalls)
	if len(recalls.Items) != 1 || recalls.Items[0].GTIN != g || recalls.Items[0].ProductName == "" || recalls.Items[0].Orders != 5 {
		t.Errorf("recent recalls: %s", r.body)
	}
	e.want(e.do("GET", "/api/v1/recalls", "platA", nil, true), 403)
	e.want(e.do("GET", "/api/v1/recalls?limit=0", "dept", nil, false), 400, "limit")
	// The product's public page: its batches, L1 recalled.
	r = e.do("GET", "/api/v1/public/products/"+g, "", nil, true)
	e.want(r, 200)
	var pp trace.PublicProduct
	r.json(t, &pp)
	if pp.Product.GTIN != g || pp.Product.Producer == nil || pp.TotalBatches < 1 || pp.RecalledBatches != 1 || int64(len(pp.Batches)) != pp.TotalBatches {
		t.Errorf("public product: %s", r.body)
	}
	e.want(e.do("GET", "/api/v1/public/products/6901234567892", "", nil, true), 404)
	e.want(e.do("GET", "/api/v1/public/products/123", "", nil, true), 400, "gtin")
	// The public notice board: anyone, platforms too, without the
	// platforms' figures.
	for _, who := range []string{"", "platA"} {
		r = e.do("GET", "/api/v1/public/recalls", who, nil, true)
		e.want(r, 200)
		var board Page[trace.PublicRecall]
		r.json(t, &board)
		if len(board.Items) != 1 || board.Items[0].Orders != 5 || board.Items[0].Producer == nil || strings.Contains(string(r.body), "platforms") {
			t.Errorf("notice board as %q: %s", who, r.body)
		}
	}
	r = e.do("GET", "/api/v1/changes?limit=1000", "platB", nil, true)
	e.want(r, 200)
	if s := string(r.body); !strings.Contains(s, `"x:gtin":"`+g+`"`) || !strings.Contains(s, "抽检菌落总数超标") {
		t.Errorf("recall not in the change feed: %.2000s", s)
	}
	r = e.do("GET", "/api/v1/public/trace/"+g+"/L1", "", nil, true)
	if !strings.Contains(string(r.body), `"status":"recalled"`) {
		t.Errorf("public after recall: %s", r.body)
	}

	epcisFlow(e, g, producer.CreditCode, shopA.ID)
}
