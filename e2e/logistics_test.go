package e2e

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"ecredit/logistics"
)

func init() { register("logistics-grade", flowLogisticsGrade) }

// The public's view of the logistics firms' credit: each firm's profile
// shows its grade, metrics and the treatment the grade brings, and links
// the grade's page (/logistics/{id}), which shows the same with the rules;
// all as the public JSON API answers.
func flowLogisticsGrade(t *testing.T, b *Tab) {
	c := b.City
	var firms struct {
		Items []subjectRef `json:"items"`
	}
	c.AdminJSON(t, "/api/v1/subjects?kind=logistics&limit=20", &firms)
	if len(firms.Items) == 0 {
		t.Fatal("the demo city has no logistics firm")
	}
	graded := 0
	for _, f := range firms.Items[:min(len(firms.Items), 3)] {
		var api logistics.Report
		c.GetJSON(t, "/api/v1/public/logistics/"+url.PathEscape(f.CreditCode), &api)
		var profile struct {
			Grade logistics.Grade `json:"grade"`
		}
		c.GetJSON(t, "/api/v1/public/subjects/"+url.PathEscape(f.CreditCode), &profile)
		if profile.Grade != api.Grade {
			t.Errorf("%s: the profile JSON says grade %q, the logistics API %q", f.Name, profile.Grade, api.Grade)
		}
		t.Logf("firm %d %s: %s, treatment %q", f.ID, f.Name, api.GradeLabel, api.Treatment)
		if api.Grade != "" {
			graded++
			if !strings.HasPrefix(api.GradeLabel, string(api.Grade)+" 级") {
				t.Errorf("%s: grade %q labelled %q", f.Name, api.Grade, api.GradeLabel)
			}
		}

		b.Go(f.Path())
		b.WaitText(".profile-head h1", f.Name)
		checkGrade(t, b, "profile "+f.Path(), &api)
		page := "/logistics/" + strconv.FormatInt(f.ID, 10)
		b.Click(`.main a[href="` + page + `"]`)
		b.WaitURL(page)
		b.WaitText(".profile-head h1", f.Name)
		checkGrade(t, b, "grade page "+page, &api)

		// The rules: the firm's grade's row names the same treatment.
		rules := b.Rows("table.list tbody tr")
		if api.Grade != "" {
			i := slices.IndexFunc(rules, func(r []string) bool { return len(r) > 0 && r[0] == string(api.Grade) })
			if i < 0 || rules[i][len(rules[i])-1] != strings.Join(api.Treatment, "；") {
				t.Errorf("%s: the rules table has no row %s with treatment %q: %q", page, api.Grade, api.Treatment, rules)
			}
		}
		if len(rules) != len(api.Rules)+1 {
			t.Errorf("%s: %d rule rows, the API has %d rules and D", page, len(rules), len(api.Rules))
		}
	}
	if graded == 0 {
		t.Errorf("no demo logistics firm is graded: the flow checked only the ungraded display")
	}
}

// checkGrade compares the page's grade section (the template
// "logistics_grade") with the public API's answer.
func checkGrade(t *testing.T, b *Tab, where string, api *logistics.Report) {
	t.Helper()
	badge := b.WaitText(".logistics-grade .badge", "")
	if strings.TrimSpace(badge) != api.GradeLabel {
		t.Errorf("%s: grade shown %q, the API says %q", where, badge, api.GradeLabel)
	}
	// The treatment list follows the heading 差异化监管措施.
	var treatment []string
	if err := b.evalJSON(`(function () {
		var h = Array.from(document.querySelectorAll(".logistics-grade h3")).find(function (e) { return e.innerText.trim() === "差异化监管措施"; });
		var ul = h && h.nextElementSibling;
		return ul ? Array.from(ul.querySelectorAll("li")).map(function (li) { return li.innerText.trim(); }) : [];
	})()`, &treatment); err != nil {
		t.Fatalf("%s: read the treatment: %v", where, err)
	}
	if !slices.Equal(treatment, api.Treatment) {
		t.Errorf("%s: treatment shown %q, the API says %q", where, treatment, api.Treatment)
	}
	m := api.Metrics
	pct := func(v float64) string { return fmt.Sprintf("%.2f%%", v*100) }
	want := map[string]string{
		"揽收运单":  fmt.Sprintf("%d 件（应送达 %d 件，已签收 %d 件）", m.Parcels, m.Due, m.Delivered),
		"准时送达率": pct(m.OnTimeRate),
		"丢失破损率": pct(m.LossDamageRate),
		"投诉率":   pct(m.ComplaintRate),
		"轨迹有效率": pct(m.ValidityRate),
		"行政处罚":  fmt.Sprintf("%d 次", m.Violations),
	}
	got := b.KV(".logistics-grade table.kv tr")
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s shows %q, the API says %q", where, k, got[k], w)
		}
	}
}
