package e2e

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ecredit/trace"
)

func init() { register("console-epcis", flowConsoleEPCIS) }

// A testing centre's EPCIS 2.0 file through the console: the credit
// office uploads an inspection of a busy demo batch (and an event type
// ecredit does not take), sees each event's fate, finds the inspection on
// the batch's page, downloads the batch's events as EPCIS (JSON-LD and
// XML), and the public EPCIS export of the batch carries the inspection
// without its source id.
func flowConsoleEPCIS(t *testing.T, b *Tab) {
	c := b.City
	gtin, batch, api := busyBatch(t, c)
	report := fmt.Sprintf("E2E-JC-%d", time.Now().UnixNano()%1e9)
	eventID := "urn:uuid:e2e-" + report
	doc := fmt.Sprintf(`{"@context":["%s",{"jc":"%s"}],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"%s",
"epcisBody":{"eventList":[
{"type":"ObjectEvent","eventID":"%s","eventTime":"%s","eventTimeZoneOffset":"+08:00","action":"OBSERVE",
 "bizStep":"urn:epcglobal:cbv:bizstep:inspecting","disposition":"urn:epcglobal:cbv:disp:conformant",
 "quantityList":[{"epcClass":"%s"}],"certificationInfo":"%s","jc:region":"130802"},
{"type":"AggregationEvent","eventID":"urn:uuid:e2e-t-%s"}]}}`,
		trace.EPCISContext, trace.EPCISNamespace, time.Now().Format(time.RFC3339), eventID, time.Now().Add(-time.Hour).Format(time.RFC3339),
		trace.BatchLink(gtin, batch), report, report)
	file := filepath.Join(t.TempDir(), "jc-"+report+".jsonld")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("batch %s/%s (%s), report %s", gtin, batch, api.Product.Name, report)

	signIn(b, c.AdminLogin, c.AdminPassword)
	b.WaitURL("/console/")
	b.Go("/console/trace")
	b.Upload("#epcis-file", file)
	b.Click(`form[action="/console/trace/epcis"] button[type=submit]`)
	b.WaitText(".import-result h2", filepath.Base(file))
	if got := b.WaitText(".import-result p", "新增"); !strings.Contains(got, "新增 1 条") || !strings.Contains(got, "失败 1 条") {
		t.Errorf("import result %q, want 1 created and 1 failed", got)
	}
	rows := b.Rows(".import-errors tbody tr")
	if len(rows) != 1 || rows[0][0] != "2" || rows[0][2] != "type" || !strings.Contains(rows[0][3], "ObjectEvent") {
		t.Errorf("import errors %q, want event 2 refused on its type", rows)
	}

	// The batch's page lists the inspection; its download holds it.
	b.Go("/console/trace/" + gtin + "/" + batch)
	b.WaitText("table.timeline tbody tr", report)
	var got trace.EPCISDocument
	if err := json.Unmarshal(b.Download(`a[href="/console/trace/`+gtin+`/`+batch+`/epcis"]`), &got); err != nil {
		t.Fatalf("the download is not JSON: %v", err)
	}
	var found bool
	for _, e := range got.Body.EventList {
		if e.Ref == report {
			found = e.SourceEventID == eventID && e.EventType == trace.EventInspected && e.Disposition == "conformant" && e.Region == "130802"
		}
	}
	if !found || got.SchemaVersion != "2.0" {
		t.Errorf("the downloaded EPCIS document (%d events) lacks the inspection %s as captured", len(got.Body.EventList), report)
	}

	// The XML download, linked next to it, parses as EPCIS 2.0 XML and
	// holds the same inspection.
	var x struct {
		XMLName       xml.Name
		SchemaVersion string `xml:"schemaVersion,attr"`
		Events        []struct {
			Disposition   string `xml:"disposition"`
			EventType     string `xml:"urn:ecredit:epcis: eventType"`
			Region        string `xml:"urn:ecredit:epcis: region"`
			Ref           string `xml:"urn:ecredit:epcis: ref"`
			SourceEventID string `xml:"urn:ecredit:epcis: sourceEventID"`
		} `xml:"EPCISBody>EventList>ObjectEvent"`
	}
	if err := xml.Unmarshal(b.Download(`a[href="/console/trace/`+gtin+`/`+batch+`/epcis?format=xml"]`), &x); err != nil {
		t.Fatalf("the XML download does not parse: %v", err)
	}
	found = false
	for _, e := range x.Events {
		if e.Ref == report {
			found = e.SourceEventID == eventID && e.EventType == string(trace.EventInspected) && e.Disposition == "urn:epcglobal:cbv:disp:conformant" && e.Region == "130802"
		}
	}
	if !found || x.XMLName.Space != trace.EPCISXMLNamespace || x.XMLName.Local != "EPCISDocument" || x.SchemaVersion != "2.0" {
		t.Errorf("the downloaded EPCIS XML (%s, %d events) lacks the inspection %s as captured", x.XMLName.Local, len(x.Events), report)
	}

	// The public export: the inspection, without the centre's own id.
	var pub trace.EPCISDocument
	c.GetJSON(t, "/api/v1/public/trace/"+gtin+"/"+batch+"/epcis", &pub)
	found = false
	for _, e := range pub.Body.EventList {
		if e.Ref == report {
			found = e.SourceEventID == "" && e.SubmittedBy == ""
		}
	}
	if !found {
		t.Errorf("the public EPCIS export lacks the inspection %s, or shows its source", report)
	}
}
