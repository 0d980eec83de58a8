package trace

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/clock"
	"ecredit/code"
	"ecredit/errs"
	"ecredit/registry"
)

// pagedStore is memStore with a batch's events read a page at a time, as
// the SQL stores read them: (time, id) order after the cursor.
type pagedStore struct {
	*memStore
	pages int // BatchEvents calls
}

func (m *pagedStore) BatchEvents(_ context.Context, gtin, batch string, types []EventType, after EventCursor, limit int) ([]*Event, error) {
	m.pages++
	var out []*Event
	for _, e := range m.events {
		if e.GTIN != gtin || e.Batch != batch || (types != nil && !slices.Contains(types, e.Type)) {
			continue
		}
		if after.ID != 0 && (e.At.Before(after.At) || e.At.Equal(after.At) && e.ID <= after.ID) {
			continue
		}
		c := *e
		out = append(out, &c)
	}
	slices.SortFunc(out, func(a, b *Event) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out[:min(limit, len(out))], nil
}

// oneSubject is a registry holding one subject.
type oneSubject struct {
	registry.Store
	sub *registry.Subject
}

func (o oneSubject) GetSubject(_ context.Context, id int64) (*registry.Subject, error) {
	if id == o.sub.ID {
		return o.sub, nil
	}
	return nil, errs.E(errs.NotFound, "没有该主体 (no such subject)")
}

func (o oneSubject) FindSubjectByCode(_ context.Context, c string) (*registry.Subject, error) {
	if c == o.sub.CreditCode {
		return o.sub, nil
	}
	return nil, errs.E(errs.NotFound, "没有该主体 (no such subject)")
}

// xmlWorld is a store of five batches (cake C1 made from hawthorn H1 and
// sugar S1) and a service over it for the account; the producer is
// subject 7.
func xmlWorld(t *testing.T, accountID int64) (*Service, *pagedStore, context.Context) {
	t.Helper()
	cake, haw, sugar := gtin13(t, "690765432101"), gtin13(t, "690765432102"), gtin13(t, "690765432103")
	m := &pagedStore{memStore: &memStore{products: map[string]*Product{}, events: map[string]*Event{}}}
	for i, b := range []Batch{{GTIN: haw, Batch: "H1", ProducedOn: "2026-03-01"}, {GTIN: sugar, Batch: "S1", ProducedOn: "2026-03-02"},
		{GTIN: cake, Batch: "C1", ProducedOn: "2026-04-01"}} {
		b.ID, b.ProducerID, b.Status = int64(i+1), 7, BatchNormal
		m.batches = append(m.batches, &b)
		m.products[b.GTIN] = &Product{ID: int64(len(m.products) + 1), GTIN: b.GTIN, ProducerID: 7}
	}
	uscc, err := code.MakeUSCC('9', '1', "130802", "MA0XMLW0")
	if err != nil {
		t.Fatal(err)
	}
	sub := &registry.Subject{ID: 7, Name: "承德山庄食品有限公司", CreditCode: uscc, RegionCode: "130802"}
	s := &Service{Store: m, Subjects: oneSubject{sub: sub}, Clock: clock.NewFake(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))}
	ctx := account.With(context.Background(), account.Actor{AccountID: accountID, Name: fmt.Sprintf("部门账户 %d", accountID), Role: account.RoleDepartment})
	return s, m, ctx
}

// xmlSample is a document of a TransformationEvent (one input without
// quantity) and an ObjectEvent with every field, a note to escape.
func xmlSample() *EPCISDocument {
	cake, haw, sugar := "6907654321014", "6907654321021", "6907654321038"
	return &EPCISDocument{CreationDate: "2026-06-01T08:00:00+08:00", Body: EPCISBody{EventList: []EPCISEvent{
		{Type: "TransformationEvent", EventID: "urn:ecredit:batch-inputs:3", EventTime: "2026-04-01T00:00:00+08:00", EventTimeZoneOffset: "+08:00",
			RecordTime: "2026-04-02T09:00:00+08:00", BizStep: "commissioning", Disposition: "active", EventType: EventProduced,
			InputQuantityList:  []EPCISQuantity{{EPCClass: BatchLink(haw, "H1"), Quantity: 80.5, UOM: "KGM"}, {EPCClass: BatchLink(sugar, "S1")}},
			OutputQuantityList: []EPCISQuantity{{EPCClass: BatchLink(cake, "C1")}}},
		{Type: "ObjectEvent", EventID: "urn:ecredit:trace-event:9", EventTime: "2026-04-03T10:00:00.123456+08:00", EventTimeZoneOffset: "+08:00",
			RecordTime: "2026-04-03T10:01:00+08:00", Action: "OBSERVE", BizStep: "shipping", Disposition: "in_transit",
			QuantityList:       []EPCISQuantity{{EPCClass: BatchLink(cake, "C1"), Quantity: 12}},
			BizTransactionList: []EPCISBizTransaction{{Type: "bol", BizTransaction: "YD<1>&2"}},
			EventType:          EventShipped, Region: "130802", SubjectCode: "91130802MA0XMLW01X", SubjectName: "承德 <物流> & 仓储",
			ShopID: 42, RefType: "waybill", Ref: "YD<1>&2", Note: `冷链 <&> "加急"`, SourceEventID: "e&1", SubmittedBy: "承德市市场监督管理局"},
		{Type: "ObjectEvent", EventID: "urn:ecredit:trace-event:10", EventTime: "2026-04-04T10:00:00+08:00", EventTimeZoneOffset: "+08:00",
			RecordTime: "2026-04-04T10:00:00+08:00", Action: "OBSERVE", BizStep: EPCISNamespace + "bizstep:reviewing",
			QuantityList: []EPCISQuantity{{EPCClass: BatchLink(cake, "C1")}}, EventType: EventReviewed},
	}}}
}

// xmlElem is an element of a parsed document.
type xmlElem struct {
	name  xml.Name
	attrs []xml.Attr
	text  string
	kids  []*xmlElem
}

func (e *xmlElem) kid(local string) *xmlElem {
	for _, k := range e.kids {
		if k.name.Local == local {
			return k
		}
	}
	return nil
}

// parseXML reads a whole document strictly, failing unless it is well
// formed.
func parseXML(t *testing.T, b []byte) *xmlElem {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var stack []*xmlElem
	var root *xmlElem
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, b)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			e := &xmlElem{name: x.Name, attrs: x.Attr}
			if len(stack) > 0 {
				stack[len(stack)-1].kids = append(stack[len(stack)-1].kids, e)
			} else if root != nil {
				t.Fatalf("two roots")
			} else {
				root = e
			}
			stack = append(stack, e)
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(x)
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if root == nil {
		t.Fatalf("no root:\n%s", b)
	}
	return root
}

// TestEPCISXMLWriter: the document is well-formed EPCIS 2.0 XML with its
// namespaces; a TransformationEvent has its input and output lists, no
// action; CBV values are URNs; the extension fields are ecredit's
// elements, escaped; and each event reads back (the XML capture) to what
// its JSON form reads to.
func TestEPCISXMLWriter(t *testing.T) {
	doc := xmlSample()
	var buf bytes.Buffer
	if err := doc.WriteXML(&buf); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if !bytes.HasPrefix(b, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) || !bytes.Contains(b, []byte(`xmlns:ecredit="urn:ecredit:epcis:"`)) {
		t.Errorf("prolog or prefix:\n%s", b)
	}
	root := parseXML(t, b)
	attr := map[string]string{}
	for _, a := range root.attrs {
		attr[a.Name.Local] = a.Value
	}
	if root.name != (xml.Name{Space: EPCISXMLNamespace, Local: "EPCISDocument"}) || attr["schemaVersion"] != "2.0" || attr["creationDate"] != doc.CreationDate {
		t.Fatalf("root %v %v", root.name, root.attrs)
	}
	body := root.kid("EPCISBody")
	if body == nil || body.name.Space != "" || body.kid("EventList") == nil || len(body.kid("EventList").kids) != 3 {
		t.Fatalf("no EPCISBody/EventList of 3 events:\n%s", b)
	}
	evs := body.kid("EventList").kids
	tf, ob := evs[0], evs[1]
	if tf.name.Local != "TransformationEvent" || tf.kid("action") != nil || tf.kid("quantityList") != nil {
		t.Errorf("transformation %+v", tf.name)
	}
	ins := tf.kid("inputQuantityList")
	if ins == nil || len(ins.kids) != 2 || ins.kids[0].kid("quantity").text != "80.5" || ins.kids[0].kid("uom").text != "KGM" ||
		ins.kids[1].kid("quantity") != nil || ins.kids[1].kid("uom") != nil || ins.kids[1].kid("epcClass").text != doc.Body.EventList[0].InputQuantityList[1].EPCClass ||
		tf.kid("outputQuantityList").kids[0].kid("epcClass").text != doc.Body.EventList[0].OutputQuantityList[0].EPCClass {
		t.Errorf("transformation's quantities:\n%s", b)
	}
	if tf.kid("bizStep").text != "urn:epcglobal:cbv:bizstep:commissioning" || tf.kid("disposition").text != "urn:epcglobal:cbv:disp:active" {
		t.Errorf("CBV URNs:\n%s", b)
	}
	var order []string
	for _, k := range ob.kids {
		order = append(order, k.name.Local)
	}
	if want := []string{"eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "epcList", "action", "bizStep", "disposition", "bizTransactionList", "quantityList",
		"eventType", "region", "subjectCode", "subjectName", "shopId", "refType", "ref", "note", "sourceEventID", "submittedBy"}; !slices.Equal(order, want) {
		t.Errorf("ObjectEvent's elements %v, want %v", order, want)
	}
	for _, k := range ob.kids[10:] {
		if k.name.Space != EPCISNamespace {
			t.Errorf("%s in %q", k.name.Local, k.name.Space)
		}
	}
	bt := ob.kid("bizTransactionList").kids[0]
	if ob.kid("note").text != `冷链 <&> "加急"` || ob.kid("subjectName").text != "承德 <物流> & 仓储" || bt.text != "YD<1>&2" || bt.attrs[0].Value != "urn:epcglobal:cbv:btt:bol" ||
		ob.kid("shopId").text != "42" || ob.kid("quantityList").kids[0].kid("quantity").text != "12" || ob.kid("eventTime").text != "2026-04-03T10:00:00.123456+08:00" {
		t.Errorf("ObjectEvent's values:\n%s", b)
	}
	if !bytes.Contains(b, []byte(`冷链 &lt;&amp;&gt; &#34;加急&#34;`)) {
		t.Errorf("note not escaped:\n%s", b)
	}
	if r := evs[2]; r.kid("bizStep").text != EPCISNamespace+"bizstep:reviewing" || r.kid("disposition") != nil || r.kid("quantityList").kids[0].kid("quantity") != nil ||
		r.kid("note") != nil || r.kid("eventType").text != "reviewed" {
		t.Errorf("a bare event:\n%s", b)
	}

	// Read back, each event is what its JSON form is.
	raw, prefixes, err := epcisEvents(b, 0)
	if err != nil || len(raw) != 3 {
		t.Fatalf("captured: %v", err)
	}
	for i, e := range doc.Body.EventList {
		j, _ := json.Marshal(e)
		wantIn, wantTF, err1 := fromEPCIS(j, []string{epcisPrefix})
		gotIn, gotTF, err2 := fromEPCIS(raw[i], prefixes)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(gotIn, wantIn) || !reflect.DeepEqual(gotTF, wantTF) {
			t.Errorf("event %d: XML reads %+v %+v (%v), JSON %+v %+v (%v)", i, gotIn, gotTF, err2, wantIn, wantTF, err1)
		}
	}
}

// TestEPCISXMLRoundTrip: a batch's events and inputs exported as XML by
// WriteEPCISXML (the same events as the JSON export) and captured by
// another department in another system give the same events and inputs;
// the public XML is the public JSON's events.
func TestEPCISXMLRoundTrip(t *testing.T) {
	s, m, ctx := xmlWorld(t, 11)
	cake, haw, sugar := m.batches[2].GTIN, m.batches[0].GTIN, m.batches[1].GTIN
	if _, err := s.AddInputs(ctx, cake, "C1", []InputRef{{GTIN: haw, Batch: "H1", Quantity: 80.5, UOM: "KGM"}, {GTIN: sugar, Batch: "S1"}}); err != nil {
		t.Fatal(err)
	}
	uscc := s.Subjects.(oneSubject).sub.CreditCode
	res, err := s.IngestEvents(ctx, []EventInput{
		{EventID: "p1", Type: EventProduced, GTIN: cake, Batch: "C1", Time: "2026-04-01T08:00:00+08:00", SubjectCode: uscc, Quantity: 400},
		{EventID: "i1", Type: EventInspected, GTIN: cake, Batch: "C1", Time: "2026-04-02T09:30:15.123456+08:00", Disposition: "conformant",
			Ref: "JC-2026<1>", Region: "130802", Note: `抽检 <&> "合格"`},
		{EventID: "s1", Type: EventShipped, GTIN: cake, Batch: "C1", Time: "2026-04-03T10:00:00+08:00", RefType: "waybill", Ref: "YD&9", Quantity: 12},
		{EventID: "r1", Type: EventSigned, GTIN: cake, Batch: "C1", Time: "2026-04-04T10:00:00+08:00", RefType: "production", Ref: "SC-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != ResultCreated {
			t.Fatalf("ingest: %+v", res)
		}
	}

	var js, xs bytes.Buffer
	if err := s.WriteEPCIS(ctx, &js, cake, "C1", false); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteEPCISXML(ctx, &xs, cake, "C1", false); err != nil {
		t.Fatal(err)
	}
	var jd EPCISDocument
	if err := json.Unmarshal(js.Bytes(), &jd); err != nil || len(jd.Body.EventList) != 4 || jd.Body.EventList[0].Type != "TransformationEvent" {
		t.Fatalf("JSON export: %v %s", err, js.Bytes())
	}
	root := parseXML(t, xs.Bytes())
	xevs := root.kid("EPCISBody").kid("EventList").kids
	if len(xevs) != len(jd.Body.EventList) {
		t.Fatalf("XML has %d events, JSON %d", len(xevs), len(jd.Body.EventList))
	}
	for i, e := range jd.Body.EventList {
		x := xevs[i]
		if x.name.Local != e.Type || x.kid("eventID").text != e.EventID || x.kid("eventTime").text != e.EventTime || x.kid("recordTime").text != e.RecordTime {
			t.Errorf("event %d: XML %s %s, JSON %+v", i, x.name.Local, x.kid("eventID").text, e)
		}
	}

	// Another system, with the same batches registered, captures it under
	// another account.
	s2, m2, ctx2 := xmlWorld(t, 12)
	lines, err := s2.CaptureEPCIS(ctx2, xs.Bytes())
	if err != nil || len(lines) != 4 {
		t.Fatalf("capture: %v %+v", err, lines)
	}
	for _, l := range lines {
		if l.Status != ResultCreated {
			t.Errorf("captured: %+v", l)
		}
	}
	if len(m2.inputs) != len(m.inputs) {
		t.Fatalf("inputs %+v, want %+v", m2.inputs, m.inputs)
	}
	for i, in := range m.inputs {
		got := m2.inputs[i]
		if got.BatchID != in.BatchID || got.InputID != in.InputID || got.Quantity != in.Quantity || got.UOM != in.UOM {
			t.Errorf("input %d: %+v, want %+v", i, got, in)
		}
	}
	for _, e := range m.events {
		got := m2.events[fmt.Sprintf("account:12\x00urn:ecredit:trace-event:%d", e.ID)]
		if got == nil {
			t.Errorf("event %s not captured", e.EventID)
			continue
		}
		if got.Type != e.Type || got.GTIN != e.GTIN || got.Batch != e.Batch || !got.At.Equal(e.At) || got.Region != e.Region || got.SubjectID != e.SubjectID ||
			got.BizStep != e.BizStep || got.Disposition != e.Disposition || got.RefType != e.RefType || got.Ref != e.Ref || got.Quantity != e.Quantity || got.Note != e.Note {
			t.Errorf("captured %+v, want %+v", got, e)
		}
	}
	if len(m2.events) != len(m.events) {
		t.Errorf("%d events captured from %d (the TransformationEvent is the produced event, not one more)", len(m2.events), len(m.events))
	}

	// The public XML: the public JSON's events, masked alike.
	js.Reset()
	xs.Reset()
	if err := s.WriteEPCIS(context.Background(), &js, cake, "C1", true); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteEPCISXML(context.Background(), &xs, cake, "C1", true); err != nil {
		t.Fatal(err)
	}
	jd = EPCISDocument{}
	if err := json.Unmarshal(js.Bytes(), &jd); err != nil {
		t.Fatal(err)
	}
	xevs = parseXML(t, xs.Bytes()).kid("EPCISBody").kid("EventList").kids
	if len(xevs) != len(jd.Body.EventList) || len(xevs) != 2 || xevs[0].name.Local != "TransformationEvent" || strings.Contains(xs.String(), "YD&amp;9") || strings.Contains(xs.String(), "sourceEventID") ||
		strings.Contains(xs.String(), "submittedBy") || !strings.Contains(xs.String(), "JC-2026&lt;1&gt;") {
		t.Errorf("public XML (JSON has %d events):\n%s", len(jd.Body.EventList), xs.Bytes())
	}
}

// TestEPCISXMLPages: a batch of more events than a page is written whole,
// in order, a page at a time; a batch that does not exist, or that the
// caller may not see, writes nothing.
func TestEPCISXMLPages(t *testing.T) {
	s, m, ctx := xmlWorld(t, 11)
	haw := m.batches[0].GTIN
	at := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	n := MaxEPCISPage + 5
	for i := range n {
		m.nextID++
		m.events[fmt.Sprint("account:11\x00", i)] = &Event{ID: m.nextID, SourceKey: "account:11", EventID: fmt.Sprint(i), Type: EventSigned,
			GTIN: haw, Batch: "H1", At: at.Add(time.Duration(i/2) * time.Minute), BizStep: "receiving", RecordedAt: at}
	}
	var buf bytes.Buffer
	if err := s.WriteEPCISXML(ctx, &buf, haw, "H1", false); err != nil {
		t.Fatal(err)
	}
	evs := parseXML(t, buf.Bytes()).kid("EPCISBody").kid("EventList").kids
	if len(evs) != n || m.pages != 2 {
		t.Fatalf("%d events in %d pages, want %d in 2", len(evs), m.pages, n)
	}
	for i, e := range evs {
		if e.kid("eventID").text != fmt.Sprint("urn:ecredit:trace-event:", i+1) {
			t.Fatalf("event %d is %s", i, e.kid("eventID").text)
		}
	}

	buf.Reset()
	if err := s.WriteEPCISXML(ctx, &buf, haw, "H9", false); !errs.Is(err, errs.NotFound) || buf.Len() != 0 {
		t.Errorf("an unknown batch: %v, %d bytes", err, buf.Len())
	}
	if err := s.WriteEPCISXML(context.Background(), &buf, haw, "H1", false); !errs.Is(err, errs.Unauthorized) || buf.Len() != 0 {
		t.Errorf("the public, every event: %v, %d bytes", err, buf.Len())
	}
	// A writer that fails: the error comes back.
	if err := s.WriteEPCISXML(ctx, failWriter{}, haw, "H1", false); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("a failing writer: %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
