package e2e

import (
	"strings"
	"testing"

	"ecredit/trace"
)

func init() { register("console-sites", flowConsoleSites) }

// Trace sites in the console: from the trace lookup page the credit office
// opens the register, finds a maker of the demo city by its credit code
// with the production line and store the demo registered, renames the
// line through the form (given as the SGLN its events carry), and the
// batch's public trace page names the event's place by the new name.
func flowConsoleSites(t *testing.T, b *Tab) {
	c := b.City
	gtin, batch, _ := busyBatch(t, c)
	var pt trace.PublicTrace
	c.GetJSON(t, "/api/v1/public/trace/"+gtin+"/"+batch, &pt)
	var made *trace.EventView
	for i, e := range pt.Timeline {
		if e.Type == trace.EventProduced && e.ReadPointSite != nil {
			made = &pt.Timeline[i]
		}
	}
	if made == nil || pt.Product.Producer == nil {
		t.Fatalf("batch %s/%s: no produced event at a registered site in %+v", gtin, batch, pt.Timeline)
	}
	maker := pt.Product.Producer

	signIn(b, c.AdminLogin, c.AdminPassword)
	b.WaitURL("/console/")
	b.Go("/console/trace")
	b.Click(`a[href="/console/trace/sites"]`)
	b.WaitURL("/console/trace/sites")
	b.Type(`#ss`, maker.CreditCode)
	b.Click(`form[action="/console/trace/sites"][method="get"] button[type=submit]`)
	b.WaitText("h2", maker.Name)
	rows := b.Rows("table.list tbody tr")
	names := map[string]bool{}
	for _, r := range rows {
		names[r[0]] = true
	}
	if !names[made.ReadPointSite.Name] || len(rows) < 2 {
		t.Fatalf("the maker's sites %q lack %q", rows, made.ReadPointSite.Name)
	}

	// Rename the production line by the location its events carry.
	b.Type(`#st-loc`, made.ReadPoint)
	b.Type(`#st-name`, "一号生产车间")
	b.Click(`form[action="/console/trace/sites"][method="post"] button[type=submit]`)
	b.WaitText(".notice", "地点已更改")
	b.WaitText("table.list tbody td", "一号生产车间")

	b.Go("/trace/" + gtin + "/" + batch)
	if got := b.WaitText("td .site", "一号生产车间"); !strings.Contains(got, maker.Name) {
		t.Errorf("the public trace names the place %q, want the new name and %s", got, maker.Name)
	}
}
