package httpapi

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"

	"ecredit/trace"
)

// epcisXMLDoc is an EPCIS 2.0 XML document as read back.
type epcisXMLDoc struct {
	XMLName       xml.Name
	SchemaVersion string `xml:"schemaVersion,attr"`
	Body          struct {
		List struct {
			Events []epcisXMLEvent `xml:",any"`
		} `xml:"EventList"`
	} `xml:"EPCISBody"`
}

// epcisXMLEvent is an event of an XML document: what the tests compare.
type epcisXMLEvent struct {
	XMLName     xml.Name
	EventID     string `xml:"eventID"`
	EventTime   string `xml:"eventTime"`
	Disposition string `xml:"disposition"`
	Inputs      []struct {
		EPCClass string  `xml:"epcClass"`
		Quantity float64 `xml:"quantity"`
		UOM      string  `xml:"uom"`
	} `xml:"inputQuantityList>quantityElement"`
	BizTransactions []string `xml:"bizTransactionList>bizTransaction"`
	EventType       string   `xml:"urn:ecredit:epcis: eventType"`
	Ref             string   `xml:"urn:ecredit:epcis: ref"`
	ShopID          int64    `xml:"urn:ecredit:epcis: shopId"`
	SourceEventID   string   `xml:"urn:ecredit:epcis: sourceEventID"`
	SubmittedBy     string   `xml:"urn:ecredit:epcis: submittedBy"`
}

// xmlExport reads an EPCIS export in XML page by page from path (with
// its query), checking each page's type and that its Link keeps the
// format; it returns the events of every page.
func xmlExport(e *env, path, who string) []epcisXMLEvent {
	t := e.t
	t.Helper()
	var out []epcisXMLEvent
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatalf("XML export does not end: %s", path)
		}
		r := e.do("GET", path, who, nil, true)
		e.want(r, 200)
		if ct := r.header.Get("Content-Type"); ct != "application/xml; charset=utf-8" {
			t.Errorf("XML export content type %q", ct)
		}
		var d epcisXMLDoc
		if err := xml.Unmarshal(r.body, &d); err != nil || d.XMLName.Space != trace.EPCISXMLNamespace || d.XMLName.Local != "EPCISDocument" || d.SchemaVersion != "2.0" {
			t.Fatalf("XML export page: %v\n%.600s", err, r.body)
		}
		out = append(out, d.Body.List.Events...)
		path = ""
		if l := r.header.Get("Link"); l != "" {
			path = strings.TrimSuffix(strings.TrimPrefix(l, "<"), `>; rel="next"`)
			if !strings.Contains(path, "format=xml") {
				t.Errorf("the next page's link loses the format: %s", l)
			}
		}
	}
	return out
}

// epcisFlow captures an EPCIS 2.0 document into batch L2 of the GTIN g
// (good and bad events, again, unauthenticated, not a document), exports
// the batch page by page to a department and its public events to
// anyone, and captures the department's export again as another source.
func epcisFlow(e *env, g, producerCode string, shopID int64) {
	t := e.t
	link := trace.BatchLink(g, "L2")
	ev := func(id, fields string) string {
		return `{"type":"ObjectEvent","eventID":"` + id + `","eventTime":"2026-05-03T10:00:00+08:00","eventTimeZoneOffset":"+08:00","action":"OBSERVE",` + fields + `}`
	}
	doc := func(evs ...string) string {
		return `{"@context":["` + trace.EPCISContext + `",{"cc":"` + trace.EPCISNamespace + `"}],"type":"EPCISDocument","schemaVersion":"2.0",` +
			`"creationDate":"2026-05-03T12:00:00+08:00","epcisBody":{"eventList":[` + strings.Join(evs, ",") + `]}}`
	}
	lgtin := "urn:epc:class:lgtin:" + g[:7] + ".0" + g[7:12] + ".L2"
	d := doc(
		strings.Replace(ev("urn:uuid:e1", `"bizStep":"urn:epcglobal:cbv:bizstep:commissioning","disposition":"active","quantityList":[{"epcClass":"`+lgtin+`","quantity":500}],"cc:subjectCode":"`+producerCode+`"`),
			`"OBSERVE"`, `"ADD"`, 1),
		ev("urn:uuid:e2", `"bizStep":"inspecting","disposition":"conformant","quantityList":[{"epcClass":"`+link+`"}],"certificationInfo":"JC2026-0503-02","readPoint":{"id":"urn:epc:id:sgln:6907654.00001.0"}`),
		ev("urn:uuid:e3", `"bizStep":"https://ref.gs1.org/cbv/BizStep-retail_selling","quantityList":[{"epcClass":"`+link+`","quantity":2}],"bizTransactionList":[{"type":"po","bizTransaction":"TR-9"}],"cc:shopId":`+fmt.Sprint(shopID)),
		`{"type":"AggregationEvent","eventID":"urn:uuid:e4"}`,
		ev("urn:uuid:e5", `"bizStep":"inspecting","quantityList":[{"epcClass":"`+link+`"}]`),
	)
	ld := header("Content-Type", "application/ld+json")
	var res EPCISCaptureResult
	r := e.do("POST", "/api/v1/trace/epcis", "dept", d, true, ld)
	e.want(r, 200)
	r.json(t, &res)
	if res.Created != 3 || res.Failed != 2 || len(res.Results) != 5 || res.Results[3].Line != 4 || res.Results[3].Error.Field != "type" ||
		res.Results[4].Error == nil || res.Results[4].Error.Field != "disposition" || res.Results[2].EventID != "urn:uuid:e3" {
		t.Fatalf("capture: %s", r.body)
	}
	r = e.do("POST", "/api/v1/trace/epcis", "dept", d, true, ld)
	e.want(r, 200)
	if r.json(t, &res); res.Unchanged != 3 || res.Created != 0 {
		t.Errorf("capture again: %s", r.body)
	}
	// The XML binding, as a laboratory system of EPCIS 1.2 writes it.
	x := `<?xml version="1.0" encoding="UTF-8"?><epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" xmlns:ecredit="` + trace.EPCISNamespace +
		`" schemaVersion="1.2" creationDate="2026-05-03T12:00:00+08:00"><EPCISBody><EventList><ObjectEvent>` +
		`<eventTime>2026-05-03T11:00:00+08:00</eventTime><eventTimeZoneOffset>+08:00</eventTimeZoneOffset><baseExtension><eventID>urn:uuid:x1</eventID></baseExtension>` +
		`<epcList/><action>OBSERVE</action><bizStep>urn:epcglobal:cbv:bizstep:inspecting</bizStep><disposition>urn:epcglobal:cbv:disp:conformant</disposition>` +
		`<extension><quantityList><quantityElement><epcClass>` + lgtin + `</epcClass></quantityElement></quantityList></extension>` +
		`<ecredit:refType>inspection_report</ecredit:refType><ecredit:ref>JC2026-0503-03</ecredit:ref></ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>`
	r = e.do("POST", "/api/v1/trace/epcis", "dept", x, true, header("Content-Type", "application/xml"))
	e.want(r, 200)
	if r.json(t, &res); res.Created != 1 || res.Results[0].EventID != "urn:uuid:x1" {
		t.Errorf("capture XML: %s", r.body)
	}
	e.want(e.do("POST", "/api/v1/trace/epcis", "dept", "<html/>", true, header("Content-Type", "application/xml")), 400, "type")
	e.want(e.do("POST", "/api/v1/trace/epcis", "", d, true, ld), 401)
	e.want(e.do("POST", "/api/v1/trace/epcis", "dept", `{"type":"EPCISDocument","schemaVersion":"1.2","epcisBody":{"eventList":[]}}`, true, ld), 400, "schemaVersion")
	e.want(e.do("POST", "/api/v1/trace/epcis", "dept", "e1,e2", false, ld), 400, "body")

	// The whole export, two events a page, oldest first (the XML's
	// inspection last).
	path := "/api/v1/batches/" + g + "/L2/epcis"
	var got []trace.EPCISEvent
	next := path + "?limit=2"
	for pages := 0; next != ""; pages++ {
		if pages > 2 {
			t.Fatalf("export does not end: %s", next)
		}
		r = e.do("GET", next, "dept", nil, true)
		e.want(r, 200)
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/ld+json") {
			t.Errorf("export content type %q", ct)
		}
		var x trace.EPCISDocument
		r.json(t, &x)
		if x.Type != "EPCISDocument" || x.SchemaVersion != "2.0" || len(x.Context) != 2 {
			t.Errorf("export document: %.400s", r.body)
		}
		got = append(got, x.Body.EventList...)
		next = ""
		if l := r.header.Get("Link"); l != "" {
			next = strings.TrimSuffix(strings.TrimPrefix(l, "<"), `>; rel="next"`)
		}
	}
	// L2 was made from a raw lot (traceFlow): its produced event goes
	// out as the TransformationEvent of its inputs.
	if len(got) != 4 || got[0].Type != "TransformationEvent" || len(got[0].InputQuantityList) != 1 || got[0].InputQuantityList[0].UOM != "KGM" ||
		got[0].InputQuantityList[0].Quantity != 80 || len(got[0].OutputQuantityList) != 1 || got[0].OutputQuantityList[0].EPCClass != link ||
		got[0].OutputQuantityList[0].Quantity != 500 || len(got[0].QuantityList) != 0 || got[0].Action != "" || got[0].EventType != trace.EventProduced ||
		got[0].SubjectCode != producerCode || got[0].SourceEventID != "urn:uuid:e1" || !strings.HasPrefix(got[0].EventTime, "2026-05-03T10:00:00+08:00") {
		b, _ := json.Marshal(got)
		t.Fatalf("export's inputs: %s", b)
	}
	exported := got
	if got[1].RefType != "inspection_report" || got[1].Ref != "JC2026-0503-02" ||
		got[1].Disposition != "conformant" || got[2].EventType != trace.EventSold || got[2].ShopID != shopID ||
		len(got[2].BizTransactionList) != 1 || got[2].BizTransactionList[0].BizTransaction != "TR-9" || got[2].SourceEventID != "urn:uuid:e3" ||
		got[2].EventTimeZoneOffset != "+08:00" || !strings.HasPrefix(got[2].EventTime, "2026-05-03T10:00:00+08:00") {
		b, _ := json.Marshal(got)
		t.Errorf("export: %s", b)
	}
	// The same events in XML, two a page.
	xs := xmlExport(e, path+"?format=xml&limit=2", "dept")
	if len(xs) != len(exported) || xs[0].XMLName.Local != "TransformationEvent" || len(xs[0].Inputs) != 1 || xs[0].Inputs[0].Quantity != 80 ||
		xs[0].Inputs[0].UOM != "KGM" || xs[0].Inputs[0].EPCClass != exported[0].InputQuantityList[0].EPCClass {
		t.Fatalf("XML export: %+v", xs)
	}
	for i, x := range xs {
		j := exported[i]
		if x.XMLName.Local != j.Type || x.EventID != j.EventID || x.EventTime != j.EventTime || x.EventType != string(j.EventType) || x.Ref != j.Ref ||
			x.ShopID != j.ShopID || x.SourceEventID != j.SourceEventID || x.SubmittedBy != j.SubmittedBy || len(x.BizTransactions) != len(j.BizTransactionList) ||
			(j.Disposition != "" && x.Disposition != "urn:epcglobal:cbv:disp:"+j.Disposition) {
			t.Errorf("XML event %d: %+v, JSON %+v", i, x, j)
		}
	}
	r = e.do("GET", path+"?format=xml", "dept", nil, true)
	e.want(r, 200)
	wholeXML := string(r.body) // one page: captured again below
	if r.header.Get("Link") != "" || r.header.Get("Cache-Control") != "no-store" || r.header.Get("GS1-EPCIS-Version") != "2.0.0" {
		t.Errorf("whole XML export's headers: %v", r.header)
	}
	r = e.do("GET", path+"?format=jsonld", "dept", nil, true)
	e.want(r, 200)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/ld+json") {
		t.Errorf("format=jsonld: content type %q", ct)
	}
	e.want(e.do("GET", path+"?format=csv", "dept", nil, false), 400, "format")
	e.want(e.do("GET", "/api/v1/public/trace/"+g+"/L2/epcis?format=XML", "", nil, false), 400, "format")
	e.want(e.do("GET", path+"?format=xml", "platA", nil, true), 403)
	e.want(e.do("GET", path, "platA", nil, true), 403)
	e.want(e.do("GET", path, "", nil, true), 401)
	e.want(e.do("GET", path+"?cursor=bad", "dept", nil, true), 400, "cursor")
	e.want(e.do("GET", path+"?limit=0", "dept", nil, false), 400, "limit")
	e.want(e.do("GET", "/api/v1/batches/"+g+"/L9/epcis", "dept", nil, true), 404)

	// The public export: production and inspection only, nobody's ids.
	r = e.do("GET", "/api/v1/public/trace/"+g+"/L2/epcis", "", nil, true)
	e.want(r, 200)
	var pub trace.EPCISDocument
	r.json(t, &pub)
	if s := string(r.body); len(pub.Body.EventList) != 3 || pub.Body.EventList[0].Type != "TransformationEvent" || strings.Contains(s, "TR-9") || strings.Contains(s, "urn:uuid") || strings.Contains(s, "submittedBy") {
		t.Errorf("public export: %s", s)
	}

	// The public XML: the public JSON's events, masked alike.
	r = e.do("GET", "/api/v1/public/trace/"+g+"/L2/epcis?format=xml", "", nil, true)
	e.want(r, 200)
	if s := string(r.body); strings.Contains(s, "TR-9") || strings.Contains(s, "urn:uuid") || strings.Contains(s, "submittedBy") || strings.Contains(s, "shopId") ||
		r.header.Get("Cache-Control") != "public, max-age=60" {
		t.Errorf("public XML export: %s", s)
	}
	pubXML := xmlExport(e, "/api/v1/public/trace/"+g+"/L2/epcis?format=xml&limit=1", "")
	if len(pubXML) != len(pub.Body.EventList) {
		t.Fatalf("public XML has %d events, JSON %d", len(pubXML), len(pub.Body.EventList))
	}
	for i, x := range pubXML {
		if j := pub.Body.EventList[i]; x.EventID != j.EventID || x.Ref != j.Ref || x.EventType != string(j.EventType) {
			t.Errorf("public XML event %d: %+v, JSON %+v", i, x, j)
		}
	}

	// What is exported here is captured here: the admin's account is
	// another source, so the events are stored again under its ids.
	whole, _ := json.Marshal(trace.EPCISDocument{Context: []any{trace.EPCISContext, map[string]string{"ecredit": trace.EPCISNamespace}},
		Type: "EPCISDocument", SchemaVersion: "2.0", CreationDate: "2026-05-04T00:00:00+08:00", Body: trace.EPCISBody{EventList: exported}})
	r = e.do("POST", "/api/v1/trace/epcis", "admin", string(whole), true, ld)
	e.want(r, 200)
	// The TransformationEvent's inputs are recorded already; its
	// production event is new (another source).
	if r.json(t, &res); res.Created != 4 || res.Failed != 0 {
		t.Errorf("export captured again: %s", r.body)
	}
	// The XML export captured by the admin too is the very same events
	// and inputs: all unchanged (an event that differed would conflict).
	r = e.do("POST", "/api/v1/trace/epcis", "admin", wholeXML, true, header("Content-Type", "application/xml"))
	e.want(r, 200)
	if r.json(t, &res); res.Unchanged != 4 || res.Created != 0 || res.Failed != 0 {
		t.Errorf("XML export captured: %s", r.body)
	}
}
