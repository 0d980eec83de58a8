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
		if !tc.FromOrders || tc.Products == 0 || tc.Batches < 2*tc.Products || tc.Events < 2*tc.Batches || tc.Recalls != 2+tc.Cascaded || tc.Cascaded == 0 || tc.RawRecalled == "" || tc.EPCIS != tc.Batches {
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
		// names the batch by its Digital Link (its production, when it has
		// inputs, as the TransformationEvent with the batch as output).
		var inspected bool
		for _, e := range pt.Timeline {
			inspected = inspected || e.Type == trace.EventInspected && strings.HasPrefix(e.Ref, "CDJC") && e.Disposition == "non_conformant"
		}
		link := trace.BatchLink(pt.Batch.GTIN, b)
		doc, _, err := svc.ExportEPCIS(ctx, g, b, true, trace.EventCursor{}, 100)
		var objects []trace.EPCISEvent
		transforms := 0
		if err == nil {
			for _, e := range doc.Body.EventList {
				switch {
				case e.Type != "TransformationEvent":
					objects = append(objects, e)
				case len(e.OutputQuantityList) != 1 || e.OutputQuantityList[0].EPCClass != link:
					t.Errorf("recalled batch's transformation: %+v", e)
				default:
					transforms++
				}
			}
		}
		if !inspected || err != nil || len(objects)+transforms != len(pt.Timeline) || len(objects) == 0 || objects[0].QuantityList[0].EPCClass != link {
			t.Errorf("recalled batch's inspection: %v %+v", err, pt.Timeline)
		}

		// Where: the production line and store of the maker (the produced
		// event is the TransformationEvent of a batch made from others),
		// registered sites shown by name on the public trace; and the
		// testing centre's reception, unregistered, shown as sent.
		var located, labbed bool
		if doc != nil {
			for _, e := range doc.Body.EventList {
				if e.EventType == trace.EventInspected && e.ReadPoint != nil && e.ReadPoint.ID == labLocation {
					labbed = true
				}
			}
		}
		for _, e := range pt.Timeline {
			switch {
			case e.Type == trace.EventProduced:
				located = e.ReadPointSite != nil && e.ReadPointSite.Name == "生产车间" && e.BizLocationSite != nil && e.BizLocationSite.Name == "成品仓库" &&
					e.ReadPointSite.Subject != nil && pt.Product.Producer != nil && e.ReadPointSite.Subject.ID == pt.Product.Producer.ID
			case e.Type == trace.EventInspected && e.ReadPoint == labLocation:
				labbed = labbed && e.ReadPointSite == nil
			}
		}
		if !located || !labbed || tc.Sites == 0 {
			t.Errorf("recalled batch's locations: made %v, inspected %v; %d sites", located, labbed, tc.Sites)
		}

		testDemoLineage(t, db, svc, tc)

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
		// The six batches of 山楂糕 are made of 鲜山楂 and 白砂糖.
		if !tc2.FromOrders || tc2.Products-tc2.RawProducts != 2 || tc2.Batches-tc2.RawLots != 6 || tc2.Recalls != 2+tc2.Cascaded ||
			tc2.Made != 6 || tc2.Inputs != 12 || tc2.RawLots == 0 || tc2.RawLots >= 12 {
			t.Fatalf("from orders: %+v (summary %+v)", tc2, sum2.Trace)
		}
		svc2 := &trace.Service{Store: db2, Subjects: db2, Records: db2, Recorder: recs2, Clock: clk}
		ft, err := svc2.Forward(ctx, gtins[0], "B0", 0, 100)
		if err != nil || ft.Reach.Orders != 10 {
			t.Fatalf("forward over demo orders: %v %+v", err, ft)
		}
		// An order's backward trace names the raw lots of its item.
		bt, err := svc2.Backward(demoDept(ctx), ft.Orders[0].OrderID)
		if err != nil || len(bt.Items) != 1 || len(bt.Items[0].Sources) != 2 {
			t.Fatalf("backward trace of a demo order: %v %+v", err, bt)
		}
		names := map[string]bool{}
		for _, n := range bt.Items[0].Sources {
			names[n.ProductName] = n.Producer != nil && len(n.Inspections) > 0
		}
		if !names["鲜山楂"] || !names["白砂糖"] {
			t.Errorf("sources of 山楂糕: %+v", bt.Items[0].Sources)
		}
	})
}

// demoDept is the market regulator as the demo acts.
func demoDept(ctx context.Context) context.Context {
	return account.With(ctx, account.Actor{Name: cityMarket, Role: account.RoleDepartment, Department: "市场监管", Via: "system"})
}

// testDemoLineage: the demo's food batches are made from raw lots of farm
// produce, each made 3 to 40 days before and inspected; some lots went
// into several batches; public and forward traces show the lineage.
func testDemoLineage(t *testing.T, db *sqlstore.DB, svc *trace.Service, tc TraceCounts) {
	t.Helper()
	ctx := context.Background()
	if tc.RawProducts == 0 || tc.RawLots == 0 || tc.Made == 0 || tc.Made > maxLineageBatches || tc.Inputs < tc.Made || tc.Inputs > 2*tc.Made {
		t.Fatalf("lineage counts %+v", tc)
	}
	rows, err := db.ReaderDB().QueryContext(ctx, `SELECT o.gtin, o.batch, o.produced_on, o.producer_id, p.category, i.gtin, i.batch, i.produced_on, ip.category, k.quantity, k.uom
		FROM batch_inputs k JOIN trace_batches o ON o.id = k.batch_id JOIN trace_products p ON p.id = o.product_id
		JOIN trace_batches i ON i.id = k.input_id JOIN trace_products ip ON ip.id = i.product_id ORDER BY o.id, i.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	links := 0
	uses := map[string]int{} // raw lot → food batches it went into
	outputs := map[string]bool{}
	for rows.Next() {
		var og, ob, oOn, cat, ig, ib, iOn, icat, uom string
		var producer int64
		var q float64
		if err := rows.Scan(&og, &ob, &oOn, &producer, &cat, &ig, &ib, &iOn, &icat, &q, &uom); err != nil {
			t.Fatal(err)
		}
		links++
		uses[ig+"/"+ib]++
		outputs[og+"/"+ob] = true
		o, err1 := time.Parse(time.DateOnly, oOn)
		in, err2 := time.Parse(time.DateOnly, iOn)
		if err1 != nil || err2 != nil || in.After(o) || o.Sub(in) < 3*day || o.Sub(in) > 40*day || !in.Before(testNow) {
			t.Errorf("input %s/%s made %s into %s/%s made %s", ig, ib, iOn, og, ob, oOn)
		}
		if cat != "food" || icat != "agricultural" && icat != "food" || !strings.HasPrefix(ig, rawGTINPrefix) || uom != "KGM" || q <= 0 {
			t.Errorf("input %s/%s (%s, %v %s) into %s/%s (%s)", ig, ib, icat, q, uom, og, ob, cat)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if links != tc.Inputs || len(outputs) != tc.Made || len(uses) != tc.RawLots {
		t.Fatalf("%d links into %d batches from %d lots, counts %+v", links, len(outputs), len(uses), tc)
	}
	shared := ""
	for lot, n := range uses {
		if n >= 2 && (shared == "" || lot < shared) {
			shared = lot
		}
	}
	if shared == "" {
		t.Fatalf("none of %d raw lots went into two batches", len(uses))
	}

	// The recalled batch is a food batch made from raw lots: its public
	// page shows them, with their growers and inspections.
	g, b, _ := strings.Cut(tc.Recalled, "/")
	pt, err := svc.Public(ctx, g, b)
	if err != nil || !outputs[tc.Recalled] || pt.Lineage == nil || len(pt.Lineage.Upstream) == 0 {
		t.Fatalf("public trace of the recalled batch %s: %v %+v", tc.Recalled, err, pt)
	}
	for _, n := range pt.Lineage.Upstream {
		if n.Depth != 1 || n.Producer == nil || n.Producer.Name == "" || n.ProducedOn > pt.Batch.ProducedOn || !strings.Contains(n.QuantityLabel, "千克") ||
			len(n.Inspections) == 0 || !strings.HasPrefix(n.Inspections[0].Ref, "CDJC") || n.Inspections[0].Disposition != "conformant" || !strings.Contains(n.Inspections[0].Note, "检") {
			t.Errorf("upstream node %+v", n)
		}
	}

	// A forward trace from a lot that went into several batches reaches
	// them and their orders.
	g, b, _ = strings.Cut(shared, "/")
	ft, err := svc.Forward(demoDept(ctx), g, b, 0, 10)
	if err != nil || len(ft.Lineage.Downstream) != uses[shared] || ft.Reach.Orders != 0 {
		t.Fatalf("forward trace of raw lot %s: %v %+v", shared, err, ft)
	}
	for _, n := range ft.Lineage.Downstream {
		if n.Category != "food" || recipeOf(n.ProductName) == nil || n.Orders == 0 || n.Producer == nil {
			t.Errorf("downstream node %+v", n)
		}
	}

	// The recalled raw lot went into several batches: its recall record
	// names each with its orders, each batch's public trace warns of the
	// recalled source, and each was recalled with it (a cascade), with its
	// own record naming the lot — but the batch recalled for its own
	// failed inspection, if it was one of them.
	g, b, _ = strings.Cut(tc.RawRecalled, "/")
	if uses[tc.RawRecalled] < 2 {
		t.Fatalf("the recalled raw lot %s went into %d batches", tc.RawRecalled, uses[tc.RawRecalled])
	}
	rc, err := db.GetRecall(ctx, g, b)
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.GetRecord(ctx, rc.RecordID)
	if err != nil || r.Fields["x:downstream_orders"] == "" || r.Fields["x:downstream_orders"] == "0" || !strings.Contains(r.Fields["content"], "下游批次") {
		t.Fatalf("raw lot's recall record: %v %+v", err, r)
	}
	ft, err = svc.Forward(demoDept(ctx), g, b, 0, 10)
	if err != nil || len(ft.Lineage.Downstream) != uses[tc.RawRecalled] {
		t.Fatalf("forward trace of the recalled raw lot: %v %+v", err, ft)
	}
	cascaded := 0
	for _, n := range ft.Lineage.Downstream {
		if !strings.Contains(r.Fields["x:downstream_batches"], n.GTIN+"/"+n.Batch+":") {
			t.Errorf("the recall record does not name downstream batch %s/%s: %s", n.GTIN, n.Batch, r.Fields["x:downstream_batches"])
		}
		pt, err := svc.Public(ctx, n.GTIN, n.Batch)
		if err != nil || len(pt.Lineage.RecalledSources()) != 1 || pt.Lineage.RecalledSources()[0].Batch != b {
			t.Errorf("public trace of %s/%s does not show its recalled source: %v", n.GTIN, n.Batch, err)
		}
		if err != nil || pt.Recall == nil || pt.Batch.Status != trace.BatchRecalled {
			t.Errorf("downstream batch %s/%s not recalled with the raw lot: %v", n.GTIN, n.Batch, err)
			continue
		}
		dr, err := db.GetRecord(ctx, pt.Recall.RecordID)
		if err != nil {
			t.Fatal(err)
		}
		if n.GTIN+"/"+n.Batch == tc.Recalled {
			continue
		}
		cascaded++
		if dr.Fields["x:source_batch"] != tc.RawRecalled || dr.Fields["x:source_record"] != fmt.Sprint(rc.RecordID) ||
			!strings.HasPrefix(pt.Recall.Reason, "原料批次 "+tc.RawRecalled+" 已召回：") || dr.SubjectID != n.Producer.ID {
			t.Errorf("cascaded recall of %s/%s: %q %+v", n.GTIN, n.Batch, pt.Recall.Reason, dr.Fields)
		}
	}
	if cascaded != tc.Cascaded {
		t.Errorf("%d batches recalled with the raw lot, counts say %d", cascaded, tc.Cascaded)
	}
}
