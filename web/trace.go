package web

import (
	"net/http"
	"net/url"

	"ecredit/errs"
	"ecredit/httpx"
	"ecredit/trace"
)

// The public trace pages (M10): a lookup form (GTIN + batch) and the trace
// of one batch — product, producer, recall banner, the timeline of
// production, inspections and listings, the reach by city and platform,
// and the licence situation. They show what GET
// /api/v1/public/trace/{gtin}/{batch} returns: no order, buyer or shop.

type traceData struct {
	GTIN, Batch string
	Message     string
	T           *trace.PublicTrace
	Link        string // the batch's GS1 Digital Link on this portal (its QR code)
}

// traceLookup is GET /trace: the form, and with ?gtin=&batch= a redirect
// to the batch's page once both are valid.
func (s *Site) traceLookup(w http.ResponseWriter, r *http.Request) {
	httpx.NoteRoute(r)
	q := r.URL.Query()
	d := traceData{GTIN: q.Get("gtin"), Batch: q.Get("batch")}
	status := http.StatusOK
	if !s.traceReady(w, r) {
		return
	}
	if d.GTIN != "" || d.Batch != "" {
		g, err := trace.ParseGTIN("gtin", d.GTIN)
		if err == nil {
			var b string
			if b, err = trace.ParseBatch("batch", d.Batch); err == nil {
				http.Redirect(w, r, "/trace/"+url.PathEscape(g)+"/"+url.PathEscape(b), http.StatusSeeOther)
				return
			}
		}
		d.Message, status = errs.MessageOf(err), http.StatusBadRequest
	}
	s.render(w, r, status, "trace", &page{Title: "产品追溯", Section: "trace", Data: d})
}

// tracePage is GET /trace/{gtin}/{batch}.
func (s *Site) tracePage(w http.ResponseWriter, r *http.Request) {
	httpx.NoteRoute(r)
	if !s.traceReady(w, r) {
		return
	}
	d := traceData{GTIN: r.PathValue("gtin"), Batch: r.PathValue("batch")}
	pt, err := s.d.Trace.Public(publicCtx(r), d.GTIN, d.Batch)
	status := http.StatusOK
	switch {
	case err == nil:
		d.T, d.Link = pt, s.baseURL(r)+trace.DigitalLinkPath(pt.Batch.GTIN, pt.Batch.Batch)
	case errs.Is(err, errs.NotFound):
		d.Message, status = "未找到该批次的追溯信息：请核对商品条码和批次号，或该批次尚未登记。", http.StatusNotFound
	case errs.Is(err, errs.Invalid):
		d.Message, status = errs.MessageOf(err), http.StatusBadRequest
	default:
		s.fail(w, r, err)
		return
	}
	title := "产品追溯"
	if d.T != nil {
		title = d.T.Product.Name + " 批次 " + d.T.Batch.Batch + " 追溯"
	}
	s.render(w, r, status, "trace", &page{Title: title, Section: "trace", Data: d})
}

// recallsData is the recall notice board: a page of recalls, newest
// first, and the recall id the next (older) page starts before.
type recallsData struct {
	Items        []trace.PublicRecall
	Before, Next int64
}

// recallsPageSize is how many recalls a page of the notice board lists.
const recallsPageSize = 30

// recalls is GET /recalls[?before=ID]: the recall notice board (产品召回公告).
func (s *Site) recalls(w http.ResponseWriter, r *http.Request) {
	httpx.NoteRoute(r)
	if !s.traceReady(w, r) || s.limited(w, r) {
		return
	}
	d := recallsData{}
	if v := r.URL.Query().Get("before"); v != "" {
		id, ok := pathID(v)
		if !ok {
			s.errorPage(w, r, nil, http.StatusBadRequest, "before 必须是召回编号（正整数）(before must be a recall id)")
			return
		}
		d.Before = id
	}
	var err error
	if d.Items, d.Next, err = s.d.Trace.PublicRecalls(publicCtx(r), d.Before, recallsPageSize); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "recalls", &page{Title: "产品召回公告", Section: "recalls", Data: d})
}
