package web

import (
	"net/http"
	"net/url"
	"strings"

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
// to the batch's page once both are valid (with ?gtin= alone, to the
// product's page).
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
		if err == nil && strings.TrimSpace(d.Batch) == "" {
			// The barcode alone: the product's page lists its batches.
			http.Redirect(w, r, "/trace/"+url.PathEscape(g), http.StatusSeeOther)
			return
		}
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
	if !s.traceReady(w, r) || s.limited(w, r) { // as GET /api/v1/public/trace/{gtin}/{batch}
		return
	}
	d := traceData{GTIN: r.PathValue("gtin"), Batch: r.PathValue("batch")}
	pt, err := s.d.Trace.Public(publicCtx(r), d.GTIN, d.Batch)
	status, ok := http.StatusOK, true
	if err == nil {
		d.T, d.Link = pt, s.baseURL(r)+trace.DigitalLinkPath(pt.Batch.GTIN, pt.Batch.Batch)
	} else if d.Message, status, ok = lookupFailed(err, "未找到该批次的追溯信息：请核对商品条码和批次号，或该批次尚未登记。"); !ok {
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

// productData is a product's public page.
type productData struct {
	GTIN    string
	Batch   string // always empty: the lookup form's (trace_form)
	Message string
	P       *trace.PublicProduct
	More    bool // the product has more batches than listed
}

// productPage is GET /trace/{gtin}: a product, its producer and its
// latest batches, where a barcode scanned without its batch number lands.
func (s *Site) productPage(w http.ResponseWriter, r *http.Request) {
	httpx.NoteRoute(r)
	if !s.traceReady(w, r) || s.limited(w, r) {
		return
	}
	d := productData{GTIN: r.PathValue("gtin")}
	p, err := s.d.Trace.PublicProduct(publicCtx(r), d.GTIN)
	status, ok := http.StatusOK, true
	if err == nil {
		d.P, d.GTIN, d.More = p, p.Product.GTIN, p.TotalBatches > int64(len(p.Batches))
	} else if d.Message, status, ok = lookupFailed(err, "该商品条码的产品尚未在本平台登记，暂无追溯信息。"); !ok {
		s.fail(w, r, err)
		return
	}
	title := "产品追溯"
	if d.P != nil {
		title = d.P.Product.Name + " 追溯"
	}
	s.render(w, r, status, "trace_product", &page{Title: title, Section: "trace", Data: d})
}

// lookupFailed is the message and status of a public look-up's error:
// notFound (404) when nothing is registered, the error's own message
// (400) for bad input; ok false for any other error (the caller fails).
func lookupFailed(err error, notFound string) (msg string, status int, ok bool) {
	switch {
	case errs.Is(err, errs.NotFound):
		return notFound, http.StatusNotFound, true
	case errs.Is(err, errs.Invalid):
		return errs.MessageOf(err), http.StatusBadRequest, true
	}
	return "", 0, false
}
