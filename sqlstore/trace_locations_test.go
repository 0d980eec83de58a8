package sqlstore_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"ecredit/errs"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trace"
)

// TestTraceEventLocations: where an event happened (EPCIS readPoint and
// bizLocation) is captured from JSON-LD and XML, stored, shown and
// exported as it came; a bad location refuses its event naming the EPCIS
// field; the same event id again with another location is a conflict.
func TestTraceEventLocations(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w, _, _, cake := transformCity(t, db)
		const dock, shop = "urn:epc:id:sgln:6901000.00001.Dock-3", "https://id.gs1.org/414/6907654000018/254/S1"
		obs := func(id string, fields map[string]any) map[string]any {
			e := map[string]any{"type": "ObjectEvent", "eventID": id, "eventTime": "2026-02-10T09:00:00+08:00", "eventTimeZoneOffset": "+08:00",
				"action": "OBSERVE", "bizStep": "inspecting", "disposition": "conformant", "certificationInfo": "JC2026-0210",
				"quantityList": []any{qe(trace.BatchLink(cake, "C0202"), 0, "")}}
			for k, v := range fields {
				e[k] = v
			}
			return e
		}
		lines, err := w.svc.CaptureEPCIS(w.dept, epcisDoc(t,
			obs("urn:uuid:loc-1", map[string]any{"readPoint": map[string]string{"id": dock}, "bizLocation": map[string]string{"id": shop}}),
			obs("urn:uuid:loc-2", map[string]any{"readPoint": map[string]string{"id": "urn:epc:id:sgln:6901000.0001.0"}}),
			obs("urn:uuid:loc-3", map[string]any{"bizLocation": map[string]string{"id": "承德市双桥区仓库"}})))
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) != 3 || lines[0].Status != trace.ResultCreated || errs.FieldOf(lines[1].Err) != "readPoint.id" ||
			!strings.Contains(errs.MessageOf(lines[1].Err), "12 位") || errs.FieldOf(lines[2].Err) != "bizLocation.id" {
			t.Fatalf("lines %+v", lines)
		}

		// In XML (EPCIS 2.0), the readPoint alone.
		xmlDoc := `<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" creationDate="2026-02-28T12:00:00+08:00">
 <EPCISBody><EventList><ObjectEvent>
  <eventTime>2026-02-11T09:00:00+08:00</eventTime><eventTimeZoneOffset>+08:00</eventTimeZoneOffset><eventID>urn:uuid:loc-x</eventID>
  <epcList/><action>OBSERVE</action><bizStep>urn:epcglobal:cbv:bizstep:inspecting</bizStep><disposition>urn:epcglobal:cbv:disp:conformant</disposition>
  <readPoint><id>` + dock + `</id></readPoint>
  <quantityList><quantityElement><epcClass>` + trace.BatchLink(cake, "C0202") + `</epcClass></quantityElement></quantityList>
  <certificationInfo>JC2026-0211</certificationInfo>
 </ObjectEvent></EventList></EPCISBody>
</epcis:EPCISDocument>`
		if lines, err := w.svc.CaptureEPCIS(w.dept, []byte(xmlDoc)); err != nil || len(lines) != 1 || lines[0].Status != trace.ResultCreated {
			t.Fatalf("XML: %+v %v", lines, err)
		}

		// Stored and shown as they came (to the public too: a place of
		// business is no personal data).
		doc, _, err := w.svc.ExportEPCIS(w.public, cake, "C0202", true, trace.EventCursor{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, e := range doc.Body.EventList {
			if e.ReadPoint != nil || e.BizLocation != nil {
				loc := func(l *trace.EPCISLocation) string {
					if l == nil {
						return "-"
					}
					return l.ID
				}
				got[e.EventTime] = loc(e.ReadPoint) + " " + loc(e.BizLocation)
			}
		}
		if len(got) != 2 || got["2026-02-10T09:00:00+08:00"] != dock+" "+shop || got["2026-02-11T09:00:00+08:00"] != dock+" -" {
			t.Fatalf("exported locations %v", got)
		}
		var x bytes.Buffer
		if err := doc.WriteXML(&x); err != nil {
			t.Fatal(err)
		}
		if compact := regexp.MustCompile(`>\s+<`).ReplaceAllString(x.String(), "><"); !strings.Contains(compact, "<readPoint><id>"+dock+"</id></readPoint><bizLocation><id>"+shop+"</id></bizLocation>") {
			t.Fatalf("XML export lacks the locations:\n%s", x.String())
		}

		// An event stored without a location (as all were before 00026)
		// sent again with one: unchanged, and stored as it was.
		plain := obs("urn:uuid:loc-0", nil)
		if lines, err := w.svc.CaptureEPCIS(w.dept, epcisDoc(t, plain)); err != nil || lines[0].Status != trace.ResultCreated {
			t.Fatalf("plain: %+v %v", lines, err)
		}
		plain["readPoint"] = map[string]string{"id": dock}
		if lines, err := w.svc.CaptureEPCIS(w.dept, epcisDoc(t, plain)); err != nil || lines[0].Status != trace.ResultUnchanged {
			t.Fatalf("plain again, located: %+v %v", lines, err)
		}

		// The same event again: unchanged; with another location: refused.
		again := obs("urn:uuid:loc-1", map[string]any{"readPoint": map[string]string{"id": dock}, "bizLocation": map[string]string{"id": shop}})
		if lines, err := w.svc.CaptureEPCIS(w.dept, epcisDoc(t, again)); err != nil || lines[0].Status != trace.ResultUnchanged {
			t.Fatalf("again: %+v %v", lines, err)
		}
		again["bizLocation"] = map[string]string{"id": "urn:epc:id:sgln:6901000.00002.0"}
		if lines, err := w.svc.CaptureEPCIS(w.dept, epcisDoc(t, again)); err != nil || lines[0].Status != trace.ResultError || !errs.Is(lines[0].Err, errs.Conflict) {
			t.Fatalf("moved: %+v %v", lines, err)
		}
	})
}
