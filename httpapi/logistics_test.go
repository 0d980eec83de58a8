package httpapi

import (
	"context"
	"strconv"
	"strings"

	"ecredit/account"
	"ecredit/registry"
)

// logisticsAPI: parcels and events in bulk with bad lines, a parcel's
// tracking by role, the metrics, the public grade and the profile block.
func logisticsAPI(e *env) {
	t := e.t
	firm := e.createSubject("admin", registry.SubjectInput{Kind: registry.KindLogistics, Name: "承德快运有限公司", CreditCode: mkUSCC(t, 7001), RegionCode: "130802"})
	sys := account.With(context.Background(), account.System)
	_, key, err := e.accts.CreateAccount(sys, account.AccountInput{Name: "承德快运", Role: account.RoleLogistics, SubjectID: firm.ID})
	if err != nil {
		t.Fatal(err)
	}
	e.keys["firm"] = key
	nd := header("Content-Type", "application/x-ndjson")

	body := strings.Join([]string{
		`{"waybill":"CD0001","weight_g":900,"origin":"130802","dest":"110105","courier":"C7","promised_at":"2026-06-02T18:00:00+08:00"}`,
		`{"waybill":"CD0002","origin":"130802","dest":"123456"}`,
		`{"waybill":"CD0003","origin":"130802"`,
		``,
		`{"waybill":"CD0004","origin":"130802","dest":"130821","colour":"red"}`,
	}, "\n")
	r := e.do("POST", "/api/v1/parcels/batch", "firm", body, true, nd)
	e.want(r, 200)
	var res LogisticsBatchResult
	r.json(t, &res)
	if res.Created != 1 || res.Failed != 3 || len(res.Results) != 4 || res.Results[1].Error.Field != "dest" ||
		res.Results[3].Line != 5 || res.Results[3].Error.Field != "colour" {
		t.Fatalf("parcel batch %s", r.body)
	}
	// The same again: unchanged.
	r = e.do("POST", "/api/v1/parcels/batch", "firm", strings.SplitN(body, "\n", 2)[0], true, nd)
	if r.json(t, &res); res.Unchanged != 1 {
		t.Fatalf("resubmission %s", r.body)
	}

	events := `[
		{"waybill":"CD0001","type":"picked_up","at":"2026-06-01 08:00","region":"130802"},
		{"waybill":"CD0001","type":"out_for_delivery","at":"2026-06-01 15:00"},
		{"waybill":"CD0001","type":"signed","at":"2026-06-01 16:30","signed_by":"locker"},
		{"waybill":"NOPE","type":"picked_up","at":"2026-06-01 08:00"},
		{"waybill":"CD0001","type":"in_transit","at":"2026-06-09 08:00"},
		{"waybill":"CD0001","type":"signed","at":"2026-06-01 07:00","signed_by":"recipient"},
		{"waybill":"CD0001","type":"beamed","at":"2026-06-01 09:00"}
	]`
	r = e.do("POST", "/api/v1/parcels/events/batch", "firm", events, false)
	e.want(r, 200)
	r.json(t, &res)
	if res.Created != 3 || res.Failed != 4 || res.Results[3].Error.Field != "waybill" || res.Results[4].Error.Field != "at" ||
		res.Results[5].Error.Field != "at" || res.Results[6].Error.Field != "type" {
		t.Fatalf("event batch %s", r.body)
	}
	e.want(e.do("POST", "/api/v1/parcels/events/batch", "", events, false), 401)
	e.want(e.do("POST", "/api/v1/parcels/events/batch", "agency", events, false), 403)
	e.want(e.do("POST", "/api/v1/parcels/events/batch?firm=x", "admin", events, false), 400, "firm")
	e.want(e.do("POST", "/api/v1/parcels/batch?colour=1", "firm", body, false, nd), 400, "colour")

	r = e.do("GET", "/api/v1/parcels/CD0001", "firm", nil, true)
	e.want(r, 200)
	if m := r.m(t); m["status"] != "signed" || m["on_time"] != true || len(m["events"].([]any)) != 3 {
		t.Fatalf("parcel %s", r.body)
	}
	e.want(e.do("GET", "/api/v1/parcels/CD0001?firm="+firm.CreditCode, "dept", nil, true), 200)
	e.want(e.do("GET", "/api/v1/parcels/CD0001", "dept", nil, true), 400, "firm")
	e.want(e.do("GET", "/api/v1/parcels/CD0001?firm="+firm.CreditCode, "platA", nil, true), 404, "waybill")
	e.want(e.do("GET", "/api/v1/parcels/CD0001", "", nil, true), 401)

	id := strconv.FormatInt(firm.ID, 10)
	r = e.do("GET", "/api/v1/logistics/"+id+"/metrics?days=30", "firm", nil, true)
	e.want(r, 200)
	if m := r.m(t); m["grade"] != "" || len(m["couriers"].([]any)) != 1 || len(m["rules"].([]any)) != 3 {
		t.Fatalf("metrics %s", r.body)
	}
	e.want(e.do("GET", "/api/v1/logistics/"+id+"/metrics?days=0", "firm", nil, false), 400, "days")
	e.want(e.do("GET", "/api/v1/logistics/"+id+"/metrics", "agency", nil, true), 403)
	e.want(e.do("GET", "/api/v1/logistics/"+strconv.FormatInt(e.platA, 10)+"/metrics", "dept", nil, true), 400, "firm")

	r = e.do("GET", "/api/v1/public/logistics/"+firm.CreditCode, "", nil, true)
	e.want(r, 200)
	if m := r.m(t); m["firm_id"] != float64(firm.ID) || m["metrics"].(map[string]any)["parcels"] != float64(1) || len(m["d_treatment"].([]any)) == 0 {
		t.Fatalf("public grade %s", r.body)
	}
	e.want(e.do("GET", "/api/v1/public/logistics/not-a-code", "", nil, true), 400, "code")
	r = e.do("GET", "/api/v1/public/subjects/"+firm.CreditCode, "", nil, true)
	e.want(r, 200)
	if m := r.m(t); m["logistics"] == nil {
		t.Fatalf("profile without the logistics block %s", r.body)
	}
}
