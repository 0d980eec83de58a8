package httpapi

import (
	"context"
	"strings"
	"testing"

	"ecredit/account"
	"ecredit/code"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trace"
)

// TestRecallCascadeAPI: POST …/recall with cascade answers the recall as
// before plus each downstream batch's fate; a producer recalls its own
// batches only; sent again for the recalled lot the cascade goes on
// (200, resumed) where a plain recall is a Conflict; without cascade the
// answer has no cascade list. The public notice board lists them all.
func TestRecallCascadeAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db, envOpts{})
		e.api.d.Trace = &trace.Service{Store: e.db, Subjects: e.db, Records: e.db, Recorder: e.recs, Clock: e.clk}
		maker := e.createSubject("admin", registry.SubjectInput{Kind: registry.KindMerchant, Name: "承德山庄食品有限公司", CreditCode: mkUSCC(t, 710)})
		other := e.createSubject("admin", registry.SubjectInput{Kind: registry.KindMerchant, Name: "承德御品斋食品有限公司", CreditCode: mkUSCC(t, 711)})
		acc, key, err := e.accts.CreateAccount(account.With(context.Background(), account.System),
			account.AccountInput{Name: "承德山庄食品有限公司", Role: account.RoleAgency, SubjectID: maker.ID})
		if err != nil {
			t.Fatal(err)
		}
		e.keys["maker"], e.ids["maker"] = key, acc.ID
		gtin := func(body string) string {
			c, _ := code.GTINCheck(body)
			return body + string(c)
		}
		jam, cake, gift, roll := gtin("690765400001"), gtin("690765400002"), gtin("690765400003"), gtin("690765400004")
		for _, p := range []struct {
			g, name, producer string
		}{{jam, "山楂果浆", maker.CreditCode}, {cake, "山楂糕", maker.CreditCode}, {gift, "山楂糕礼盒", maker.CreditCode}, {roll, "山楂卷", other.CreditCode}} {
			e.want(e.do("POST", "/api/v1/products", "dept", map[string]any{"gtin": p.g, "name": p.name, "category": "食品", "producer_code": p.producer}, true), 201)
		}
		batch := func(g, bn string, inputs ...[2]string) {
			t.Helper()
			body := map[string]any{"gtin": g, "batch": bn, "produced_on": "2026-05-01"}
			var ins []map[string]any
			for _, in := range inputs {
				ins = append(ins, map[string]any{"gtin": in[0], "batch": in[1]})
			}
			if ins != nil {
				body["inputs"] = ins
			}
			e.want(e.do("POST", "/api/v1/batches", "dept", body, true), 201)
		}
		batch(jam, "J1")
		batch(cake, "C1", [2]string{jam, "J1"})
		batch(roll, "X1", [2]string{jam, "J1"})
		batch(gift, "G1", [2]string{cake, "C1"})
		batch(cake, "C9")

		// Without cascade: the answer as before, no cascade list.
		r := e.do("POST", "/api/v1/batches/"+cake+"/C9/recall", "dept", map[string]any{"reason": "标签错误"}, true)
		e.want(r, 201)
		if m := r.m(t); m["cascade"] != nil || m["record_id"] == nil || m["platforms"] == nil {
			t.Errorf("plain recall: %s", r.body)
		}

		// The producer cascades from its own lot.
		path := "/api/v1/batches/" + jam + "/J1/recall"
		e.want(e.do("POST", path, "maker", map[string]any{"cascade": true}, true), 400, "reason")
		r = e.do("POST", path, "maker", map[string]any{"reason": "杀菌温度记录缺失，主动召回", "cascade": true}, true)
		e.want(r, 201)
		var res trace.RecallResultView
		r.json(t, &res)
		if res.GTIN != jam || res.RecordID == 0 || res.Resumed || r.header.Get("Location") == "" || len(res.Cascade) != 3 {
			t.Fatalf("producer's cascade: %s", r.body)
		}
		for i, want := range []struct{ key, status string }{
			{cake + "/C1", trace.CascadeRecalled}, {roll + "/X1", trace.CascadeNotPermitted}, {gift + "/G1", trace.CascadeRecalled},
		} {
			c := res.Cascade[i]
			if c.GTIN+"/"+c.Batch != want.key || c.Status != want.status || c.StatusLabel == "" || (c.RecordID != 0) != (c.Status == trace.CascadeRecalled) ||
				(c.Message != "") != (c.Status == trace.CascadeNotPermitted) {
				t.Errorf("cascade[%d] = %+v, want %s %s", i, c, want.key, want.status)
			}
		}
		if res.Cascade[2].Depth != 2 || res.Cascade[2].Of != cake+"/C1" {
			t.Errorf("the gift box: %+v", res.Cascade[2])
		}

		// Plain again: Conflict; the cascade again goes on (the department
		// may recall the other producer's batch).
		e.want(e.do("POST", path, "dept", map[string]any{"reason": "again"}, true), 409, "batch")
		r = e.do("POST", path, "dept", map[string]any{"cascade": true}, true)
		e.want(r, 200)
		r.json(t, &res)
		if !res.Resumed || len(res.Cascade) != 3 || res.Cascade[1].Status != trace.CascadeRecalled || res.Cascade[0].Status != trace.CascadeAlreadyRecalled ||
			res.Cascade[2].Status != trace.CascadeAlreadyRecalled || res.Reason != "杀菌温度记录缺失，主动召回" {
			t.Fatalf("cascade again: %s", r.body)
		}

		// A cascade from a batch nothing was made from: an empty list.
		r = e.do("POST", "/api/v1/batches/"+gift+"/G1/recall", "dept", map[string]any{"cascade": true}, true)
		e.want(r, 200)
		if !strings.Contains(string(r.body), `"cascade":[]`) {
			t.Errorf("empty cascade: %s", r.body)
		}

		// Platforms find each downstream recall, naming the lot.
		r = e.do("GET", "/api/v1/changes?limit=1000", "platA", nil, true)
		e.want(r, 200)
		var feed struct {
			Items []struct {
				Record struct {
					Fields map[string]string `json:"fields"`
				} `json:"record"`
			} `json:"items"`
		}
		r.json(t, &feed)
		named := 0
		for _, it := range feed.Items {
			if f := it.Record.Fields; f["x:source_batch"] == jam+"/J1" && strings.HasPrefix(f["content"], "原料批次 "+jam+"/J1 已召回：杀菌温度记录缺失") {
				named++
			}
		}
		if named != 3 {
			t.Errorf("%d downstream recalls in the change feed name the lot: %.3000s", named, r.body)
		}

		// The public notice board: every recall, newest first, a page at a
		// time, with its product and producer, for anyone.
		stored, err := e.db.RecentRecalls(context.Background(), 0, 200)
		if err != nil || len(stored) < 4 {
			t.Fatalf("stored recalls: %v %d", err, len(stored))
		}
		var all []trace.PublicRecall
		for cursor, pages := "", 0; ; pages++ {
			r = e.do("GET", "/api/v1/public/recalls?limit=2"+cursor, "", nil, true)
			e.want(r, 200)
			var board Page[trace.PublicRecall]
			r.json(t, &board)
			all = append(all, board.Items...)
			if board.NextCursor == "" || pages > 10 {
				break
			}
			cursor = "&cursor=" + board.NextCursor
		}
		if len(all) != len(stored) {
			t.Fatalf("notice board: %d recalls, %d stored", len(all), len(stored))
		}
		for i, pr := range all {
			if pr.ID != stored[i].ID || pr.Batch != stored[i].Batch || pr.Reason != stored[i].Reason || pr.Producer == nil || pr.ProductName == "" ||
				pr.TraceURL != "/trace/"+pr.GTIN+"/"+pr.Batch {
				t.Errorf("notice %d: %+v, stored %+v", i, pr, stored[i])
			}
		}
		if all[len(all)-1].Batch != "C9" || all[len(all)-1].Producer.Name != "承德山庄食品有限公司" || all[len(all)-1].ProductName != "山楂糕" {
			t.Errorf("the oldest recall: %+v", all[len(all)-1])
		}
		e.want(e.do("GET", "/api/v1/public/recalls?limit=0", "", nil, false), 400, "limit")
		e.want(e.do("GET", "/api/v1/public/recalls?cursor=zz", "", nil, true), 400, "cursor")
		e.want(e.do("GET", "/api/v1/public/recalls?before=3", "", nil, false), 400, "before")
	})
}
