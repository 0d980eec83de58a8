package sqlstore_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"ecredit/audit"
	"ecredit/errs"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trace"
)

// failRecallStore is the store whose CreateRecall fails for one batch
// ("gtin/batch") while fail names it: a recall that breaks between its
// credit record and its recall row.
type failRecallStore struct {
	*sqlstore.DB
	fail string
}

func (f *failRecallStore) CreateRecall(c context.Context, rc *trace.Recall, ev *trace.Event, a *audit.Entry) error {
	if rc.GTIN+"/"+rc.Batch == f.fail {
		return errors.New("connection reset by peer")
	}
	return f.DB.CreateRecall(c, rc, ev, a)
}

// TestTraceRecallCascade: a raw lot recalled with cascade recalls every
// batch made from it however far down (raw lot → cake → gift box, and a
// sibling cake), nearest first, each with its own credit record against
// its own producer naming the lot, its recalled event, status and audit
// entry; a batch recalled already is left and reported; a producer
// recalls only its own batches (others not_permitted, the batches below
// them still its own); a failure on one batch keeps the others and is
// reported, and the cascade sent again completes what is left; without
// cascade a recalled batch is a Conflict as before.
func TestTraceRecallCascade(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTraceWorld(t, db)
		farm := mustCreate(t, db, org(t, 530, registry.KindMerchant, "兴隆县山楂种植专业合作社", "130822"))
		other := mustCreate(t, db, org(t, 531, registry.KindMerchant, "承德御品斋食品有限公司", "130802"))
		product := func(body, name string, producer *registry.Subject) string {
			return w.product(t, body, name, "food", producer)
		}
		batch := func(g, bn, on string, inputs ...trace.InputRef) {
			t.Helper()
			if _, _, err := w.svc.CreateBatch(w.dept, trace.BatchInput{GTIN: g, Batch: bn, ProducedOn: on, Inputs: inputs}); err != nil {
				t.Fatal(err)
			}
		}
		in := func(g, bn string) trace.InputRef { return trace.InputRef{GTIN: g, Batch: bn} }
		haw := product("690200000001", "鲜山楂（统货）", farm)
		cake := product("690200000002", "山楂糕", w.producer)
		gift := product("690200000003", "山楂糕礼盒", w.producer)
		roll := product("690200000004", "山楂卷", other)
		batch(haw, "H0920", "2025-09-20")
		batch(cake, "C0201", "2026-02-01", in(haw, "H0920"))
		batch(cake, "C0202", "2026-02-02", in(haw, "H0920")) // the sibling
		batch(gift, "G0201", "2026-02-03", in(cake, "C0201"))
		batch(roll, "R0201", "2026-02-04", in(haw, "H0920")) // another producer's
		seedBatchOrders(t, db, w, gift, "G0201", 4)
		key := func(g, bn string) string { return g + "/" + bn }

		// The sibling was recalled on its own before.
		if _, err := w.svc.Recall(w.dept, cake, "C0202", trace.RecallInput{Reason: "包装破损"}); err != nil {
			t.Fatal(err)
		}
		// Without cascade: the lot alone, as before; again a Conflict.
		res, err := w.svc.Recall(w.dept, roll, "R0201", trace.RecallInput{Reason: "标签错误"})
		if err != nil || res.Cascade != nil || res.Resumed {
			t.Fatalf("plain recall: %v %+v", err, res)
		}
		_, err = w.svc.Recall(w.dept, roll, "R0201", trace.RecallInput{Reason: "again"})
		wantCode(t, err, errs.Conflict, "batch")
		// A cascade still needs a reason for a batch not recalled yet.
		_, err = w.svc.Recall(w.dept, haw, "H0920", trace.RecallInput{Cascade: true})
		wantCode(t, err, errs.Invalid, "reason")
		_, err = w.svc.Recall(w.platformA, haw, "H0920", trace.RecallInput{Reason: "x", Cascade: true})
		wantCode(t, err, errs.Forbidden, "-")

		// The department recalls the lot with cascade.
		const reason = "农药残留（毒死蜱）复检超标"
		res, err = w.svc.Recall(w.dept, haw, "H0920", trace.RecallInput{Reason: reason, Cascade: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Resumed || res.CascadeTruncated || res.CascadeErr != nil || res.GTIN != haw || res.Reason != reason || res.RecordID == 0 {
			t.Fatalf("lot recall: %+v", res)
		}
		type fate struct {
			key, status, of string
			depth           int
		}
		fates := func(res *trace.RecallResult) []fate {
			var out []fate
			for _, c := range res.Cascade {
				out = append(out, fate{key(c.GTIN, c.Batch), c.Status, c.Of, c.Depth})
			}
			return out
		}
		want := []fate{
			{key(cake, "C0201"), trace.CascadeRecalled, key(haw, "H0920"), 1},
			{key(cake, "C0202"), trace.CascadeAlreadyRecalled, key(haw, "H0920"), 1},
			{key(roll, "R0201"), trace.CascadeAlreadyRecalled, key(haw, "H0920"), 1},
			{key(gift, "G0201"), trace.CascadeRecalled, key(cake, "C0201"), 2},
		}
		if got := fates(res); !slices.Equal(got, want) {
			t.Fatalf("cascade:\n got %+v\nwant %+v", got, want)
		}
		lotRecord, err := db.GetRecord(ctx, res.RecordID)
		if err != nil || !strings.Contains(lotRecord.Fields["content"], "已同时召回其中可召回的批次") || lotRecord.Fields["x:source_batch"] != "" {
			t.Fatalf("lot's record: %v %+v", err, lotRecord)
		}
		recordIDs := map[int64]bool{res.RecordID: true}
		for _, c := range res.Cascade {
			if c.RecordID == 0 || recordIDs[c.RecordID] || c.ProductName == "" || c.StatusLabel == "" {
				t.Errorf("downstream %s/%s: record %d, %+v", c.GTIN, c.Batch, c.RecordID, c)
			}
			recordIDs[c.RecordID] = true
		}
		// Each recalled batch: its own record against its own producer,
		// naming the lot (and the batch between), its recall row, its
		// recalled event, its status and its audit entry.
		for _, c := range []struct {
			g, bn, via string
			orders     int64
		}{{cake, "C0201", "", 0}, {gift, "G0201", key(cake, "C0201"), 6}} {
			b, err := db.GetBatch(ctx, c.g, c.bn)
			if err != nil || b.Status != trace.BatchRecalled {
				t.Fatalf("%s/%s: %v %+v", c.g, c.bn, err, b)
			}
			rc, err := db.GetRecall(ctx, c.g, c.bn)
			if err != nil || !strings.HasPrefix(rc.Reason, "原料批次 "+key(haw, "H0920")+" 已召回：") || !strings.HasSuffix(rc.Reason, reason) ||
				rc.Orders != c.orders || rc.ActorName != "承德市市场监督管理局" {
				t.Fatalf("recall row of %s/%s: %v %+v", c.g, c.bn, err, rc)
			}
			r, err := db.GetRecord(ctx, rc.RecordID)
			if err != nil {
				t.Fatal(err)
			}
			f := r.Fields
			if r.SubjectID != w.producer.ID || f["x:source_batch"] != key(haw, "H0920") || f["x:source_record"] != strconv.FormatInt(res.RecordID, 10) ||
				f["x:source_via"] != c.via || f["x:gtin"] != c.g || f["x:batch"] != c.bn || f["nature"] != "negative" ||
				!strings.Contains(f["content"], "原料批次 "+key(haw, "H0920")+" 已召回") || f["x:affected_orders"] != strconv.FormatInt(c.orders, 10) {
				t.Errorf("record of %s/%s: %+v", c.g, c.bn, f)
			}
			evs, err := db.BatchEvents(ctx, c.g, c.bn, []trace.EventType{trace.EventRecalled}, trace.EventCursor{}, 10)
			if err != nil || len(evs) != 1 || evs[0].Ref != strconv.FormatInt(rc.RecordID, 10) {
				t.Errorf("recalled event of %s/%s: %v %+v", c.g, c.bn, err, evs)
			}
			var n int
			if err := db.ReaderDB().QueryRowContext(ctx, db.Dialect().Rebind("SELECT COUNT(*) FROM audit_log WHERE object LIKE 'trace_recall:%' AND detail = ?"),
				key(c.g, c.bn)).Scan(&n); err != nil || n != 1 {
				t.Errorf("audit of %s/%s: %v %d", c.g, c.bn, err, n)
			}
		}
		gr, _ := db.GetRecall(ctx, gift, "G0201")
		if r, _ := db.GetRecord(ctx, gr.RecordID); r == nil || !strings.Contains(r.Fields["x:platforms"], w.platA.CreditCode+":4") {
			t.Errorf("the gift box's record names its platforms: %+v", r)
		}

		// Sent again: nothing left, nothing written; plain again: Conflict.
		again, err := w.svc.Recall(w.dept, haw, "H0920", trace.RecallInput{Cascade: true})
		if err != nil || !again.Resumed || again.RecordID != res.RecordID || again.Count(trace.CascadeAlreadyRecalled) != 4 {
			t.Fatalf("cascade again: %v %+v", err, again)
		}
		_, err = w.svc.Recall(w.dept, haw, "H0920", trace.RecallInput{Reason: reason})
		wantCode(t, err, errs.Conflict, "batch")

		// A producer recalls its own semi-finished lot with cascade: its
		// own batches go, another producer's is not_permitted — the batch
		// made from that one is still the producer's own, and goes; one
		// whose recall breaks is reported failed, the others stand.
		jam := product("690200000005", "山楂果浆（半成品）", w.producer)
		pie := product("690200000006", "山楂派", other)
		batch(jam, "J0301", "2026-02-10")
		batch(cake, "C0302", "2026-02-11", in(jam, "J0301"))
		batch(pie, "P0302", "2026-02-11", in(jam, "J0301"))
		batch(gift, "G0303", "2026-02-12", in(pie, "P0302"))
		batch(cake, "C0303", "2026-02-12", in(jam, "J0301"))
		fs := &failRecallStore{DB: db, fail: key(cake, "C0303")}
		svc := &trace.Service{Store: fs, Subjects: db, Records: db, Recorder: w.recs, Clock: w.clk}
		res, err = svc.Recall(w.produce, jam, "J0301", trace.RecallInput{Reason: "果浆杀菌温度记录缺失，主动召回", Cascade: true})
		if err != nil {
			t.Fatal(err)
		}
		want = []fate{
			{key(cake, "C0302"), trace.CascadeRecalled, key(jam, "J0301"), 1},
			{key(pie, "P0302"), trace.CascadeNotPermitted, key(jam, "J0301"), 1},
			{key(cake, "C0303"), trace.CascadeFailed, key(jam, "J0301"), 1},
			{key(gift, "G0303"), trace.CascadeRecalled, key(pie, "P0302"), 2},
		}
		if got := fates(res); !slices.Equal(got, want) {
			t.Fatalf("producer's cascade:\n got %+v\nwant %+v", got, want)
		}
		if c := res.Cascade[1]; c.Message == "" || c.RecordID != 0 {
			t.Errorf("not permitted: %+v", c)
		}
		if c := res.Cascade[2]; c.Message == "" || c.Err == nil || errs.CodeOf(c.Err) != errs.Internal || c.RecordID != 0 {
			t.Errorf("failed: %+v", c)
		}
		if b, _ := db.GetBatch(ctx, pie, "P0302"); b.Status != trace.BatchNormal {
			t.Errorf("another producer's batch recalled by the producer: %+v", b)
		}
		if b, _ := db.GetBatch(ctx, cake, "C0303"); b.Status != trace.BatchNormal {
			t.Errorf("failed recall left the batch %+v", b)
		}
		gr, err = db.GetRecall(ctx, gift, "G0303")
		if err != nil {
			t.Fatal(err)
		}
		if r, err := db.GetRecord(ctx, gr.RecordID); err != nil || r.Source != trace.RecallSource || r.Fields["department"] != w.producer.Name || r.Fields["x:source_via"] != key(pie, "P0302") {
			t.Errorf("producer's cascaded record: %v %+v", err, r)
		}

		// Sent again by the producer once the store is back: the failed
		// batch is completed (its record, written before the break, is
		// linked, not written twice); the other producer's still not.
		fs.fail = ""
		again, err = svc.Recall(w.produce, jam, "J0301", trace.RecallInput{Cascade: true})
		if err != nil || !again.Resumed {
			t.Fatalf("producer's cascade again: %v %+v", err, again)
		}
		want = []fate{
			{key(cake, "C0302"), trace.CascadeAlreadyRecalled, key(jam, "J0301"), 1},
			{key(pie, "P0302"), trace.CascadeNotPermitted, key(jam, "J0301"), 1},
			{key(cake, "C0303"), trace.CascadeRecalled, key(jam, "J0301"), 1},
			{key(gift, "G0303"), trace.CascadeAlreadyRecalled, key(pie, "P0302"), 2},
		}
		if got := fates(again); !slices.Equal(got, want) {
			t.Fatalf("producer's cascade again:\n got %+v\nwant %+v", got, want)
		}
		var n int
		if err := db.ReaderDB().QueryRowContext(ctx, db.Dialect().Rebind("SELECT COUNT(*) FROM records WHERE source_ref = ?"),
			trace.RecallRef(cake, "C0303")).Scan(&n); err != nil || n != 1 {
			t.Errorf("records of the completed batch: %v %d", err, n)
		}
		// The department completes the rest.
		again, err = w.svc.Recall(w.dept, jam, "J0301", trace.RecallInput{Cascade: true})
		if err != nil || again.Count(trace.CascadeRecalled) != 1 || again.Cascade[1].Status != trace.CascadeRecalled || again.Count(trace.CascadeAlreadyRecalled) != 3 {
			t.Fatalf("department completes the cascade: %v %+v", err, again)
		}
		if b, _ := db.GetBatch(ctx, pie, "P0302"); b.Status != trace.BatchRecalled {
			t.Errorf("the other producer's batch after the department's cascade: %+v", b)
		}
	})
}
