package demo

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/clock"
	"ecredit/record"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trace"
)

// TestTraceDemo: the demo city gets products, batches, events and one
// recall whose trace is public; with orders in the store, the products and
// batches come from the orders, so the traces reach them.
func TestTraceDemo(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := account.With(context.Background(), account.System)
		keys := testKeys(t)
		clk := clock.NewFake(testNow)
		db.SetClock(clk)
		var progress strings.Builder
		sum, err := Generate(ctx, db, keys, Options{Seed: 5, Subjects: 400, Clock: clk, Progress: &progress})
		if err != nil {
			t.Fatal(err)
		}
		tc := sum.Trace
		if !tc.FromOrders || tc.Products == 0 || tc.Batches < 2*tc.Products || tc.Events < 2*tc.Batches || tc.Recalls != 1 || tc.EPCIS != tc.Batches {
			t.Fatalf("trace counts %+v", tc)
		}
		if !strings.Contains(progress.String(), "产品追溯") {
			t.Errorf("progress: %s", progress.String())
		}
		recs := &record.Service{Store: db, Subjects: db, Keys: keys, Clock: clk}
		svc := &trace.Service{Store: db, Subjects: db, Records: db, Recorder: recs, Clock: clk}
		g, b, _ := strings.Cut(tc.Recalled, "/")
		pt, err := svc.Public(ctx, g, b)
		if err != nil || pt.Recall == nil || len(pt.Timeline) < 2 || pt.Recall.RecordID == 0 {
			t.Fatalf("recalled batch: %v %+v", err, pt)
		}
		// The inspections came in as EPCIS: their report numbers and
		// results are on the batch's timeline, and its public EPCIS export
		// names the batch by its Digital Link.
		var inspected bool
		for _, e := range pt.Timeline {
			inspected = inspected || e.Type == trace.EventInspected && strings.HasPrefix(e.Ref, "CDJC") && e.Disposition == "non_conformant"
		}
		doc, _, err := svc.ExportEPCIS(ctx, g, b, true, trace.EventCursor{}, 100)
		if !inspected || err != nil || len(doc.Body.EventList) != len(pt.Timeline) || doc.Body.EventList[0].QuantityList[0].EPCClass != trace.BatchLink(pt.Batch.GTIN, b) {
			t.Errorf("recalled batch's inspection: %v %+v", err, pt.Timeline)
		}

		// From orders: a fresh city without records, orders on its shops.
		db2 := storetest.Open(t, db.Engine())
		db2.SetClock(clk)
		sum2, err := Generate(ctx, db2, keys, Options{Seed: 5, Subjects: 400, Clock: clk, NoRecords: true})
		if err != nil {
			t.Fatal(err)
		}
		shops, err := db2.ListShops(ctx, registry.ShopFilter{Limit: 50})
		if err != nil || len(shops) == 0 {
			t.Fatal(shops, err)
		}
		gtins := []string{"6901234567892", "6923450657713"}
		storetest.InsertOrders(t, db2, 60, func(i int) storetest.Order {
			sh := shops[i%len(shops)]
			return storetest.Order{PlatformID: sh.PlatformID, ShopID: sh.ID, SellerID: sh.OwnerID, Region: "130802",
				PaidAt: testNow.Add(-time.Duration(i) * time.Hour), OrderNo: fmt.Sprintf("D%d", i),
				Items: []storetest.Item{{GTIN: gtins[i%2], Batch: fmt.Sprintf("B%d", i%3), Name: "山楂糕", Category: "食品", Quantity: 1, PriceFen: 100}}}
		})
		recs2 := &record.Service{Store: db2, Subjects: db2, Keys: keys, Clock: clk}
		tc2, err := writeTrace(ctx, db2, recs2, 5, clk, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !tc2.FromOrders || tc2.Products != 2 || tc2.Batches != 6 || tc2.Recalls != 1 {
			t.Fatalf("from orders: %+v (summary %+v)", tc2, sum2.Trace)
		}
		svc2 := &trace.Service{Store: db2, Subjects: db2, Records: db2, Recorder: recs2, Clock: clk}
		ft, err := svc2.Forward(ctx, gtins[0], "B0", 0, 100)
		if err != nil || ft.Reach.Orders != 10 {
			t.Fatalf("forward over demo orders: %v %+v", err, ft)
		}
	})
}
