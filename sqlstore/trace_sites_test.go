package sqlstore_test

import (
	"fmt"
	"strings"
	"testing"

	"ecredit/errs"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trace"
)

// TestTraceSites: a subject registers the GS1 locations it runs (by GLN or
// as events carry them) and renames them; a bad request is refused whole,
// each error naming its input; another subject may not take or rename a
// site, a department may; and trace events whose read point or business
// location is a registered site show it by name, to the public too.
func TestTraceSites(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w, haw, sug, cake := transformCity(t, db)
		line := gtin13(t, "690100000009")    // the producer's production line
		dockGLN := gtin13(t, "690100000001") // urn:epc:id:sgln:6901000.00001.* names this GLN
		const dock = "urn:epc:id:sgln:6901000.00001.Dock-3"
		res := func(rs []trace.SiteResult) string {
			var s []string
			for _, r := range rs {
				s = append(s, r.Status)
			}
			return strings.Join(s, " ")
		}
		audits := auditCount(t, db)
		rs, err := w.svc.RegisterSites(w.produce, []trace.SiteInput{
			{GLN: line, Name: "一号生产线", Region: "130821"},
			{Location: dock, Name: "成品库三号门"}})
		if err != nil || res(rs) != "created created" || rs[1].GLN != dockGLN || rs[1].Extension != "Dock-3" ||
			rs[1].Link != "https://id.gs1.org/414/"+dockGLN+"/254/Dock-3" {
			t.Fatalf("register: %+v %v", rs, err)
		}
		// The same again is unchanged; a new name is an update, by GLN or
		// by Digital Link alike.
		rs, err = w.svc.RegisterSites(w.produce, []trace.SiteInput{
			{GLN: line, Name: "一号生产线", Region: "130821"},
			{Location: "https://id.gs1.org/414/" + dockGLN + "/254/Dock-3", Name: "成品库 3 号门"}})
		if err != nil || res(rs) != "unchanged updated" {
			t.Fatalf("again: %+v %v", rs, err)
		}
		// One audit entry a request that changed anything; none for one
		// that changed nothing.
		if _, err := w.svc.RegisterSites(w.produce, []trace.SiteInput{{GLN: line, Name: "一号生产线", Region: "130821"}}); err != nil || auditCount(t, db) != audits+2 {
			t.Fatalf("audit entries: %d, want %d; %v", auditCount(t, db), audits+2, err)
		}

		// A bad request is refused whole, each error naming its input.
		bad := []trace.SiteInput{
			{GLN: line[:12] + string("0123456789"[(int(line[12]-'0')+1)%10]), Name: "校验位错"},
			{GLN: line, Location: dock, Name: "两个都填"},
			{Location: "urn:epc:id:sgln:6901000.00002.0"},
			{GLN: gtin13(t, "690100000010"), Name: "区划错", Region: "999999"},
			{GLN: gtin13(t, "690100000011"), Name: strings.Repeat("长", trace.MaxSiteName+1)},
			{GLN: gtin13(t, "690100000012"), Extension: "a b", Name: "扩展错"},
			{GLN: gtin13(t, "690100000010"), Name: "与第 4 个重复"},
			{Name: "无地点"},
		}
		_, err = w.svc.RegisterSites(w.produce, bad)
		var fields []string
		for _, e := range errs.All(err) {
			fields = append(fields, e.Field)
		}
		if want := "sites[0].gln sites[1].location sites[2].name sites[3].region sites[4].name sites[5].extension sites[6].gln sites[7].gln"; strings.Join(fields, " ") != want {
			t.Fatalf("bad request: %v\nfields %v\nwant   %s", err, fields, want)
		}
		if sub, sites, err := w.svc.Sites(w.public, w.producer.CreditCode); err != nil || len(sites) != 2 || sites[0].Name != "成品库 3 号门" ||
			sites[1].Name != "一号生产线" || sites[1].RegionName == "" || sites[1].Subject != nil || sub == nil || sub.Name != w.producer.Name {
			t.Fatalf("sites after the bad request: %+v %v", sites, err)
		}

		// Another subject may neither rename the site nor register one for
		// the producer; an account of no subject must name one; the
		// public may not register.
		if _, err := w.svc.RegisterSites(w.platformA, []trace.SiteInput{{GLN: line, Name: "抢注"}}); !errs.Is(err, errs.Forbidden) || errs.FieldOf(err) != "sites[0].gln" {
			t.Fatalf("another subject's site: %v", err)
		}
		if _, err := w.svc.RegisterSites(w.platformA, []trace.SiteInput{{GLN: gtin13(t, "690100000013"), SubjectCode: w.producer.CreditCode, Name: "代登"}}); !errs.Is(err, errs.Forbidden) ||
			errs.FieldOf(err) != "sites[0].subject_code" {
			t.Fatalf("for another subject: %v", err)
		}
		if _, err := w.svc.RegisterSites(w.logistics, []trace.SiteInput{{GLN: gtin13(t, "690100000014"), Name: "无主体"}}); errs.FieldOf(err) != "sites[0].subject_code" {
			t.Fatalf("no subject: %v", err)
		}
		if _, err := w.svc.RegisterSites(w.public, []trace.SiteInput{{GLN: gtin13(t, "690100000015"), Name: "匿名"}}); !errs.Is(err, errs.Unauthorized) {
			t.Fatalf("public: %v", err)
		}
		if _, err := w.svc.RegisterSites(w.produce, make([]trace.SiteInput, trace.MaxSites+1)); !errs.Is(err, errs.TooLarge) {
			t.Fatalf("too many: %v", err)
		}
		// A department registers a site for a seller and moves one.
		other := gtin13(t, "690100000016")
		if rs, err := w.svc.RegisterSites(w.dept, []trace.SiteInput{{GLN: other, SubjectCode: w.seller1.CreditCode, Name: "门店仓库", Region: "130802"}}); err != nil || res(rs) != "created" {
			t.Fatalf("department: %+v %v", rs, err)
		}
		if _, sites, err := w.svc.Sites(w.public, w.seller1.CreditCode); err != nil || len(sites) != 1 || sites[0].GLN != other {
			t.Fatalf("seller's sites: %+v %v", sites, err)
		}

		// Events at registered sites show them by name; an unregistered
		// location shows as sent.
		lines, err := w.svc.CaptureEPCIS(w.dept, epcisDoc(t,
			map[string]any{"type": "ObjectEvent", "eventID": "urn:uuid:site-1", "eventTime": "2026-02-10T09:00:00+08:00", "eventTimeZoneOffset": "+08:00",
				"action": "OBSERVE", "bizStep": "inspecting", "disposition": "conformant", "certificationInfo": "JC2026-0210",
				"readPoint": map[string]string{"id": dock}, "bizLocation": map[string]string{"id": "https://id.gs1.org/414/" + line},
				"quantityList": []any{qe(trace.BatchLink(cake, "C0202"), 0, "")}},
			map[string]any{"type": "ObjectEvent", "eventID": "urn:uuid:site-2", "eventTime": "2026-02-11T09:00:00+08:00", "eventTimeZoneOffset": "+08:00",
				"action": "OBSERVE", "bizStep": "inspecting", "disposition": "conformant", "certificationInfo": "JC2026-0211",
				"readPoint":    map[string]string{"id": "urn:epc:id:sgln:6901000.00001.Dock-4"},
				"quantityList": []any{qe(trace.BatchLink(cake, "C0202"), 0, "")}}))
		if err != nil || len(lines) != 2 || lines[0].Status != trace.ResultCreated || lines[1].Status != trace.ResultCreated {
			t.Fatalf("capture: %+v %v", lines, err)
		}
		named := func(vs []trace.EventView) string {
			var s []string
			for _, v := range vs {
				if v.ReadPoint == "" {
					continue
				}
				one := func(sv *trace.SiteView) string {
					if sv == nil {
						return "-"
					}
					return sv.Label()
				}
				s = append(s, one(v.ReadPointSite)+" / "+one(v.BizLocationSite))
			}
			return strings.Join(s, "; ")
		}
		want := fmt.Sprintf("成品库 3 号门（%s） / 一号生产线（%s，", w.producer.Name, w.producer.Name)
		page, err := w.svc.Events(w.dept, cake, "C0202", false, trace.EventCursor{}, 100)
		if err != nil || !strings.HasPrefix(named(page.Events), want) || !strings.HasSuffix(named(page.Events), "; - / -") {
			t.Fatalf("events: %q %v", named(page.Events), err)
		}
		pub, err := w.svc.Public(w.public, cake, "C0202")
		if err != nil || !strings.HasPrefix(named(pub.Timeline), want) {
			t.Fatalf("public trace: %q %v", named(pub.Timeline), err)
		}

		// Lineage: C0203 is made of two lots, each inspected, one at a
		// registered site and one at the registered dock; the upstream
		// nodes' inspections name both (one lookup for every node).
		inspect := func(id, gtin, lot, readPoint string) map[string]any {
			return map[string]any{"type": "ObjectEvent", "eventID": id, "eventTime": "2026-01-20T09:00:00+08:00", "eventTimeZoneOffset": "+08:00",
				"action": "OBSERVE", "bizStep": "inspecting", "disposition": "conformant", "certificationInfo": "JC-" + lot,
				"readPoint": map[string]string{"id": readPoint}, "quantityList": []any{qe(trace.BatchLink(gtin, lot), 0, "")}}
		}
		lines, err = w.svc.CaptureEPCIS(w.dept, epcisDoc(t,
			transformEvent("urn:uuid:site-tf", map[string]any{"eventTime": "2026-02-03T09:00:00+08:00",
				"inputQuantityList":  []any{qe(trace.BatchLink(haw, "H0920"), 0, ""), qe(trace.BatchLink(sug, "S0105"), 0, "")},
				"outputQuantityList": []any{qe(trace.BatchLink(cake, "C0203"), 0, "")}}),
			inspect("urn:uuid:site-3", haw, "H0920", dock),
			inspect("urn:uuid:site-4", sug, "S0105", "https://id.gs1.org/414/"+line)))
		if err != nil || len(lines) != 3 {
			t.Fatalf("lineage capture: %+v %v", lines, err)
		}
		for _, l := range lines {
			if l.Status != trace.ResultCreated {
				t.Fatalf("lineage capture: %+v", l)
			}
		}
		pub, err = w.svc.Public(w.public, cake, "C0203")
		if err != nil || pub.Lineage == nil || len(pub.Lineage.Upstream) != 2 {
			t.Fatalf("lineage: %+v %v", pub.Lineage, err)
		}
		got := map[string]string{}
		for _, n := range pub.Lineage.Upstream {
			got[n.Batch] = named(n.Inspections)
		}
		if got["H0920"] != fmt.Sprintf("成品库 3 号门（%s） / -", w.producer.Name) || !strings.HasPrefix(got["S0105"], "一号生产线（"+w.producer.Name+"，") {
			t.Fatalf("lineage inspections: %q", got)
		}
	})
}
