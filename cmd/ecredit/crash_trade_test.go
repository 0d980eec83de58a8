package main

// The crash harness's trade, logistics and traceability writers (issue
// 3): a platform sends order and review batches (and imports orders
// files), a logistics firm parcels and their tracking events, and a
// department trace events of the orders' batches (as NDJSON batches and as
// EPCIS 2.0 documents), through the API while
// the server is SIGKILLed, each resending now and then what it sent
// before (ingest is idempotent: a resent line is answered "unchanged",
// with the id it was first given). The check holds the orders, reviews,
// parcels, tracking and trace events to the same rule as the records: every acknowledged
// one stored exactly once (with the id it was answered with), nothing
// rejected stored, nothing stored that was never sent; and every order
// with both its items, every parcel's event count equal to the lines of
// its track, every shop's review tally and days equal to what its reviews
// add up to, no buyer–seller month over the counting bounds.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ecredit/sqlstore"
	"ecredit/trace"
)

// Prefixes of the order numbers and waybills the trade writers send, so
// that the check finds them.
const (
	orderMark  = "CRO-"
	parcelMark = "CRP"
)

// crashGTIN is a valid GTIN-13 of the orders' items; badGTIN has a wrong
// check digit.
const (
	crashGTIN = "6901234567892"
	badGTIN   = "6901234567893"
)

// feedKind is what a trade writer sends.
type feedKind int

const (
	feedOrders  feedKind = iota // a platform's orders and its buyers' reviews
	feedParcels                 // a logistics firm's parcels and tracking events
	feedTrace                   // a department's trace events of registered batches (M10)
)

// tradeFeed is what a platform's, a logistics firm's or a department's
// writer keeps across the server's kills: its key, the batches it may send
// again, and (a firm's) the parcels on their way.
type tradeFeed struct {
	kind   feedKind
	key    string
	code   string  // the credit code of the platform or firm
	name   string  // in its order numbers or waybills
	shops  []int64 // a platform's
	resend []keptBatch
	// sent is every valid line sent, by key, for settle.
	sent map[string]sent
	// A platform's orders in the order sent, with their buyers, and how
	// many of them have been considered for a review.
	orderNos []string
	buyers   map[string]string
	reviewed int
	// parcels are those whose journey is not acknowledged to its end,
	// oldest first.
	parcels []*crashParcel
}

// setupTrade registers, through the running server and the binary, a
// platform with three shops and a logistics firm, each with an API key,
// and the product the orders sell with 50 of its batches, and returns
// the feeds of the platform, the firm and (with the admin key) trace
// events.
func setupTrade(t *testing.T, s *e2eStore, base, admin string) (platform, firm, tracer *tradeFeed) {
	t.Helper()
	subject := func(kind, name, body string) string {
		cc := credit(t, body, 1)
		c, resp, _ := request(t, "POST", base+"api/v1/subjects", admin, map[string]any{"kind": kind, "name": name, "credit_code": cc, "region_code": "130802"})
		if c != http.StatusCreated {
			t.Fatalf("POST subject %s = %d %s", name, c, resp)
		}
		return cc
	}
	account := func(role, cc string) string {
		c, out, errOut := cli(t, s.env, "", append([]string{"account", "create", "--role", role, "--name", "崩溃测试" + role, "--subject", cc}, s.args...)...)
		key := keyRE.FindString(out)
		if c != 0 || key == "" {
			t.Fatalf("account create --role %s = %d\n%s\n%s", role, c, out, errOut)
		}
		return key
	}
	pc, fc := subject("platform", "承德崩溃测试电子商务平台有限公司", "TP"), subject("logistics", "承德崩溃测试快递有限公司", "TL")
	platform = &tradeFeed{kind: feedOrders, name: "P", code: pc, key: account("platform", pc), sent: map[string]sent{}, buyers: map[string]string{}}
	firm = &tradeFeed{kind: feedParcels, name: "L", code: fc, key: account("logistics", fc), sent: map[string]sent{}}
	owner := subject("merchant", "承德崩溃测试网店经营有限公司", "TM")
	for i := range 3 {
		c, resp, _ := request(t, "POST", base+"api/v1/shops", platform.key, map[string]any{"owner_credit_code": owner,
			"name": fmt.Sprintf("崩溃测试第%d店", i+1), "url": fmt.Sprintf("https://crash%d.example.cn/", i+1), "category": "food",
			"platform_shop_id": crashShopID(i)})
		var sh struct {
			ID int64 `json:"id"`
		}
		if c != http.StatusCreated || json.Unmarshal(resp, &sh) != nil || sh.ID == 0 {
			t.Fatalf("POST shop = %d %s", c, resp)
		}
		platform.shops = append(platform.shops, sh.ID)
	}
	post := func(path string, body map[string]any) {
		if c, resp, _ := request(t, "POST", base+path, admin, body); c != http.StatusCreated {
			t.Fatalf("POST %s %v = %d %s", path, body, c, resp)
		}
	}
	post("api/v1/products", map[string]any{"gtin": crashGTIN, "name": "承德山楂干 500g", "category": "food", "producer_code": owner})
	for b := range crashBatches {
		post("api/v1/batches", map[string]any{"gtin": crashGTIN, "batch": crashBatch(b), "produced_on": time.Now().AddDate(0, 0, -10).Format("2006-01-02"), "quantity": 100000})
	}
	tracer = &tradeFeed{kind: feedTrace, name: "T", key: admin, shops: platform.shops, sent: map[string]sent{}}
	return platform, firm, tracer
}

// crashBatches is how many batches of crashGTIN the orders sell and the
// trace events name, crashBatch(0) … crashBatch(crashBatches-1).
const crashBatches = 50

func crashBatch(i int) string { return fmt.Sprintf("L%03d", i%crashBatches) }

// epcisPath is where EPCIS 2.0 documents are captured: sendBatch posts
// the lines sent there as the events of one JSON-LD document.
const epcisPath = "api/v1/trace/epcis"

// onceTrace sends 5–20 trace events (inspections and listings) of the
// product's batches as an NDJSON batch, or (one round in two) 5–20
// inspections as an EPCIS 2.0 document, one event in ten dated in the
// future; or (one round in six) resends an earlier batch or document.
func (w *apiWriter) onceTrace(ctx context.Context) {
	if w.resendOne(ctx) {
		return
	}
	n := w.seq.Add(1)
	at := time.Now().Add(-30 * time.Minute).UTC().Truncate(time.Second)
	path := "api/v1/trace/events/batch"
	epcis := w.rnd.IntN(2) == 0
	if epcis {
		path = epcisPath
	}
	lines := make([]sent, 5+w.rnd.IntN(16))
	for i := range lines {
		id := fmt.Sprintf("CRT-%s-%07d-%02d", w.name, n, i)
		valid := w.rnd.IntN(10) > 0
		when := at
		if !valid {
			when = at.Add(72 * time.Hour)
		}
		batch := crashBatch(w.rnd.IntN(crashBatches))
		ev := map[string]any{"event_id": id, "type": "listed", "gtin": crashGTIN, "batch": batch,
			"time": when.Format(time.RFC3339), "shop_id": w.trade.shops[i%len(w.trade.shops)]}
		switch {
		case epcis:
			ev = map[string]any{"type": "ObjectEvent", "eventID": id, "eventTime": when.Format(time.RFC3339), "eventTimeZoneOffset": "+00:00",
				"action": "OBSERVE", "bizStep": "inspecting", "disposition": "conformant", "certificationInfo": "CDJC" + id[4:],
				"quantityList": []any{map[string]string{"epcClass": trace.BatchLink(crashGTIN, batch)}}}
		case i%2 == 0:
			ev = map[string]any{"event_id": id, "type": "inspected", "gtin": crashGTIN, "batch": batch,
				"time": when.Format(time.RFC3339), "disposition": "conformant", "ref": "CDJC" + id[4:], "region": "130802"}
		}
		line, _ := json.Marshal(ev)
		key := "trace|" + id
		lines[i] = sent{m: w.tr.trace, key: key, line: line, valid: valid}
		if epcis {
			lines[i].path = epcisPath
		}
		if !valid {
			w.tr.set(w.tr.trace, key, fateRejected, 0)
		}
	}
	w.send(ctx, keptBatch{path, "invalid", lines})
}

// crashShopID is the platform's own id of its shop i, as orders files
// name the shop.
func crashShopID(i int) string { return fmt.Sprintf("CS%02d", i+1) }

// tradeImporters import the platform's orders files and the firm's
// parcels files.
func tradeImporters(t *testing.T, s *e2eStore, tr *tracker, rows int, platform, firm *tradeFeed) []*importer {
	om := &importer{t: t, s: s, tr: tr, rows: rows, fates: tr.orders, args: []string{"import", "--type", "orders", "--platform", platform.code}}
	om.write = om.ordersFile
	pm := &importer{t: t, s: s, tr: tr, rows: rows, fates: tr.parcels, args: []string{"import", "--type", "parcels", "--firm", firm.code}}
	pm.write = pm.parcelsFile
	return []*importer{om, pm}
}

// parcelsFile writes the firm's parcels file n: 2×rows parcels (the
// import stores them in transactions of a thousand), one in twenty with a
// weight that is no number (refused), and records them in the tracker.
func (im *importer) parcelsFile(n int) *importFile {
	promised := time.Now().Add(48 * time.Hour).In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04")
	header := []string{"运单号", "重量（克）", "始发地", "目的地", "快递员编号", "承诺送达时间"}
	return im.addFile(fmt.Sprintf("parcels-%03d.csv", n), header, 2*im.rows, func(i int) (string, bool, [][]string) {
		wb := fmt.Sprintf("%sF%03d%06d", parcelMark, n, i)
		valid, weight := i%20 != 7, "800"
		if !valid {
			weight = "八百"
		}
		return wb, valid, [][]string{{wb, weight, "130802", "110105", fmt.Sprintf("C%02d", i%9), promised}}
	})
}

// ordersFile writes the platform's orders file n: 2×rows orders of two
// items each (a row an item; the import stores trade.MaxBatch orders a
// transaction, so a kill may fall between its transactions), one in
// twenty with a bad GTIN on its second item (the order is refused whole),
// and records them in the tracker.
func (im *importer) ordersFile(n int) *importFile {
	paid := time.Now().Add(-3 * time.Hour).In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04:05")
	header := []string{"订单号", "店铺编号", "买家", "订单金额（元）", "商品条码", "批次", "数量", "单价（元）", "付款时间"}
	return im.addFile(fmt.Sprintf("orders-%03d.csv", n), header, 2*im.rows, func(i int) (string, bool, [][]string) {
		no := fmt.Sprintf("%sF%03d-%06d", orderMark, n, i)
		valid := i%20 != 7
		second := crashGTIN
		if !valid {
			second = badGTIN
		}
		shop, buyer := crashShopID(i%3), fmt.Sprintf("crash_f%d", i%11)
		return no, valid, [][]string{{no, shop, buyer, "39.80", crashGTIN, crashBatch(i), "1", "19.90", paid},
			{no, shop, buyer, "39.80", second, crashBatch(1), "1", "19.90", paid}}
	})
}

// sent is one NDJSON line (or EPCIS event) a trade writer sent: the key
// the tracker knows it by, its map there, whether it is valid, and where
// it goes when that is not its feed's usual place (settle).
type sent struct {
	m     map[string]outcome
	key   string
	line  []byte
	valid bool
	path  string
}

// keptBatch is a batch a trade writer may send again: where it went, the
// error code its invalid lines are refused with, and its lines.
type keptBatch struct {
	path, reject string
	lines        []sent
}

// batchLine is one line of a batch answer.
type batchLine struct {
	Line   int    `json:"line"`
	Status string `json:"status"`
	ID     int64  `json:"id"`
	Error  *struct {
		Code    string `json:"code"`
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"error"`
}

func (l batchLine) String() string {
	if l.Error == nil {
		return fmt.Sprintf("%s (id %d)", l.Status, l.ID)
	}
	return fmt.Sprintf("%s %s on %q: %s", l.Status, l.Error.Code, l.Error.Field, l.Error.Message)
}

// sendBatch posts the lines as one NDJSON batch (to epcisPath, as the
// events of one EPCIS document) and records each line's fate: created or
// unchanged is an acknowledgement (with the id when the answer gives
// one), an error of code rejectCode on an invalid line a rejection,
// unavailable or no answer unknown; any other answer is a bad one.
func (w *apiWriter) sendBatch(ctx context.Context, path string, lines []sent, rejectCode string) {
	var b bytes.Buffer
	ctype := "application/x-ndjson"
	if path == epcisPath {
		ctype = "application/ld+json"
		fmt.Fprintf(&b, `{"@context":[%q],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":%q,"epcisBody":{"eventList":[`,
			trace.EPCISContext, time.Now().UTC().Format(time.RFC3339))
	}
	for i, l := range lines {
		if path == epcisPath && i > 0 {
			b.WriteByte(',')
		}
		b.Write(l.line)
		if path != epcisPath {
			b.WriteByte('\n')
		}
	}
	if path == epcisPath {
		b.WriteString("]}}")
	}
	status, resp := w.post(ctx, path, ctype, b.Bytes())
	if status != http.StatusOK {
		for _, l := range lines {
			switch {
			case status == 0, status == http.StatusServiceUnavailable, status == http.StatusTooManyRequests:
				if l.valid {
					w.tr.set(l.m, l.key, fateUnknown, 0)
				}
			default:
				w.tr.badAnswer("%s: status %d %.300s", path, status, resp)
				return
			}
		}
		return
	}
	var res struct {
		Results []batchLine `json:"results"`
	}
	if err := json.Unmarshal(resp, &res); err != nil || len(res.Results) != len(lines) {
		w.tr.badAnswer("%s answer %.300s: %v", path, resp, err)
		return
	}
	for i, r := range res.Results {
		l := lines[i]
		switch {
		case r.Line != i+1:
			w.tr.badAnswer("%s line %d answered as line %d", path, i+1, r.Line)
		case l.valid && (r.Status == "created" || r.Status == "unchanged"): // a line is never sent changed
			w.tr.set(l.m, l.key, fateAcked, r.ID)
			if path == epcisPath {
				w.tr.mu.Lock()
				w.tr.epcis[l.key] = true
				w.tr.mu.Unlock()
			}
		case r.Status == "error" && r.Error != nil && r.Error.Code == "unavailable" && l.valid:
			w.tr.set(l.m, l.key, fateUnknown, 0)
		case r.Status == "error" && !l.valid && r.Error != nil && r.Error.Code == rejectCode:
			w.tr.set(l.m, l.key, fateRejected, 0)
		default:
			w.tr.badAnswer("%s line %d %s (valid %v): %v", path, i+1, l.key, l.valid, r)
		}
	}
}

// onceOrders sends a batch of 5–20 new signed orders of two items each, one in
// ten with a bad GTIN; or (one round in four) the buyers' reviews of up to
// 20 acknowledged orders, one in ten with a detailed rating out of range;
// or (one round in six) resends an earlier batch of either.
func (w *apiWriter) onceOrders(ctx context.Context) {
	if w.resendOne(ctx) {
		return
	}
	if w.rnd.IntN(4) == 0 && w.reviews(ctx) {
		return
	}
	n := w.seq.Add(1)
	now := time.Now().UTC()
	paid, shipped, signed := now.Add(-3*time.Hour).Format(time.RFC3339), now.Add(-2*time.Hour).Format(time.RFC3339), now.Add(-time.Hour).Format(time.RFC3339)
	lines := make([]sent, 5+w.rnd.IntN(16))
	for i := range lines {
		no := fmt.Sprintf("%s%s-%07d-%02d", orderMark, w.name, n, i)
		valid := w.rnd.IntN(10) > 0
		gtin := crashGTIN
		if !valid {
			gtin = badGTIN
		}
		line, _ := json.Marshal(map[string]any{"order_no": no, "shop_id": w.trade.shops[(int(n)+i)%len(w.trade.shops)], "buyer": fmt.Sprintf("crash_%d", i%7),
			"amount_fen": 3980, "region": "130802", "paid_at": paid, "shipped_at": shipped, "signed_at": signed, "waybill": fmt.Sprintf("CD%s%07d%02d", w.name, n, i),
			"items": []map[string]any{
				{"gtin": crashGTIN, "batch": crashBatch(int(n)), "name": "承德山楂干 500g", "category": "food", "quantity": 1, "price_fen": 1990},
				{"gtin": gtin, "batch": crashBatch(1), "name": "承德杏仁露 240ml", "category": "food", "quantity": 1, "price_fen": 1990},
			}})
		lines[i] = sent{m: w.tr.orders, key: no, line: line, valid: valid}
		if !valid {
			w.tr.set(w.tr.orders, no, fateRejected, 0)
		} else {
			w.trade.orderNos = append(w.trade.orderNos, no)
			w.trade.buyers[no] = fmt.Sprintf("crash_%d", i%7)
		}
	}
	w.send(ctx, keptBatch{"api/v1/orders/batch", "invalid", lines})
}

// reviews sends the buyers' reviews of the next acknowledged orders not
// yet considered (at most 20; those whose fate is unknown get none), and
// reports whether there were any.
func (w *apiWriter) reviews(ctx context.Context) bool {
	var lines []sent
	w.tr.mu.Lock()
	for len(lines) < 20 && w.trade.reviewed < len(w.trade.orderNos) {
		no := w.trade.orderNos[w.trade.reviewed]
		if w.tr.orders[no].fate != fateAcked {
			if w.tr.orders[no].fate == fateUnknown && len(w.trade.orderNos)-w.trade.reviewed > 200 {
				w.trade.reviewed++ // unknown for long: no review
				continue
			}
			break
		}
		w.trade.reviewed++
		valid := w.rnd.IntN(10) > 0
		desc := 1 + w.rnd.IntN(5)
		if !valid {
			desc = 9
		}
		line, _ := json.Marshal(map[string]any{"order_no": no, "buyer": w.trade.buyers[no], "rating": []int{1, 1, 1, 0, -1}[w.rnd.IntN(5)],
			"description": desc, "service": 1 + w.rnd.IntN(5), "logistics": 1 + w.rnd.IntN(5), "text": "山楂干很新鲜"})
		key := "review|" + no
		lines = append(lines, sent{m: w.tr.reviews, key: key, line: line, valid: valid})
		if !valid {
			w.tr.reviews[key] = outcome{fate: fateRejected} // (the tracker is locked)
		}
	}
	w.tr.mu.Unlock()
	if len(lines) == 0 {
		return false
	}
	w.send(ctx, keptBatch{"api/v1/reviews/batch", "invalid", lines})
	return true
}

// resendOne sends an earlier batch again, one round in six, and reports
// whether it did.
func (w *apiWriter) resendOne(ctx context.Context) bool {
	if len(w.trade.resend) == 0 || w.rnd.IntN(6) != 0 {
		return false
	}
	b := w.trade.resend[w.rnd.IntN(len(w.trade.resend))]
	w.sendBatch(ctx, b.path, b.lines, b.reject)
	return true
}

// send sends a batch and keeps it: for resending (the last 20), and its
// valid lines for settle.
func (w *apiWriter) send(ctx context.Context, b keptBatch) {
	w.sendBatch(ctx, b.path, b.lines, b.reject)
	for _, l := range b.lines {
		if l.valid {
			w.trade.sent[l.key] = l
		}
	}
	w.trade.resend = append(w.trade.resend, b)
	if len(w.trade.resend) > 20 {
		w.trade.resend = w.trade.resend[1:]
	}
}

// journey is the tracking events a crash parcel goes through, an hour
// apart.
var journey = []string{"picked_up", "in_transit", "out_for_delivery", "signed"}

// crashParcel is a parcel the logistics writer sent, and how far its
// journey's events have been acknowledged.
type crashParcel struct {
	waybill string
	start   time.Time
	next    int // journey[next] is the event to send
}

// onceParcels sends 3–10 new parcels, then the next event of up to 30
// acknowledged parcels (an event is sent again until acknowledged, so a
// parcel's journey stays in order), with one event in ten for a waybill
// never registered; or (one round in six) resends an earlier event batch.
func (w *apiWriter) onceParcels(ctx context.Context) {
	if w.resendOne(ctx) {
		return
	}
	n := w.seq.Add(1)
	lines := make([]sent, 3+w.rnd.IntN(8))
	start := time.Now().Add(-10 * time.Hour).UTC().Truncate(time.Second)
	for i := range lines {
		wb := fmt.Sprintf("%s%s%07d%02d", parcelMark, w.name, n, i)
		line, _ := json.Marshal(map[string]any{"waybill": wb, "weight_g": 800, "origin": "130802", "dest": "110105",
			"promised_at": start.Add(48 * time.Hour).Format(time.RFC3339)})
		lines[i] = sent{m: w.tr.parcels, key: wb, line: line, valid: true}
		w.trade.parcels = append(w.trade.parcels, &crashParcel{waybill: wb, start: start})
	}
	w.sendBatch(ctx, "api/v1/parcels/batch", lines, "")
	for _, l := range lines {
		w.trade.sent[l.key] = l
	}

	var evs []sent
	w.tr.mu.Lock()
	for _, p := range w.trade.parcels {
		if len(evs) == 30 {
			break
		}
		if o := w.tr.parcels[p.waybill]; o.fate != fateAcked {
			continue
		}
		if p.next > 0 { // the last event sent is sent again until acknowledged
			if o := w.tr.events[eventKey(p.waybill, journey[p.next-1], p.start.Add(time.Duration(p.next-1)*time.Hour))]; o.fate != fateAcked {
				p.next--
			}
		}
		if p.next == len(journey) {
			continue
		}
		at := p.start.Add(time.Duration(p.next) * time.Hour)
		ev := map[string]any{"waybill": p.waybill, "type": journey[p.next], "at": at.Format(time.RFC3339), "region": "130802"}
		if journey[p.next] == "signed" {
			ev["signed_by"] = "recipient"
		}
		line, _ := json.Marshal(ev)
		evs = append(evs, sent{m: w.tr.events, key: eventKey(p.waybill, journey[p.next], at), line: line, valid: true})
		p.next++
	}
	// Drop finished parcels from the front, so the scan stays short.
	for len(w.trade.parcels) > 0 && w.trade.parcels[0].next == len(journey) {
		if o := w.tr.events[eventKey(w.trade.parcels[0].waybill, "signed", w.trade.parcels[0].start.Add(3*time.Hour))]; o.fate != fateAcked {
			break
		}
		w.trade.parcels = w.trade.parcels[1:]
	}
	w.tr.mu.Unlock()
	if w.rnd.IntN(10) == 0 {
		at := start.Add(time.Hour)
		wb := fmt.Sprintf("%sNONE%07d", parcelMark, n)
		line, _ := json.Marshal(map[string]any{"waybill": wb, "type": "in_transit", "at": at.Format(time.RFC3339)})
		key := eventKey(wb, "in_transit", at)
		w.tr.set(w.tr.events, key, fateRejected, 0)
		evs = append(evs, sent{m: w.tr.events, key: key, line: line})
	}
	if len(evs) > 0 {
		w.send(ctx, keptBatch{"api/v1/parcels/events/batch", "not_found", evs})
	}
}

// settle sends again, on a server that stays up, every valid line of the
// feed whose fate is still unknown (orders before their reviews, a firm's
// parcels before their events), as a client that got no answer does, and
// fails t unless each is then acknowledged: after a crash, resending
// settles every line. It returns how many lines it sent.
func (w *apiWriter) settle(ctx context.Context) (resent int) {
	type part struct {
		m    map[string]outcome
		path string
	}
	parts := map[feedKind][]part{
		feedOrders:  {{w.tr.orders, "api/v1/orders/batch"}, {w.tr.reviews, "api/v1/reviews/batch"}},
		feedParcels: {{w.tr.parcels, "api/v1/parcels/batch"}, {w.tr.events, "api/v1/parcels/events/batch"}},
		feedTrace:   {{w.tr.trace, "api/v1/trace/events/batch"}},
	}[w.trade.kind]
	for _, p := range parts {
		var lines []sent
		w.tr.mu.Lock()
		for k, l := range w.trade.sent {
			if o, ok := p.m[k]; ok && o.fate == fateUnknown { // the keys of orders, reviews, parcels and events differ (and a feed sends no other)
				lines = append(lines, l)
			}
		}
		w.tr.mu.Unlock()
		slices.SortFunc(lines, func(a, b sent) int { return strings.Compare(a.path+"\x00"+a.key, b.path+"\x00"+b.key) })
		resent += len(lines)
		for start := 0; start < len(lines); {
			// At most 200 lines a batch, all of one place.
			end := start + 1
			for end < len(lines) && end-start < 200 && lines[end].path == lines[start].path {
				end++
			}
			path := p.path
			if lines[start].path != "" {
				path = lines[start].path
			}
			w.sendBatch(ctx, path, lines[start:end], "")
			start = end
		}
		w.tr.mu.Lock()
		for _, l := range lines {
			if o := p.m[l.key]; o.fate != fateAcked {
				w.t.Errorf("%s resent after the crashes: still %v", l.key, o.fate)
			}
		}
		w.tr.mu.Unlock()
	}
	return resent
}

// eventKey is how the tracker and the check name a tracking event.
func eventKey(waybill, typ string, at time.Time) string {
	return waybill + "|" + typ + "|" + strconv.FormatInt(at.UnixMicro(), 10)
}

// tradeStored is what the check finds stored of the trade writers'
// orders, reviews, parcels and tracking events (key → count and id), and
// the problems of their shape.
type tradeStored struct {
	orders, reviews, parcels, events, trace map[string]checkRow
	problems                                []string
}

// add counts one stored row of key in m.
func (tradeStored) add(m map[string]checkRow, key string, id int64) {
	r := m[key]
	r.n++
	r.id = id
	m[key] = r
}

// tradeRows reads, in the check's snapshot, the harness's orders, reviews,
// parcels and tracking events as stored, and the problems of their shape:
// an order without both its items, a parcel whose event count is not its
// track's line count, a track line that does not parse, the review
// tallies' (reviewTallies) and the forward trace's (tracedAsStored).
func tradeRows(ctx context.Context, tx *sql.Tx) (*tradeStored, error) {
	st := &tradeStored{orders: map[string]checkRow{}, reviews: map[string]checkRow{}, parcels: map[string]checkRow{}, events: map[string]checkRow{},
		trace: map[string]checkRow{}}
	var err error
	if st.problems, err = reviewTallies(ctx, tx); err != nil {
		return nil, err
	}
	traced, err := tracedAsStored(ctx, tx)
	if err != nil {
		return nil, err
	}
	st.problems = append(st.problems, traced...)
	each := func(q string, scan func(*sql.Rows) error) error {
		rows, err := tx.QueryContext(ctx, q)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	for _, c := range []struct {
		q string
		m map[string]checkRow
	}{
		{"SELECT 'review|' || o.order_no, r.id FROM reviews r JOIN orders o ON o.id = r.order_id WHERE o.order_no LIKE '" + orderMark + "%'", st.reviews},
		{"SELECT 'trace|' || event_id, id FROM trace_events WHERE event_id LIKE 'CRT-%'", st.trace},
	} {
		if err := each(c.q, func(rows *sql.Rows) error {
			var k string
			var id int64
			if err := rows.Scan(&k, &id); err != nil {
				return err
			}
			st.add(c.m, k, id)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	if err := each("SELECT o.order_no, o.id, (SELECT COUNT(*) FROM order_items i WHERE i.order_id = o.id) FROM orders o WHERE o.order_no LIKE '"+orderMark+"%'", func(rows *sql.Rows) error {
		var no string
		var id, items int64
		if err := rows.Scan(&no, &id, &items); err != nil {
			return err
		}
		st.add(st.orders, no, id)
		if items != 2 {
			st.problems = append(st.problems, fmt.Sprintf("order %s stored with %d items, sent with 2", no, items))
		}
		return nil
	}); err != nil {
		return nil, err
	}
	err = each("SELECT p.waybill, p.id, p.events, COALESCE(t.log, '') FROM parcels p LEFT JOIN parcel_tracks t ON t.parcel_id = p.id WHERE p.waybill LIKE '"+parcelMark+"%'", func(rows *sql.Rows) error {
		var wb, log string
		var id, count int64
		if err := rows.Scan(&wb, &id, &count, &log); err != nil {
			return err
		}
		st.add(st.parcels, wb, id)
		lines := 0
		for _, l := range strings.Split(log, "\n") {
			if strings.TrimSpace(l) == "" {
				continue
			}
			lines++
			var v []any
			if err := json.Unmarshal([]byte(l), &v); err != nil || len(v) < 2 {
				st.problems = append(st.problems, fmt.Sprintf("parcel %s: track line %q: %v", wb, l, err))
				continue
			}
			at, _ := v[0].(float64)
			typ, _ := v[1].(string)
			st.add(st.events, wb+"|"+typ+"|"+strconv.FormatInt(int64(at), 10), id)
		}
		if int64(lines) != count {
			st.problems = append(st.problems, fmt.Sprintf("parcel %s counts %d events, its track holds %d", wb, count, lines))
		}
		return nil
	})
	return st, err
}

// tracedAsStored checks that the forward trace sees every order item
// exactly once, indexed or pending (sqlstore.TracedLines, migration
// 00022): per batch, as many items as order_items holds.
func tracedAsStored(ctx context.Context, tx *sql.Tx) ([]string, error) {
	traced, err := sqlstore.TracedLines(ctx, tx)
	if err != nil {
		return nil, err
	}
	stored := map[[2]string]int64{}
	rows, err := tx.QueryContext(ctx, "SELECT gtin, batch, COUNT(*) FROM order_items GROUP BY gtin, batch")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var g, b string
		var n int64
		if err := rows.Scan(&g, &b, &n); err != nil {
			return nil, err
		}
		stored[[2]string{g, b}] = n
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var problems []string
	for k, n := range stored {
		if traced[k] != n {
			problems = append(problems, fmt.Sprintf("batch %s %s: %d order items stored, the trace sees %d", k[0], k[1], n, traced[k]))
		}
	}
	for k, n := range traced {
		if _, ok := stored[k]; !ok {
			problems = append(problems, fmt.Sprintf("batch %s %s: no order item stored, the trace sees %d", k[0], k[1], n))
		}
	}
	slices.Sort(problems)
	return problems, nil
}

// reviewTallies checks what reviews keep beside themselves against the
// reviews: each shop's tally (shop_scores) and its days (review_days, the
// counted, unfolded reviews by day in Asia/Shanghai, 00012) equal to what
// the reviews add up to, and no platform, seller, buyer and month with
// more counted reviews than the default bounds (6 points, 3 detailed
// ratings: trade.DefaultConfig).
func reviewTallies(ctx context.Context, tx *sql.Tx) ([]string, error) {
	var problems []string
	sums := func(q string) (map[string][7]int64, error) {
		rows, err := tx.QueryContext(ctx, q)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := map[string][7]int64{}
		for rows.Next() {
			var k string
			var v [7]int64
			if err := rows.Scan(&k, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]); err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, rows.Err()
	}
	const unfolded = "counted = 1 AND folded_at = 0"
	for _, c := range []struct{ what, kept, from string }{
		{"shop tally", "SELECT CAST(shop_id AS TEXT), reviews, folded, positive, neutral, negative, dsr_count, description_sum + 10 * service_sum + 100 * logistics_sum FROM shop_scores",
			"SELECT CAST(shop_id AS TEXT), COUNT(*), SUM(CASE WHEN folded_at <> 0 THEN 1 ELSE 0 END), " +
				"SUM(CASE WHEN " + unfolded + " AND rating = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN " + unfolded + " AND rating = 0 THEN 1 ELSE 0 END), " +
				"SUM(CASE WHEN " + unfolded + " AND rating = -1 THEN 1 ELSE 0 END), SUM(CASE WHEN folded_at = 0 THEN dsr_counted ELSE 0 END), " +
				"SUM(CASE WHEN folded_at = 0 THEN dsr_counted * (description + 10 * service + 100 * logistics) ELSE 0 END) FROM reviews GROUP BY shop_id"},
		{"shop day", "SELECT CAST(shop_id AS TEXT) || '/' || CAST(day AS TEXT), positive, neutral, negative, dsr_count, description_sum, service_sum, logistics_sum FROM review_days",
			"SELECT CAST(shop_id AS TEXT) || '/' || CAST((created_at + 28800000000) / 86400000000 AS TEXT), " +
				"SUM(CASE WHEN rating = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN rating = 0 THEN 1 ELSE 0 END), SUM(CASE WHEN rating = -1 THEN 1 ELSE 0 END), " +
				"SUM(dsr_counted), SUM(dsr_counted * description), SUM(dsr_counted * service), SUM(dsr_counted * logistics) FROM reviews WHERE " + unfolded +
				" GROUP BY shop_id, (created_at + 28800000000) / 86400000000"},
	} {
		kept, err := sums(c.kept)
		if err != nil {
			return nil, err
		}
		want, err := sums(c.from)
		if err != nil {
			return nil, err
		}
		for k, v := range want {
			if kept[k] != v {
				problems = append(problems, fmt.Sprintf("%s %s keeps %v, its reviews add up to %v", c.what, k, kept[k], v))
			}
		}
		for k, v := range kept {
			if _, ok := want[k]; !ok && v != ([7]int64{}) {
				problems = append(problems, fmt.Sprintf("%s %s keeps %v without a review", c.what, k, v))
			}
		}
	}
	var over int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM (SELECT platform_id, seller_id, buyer, month FROM reviews WHERE folded_at = 0 "+
		"GROUP BY platform_id, seller_id, buyer, month HAVING SUM(counted) > 6 OR SUM(dsr_counted) > 3) x").Scan(&over); err != nil {
		return nil, err
	}
	if over > 0 {
		problems = append(problems, fmt.Sprintf("%d buyer–seller months count more reviews than the bounds (6 points, 3 detailed ratings)", over))
	}
	return problems, nil
}
