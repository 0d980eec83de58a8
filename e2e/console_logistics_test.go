package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"ecredit/logistics"
)

func init() { register("console-logistics", flowConsoleLogistics) }

// The credit office's view of the logistics firms in the console: the list
// grades each firm as the public API does; a graded firm's report lists its
// couriers with the grades the metrics API gives them, and recomputes over
// another window.
func flowConsoleLogistics(t *testing.T, b *Tab) {
	c := b.City
	signIn(b, c.AdminLogin, c.AdminPassword)
	b.WaitURL("/console/")
	b.Click(`.site-nav a[href="/console/logistics"]`)
	b.WaitURL("/console/logistics")
	rows := b.Rows("table.list tbody tr")
	if len(rows) == 0 {
		t.Fatal("the console lists no logistics firm")
	}
	var firms struct {
		Items []subjectRef `json:"items"`
	}
	c.AdminJSON(t, "/api/v1/subjects?kind=logistics&limit=20", &firms)
	if len(rows) != len(firms.Items) {
		t.Errorf("the console lists %d firms, the API %d", len(rows), len(firms.Items))
	}
	var graded *subjectRef
	for i, f := range firms.Items[:min(len(firms.Items), len(rows))] {
		var api logistics.Report
		c.GetJSON(t, "/api/v1/public/logistics/"+url.PathEscape(f.CreditCode), &api)
		if rows[i][0] != f.Name || rows[i][2] != api.GradeLabel {
			t.Errorf("row %d is %q, the API says %s %s", i+1, rows[i], f.Name, api.GradeLabel)
		}
		if graded == nil && api.Grade != "" {
			graded = &firms.Items[i]
		}
	}
	if graded == nil {
		t.Fatal("no demo logistics firm is graded")
	}

	page := fmt.Sprintf("/console/logistics/%d", graded.ID)
	b.Click(`table.list a[href="` + page + `"]`)
	b.WaitURL(page)
	b.WaitText("h1", graded.Name)
	var rep logistics.Report
	c.AdminJSON(t, fmt.Sprintf("/api/v1/logistics/%d/metrics", graded.ID), &rep)
	couriers := b.Rows("table.list:has(th:nth-child(10)) tbody tr")
	if len(couriers) != len(rep.Couriers) || len(couriers) == 0 {
		t.Fatalf("the report shows %d couriers, the API %d", len(couriers), len(rep.Couriers))
	}
	for i, k := range rep.Couriers {
		if couriers[i][1] != k.CourierCode || couriers[i][2] != k.GradeLabel {
			t.Errorf("courier row %d is %q, the API says %s %s", i+1, couriers[i], k.CourierCode, k.GradeLabel)
		}
	}
	b.SetValue("#days", "30")
	b.Click(`form[action="` + page + `"] button`)
	if w := b.WaitText(".logistics-grade", "（30 天）"); !strings.Contains(w, "统计期") {
		t.Errorf("the 30-day report says %q", w)
	}
	if u := b.URL(); !strings.HasSuffix(u, page+"?days=30") {
		t.Errorf("the 30-day report is at %s", u)
	}
}
