package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"ecredit/trace"
)

func init() { register("trace-recall", flowTraceRecall) }

// The public's product trace: from the home page's lookup form, the demo's
// recalled batch leads to its page with the recall banner and the timeline
// the public API answers; a malformed GTIN is refused with a message naming
// what is wrong.
func flowTraceRecall(t *testing.T, b *Tab) {
	c := b.City
	gtin, batch := recalledBatch(t, c)
	var api trace.PublicTrace
	c.GetJSON(t, "/api/v1/public/trace/"+url.PathEscape(gtin)+"/"+url.PathEscape(batch), &api)
	if api.Recall == nil {
		t.Fatalf("the recall record names %s/%s but the trace API shows no recall", gtin, batch)
	}
	t.Logf("recalled batch %s/%s (%s): %d timeline events", gtin, batch, api.Product.Name, len(api.Timeline))

	b.Go("/")
	b.Type(`form[action="/trace"] #tg`, gtin)
	b.Type(`form[action="/trace"] #tb`, batch)
	b.Click(`form[action="/trace"] button[type=submit]`)
	path := "/trace/" + gtin + "/" + batch
	b.WaitURL(path)
	if nav := b.Texts(".site-nav a.active"); len(nav) != 1 || nav[0] != "产品追溯" {
		t.Errorf("the trace page's navigation marks %q, want 产品追溯", nav)
	}

	// The recall banner.
	b.WaitText(".verdict-bad .verdict-title", "该批次已召回")
	banner := b.WaitText(".verdict-bad", api.Recall.Reason)
	sold := fmt.Sprintf("召回时已售出 %d 笔订单、数量 %d", api.Recall.Orders, api.Recall.Quantity)
	if !strings.Contains(banner, sold) || !strings.Contains(banner, api.Recall.By) {
		t.Errorf("recall banner %q lacks %q or %q", banner, sold, api.Recall.By)
	}
	kv := b.KV("table.kv tr")
	if kv["产品名称"] == "" || !strings.HasPrefix(kv["产品名称"], api.Product.Name) || kv["商品条码"] != gtin ||
		kv["批次号"] != batch || kv["批次状态"] != api.Batch.StatusLabel {
		t.Errorf("product and batch shown %q, the API says %s %s %s %s", kv, api.Product.Name, gtin, batch, api.Batch.StatusLabel)
	}

	// The timeline: the API's events, in its order.
	rows := b.Rows("table.timeline tbody tr")
	if len(rows) != len(api.Timeline) || len(rows) == 0 {
		t.Fatalf("the timeline shows %d events, the API %d", len(rows), len(api.Timeline))
	}
	for i, e := range api.Timeline {
		step := e.TypeLabel
		if e.DispositionLabel != "" {
			step += " · " + e.DispositionLabel
		}
		if len(rows[i]) != 4 || rows[i][1] != step {
			t.Errorf("timeline row %d is %q, the API's event is %s", i+1, rows[i], step)
		}
	}
	if api.Reach.Orders > 0 {
		b.WaitText(".main", fmt.Sprintf("该批次已售出 %d 笔订单、数量 %d", api.Reach.Orders, api.Reach.Quantity))
	}

	// Where it came from: the API's upstream lineage, row for row; the
	// first raw lot's page names the recalled batch among what was made
	// from it.
	if up := api.Lineage.Upstream; len(up) > 0 {
		rows := b.Rows("table.lineage tbody tr")
		if len(rows) < len(up) {
			t.Fatalf("the page lists %d sources, the API %d", len(rows), len(up))
		}
		for i, n := range up {
			if !strings.Contains(rows[i][2], n.GTIN+" / "+n.Batch) || rows[i][5] != n.QuantityLabel || (n.Producer != nil && rows[i][3] != n.Producer.Name) {
				t.Errorf("source row %d is %q, the API's is %s/%s %s", i+1, rows[i], n.GTIN, n.Batch, n.QuantityLabel)
			}
		}
		t.Logf("%d sources, the first %s %s/%s", len(up), up[0].ProductName, up[0].GTIN, up[0].Batch)
		b.Click(`table.lineage a[href="/trace/` + up[0].GTIN + `/` + up[0].Batch + `"]`)
		b.WaitURL("/trace/" + up[0].GTIN + "/" + up[0].Batch)
		b.WaitText("h2", "用于生产")
		found := false
		for _, r := range b.Rows("table.lineage tbody tr") {
			found = found || strings.Contains(r[2], gtin+" / "+batch) && r[6] == "已召回"
		}
		if !found {
			t.Errorf("the raw lot's page does not list the recalled batch %s/%s among what was made from it", gtin, batch)
		}
		b.Go(path)
	} else {
		t.Logf("the recalled batch has no recorded sources")
	}

	// The recalled raw lot: its record names what was made from it; the
	// first of those warns of its recalled source on its page.
	rg, rb, fields := findRecall(t, c, func(f map[string]string) bool { return f["x:downstream_batches"] != "" })
	first, _, _ := strings.Cut(fields["x:downstream_batches"], ";")
	down, _, _ := strings.Cut(first, ":")
	t.Logf("recalled raw lot %s/%s; made from it: %s", rg, rb, fields["x:downstream_batches"])
	b.Go("/trace/" + down)
	warn := b.WaitText(".verdict-warn .verdict-title", "所用原料批次已召回")
	if body := b.WaitText(".verdict-warn", "批次 "+rb); !strings.Contains(body, "已被召回") {
		t.Errorf("the warning %q / %q does not name the recalled lot %s", warn, body, rb)
	}

	// A malformed GTIN (the check digit changed) from the page's own form.
	bad := gtin[:len(gtin)-1] + string('0'+(gtin[len(gtin)-1]-'0'+1)%10)
	b.SetValue(`form[action="/trace"] #tg`, bad)
	b.Click(`form[action="/trace"] button[type=submit]`)
	b.WaitURL("/trace")
	msg := b.WaitText(".alert-error", "商品条码无效")
	if !strings.Contains(msg, "校验码") {
		t.Errorf("the error %q does not say the check digit is wrong", msg)
	}
	if n := len(b.Texts(".verdict-bad")); n != 0 {
		t.Errorf("the error page still shows a recall banner")
	}
	if v, _ := b.eval(`document.querySelector('form[action="/trace"] #tg').value`); v != bad {
		t.Errorf("the form lost the GTIN typed: %q", v)
	}
}

// recalledBatch finds the demo's recalled batch from the change feed: the
// recall's credit record (type other) has the reference 召回-{GTIN}-{batch}.
func recalledBatch(t *testing.T, c *City) (gtin, batch string) {
	t.Helper()
	gtin, batch, _ = findRecall(t, c, func(map[string]string) bool { return true })
	return gtin, batch
}

// findRecall returns the first recall record in the change feed whose
// fields match, with its batch.
func findRecall(t *testing.T, c *City, match func(fields map[string]string) bool) (gtin, batch string, fields map[string]string) {
	t.Helper()
	for after := ""; ; {
		var feed struct {
			Items []struct {
				Record struct {
					Type      string            `json:"type"`
					SourceRef string            `json:"source_ref"`
					Fields    map[string]string `json:"fields"`
				} `json:"record"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		c.AdminJSON(t, "/api/v1/changes?limit=1000&after="+url.QueryEscape(after), &feed)
		for _, it := range feed.Items {
			r := it.Record
			if r.Type != "other" || !strings.HasPrefix(r.SourceRef, "召回-") {
				continue
			}
			g, b, ok := strings.Cut(strings.TrimPrefix(r.SourceRef, "召回-"), "-")
			if !ok || g == "" || b == "" {
				t.Fatalf("recall record reference %q is not 召回-GTIN-batch", r.SourceRef)
			}
			if fg, fb := r.Fields["x:gtin"], r.Fields["x:batch"]; fg != "" && (fg != g || fb != b) {
				t.Fatalf("recall record %q names %s/%s in its fields", r.SourceRef, fg, fb)
			}
			if match(r.Fields) {
				return g, b, r.Fields
			}
		}
		if len(feed.Items) == 0 || feed.NextCursor == "" || feed.NextCursor == after {
			t.Fatal("the change feed has no such recall record (type other, reference 召回-…)")
		}
		after = feed.NextCursor
	}
}
