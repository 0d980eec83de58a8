package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"ecredit/audit"
	"ecredit/errs"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trace"
)

// TestTraceLineage: a batch's inputs (raw lots) are recorded with it or
// later, checked whole (unknown, made later, itself, twice, bad units,
// cycles: nothing stored), never changed; the public and forward traces
// show both directions, a backward trace the item's sources with their
// inspections, and a recall of a raw lot names the batches made from it
// and their platforms in the record platforms read.
func TestTraceLineage(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTraceWorld(t, db)
		farm := mustCreate(t, db, org(t, 520, registry.KindMerchant, "兴隆县山楂种植专业合作社", "130822"))
		sugar := mustCreate(t, db, org(t, 521, registry.KindMerchant, "承德糖业有限公司", "130802"))
		product := func(body, name, category string, producer *registry.Subject) string {
			return w.product(t, body, name, category, producer)
		}
		batch := func(in trace.BatchInput) (*trace.Batch, string, error) {
			t.Helper()
			return w.svc.CreateBatch(w.dept, in)
		}
		haw := product("690100000001", "鲜山楂（统货）", "agricultural", farm)
		sug := product("690100000002", "白砂糖", "food", sugar)
		cake := product("690100000003", "山楂糕", "food", w.producer)
		gift := product("690100000004", "山楂糕礼盒", "food", w.producer)
		for _, b := range []trace.BatchInput{{GTIN: haw, Batch: "H0920", ProducedOn: "2025-09-20"}, {GTIN: sug, Batch: "S0105", ProducedOn: "2026-01-05"},
			{GTIN: haw, Batch: "H1001", ProducedOn: "2026-02-20"}} {
			if _, _, err := batch(b); err != nil {
				t.Fatal(err)
			}
		}
		insp := trace.EventInput{EventID: "farm-1", Type: trace.EventInspected, GTIN: haw, Batch: "H0920", Time: "2025-09-21T10:00:00+08:00",
			Disposition: "conformant", Ref: "NC2025-0921", SubjectCode: farm.CreditCode, Note: "农药残留快检合格"}
		if _, err := w.svc.IngestEvent(w.dept, insp); err != nil {
			t.Fatal(err)
		}

		// Bad inputs: each named, nothing stored, not even the batch.
		good := trace.InputRef{GTIN: haw, Batch: "H0920", Quantity: 1200, UOM: "KGM"}
		for _, c := range []struct {
			in    trace.InputRef
			field string
			code  errs.Code
		}{
			{trace.InputRef{GTIN: haw, Batch: "NOPE"}, "inputs[1].batch", errs.Invalid},
			{trace.InputRef{GTIN: haw[:12] + "0", Batch: "H0920"}, "inputs[1].gtin", errs.Invalid},
			{trace.InputRef{GTIN: haw, Batch: "H1001"}, "inputs[1].batch", errs.Invalid}, // made after the cake
			{good, "inputs[1].batch", errs.Invalid},                                      // twice
			{trace.InputRef{GTIN: sug, Batch: "S0105", Quantity: 3, UOM: "磅"}, "inputs[1].uom", errs.Invalid},
			{trace.InputRef{GTIN: sug, Batch: "S0105", UOM: "KGM"}, "inputs[1].uom", errs.Invalid},
			{trace.InputRef{GTIN: sug, Batch: "S0105", Quantity: -1}, "inputs[1].quantity", errs.Invalid},
		} {
			_, _, err := batch(trace.BatchInput{GTIN: cake, Batch: "C0201", ProducedOn: "2026-02-01", Inputs: []trace.InputRef{good, c.in}})
			wantCode(t, err, c.code, c.field)
		}
		if _, err := db.GetBatch(ctx, cake, "C0201"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("batch stored by a refused request: %v", err)
		}
		if _, err := w.svc.AddInputs(w.platformA, haw, "H0920", []trace.InputRef{{GTIN: sug, Batch: "S0105"}}); !errs.Is(err, errs.Forbidden) {
			t.Errorf("platform adds inputs: %v", err)
		}

		// The cake batch with its two inputs, in one request.
		b, st, err := batch(trace.BatchInput{GTIN: cake, Batch: "C0201", ProducedOn: "2026-02-01",
			Inputs: []trace.InputRef{good, {GTIN: "0" + sug, Batch: "S0105", Quantity: 300.5, UOM: "kgm"}}})
		if err != nil || st != trace.ResultCreated {
			t.Fatalf("batch with inputs: %v %s", err, st)
		}
		links, err := db.Lineage(ctx, []int64{b.ID}, true)
		if err != nil || len(links) != 2 || links[0].Other.Batch != "H0920" || links[0].Quantity != 1200 || links[1].Other.GTIN != sug ||
			links[1].Quantity != 300.5 || links[1].UOM != "KGM" || links[0].ActorName != "承德市市场监督管理局" {
			t.Fatalf("stored inputs: %v %+v", err, links)
		}
		// Again: unchanged; another quantity: a conflict (never changed).
		res, err := w.svc.AddInputs(w.produce, cake, "C0201", []trace.InputRef{good})
		if err != nil || len(res) != 1 || res[0].Status != trace.ResultUnchanged {
			t.Fatalf("same input again: %v %+v", err, res)
		}
		_, err = w.svc.AddInputs(w.produce, cake, "C0201", []trace.InputRef{{GTIN: haw, Batch: "H0920", Quantity: 1300, UOM: "KGM"}})
		wantCode(t, err, errs.Conflict, "inputs[0].quantity")

		// The gift box is made from the cake; the cake cannot then be made
		// from the gift box, nor the raw lot from the cake.
		if _, _, err := batch(trace.BatchInput{GTIN: gift, Batch: "G0201", ProducedOn: "2026-02-01"}); err != nil {
			t.Fatal(err)
		}
		if _, st, err := batch(trace.BatchInput{GTIN: gift, Batch: "G0201", ProducedOn: "2026-02-01",
			Inputs: []trace.InputRef{{GTIN: cake, Batch: "C0201", Quantity: 400}}}); err != nil || st != trace.ResultUpdated {
			t.Fatalf("inputs added by registering the batch again: %v %s", err, st)
		}
		_, err = w.svc.AddInputs(w.dept, cake, "C0201", []trace.InputRef{{GTIN: gift, Batch: "G0201"}})
		wantCode(t, err, errs.Invalid, "inputs[0].batch")
		_, err = w.svc.AddInputs(w.dept, haw, "H1001", []trace.InputRef{{GTIN: cake, Batch: "C0201"}})
		if err != nil {
			t.Fatalf("a later raw lot may name the cake (no cycle): %v", err)
		}
		_, err = w.svc.AddInputs(w.dept, haw, "H0920", []trace.InputRef{{GTIN: cake, Batch: "C0201"}})
		wantCode(t, err, errs.Invalid, "inputs[0].batch") // made after it, and a cycle
		_, err = w.svc.AddInputs(w.dept, cake, "C0201", []trace.InputRef{{GTIN: cake, Batch: "C0201"}})
		wantCode(t, err, errs.Invalid, "inputs[0].batch")

		// Mass balance: a lot weighed at 1000 kg cannot go into more than
		// that (2% slack), in its own unit; its quantity cannot drop below
		// what went out of it; dates cannot contradict the lineage.
		_, _, err = batch(trace.BatchInput{GTIN: haw, Batch: "H0925", ProducedOn: "2025-09-25", UOM: "KGM"})
		wantCode(t, err, errs.Invalid, "uom")
		_, _, err = batch(trace.BatchInput{GTIN: haw, Batch: "H0925", ProducedOn: "2025-09-25", Quantity: 1000, UOM: "lb"})
		wantCode(t, err, errs.Invalid, "uom")
		lot, _, err := batch(trace.BatchInput{GTIN: haw, Batch: "H0925", ProducedOn: "2025-09-25", Quantity: 1000, UOM: "kgm"})
		if err != nil || lot.UOM != "KGM" || lot.View().QuantityLabel != "1000 千克" {
			t.Fatalf("weighed lot: %v %+v", err, lot)
		}
		for _, bn := range []string{"C0301", "C0302", "C0303"} {
			if _, _, err := batch(trace.BatchInput{GTIN: cake, Batch: bn, ProducedOn: "2026-03-01"}); err != nil {
				t.Fatal(err)
			}
		}
		lotIn := func(q float64, uom string) []trace.InputRef {
			return []trace.InputRef{{GTIN: haw, Batch: "H0925", Quantity: q, UOM: uom}}
		}
		if _, err := w.svc.AddInputs(w.dept, cake, "C0301", lotIn(700, "KGM")); err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.AddInputs(w.dept, cake, "C0302", lotIn(400, "KGM"))
		wantCode(t, err, errs.Invalid, "inputs[0].quantity")
		if !strings.Contains(errs.MessageOf(err), "已登记用于其他批次 700 千克") {
			t.Errorf("balance message: %v", err)
		}
		if _, err := w.svc.AddInputs(w.dept, cake, "C0302", lotIn(310, "KGM")); err != nil { // 1010 ≤ 1020
			t.Fatalf("within the slack: %v", err)
		}
		_, err = w.svc.AddInputs(w.dept, cake, "C0303", lotIn(15000, "GRM")) // 15 kg more: 1025 kg
		wantCode(t, err, errs.Invalid, "inputs[0].quantity")
		if _, err := w.svc.AddInputs(w.dept, cake, "C0303", lotIn(5000, "GRM")); err != nil { // 5 kg: 1015 kg
			t.Fatalf("grams into a lot weighed in kilograms: %v", err)
		}
		if _, _, err := batch(trace.BatchInput{GTIN: gift, Batch: "G0301", ProducedOn: "2026-03-01",
			Inputs: lotIn(2, "LTR")}); err != nil {
			t.Fatalf("litres of a lot weighed in kilograms are not balanced: %v", err)
		}
		_, err = w.svc.UpdateBatch(w.dept, haw, "H0925", trace.BatchPatch{Quantity: ptr(int64(900))})
		wantCode(t, err, errs.Invalid, "quantity")
		if _, err := w.svc.UpdateBatch(w.dept, haw, "H0925", trace.BatchPatch{Quantity: ptr(int64(1200))}); err != nil {
			t.Fatalf("more: %v", err)
		}
		_, err = w.svc.UpdateBatch(w.dept, cake, "C0301", trace.BatchPatch{ProducedOn: ptr("2025-09-01")})
		wantCode(t, err, errs.Invalid, "produced_on") // before its input was made
		_, err = w.svc.UpdateBatch(w.dept, haw, "H0925", trace.BatchPatch{ProducedOn: ptr("2026-03-05")})
		wantCode(t, err, errs.Invalid, "produced_on") // after what was made from it

		// Inputs are append-only in the store itself.
		if _, err := db.WriterDB().ExecContext(ctx, "UPDATE batch_inputs SET quantity = 1"); err == nil {
			t.Error("batch_inputs updated")
		}
		if _, err := db.WriterDB().ExecContext(ctx, "DELETE FROM batch_inputs"); err == nil {
			t.Error("batch_inputs deleted")
		}

		// Public trace of the cake: both directions, the raw lot's
		// inspection without its submitter.
		pt, err := w.svc.Public(w.public, cake, "C0201")
		if err != nil {
			t.Fatal(err)
		}
		up, down := pt.Lineage.Upstream, pt.Lineage.Downstream
		if len(up) != 2 || up[0].Batch != "H0920" || up[0].Producer == nil || up[0].Producer.Name != farm.Name || up[0].QuantityLabel != "1200 千克" ||
			len(up[0].Inspections) != 1 || up[0].Inspections[0].SubmittedBy != "" || up[0].Inspections[0].Ref != "NC2025-0921" || up[1].ProductName != "白砂糖" {
			t.Fatalf("public upstream: %+v", up)
		}
		if len(down) != 2 || down[0].Batch != "H1001" || down[0].Depth != 1 || down[1].GTIN != gift || down[1].Depth != 1 {
			t.Fatalf("public downstream: %+v", down)
		}

		// Orders of the gift box; the forward trace of the raw lot reaches
		// them two steps down.
		seedBatchOrders(t, db, w, gift, "G0201", 10)
		ft, err := w.svc.Forward(w.dept, haw, "H0920", 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		d := ft.Lineage.Downstream
		if len(d) != 3 || d[0].Batch != "C0201" || d[0].Depth != 1 || d[0].Of != haw+"/H0920" || d[1].Batch != "H1001" || d[1].Depth != 2 ||
			d[2].Batch != "G0201" || d[2].Of != cake+"/C0201" || d[2].Orders != 15 {
			t.Fatalf("forward downstream: %+v", d)
		}
		ftA, err := w.svc.Forward(w.platformA, haw, "H0920", 0, 10)
		if err != nil || ftA.Lineage.Downstream[2].Orders != 10 {
			t.Fatalf("platform's forward downstream counts its own orders: %v %+v", err, ftA)
		}

		// Backward from an order of the gift box: its sources, two levels.
		bt, err := w.svc.Backward(w.dept, firstOrderOf(t, db, gift, "G0201"))
		if err != nil {
			t.Fatal(err)
		}
		src := bt.Items[0].Sources
		if len(src) != 3 || src[0].Batch != "C0201" || src[1].Batch != "H0920" || src[1].Depth != 2 || len(src[1].Inspections) != 1 ||
			src[1].Inspections[0].SubmittedBy == "" {
			t.Fatalf("backward sources: %+v", src)
		}

		// A recall of the raw lot names what was made from it, and the
		// platforms selling those, in the record the platforms read.
		rc, err := w.svc.Recall(w.dept, haw, "H0920", trace.RecallInput{Reason: "农药残留复检超标"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := db.GetRecord(ctx, rc.RecordID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(r.Fields["x:downstream_batches"], gift+"/G0201:15") || r.Fields["x:downstream_orders"] != "15" ||
			!strings.Contains(r.Fields["x:downstream_platforms"], w.platA.CreditCode+":10") ||
			!strings.Contains(r.Fields["x:downstream_platforms"], w.platB.CreditCode+":5") || !strings.Contains(r.Fields["content"], "下游批次 3 个") {
			t.Fatalf("recall record: %+v", r.Fields)
		}
	})
}

// firstOrderOf is the id of the first order holding the batch.
func firstOrderOf(t *testing.T, db *sqlstore.DB, gtin, batch string) int64 {
	t.Helper()
	var id int64
	if err := db.WriterDB().QueryRowContext(ctx, db.Dialect().Rebind("SELECT MIN(order_id) FROM order_items WHERE gtin = ? AND batch = ?"), gtin, batch).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// raceStore is the store with another request slipped in: the first
// AddInputs, CreateEventsWithInputs or CreateBatch carrying inputs first
// runs between (after the request's checks, before its write), as a
// concurrent request would.
type raceStore struct {
	*sqlstore.DB
	between func()
}

func (r *raceStore) slip() {
	if f := r.between; f != nil {
		r.between = nil
		f()
	}
}

func (r *raceStore) AddInputs(c context.Context, ins []*trace.Input, gen int64, a *audit.Entry) error {
	r.slip()
	return r.DB.AddInputs(c, ins, gen, a)
}

func (r *raceStore) CreateEventsWithInputs(c context.Context, evs []*trace.Event, ins []*trace.Input, gen int64, ia, ea *audit.Entry) error {
	r.slip()
	return r.DB.CreateEventsWithInputs(c, evs, ins, gen, ia, ea)
}

func (r *raceStore) CreateBatch(c context.Context, b *trace.Batch, ins []*trace.Input, gen int64, a *audit.Entry) error {
	if len(ins) > 0 {
		r.slip()
	}
	return r.DB.CreateBatch(c, b, ins, gen, a)
}

// TestTraceLineageRace: two requests checked against the same lineage
// are not both stored. "A made from B" and "B made from A" at once leave
// one link, the other refused as a cycle; two batches drawing on the last
// of a lot leave one within the lot's quantity; a production date moved
// while an input is added keeps the dates in order. The store refuses a
// write whose generation moved and stores nothing of it; and requests
// raced for real in goroutines never leave a cycle.
func TestTraceLineageRace(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTraceWorld(t, db)
		rs := &raceStore{DB: db}
		svc := &trace.Service{Store: rs, Subjects: db, Records: db, Recorder: w.recs, Clock: w.clk}
		g := w.product(t, "690100000011", "山楂酱", "food", w.producer)
		mk := func(bn string, qty int64, uom string) {
			t.Helper()
			if _, _, err := w.svc.CreateBatch(w.dept, trace.BatchInput{GTIN: g, Batch: bn, ProducedOn: "2026-03-01", Quantity: qty, UOM: uom}); err != nil {
				t.Fatal(err)
			}
		}
		upOf := func(bn string) []trace.Link {
			t.Helper()
			b, err := db.GetBatch(ctx, g, bn)
			if err != nil {
				t.Fatal(err)
			}
			links, err := db.Lineage(ctx, []int64{b.ID}, true)
			if err != nil {
				t.Fatal(err)
			}
			return links
		}

		// Opposite links: the one slipped in wins, the other is checked
		// again and refused as a cycle.
		mk("A", 0, "")
		mk("B", 0, "")
		rs.between = func() {
			if _, err := w.svc.AddInputs(w.dept, g, "B", []trace.InputRef{{GTIN: g, Batch: "A"}}); err != nil {
				t.Errorf("slipped-in request: %v", err)
			}
		}
		_, err := svc.AddInputs(w.dept, g, "A", []trace.InputRef{{GTIN: g, Batch: "B"}})
		wantCode(t, err, errs.Invalid, "inputs[0].batch")
		if a, b := upOf("A"), upOf("B"); len(a) != 0 || len(b) != 1 || b[0].Other.Batch != "A" {
			t.Fatalf("opposite links: A's inputs %+v, B's %+v", a, b)
		}

		// The last 60 kg of a 100 kg lot, twice: the second, now checked
		// against the first, exceeds the lot.
		mk("RAW", 100, "KGM")
		mk("J1", 0, "")
		rs.between = func() {
			if _, _, err := w.svc.CreateBatch(w.dept, trace.BatchInput{GTIN: g, Batch: "J2", ProducedOn: "2026-03-01",
				Inputs: []trace.InputRef{{GTIN: g, Batch: "RAW", Quantity: 60, UOM: "KGM"}}}); err != nil {
				t.Errorf("slipped-in batch: %v", err)
			}
		}
		_, err = svc.AddInputs(w.dept, g, "J1", []trace.InputRef{{GTIN: g, Batch: "RAW", Quantity: 60, UOM: "KGM"}})
		wantCode(t, err, errs.Invalid, "inputs[0].quantity")
		if j1, j2 := upOf("J1"), upOf("J2"); len(j1) != 0 || len(j2) != 1 {
			t.Fatalf("mass balance under a race: J1 %+v, J2 %+v", j1, j2)
		}

		// A batch's production date moved before an input's while that
		// input is added: the date is checked again and refused.
		mk("EARLY", 0, "")
		late := "2026-03-01"
		if _, _, err := w.svc.CreateBatch(w.dept, trace.BatchInput{GTIN: g, Batch: "LATE", ProducedOn: late}); err != nil {
			t.Fatal(err)
		}
		rs.between = func() {
			if _, err := w.svc.AddInputs(w.dept, g, "EARLY", []trace.InputRef{{GTIN: g, Batch: "A"}}); err != nil {
				t.Errorf("slipped-in input: %v", err)
			}
		}
		// No lineage yet: UpdateBatch's check passes; the slipped-in
		// input (made 2026-03-01) then makes 2026-02-01 too early.
		early := "2026-02-01"
		rsUpdate := &updateRace{raceStore: rs}
		svcU := &trace.Service{Store: rsUpdate, Subjects: db, Records: db, Recorder: w.recs, Clock: w.clk}
		_, err = svcU.UpdateBatch(w.dept, g, "EARLY", trace.BatchPatch{ProducedOn: &early})
		wantCode(t, err, errs.Invalid, "produced_on")
		if b, err := db.GetBatch(ctx, g, "EARLY"); err != nil || b.ProducedOn != "2026-03-01" {
			t.Fatalf("date after the race: %v %+v", err, b)
		}

		// The store itself: a stale generation stores nothing.
		gen, err := db.LineageGen(ctx)
		if err != nil {
			t.Fatal(err)
		}
		bA, _ := db.GetBatch(ctx, g, "A")
		bL, _ := db.GetBatch(ctx, g, "LATE")
		in := &trace.Input{BatchID: bL.ID, InputID: bA.ID, RecordedAt: w.clk.Now()}
		err = db.AddInputs(ctx, []*trace.Input{in}, gen-1, nil)
		wantCode(t, err, errs.Conflict, "inputs")
		if len(upOf("LATE")) != 0 {
			t.Fatal("inputs stored over a stale generation")
		}
		if err := db.AddInputs(ctx, []*trace.Input{in}, gen, nil); err != nil {
			t.Fatal(err)
		}
		if g2, _ := db.LineageGen(ctx); g2 != gen+1 {
			t.Fatalf("generation %d after a write over %d", g2, gen)
		}

		// For real: pairs of batches, each pair linked both ways at once.
		// Only a stored link moves the generation, at most one a pair, so
		// a writer loses at most six tries (fewer than trace's
		// lineageTries): every request ends stored or refused as a cycle,
		// never out of tries.
		var wg sync.WaitGroup
		for i := range 6 {
			x, y := fmt.Sprintf("X%d", i), fmt.Sprintf("Y%d", i)
			mk(x, 0, "")
			mk(y, 0, "")
			for _, p := range [][2]string{{x, y}, {y, x}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := w.svc.AddInputs(w.dept, g, p[0], []trace.InputRef{{GTIN: g, Batch: p[1]}})
					if err != nil && !errs.Is(err, errs.Invalid) && !errs.Is(err, errs.Conflict) {
						t.Errorf("%s from %s: %v", p[0], p[1], err)
					}
				}()
			}
		}
		wg.Wait()
		for i := range 6 {
			if n := len(upOf(fmt.Sprintf("X%d", i))) + len(upOf(fmt.Sprintf("Y%d", i))); n != 1 {
				t.Errorf("pair %d: %d links (a cycle, or none stored)", i, n)
			}
		}
	})
}

// updateRace slips its request in before UpdateBatch's write.
type updateRace struct{ *raceStore }

func (u *updateRace) UpdateBatch(c context.Context, b *trace.Batch, gen int64, a *audit.Entry) error {
	u.slip()
	return u.DB.UpdateBatch(c, b, gen, a)
}
