package sqlstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/clock"
	"ecredit/code"
	"ecredit/errs"
	"ecredit/logistics"
	"ecredit/record"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trace"
)

// gtin13 makes a valid GTIN-13 from 12 digits.
func gtin13(tb testing.TB, body string) string {
	tb.Helper()
	c, err := code.GTINCheck(body)
	if err != nil {
		tb.Fatal(err)
	}
	return body + string(c)
}

// traceWorld is a small city for trace tests: a producer, two platforms,
// two sellers with food shops, services over the store.
type traceWorld struct {
	svc                *trace.Service
	recs               *record.Service
	clk                *clock.Fake
	producer           *registry.Subject
	platA, platB       *registry.Subject
	seller1, seller2   *registry.Subject
	shopA1, shopB2     *registry.Shop
	dept, platformA    context.Context
	platformB, produce context.Context
	logistics, public  context.Context
}

func newTraceWorld(t *testing.T, db *sqlstore.DB) *traceWorld {
	t.Helper()
	w := &traceWorld{clk: clock.NewFake(t0)}
	db.SetClock(w.clk)
	w.recs = &record.Service{Store: db, Subjects: db, Keys: testKeys(t), Clock: w.clk}
	w.svc = &trace.Service{Store: db, Subjects: db, Records: db, Recorder: w.recs, Clock: w.clk}
	w.producer = mustCreate(t, db, org(t, 501, registry.KindMerchant, "承德山庄食品有限公司", "130821"))
	w.platA = mustCreate(t, db, org(t, 502, registry.KindPlatform, "甲电商平台", "130802"))
	w.platB = mustCreate(t, db, org(t, 503, registry.KindPlatform, "乙电商平台", "130802"))
	w.seller1 = mustCreate(t, db, org(t, 504, registry.KindMerchant, "双桥区好味食品店", "130802"))
	w.seller2 = mustCreate(t, db, org(t, 505, registry.KindMerchant, "兴隆县山货店", "130822"))
	shop := func(p, o *registry.Subject, name string) *registry.Shop {
		sh := &registry.Shop{PlatformID: p.ID, OwnerID: o.ID, Name: name, Category: "food", Status: registry.StatusActive, CreatedAt: t0, UpdatedAt: t0}
		if err := db.CreateShop(ctx, sh, nil); err != nil {
			t.Fatal(err)
		}
		return sh
	}
	w.shopA1 = shop(w.platA, w.seller1, "好味食品旗舰店")
	w.shopB2 = shop(w.platB, w.seller2, "山货小铺")
	w.dept = actor(account.RoleDepartment, 11, 0, "承德市市场监督管理局")
	w.platformA = actor(account.RolePlatform, 12, w.platA.ID, "甲平台")
	w.platformB = actor(account.RolePlatform, 13, w.platB.ID, "乙平台")
	w.produce = actor(account.RoleAgency, 14, w.producer.ID, "承德山庄食品有限公司")
	w.logistics = actor(account.RoleLogistics, 15, 0, "快递公司")
	w.public = account.With(ctx, account.Public("1.2.3.4", "req-public"))
	return w
}

// product registers a product of the producer, its GTIN the body (12
// digits) with its check digit; it returns the GTIN.
func (w *traceWorld) product(t *testing.T, body, name, category string, producer *registry.Subject) string {
	t.Helper()
	g := gtin13(t, body)
	if _, _, err := w.svc.CreateProduct(w.dept, trace.ProductInput{GTIN: g, Name: name, Category: category, ProducerCode: producer.CreditCode}); err != nil {
		t.Fatal(err)
	}
	return g
}

// productBatch registers the producer's food product of the GTIN body
// (12 digits, check digit added) and a batch of it; it returns the GTIN.
func (w *traceWorld) productBatch(t *testing.T, body, batch, producedOn string) string {
	t.Helper()
	g := w.product(t, body, "山楂糕", "food", w.producer)
	if _, _, err := w.svc.CreateBatch(w.dept, trace.BatchInput{GTIN: g, Batch: batch, ProducedOn: producedOn}); err != nil {
		t.Fatal(err)
	}
	return g
}

// seedBatchOrders seeds orders holding the batch: n on platform A (shop
// A1), n/2 on platform B, to Chengde counties and to Beijing; the first
// order has the batch on two lines.
func seedBatchOrders(t *testing.T, db *sqlstore.DB, w *traceWorld, gtin, batch string, n int) int64 {
	regions := []string{"130802", "130821", "110105"}
	return storetest.InsertOrders(t, db, n+n/2, func(i int) storetest.Order {
		o := storetest.Order{PlatformID: w.platA.ID, ShopID: w.shopA1.ID, SellerID: w.seller1.ID, Region: regions[i%3],
			PaidAt: t0.Add(time.Duration(i) * time.Hour), OrderNo: fmt.Sprintf("A-%d", i),
			Items: []storetest.Item{{GTIN: gtin, Batch: batch, Name: "山楂糕", Category: "食品", Quantity: 1 + i%3, PriceFen: 1590}}}
		if i >= n {
			o.PlatformID, o.ShopID, o.SellerID, o.OrderNo = w.platB.ID, w.shopB2.ID, w.seller2.ID, fmt.Sprintf("B-%d", i)
		}
		if i == 0 {
			o.Items = append(o.Items, storetest.Item{GTIN: gtin, Batch: batch, Name: "山楂糕（赠品）", Quantity: 1})
		}
		return o
	})
}

func TestTraceProductsBatchesEvents(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTraceWorld(t, db)
		g := gtin13(t, "690123456789")
		pin := trace.ProductInput{GTIN: g, Name: "山楂糕", Category: "食品", Brand: "山庄", Spec: "500g", ProducerCode: w.producer.CreditCode}

		// Products: bad input, access, idempotency.
		bad := pin
		bad.GTIN = g[:12] + string('0'+(g[12]-'0'+1)%10)
		_, _, err := w.svc.CreateProduct(w.dept, bad)
		wantCode(t, err, errs.Invalid, "gtin")
		bad = pin
		bad.Category = "玩具"
		_, _, err = w.svc.CreateProduct(w.dept, bad)
		wantCode(t, err, errs.Invalid, "category")
		bad = pin
		bad.ProducerCode = uscc(t, 999)
		_, _, err = w.svc.CreateProduct(w.dept, bad)
		wantCode(t, err, errs.Invalid, "producer_code")
		_, _, err = w.svc.CreateProduct(w.platformA, pin)
		wantCode(t, err, errs.Forbidden, "-")
		_, _, err = w.svc.CreateProduct(w.public, pin)
		wantCode(t, err, errs.Unauthorized, "-")
		p, st, err := w.svc.CreateProduct(w.produce, pin)
		if err != nil || st != trace.ResultCreated || p.Category != "food" || p.ProducerID != w.producer.ID {
			t.Fatalf("create product: %v %s %+v", err, st, p)
		}
		if _, st, err = w.svc.CreateProduct(w.dept, pin); err != nil || st != trace.ResultUnchanged {
			t.Fatalf("again: %v %s", err, st)
		}
		changed := pin
		changed.Name = "山楂条"
		_, _, err = w.svc.CreateProduct(w.dept, changed)
		wantCode(t, err, errs.Conflict, "gtin")

		// Batches.
		bin := trace.BatchInput{GTIN: g, Batch: "L20260210", ProducedOn: "2026-02-10", ExpiresOn: "2026-08-09", Quantity: 5000}
		for _, c := range []struct {
			mut   func(*trace.BatchInput)
			field string
		}{
			{func(b *trace.BatchInput) { b.ProducedOn = "2026-03-05" }, "produced_on"},
			{func(b *trace.BatchInput) { b.ExpiresOn = "2026-01-01" }, "expires_on"},
			{func(b *trace.BatchInput) { b.Batch = "L 2026/02" }, "batch"},
			{func(b *trace.BatchInput) { b.GTIN = gtin13(t, "690123456780") }, "gtin"},
			{func(b *trace.BatchInput) { b.Quantity = -1 }, "quantity"},
		} {
			in := bin
			c.mut(&in)
			_, _, err := w.svc.CreateBatch(w.dept, in)
			wantCode(t, err, errs.Invalid, c.field)
		}
		_, _, err = w.svc.CreateBatch(w.platformB, bin)
		wantCode(t, err, errs.Forbidden, "-")
		b, st, err := w.svc.CreateBatch(w.produce, bin)
		if err != nil || st != trace.ResultCreated || b.Status != trace.BatchNormal {
			t.Fatalf("create batch: %v %s %+v", err, st, b)
		}
		if _, st, _ := w.svc.CreateBatch(w.dept, bin); st != trace.ResultUnchanged {
			t.Fatalf("batch again: %s", st)
		}

		// Events: a batch with good and bad lines.
		ev := func(id string, typ trace.EventType, at string) trace.EventInput {
			return trace.EventInput{EventID: id, Type: typ, GTIN: g, Batch: "L20260210", Time: at}
		}
		produced := ev("p1", trace.EventProduced, "2026-02-10T08:00:00+08:00")
		produced.SubjectCode, produced.Quantity = w.producer.CreditCode, 5000
		inspected := ev("i1", trace.EventInspected, "2026-02-11T10:00:00+08:00")
		inspected.Disposition, inspected.Ref = "conformant", "JC2026-0211-01"
		noResult := ev("i2", trace.EventInspected, "2026-02-11T10:00:00+08:00")
		noResult.Ref = "JC2026-0211-02"
		early := ev("e1", trace.EventProduced, "2026-02-01T08:00:00+08:00")
		future := ev("e2", trace.EventProduced, "2026-04-01T08:00:00+08:00")
		recalled := ev("e3", trace.EventRecalled, "2026-02-12T08:00:00+08:00")
		badRegion := ev("e4", trace.EventProduced, "2026-02-12T08:00:00+08:00")
		badRegion.Region = "999999"
		unknownBatch := ev("e5", trace.EventProduced, "2026-02-12T08:00:00+08:00")
		unknownBatch.Batch = "NOPE"
		res, err := w.svc.IngestEvents(w.produce, []trace.EventInput{produced, inspected, noResult, early, future, recalled, badRegion, unknownBatch, produced})
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			status, field string
		}{{"created", ""}, {"created", ""}, {"error", "disposition"}, {"error", "time"}, {"error", "time"}, {"error", "type"},
			{"error", "region"}, {"error", "batch"}, {"unchanged", ""}}
		for i, w := range want {
			if res[i].Status != w.status || (w.field != "" && errs.FieldOf(res[i].Err) != w.field) || res[i].Line != i+1 {
				t.Errorf("line %d: %s %v, want %s %s", i+1, res[i].Status, res[i].Err, w.status, w.field)
			}
		}
		if res[8].ID != res[0].ID || res[0].ID == 0 {
			t.Errorf("repeat within batch: ids %d, %d", res[0].ID, res[8].ID)
		}
		if res[0].Event.Region != "130821" || res[0].Event.BizStep != "commissioning" {
			t.Errorf("produced event: %+v", res[0].Event)
		}
		// Again: unchanged; same id with other content: conflict.
		res, _ = w.svc.IngestEvents(w.produce, []trace.EventInput{inspected})
		if res[0].Status != trace.ResultUnchanged {
			t.Errorf("resubmit: %+v", res[0])
		}
		other := inspected
		other.Disposition = "non_conformant"
		res, _ = w.svc.IngestEvents(w.produce, []trace.EventInput{other})
		if res[0].Status != trace.ResultError || !errs.Is(res[0].Err, errs.Conflict) {
			t.Errorf("same id, other content: %+v", res[0])
		}

		// Roles: platforms list on their own shops; logistics ship; the
		// public and other roles may not.
		listed := ev("l1", trace.EventListed, "2026-02-15T09:00:00+08:00")
		listed.ShopID = w.shopB2.ID
		if _, err := w.svc.IngestEvent(w.platformA, listed); !errs.Is(err, errs.Forbidden) {
			t.Errorf("listing on another platform's shop: %v", err)
		}
		listed.ShopID = 0
		if _, err := w.svc.IngestEvent(w.platformA, listed); errs.FieldOf(err) != "shop_id" {
			t.Errorf("listing without shop: %v", err)
		}
		listed.ShopID = w.shopA1.ID
		if _, err := w.svc.IngestEvent(w.platformA, listed); err != nil {
			t.Errorf("listing: %v", err)
		}
		shipped := ev("s1", trace.EventShipped, "2026-02-16T09:00:00+08:00")
		shipped.RefType, shipped.Ref = "waybill", "SF1234567890"
		if _, err := w.svc.IngestEvent(w.logistics, shipped); err != nil {
			t.Errorf("shipped: %v", err)
		}
		if _, err := w.svc.IngestEvent(w.logistics, ev("x1", trace.EventInspected, "2026-02-16T09:00:00+08:00")); !errs.Is(err, errs.Forbidden) && !errs.Is(err, errs.Invalid) {
			t.Errorf("logistics inspecting: %v", err)
		}
		if _, err := w.svc.IngestEvents(w.public, []trace.EventInput{shipped}); !errs.Is(err, errs.Unauthorized) {
			t.Errorf("public: %v", err)
		}
		evs, err := db.BatchEvents(ctx, g, "L20260210", nil, trace.EventCursor{}, 100)
		if err != nil || len(evs) != 4 {
			t.Fatalf("stored events: %d %v", len(evs), err)
		}
		if _, err := db.WriterDB().ExecContext(ctx, db.Dialect().Rebind("UPDATE trace_events SET note = 'x' WHERE id = ?"), evs[0].ID); err == nil {
			t.Error("trace_events accepted an update")
		}
	})
}

func TestTraceForwardBackwardRecall(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTraceWorld(t, db)
		g := gtin13(t, "690123456789")
		if _, _, err := w.svc.CreateProduct(w.dept, trace.ProductInput{GTIN: g, Name: "山楂糕", Category: "food", ProducerCode: w.producer.CreditCode}); err != nil {
			t.Fatal(err)
		}
		for _, bn := range []string{"L1", "L2"} {
			if _, _, err := w.svc.CreateBatch(w.dept, trace.BatchInput{GTIN: g, Batch: bn, ProducedOn: "2026-02-01"}); err != nil {
				t.Fatal(err)
			}
		}
		in := trace.EventInput{EventID: "i1", Type: trace.EventInspected, GTIN: g, Batch: "L1", Time: "2026-02-02T10:00:00+08:00",
			Disposition: "conformant", Ref: "JC-1", SubjectCode: w.producer.CreditCode}
		if _, err := w.svc.IngestEvent(w.dept, in); err != nil {
			t.Fatal(err)
		}
		sold := trace.EventInput{EventID: "sold1", Type: trace.EventSold, GTIN: g, Batch: "L1", Time: "2026-02-03T10:00:00+08:00",
			ShopID: w.shopA1.ID, RefType: "order", Ref: "A-0"}
		if _, err := w.svc.IngestEvent(w.platformA, sold); err != nil {
			t.Fatal(err)
		}
		// Orders are stored padded to GTIN-14 on purpose: the trace finds them either way.
		first := seedBatchOrders(t, db, w, "0"+g, "L1", 20)
		// Noise: another batch.
		storetest.InsertOrders(t, db, 5, func(i int) storetest.Order {
			return storetest.Order{PlatformID: w.platA.ID, ShopID: w.shopA1.ID, SellerID: w.seller1.ID, Region: "130802", PaidAt: t0,
				Items: []storetest.Item{{GTIN: g, Batch: "L2", Quantity: 1, PriceFen: 100}}}
		})
		// A licence for the producer; seller 2 has a valid one, seller 1 an expired one.
		lic := func(sub *registry.Subject, doc, until string) {
			t.Helper()
			_, err := w.recs.Ingest(w.dept, record.Input{Type: record.TypeLicence, Fields: map[string]string{
				"subject_name": sub.Name, "credit_code": sub.CreditCode, "doc_no": doc, "content": "预包装食品销售",
				"certificate_name": "食品经营许可证", "decision_date": "2021-01-05", "valid_from": "2021-01-05", "valid_until": until, "authority": "承德市行政审批局"}})
			if err != nil {
				t.Fatal(err)
			}
		}
		lic(w.producer, "承审批食〔2021〕1号", "2026-12-31")
		lic(w.seller2, "承审批食〔2021〕2号", "2026-12-31")
		lic(w.seller1, "承审批食〔2021〕3号", "2025-12-31")

		// Forward as a department: every order.
		ft, err := w.svc.Forward(w.dept, g, "L1", 0, 25)
		if err != nil {
			t.Fatal(err)
		}
		// 30 orders; quantities 1+i%3 plus the gift on the first.
		var qty int64 = 1
		for i := 0; i < 30; i++ {
			qty += int64(1 + i%3)
		}
		if ft.Scope != "all" || ft.Reach.Orders != 30 || ft.Reach.Quantity != qty || ft.Reach.Shops != 2 || len(ft.Reach.Platforms) != 2 {
			t.Fatalf("reach: %s %+v", ft.Scope, ft.Reach)
		}
		if ft.Reach.Platforms[0].PlatformID != w.platA.ID || ft.Reach.Platforms[0].Orders != 20 || ft.Reach.Platforms[0].Name != "甲电商平台" {
			t.Errorf("platforms: %+v", ft.Reach.Platforms)
		}
		if len(ft.Reach.Regions) != 3 || ft.Reach.Regions[0].Orders != 10 || ft.Reach.Regions[0].Name == "" {
			t.Errorf("regions: %+v", ft.Reach.Regions)
		}
		if len(ft.Orders) != 25 || ft.NextCursor != ft.Orders[24].OrderID || ft.Orders[0].OrderID != first || ft.Orders[0].Quantity != 2 {
			t.Fatalf("page: %d next %d first %+v", len(ft.Orders), ft.NextCursor, ft.Orders[0])
		}
		page2, err := w.svc.Forward(w.dept, g, "L1", ft.NextCursor, 25)
		if err != nil || len(page2.Orders) != 5 || page2.NextCursor != 0 {
			t.Fatalf("page 2: %v %+v", err, page2)
		}
		// A platform sees its own orders only; the producer only totals.
		fa, err := w.svc.Forward(w.platformA, g, "L1", 0, 100)
		if err != nil || fa.Scope != "platform" || fa.Reach.Orders != 20 || len(fa.Orders) != 20 || len(fa.Reach.Platforms) != 1 {
			t.Fatalf("platform forward: %v %+v", err, fa)
		}
		fp, err := w.svc.Forward(w.produce, g, "L1", 0, 100)
		if err != nil || fp.Scope != "producer" || fp.Reach.Orders != 30 || len(fp.Orders) != 0 {
			t.Fatalf("producer forward: %v %+v", err, fp)
		}
		if _, err := w.svc.Forward(w.logistics, g, "L1", 0, 10); !errs.Is(err, errs.Forbidden) {
			t.Errorf("logistics forward: %v", err)
		}
		if _, err := w.svc.Forward(w.dept, g, "NOPE", 0, 10); !errs.Is(err, errs.NotFound) {
			t.Errorf("unknown batch: %v", err)
		}

		// Public: no order numbers, cities not counties, only public events.
		pt, err := w.svc.Public(w.public, g, "L1")
		if err != nil {
			t.Fatal(err)
		}
		js, _ := json.Marshal(pt)
		if strings.Contains(string(js), "A-0") || strings.Contains(string(js), "buyer") || strings.Contains(string(js), "event_id") {
			t.Errorf("public trace leaks orders: %s", js)
		}
		if len(pt.Timeline) != 1 || pt.Timeline[0].Type != trace.EventInspected || len(pt.EventCounts) != 2 {
			t.Errorf("public timeline: %+v counts %+v", pt.Timeline, pt.EventCounts)
		}
		if len(pt.Reach.Regions) != 2 || pt.Reach.Regions[0].Region != "130800" || pt.Reach.Regions[0].Orders != 20 {
			t.Errorf("public regions: %+v", pt.Reach.Regions)
		}
		if !pt.Licence.Required || pt.Licence.Producer == nil || pt.Licence.Producer.Flagged || pt.Licence.CheckedShops != 2 || pt.Licence.UnlicensedShops != 1 {
			t.Errorf("public licence: %+v %+v", pt.Licence, pt.Licence.Producer)
		}

		// Backward: platform A's own order; not platform B's.
		bt, err := w.svc.Backward(w.platformA, first)
		if err != nil {
			t.Fatal(err)
		}
		if len(bt.Items) != 2 || !bt.Items[0].Found || bt.Items[0].Producer.ID != w.producer.ID || len(bt.Items[0].Inspections) != 1 ||
			len(bt.Items[0].ProducerLicences) != 1 || bt.Items[0].SellerLicence == nil || !bt.Items[0].SellerLicence.Flagged {
			t.Fatalf("backward: %+v", bt.Items[0])
		}
		if !strings.Contains(bt.Items[0].SellerLicence.Reason, "过期") {
			t.Errorf("seller 1's licence expired: %+v", bt.Items[0].SellerLicence)
		}
		if bt.Order.Seller.ID != w.seller1.ID || bt.Order.ShopName != "好味食品旗舰店" {
			t.Errorf("order: %+v", bt.Order)
		}
		if _, err := w.svc.Backward(w.platformB, first); !errs.Is(err, errs.NotFound) {
			t.Errorf("other platform's order: %v", err)
		}
		if _, err := w.svc.Backward(w.dept, first+1000); !errs.Is(err, errs.NotFound) {
			t.Errorf("unknown order: %v", err)
		}

		// Licence flags per seller / shop.
		f1, err := w.svc.LicenceFlags(w.dept, w.seller1.ID, 0)
		if err != nil || f1.Flagged != 1 || len(f1.Flags) != 1 || f1.Flags[0].Category != "food" {
			t.Fatalf("seller 1 flags: %v %+v", err, f1)
		}
		f2, err := w.svc.LicenceFlags(w.platformB, 0, w.shopB2.ID)
		if err != nil || f2.Flagged != 0 || !f2.Flags[0].Licensed || f2.Flags[0].Licence != "承审批食〔2021〕2号" {
			t.Fatalf("shop B2 flags: %v %+v", err, f2)
		}
		if _, err := w.svc.LicenceFlags(w.platformA, 0, w.shopB2.ID); !errs.Is(err, errs.NotFound) {
			t.Errorf("platform A on B's shop: %v", err)
		}
		if _, err := w.svc.LicenceFlags(w.dept, 0, 0); errs.FieldOf(err) != "seller" {
			t.Errorf("no seller: %v", err)
		}

		// Recall: platforms may not; a department may, once.
		if _, err := w.svc.Recall(w.platformA, g, "L1", trace.RecallInput{Reason: "菌落总数超标"}); !errs.Is(err, errs.Forbidden) {
			t.Errorf("platform recall: %v", err)
		}
		if _, err := w.svc.Recall(w.dept, g, "L1", trace.RecallInput{}); errs.FieldOf(err) != "reason" {
			t.Errorf("recall without reason: %v", err)
		}
		rc, err := w.svc.Recall(w.dept, g, "L1", trace.RecallInput{Reason: "抽检菌落总数超标"})
		if err != nil {
			t.Fatal(err)
		}
		if rc.Orders != 30 || len(rc.Platforms) != 2 || rc.RecordID == 0 {
			t.Fatalf("recall: %+v", rc)
		}
		if _, err := w.svc.Recall(w.dept, g, "L1", trace.RecallInput{Reason: "again"}); !errs.Is(err, errs.Conflict) {
			t.Errorf("second recall: %v", err)
		}
		// The recall is a credit record in the change feed that platforms read.
		changes, _, err := w.recs.Changes(w.platformA, "0", 1000)
		if err != nil {
			t.Fatal(err)
		}
		var found *record.Record
		for _, c := range changes {
			if c.Record.ID == rc.RecordID {
				found = c.Record
			}
		}
		if found == nil || found.Type != record.TypeOther || found.Fields["x:gtin"] != g || found.Fields["x:batch"] != "L1" ||
			!strings.Contains(found.Fields["x:platforms"], w.platA.CreditCode+":20") || found.SubjectID != w.producer.ID {
			t.Fatalf("recall record in the feed: %+v", found)
		}
		pt, _ = w.svc.Public(w.public, g, "L1")
		if pt.Recall == nil || pt.Batch.Status != trace.BatchRecalled || pt.Timeline[len(pt.Timeline)-1].Type != trace.EventRecalled {
			t.Errorf("public after recall: %+v", pt)
		}
		// The producer recalls its other batch itself (every recall record
		// has one source; the department field names the producer).
		rc2, err := w.svc.Recall(w.produce, g, "L2", trace.RecallInput{Reason: "包装标签错误，主动召回"})
		if err != nil || rc2.Orders != 5 {
			t.Fatalf("producer recall: %v %+v", err, rc2)
		}
		r2, err := db.GetRecord(ctx, rc2.RecordID)
		if err != nil || r2.Source != trace.RecallSource || r2.Fields["department"] != w.producer.Name {
			t.Fatalf("producer recall record: %v %+v", err, r2)
		}
	})
}

// TestTraceCreateEventsBulk: a batch of events is numbered in order and
// stored whole; one event id the source used already fails the whole
// batch as a Conflict, with no id left set and nothing stored.
func TestTraceCreateEventsBulk(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTraceWorld(t, db)
		g := w.productBatch(t, "690123456781", "K1", "2026-02-01")
		mk := func(from, n int) []*trace.Event {
			var out []*trace.Event
			for i := from; i < from+n; i++ {
				out = append(out, &trace.Event{SourceKey: "account:9", EventID: fmt.Sprintf("E%d", i), Type: trace.EventListed, GTIN: g, Batch: "K1",
					At: t0.Add(time.Duration(i) * time.Minute), BizStep: "stocking", RecordedAt: t0})
			}
			return out
		}
		evs := mk(0, 313) // 250 + 50 + 10 + 1 + 1 + 1
		if err := db.CreateEvents(ctx, evs, nil); err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(evs); i++ {
			if evs[i].ID != evs[i-1].ID+1 && db.Engine() == sqlstore.EngineSQLite || evs[i].ID <= evs[i-1].ID {
				t.Fatalf("ids %d then %d", evs[i-1].ID, evs[i].ID)
			}
		}
		again := mk(312, 5) // E312 is stored
		err := db.CreateEvents(ctx, again, nil)
		wantCode(t, err, errs.Conflict, "-")
		for _, e := range again {
			if e.ID != 0 {
				t.Errorf("event %s kept id %d", e.EventID, e.ID)
			}
		}
		got, err := db.BatchEvents(ctx, g, "K1", nil, trace.EventCursor{}, 1000)
		if err != nil || len(got) != 313 || got[0].EventID != "E0" || got[312].EventID != "E312" || !got[5].At.Equal(evs[5].At) {
			t.Errorf("stored %d events: %v", len(got), err)
		}
	})
}

// TestTraceOrderLifecycle: an order's backward trace lists every step on
// record in time order — the listing in its shop, payment, the carrier's
// tracking (pickup … signing by whom), the review, 追评 and its fold, the
// seller's rating of the buyer, a complaint naming the order — and falls
// back to the order's own times when the carrier reported no parcel.
func TestTraceOrderLifecycle(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTraceWorld(t, db)
		g := w.productBatch(t, "690123456782", "LC1", "2026-01-05")
		firm := mustCreate(t, db, org(t, 506, registry.KindLogistics, "承德快运有限公司", "130802"))
		paid := time.Date(2026, 2, 10, 2, 0, 0, 0, time.UTC)
		first := storetest.InsertOrders(t, db, 2, func(i int) storetest.Order {
			return storetest.Order{PlatformID: w.platA.ID, ShopID: w.shopA1.ID, SellerID: w.seller1.ID, OrderNo: fmt.Sprintf("LC-%d", i), Region: "110105",
				PaidAt: paid, Items: []storetest.Item{{GTIN: "0" + g, Batch: "LC1", Quantity: 2, PriceFen: 1590}}}
		})
		at := func(h int) int64 { return paid.Add(time.Duration(h) * time.Hour).UnixMicro() }
		for i, wb := range []string{"SF100", "SF200"} {
			if _, err := db.WriterDB().ExecContext(ctx, db.Dialect().Rebind("UPDATE orders SET waybill = ?, carrier_id = ?, shipped_at = ?, signed_at = ?, status = 'signed' WHERE id = ?"),
				wb, firm.ID, at(5), at(30), first+int64(i)); err != nil {
				t.Fatal(err)
			}
		}
		// The carrier reports the first order's parcel only.
		p := &logistics.Parcel{FirmID: firm.ID, Waybill: "SF100", Origin: "130802", Dest: "110105", Status: logistics.StatusCreated,
			CreatedAt: paid.Add(4 * time.Hour), UpdatedAt: paid.Add(4 * time.Hour), Version: 1}
		if err := db.SaveParcels(ctx, []*logistics.Parcel{p}, nil); err != nil {
			t.Fatal(err)
		}
		var evs []*logistics.Event
		for _, e := range []struct {
			typ    logistics.EventType
			h      int
			detail string
		}{{logistics.EventPickedUp, 5, ""}, {logistics.EventInTransit, 12, ""}, {logistics.EventSigned, 29, "locker"}} {
			ev := &logistics.Event{ParcelID: p.ID, Type: e.typ, At: paid.Add(time.Duration(e.h) * time.Hour), Region: "110105", Detail: e.detail, RecordedAt: t0}
			if err := logistics.Apply(p, ev); err != nil {
				t.Fatal(err)
			}
			evs = append(evs, ev)
		}
		if err := db.AppendEvents(ctx, evs, []*logistics.Parcel{p}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := db.WriterDB().ExecContext(ctx, db.Dialect().Rebind(`INSERT INTO reviews (order_id, platform_id, shop_id, seller_id, buyer, month, rating,
			description, service, logistics, body, counted, dsr_counted, created_at, followup, followup_at, folded_at, fold_reason, folded_by)
			VALUES (?, ?, ?, ?, 'b1', 202602, -1, 2, 3, 4, '山楂糕发霉了', 1, 1, ?, '商家已退款', ?, ?, '疑似同行恶意差评', '甲平台客服')`),
			first, w.platA.ID, w.shopA1.ID, w.seller1.ID, at(40), at(60), at(70)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.WriterDB().ExecContext(ctx, db.Dialect().Rebind(`INSERT INTO buyer_ratings (order_id, platform_id, seller_id, buyer, rating, body, created_at)
			VALUES (?, ?, ?, 'b1', 1, '', ?)`), first, w.platA.ID, w.seller1.ID, at(45)); err != nil {
			t.Fatal(err)
		}
		for _, in := range []trace.EventInput{
			{EventID: "SJ-1", Type: trace.EventListed, GTIN: g, Batch: "LC1", Time: paid.Add(-24 * time.Hour).Format(time.RFC3339), ShopID: w.shopA1.ID},
			{EventID: "SJ-2", Type: trace.EventListed, GTIN: g, Batch: "LC1", Time: paid.Add(-24 * time.Hour).Format(time.RFC3339), ShopID: w.shopB2.ID},
			{EventID: "TS-1", Type: trace.EventComplained, GTIN: g, Batch: "LC1", Time: paid.Add(50 * time.Hour).Format(time.RFC3339), ShopID: w.shopA1.ID,
				RefType: "order", Ref: "LC-0", Note: "买家投诉食品变质"},
		} {
			if _, err := w.svc.IngestEvent(w.dept, in); err != nil {
				t.Fatal(err)
			}
		}

		stages := func(id int64) ([]string, []trace.LifeStep) {
			bt, err := w.svc.Backward(w.dept, id)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for i, s := range bt.Lifecycle {
				out = append(out, s.Stage)
				if i > 0 && s.At.Before(bt.Lifecycle[i-1].At) {
					t.Errorf("step %d (%s) before step %d", i, s.Stage, i-1)
				}
			}
			return out, bt.Lifecycle
		}
		got, steps := stages(first)
		want := []string{"listed", "paid", "parcel:picked_up", "parcel:in_transit", "parcel:signed", "reviewed", "buyer_rated", "event:complained", "followup", "folded"}
		if !slices.Equal(got, want) {
			t.Fatalf("lifecycle %v, want %v", got, want)
		}
		for _, c := range []struct {
			i    int
			want string
		}{{1, "31.80"}, {2, "SF100"}, {4, "快递柜"}, {5, "山楂糕发霉了"}, {7, "买家投诉食品变质"}, {9, "疑似同行恶意差评"}} {
			if !strings.Contains(steps[c.i].Label+steps[c.i].Detail, c.want) {
				t.Errorf("step %s: %q %q lacks %q", steps[c.i].Stage, steps[c.i].Label, steps[c.i].Detail, c.want)
			}
		}
		if steps[2].Source != "logistics" || steps[5].Source != "review" || steps[0].Source != "trace" || steps[1].Source != "platform" {
			t.Errorf("sources: %+v", steps)
		}
		// No parcel reported: the order's own shipping and signing.
		if got, _ := stages(first + 1); !slices.Equal(got, []string{"listed", "paid", "shipped", "signed"}) {
			t.Errorf("lifecycle without a parcel: %v", got)
		}
	})
}

// TestTraceWriteEPCIS: a batch of more events than a page is written as
// one EPCIS document in time order; a batch that does not exist, or a
// caller who may not see every event, writes nothing.
func TestTraceWriteEPCIS(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTraceWorld(t, db)
		g := w.productBatch(t, "690123456783", "W1", "2026-02-01")
		const n = trace.MaxEPCISPage + 205
		var evs []*trace.Event
		for i := range n {
			evs = append(evs, &trace.Event{SourceKey: "account:9", EventID: fmt.Sprintf("W%d", i), Type: trace.EventListed, GTIN: g, Batch: "W1",
				At: t0.Add(time.Duration(n-i) * time.Minute), BizStep: "stocking", RecordedAt: t0})
		}
		if err := db.CreateEvents(ctx, evs, nil); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := w.svc.WriteEPCIS(w.dept, &buf, g, "W1", false); err != nil {
			t.Fatal(err)
		}
		var doc trace.EPCISDocument
		if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		got := doc.Body.EventList
		if len(got) != n || got[0].SourceEventID != fmt.Sprintf("W%d", n-1) || got[n-1].SourceEventID != "W0" || doc.Type != "EPCISDocument" {
			t.Fatalf("%d events, first %q, last %q", len(got), got[0].SourceEventID, got[len(got)-1].SourceEventID)
		}
		for i := 1; i < n; i++ {
			if got[i].EventTime < got[i-1].EventTime {
				t.Fatalf("event %d before event %d", i, i-1)
			}
		}
		buf.Reset()
		wantCode(t, w.svc.WriteEPCIS(w.dept, &buf, g, "NOPE", false), errs.NotFound, "-")
		wantCode(t, w.svc.WriteEPCIS(w.platformA, &buf, g, "W1", false), errs.Forbidden, "-")
		if buf.Len() != 0 {
			t.Errorf("wrote %d bytes on an error", buf.Len())
		}
	})
}
