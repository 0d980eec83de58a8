package web

import (
	"net/http"
	"slices"
	"strconv"
	"sync"

	"ecredit/errs"
	"ecredit/httpx"
	"ecredit/logistics"
	"ecredit/registry"
)

// The console's logistics pages (M4), for departments and the credit
// office: every logistics firm with its grade, a page at a time, and one
// firm's report over a chosen window — its grade, metrics and treatment,
// and each courier's (GET /api/v1/logistics/{id}/metrics).

// logisticsConsoleRoutes are the console's logistics pages.
var logisticsConsoleRoutes = []Route{
	{"GET", "/console/logistics", true, staffOnly((*Site).conLogistics)},
	{"GET", "/console/logistics/{id}", true, staffOnly((*Site).conLogisticsFirm)},
}

// firmsPage is how many firms a page of the list grades.
const firmsPage = 20

type conFirm struct {
	ID         int64
	Name       string
	CreditCode string
	Grade      *logistics.Public
}

type conLogisticsData struct {
	Firms  []conFirm
	Next   int64 // the next page starts after this subject id; 0 at the end
	After  int64
	Policy logistics.Policy
}

// logisticsReady answers a clear error when the site runs without the
// logistics service.
func (s *Site) logisticsReady(w http.ResponseWriter, r *http.Request) bool {
	return s.ready(w, r, s.d.Logistics != nil, "物流信用服务未启用 (logistics is not configured)")
}

// conLogistics is GET /console/logistics[?after=ID]: the logistics firms
// by subject id, each graded over the policy's window.
func (s *Site) conLogistics(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	if !s.logisticsReady(w, r) {
		return
	}
	d := &conLogisticsData{Policy: s.d.Logistics.PolicyInUse()}
	if v := r.URL.Query().Get("after"); v != "" {
		after, ok := pathID(v)
		if !ok {
			s.errorPage(w, r, nil, http.StatusBadRequest, "after 必须是主体编号（正整数）(after must be a subject id)")
			return
		}
		d.After = after
	}
	ctx := r.Context()
	list, err := s.d.Registry.ListSubjects(ctx, registry.Filter{Kind: registry.KindLogistics, After: d.After, Limit: firmsPage + 1})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(list) > firmsPage {
		list = list[:firmsPage]
		d.Next = list[len(list)-1].ID
	}
	// The firms are graded a few at once: a big firm's counts take a
	// second or more to add up when they are not kept (logistics.CountsTTL).
	d.Firms = make([]conFirm, len(list))
	failed := make([]error, len(list))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, sub := range list {
		d.Firms[i] = conFirm{ID: sub.ID, Name: sub.Name, CreditCode: sub.CreditCode}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			d.Firms[i].Grade, failed[i] = s.d.Logistics.PublicGrade(ctx, sub)
		})
	}
	wg.Wait()
	for _, err := range failed {
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.render(w, r, http.StatusOK, "console_logistics", c.page("物流企业信用评级", "logistics", d))
}

type conFirmData struct {
	R       *logistics.Report
	Policy  logistics.Policy
	Windows []int // the windows offered, in days
}

// conLogisticsFirm is GET /console/logistics/{id}[?days=N]: a firm's report
// with its couriers.
func (s *Site) conLogisticsFirm(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	if !s.logisticsReady(w, r) {
		return
	}
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		s.notFound(w, r)
		return
	}
	d := &conFirmData{Policy: s.d.Logistics.PolicyInUse()}
	days := 0
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			s.errorPage(w, r, nil, http.StatusBadRequest, "统计天数应为 1 到 730 的整数 (days must be a whole number, 1–730)")
			return
		}
		days = n
	}
	rep, err := s.d.Logistics.Metrics(r.Context(), id, days)
	switch {
	case err == nil:
	case errs.Is(err, errs.Invalid) && errs.FieldOf(err) == "days":
		s.errorPage(w, r, nil, http.StatusBadRequest, errs.MessageOf(err))
		return
	default:
		s.fail(w, r, err)
		return
	}
	d.R = rep
	d.Policy.WindowDays = rep.WindowDays
	d.Windows = []int{7, 30, 90, 180, 365}
	if !slices.Contains(d.Windows, rep.WindowDays) {
		d.Windows = append(d.Windows, rep.WindowDays)
		slices.Sort(d.Windows)
	}
	s.render(w, r, http.StatusOK, "console_logistics_firm", c.page(rep.FirmName+" · 物流信用指标", "logistics", d))
}
