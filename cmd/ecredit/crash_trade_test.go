package main

// The crash harness's trade and logistics writers (issue 3): a platform
// sends order batches and a logistics firm parcels and their tracking
// events through the API while the server is SIGKILLed, each resending
// now and then what it sent before (ingest is idempotent: a resent line
// is answered "unchanged", with the id it was first given). The check
// holds the orders, parcels and events to the same rule as the records:
// every acknowledged one stored exactly once (with the id it was answered
// with), nothing rejected stored, nothing stored that was never sent;
// and every order with both its items, every parcel's event count equal
// to the lines of its track.

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

// tradeFeed is what a platform's or a logistics firm's writer keeps
// across the server's kills: its key, the batches it may send again, and
// (a firm's) the parcels on their way.
type tradeFeed struct {
	orders bool // a platform's orders; else a firm's parcels and events
	key    string
	name   string  // in its order numbers or waybills
	shops  []int64 // a platform's
	resend [][]sent
	// sent is every valid line sent, by key, for settle.
	sent map[string]sent
	// parcels are those whose journey is not acknowledged to its end,
	// oldest first.
	parcels []*crashParcel
}

// setupTrade registers, through the running server and the binary, a
// platform with three shops and a logistics firm, each with an API key,
// and returns their feeds.
func setupTrade(t *testing.T, s *e2eStore, base, admin string) (platform, firm *tradeFeed) {
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
	platform = &tradeFeed{orders: true, name: "P", key: account("platform", subject("platform", "承德崩溃测试电子商务平台有限公司", "TP")), sent: map[string]sent{}}
	firm = &tradeFeed{name: "L", key: account("logistics", subject("logistics", "承德崩溃测试快递有限公司", "TL")), sent: map[string]sent{}}
	owner := subject("merchant", "承德崩溃测试网店经营有限公司", "TM")
	for i := range 3 {
		c, resp, _ := request(t, "POST", base+"api/v1/shops", platform.key, map[string]any{"owner_credit_code": owner,
			"name": fmt.Sprintf("崩溃测试第%d店", i+1), "url": fmt.Sprintf("https://crash%d.example.cn/", i+1), "category": "food"})
		var sh struct {
			ID int64 `json:"id"`
		}
		if c != http.StatusCreated || json.Unmarshal(resp, &sh) != nil || sh.ID == 0 {
			t.Fatalf("POST shop = %d %s", c, resp)
		}
		platform.shops = append(platform.shops, sh.ID)
	}
	return platform, firm
}

// sent is one NDJSON line a trade writer sent: the key the tracker knows
// it by, its map there, and whether it is valid.
type sent struct {
	m     map[string]outcome
	key   string
	line  []byte
	valid bool
}

// batchLine is one line of a batch answer.
type batchLine struct {
	Line   int    `json:"line"`
	Status string `json:"status"`
	ID     int64  `json:"id"`
	Error  *struct {
		Code  string `json:"code"`
		Field string `json:"field"`
	} `json:"error"`
}

// sendBatch posts the lines as one NDJSON batch and records each line's
// fate: created or unchanged is an acknowledgement (with the id
// when the answer gives one), an error of code rejectCode on an invalid
// line a rejection, unavailable or no answer unknown; any other answer
// is a bad one.
func (w *apiWriter) sendBatch(ctx context.Context, path string, lines []sent, rejectCode string) {
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l.line)
		b.WriteByte('\n')
	}
	status, resp := w.post(ctx, path, "application/x-ndjson", b.Bytes())
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
		case r.Status == "error" && r.Error != nil && r.Error.Code == "unavailable" && l.valid:
			w.tr.set(l.m, l.key, fateUnknown, 0)
		case r.Status == "error" && !l.valid && r.Error != nil && r.Error.Code == rejectCode:
			w.tr.set(l.m, l.key, fateRejected, 0)
		default:
			w.tr.badAnswer("%s line %d %s (valid %v): %+v", path, i+1, l.key, l.valid, r)
		}
	}
}

// onceOrders sends a batch of 5–20 new orders of two items each, one in
// ten with a bad GTIN, or (one round in six) resends an earlier batch.
func (w *apiWriter) onceOrders(ctx context.Context) {
	if len(w.trade.resend) > 0 && w.rnd.IntN(6) == 0 {
		w.sendBatch(ctx, "api/v1/orders/batch", w.trade.resend[w.rnd.IntN(len(w.trade.resend))], "invalid")
		return
	}
	n := w.seq.Add(1)
	paid := time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339)
	lines := make([]sent, 5+w.rnd.IntN(16))
	for i := range lines {
		no := fmt.Sprintf("%s%s-%07d-%02d", orderMark, w.name, n, i)
		valid := w.rnd.IntN(10) > 0
		gtin := crashGTIN
		if !valid {
			gtin = badGTIN
		}
		line, _ := json.Marshal(map[string]any{"order_no": no, "shop_id": w.trade.shops[(int(n)+i)%len(w.trade.shops)], "buyer": fmt.Sprintf("crash_%d", i%7),
			"amount_fen": 3980, "region": "130802", "paid_at": paid, "waybill": fmt.Sprintf("CD%s%07d%02d", w.name, n, i),
			"items": []map[string]any{
				{"gtin": crashGTIN, "batch": fmt.Sprintf("L%03d", n%50), "name": "承德山楂干 500g", "category": "food", "quantity": 1, "price_fen": 1990},
				{"gtin": gtin, "batch": "L001", "name": "承德杏仁露 240ml", "category": "food", "quantity": 1, "price_fen": 1990},
			}})
		lines[i] = sent{m: w.tr.orders, key: no, line: line, valid: valid}
		if !valid {
			w.tr.set(w.tr.orders, no, fateRejected, 0)
		}
	}
	w.sendBatch(ctx, "api/v1/orders/batch", lines, "invalid")
	w.keep(lines)
}

// keep remembers a batch for resending (the last 20), and its valid
// lines for settle.
func (w *apiWriter) keep(lines []sent) {
	for _, l := range lines {
		if l.valid {
			w.trade.sent[l.key] = l
		}
	}
	w.trade.resend = append(w.trade.resend, lines)
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
	if len(w.trade.resend) > 0 && w.rnd.IntN(6) == 0 {
		w.sendBatch(ctx, "api/v1/parcels/events/batch", w.trade.resend[w.rnd.IntN(len(w.trade.resend))], "not_found")
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
		w.sendBatch(ctx, "api/v1/parcels/events/batch", evs, "not_found")
		w.keep(evs)
	}
}

// settle sends again, on a server that stays up, every valid line of the
// feed whose fate is still unknown (a firm's parcels before their events),
// as a client that got no answer does, and fails t unless each is then
// acknowledged: after a crash, resending settles every line. It returns
// how many lines it sent.
func (w *apiWriter) settle(ctx context.Context) (resent int) {
	parts := []struct {
		m    map[string]outcome
		path string
	}{{w.tr.orders, "api/v1/orders/batch"}}
	if !w.trade.orders {
		parts[0].m, parts[0].path = w.tr.parcels, "api/v1/parcels/batch"
		parts = append(parts, parts[0])
		parts[1].m, parts[1].path = w.tr.events, "api/v1/parcels/events/batch"
	}
	for _, p := range parts {
		var lines []sent
		w.tr.mu.Lock()
		for k, l := range w.trade.sent {
			if o, ok := p.m[k]; ok && o.fate == fateUnknown { // the keys of orders, parcels and events differ
				lines = append(lines, l)
			}
		}
		w.tr.mu.Unlock()
		slices.SortFunc(lines, func(a, b sent) int { return strings.Compare(a.key, b.key) })
		resent += len(lines)
		for start := 0; start < len(lines); start += 200 {
			w.sendBatch(ctx, p.path, lines[start:min(start+200, len(lines))], "")
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

// tradeRows reads, in the check's snapshot, the harness's orders, parcels
// and tracking events as stored (key → count and id), and the problems
// of their shape: an order without both its items, a parcel whose event
// count is not its track's line count, a track line that does not parse.
func tradeRows(ctx context.Context, tx *sql.Tx, when string) (orders, parcels, events map[string]checkRow, problems []string, err error) {
	orders, parcels, events = map[string]checkRow{}, map[string]checkRow{}, map[string]checkRow{}
	rows, err := tx.QueryContext(ctx, "SELECT o.order_no, o.id, (SELECT COUNT(*) FROM order_items i WHERE i.order_id = o.id) FROM orders o WHERE o.order_no LIKE '"+orderMark+"%'")
	if err != nil {
		return nil, nil, nil, nil, err
	}
	for rows.Next() {
		var no string
		var id, items int64
		if err := rows.Scan(&no, &id, &items); err != nil {
			rows.Close()
			return nil, nil, nil, nil, err
		}
		r := orders[no]
		r.n++
		r.id = id
		orders[no] = r
		if items != 2 {
			problems = append(problems, fmt.Sprintf("order %s stored with %d items, sent with 2", no, items))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, nil, nil, err
	}
	rows, err = tx.QueryContext(ctx, "SELECT p.waybill, p.id, p.events, COALESCE(t.log, '') FROM parcels p LEFT JOIN parcel_tracks t ON t.parcel_id = p.id WHERE p.waybill LIKE '"+parcelMark+"%'")
	if err != nil {
		return nil, nil, nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var wb, log string
		var id, count int64
		if err := rows.Scan(&wb, &id, &count, &log); err != nil {
			return nil, nil, nil, nil, err
		}
		r := parcels[wb]
		r.n++
		r.id = id
		parcels[wb] = r
		lines := 0
		for _, l := range strings.Split(log, "\n") {
			if strings.TrimSpace(l) == "" {
				continue
			}
			lines++
			var v []any
			if err := json.Unmarshal([]byte(l), &v); err != nil || len(v) < 2 {
				problems = append(problems, fmt.Sprintf("parcel %s: track line %q: %v", wb, l, err))
				continue
			}
			at, _ := v[0].(float64)
			typ, _ := v[1].(string)
			k := wb + "|" + typ + "|" + strconv.FormatInt(int64(at), 10)
			e := events[k]
			e.n++
			e.id = id
			events[k] = e
		}
		if int64(lines) != count {
			problems = append(problems, fmt.Sprintf("parcel %s counts %d events, its track holds %d", wb, count, lines))
		}
	}
	return orders, parcels, events, problems, rows.Err()
}
