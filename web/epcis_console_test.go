package web

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"ecredit/account"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trace"
)

// TestConsoleEPCIS: a department imports a testing centre's EPCIS 2.0
// file (a good inspection, a bad one), sees the events on the batch's
// page, downloads them all as EPCIS, and the public page links its own
// export. Broken files are refused whole, naming why.
func TestConsoleEPCIS(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e, svc := traceEnv(t, db)
		g := foodBatch(t, svc, e, "690111144445", "承德山楂汁", "E7")
		dept := e.staff(account.RoleDepartment, "samr1")
		_, body := dept.get("/console/trace")
		if !strings.Contains(body, `action="/console/trace/epcis"`) || !strings.Contains(body, `enctype="multipart/form-data"`) {
			t.Fatalf("no EPCIS import form:\n%s", body)
		}
		csrf := csrfOf(t, body)

		ev := func(id, fields string) string {
			return `{"type":"ObjectEvent","eventID":"` + id + `","eventTime":"2025-02-02T10:00:00+08:00","eventTimeZoneOffset":"+08:00","action":"OBSERVE",` + fields + `}`
		}
		doc := `{"@context":["` + trace.EPCISContext + `"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2025-02-02T12:00:00+08:00","epcisBody":{"eventList":[` +
			ev("urn:uuid:jc-1", `"bizStep":"inspecting","disposition":"conformant","quantityList":[{"epcClass":"`+trace.BatchLink(g, "E7")+`"}],"certificationInfo":"CDJC2025-0303","ecredit:region":"130802"`) + "," +
			ev("urn:uuid:jc-2", `"bizStep":"inspecting","disposition":"conformant","quantityList":[{"epcClass":"`+trace.BatchLink(g, "NOPE")+`"}],"certificationInfo":"CDJC2025-0304"`) + `]}}`
		st, body := dept.postFile("/console/trace/epcis", map[string]string{"csrf": csrf}, "jc.jsonld", []byte(doc))
		if st != 200 || !strings.Contains(body, "新增 <strong>1</strong> 条") || !strings.Contains(body, "失败 <strong>1</strong> 条") ||
			!strings.Contains(body, "urn:uuid:jc-2") || !strings.Contains(body, "未登记") {
			t.Fatalf("import: %d\n%s", st, body)
		}
		if st, body = dept.postFile("/console/trace/epcis", map[string]string{"csrf": csrf}, "jc.jsonld", []byte(doc)); st != 200 || !strings.Contains(body, "已存在未变 <strong>1</strong> 条") {
			t.Errorf("import again: %d", st)
		}
		for name, c := range map[string]struct {
			file, content string
			status        int
			want          string
		}{
			"no file":   {"", "", 400, "请选择 EPCIS 文件"},
			"not JSON":  {"x.json", "id,time\n1,2", 400, "应为 EPCIS 文档"},
			"EPCIS 1.2": {"x.json", `{"type":"EPCISDocument","schemaVersion":"1.2","epcisBody":{"eventList":[]}}`, 400, "schemaVersion"},
		} {
			if st, body := dept.postFile("/console/trace/epcis", map[string]string{"csrf": csrf}, c.file, []byte(c.content)); st != c.status || !strings.Contains(body, c.want) {
				t.Errorf("%s: %d, want %d naming %q", name, st, c.status, c.want)
			}
		}
		if st, _ := dept.postFile("/console/trace/epcis", nil, "jc.jsonld", []byte(doc)); st != http.StatusForbidden {
			t.Errorf("without csrf: %d", st)
		}

		// The batch's page lists the event; the download holds it.
		page := "/console/trace/" + g + "/E7"
		if st, body = dept.get(page); st != 200 || !strings.Contains(body, "CDJC2025-0303") || !strings.Contains(body, "检验检测") ||
			!strings.Contains(body, `href="`+page+`/epcis"`) || !strings.Contains(body, `href="`+page+`/epcis?format=xml"`) {
			t.Fatalf("batch page: %d\n%s", st, body)
		}
		req, _ := http.NewRequest(http.MethodGet, dept.base+page+"/epcis", nil)
		st, body, resp := dept.do(req)
		var got trace.EPCISDocument
		if err := json.Unmarshal([]byte(body), &got); st != 200 || err != nil || len(got.Body.EventList) != 1 || got.Body.EventList[0].Ref != "CDJC2025-0303" ||
			!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/ld+json") {
			t.Errorf("download: %d %v %s\n%s", st, err, resp.Header, body)
		}
		// The XML download, linked next to it, holds the same event.
		req, _ = http.NewRequest(http.MethodGet, dept.base+page+"/epcis?format=xml", nil)
		st, body, resp = dept.do(req)
		var x struct {
			XMLName       xml.Name
			SchemaVersion string `xml:"schemaVersion,attr"`
			Events        []struct {
				XMLName xml.Name
				EventID string `xml:"eventID"`
				Ref     string `xml:"urn:ecredit:epcis: ref"`
			} `xml:"EPCISBody>EventList>ObjectEvent"`
		}
		if err := xml.Unmarshal([]byte(body), &x); st != 200 || err != nil || x.XMLName.Space != trace.EPCISXMLNamespace || x.SchemaVersion != "2.0" ||
			len(x.Events) != 1 || x.Events[0].Ref != "CDJC2025-0303" || x.Events[0].EventID != got.Body.EventList[0].EventID ||
			resp.Header.Get("Content-Type") != "application/xml; charset=utf-8" || !strings.Contains(resp.Header.Get("Content-Disposition"), `.xml"`) {
			t.Errorf("XML download: %d %v %s\n%s", st, err, resp.Header, body)
		}
		if st, body := dept.get(page + "/epcis?format=pdf"); st != 400 || !strings.Contains(body, "format") {
			t.Errorf("download in an unknown format: %d", st)
		}
		if st, _ := dept.get("/console/trace/" + g + "/NOPE/epcis"); st != 404 {
			t.Errorf("download of an unknown batch: %d", st)
		}
		if st, _ := dept.get("/console/trace/" + g + "/NOPE/epcis?format=xml"); st != 404 {
			t.Errorf("XML download of an unknown batch: %d", st)
		}
		pub := e.client()
		if st, body := pub.get("/trace/" + g + "/E7"); st != 200 || !strings.Contains(body, fmt.Sprintf(`href="/api/v1/public/trace/%s/E7/epcis"`, g)) ||
			!strings.Contains(body, fmt.Sprintf(`href="/api/v1/public/trace/%s/E7/epcis?format=xml"`, g)) {
			t.Errorf("public page: %d", st)
		}
	})
}
