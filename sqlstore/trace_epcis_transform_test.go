package sqlstore_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"ecredit/errs"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trace"
)

// transformCity is a trace world with a raw lot of hawthorn (a farm's),
// one of sugar and three batches of cake (the world's producer's), made
// from them: it returns the world and the three GTINs.
func transformCity(t *testing.T, db *sqlstore.DB) (w *traceWorld, haw, sug, cake string) {
	t.Helper()
	w = newTraceWorld(t, db)
	farm := mustCreate(t, db, org(t, 530, registry.KindMerchant, "兴隆县山楂种植专业合作社", "130822"))
	product := func(body, name, category string, producer *registry.Subject) string {
		return w.product(t, body, name, category, producer)
	}
	haw = product("690100000001", "鲜山楂（统货）", "agricultural", farm)
	sug = product("690100000002", "白砂糖", "food", farm)
	cake = product("690100000003", "山楂糕", "food", w.producer)
	for _, b := range []trace.BatchInput{{GTIN: haw, Batch: "H0920", ProducedOn: "2025-09-20"}, {GTIN: sug, Batch: "S0105", ProducedOn: "2026-01-05"},
		{GTIN: cake, Batch: "C0201", ProducedOn: "2026-02-01"}, {GTIN: cake, Batch: "C0202", ProducedOn: "2026-02-01"},
		{GTIN: cake, Batch: "C0203", ProducedOn: "2026-02-03"}} {
		if _, _, err := w.svc.CreateBatch(w.dept, b); err != nil {
			t.Fatal(err)
		}
	}
	return w, haw, sug, cake
}

// epcisDoc is an EPCIS 2.0 JSON-LD document of the events.
func epcisDoc(t *testing.T, events ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"@context": []any{trace.EPCISContext, map[string]string{"ecredit": trace.EPCISNamespace}},
		"type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-02-28T12:00:00+08:00", "epcisBody": map[string]any{"eventList": events}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// transformEvent is a TransformationEvent with the fields given over a
// head (its eventID, eventTime, offset).
func transformEvent(id string, fields map[string]any) map[string]any {
	e := map[string]any{"type": "TransformationEvent", "eventID": id, "eventTime": "2026-02-01T08:00:00+08:00", "eventTimeZoneOffset": "+08:00"}
	for k, v := range fields {
		e[k] = v
	}
	return e
}

// qe is a quantity element; quantity 0 is left out.
func qe(class string, quantity float64, uom string) map[string]any {
	m := map[string]any{"epcClass": class}
	if quantity != 0 {
		m["quantity"] = quantity
	}
	if uom != "" {
		m["uom"] = uom
	}
	return m
}

// linksOf reads a batch's inputs as "gtin/batch quantity uom".
func linksOf(t *testing.T, db *sqlstore.DB, gtin, batch string) []string {
	t.Helper()
	b, err := db.GetBatch(ctx, gtin, batch)
	if err != nil {
		t.Fatal(err)
	}
	links, err := db.Lineage(ctx, []int64{b.ID}, true)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, k := range links {
		out = append(out, fmt.Sprintf("%s/%s %g %s", k.Other.GTIN, k.Other.Batch, k.Quantity, k.UOM))
	}
	return out
}

// TestTraceEPCISTransform: a captured TransformationEvent records the
// inputs of each output batch (with AddInputs' checks, access and
// conflicts, in EPCIS terms) and a produced event of it; sent again it is
// unchanged; a bad event fails alone. The batch's EPCIS export gives its
// produced event as the TransformationEvent of its inputs (on the first
// page only), and what is exported is captured by another store with the
// same inputs and the one produced event.
func TestTraceEPCISTransform(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w, haw, sug, cake := transformCity(t, db)
		lgtin := func(g, lot string) string { // GS1 company prefix 6901000
			return "urn:epc:class:lgtin:" + g[:7] + ".0" + g[7:12] + "." + lot
		}
		instance := func(g, lot string, serial int) string {
			return fmt.Sprintf("https://id.gs1.org/01/0%s/10/%s/21/%d", g, lot, serial)
		}
		good := transformEvent("urn:uuid:tf-1", map[string]any{
			"bizStep":            "urn:epcglobal:cbv:bizstep:commissioning",
			"inputQuantityList":  []any{qe(lgtin(haw, "H0920"), 1200, "KGM")},
			"inputEPCList":       []string{instance(sug, "S0105", 1), instance(sug, "S0105", 2), instance(sug, "S0105", 3)},
			"outputQuantityList": []any{qe(lgtin(cake, "C0201"), 400, "")},
			"outputEPCList":      []string{instance(cake, "C0202", 1), instance(cake, "C0202", 2)},
			"readPoint":          map[string]string{"id": "urn:epc:id:sgln:6901000.00001.0"},
			"ecredit:note":       "蒸制、成型",
		})
		inspected := map[string]any{"type": "ObjectEvent", "eventID": "urn:uuid:jc-1", "eventTime": "2026-02-10T09:00:00+08:00", "eventTimeZoneOffset": "+08:00",
			"action": "OBSERVE", "bizStep": "inspecting", "disposition": "conformant", "certificationInfo": "JC2026-0210", "quantityList": []any{qe(trace.BatchLink(cake, "C0201"), 0, "")}}
		doc := epcisDoc(t, good,
			transformEvent("urn:uuid:tf-2", map[string]any{"inputQuantityList": []any{qe(lgtin(haw, "H0920"), 5, "KGM")},
				"outputQuantityList": []any{qe(lgtin(cake, "C0999"), 0, "")}}),
			transformEvent("urn:uuid:tf-3", map[string]any{"inputQuantityList": []any{qe(lgtin(haw, "H0920"), 5, "LBR")},
				"outputQuantityList": []any{qe(lgtin(cake, "C0203"), 0, "")}, "eventTime": "2026-02-03T09:00:00+08:00"}),
			transformEvent("urn:uuid:tf-4", map[string]any{"outputQuantityList": []any{qe(lgtin(cake, "C0203"), 0, "")}}),
			inspected)
		type line struct {
			line          int
			eventID       string
			status, field string
		}
		want := []line{
			{1, "urn:uuid:tf-1#" + cake + "/C0201", trace.ResultCreated, ""},
			{1, "urn:uuid:tf-1#" + cake + "/C0202", trace.ResultCreated, ""},
			{2, "urn:uuid:tf-2", trace.ResultError, "outputQuantityList[0].epcClass"},
			{3, "urn:uuid:tf-3", trace.ResultError, "inputQuantityList[0].uom"},
			{4, "urn:uuid:tf-4", trace.ResultError, "inputQuantityList"},
			{5, "urn:uuid:jc-1", trace.ResultCreated, ""},
		}
		var ids []int64
		for round := range 2 {
			lines, err := w.svc.CaptureEPCIS(w.dept, doc)
			if err != nil || len(lines) != len(want) {
				t.Fatalf("round %d: %v %+v", round, err, lines)
			}
			for i, x := range want {
				if round == 1 && x.status == trace.ResultCreated {
					x.status = trace.ResultUnchanged // sent again: nothing new
				}
				l := lines[i]
				if l.Line != x.line || l.EventID != x.eventID || l.Status != x.status || errs.FieldOf(l.Err) != x.field || (x.field != "" && errs.MessageOf(l.Err) == "") {
					t.Errorf("round %d, line %d: %+v %v, want %+v", round, i, l, l.Err, x)
				}
				if round == 0 {
					ids = append(ids, l.ID)
				} else if l.ID != ids[i] {
					t.Errorf("line %d sent again: id %d, was %d", i, l.ID, ids[i])
				}
			}
			// The inputs of both outputs: the class with its quantity, the
			// three instances of one lot as one input of 3.
			wantIn := fmt.Sprint([]string{haw + "/H0920 1200 KGM", sug + "/S0105 3 "})
			for _, b := range []string{"C0201", "C0202"} {
				if got := fmt.Sprint(linksOf(t, db, cake, b)); got != wantIn {
					t.Errorf("round %d: inputs of %s: %s, want %s", round, b, got, wantIn)
				}
			}
			if got := linksOf(t, db, cake, "C0203"); len(got) != 0 {
				t.Errorf("round %d: a refused event's inputs stored: %v", round, got)
			}
			// The produced events, as a commissioning ObjectEvent gives them.
			for _, c := range []struct {
				batch string
				n     int64
			}{{"C0201", 400}, {"C0202", 2}} {
				evs, err := db.BatchEvents(ctx, cake, c.batch, []trace.EventType{trace.EventProduced}, trace.EventCursor{}, 10)
				if err != nil || len(evs) != 1 {
					t.Fatalf("round %d: produced events of %s: %v %d", round, c.batch, err, len(evs))
				}
				e := evs[0]
				if e.EventID != "urn:uuid:tf-1#"+cake+"/"+c.batch || e.SourceKey != "account:11" || e.BizStep != "commissioning" || e.Disposition != "active" ||
					e.Quantity != c.n || e.Note != "蒸制、成型" || e.At.Format("2006-01-02T15:04:05Z07:00") != "2026-02-01T00:00:00Z" {
					t.Errorf("round %d: produced event of %s: %+v", round, c.batch, e)
				}
			}
		}

		// The same inputs with another quantity: a conflict named in EPCIS
		// terms, and no produced event; a platform may not record inputs;
		// the producer may.
		other := transformEvent("urn:uuid:tf-5", map[string]any{"inputQuantityList": []any{qe(lgtin(haw, "H0920"), 1300, "KGM")},
			"outputQuantityList": []any{qe(trace.BatchLink(cake, "C0201"), 0, "")}})
		lines, err := w.svc.CaptureEPCIS(w.dept, epcisDoc(t, other))
		if err != nil || len(lines) != 1 || !errs.Is(lines[0].Err, errs.Conflict) || errs.FieldOf(lines[0].Err) != "inputQuantityList[0].quantity" {
			t.Fatalf("another quantity: %v %+v", err, lines)
		}
		if n, err := db.CountBatchEvents(ctx, cake, "C0201"); err != nil || n[trace.EventProduced] != 1 {
			t.Errorf("produced events after a conflict: %v %v", err, n)
		}
		c0203 := transformEvent("urn:uuid:tf-6", map[string]any{"inputQuantityList": []any{qe(trace.BatchLink(haw, "H0920"), 10, "KGM")},
			"outputQuantityList": []any{qe(trace.BatchLink(cake, "C0203"), 0, "")}, "eventTime": "2026-02-03T09:00:00+08:00"})
		lines, err = w.svc.CaptureEPCIS(w.platformA, epcisDoc(t, c0203))
		if err != nil || len(lines) != 1 || !errs.Is(lines[0].Err, errs.Forbidden) || len(linksOf(t, db, cake, "C0203")) != 0 {
			t.Fatalf("a platform records inputs: %v %+v", err, lines)
		}
		lines, err = w.svc.CaptureEPCIS(w.produce, epcisDoc(t, c0203))
		if err != nil || len(lines) != 1 || lines[0].Status != trace.ResultCreated || len(linksOf(t, db, cake, "C0203")) != 1 {
			t.Fatalf("the producer records inputs: %v %+v", err, lines)
		}

		// The export: the batch's produced event goes out as the
		// TransformationEvent of its inputs (the same event: id, time,
		// quantity, note), on the first page only; a batch with inputs
		// and no produced event starts with a TransformationEvent of its
		// own; a batch without inputs has none.
		doc1, next, err := w.svc.ExportEPCIS(w.dept, cake, "C0201", false, trace.EventCursor{}, 1)
		if err != nil || next == nil || len(doc1.Body.EventList) != 1 {
			t.Fatalf("first page: %v %v %+v", err, next, doc1)
		}
		tf := doc1.Body.EventList[0]
		if tf.Type != "TransformationEvent" || !strings.HasPrefix(tf.EventID, "urn:ecredit:trace-event:") || tf.EventTime != "2026-02-01T08:00:00+08:00" ||
			tf.EventTimeZoneOffset != "+08:00" || tf.Action != "" || len(tf.QuantityList) != 0 || tf.EventType != trace.EventProduced || tf.Note != "蒸制、成型" ||
			len(tf.InputQuantityList) != 2 || tf.InputQuantityList[0] != (trace.EPCISQuantity{EPCClass: trace.BatchLink(haw, "H0920"), Quantity: 1200, UOM: "KGM"}) ||
			tf.InputQuantityList[1] != (trace.EPCISQuantity{EPCClass: trace.BatchLink(sug, "S0105"), Quantity: 3}) ||
			len(tf.OutputQuantityList) != 1 || tf.OutputQuantityList[0] != (trace.EPCISQuantity{EPCClass: trace.BatchLink(cake, "C0201"), Quantity: 400}) {
			raw, _ := json.Marshal(doc1.Body.EventList)
			t.Errorf("first page: %s", raw)
		}
		doc2, _, err := w.svc.ExportEPCIS(w.dept, cake, "C0201", false, *next, 1)
		if err != nil || len(doc2.Body.EventList) != 1 || doc2.Body.EventList[0].EventType != trace.EventInspected || doc2.Body.EventList[0].Type != "ObjectEvent" {
			t.Errorf("second page: %v %+v", err, doc2)
		}
		pub, _, err := w.svc.ExportEPCIS(w.public, cake, "C0201", true, trace.EventCursor{}, 100)
		if err != nil || len(pub.Body.EventList) != 2 || pub.Body.EventList[0].EventID != tf.EventID || pub.Body.EventList[0].Type != "TransformationEvent" ||
			pub.Body.EventList[0].SubmittedBy != "" {
			t.Errorf("public export: %v %+v", err, pub)
		}
		raw, _, err := w.svc.ExportEPCIS(w.dept, haw, "H0920", false, trace.EventCursor{}, 100)
		if err != nil || len(raw.Body.EventList) != 0 {
			t.Errorf("a batch without inputs or events: %v %+v", err, raw)
		}
		c4, _, err := w.svc.CreateBatch(w.dept, trace.BatchInput{GTIN: cake, Batch: "C0204", ProducedOn: "2026-02-04",
			Inputs: []trace.InputRef{{GTIN: haw, Batch: "H0920", Quantity: 8, UOM: "KGM"}}})
		if err != nil {
			t.Fatal(err)
		}
		own, _, err := w.svc.ExportEPCIS(w.dept, cake, "C0204", false, trace.EventCursor{}, 100)
		if err != nil || len(own.Body.EventList) != 1 {
			t.Fatalf("inputs without a produced event: %v %+v", err, own)
		}
		if x := own.Body.EventList[0]; x.Type != "TransformationEvent" || x.EventID != fmt.Sprintf("urn:ecredit:batch-inputs:%d", c4.ID) ||
			x.EventTime != "2026-02-04T00:00:00+08:00" || x.Action != "" || x.EventType != trace.EventProduced ||
			len(x.InputQuantityList) != 1 || x.InputQuantityList[0] != (trace.EPCISQuantity{EPCClass: trace.BatchLink(haw, "H0920"), Quantity: 8, UOM: "KGM"}) ||
			len(x.OutputQuantityList) != 1 || x.OutputQuantityList[0] != (trace.EPCISQuantity{EPCClass: trace.BatchLink(cake, "C0204")}) {
			t.Errorf("inputs without a produced event: %+v", x)
		}
		var buf bytes.Buffer
		if err := w.svc.WriteEPCIS(w.dept, &buf, cake, "C0201", false); err != nil {
			t.Fatal(err)
		}
		var whole trace.EPCISDocument
		if err := json.Unmarshal(buf.Bytes(), &whole); err != nil || len(whole.Body.EventList) != 2 || whole.Body.EventList[0].EventID != tf.EventID ||
			!strings.Contains(buf.String(), `"inputQuantityList":[{"epcClass":"`+trace.BatchLink(haw, "H0920")+`","quantity":1200,"uom":"KGM"}`) ||
			strings.Count(buf.String(), `"action"`) != 1 {
			t.Fatalf("written document: %v %s", err, buf.String())
		}

		// Round trip: another store with the same products and batches
		// captures the download: the same inputs (and events).
		db2 := storetest.Open(t, db.Engine())
		w2, _, _, _ := transformCity(t, db2)
		for round, st := range []string{trace.ResultCreated, trace.ResultUnchanged} {
			lines, err := w2.svc.CaptureEPCIS(w2.dept, buf.Bytes())
			if err != nil || len(lines) != 2 {
				t.Fatalf("round trip %d: %v %+v", round, err, lines)
			}
			for _, l := range lines {
				if l.Status != st {
					t.Errorf("round trip %d: %+v %v", round, l, l.Err)
				}
			}
			if got, want := fmt.Sprint(linksOf(t, db2, cake, "C0201")), fmt.Sprint(linksOf(t, db, cake, "C0201")); got != want {
				t.Errorf("round trip %d: inputs %s, want %s", round, got, want)
			}
		}
		n, err := db2.CountBatchEvents(ctx, cake, "C0201")
		if err != nil || n[trace.EventInspected] != 1 || n[trace.EventProduced] != 1 { // one: the TransformationEvent is it
			t.Errorf("round trip events: %v %v", err, n)
		}
	})
}

// TestTraceEPCISTransformAtomic: a TransformationEvent output's inputs
// and its produced event are one write. The same source's event of the
// same id with other content, stored between the output's checks and its
// write (as a concurrent request would), makes that write fail whole:
// checked again, the output is a conflict on eventID and none of its
// inputs is recorded. Without the race the same output is stored with its
// inputs.
func TestTraceEPCISTransformAtomic(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w, haw, _, cake := transformCity(t, db)
		rs := &raceStore{DB: db}
		svc := &trace.Service{Store: rs, Subjects: db, Records: db, Recorder: w.recs, Clock: w.clk}
		tf := func(id string) []byte {
			return epcisDoc(t, transformEvent(id, map[string]any{"inputQuantityList": []any{qe(trace.BatchLink(haw, "H0920"), 10, "KGM")},
				"outputQuantityList": []any{qe(trace.BatchLink(cake, "C0203"), 0, "")}, "eventTime": "2026-02-03T09:00:00+08:00"}))
		}
		rs.between = func() {
			inspected := map[string]any{"type": "ObjectEvent", "eventID": "urn:uuid:tf-race", "eventTime": "2026-02-10T09:00:00+08:00",
				"eventTimeZoneOffset": "+08:00", "action": "OBSERVE", "bizStep": "inspecting", "disposition": "conformant", "certificationInfo": "JC2026-0210",
				"quantityList": []any{qe(trace.BatchLink(cake, "C0203"), 0, "")}}
			if lines, err := w.svc.CaptureEPCIS(w.dept, epcisDoc(t, inspected)); err != nil || lines[0].Status != trace.ResultCreated {
				t.Errorf("the racing event: %v %+v", err, lines)
			}
		}
		lines, err := svc.CaptureEPCIS(w.dept, tf("urn:uuid:tf-race"))
		if err != nil || len(lines) != 1 || !errs.Is(lines[0].Err, errs.Conflict) || errs.FieldOf(lines[0].Err) != "eventID" {
			t.Fatalf("raced: %v %+v", err, lines)
		}
		if got := linksOf(t, db, cake, "C0203"); len(got) != 0 {
			t.Fatalf("inputs of a refused event: %v", got)
		}
		if n, err := db.CountBatchEvents(ctx, cake, "C0203"); err != nil || n[trace.EventProduced] != 0 || n[trace.EventInspected] != 1 {
			t.Fatalf("events of C0203: %v %v", n, err)
		}
		lines, err = svc.CaptureEPCIS(w.dept, tf("urn:uuid:tf-calm"))
		if err != nil || len(lines) != 1 || lines[0].Status != trace.ResultCreated || lines[0].ID == 0 {
			t.Fatalf("not raced: %v %+v", err, lines)
		}
		if got := fmt.Sprint(linksOf(t, db, cake, "C0203")); got != "["+haw+"/H0920 10 KGM]" {
			t.Fatalf("inputs: %s", got)
		}
	})
}
