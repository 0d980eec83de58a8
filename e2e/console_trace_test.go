package e2e

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"ecredit/trace"
	"ecredit/trade"
)

func init() { register("console-trace", flowConsoleTrace) }

// The credit office's trace and recall in the console: from the navigation
// to the lookup form, a busy batch of the demo city (not recalled) shows
// the reach and the orders the department API answers; an order leads to
// its backward trace and back; the recall form refuses a recall without
// the confirming tick (keeping the reason typed), then recalls, and the
// batch's page, the API and the public page all show the recall.
func flowConsoleTrace(t *testing.T, b *Tab) {
	c := b.City
	gtin, batch, api := busyBatch(t, c)
	t.Logf("batch %s/%s (%s): %d orders", gtin, batch, api.Product.Name, api.Reach.Orders)

	signIn(b, c.AdminLogin, c.AdminPassword)
	b.WaitURL("/console/")
	b.Click(`.site-nav a[href="/console/trace"]`)
	b.WaitURL("/console/trace")
	b.Type(`#tg`, gtin)
	b.Type(`#tb`, batch)
	b.Click(`form[action="/console/trace"] button[type=submit]`)
	page := "/console/trace/" + gtin + "/" + batch
	b.WaitURL(page)
	if nav := b.Texts(".site-nav a.active"); len(nav) != 1 || nav[0] != "追溯与召回" {
		t.Errorf("the page's navigation marks %q, want 追溯与召回", nav)
	}
	kv := b.KV("table.kv tr")
	if kv["订单"] != fmt.Sprintf("%d 笔", api.Reach.Orders) || kv["数量"] != fmt.Sprint(api.Reach.Quantity) || kv["商品条码"] != api.Product.GTIN {
		t.Errorf("reach shown %q, the API says %d orders, quantity %d", kv, api.Reach.Orders, api.Reach.Quantity)
	}
	orders := b.Rows("table.list tbody tr:has(a[href^='/console/orders/'])")
	if want := min(int(api.Reach.Orders), 100); len(orders) != want {
		t.Fatalf("the page lists %d orders, want %d", len(orders), want)
	}
	for i, o := range api.Orders[:min(len(api.Orders), len(orders))] {
		if orders[i][0] != fmt.Sprint(o.OrderID) || orders[i][1] != o.OrderNo {
			t.Fatalf("order row %d is %q, the API's order is %d %s", i+1, orders[i], o.OrderID, o.OrderNo)
		}
	}
	if api.Reach.Orders > 100 {
		b.WaitText(".pager", "下一页")
	}

	// An order's backward trace, and back to the batch.
	first := api.Orders[0]
	b.Click(fmt.Sprintf(`a[href="/console/orders/%d"]`, first.OrderID))
	b.WaitURL(fmt.Sprintf("/console/orders/%d", first.OrderID))
	b.WaitText("h1", first.OrderNo)
	// Its lifecycle, step for step as the API gives it.
	var bt trace.BackwardTrace
	c.AdminJSON(t, fmt.Sprintf("/api/v1/orders/%d/trace", first.OrderID), &bt)
	steps := b.Rows("table.lifecycle tbody tr")
	if len(steps) != len(bt.Lifecycle) || len(steps) < 2 {
		t.Errorf("the page shows %d lifecycle steps, the API %d", len(steps), len(bt.Lifecycle))
	}
	for i, s := range bt.Lifecycle[:min(len(steps), len(bt.Lifecycle))] {
		if steps[i][1] != s.Label {
			t.Errorf("lifecycle step %d shows %q, the API says %q", i+1, steps[i][1], s.Label)
		}
	}
	// The shop's orders, and back to this one's page.
	shopOrders := fmt.Sprintf("/console/orders?shop=%d", first.ShopID)
	b.Click(fmt.Sprintf(`a[href="%s"]`, shopOrders))
	b.WaitURL("/console/orders")
	b.WaitText("h1", first.ShopName)
	if rows := b.Rows("table.list tbody tr"); len(rows) == 0 {
		t.Errorf("%s lists no order", shopOrders)
	}
	b.Go(fmt.Sprintf("/console/orders/%d", first.OrderID))
	b.Click(fmt.Sprintf(`a[href="%s"]`, page))
	b.WaitURL(page)

	// The recall: refused without the tick, the reason kept; then done.
	reason := "抽检发现菌落总数超标（端到端测试）"
	b.Type(`#r-reason`, reason)
	b.Click(`form[action$="/recall"] button[type=submit]`)
	b.WaitText(".has-error", "请勾选确认")
	if v, _ := b.eval(`document.querySelector('#r-reason').value`); v != reason {
		t.Errorf("the refused form lost the reason: %q", v)
	}
	b.Click(`form[action$="/recall"] input[name=confirm]`)
	b.Click(`form[action$="/recall"] button[type=submit]`)
	b.WaitText(".notice", "召回已发布")
	b.WaitText(".verdict-bad", reason)
	if n := len(b.Texts(`form[action$="/recall"]`)); n != 0 {
		t.Errorf("the recall form is still offered after the recall")
	}
	var after trace.ForwardTrace
	c.AdminJSON(t, "/api/v1/batches/"+url.PathEscape(gtin)+"/"+url.PathEscape(batch)+"/trace?limit=1", &after)
	if after.Recall == nil || after.Recall.Reason != reason || after.Recall.Orders != api.Reach.Orders || after.Batch.Status != "recalled" {
		t.Fatalf("the API after the recall: %+v", after.Recall)
	}
	b.Go("/trace/" + gtin + "/" + batch)
	b.WaitText(".verdict-bad .verdict-title", "该批次已召回")
}

// busyBatch is the batch in the most of the demo's first 2,000 orders that
// is registered and not recalled, with its department trace.
func busyBatch(t *testing.T, c *City) (gtin, batch string, ft *trace.ForwardTrace) {
	t.Helper()
	type key struct{ g, b string }
	seen := map[key]int{}
	for cursor, n := "", 0; n < 4; n++ {
		var page struct {
			Items      []trade.OrderView `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		c.AdminJSON(t, "/api/v1/orders?limit=500&cursor="+url.QueryEscape(cursor), &page)
		for _, o := range page.Items {
			for _, it := range o.Items {
				if it.Batch != "" {
					seen[key{it.GTIN, it.Batch}]++
				}
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	keys := make([]key, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if seen[a] != seen[b] {
			return seen[b] - seen[a]
		}
		return strings.Compare(a.g+a.b, b.g+b.b)
	})
	for _, k := range keys {
		var f trace.ForwardTrace
		if status := c.getJSONStatus(t, c.AdminKey, "/api/v1/batches/"+url.PathEscape(k.g)+"/"+url.PathEscape(k.b)+"/trace?limit=100", &f, 404); status != 200 {
			continue // a batch not registered
		}
		if f.Recall == nil && f.Reach.Orders > 0 && len(f.Orders) > 0 {
			return k.g, k.b, &f
		}
	}
	t.Fatal("no registered, unrecalled batch among the demo's orders")
	return "", "", nil
}
