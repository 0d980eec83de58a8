package e2e

import (
	"fmt"
	"strings"
	"testing"

	"ecredit/httpapi"
	"ecredit/trade"
)

func init() { register("console-folds", flowConsoleFolds) }

// The credit office watches what the platforms fold: the console's table
// counts each platform's folds as the API does, and lists the folded
// reviews, the latest fold first, as the API does; a platform's link
// narrows the list to it.
func flowConsoleFolds(t *testing.T, b *Tab) {
	c := b.City
	var stats httpapi.Page[trade.FoldStat]
	c.AdminJSON(t, "/api/v1/reviews/fold-stats", &stats)
	var folds httpapi.Page[httpapi.FoldedReview]
	c.AdminJSON(t, "/api/v1/reviews/folded?limit=50", &folds)
	if len(folds.Items) == 0 {
		t.Fatal("the demo city has no folded review")
	}
	signIn(b, c.AdminLogin, c.AdminPassword)
	b.WaitURL("/console/")
	b.Click(`.site-nav a[href="/console/reviews/folded"]`)
	b.WaitURL("/console/reviews/folded")
	rows := b.Rows("table.fold-stats tbody tr")
	if len(rows) != len(stats.Items) {
		t.Fatalf("%d platforms in the table, the API has %d", len(rows), len(stats.Items))
	}
	for i, st := range stats.Items {
		want := fmt.Sprintf("%d / %d / %d", st.FoldedNegative, st.FoldedNeutral, st.FoldedPositive)
		if rows[i][1] != fmt.Sprint(st.Reviews) || rows[i][2] != fmt.Sprint(st.Folded) || rows[i][4] != want {
			t.Errorf("platform row %d is %q, the API says %+v", i+1, rows[i], st)
		}
	}
	list := b.Rows("table.folds tbody tr")
	if len(list) != len(folds.Items) {
		t.Fatalf("%d folded reviews listed, the API has %d", len(list), len(folds.Items))
	}
	for i, f := range folds.Items {
		if list[i][5] != f.FoldReason || list[i][7] != fmt.Sprint(f.OrderID) {
			t.Errorf("fold row %d is %q, the API's fold is %q of order %d", i+1, list[i], f.FoldReason, f.OrderID)
		}
	}
	// One platform's folds.
	p := folds.Items[0].PlatformID
	b.Click(fmt.Sprintf(`table.fold-stats a[href="/console/reviews/folded?platform=%d"]`, p))
	b.WaitText("h2", "查看全部平台")
	var mine httpapi.Page[httpapi.FoldedReview]
	c.AdminJSON(t, fmt.Sprintf("/api/v1/reviews/folded?limit=50&platform_id=%d", p), &mine)
	if got := b.Rows("table.folds tbody tr"); len(got) != len(mine.Items) || !strings.Contains(b.URL(), fmt.Sprintf("platform=%d", p)) {
		t.Errorf("platform %d: %d folds listed, the API has %d", p, len(got), len(mine.Items))
	}
}
