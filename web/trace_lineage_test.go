package web

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"ecredit/account"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trace"
)

// TestTraceLineagePages: a department records a batch's raw lot from the
// console (a bad one refused with the reason next to the field, nothing
// stored); the public page of the product then shows where it came from
// and the raw lot's page what was made from it; the console page lists
// both with links into the console.
func TestTraceLineagePages(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e, svc := traceEnv(t, db)
		raw := foodBatch(t, svc, e, "690111155556", "鲜山楂（统货）", "R1")
		cake := foodBatch(t, svc, e, "690111166667", "承德山楂糕", "C1")
		if _, err := svc.IngestEvent(samrCtx, trace.EventInput{EventID: "r1", Type: trace.EventInspected, GTIN: raw, Batch: "R1",
			Time: "2025-02-01T09:00:00+08:00", Disposition: "conformant", Ref: "NC-2025-3", Note: "农药残留快检"}); err != nil {
			t.Fatal(err)
		}
		dept := e.staff(account.RoleDepartment, "samr-lineage")
		page := "/console/trace/" + cake + "/C1"
		st, body := dept.get(page)
		if st != 200 || !strings.Contains(body, "该批次未登记原料批次") || !strings.Contains(body, `action="`+page+`/inputs"`) {
			t.Fatalf("console page before: %d\n%s", st, body)
		}
		csrf := csrfOf(t, body)
		form := func(gtin, batch, qty, uom string) url.Values {
			return url.Values{"csrf": {csrf}, "inputs[0].gtin": {gtin}, "inputs[0].batch": {batch}, "inputs[0].quantity": {qty}, "inputs[0].uom": {uom}}
		}
		for _, c := range []struct {
			v    url.Values
			want string
		}{
			{form(raw, "NOPE", "", ""), "未登记"},
			{form(raw, "R1", "很多", "KGM"), "用量须是数字"},
			{form(raw, "R1", "", "KGM"), "给出计量单位时须给出"},
			{form(cake, "C1", "", ""), "不能以自身为原料"},
		} {
			st, body, _ := dept.post(page+"/inputs", c.v)
			if st != 400 || !strings.Contains(body, c.want) || !strings.Contains(body, "has-error") {
				t.Errorf("bad input %v: %d, want 400 with %q", c.v, st, c.want)
			}
		}
		if links, err := db.Lineage(sys, []int64{batchID(t, db, cake, "C1")}, true); err != nil || len(links) != 0 {
			t.Fatalf("refused inputs stored: %v %v", err, links)
		}
		st, _, resp := dept.post(page+"/inputs", form(raw, "R1", "1200", "KGM"))
		if st != http.StatusSeeOther || resp.Header.Get("Location") != page+"?done=inputs" {
			t.Fatalf("input recorded: %d %s", st, resp.Header.Get("Location"))
		}
		st, body = dept.get(page + "?done=inputs")
		if st != 200 || !strings.Contains(body, "原料批次已登记") || !strings.Contains(body, "鲜山楂（统货）") || !strings.Contains(body, "1200 千克") ||
			!strings.Contains(body, `href="/console/trace/`+raw+`/R1"`) || !strings.Contains(body, "NC-2025-3") {
			t.Fatalf("console page after: %d\n%s", st, body)
		}
		if st, body, _ := dept.post(page+"/inputs", form(raw, "R1", "1300", "KGM")); st != 409 || !strings.Contains(body, "不能更改") {
			t.Errorf("changed quantity: %d", st)
		}
		st, body = dept.get("/console/trace/" + raw + "/R1")
		if st != 200 || !strings.Contains(body, "以该批次为原料的下游批次") || !strings.Contains(body, `href="/console/trace/`+cake+`/C1"`) {
			t.Fatalf("raw lot's console page: %d", st)
		}

		// The public pages: where it came from, what was made from it.
		get := func(path string) (int, string) {
			t.Helper()
			resp, err := http.Get(e.srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		st, body = get("/trace/" + cake + "/C1")
		if st != 200 || !strings.Contains(body, "原料来源") || !strings.Contains(body, `href="/trace/`+raw+`/R1"`) || !strings.Contains(body, "1200 千克") ||
			!strings.Contains(body, "合格") || !strings.Contains(body, "NC-2025-3") || strings.Contains(body, "/console/trace/") {
			t.Fatalf("public page of the cake: %d\n%s", st, body)
		}
		st, body = get("/trace/" + raw + "/R1")
		if st != 200 || !strings.Contains(body, "用于生产") || !strings.Contains(body, `href="/trace/`+cake+`/C1"`) {
			t.Fatalf("public page of the raw lot: %d", st)
		}
		if strings.Contains(body, "所用原料批次已召回") {
			t.Error("the cake warns of a recalled source before any recall")
		}

		// The raw lot is recalled: the cake's pages warn that a source
		// was, naming it.
		if _, err := svc.Recall(samrCtx, raw, "R1", trace.RecallInput{Reason: "农药残留超标"}); err != nil {
			t.Fatal(err)
		}
		st, body = get("/trace/" + cake + "/C1")
		if st != 200 || !strings.Contains(body, "所用原料批次已召回") || !strings.Contains(body, "鲜山楂（统货）（批次 R1") || strings.Contains(body, "该批次已召回") {
			t.Fatalf("public page of the cake after the raw lot's recall: %d", st)
		}
		if st, body := dept.get(page); st != 200 || !strings.Contains(body, "所用原料批次已召回") || !strings.Contains(body, "请评估是否一并召回") {
			t.Fatalf("console page of the cake after the raw lot's recall: %d", st)
		}
	})
}

// batchID is the stored id of a batch.
func batchID(t *testing.T, db *sqlstore.DB, gtin, batch string) int64 {
	t.Helper()
	b, err := db.GetBatch(sys, gtin, batch)
	if err != nil {
		t.Fatal(err)
	}
	return b.ID
}
