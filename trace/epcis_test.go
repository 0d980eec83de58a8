package trace

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"ecredit/code"
	"ecredit/errs"
)

// gtin13 is body (12 digits) with its check digit.
func gtin13(t *testing.T, body string) string {
	t.Helper()
	c, err := code.GTINCheck(body)
	if err != nil {
		t.Fatal(err)
	}
	return body + string(c)
}

// event is an ObjectEvent with the given fields over a minimal valid one.
func event(fields string) json.RawMessage {
	base := `"type":"ObjectEvent","eventID":"urn:uuid:1","eventTime":"2026-05-02T10:00:00+08:00","eventTimeZoneOffset":"+08:00","action":"OBSERVE"`
	if fields != "" {
		base += "," + fields
	}
	return json.RawMessage("{" + base + "}")
}

func TestEPCISEventsRead(t *testing.T) {
	g := gtin13(t, "690765432101")
	link := BatchLink(g, "L1")
	if want := "https://id.gs1.org/01/0" + g + "/10/L1"; link != want {
		t.Fatalf("BatchLink = %s, want %s", link, want)
	}
	other := gtin13(t, "690765432102")
	cases := []struct {
		name   string
		fields string
		want   []EventInput // GTIN, Batch, Type, BizStep, Disposition, Quantity, Ref, RefType, Note, EventID, Region checked
	}{
		{"LGTIN class, CBV words", `"bizStep":"commissioning","disposition":"active","quantityList":[{"epcClass":"urn:epc:class:lgtin:6907654.032101.L1","quantity":500}]`,
			[]EventInput{{EventID: "urn:uuid:1", Type: EventProduced, GTIN: g, Batch: "L1", BizStep: "commissioning", Disposition: "active", Quantity: 500}}},
		{"Digital Link class, URN vocabulary", `"bizStep":"urn:epcglobal:cbv:bizstep:inspecting","disposition":"urn:epcglobal:cbv:disp:conformant","quantityList":[{"epcClass":"` + link + `"}],"certificationInfo":"JC-1","ecredit:region":"130802"`,
			[]EventInput{{EventID: "urn:uuid:1", Type: EventInspected, GTIN: g, Batch: "L1", BizStep: "inspecting", Disposition: "conformant", Ref: "JC-1", RefType: "inspection_report", Region: "130802"}}},
		{"Web URI vocabulary, instances by Digital Link, a purchase order", `"bizStep":"https://ref.gs1.org/cbv/BizStep-shipping","epcList":["https://example.cn/01/0` + g + `/10/L1/21/A1","https://example.cn/01/0` + g + `/10/L1/21/A2"],"bizTransactionList":[{"type":"urn:epcglobal:cbv:btt:po","bizTransaction":"PO-9"}]`,
			[]EventInput{{EventID: "urn:uuid:1", Type: EventShipped, GTIN: g, Batch: "L1", BizStep: "shipping", Quantity: 2, Ref: "PO-9", RefType: "order"}}},
		{"SGTIN with the lot in ilmd", `"bizStep":"receiving","epcList":["urn:epc:id:sgtin:6907654.032101.7"],"ilmd":{"cbvmda:lotNumber":"L2"}`,
			[]EventInput{{EventID: "urn:uuid:1", Type: EventSigned, GTIN: g, Batch: "L2", BizStep: "receiving", Quantity: 1}}},
		{"two batches split, kilograms kept in the note", `"bizStep":"stocking","quantityList":[{"epcClass":"urn:epc:class:lgtin:6907654.032101.L1","quantity":3,"uom":"KGM"},{"epcClass":"urn:epc:class:lgtin:6907654.032102.L9","quantity":4}]`,
			[]EventInput{{EventID: "urn:uuid:1#" + g + "/L1", Type: EventListed, GTIN: g, Batch: "L1", BizStep: "stocking", Note: "数量 3 KGM"},
				{EventID: "urn:uuid:1#" + other + "/L9", Type: EventListed, GTIN: other, Batch: "L9", BizStep: "stocking", Quantity: 4}}},
		{"a step without a type, typed by the extension", `"bizStep":"storing","ecredit:eventType":"listed","ecredit:note":"冷库","quantityList":[{"epcClass":"` + link + `"}]`,
			[]EventInput{{EventID: "urn:uuid:1", Type: EventListed, GTIN: g, Batch: "L1", BizStep: "storing", Note: "冷库"}}},
		{"ecredit's own step as exported", `"bizStep":"urn:ecredit:epcis:bizstep:complaining","quantityList":[{"epcClass":"` + link + `"}]`,
			[]EventInput{{EventID: "urn:uuid:1", Type: EventComplained, GTIN: g, Batch: "L1", BizStep: "complaining"}}},
	}
	for _, c := range cases {
		got, err := fromEPCIS(event(c.fields), []string{epcisPrefix})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: %d events, want %d: %+v", c.name, len(got), len(c.want), got)
			continue
		}
		for i, w := range c.want {
			w.Time = "2026-05-02T10:00:00+08:00"
			if got[i] != w {
				t.Errorf("%s: event %d\n got %+v\nwant %+v", c.name, i, got[i], w)
			}
		}
	}

	// An alias of the namespace in the document's @context.
	prefixes := contextPrefixes(json.RawMessage(`["` + EPCISContext + `", {"cc": "` + EPCISNamespace + `"}]`))
	got, err := fromEPCIS(event(`"bizStep":"inspecting","disposition":"conformant","quantityList":[{"epcClass":"`+link+`"}],"cc:ref":"R1","cc:refType":"inspection_report"`), prefixes)
	if err != nil || got[0].Ref != "R1" || got[0].RefType != "inspection_report" {
		t.Errorf("aliased prefix: %+v %v", got, err)
	}
}

func TestEPCISEventErrors(t *testing.T) {
	g := gtin13(t, "690765432101")
	link := BatchLink(g, "L1")
	q := `"quantityList":[{"epcClass":"` + link + `"}]`
	cases := []struct {
		name, raw, field string
	}{
		{"aggregation", `{"type":"AggregationEvent","eventID":"x"}`, "type"},
		{"no type", `{"eventID":"x"}`, "type"},
		{"error declaration", string(event(`"errorDeclaration":{"declarationTime":"2026-05-03T00:00:00Z"},"bizStep":"shipping",` + q)), "errorDeclaration"},
		{"delete", strings.Replace(string(event(`"bizStep":"shipping",`+q)), `"OBSERVE"`, `"DELETE"`, 1), "action"},
		{"no offset", strings.Replace(string(event(`"bizStep":"shipping",`+q)), `"+08:00","action"`, `"","action"`, 1), "eventTimeZoneOffset"},
		{"bad offset", strings.Replace(string(event(`"bizStep":"shipping",`+q)), `"+08:00","action"`, `"8","action"`, 1), "eventTimeZoneOffset"},
		{"no step", string(event(q)), "bizStep"},
		{"a step without a type", string(event(`"bizStep":"packing",` + q)), "bizStep"},
		{"unknown extension field", string(event(`"bizStep":"shipping","ecredit:colour":"red",` + q)), "ecredit:colour"},
		{"extension of the wrong type", string(event(`"bizStep":"shipping","ecredit:shopId":"7",` + q)), "ecredit:shopId"},
		{"no batch", string(event(`"bizStep":"shipping"`)), "quantityList"},
		{"class without a lot", string(event(`"bizStep":"shipping","quantityList":[{"epcClass":"urn:epc:idpat:sgtin:6907654.032101.*"}]`)), "quantityList[0].epcClass"},
		{"Digital Link without a lot", string(event(`"bizStep":"shipping","quantityList":[{"epcClass":"https://id.gs1.org/01/0` + g + `"}]`)), "quantityList[0].epcClass"},
		{"Digital Link with a wrong check digit", string(event(`"bizStep":"shipping","quantityList":[{"epcClass":"https://id.gs1.org/01/0` + g[:12] + fmt.Sprint((int(g[12]-'0')+1)%10) + `/10/L1"}]`)), "quantityList[0].epcClass"},
		{"malformed LGTIN", string(event(`"bizStep":"shipping","quantityList":[{"epcClass":"urn:epc:class:lgtin:6907654.32101.L1"}]`)), "quantityList[0].epcClass"},
		{"SGTIN without a lot", string(event(`"bizStep":"shipping","epcList":["urn:epc:id:sgtin:6907654.032101.7"]`)), "epcList[0]"},
		{"negative quantity", string(event(`"bizStep":"shipping","quantityList":[{"epcClass":"` + link + `","quantity":-1}]`)), "quantityList[0].quantity"},
		{"epcList of numbers", string(event(`"bizStep":"shipping","epcList":[1]`)), "epcList"},
	}
	for _, c := range cases {
		_, err := fromEPCIS(json.RawMessage(c.raw), []string{epcisPrefix})
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if f := errs.FieldOf(err); f != c.field || !errs.Is(err, errs.Invalid) || errs.MessageOf(err) == "" {
			t.Errorf("%s: %v, want an Invalid error on %s", c.name, err, c.field)
		}
	}
}

func TestEPCISDocuments(t *testing.T) {
	ev := string(event(`"bizStep":"shipping"`))
	ok := []string{
		`{"@context":["` + EPCISContext + `"],"type":"EPCISDocument","schemaVersion":"2.0","epcisBody":{"eventList":[` + ev + `]}}`,
		`{"isA":"EPCISDocument","schemaVersion":2,"epcisBody":{"eventList":[` + ev + `,` + ev + `]}}`,
		`{"type":"EPCISQueryDocument","schemaVersion":"2.0","epcisBody":{"queryResults":{"resultsBody":{"eventList":[` + ev + `]}}}}`,
		ev,
	}
	for i, d := range ok {
		if evs, _, err := epcisEvents([]byte(d), MaxBatch); err != nil || len(evs) == 0 {
			t.Errorf("document %d: %v", i, err)
		}
	}
	var many []string
	for range MaxBatch + 1 {
		many = append(many, ev)
	}
	bad := []struct{ doc, field string }{
		{``, "body"},
		{`[` + ev + `]`, "body"},
		{`{"type":"EPCISDocument",`, "body"},
		{`{"type":"EPCISDocument","schemaVersion":"1.2","epcisBody":{"eventList":[` + ev + `]}}`, "schemaVersion"},
		{`{"type":"EPCISMasterDataDocument","epcisBody":{}}`, "type"},
		{`{"epcisBody":{"eventList":[` + ev + `]}}`, "type"},
		{`{"type":"EPCISDocument","epcisBody":{}}`, "epcisBody.eventList"},
		{`{"type":"EPCISDocument","epcisBody":{"eventList":[]}}`, "epcisBody.eventList"},
		{`{"type":"EPCISDocument","epcisBody":{"eventList":[` + strings.Join(many, ",") + `]}}`, "epcisBody.eventList"},
	}
	for i, b := range bad {
		_, _, err := epcisEvents([]byte(b.doc), MaxBatch)
		if err == nil || errs.FieldOf(err) != b.field {
			t.Errorf("bad document %d: %v, want an error on %s", i, err, b.field)
		}
	}
}

func TestEventCursor(t *testing.T) {
	c := EventCursor{At: time.Date(2026, 5, 2, 2, 0, 0, 123000, time.UTC), ID: 42}
	got, err := ParseEventCursor("cursor", c.Token())
	if err != nil || !got.At.Equal(c.At) || got.ID != 42 {
		t.Errorf("round trip: %+v %v", got, err)
	}
	if z, err := ParseEventCursor("cursor", ""); err != nil || z.ID != 0 {
		t.Errorf("empty: %+v %v", z, err)
	}
	for _, bad := range []string{"x", "!!", "MTIz", "MS4w"} { // "123", "1.0"
		if _, err := ParseEventCursor("cursor", bad); errs.FieldOf(err) != "cursor" {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestEPCISXML(t *testing.T) {
	g := gtin13(t, "690765432101")
	// EPCIS 1.2 as laboratory systems write it: the eventID in
	// baseExtension, quantityList and ilmd in extension, the later event
	// types wrapped in extension, vendors' own elements.
	v12 := `<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" xmlns:cbvmda="urn:epcglobal:cbv:mda" xmlns:cc="` + EPCISNamespace + `"
  xmlns:lab="http://lab.example.cn/epcis" schemaVersion="1.2" creationDate="2026-05-02T12:00:00+08:00">
 <EPCISBody><EventList>
  <ObjectEvent>
   <eventTime>2026-05-02T10:00:00+08:00</eventTime><eventTimeZoneOffset>+08:00</eventTimeZoneOffset>
   <baseExtension><eventID>urn:uuid:x1</eventID></baseExtension>
   <epcList/>
   <action>OBSERVE</action>
   <bizStep>urn:epcglobal:cbv:bizstep:inspecting</bizStep>
   <disposition>urn:epcglobal:cbv:disp:conformant</disposition>
   <readPoint><id>urn:epc:id:sgln:6907654.00001.0</id></readPoint>
   <bizTransactionList><bizTransaction type="urn:epcglobal:cbv:btt:po">PO-1</bizTransaction></bizTransactionList>
   <extension>
    <quantityList><quantityElement><epcClass>urn:epc:class:lgtin:6907654.032101.L1</epcClass><quantity>12</quantity></quantityElement></quantityList>
   </extension>
   <cc:refType>inspection_report</cc:refType><cc:ref>JC-12</cc:ref><cc:region>130802</cc:region><cc:shopId>7</cc:shopId>
   <lab:operator>王工</lab:operator>
  </ObjectEvent>
  <AggregationEvent><eventTime>2026-05-02T10:00:00+08:00</eventTime></AggregationEvent>
  <extension><TransformationEvent><eventTime>2026-05-02T10:00:00+08:00</eventTime></TransformationEvent></extension>
 </EventList></EPCISBody>
</epcis:EPCISDocument>`
	raw, prefixes, err := epcisEvents([]byte(v12), MaxBatch)
	if err != nil || len(raw) != 3 {
		t.Fatalf("1.2 document: %d events, %v", len(raw), err)
	}
	got, err := fromEPCIS(raw[0], prefixes)
	want := EventInput{EventID: "urn:uuid:x1", Type: EventInspected, GTIN: g, Batch: "L1", Time: "2026-05-02T10:00:00+08:00", Region: "130802",
		ShopID: 7, BizStep: "inspecting", Disposition: "conformant", RefType: "inspection_report", Ref: "JC-12", Quantity: 12}
	if err != nil || len(got) != 1 || got[0] != want {
		t.Errorf("1.2 ObjectEvent: %+v %v\nwant %+v", got, err, want)
	}
	for i, typ := range []string{"AggregationEvent", "TransformationEvent"} {
		if _, err := fromEPCIS(raw[i+1], prefixes); errs.FieldOf(err) != "type" || !strings.Contains(errs.MessageOf(err), typ) {
			t.Errorf("%s: %v", typ, err)
		}
	}

	// EPCIS 2.0 XML, an SGTIN with its lot in ilmd, no eventID: known by
	// its content, however it is spaced.
	v20 := func(space string) string {
		return `<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" xmlns:cbvmda="urn:epcglobal:cbv:mda" schemaVersion="2.0"><EPCISBody><EventList>` + space +
			`<ObjectEvent><eventTime>2026-05-02T10:00:00+08:00</eventTime>` + space + `<eventTimeZoneOffset>+08:00</eventTimeZoneOffset>` +
			`<epcList><epc>urn:epc:id:sgtin:6907654.032101.9</epc></epcList><action>ADD</action><bizStep>commissioning</bizStep>` +
			`<ilmd><cbvmda:lotNumber>L5</cbvmda:lotNumber></ilmd></ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>`
	}
	var ids []string
	for _, sp := range []string{"", "\n   "} {
		raw, prefixes, err := epcisEvents([]byte("\xef\xbb\xbf"+v20(sp)), MaxBatch)
		if err != nil || len(raw) != 1 {
			t.Fatalf("2.0 document: %v", err)
		}
		got, err := fromEPCIS(raw[0], prefixes)
		if err != nil || got[0].Batch != "L5" || got[0].Type != EventProduced || got[0].Quantity != 1 || !strings.HasPrefix(got[0].EventID, "urn:ecredit:epcis-hash:") {
			t.Fatalf("2.0 ObjectEvent: %+v %v", got, err)
		}
		ids = append(ids, got[0].EventID)
	}
	if ids[0] != ids[1] {
		t.Errorf("the same event got ids %s and %s", ids[0], ids[1])
	}

	var many strings.Builder
	for range MaxBatch + 1 {
		many.WriteString("<ObjectEvent/>")
	}
	for name, c := range map[string]struct{ doc, field string }{
		"malformed":                         {`<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0"><EPCISBody>`, "body"},
		"an entity":                         {`<!DOCTYPE d [<!ENTITY x "y">]><epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0"><EPCISBody><EventList><ObjectEvent><eventID>&x;</eventID></ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>`, "body"},
		"another root":                      {`<html><body/></html>`, "type"},
		"no version":                        {`<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"><EPCISBody><EventList><ObjectEvent/></EventList></EPCISBody></epcis:EPCISDocument>`, "schemaVersion"},
		"no events":                         {`<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0"><EPCISBody><EventList/></EPCISBody></epcis:EPCISDocument>`, "epcisBody.eventList"},
		"too many":                          {`<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0"><EPCISBody><EventList>` + many.String() + `</EventList></EPCISBody></epcis:EPCISDocument>`, "epcisBody.eventList"},
		"nested too far outside the events": {`<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0">` + strings.Repeat("<a>", 100000) + strings.Repeat("</a>", 100000) + `</epcis:EPCISDocument>`, "body"},
		"nested too far":                    {`<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0"><EPCISBody><EventList><ObjectEvent>` + strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40) + `</ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>`, "body"},
	} {
		if _, _, err := epcisEvents([]byte(c.doc), MaxBatch); err == nil || errs.FieldOf(err) != c.field {
			t.Errorf("%s: %v, want an error on %s", name, err, c.field)
		}
	}
}

// FuzzEPCISDocument: whatever the bytes, reading a document and its
// events ends in events or in errors naming a field — never a panic.
// go test ./trace -run '^$' -fuzz FuzzEPCISDocument -fuzztime 60s
func FuzzEPCISDocument(f *testing.F) {
	ev := string(event(`"bizStep":"inspecting","disposition":"conformant","quantityList":[{"epcClass":"urn:epc:class:lgtin:6907654.032101.L1","quantity":2}],"ecredit:shopId":3`))
	f.Add([]byte(`{"@context":["` + EPCISContext + `",{"x":"` + EPCISNamespace + `"}],"type":"EPCISDocument","schemaVersion":"2.0","epcisBody":{"eventList":[` + ev + `]}}`))
	f.Add([]byte(ev))
	f.Add([]byte(`<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" xmlns:e="` + EPCISNamespace + `" schemaVersion="1.2"><EPCISBody><EventList><ObjectEvent>` +
		`<eventTime>2026-05-02T10:00:00+08:00</eventTime><baseExtension><eventID>a</eventID></baseExtension><epcList><epc>https://id.gs1.org/01/06907654321014/10/L1/21/1</epc></epcList>` +
		`<extension><quantityList><quantityElement><epcClass>x</epcClass><quantity>1.5</quantity><uom>KGM</uom></quantityElement></quantityList></extension><e:shopId>4</e:shopId>` +
		`</ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		raw, prefixes, err := epcisEvents(doc, MaxBatch)
		if err != nil {
			if errs.FieldOf(err) == "" || errs.MessageOf(err) == "" {
				t.Fatalf("document error without a field or message: %v", err)
			}
			return
		}
		for _, r := range raw {
			evs, err := fromEPCIS(r, prefixes)
			if err != nil && (errs.FieldOf(err) == "" || !errs.Is(err, errs.Invalid)) {
				t.Fatalf("event error without a field: %v", err)
			}
			for _, in := range evs {
				if in.EventID == "" || in.GTIN == "" || in.Batch == "" {
					t.Fatalf("event without its id or batch: %+v", in)
				}
			}
		}
	})
}
