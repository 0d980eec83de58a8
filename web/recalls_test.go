package web

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"ecredit/code"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trace"
)

// TestRecallBoard: the public notice board (/recalls) lists every recall,
// newest first, a page of 30 and a link to the older ones; the home page
// shows the latest three and links to it; a bad cursor is a clear 400.
func TestRecallBoard(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e, svc := traceEnv(t, db)
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
		if st, body := get("/recalls"); st != 200 || !strings.Contains(body, "尚无产品召回") {
			t.Fatalf("empty board: %d", st)
		}
		if st, body := get("/"); st != 200 || strings.Contains(body, "最新产品召回") || !strings.Contains(body, `href="/recalls"`) {
			t.Fatalf("home without recalls: %d", st)
		}
		c, _ := code.GTINCheck("690111122225")
		g := "690111122225" + string(c)
		if _, _, err := svc.CreateProduct(samrCtx, trace.ProductInput{GTIN: g, Name: "承德杏仁露", Category: "food", ProducerCode: e.merchant.CreditCode}); err != nil {
			t.Fatal(err)
		}
		const n = recallsPageSize + 2
		for i := range n {
			b := fmt.Sprintf("R%02d", i)
			if _, _, err := svc.CreateBatch(samrCtx, trace.BatchInput{GTIN: g, Batch: b, ProducedOn: "2025-02-01"}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Recall(samrCtx, g, b, trace.RecallInput{Reason: fmt.Sprintf("抽检不合格 第%02d批", i)}); err != nil {
				t.Fatal(err)
			}
		}
		st, body := get("/recalls")
		if st != 200 || !strings.Contains(body, "承德杏仁露") || !strings.Contains(body, e.merchant.Name) || !strings.Contains(body, `href="/trace/`+g+`/R31"`) ||
			strings.Index(body, "第31批") > strings.Index(body, "第30批") || strings.Contains(body, "第01批") || strings.Contains(body, "第00批") {
			t.Fatalf("first page: %d\n%s", st, body)
		}
		i := strings.Index(body, `href="/recalls?before=`)
		if i < 0 {
			t.Fatal("no link to the older recalls")
		}
		next := body[i+len(`href="`):]
		next = next[:strings.IndexByte(next, '"')]
		st, body = get(next)
		if st != 200 || !strings.Contains(body, "第01批") || !strings.Contains(body, "第00批") || strings.Contains(body, "第02批") ||
			strings.Contains(body, "?before=") {
			t.Errorf("older page %s: %d", next, st)
		}
		if st, body = get("/recalls?before=x"); st != 400 || !strings.Contains(body, "召回编号") {
			t.Errorf("bad cursor: %d", st)
		}
		st, body = get("/")
		if st != 200 || !strings.Contains(body, "最新产品召回") || !strings.Contains(body, "第31批") || !strings.Contains(body, "第29批") ||
			strings.Contains(body, "第28批") {
			t.Errorf("home's latest recalls: %d", st)
		}
	})
}
