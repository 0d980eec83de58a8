package web

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/httpx"
	"ecredit/logistics"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// TestConsoleLogistics: the console lists every logistics firm with its
// grade, a page at a time, and shows one firm's report over a chosen window
// with each courier's grade; a bad window is refused with a message.
func TestConsoleLogistics(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		lg := &logistics.Service{Store: db, Subjects: db, Keys: e.reg.Keys, Clock: e.clk}
		firm := func(name, body string) *registry.Subject {
			f, err := e.reg.CreateSubject(sys, registry.SubjectInput{Kind: registry.KindLogistics, Name: name, CreditCode: mustUSCC(t, "130802", body), RegionCode: "130802"})
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		good, late := firm("承德快运有限公司", "MA0L0GGD"), firm("承德慢递有限公司", "MA0L0GLT")
		now := e.clk.Now()
		// 40 parcels each: good's on time (its courier K01 delivers them),
		// late's signed a day after the promised time.
		for fi, f := range []*registry.Subject{good, late} {
			var ps []logistics.ParcelInput
			var evs []logistics.EventInput
			for i := range 40 {
				wb := fmt.Sprintf("W%d%03d", fi, i)
				start := now.Add(-time.Duration(100+i) * time.Hour)
				signed := start.Add(21 * time.Hour)
				if f == late {
					signed = start.Add(72 * time.Hour)
				}
				ps = append(ps, logistics.ParcelInput{Waybill: wb, Origin: "130802", Dest: "130821", Courier: "K01", PromisedAt: start.Add(48 * time.Hour).Format(time.RFC3339)})
				evs = append(evs, logistics.EventInput{Waybill: wb, Type: "picked_up", At: start.Format(time.RFC3339)},
					logistics.EventInput{Waybill: wb, Type: "out_for_delivery", Courier: "K01", At: signed.Add(-time.Hour).Format(time.RFC3339)},
					logistics.EventInput{Waybill: wb, Type: "signed", SignedBy: "recipient", At: signed.Format(time.RFC3339)})
			}
			if _, err := lg.IngestParcels(sys, f.CreditCode, ps); err != nil {
				t.Fatal(err)
			}
			if _, err := lg.IngestEvents(sys, f.CreditCode, evs); err != nil {
				t.Fatal(err)
			}
		}
		for i := range firmsPage { // firms without parcels: not graded
			firm(fmt.Sprintf("承德第%d物流有限公司", i+1), fmt.Sprintf("MA0L0G%02d", i))
		}
		site, err := New(Deps{Registry: e.reg, Accounts: e.acc, Audit: db, Clock: e.clk, Logger: slog.New(slog.NewTextHandler(e.logs, nil)), Logistics: lg})
		if err != nil {
			t.Fatal(err)
		}
		e.srv = httptest.NewServer(httpx.Wrap(site, httpx.Options{Logger: slog.New(slog.NewTextHandler(e.logs, nil))}))
		t.Cleanup(e.srv.Close)
		dept := e.staff(account.RoleDepartment, "post1")

		st, body := dept.get("/console/logistics")
		if st != 200 || !strings.Contains(body, "承德快运有限公司") || !strings.Contains(body, "承德慢递有限公司") || !strings.Contains(body, "A 级") ||
			!strings.Contains(body, "D 级") || strings.Contains(body, "承德第19物流有限公司") {
			t.Fatalf("list: %d\n%s", st, body)
		}
		next := "/console/logistics?after="
		i := strings.Index(body, next)
		if i < 0 {
			t.Fatalf("no next page link")
		}
		link := body[i : i+strings.IndexByte(body[i:], '"')]
		if st, body = dept.get(link); st != 200 || !strings.Contains(body, "承德第20物流有限公司") || strings.Contains(body, "承德快运有限公司") || strings.Contains(body, "下一页") {
			t.Fatalf("second page %s: %d", link, st)
		}
		if st, _ := dept.get("/console/logistics?after=-1"); st != 400 {
			t.Errorf("bad cursor: %d", st)
		}

		page := fmt.Sprintf("/console/logistics/%d", good.ID)
		st, body = dept.get(page)
		if st != 200 || !strings.Contains(body, "K01") || !strings.Contains(body, "100.00%") || !strings.Contains(body, `value="90" selected`) ||
			!strings.Contains(body, "评级规则") {
			t.Fatalf("firm report: %d\n%s", st, body)
		}
		st, body = dept.get(fmt.Sprintf("/console/logistics/%d?days=30", late.ID))
		if st != 200 || !strings.Contains(body, `value="30" selected`) || !strings.Contains(body, "0.00%") || !strings.Contains(body, "D 级") {
			t.Fatalf("late firm over 30 days: %d\n%s", st, body)
		}
		for _, q := range []string{"?days=999", "?days=x"} {
			if st, body := dept.get(page + q); st != 400 || !strings.Contains(body, "统计天数") {
				t.Errorf("%s: %d", q, st)
			}
		}
		if st, _ := dept.get(fmt.Sprintf("/console/logistics/%d", e.merchant.ID)); st == 200 {
			t.Errorf("a merchant's logistics report: %d", st)
		}
		if st, body := dept.get(fmt.Sprintf("/console/subjects/%d", good.ID)); st != 200 || !strings.Contains(body, `href="`+page+`"`) {
			t.Errorf("the firm's console page does not link its report: %d", st)
		}
	})
}
