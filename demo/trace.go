package demo

import (
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"ecredit/account"
	"ecredit/clock"
	"ecredit/code"
	"ecredit/errs"
	"ecredit/record"
	"ecredit/sqlstore"
	"ecredit/trace"
)

// The demo city's traceability data (M10), written after the subjects,
// shops and records:
//
//   - products of the merchants whose shops sell food, farm produce, farm
//     inputs or medical devices (about one merchant in four of those), each
//     with two or three batches made over the last ten months; every
//     batch's production event reports the quantity the batch was
//     registered with;
//   - when the store already holds orders (package trade's demo), the
//     GTINs and batches of the busiest order items become the products and
//     batches instead, so that forward and backward traces reach real
//     orders, each made by a merchant (one shop owner in four) whose name
//     says it makes the goods, else one selling in the product's category;
//   - per batch a produced event, an inspection by the city's testing
//     centre (about one in twenty non-conformant) and a listing — from
//     orders, by the platforms, in the (at most three) shops that sold the
//     batch most, a few days before each shop's first sale — through
//     trace.Service (validated, idempotent by event id); the centre sends
//     its inspections as EPCIS 2.0 documents (trace.Service.CaptureEPCIS),
//     as a laboratory system would;
//   - the raw agricultural lots the food batches were made from, with
//     their growers' produced events and the centre's inspections, and
//     each food batch's inputs (lineage.go);
//   - the makers' and growers' places where their produced events happen
//     (production line and finished-goods store; growing base and
//     produce store), registered as trace sites by the market regulator,
//     so that the trace pages name them; the centre's reception is left
//     unregistered and shows as its SGLN;
//   - one recall, of a batch with a non-conformant inspection (a food
//     batch made from raw lots if any), by the city's market regulator
//     through trace.Service.Recall — so it is a credit record in the
//     ledger and the change feed, and shows as a banner on its trace page;
//   - and the recall of a raw lot that went into several food batches,
//     after the testing centre's re-test fails, cascading to them: its
//     record names the batches made from it and their platforms, each of
//     them is recalled too with its own record naming the lot
//     (x:source_batch), and their pages warn of the recalled source.
//
// Products and batches go in as multi-row INSERTs (like the shops); the
// inputs, events and the recall through the service.

// TraceCounts tells what traceability data a generation wrote.
type TraceCounts struct {
	Products, Batches, Events, Recalls int
	// Of the products and batches, the raw materials and their lots
	// (lineage.go).
	RawProducts, RawLots int
	Inputs               int    // input links written (a raw lot into a food batch)
	Made                 int    // food batches given inputs
	EPCIS                int    // of the events, inspections captured from EPCIS 2.0 documents
	Sites                int    // the producers' and growers' places registered (trace sites)
	FromOrders           bool   // products and batches taken from the orders table
	Recalled             string // "GTIN/batch" of the recalled batch
	RawRecalled          string // "GTIN/batch" of the recalled raw lot ("" when none went into two batches)
	// Cascaded counts, of the recalls, the batches made from the raw lot
	// recalled with it (one of them may have been the recalled batch).
	Cascaded int
}

// traceSeedSalt separates the trace stream from the others.
const traceSeedSalt = 0x7472616365 // "trace"

// maxDemoProducts bounds the demo's products whatever the city's size.
const maxDemoProducts = 2000

var demoGoods = map[string][]string{
	"food":            {"承德山楂糕", "露露杏仁露", "板栗仁", "山庄老酒", "蘑菇干", "荞麦挂面", "野生榛子", "坝上莜面"},
	"agricultural":    {"围场土豆", "兴隆山楂", "宽城板栗", "平泉香菇", "隆化小米", "丰宁黄芪"},
	"agri_inputs":     {"复合肥", "玉米种子", "有机肥", "杀虫剂（吡虫啉）", "兽用疫苗"},
	"medical_devices": {"医用外科口罩", "电子体温计", "血糖试纸", "医用棉签"},
}

// demoCategory maps a shop category to the product's: farm produce sold
// packaged is food.
func demoCategory(c string) string {
	if c == "agricultural" {
		return "food"
	}
	return c
}

type demoProducer struct {
	id       int64
	code     string
	region   string
	category string // the products' category (demoCategory of the shop's)
	name     string
	// shopCategory is the category of the producer's shop as registered:
	// agricultural for farm producers.
	shopCategory string
}

// pickProducer chooses the producer of a product: one whose name says it
// makes the goods (承德山楂 → 兴隆县…山楂食品有限公司), else one of the
// product's category, else any; n spreads products over the candidates.
func pickProducer(producers []demoProducer, product, category string, n int) demoProducer {
	goods := strings.TrimPrefix(product, "承德")
	var byGoods, byCategory []demoProducer
	for _, pr := range producers {
		switch {
		case goods != "" && strings.Contains(pr.name, goods):
			byGoods = append(byGoods, pr)
		case pr.category == category:
			byCategory = append(byCategory, pr)
		}
	}
	for _, c := range [][]demoProducer{byGoods, byCategory, producers} {
		if len(c) > 0 {
			return c[n%len(c)]
		}
	}
	return demoProducer{}
}

// writeTrace generates the traceability data.
func writeTrace(ctx context.Context, store *sqlstore.DB, recs *record.Service, seed int64, clk clock.Clock, progress io.Writer) (TraceCounts, error) {
	const op = "demo.writeTrace"
	var c TraceCounts
	now := clk.Now().UTC()
	rng := rand.New(rand.NewPCG(uint64(seed)^traceSeedSalt, 0x7472))
	r := store.ReaderDB()
	rows, err := r.QueryContext(ctx, store.Dialect().Rebind(`SELECT s.owner_id, MIN(sub.credit_code), MIN(sub.region_code), MIN(s.category), MIN(sub.name)
		FROM shops s JOIN subjects sub ON sub.id = s.owner_id
		WHERE sub.credit_code IS NOT NULL AND sub.status = 'active'
		GROUP BY s.owner_id ORDER BY s.owner_id`))
	if err != nil {
		return c, errs.Wrap(op, err)
	}
	var producers []demoProducer
	farms := newFarmFinder() // the growers of raw materials, among all
	for rows.Next() {
		var p demoProducer
		if err := rows.Scan(&p.id, &p.code, &p.region, &p.category, &p.name); err != nil {
			rows.Close()
			return c, errs.Wrap(op, err)
		}
		p.shopCategory = p.category
		farms.consider(p)
		if p.id%4 == 0 || len(producers) < 3 {
			p.category = demoCategory(p.category)
			producers = append(producers, p)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return c, errs.Wrap(op, err)
	}
	if len(producers) == 0 {
		return c, nil
	}
	type plan struct {
		gtin, name, category string
		producer             demoProducer
		batches              []string
		produced             []time.Time
		quantity             []int64 // units made of each batch
	}
	var plans []*plan
	// From orders, when there are any: the busiest (gtin, batch) pairs.
	orows, err := r.QueryContext(ctx, `SELECT gtin, batch, MIN(name), MIN(category), MIN(o.paid_at) FROM order_items i JOIN orders o ON o.id = i.order_id
		WHERE batch <> '' GROUP BY gtin, batch ORDER BY COUNT(*) DESC, gtin, batch LIMIT 1000`)
	if err != nil {
		return c, errs.Wrap(op, err)
	}
	byGTIN := map[string]*plan{}
	for orows.Next() {
		var g, b, name, cat string
		var paid int64
		if err := orows.Scan(&g, &b, &name, &cat, &paid); err != nil {
			orows.Close()
			return c, errs.Wrap(op, err)
		}
		gt, err := trace.ParseGTIN("gtin", g)
		if err != nil {
			continue
		}
		if _, err := trace.ParseBatch("batch", b); err != nil {
			continue
		}
		p := byGTIN[gt]
		if p == nil {
			if len(byGTIN) >= maxDemoProducts {
				continue
			}
			k, ok := trace.NormalizeCategory(cat)
			if !ok {
				k = ""
			}
			pr := pickProducer(producers, name, demoCategory(k), len(byGTIN))
			if k == "" {
				k = pr.category
			}
			if name == "" {
				name = demoGoods[pr.category][len(byGTIN)%len(demoGoods[pr.category])]
			}
			p = &plan{gtin: gt, name: name, category: k, producer: pr}
			byGTIN[gt], plans = p, append(plans, p)
		}
		made := now.Add(-time.Duration(20+rng.IntN(40)) * day)
		if paid > 0 {
			made = time.UnixMicro(paid).Add(-time.Duration(5+rng.IntN(30)) * day)
		}
		p.batches, p.produced = append(p.batches, b), append(p.produced, made)
	}
	orows.Close()
	if err := orows.Err(); err != nil {
		return c, errs.Wrap(op, err)
	}
	c.FromOrders = len(plans) > 0
	if !c.FromOrders {
		n := 0
		for _, pr := range producers {
			goods := demoGoods[pr.category]
			if len(goods) == 0 {
				continue // not a category the demo names goods of
			}
			if n >= maxDemoProducts {
				break
			}
			i := n
			n++
			body := fmt.Sprintf("694%09d", (uint64(seed)%1000)*1000000+uint64(i)+1)
			ck, _ := code.GTINCheck(body)
			p := &plan{gtin: body + string(ck), name: goods[rng.IntN(len(goods))], category: pr.category, producer: pr}
			for j := 0; j < 2+rng.IntN(2); j++ {
				made := now.Add(-time.Duration(15+rng.IntN(290)) * day)
				p.batches = append(p.batches, fmt.Sprintf("L%s%02d", made.In(clock.Shanghai).Format("20060102"), j+1))
				p.produced = append(p.produced, made)
			}
			plans = append(plans, p)
		}
	}

	// The units made of each batch, and the raw lots of the food batches.
	var foods [][]foodBatch
	for _, p := range plans {
		var fs []foodBatch
		for j, b := range p.batches {
			p.quantity = append(p.quantity, int64(500+rng.IntN(20)*100))
			if p.category == "food" {
				fs = append(fs, foodBatch{gtin: p.gtin, batch: b, name: p.name, producer: p.producer.id, made: record.DateOf(p.produced[j]), quantity: p.quantity[j]})
			}
		}
		foods = append(foods, fs)
	}
	lrng := rand.New(rand.NewPCG(uint64(seed)^lineageSeedSalt, 0x6c696e))
	lineage := planLineage(lrng, lineageFoods(foods), farms)

	// Products and batches, in bulk.
	nowUS := micros(now)
	var prodRows [][]any
	for _, p := range plans {
		prodRows = append(prodRows, []any{p.gtin, p.name, p.category, "", p.producer.id, nowUS, nowUS})
	}
	for _, rp := range lineage.products {
		prodRows = append(prodRows, []any{rp.gtin, rp.m.name, rp.m.category, "散装，按千克计", rp.farm.id, nowUS, nowUS})
	}
	if err := insertRows(ctx, store, op, "trace_products", "gtin, name, category, spec, producer_id, created_at, updated_at", prodRows); err != nil {
		return c, errs.Wrap(op, err)
	}
	ids := map[string]int64{}
	prow, err := r.QueryContext(ctx, "SELECT id, gtin FROM trace_products")
	if err != nil {
		return c, errs.Wrap(op, err)
	}
	for prow.Next() {
		var id int64
		var g string
		if err := prow.Scan(&id, &g); err != nil {
			prow.Close()
			return c, errs.Wrap(op, err)
		}
		ids[g] = id
	}
	prow.Close()
	var batchRows [][]any
	for _, p := range plans {
		for j, b := range p.batches {
			day := record.DateOf(p.produced[j])
			batchRows = append(batchRows, []any{ids[p.gtin], p.gtin, b, string(day), string(day.AddDate(0, 12, 0)), p.quantity[j], "",
				p.producer.id, trace.BatchNormal, nowUS, nowUS})
		}
	}
	for _, l := range lineage.lots {
		batchRows = append(batchRows, []any{ids[l.prod.gtin], l.prod.gtin, l.batch, string(l.made), string(l.made.AddDate(0, l.prod.m.shelf, 0)), l.quantity, "KGM",
			l.prod.farm.id, trace.BatchNormal, nowUS, nowUS})
	}
	if err := insertRows(ctx, store, op, "trace_batches", "product_id, gtin, batch, produced_on, expires_on, quantity, uom, producer_id, status, created_at, updated_at", batchRows); err != nil {
		return c, errs.Wrap(op, err)
	}
	c.Products, c.Batches = len(prodRows), len(batchRows)
	c.RawProducts, c.RawLots, c.Made = len(lineage.products), len(lineage.lots), len(lineage.outputs)

	// Events through the service, as the market regulator's testing
	// centre and the producers' reports would arrive.
	svc := &trace.Service{Store: store, Subjects: store, Records: store, Recorder: recs, Clock: clk}
	dept := account.With(ctx, account.Actor{Name: cityMarket, Role: account.RoleDepartment, Department: "市场监管", Via: "system"})
	// The food batches' inputs, recorded by the market regulator (a
	// department may record any batch's inputs).
	if c.Inputs, err = lineage.record(dept, svc); err != nil {
		return c, errs.Wrap(op, err)
	}
	hasInputs := map[string]bool{}
	for _, f := range lineage.outputs {
		hasInputs[f.gtin+"/"+f.batch] = true
	}
	// rank orders the candidates for the recall: a food batch made from
	// raw lots (its page shows them), any food batch, anything.
	rank := func(p *plan, b string) int {
		switch {
		case p.category != "food":
			return 0
		case hasInputs[p.gtin+"/"+b]:
			return 2
		}
		return 1
	}
	var evs []trace.EventInput
	var inspections []epcisInspection
	var recall *plan
	var listable []listing
	recallBatch := ""
	seq := 0
	at := func(t time.Time) string { return t.In(clock.Shanghai).Format(time.RFC3339) }
	for _, p := range plans {
		for j, b := range p.batches {
			made := record.DateOf(p.produced[j]).Time().Add(8 * time.Hour)
			evs = append(evs, trace.EventInput{EventID: "P-" + p.gtin + "-" + b, Type: trace.EventProduced, GTIN: p.gtin, Batch: b, Time: at(made),
				SubjectCode: p.producer.code, Quantity: p.quantity[j], ReadPoint: plantLocation(p.producer, 1), BizLocation: plantLocation(p.producer, 2)})
			seq++
			disp := "conformant"
			if rng.IntN(20) == 0 {
				disp = "non_conformant"
				// The recall: a food batch if any failed its inspection,
				// made from raw lots if any of those did.
				if recall == nil || rank(p, b) > rank(recall, recallBatch) {
					recall, recallBatch = p, b
				}
			}
			inspected := made.Add(time.Duration(1+rng.IntN(3))*day + 2*time.Hour)
			if inspected.After(now) {
				inspected = now
			}
			listed := made.Add(time.Duration(4+rng.IntN(4)) * day)
			// The testing centre reports its inspections as EPCIS 2.0.
			inspections = append(inspections, epcisInspection{gtin: p.gtin, batch: b, at: inspected, disposition: disp,
				report: fmt.Sprintf("CDJC%s%05d", made.Format("2006"), seq)})
			switch {
			case disp != "conformant":
			case c.FromOrders:
				// Listed by the platforms, in the shops that sold it.
				listable = append(listable, listing{gtin: p.gtin, batch: b, made: made})
			case listed.Before(now):
				evs = append(evs, trace.EventInput{EventID: "L-" + p.gtin + "-" + b, Type: trace.EventListed, GTIN: p.gtin, Batch: b,
					Time: at(listed), Region: p.producer.region})
			}
		}
	}
	rawEvs, rawInspections := lineage.events(lrng, now, seq)
	evs, inspections = append(evs, rawEvs...), append(inspections, rawInspections...)
	// The producers' and growers' places, registered by the market
	// regulator, so that their events show by name; the testing centre's
	// reception stays unregistered and shows as sent.
	var sites []trace.SiteInput
	seen := map[string]bool{}
	site := func(loc, name string, owner demoProducer) {
		if loc != "" && !seen[loc] {
			seen[loc] = true
			sites = append(sites, trace.SiteInput{Location: loc, SubjectCode: owner.code, Name: name, Region: owner.region})
		}
	}
	for _, p := range plans {
		site(plantLocation(p.producer, 1), "生产车间", p.producer)
		site(plantLocation(p.producer, 2), "成品仓库", p.producer)
	}
	for _, rp := range lineage.products {
		site(plantLocation(rp.farm, 3), "种植基地", rp.farm)
		site(plantLocation(rp.farm, 4), "产地收储库", rp.farm)
	}
	for start := 0; start < len(sites); start += trace.MaxSites {
		res, err := svc.RegisterSites(dept, sites[start:min(start+trace.MaxSites, len(sites))])
		if err != nil {
			return c, errs.Wrap(op, err)
		}
		c.Sites += len(res)
	}
	for start := 0; start < len(evs); start += trace.MaxBatch {
		res, err := svc.IngestEvents(dept, evs[start:min(start+trace.MaxBatch, len(evs))])
		if err != nil {
			return c, errs.Wrap(op, err)
		}
		for _, x := range res {
			if x.Err != nil {
				return c, errs.Wrap(op, fmt.Errorf("trace event line %d: %w", start+x.Line, x.Err))
			}
			c.Events++
		}
	}
	for start := 0; start < len(inspections); start += trace.MaxBatch {
		doc, err := epcisInspections(inspections[start:min(start+trace.MaxBatch, len(inspections))], now)
		if err != nil {
			return c, errs.Wrap(op, err)
		}
		lines, err := svc.CaptureEPCIS(dept, doc)
		if err != nil {
			return c, errs.Wrap(op, err)
		}
		for _, l := range lines {
			if l.Err != nil {
				return c, errs.Wrap(op, fmt.Errorf("EPCIS inspection %d: %w", start+l.Line, l.Err))
			}
			c.Events++
			c.EPCIS++
		}
	}
	n, err := writeShopListings(ctx, store, svc, listable, rng, now)
	if err != nil {
		return c, errs.Wrap(op, err)
	}
	c.Events += n
	if recall == nil && len(plans) > 0 {
		recall, recallBatch = plans[0], plans[0].batches[0]
	}
	if recall != nil {
		if _, err := svc.Recall(dept, recall.gtin, recallBatch, trace.RecallInput{Reason: recallReason(recall.category)}); err != nil {
			return c, errs.Wrap(op, err)
		}
		c.Recalls, c.Recalled = 1, recall.gtin+"/"+recallBatch
	}
	// A raw lot that went into several food batches fails the testing
	// centre's re-test and is recalled with every batch made from it (a
	// cascade): its record names them and their platforms, each has its
	// own recall record naming the lot, and their pages warn of it.
	if lot := lineage.recallLot(); lot != nil {
		g, m := lot.prod.gtin, lot.prod.m
		retest := trace.EventInput{EventID: "R-" + g + "-" + lot.batch, Type: trace.EventInspected, GTIN: g, Batch: lot.batch,
			Time: at(now.Add(-3 * time.Hour)), Disposition: "non_conformant", Ref: fmt.Sprintf("CDJC%sR%04d", now.In(clock.Shanghai).Format("2006"), rng.IntN(10000)),
			Region: lot.prod.farm.region, Note: m.test + "（监督抽检复检）：不合格"}
		res, err := svc.IngestEvents(dept, []trace.EventInput{retest})
		if err == nil && res[0].Err != nil {
			err = res[0].Err
		}
		if err != nil {
			return c, errs.Wrap(op, fmt.Errorf("re-test of raw lot %s/%s: %w", g, lot.batch, err))
		}
		c.Events++
		reason := fmt.Sprintf("%s原料批次监督抽检复检不合格（%s），责令召回；以其为原料的产品一并召回", m.name, m.test)
		rr, err := svc.Recall(dept, g, lot.batch, trace.RecallInput{Reason: reason, Cascade: true})
		if err == nil {
			err = rr.CascadeErr
		}
		if err != nil {
			return c, errs.Wrap(op, err)
		}
		for _, x := range rr.Cascade {
			if x.Status == trace.CascadeFailed || x.Status == trace.CascadeNotPermitted {
				cause := x.Err
				if cause == nil {
					cause = errors.New(x.Message)
				}
				return c, errs.Wrap(op, fmt.Errorf("cascading recall of %s/%s: %s/%s %s: %w", g, lot.batch, x.GTIN, x.Batch, x.Status, cause))
			}
		}
		c.Cascaded = rr.Count(trace.CascadeRecalled)
		c.Recalls += 1 + c.Cascaded
		c.RawRecalled = g + "/" + lot.batch
	}
	if progress != nil {
		src := "自行生成"
		if c.FromOrders {
			src = "取自订单"
		}
		rawRecalled := ""
		if c.RawRecalled != "" {
			rawRecalled = fmt.Sprintf("，原料批次 /trace/%s 及以其为原料的 %d 个批次", c.RawRecalled, c.Cascaded)
		}
		fmt.Fprintf(progress, "产品追溯：产品 %d 个、批次 %d 个（%s；其中原料产品 %d 个、原料批次 %d 个）、原料投入记录 %d 条（%d 个食品批次）、追溯事件 %d 条（其中检验 %d 条由检测中心以 EPCIS 2.0 文档报送）、登记追溯地点 %d 个（生产车间、成品仓库等，事件按名称显示）、召回 %d 批（/trace/%s%s；召回公告 /recalls）\n",
			c.Products, c.Batches, src, c.RawProducts, c.RawLots, c.Inputs, c.Made, c.Events, c.EPCIS, c.Sites, c.Recalls, c.Recalled, rawRecalled)
	}
	return c, nil
}

// epcisInspection is one inspection of the city's testing centre.
type epcisInspection struct {
	gtin, batch, disposition, report string
	note                             string // what was inspected; "" none
	at                               time.Time
}

// epcisInspections writes inspections as the EPCIS 2.0 document a testing
// centre's laboratory system would send: ObjectEvents with the batch's
// GS1 Digital Link, the CBV step "inspecting", the result as the
// disposition, the report number as certificationInfo and the place as
// ecredit's region extension.
func epcisInspections(ins []epcisInspection, now time.Time) ([]byte, error) {
	type quantity struct {
		EPCClass string `json:"epcClass"`
	}
	type location struct {
		ID string `json:"id"`
	}
	type event struct {
		Type              string     `json:"type"`
		EventID           string     `json:"eventID"`
		EventTime         string     `json:"eventTime"`
		TimeZoneOffset    string     `json:"eventTimeZoneOffset"`
		Action            string     `json:"action"`
		BizStep           string     `json:"bizStep"`
		Disposition       string     `json:"disposition"`
		ReadPoint         location   `json:"readPoint"`
		QuantityList      []quantity `json:"quantityList"`
		CertificationInfo string     `json:"certificationInfo"`
		Region            string     `json:"cdjc:region"`
		Note              string     `json:"cdjc:note,omitempty"`
	}
	evs := make([]event, len(ins))
	for i, x := range ins {
		evs[i] = event{Type: "ObjectEvent", EventID: "urn:uuid:" + demoUUID(x.gtin+"/"+x.batch+"/"+x.report),
			EventTime: x.at.In(clock.Shanghai).Format(time.RFC3339), TimeZoneOffset: "+08:00", Action: "OBSERVE",
			BizStep: "inspecting", Disposition: x.disposition, ReadPoint: location{labLocation}, QuantityList: []quantity{{EPCClass: trace.BatchLink(x.gtin, x.batch)}},
			CertificationInfo: x.report, Region: "130802", Note: x.note}
	}
	return json.Marshal(map[string]any{
		// The centre binds ecredit's namespace to a prefix of its own.
		"@context": []any{trace.EPCISContext, map[string]string{"cdjc": trace.EPCISNamespace}},
		"type":     "EPCISDocument", "schemaVersion": "2.0", "creationDate": now.In(clock.Shanghai).Format(time.RFC3339),
		"epcisBody": map[string]any{"eventList": evs},
	})
}

// labLocation is the SGLN of the testing centre's sample reception.
const labLocation = "urn:epc:id:sgln:6939999.00001.0"

// plantLocation is the SGLN of a producer's place n (1 its production
// line, 2 its finished-goods store; a grower's 3 its growing base, 4 its
// produce store), under a GS1 company prefix of its own: 69 and its
// subject id in five digits.
func plantLocation(p demoProducer, n int) string {
	return fmt.Sprintf("urn:epc:id:sgln:69%05d.%05d.0", p.id%100000, n)
}

// demoUUID is a name-based UUID (version 5 layout over SHA-1) of s, so that
// the demo's event ids are the same from one run to the next.
func demoUUID(s string) string {
	h := sha1.Sum([]byte("ecredit-demo:" + s))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// recallReason is the finding of a failed inspection of a product of the
// category, as a recall states it.
func recallReason(category string) string {
	finding := map[string]string{
		"food": "菌落总数超标", "agricultural": "农药残留（毒死蜱）超标", "agri_inputs": "有效成分含量不足",
		"medical_devices": "无菌检验不合格", "apparel": "甲醛含量超标", "daily_goods": "荧光增白剂检出",
		"electronics": "电气安全项目不合格，存在触电风险",
	}[category]
	if finding == "" {
		return "监督抽检不合格，责令召回"
	}
	return "监督抽检不合格（" + finding + "），责令召回"
}

// demoListingOrders is how many of a batch's orders writeShopListings
// reads to find the shops that sold it most.
const demoListingOrders = 10_000

// listing is a batch its shops list.
type listing struct {
	gtin, batch string
	made        time.Time
}

// writeShopListings has the platforms report the listing of each batch in
// the (at most three) shops that sold the most of it, a few days before
// the shop's first sale of it (and after the batch was made), through
// trace.Service as each platform: so an order's lifecycle starts with
// its shop's listing.
func writeShopListings(ctx context.Context, store *sqlstore.DB, svc *trace.Service, ls []listing, rng *rand.Rand, now time.Time) (int, error) {
	type shopSale struct {
		shop, platform int64
		first          time.Time
	}
	byPlatform := map[int64][]trace.EventInput{}
	var platforms []int64
	for _, l := range ls {
		// The shops of the batch's first orders (its forward trace, at
		// most demoListingOrders), the most sold first.
		byShop := map[int64]*shopSale{}
		count := map[int64]int64{}
		var after int64
		for read := 0; read < demoListingOrders; {
			page, err := store.ReachOrders(ctx, []string{l.gtin}, l.batch, 0, after, trace.MaxPage)
			if err != nil {
				return 0, err
			}
			for _, o := range page {
				s := byShop[o.ShopID]
				if s == nil {
					s = &shopSale{shop: o.ShopID, platform: o.PlatformID, first: o.PaidAt}
					byShop[o.ShopID] = s
				}
				if o.PaidAt.Before(s.first) {
					s.first = o.PaidAt
				}
				count[o.ShopID] += o.Quantity
			}
			read += len(page)
			if len(page) < trace.MaxPage {
				break
			}
			after = page[len(page)-1].OrderID
		}
		var sales []shopSale
		for _, s := range byShop {
			sales = append(sales, *s)
		}
		slices.SortFunc(sales, func(a, b shopSale) int {
			return cmp.Or(cmp.Compare(count[b.shop], count[a.shop]), cmp.Compare(a.shop, b.shop))
		})
		sales = sales[:min(len(sales), 3)]
		for _, s := range sales {
			at := s.first.Add(-time.Duration(1+rng.IntN(72)) * time.Hour)
			if !at.After(l.made) {
				at = l.made.Add(time.Hour)
			}
			if at.After(now) {
				continue
			}
			if _, ok := byPlatform[s.platform]; !ok {
				platforms = append(platforms, s.platform)
			}
			byPlatform[s.platform] = append(byPlatform[s.platform], trace.EventInput{EventID: fmt.Sprintf("SJ-%s-%s-%d", l.gtin, l.batch, s.shop),
				Type: trace.EventListed, GTIN: l.gtin, Batch: l.batch, Time: at.In(clock.Shanghai).Format(time.RFC3339), ShopID: s.shop})
		}
	}
	n := 0
	for _, pid := range platforms {
		sub, err := store.GetSubject(ctx, pid)
		if err != nil {
			return n, err
		}
		as := account.With(ctx, account.Actor{Name: sub.Name, Role: account.RolePlatform, SubjectID: pid, Via: "system"})
		evs := byPlatform[pid]
		for start := 0; start < len(evs); start += trace.MaxBatch {
			res, err := svc.IngestEvents(as, evs[start:min(start+trace.MaxBatch, len(evs))])
			if err != nil {
				return n, err
			}
			for _, r := range res {
				if r.Err != nil {
					return n, fmt.Errorf("listing of %s: %w", evs[start+r.Line-1].Batch, r.Err)
				}
				n++
			}
		}
	}
	return n, nil
}
