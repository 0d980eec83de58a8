package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/app"
	"ecredit/code"
	"ecredit/registry"
	"ecredit/trace"
)

// TestImportEPCIS: a file of more events than one batch takes is stored a
// batch at a time; the bad event is on the report; again, nothing twice.
func TestImportEPCIS(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a, err := app.OpenStore(ctx, app.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	sys := account.With(ctx, account.System)
	p, err := a.Registry.CreateSubject(sys, registry.SubjectInput{Kind: registry.KindMerchant, Name: "承德露露股份有限公司", CreditCode: "91130802MA0A1B2D0R"})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := code.GTINCheck("690123456789")
	g := "690123456789" + string(c)
	if _, _, err := a.Trace.CreateProduct(sys, trace.ProductInput{GTIN: g, Name: "杏仁露", Category: "food", ProducerCode: p.CreditCode}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Trace.CreateBatch(sys, trace.BatchInput{GTIN: g, Batch: "LL01", ProducedOn: "2026-01-01"}); err != nil {
		t.Fatal(err)
	}
	a.Store.Close()

	const n = trace.MaxBatch + 500
	var evs []string
	start := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	for i := range n {
		evs = append(evs, fmt.Sprintf(`{"type":"ObjectEvent","eventID":"urn:uuid:cli-%d","eventTime":"%s","eventTimeZoneOffset":"+08:00","action":"OBSERVE",`+
			`"bizStep":"inspecting","disposition":"conformant","quantityList":[{"epcClass":"%s"}],"certificationInfo":"JC-%d"}`,
			i, start.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), trace.BatchLink(g, "LL01"), i))
	}
	evs = append(evs, `{"type":"ObjectEvent","eventID":"urn:uuid:cli-bad","eventTime":"2026-06-01T08:00:00Z","eventTimeZoneOffset":"+08:00","action":"OBSERVE","bizStep":"inspecting","disposition":"conformant","certificationInfo":"JC-X","quantityList":[{"epcClass":"`+trace.BatchLink(g, "NOPE")+`"}]}`)
	file := filepath.Join(dir, "jc.jsonld")
	os.WriteFile(file, []byte(`{"@context":["`+trace.EPCISContext+`"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-06-02T00:00:00Z","epcisBody":{"eventList":[`+
		strings.Join(evs, ",")+`]}}`), 0o600)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"type":"EPCISDocument","schemaVersion":"1.2","epcisBody":{"eventList":[]}}`), 0o600)
	errFile := filepath.Join(dir, "errors.csv")
	for _, tt := range []struct {
		args []string
		code int
		has  string
	}{
		{[]string{"--type", "epcis", "--source", "承德市产品质量监督检验所", "--errors", errFile, file}, 1, fmt.Sprintf("%d 个事件记为 %d 条追溯事件：新增 %d，未变 0，失败 1", n+1, n+1, n)},
		{[]string{"--type", "epcis", "--source", "承德市产品质量监督检验所", file}, 1, fmt.Sprintf("新增 0，未变 %d，失败 1", n)},
		{[]string{"--type", "epcis", bad}, 2, "schemaVersion"},
		{[]string{"--type", "epcis", filepath.Join(dir, "x.json")}, 2, "无法打开"},
	} {
		var stdout, stderr bytes.Buffer
		code := runImport(ctx, append([]string{"--data", dir}, tt.args...), strings.NewReader(""), &stdout, &stderr)
		if code != tt.code || !strings.Contains(stderr.String(), tt.has) {
			t.Fatalf("%v: exit %d, want %d; stderr:\n%s\nstdout:\n%s", tt.args, code, tt.code, stderr.String(), stdout.String())
		}
	}
	report, _ := os.ReadFile(errFile)
	if want := fmt.Sprintf("%d,urn:uuid:cli-bad quantityList,", n+1); !strings.Contains(string(report), want) {
		t.Errorf("error report lacks %q:\n%s", want, report)
	}
}
