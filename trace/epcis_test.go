package trace

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/clock"
	"ecredit/code"
	"ecredit/errs"
	"ecredit/registry"
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
		got, tf, err := fromEPCIS(event(c.fields), []string{epcisPrefix})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if tf != nil || len(got) != len(c.want) {
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
	got, _, err := fromEPCIS(event(`"bizStep":"inspecting","disposition":"conformant","quantityList":[{"epcClass":"`+link+`"}],"cc:ref":"R1","cc:refType":"inspection_report"`), prefixes)
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
		_, _, err := fromEPCIS(json.RawMessage(c.raw), []string{epcisPrefix})
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
	got, _, err := fromEPCIS(raw[0], prefixes)
	want := EventInput{EventID: "urn:uuid:x1", Type: EventInspected, GTIN: g, Batch: "L1", Time: "2026-05-02T10:00:00+08:00", Region: "130802",
		ReadPoint: "urn:epc:id:sgln:6907654.00001.0",
		ShopID:    7, BizStep: "inspecting", Disposition: "conformant", RefType: "inspection_report", Ref: "JC-12", Quantity: 12}
	if err != nil || len(got) != 1 || got[0] != want {
		t.Errorf("1.2 ObjectEvent: %+v %v\nwant %+v", got, err, want)
	}
	if _, _, err := fromEPCIS(raw[1], prefixes); errs.FieldOf(err) != "type" || !strings.Contains(errs.MessageOf(err), "AggregationEvent") ||
		!strings.Contains(errs.MessageOf(err), "TransformationEvent") {
		t.Errorf("AggregationEvent: %v", err)
	}
	// The TransformationEvent in its 1.2 wrapper is read, and refused for
	// what it lacks.
	if _, _, err := fromEPCIS(raw[2], prefixes); !hasFields(err, "eventTimeZoneOffset", "inputQuantityList", "outputQuantityList") {
		t.Errorf("TransformationEvent without inputs and outputs: %v", err)
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
		got, _, err := fromEPCIS(raw[0], prefixes)
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
	f.Add([]byte(transformation(`"inputQuantityList":[{"epcClass":"urn:epc:class:lgtin:6907654.032102.H1","quantity":2.5,"uom":"KGM"}],` +
		`"inputEPCList":["https://id.gs1.org/01/06907654321024/10/H2/21/1"],"outputEPCList":["urn:epc:id:sgtin:6907654.032101.1"],"ilmd":{"cbvmda:lotNumber":"C1"}`)))
	f.Add([]byte(`<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" schemaVersion="1.2"><EPCISBody><EventList><extension><TransformationEvent>` +
		`<eventTime>2026-05-02T10:00:00+08:00</eventTime><eventTimeZoneOffset>+08:00</eventTimeZoneOffset>` +
		`<inputQuantityList><quantityElement><epcClass>urn:epc:class:lgtin:6907654.032102.H1</epcClass><quantity>1</quantity><uom>TNE</uom></quantityElement></inputQuantityList>` +
		`<outputQuantityList><quantityElement><epcClass>urn:epc:class:lgtin:6907654.032101.C1</epcClass></quantityElement></outputQuantityList>` +
		`</TransformationEvent></extension></EventList></EPCISBody></epcis:EPCISDocument>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		raw, prefixes, err := epcisEvents(doc, MaxBatch)
		if err != nil {
			if errs.FieldOf(err) == "" || errs.MessageOf(err) == "" {
				t.Fatalf("document error without a field or message: %v", err)
			}
			return
		}
		for _, r := range raw {
			evs, tf, err := fromEPCIS(r, prefixes)
			if err != nil && (errs.FieldOf(err) == "" || !errs.Is(err, errs.Invalid)) {
				t.Fatalf("event error without a field: %v", err)
			}
			for _, in := range evs {
				if in.EventID == "" || in.GTIN == "" || in.Batch == "" {
					t.Fatalf("event without its id or batch: %+v", in)
				}
			}
			if tf == nil {
				return
			}
			if len(tf.outFields) != len(evs) || len(tf.inputs) == 0 || len(tf.inFields) != len(tf.inputs) {
				t.Fatalf("TransformationEvent without its inputs or fields: %d events, %+v", len(evs), tf)
			}
			for i, in := range tf.inputs {
				if in.GTIN == "" || in.Batch == "" || tf.inputName(fmt.Sprintf("inputs[%d].batch", i)) == "" {
					t.Fatalf("input without its batch or field: %+v", tf)
				}
			}
		}
	})
}

// hasFields reports whether err names every one of fields.
func hasFields(err error, fields ...string) bool {
	if err == nil {
		return false
	}
	named := map[string]bool{}
	for _, e := range errs.All(err) {
		named[e.Field] = true
	}
	for _, f := range fields {
		if !named[f] {
			return false
		}
	}
	return true
}

// transformation is a TransformationEvent with the given fields over a
// minimal valid head (no inputs or outputs).
func transformation(fields string) json.RawMessage {
	base := `"type":"TransformationEvent","eventID":"urn:uuid:t1","eventTime":"2026-05-02T10:00:00+08:00","eventTimeZoneOffset":"+08:00"`
	if fields != "" {
		base += "," + fields
	}
	return json.RawMessage("{" + base + "}")
}

// transformWant is what a TransformationEvent should read as.
type transformWant struct {
	events    []EventInput // Time is filled in
	outFields []string
	inputs    []InputRef
	inFields  []string
}

func checkTransform(t *testing.T, name string, raw json.RawMessage, prefixes []string, w transformWant) {
	t.Helper()
	evs, tf, err := fromEPCIS(raw, prefixes)
	if err != nil || tf == nil {
		t.Errorf("%s: %v (transformation %v)", name, err, tf != nil)
		return
	}
	if len(evs) != len(w.events) {
		t.Errorf("%s: %d produced events, want %d: %+v", name, len(evs), len(w.events), evs)
		return
	}
	for i, e := range w.events {
		e.Time = "2026-05-02T10:00:00+08:00"
		if evs[i] != e {
			t.Errorf("%s: produced event %d\n got %+v\nwant %+v", name, i, evs[i], e)
		}
	}
	if fmt.Sprint(tf.outFields) != fmt.Sprint(w.outFields) || fmt.Sprint(tf.inFields) != fmt.Sprint(w.inFields) {
		t.Errorf("%s: fields out %v in %v, want out %v in %v", name, tf.outFields, tf.inFields, w.outFields, w.inFields)
	}
	if fmt.Sprintf("%+v", tf.inputs) != fmt.Sprintf("%+v", w.inputs) {
		t.Errorf("%s: inputs\n got %+v\nwant %+v", name, tf.inputs, w.inputs)
	}
}

// TestEPCISTransformRead: a TransformationEvent in JSON-LD, EPCIS 2.0 XML
// and 1.2 XML (wrapped in the EventList's extension) is a produced event
// per output batch and the inputs of each: classes with their quantity
// and unit, instances of one lot counted as one input, an instance of a
// lot a class names adding nothing to it, units (EA) as no unit.
func TestEPCISTransformRead(t *testing.T) {
	cake := gtin13(t, "690765432101")
	haw := gtin13(t, "690765432102")
	sugar := gtin13(t, "690765432103")
	doc := `{"@context":["` + EPCISContext + `",{"cc":"` + EPCISNamespace + `"}],"type":"EPCISDocument","schemaVersion":"2.0","epcisBody":{"eventList":[` +
		string(transformation(`"bizStep":"urn:epcglobal:cbv:bizstep:commissioning",
		"inputQuantityList":[{"epcClass":"urn:epc:class:lgtin:6907654.032102.H1","quantity":1200.5,"uom":"KGM"},{"epcClass":"`+BatchLink(sugar, "S1")+`"},
			{"epcClass":"urn:epc:class:lgtin:6907654.032102.H2","quantity":3,"uom":"EA"}],
		"inputEPCList":["https://example.cn/01/0`+haw+`/10/H3/21/1","https://example.cn/01/0`+haw+`/10/H3/21/2","https://id.gs1.org/01/0`+sugar+`/10/S1/21/9"],
		"outputQuantityList":[{"epcClass":"urn:epc:class:lgtin:6907654.032101.C1","quantity":400}],
		"outputEPCList":["urn:epc:id:sgtin:6907654.032101.77"],"ilmd":{"cbvmda:lotNumber":"C2"},
		"readPoint":{"id":"urn:epc:id:sgln:6907654.00001.0"},"transformationID":"urn:uuid:x",
		"cc:eventType":"produced","cc:note":"蒸制","cc:region":"130802"`)) + `]}}`
	raw, prefixes, err := epcisEvents([]byte(doc), MaxBatch)
	if err != nil || len(raw) != 1 {
		t.Fatalf("JSON-LD document: %v", err)
	}
	checkTransform(t, "JSON-LD", raw[0], prefixes, transformWant{
		events: []EventInput{
			{EventID: "urn:uuid:t1#" + cake + "/C1", Type: EventProduced, GTIN: cake, Batch: "C1", BizStep: "commissioning", Quantity: 400, Note: "蒸制", Region: "130802",
				ReadPoint: "urn:epc:id:sgln:6907654.00001.0"},
			{EventID: "urn:uuid:t1#" + cake + "/C2", Type: EventProduced, GTIN: cake, Batch: "C2", BizStep: "commissioning", Quantity: 1, Note: "蒸制", Region: "130802",
				ReadPoint: "urn:epc:id:sgln:6907654.00001.0"}},
		outFields: []string{"outputQuantityList[0].epcClass", "outputEPCList[0]"},
		inputs: []InputRef{{GTIN: haw, Batch: "H1", Quantity: 1200.5, UOM: "KGM"}, {GTIN: sugar, Batch: "S1"}, {GTIN: haw, Batch: "H2", Quantity: 3},
			{GTIN: haw, Batch: "H3", Quantity: 2}},
		inFields: []string{"inputQuantityList[0]", "inputQuantityList[1]", "inputQuantityList[2]", "inputEPCList[0]"},
	})
	// A single TransformationEvent as the whole body, with no bizStep
	// (commissioning by default, in IngestEvents) and no eventType.
	if raw, _, err := epcisEvents(transformation(`"inputQuantityList":[{"epcClass":"urn:epc:class:lgtin:6907654.032102.H1"}],"outputQuantityList":[{"epcClass":"urn:epc:class:lgtin:6907654.032101.C1"}]`), MaxBatch); err != nil || len(raw) != 1 {
		t.Errorf("a single TransformationEvent: %v", err)
	} else {
		checkTransform(t, "single", raw[0], []string{epcisPrefix}, transformWant{
			events:    []EventInput{{EventID: "urn:uuid:t1", Type: EventProduced, GTIN: cake, Batch: "C1"}},
			outFields: []string{"outputQuantityList[0].epcClass"}, inputs: []InputRef{{GTIN: haw, Batch: "H1"}}, inFields: []string{"inputQuantityList[0]"},
		})
	}

	// EPCIS 2.0 XML: instances out (SGTINs with the lot in ilmd), a class
	// and an instance in.
	v20 := `<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" xmlns:cbvmda="urn:epcglobal:cbv:mda" xmlns:ecredit="` + EPCISNamespace + `" schemaVersion="2.0"><EPCISBody><EventList>
 <TransformationEvent><eventTime>2026-05-02T10:00:00+08:00</eventTime><eventTimeZoneOffset>+08:00</eventTimeZoneOffset><eventID>urn:uuid:t2</eventID>
  <inputEPCList><epc>https://id.gs1.org/01/0` + haw + `/10/H3/21/1</epc></inputEPCList>
  <inputQuantityList><quantityElement><epcClass>urn:epc:class:lgtin:6907654.032102.H1</epcClass><quantity>2.5</quantity><uom>TNE</uom></quantityElement></inputQuantityList>
  <outputEPCList><epc>urn:epc:id:sgtin:6907654.032101.1</epc><epc>urn:epc:id:sgtin:6907654.032101.2</epc></outputEPCList>
  <bizStep>commissioning</bizStep><ilmd><cbvmda:lotNumber>C3</cbvmda:lotNumber></ilmd><ecredit:eventType>produced</ecredit:eventType>
 </TransformationEvent></EventList></EPCISBody></epcis:EPCISDocument>`
	raw, prefixes, err = epcisEvents([]byte(v20), MaxBatch)
	if err != nil || len(raw) != 1 {
		t.Fatalf("2.0 XML document: %v", err)
	}
	checkTransform(t, "XML 2.0", raw[0], prefixes, transformWant{
		events:    []EventInput{{EventID: "urn:uuid:t2", Type: EventProduced, GTIN: cake, Batch: "C3", BizStep: "commissioning", Quantity: 2}},
		outFields: []string{"outputEPCList[0]"},
		inputs:    []InputRef{{GTIN: haw, Batch: "H1", Quantity: 2.5, UOM: "TNE"}, {GTIN: haw, Batch: "H3", Quantity: 1}},
		inFields:  []string{"inputQuantityList[0]", "inputEPCList[0]"},
	})

	// EPCIS 1.2 XML: the TransformationEvent in the EventList's extension,
	// its eventID in baseExtension, next to an ObjectEvent.
	v12 := `<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" xmlns:cc="` + EPCISNamespace + `" schemaVersion="1.2"><EPCISBody><EventList>
  <ObjectEvent><eventTime>2026-05-02T10:00:00+08:00</eventTime><eventTimeZoneOffset>+08:00</eventTimeZoneOffset><epcList/><action>OBSERVE</action>
   <bizStep>inspecting</bizStep><disposition>conformant</disposition><cc:ref>JC-1</cc:ref>
   <extension><quantityList><quantityElement><epcClass>urn:epc:class:lgtin:6907654.032102.H1</epcClass></quantityElement></quantityList></extension></ObjectEvent>
  <extension><TransformationEvent><eventTime>2026-05-02T10:00:00+08:00</eventTime><eventTimeZoneOffset>+08:00</eventTimeZoneOffset>
   <baseExtension><eventID>urn:uuid:t3</eventID></baseExtension>
   <inputQuantityList><quantityElement><epcClass>urn:epc:class:lgtin:6907654.032102.H1</epcClass><quantity>5</quantity><uom>KGM</uom></quantityElement>
    <quantityElement><epcClass>urn:epc:class:lgtin:6907654.032103.S1</epcClass><quantity>0.5</quantity><uom>KGM</uom></quantityElement></inputQuantityList>
   <outputQuantityList><quantityElement><epcClass>urn:epc:class:lgtin:6907654.032101.C4</epcClass><quantity>20</quantity></quantityElement></outputQuantityList>
   <bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep><disposition>urn:epcglobal:cbv:disp:active</disposition><cc:region>130802</cc:region>
  </TransformationEvent></extension>
 </EventList></EPCISBody></epcis:EPCISDocument>`
	raw, prefixes, err = epcisEvents([]byte(v12), MaxBatch)
	if err != nil || len(raw) != 2 {
		t.Fatalf("1.2 XML document: %d events, %v", len(raw), err)
	}
	if evs, tf, err := fromEPCIS(raw[0], prefixes); err != nil || tf != nil || len(evs) != 1 || evs[0].Type != EventInspected {
		t.Errorf("1.2 ObjectEvent beside it: %+v %v", evs, err)
	}
	checkTransform(t, "XML 1.2", raw[1], prefixes, transformWant{
		events: []EventInput{{EventID: "urn:uuid:t3", Type: EventProduced, GTIN: cake, Batch: "C4", BizStep: "commissioning", Disposition: "active",
			Quantity: 20, Region: "130802"}},
		outFields: []string{"outputQuantityList[0].epcClass"},
		inputs:    []InputRef{{GTIN: haw, Batch: "H1", Quantity: 5, UOM: "KGM"}, {GTIN: sugar, Batch: "S1", Quantity: 0.5, UOM: "KGM"}},
		inFields:  []string{"inputQuantityList[0]", "inputQuantityList[1]"},
	})

	// AddInputs' fields in EPCIS terms.
	tf := &epcisTransform{inFields: []string{"inputQuantityList[0]", "inputEPCList[3]"}}
	for in, want := range map[string]string{
		"inputs[0].gtin": "inputQuantityList[0].epcClass", "inputs[0].batch": "inputQuantityList[0].epcClass",
		"inputs[0].quantity": "inputQuantityList[0].quantity", "inputs[0].uom": "inputQuantityList[0].uom",
		"inputs[1].batch": "inputEPCList[3]", "inputs[1].quantity": "inputEPCList[3]", "inputs": "inputQuantityList",
		"inputs[2].batch": "inputs[2].batch", "inputs[x].batch": "inputs[x].batch", "time": "time",
	} {
		if got := tf.inputName(in); got != want {
			t.Errorf("inputName(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestEPCISTransformErrors: a TransformationEvent without inputs or
// outputs, with another event type, an input SGTIN (its lot is not in
// ilmd, which describes the outputs) or a bad class is refused naming the
// EPCIS field.
func TestEPCISTransformErrors(t *testing.T) {
	in := `"inputQuantityList":[{"epcClass":"urn:epc:class:lgtin:6907654.032102.H1","quantity":5,"uom":"KGM"}]`
	out := `"outputQuantityList":[{"epcClass":"urn:epc:class:lgtin:6907654.032101.C1"}]`
	cases := []struct {
		name, raw, field string
	}{
		{"no inputs", string(transformation(out)), "inputQuantityList"},
		{"empty input lists", string(transformation(`"inputQuantityList":[],"inputEPCList":[],` + out)), "inputQuantityList"},
		{"no outputs", string(transformation(in)), "outputQuantityList"},
		{"empty output lists", string(transformation(in + `,"outputQuantityList":[],"outputEPCList":[]`)), "outputQuantityList"},
		{"another event type", string(transformation(in + "," + out + `,"ecredit:eventType":"inspected"`)), "ecredit:eventType"},
		{"an input SGTIN", string(transformation(out + `,"inputEPCList":["urn:epc:id:sgtin:6907654.032102.7"],"ilmd":{"cbvmda:lotNumber":"H1"}`)), "inputEPCList[0]"},
		{"an input instance without a lot", string(transformation(out + `,"inputEPCList":["https://id.gs1.org/01/06907654321024/21/7"]`)), "inputEPCList[0]"},
		{"an input class without a lot", string(transformation(out + `,"inputQuantityList":[{"epcClass":"urn:epc:idpat:sgtin:6907654.032102.*"}]`)), "inputQuantityList[0].epcClass"},
		{"an input quantity as text", string(transformation(out + `,"inputQuantityList":[{"epcClass":"urn:epc:class:lgtin:6907654.032102.H1","quantity":"5"}]`)), "inputQuantityList.quantity"},
		{"an output without a lot", string(transformation(in + `,"outputQuantityList":[{"epcClass":"https://id.gs1.org/01/06907654321017"}]`)), "outputQuantityList[0].epcClass"},
		{"an output SGTIN without ilmd", string(transformation(in + `,"outputEPCList":["urn:epc:id:sgtin:6907654.032101.7"]`)), "outputEPCList[0]"},
		{"a negative output quantity", string(transformation(in + `,"outputQuantityList":[{"epcClass":"urn:epc:class:lgtin:6907654.032101.C1","quantity":-1}]`)), "outputQuantityList[0].quantity"},
		{"no offset", strings.Replace(string(transformation(in+","+out)), `"+08:00"`, `""`, 1), "eventTimeZoneOffset"},
		{"an error declaration", string(transformation(in + "," + out + `,"errorDeclaration":{"declarationTime":"2026-05-03T00:00:00Z"}`)), "errorDeclaration"},
	}
	for _, c := range cases {
		evs, tf, err := fromEPCIS(json.RawMessage(c.raw), []string{epcisPrefix})
		if err == nil {
			t.Errorf("%s: accepted: %+v %+v", c.name, evs, tf)
			continue
		}
		if f := errs.FieldOf(err); f != c.field || !errs.Is(err, errs.Invalid) || errs.MessageOf(err) == "" {
			t.Errorf("%s: %v, want an Invalid error on %s", c.name, err, c.field)
		}
	}
	// A TransformationEvent needs no action, and one given is not read.
	if _, _, err := fromEPCIS(transformation(in+","+out+`,"action":"DELETE"`), []string{epcisPrefix}); err != nil {
		t.Errorf("a TransformationEvent with an action: %v", err)
	}
	// Both lists missing: both named.
	if _, _, err := fromEPCIS(transformation(""), []string{epcisPrefix}); !hasFields(err, "inputQuantityList", "outputQuantityList") {
		t.Errorf("neither inputs nor outputs: %v", err)
	}
}

// memStore keeps batches, inputs and events in memory for capture tests.
type memStore struct {
	Store    // only the methods below are called
	products map[string]*Product
	batches  []*Batch
	inputs   []Input
	events   map[string]*Event // by source key and event id
	nextID   int64
	// failWrite, when set, is the error of CreateEventsWithInputs, which
	// then stores nothing (as a transaction that fails).
	failWrite error
}

func (m *memStore) GetProduct(_ context.Context, g string) (*Product, error) {
	if p, ok := m.products[g]; ok {
		return p, nil
	}
	return nil, errs.E(errs.NotFound, "没有该产品 (no such product)")
}

func (m *memStore) GetBatch(_ context.Context, g, bn string) (*Batch, error) {
	for _, b := range m.batches {
		if b.GTIN == g && b.Batch == bn {
			c := *b
			return &c, nil
		}
	}
	return nil, errs.E(errs.NotFound, "没有该批次 (no such batch)")
}

func (m *memStore) Lineage(_ context.Context, ids []int64, up bool) ([]Link, error) {
	if !up {
		return nil, fmt.Errorf("memStore: lineage down")
	}
	var out []Link
	for _, id := range ids {
		for _, in := range m.inputs {
			if in.BatchID == id {
				out = append(out, Link{Input: in, Other: m.batches[in.InputID-1]})
			}
		}
	}
	return out, nil
}

func (m *memStore) LineageGen(context.Context) (int64, error) { return 0, nil }

func (m *memStore) AddInputs(_ context.Context, ins []*Input, _ int64, _ *audit.Entry) error {
	for _, in := range ins {
		m.inputs = append(m.inputs, *in)
	}
	return nil
}

func (m *memStore) FindEvents(_ context.Context, key string, ids []string) (map[string]*Event, error) {
	out := map[string]*Event{}
	for _, id := range ids {
		if e, ok := m.events[key+"\x00"+id]; ok {
			out[id] = e
		}
	}
	return out, nil
}

func (m *memStore) CreateEvents(_ context.Context, evs []*Event, _ *audit.Entry) error {
	for _, e := range evs {
		m.nextID++
		e.ID = m.nextID
		c := *e
		m.events[e.SourceKey+"\x00"+e.EventID] = &c
	}
	return nil
}

func (m *memStore) CreateEventsWithInputs(ctx context.Context, evs []*Event, ins []*Input, gen int64, ia, ea *audit.Entry) error {
	if m.failWrite != nil {
		return m.failWrite
	}
	if err := m.AddInputs(ctx, ins, gen, ia); err != nil {
		return err
	}
	return m.CreateEvents(ctx, evs, ea)
}

// memSubjects finds every subject.
type memSubjects struct{ registry.Store }

func (memSubjects) GetSubject(_ context.Context, id int64) (*registry.Subject, error) {
	return &registry.Subject{ID: id, Name: "承德山庄食品有限公司"}, nil
}

// TestEPCISTransformCapture: each output's produced event is checked,
// then its inputs, then both are written in one store call; an
// output not registered, an event refused or inputs AddInputs refuses
// (units, quantities, unregistered lots) are that event's error in EPCIS
// terms, with nothing recorded for it; again, the same is unchanged.
func TestEPCISTransformCapture(t *testing.T) {
	cake := gtin13(t, "690765432101")
	haw := gtin13(t, "690765432102")
	sugar := gtin13(t, "690765432103")
	m := &memStore{products: map[string]*Product{}, events: map[string]*Event{}}
	for i, b := range []Batch{{GTIN: haw, Batch: "H1", ProducedOn: "2026-03-01"}, {GTIN: sugar, Batch: "S1", ProducedOn: "2026-03-02"},
		{GTIN: cake, Batch: "C1", ProducedOn: "2026-04-01"}, {GTIN: cake, Batch: "C2", ProducedOn: "2026-04-01"}, {GTIN: haw, Batch: "H2", ProducedOn: "2026-03-05"},
		{GTIN: sugar, Batch: "S2", ProducedOn: "2026-03-06"}} {
		b.ID, b.ProducerID, b.Status = int64(i+1), 7, BatchNormal
		m.batches = append(m.batches, &b)
		m.products[b.GTIN] = &Product{ID: int64(len(m.products) + 1), GTIN: b.GTIN, ProducerID: 7}
	}
	s := &Service{Store: m, Subjects: memSubjects{}, Clock: clock.NewFake(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))}
	ctx := account.With(context.Background(), account.Actor{AccountID: 11, Name: "承德市市场监督管理局", Role: account.RoleDepartment})

	h1 := `{"epcClass":"urn:epc:class:lgtin:6907654.032102.H1","quantity":1200.5,"uom":"kgm"}`
	s1 := `{"epcClass":"` + BatchLink(sugar, "S1") + `","quantity":300,"uom":"KGM"}`
	outC := func(lot string) string {
		return `"outputQuantityList":[{"epcClass":"urn:epc:class:lgtin:6907654.032101.` + lot + `","quantity":400}]`
	}
	ev := func(id, fields string) string {
		return strings.Replace(string(transformation(fields)), "urn:uuid:t1", id, 1)
	}
	doc := `{"type":"EPCISDocument","schemaVersion":"2.0","epcisBody":{"eventList":[` + strings.Join([]string{
		ev("t-good", `"inputQuantityList":[`+h1+`,`+s1+`],`+outC("C1")),
		ev("t-unknown-output", `"inputQuantityList":[`+h1+`],`+outC("C9")),
		ev("t-bad-uom", `"inputQuantityList":[`+h1+`,{"epcClass":"`+BatchLink(sugar, "S1")+`","quantity":3,"uom":"LBR"}],`+outC("C2")),
		ev("t-negative", `"inputQuantityList":[{"epcClass":"`+BatchLink(sugar, "S1")+`","quantity":-3}],`+outC("C2")),
		ev("t-uom-alone", `"inputQuantityList":[{"epcClass":"`+BatchLink(sugar, "S1")+`","uom":"KGM"}],`+outC("C2")),
		ev("t-unknown-input", `"inputEPCList":["https://id.gs1.org/01/0`+haw+`/10/H9/21/1"],`+outC("C2")),
		strings.Replace(ev("t-early", `"inputQuantityList":[`+h1+`],`+outC("C2")), "2026-05-02T10", "2026-03-02T10", 1),
	}, ",") + `]}}`
	want := []struct{ status, field string }{
		{ResultCreated, ""}, {ResultError, "outputQuantityList[0].epcClass"}, {ResultError, "inputQuantityList[1].uom"},
		{ResultError, "inputQuantityList[0].quantity"}, {ResultError, "inputQuantityList[0].uom"}, {ResultError, "inputEPCList[0]"},
		{ResultError, "eventTime"},
	}
	for round, first := range []string{ResultCreated, ResultUnchanged} {
		lines, err := s.CaptureEPCIS(ctx, []byte(doc))
		if err != nil || len(lines) != len(want) {
			t.Fatalf("round %d: %v %+v", round, err, lines)
		}
		want[0].status = first
		for i, w := range want {
			l := lines[i]
			if l.Line != i+1 || l.Status != w.status || errs.FieldOf(l.Err) != w.field || (w.field != "" && errs.MessageOf(l.Err) == "") {
				t.Errorf("round %d, event %d: %+v, want %s on %q", round, i+1, l, w.status, w.field)
			}
		}
		if lines[0].ID == 0 || lines[0].EventID != "t-good" {
			t.Errorf("round %d: the good event: %+v", round, lines[0])
		}
		// Only the good event's inputs and produced event are stored.
		if len(m.inputs) != 2 || m.inputs[0].BatchID != 3 || m.inputs[0].InputID != 1 || m.inputs[0].Quantity != 1200.5 || m.inputs[0].UOM != "KGM" ||
			m.inputs[1].InputID != 2 || m.inputs[1].Quantity != 300 || len(m.events) != 1 {
			t.Fatalf("round %d: stored %+v, %d events", round, m.inputs, len(m.events))
		}
		e := m.events["account:11\x00t-good"]
		if e == nil || e.Type != EventProduced || e.BizStep != "commissioning" || e.Disposition != "active" || e.Quantity != 400 || e.Batch != "C1" {
			t.Fatalf("round %d: produced event %+v", round, e)
		}
	}

	// The same event with another quantity of an input: a conflict, in
	// EPCIS terms; the public may not capture at all.
	lines, err := s.CaptureEPCIS(ctx, []byte(ev("t-other", `"inputQuantityList":[{"epcClass":"urn:epc:class:lgtin:6907654.032102.H1","quantity":1000,"uom":"KGM"}],`+outC("C1"))))
	if err != nil || len(lines) != 1 || !errs.Is(lines[0].Err, errs.Conflict) || errs.FieldOf(lines[0].Err) != "inputQuantityList[0].quantity" || len(m.events) != 1 {
		t.Errorf("another quantity: %v %+v", err, lines)
	}
	// The good event again naming one more input: its produced event is on
	// record, the new input makes it created.
	first := lines
	lines, err = s.CaptureEPCIS(ctx, []byte(ev("t-good", `"inputQuantityList":[`+h1+`,`+s1+`,{"epcClass":"urn:epc:class:lgtin:6907654.032102.H2"}],`+outC("C1"))))
	if err != nil || len(lines) != 1 || lines[0].Status != ResultCreated || lines[0].ID != m.events["account:11\x00t-good"].ID || len(m.inputs) != 3 ||
		m.inputs[2].InputID != 5 || len(m.events) != 1 {
		t.Errorf("one more input: %v %+v (before %+v), %d inputs", err, lines, first, len(m.inputs))
	}
	// The good event's id for another event (another time) naming one more
	// input: IngestEvents refuses the event, so the input is not recorded
	// either — nothing of a refused event is stored.
	s2 := `{"epcClass":"` + BatchLink(sugar, "S2") + `","quantity":5,"uom":"KGM"}`
	later := func(doc string) string { return strings.Replace(doc, "2026-05-02T10", "2026-05-03T10", 1) }
	lines, err = s.CaptureEPCIS(ctx, []byte(later(ev("t-good", `"inputQuantityList":[`+h1+`,`+s1+`,`+s2+`],`+outC("C1")))))
	if err != nil || len(lines) != 1 || !errs.Is(lines[0].Err, errs.Conflict) || errs.FieldOf(lines[0].Err) != "eventID" || len(m.inputs) != 3 || len(m.events) != 1 {
		t.Errorf("the good event's id for another event: %v %+v, %d inputs", err, lines, len(m.inputs))
	}
	// The same within one document: the first event of an id is stored
	// with its inputs, the second, different one refused with none.
	twice := `{"type":"EPCISDocument","schemaVersion":"2.0","epcisBody":{"eventList":[` +
		ev("t-twice", `"inputQuantityList":[`+h1+`],`+outC("C2")) + `,` + later(ev("t-twice", `"inputQuantityList":[`+s2+`],`+outC("C2"))) + `]}}`
	lines, err = s.CaptureEPCIS(ctx, []byte(twice))
	if err != nil || len(lines) != 2 || lines[0].Status != ResultCreated || !errs.Is(lines[1].Err, errs.Conflict) || errs.FieldOf(lines[1].Err) != "eventID" ||
		len(m.inputs) != 4 || m.inputs[3].BatchID != 4 || m.inputs[3].InputID != 1 || len(m.events) != 2 {
		t.Errorf("one id twice in a document: %v %+v, inputs %+v", err, lines, m.inputs)
	}
	// The inputs and the produced event are one write: when it fails,
	// neither is stored, and the call fails (the document may be sent
	// again).
	m.failWrite = &errs.Error{Code: errs.Unavailable, Message: "数据库暂不可用"}
	nIn, nEv := len(m.inputs), len(m.events)
	if _, err := s.CaptureEPCIS(ctx, []byte(ev("t-fails", `"inputQuantityList":[`+s2+`],`+outC("C2")))); !errs.Is(err, errs.Unavailable) ||
		len(m.inputs) != nIn || len(m.events) != nEv {
		t.Errorf("a failed write: %v, %d inputs (was %d), %d events (was %d)", err, len(m.inputs), nIn, len(m.events), nEv)
	}
	m.failWrite = nil
	if _, err := s.CaptureEPCIS(context.Background(), []byte(doc)); !errs.Is(err, errs.Unauthorized) {
		t.Errorf("the public captures: %v", err)
	}
}
