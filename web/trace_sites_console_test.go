package web

import (
	"net/url"
	"strings"
	"testing"

	"ecredit/account"
	"ecredit/code"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// TestConsoleSites: a department looks a subject's trace sites up by its
// credit code, registers one with the form, renames it, and a bad
// submission shows each error next to its field, nothing stored.
func TestConsoleSites(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e, _ := traceEnv(t, db)
		dept := e.staff(account.RoleDepartment, "samr1")
		c, _ := code.GTINCheck("690111155556")
		gln := "690111155556" + string(c)
		page := "/console/trace/sites?subject=" + e.merchant.CreditCode
		district, _ := code.RegionName("130821")

		st, body := dept.get("/console/trace")
		if st != 200 || !strings.Contains(body, `href="/console/trace/sites"`) {
			t.Fatalf("link from the trace page: %d", st)
		}
		st, body = dept.get(page)
		if st != 200 || !strings.Contains(body, e.merchant.Name) || !strings.Contains(body, "尚未登记地点") ||
			!strings.Contains(body, `name="sites[0].subject_code" type="text" value="`+e.merchant.CreditCode+`"`) {
			t.Fatalf("page: %d %s", st, body)
		}
		csrf := csrfOf(t, body)
		form := func(gln, name, region string) url.Values {
			return url.Values{"csrf": {csrf}, "sites[0].subject_code": {e.merchant.CreditCode}, "sites[0].gln": {gln}, "sites[0].name": {name}, "sites[0].region": {region}}
		}
		st, body, _ = dept.post("/console/trace/sites", form(gln[:12]+"x", "", "999999"))
		if st != 400 || !strings.Contains(body, "全球位置码") || !strings.Contains(body, "必须填写地点名称") || !strings.Contains(body, "行政区划代码") ||
			!strings.Contains(body, "尚未登记地点") {
			t.Fatalf("bad form: %d %s", st, body)
		}
		st, _, resp := dept.post("/console/trace/sites", form(gln, "一号车间", "130821"))
		if st != 303 || !strings.HasSuffix(resp.Header.Get("Location"), "done=created&subject="+e.merchant.CreditCode) {
			t.Fatalf("register: %d %s", st, resp.Header.Get("Location"))
		}
		st, _, resp = dept.post("/console/trace/sites", form(gln, "一号生产车间", "130821"))
		if st != 303 || !strings.Contains(resp.Header.Get("Location"), "done=updated") {
			t.Fatalf("rename: %d %s", st, resp.Header.Get("Location"))
		}
		st, body = dept.get(page + "&done=updated")
		if st != 200 || !strings.Contains(body, "地点已更改") || !strings.Contains(body, "一号生产车间") || !strings.Contains(body, gln) || !strings.Contains(body, district) {
			t.Fatalf("after: %d %s", st, body)
		}
		if st, body = dept.get("/console/trace/sites?subject=123"); st != 400 || !strings.Contains(body, "无效") {
			t.Errorf("bad code: %d", st)
		}
	})
}
