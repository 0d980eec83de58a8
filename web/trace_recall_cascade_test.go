package web

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trace"
)

// TestConsoleRecallCascade: the recall form of a batch others were made
// from offers to recall them too, counting those not recalled; ticked,
// the answer lists what was recalled and what was left (recalled
// before). A batch recalled without it offers to go on with the batches
// made from it.
func TestConsoleRecallCascade(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e, svc := traceEnv(t, db)
		raw := foodBatch(t, svc, e, "690111177778", "鲜山楂（统货）", "R1")
		cake := foodBatch(t, svc, e, "690111188889", "承德山楂糕", "C1")
		gift := foodBatch(t, svc, e, "690111199990", "山楂糕礼盒", "G1")
		made := func(g, bn, ing, ibn string) {
			t.Helper()
			if bn != "C1" && bn != "G1" {
				if _, _, err := svc.CreateBatch(samrCtx, trace.BatchInput{GTIN: g, Batch: bn, ProducedOn: "2025-02-01"}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := svc.AddInputs(samrCtx, g, bn, []trace.InputRef{{GTIN: ing, Batch: ibn}}); err != nil {
				t.Fatal(err)
			}
		}
		made(cake, "C1", raw, "R1")
		made(cake, "C2", raw, "R1") // the sibling, recalled before
		made(gift, "G1", cake, "C1")
		if _, err := svc.Recall(samrCtx, cake, "C2", trace.RecallInput{Reason: "包装破损"}); err != nil {
			t.Fatal(err)
		}
		dept := e.staff(account.RoleDepartment, "samr-cascade")
		const tick = "同时召回以该批次为原料的下游批次"

		page := "/console/trace/" + raw + "/R1"
		st, body := dept.get(page)
		if st != 200 || !strings.Contains(body, tick+"（2 个）") || !strings.Contains(body, `name="cascade"`) {
			t.Fatalf("raw lot's recall form: %d\n%s", st, body)
		}
		if _, body := dept.get("/console/trace/" + gift + "/G1"); strings.Contains(body, tick) {
			t.Error("a batch nothing was made from offers a cascade")
		}
		csrf := csrfOf(t, body)

		// Without the confirming tick: nothing, the cascade tick kept.
		st, body, _ = dept.post(page+"/recall", url.Values{"csrf": {csrf}, "reason": {"农药残留超标"}, "cascade": {"1"}})
		if st != 400 || !strings.Contains(body, "请勾选确认") || !strings.Contains(body, `name="cascade" value="1" checked`) {
			t.Fatalf("cascade without the confirming tick: %d", st)
		}

		st, body, _ = dept.post(page+"/recall", url.Values{"csrf": {csrf}, "reason": {"农药残留超标"}, "confirm": {"1"}, "cascade": {"1"}})
		if st != 200 || !strings.Contains(body, "召回已发布") || !strings.Contains(body, "下游批次召回结果") ||
			!strings.Contains(body, "本次召回 <strong>2</strong> 个，此前已召回 1 个。") ||
			!strings.Contains(body, `href="/console/trace/`+gift+`/G1"`) || !strings.Contains(body, "此前已召回</td>") ||
			!strings.Contains(body, "（经 "+cake+"/C1）") || strings.Count(body, "召回记录</a>") != 3 || !strings.Contains(body, "该批次已召回") {
			t.Fatalf("after the cascade: %d\n%s", st, body)
		}
		for _, k := range [][2]string{{raw, "R1"}, {cake, "C1"}, {gift, "G1"}} {
			rc, err := db.GetRecall(sys, k[0], k[1])
			if err != nil {
				t.Fatalf("%s/%s not recalled: %v", k[0], k[1], err)
			}
			if k[1] != "R1" && !strings.HasPrefix(rc.Reason, "原料批次 "+raw+"/R1 已召回：农药残留超标") {
				t.Errorf("reason of %s/%s: %s", k[0], k[1], rc.Reason)
			}
		}
		// Nothing left: neither form.
		if _, body := dept.get(page); strings.Contains(body, tick) || strings.Contains(body, "召回下游批次</h2>") {
			t.Error("forms for a cascade with nothing left")
		}

		// A lot recalled without cascade offers to go on with its batches.
		if _, _, err := svc.CreateBatch(samrCtx, trace.BatchInput{GTIN: raw, Batch: "R2", ProducedOn: "2025-01-20"}); err != nil {
			t.Fatal(err)
		}
		made(cake, "C3", raw, "R2")
		if _, err := svc.Recall(samrCtx, raw, "R2", trace.RecallInput{Reason: "重金属超标"}); err != nil {
			t.Fatal(err)
		}
		page = "/console/trace/" + raw + "/R2"
		st, body = dept.get(page)
		if st != 200 || !strings.Contains(body, "召回下游批次</h2>") || !strings.Contains(body, "尚有 1 个未召回") || strings.Contains(body, tick) {
			t.Fatalf("recalled lot's cascade form: %d\n%s", st, body)
		}
		st, body, _ = dept.post(page+"/recall", url.Values{"csrf": {csrf}, "cascade": {"1"}, "confirm": {"1"}})
		if st != 200 || !strings.Contains(body, "该批次此前已召回，本次继续召回") || !strings.Contains(body, "本次召回 <strong>1</strong> 个") {
			t.Fatalf("cascade after the recall: %d\n%s", st, body)
		}
		if rc, err := db.GetRecall(sys, cake, "C3"); err != nil || !strings.Contains(rc.Reason, "已召回：重金属超标") {
			t.Fatalf("C3: %v %+v", err, rc)
		}
		// Without cascade, a recalled lot is refused as before.
		if st, _, _ := dept.post(page+"/recall", url.Values{"csrf": {csrf}, "reason": {"再次"}, "confirm": {"1"}}); st != 409 {
			t.Errorf("plain recall of a recalled lot: %d", st)
		}

		// A downstream batch whose recall breaks is reported; sent again,
		// the cascade completes it.
		if _, _, err := svc.CreateBatch(samrCtx, trace.BatchInput{GTIN: raw, Batch: "R3", ProducedOn: "2025-01-20"}); err != nil {
			t.Fatal(err)
		}
		made(cake, "C4", raw, "R3")
		svc.Store = &failRecall{Store: db, batch: "C4"}
		page = "/console/trace/" + raw + "/R3"
		st, body, _ = dept.post(page+"/recall", url.Values{"csrf": {csrf}, "reason": {"霉变"}, "confirm": {"1"}, "cascade": {"1"}})
		if st != 200 || !strings.Contains(body, "本次召回 <strong>0</strong> 个，召回失败 <strong>1</strong> 个") || !strings.Contains(body, "有下游批次召回失败") ||
			!strings.Contains(body, "内部错误") || !strings.Contains(body, "召回下游批次</h2>") {
			t.Fatalf("a failed downstream recall: %d\n%s", st, body)
		}
		svc.Store = db
		st, body, _ = dept.post(page+"/recall", url.Values{"csrf": {csrf}, "cascade": {"1"}, "confirm": {"1"}})
		if st != 200 || !strings.Contains(body, "本次召回 <strong>1</strong> 个") {
			t.Fatalf("the cascade sent again: %d\n%s", st, body)
		}
	})
}

// failRecall is the store whose CreateRecall fails for one batch number.
type failRecall struct {
	trace.Store
	batch string
}

func (f *failRecall) CreateRecall(ctx context.Context, rc *trace.Recall, ev *trace.Event, a *audit.Entry) error {
	if rc.Batch == f.batch {
		return errors.New("connection reset by peer")
	}
	return f.Store.CreateRecall(ctx, rc, ev, a)
}
