package web

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"ecredit/disclosure"
	"ecredit/httpx"
	"ecredit/logistics"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// TestLogisticsPages: a logistics firm's profile shows its grade block and
// /logistics/{id} the metrics, treatment and rules; other subjects have
// neither.
func TestLogisticsPages(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		firm, err := e.reg.CreateSubject(sys, registry.SubjectInput{Kind: registry.KindLogistics, Name: "承德快运有限公司", CreditCode: "91130802MA0CF1X29W", RegionCode: "130802"})
		if err != nil {
			t.Fatal(err)
		}
		lg := &logistics.Service{Store: db, Subjects: db, Keys: e.reg.Keys, Clock: e.clk}
		var ps []logistics.ParcelInput
		var evs []logistics.EventInput
		now := e.clk.Now()
		for i := range 40 {
			wb := fmt.Sprintf("W%03d", i)
			start := now.Add(-time.Duration(100+i) * time.Hour)
			ps = append(ps, logistics.ParcelInput{Waybill: wb, Origin: "130802", Dest: "130821", PromisedAt: start.Add(48 * time.Hour).Format(time.RFC3339)})
			evs = append(evs, logistics.EventInput{Waybill: wb, Type: "picked_up", At: start.Format(time.RFC3339)},
				logistics.EventInput{Waybill: wb, Type: "out_for_delivery", At: start.Add(20 * time.Hour).Format(time.RFC3339)},
				logistics.EventInput{Waybill: wb, Type: "signed", SignedBy: "recipient", At: start.Add(21 * time.Hour).Format(time.RFC3339)})
		}
		if _, err := lg.IngestParcels(sys, firm.CreditCode, ps); err != nil {
			t.Fatal(err)
		}
		if _, err := lg.IngestEvents(sys, firm.CreditCode, evs); err != nil {
			t.Fatal(err)
		}
		site, err := New(Deps{Registry: e.reg, Accounts: e.acc, Audit: db, Clock: e.clk, Logger: slog.New(slog.NewTextHandler(e.logs, nil)),
			Disclosure: &disclosure.Service{Store: db, Clock: e.clk, Logistics: lg}, Logistics: lg})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(httpx.Wrap(site, httpx.Options{Logger: slog.New(slog.NewTextHandler(e.logs, nil))}))
		defer srv.Close()
		d := &discEnv{env: e, site: srv}
		id := strconv.FormatInt(firm.ID, 10)
		code, body, _ := d.get(t, "/subjects/"+id)
		if code != 200 || !strings.Contains(body, "物流信用评级") || !strings.Contains(body, "A 级") || !strings.Contains(body, "优先推荐") {
			t.Fatalf("profile %d: %.3000s", code, body)
		}
		code, body, _ = d.get(t, "/logistics/"+id)
		if code != 200 || !strings.Contains(body, "准时送达率") || !strings.Contains(body, "100.00%") || !strings.Contains(body, "约谈") {
			t.Fatalf("grade page %d: %.3000s", code, body)
		}
		if code, _, _ := d.get(t, "/logistics/"+strconv.FormatInt(e.merchant.ID, 10)); code != 404 {
			t.Fatalf("grade page of a merchant: %d", code)
		}
		if code, body, _ := d.get(t, "/subjects/"+strconv.FormatInt(e.merchant.ID, 10)); code != 200 || strings.Contains(body, "物流信用评级") {
			t.Fatalf("merchant profile %d", code)
		}
	})
}
