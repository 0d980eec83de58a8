package web

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"ecredit/errs"
	"ecredit/httpx"
	"ecredit/trace"
)

// The console's trace pages (M10), for departments and the credit office:
// a batch's whole forward trace (reach by platform and region, every order
// a page at a time) with the recall form, and an order's backward trace
// (items → batch → producer → inspections and licences). They show what
// GET /api/v1/batches/{gtin}/{batch}/trace, POST …/recall and GET
// /api/v1/orders/{id}/trace give a department; the trace service decides
// who sees what.

// traceConsoleRoutes are the console's trace pages.
var traceConsoleRoutes = []Route{
	{"GET", "/console/trace", true, staffOnly((*Site).conTraceLookup)},
	{"GET", "/console/trace/{gtin}/{batch}", true, staffOnly((*Site).conTrace)},
	{"POST", "/console/trace/{gtin}/{batch}/recall", true, staffOnly((*Site).conRecall)},
	{"POST", "/console/trace/{gtin}/{batch}/inputs", true, staffOnly((*Site).conInputs)},
	{"GET", "/console/orders/{id}", true, staffOnly((*Site).conOrder)},
	{"GET", "/console/trace/{gtin}/{batch}/epcis", true, staffOnly((*Site).conEPCISExport)},
	{"POST", "/console/trace/epcis", true, func(s *Site) http.Handler { return s.staffUpload(s.conEPCISImport, trace.MaxEPCISDocument) }},
}

// consoleTraceEvents is how many of a batch's events its page lists; the
// EPCIS download holds them all.
const consoleTraceEvents = 100

// conEPCISResult is what an EPCIS document upload did.
type conEPCISResult struct {
	Name string
	trace.Tally
	Errors []conEPCISError // the failed events, first maxImportErrorsShown
	More   int             // failed events not listed
}

// conEPCISError is one failed event of an upload.
type conEPCISError struct {
	Line           int
	EventID, Field string
	Message        string
}

// maxImportErrorsShown is how many failed events an upload lists.
const maxImportErrorsShown = 200

// consoleTracePage is how many orders a page of a batch's trace lists.
const consoleTracePage = 100

// conTracePage is the console's page of a batch.
type conTracePage struct {
	GTIN, Batch, Order string
	Message            string
	// Recalls are the latest recalls, on the lookup page.
	Recalls []trace.RecallItem
	T       *trace.ForwardTrace
	// PlatformNames names the platforms of the orders on the page.
	PlatformNames map[int64]string
	After         int64  // the page starts after this order id (0: first page)
	Link          string // the batch's GS1 Digital Link on this portal (its QR code)
	CanRecall     bool
	Recall        *form
	// DownPending is how many of the listed downstream batches are not
	// recalled (DownMore: the list was cut short): the recall form's
	// cascade tick, or after the recall the form that goes on with them
	// (CanCascade).
	DownPending int
	DownMore    bool
	CanCascade  bool
	// Cascade is what a cascading recall just did.
	Cascade *trace.RecallResult
	// CanManage: the caller may record the batch's inputs (Inputs, the
	// form; Units, its units).
	CanManage bool
	Inputs    *form
	Units     []trace.Unit
	Done      string
	// Events are the batch's first events (all types).
	Events *trace.EventPage
	// Import is the EPCIS upload form and, after one, its result.
	Import *form
	Result *conEPCISResult
	Fatal  string // the upload refused whole, and why
}

// traceReady answers a clear error when the site runs without the trace
// service.
func (s *Site) traceReady(w http.ResponseWriter, r *http.Request) bool {
	return s.ready(w, r, s.d.Trace != nil, "产品追溯服务未启用 (traceability is not configured)")
}

// conTraceLookup is GET /console/trace: the form; with ?gtin=&batch= a
// redirect to the batch's page, with ?order= to the order's.
func (s *Site) conTraceLookup(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	if !s.traceReady(w, r) {
		return
	}
	q := r.URL.Query()
	d := &conTracePage{GTIN: strings.TrimSpace(q.Get("gtin")), Batch: strings.TrimSpace(q.Get("batch")), Order: strings.TrimSpace(q.Get("order"))}
	status := http.StatusOK
	switch {
	case d.Order != "":
		if id, ok := pathID(d.Order); ok {
			http.Redirect(w, r, "/console/orders/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
			return
		}
		d.Message, status = "订单编号必须是正整数 (order id must be a positive integer)", http.StatusBadRequest
	case d.GTIN != "" || d.Batch != "":
		g, err := trace.ParseGTIN("gtin", d.GTIN)
		if err == nil {
			var b string
			if b, err = trace.ParseBatch("batch", d.Batch); err == nil {
				http.Redirect(w, r, batchPath(g, b), http.StatusSeeOther)
				return
			}
		}
		d.Message, status = errs.MessageOf(err), http.StatusBadRequest
	}
	s.lookupPage(w, r, c, d, status)
}

// lookupPage renders the lookup page with the latest recalls.
func (s *Site) lookupPage(w http.ResponseWriter, r *http.Request, c *call, d *conTracePage, status int) {
	var err error
	if d.Recalls, err = s.d.Trace.RecentRecalls(r.Context(), 20); err != nil {
		s.fail(w, r, err)
		return
	}
	if d.Import == nil {
		d.Import = newForm(nil)
	}
	s.render(w, r, status, "console_trace", c.page("产品追溯与召回", "trace", d))
}

// conEPCISImport is POST /console/trace/epcis: an EPCIS 2.0 document
// (a testing centre's inspections, a producer's commissioning and
// shipping events) captured like POST /api/v1/trace/epcis, with the
// fate of every event.
func (s *Site) conEPCISImport(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	if !s.traceReady(w, r) {
		return
	}
	f := newForm(r.PostForm)
	d := &conTracePage{Import: f}
	var body []byte
	if r.MultipartForm != nil && len(r.MultipartForm.File["file"]) > 0 {
		fh := r.MultipartForm.File["file"][0]
		file, err := fh.Open()
		if err != nil {
			s.fail(w, r, err)
			return
		}
		body, err = io.ReadAll(file)
		file.Close()
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if len(body) == 0 {
			f.Errors["file"] = "上传的文件为空 (empty file)"
		}
		d.Result = &conEPCISResult{Name: fh.Filename}
	} else {
		f.Errors["file"] = "请选择 EPCIS 文件（.json、.jsonld 或 .xml）(choose a file)"
	}
	if len(f.Errors) > 0 {
		d.Result = nil
		s.lookupPage(w, r, c, d, http.StatusBadRequest)
		return
	}
	lines, err := s.d.Trace.CaptureEPCIS(r.Context(), body)
	if err != nil {
		code := errs.CodeOf(err)
		if code != errs.Invalid && code != errs.TooLarge && code != errs.Forbidden {
			s.fail(w, r, err)
			return
		}
		d.Fatal, d.Result = errs.MessageOf(err), nil
		if fld := errs.FieldOf(err); fld != "" && fld != "body" {
			d.Fatal = fld + "：" + d.Fatal
		}
		s.lookupPage(w, r, c, d, httpx.Status(code))
		return
	}
	res := d.Result
	for _, l := range lines {
		switch {
		case !res.Count(l.Status):
		case len(res.Errors) == maxImportErrorsShown:
			res.More++
		default:
			res.Errors = append(res.Errors, conEPCISError{Line: l.Line, EventID: l.EventID, Field: errs.FieldOf(l.Err), Message: errs.MessageOf(l.Err)})
		}
	}
	s.lookupPage(w, r, c, d, http.StatusOK)
}

// conEPCISExport is GET /console/trace/{gtin}/{batch}/epcis: every event
// of the batch as one EPCIS 2.0 document, to download, written a page at
// a time: JSON-LD (trace.Service.WriteEPCIS), or with ?format=xml the XML
// binding (trace.Service.WriteEPCISXML).
func (s *Site) conEPCISExport(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	if !s.traceReady(w, r) {
		return
	}
	f, ok := epcisDownloads[r.URL.Query().Get("format")]
	if !ok {
		s.errorPage(w, r, nil, http.StatusBadRequest, "下载格式 format 只能是 jsonld 或 xml (format must be jsonld or xml)")
		return
	}
	gtin, batch := r.PathValue("gtin"), r.PathValue("batch")
	out := &headerOnWrite{w: w, set: func(h http.Header) {
		h.Set("Content-Type", f.contentType)
		h.Set("Content-Disposition", `attachment; filename="epcis-`+url.PathEscape(gtin)+"-"+url.PathEscape(batch)+f.ext+`"`)
		h.Set("Cache-Control", "no-store")
	}}
	err := f.write(s.d.Trace, r.Context(), out, gtin, batch, false)
	switch {
	case err == nil:
	case out.wrote:
		// The download is cut short (not well-formed); the cause is logged.
		s.log.Error("web: EPCIS download", "err", err, "request_id", httpx.RequestID(r))
	case errs.Is(err, errs.NotFound):
		s.errorPage(w, r, nil, http.StatusNotFound, "未找到该批次 (no such batch)")
	case errs.Is(err, errs.Invalid):
		s.errorPage(w, r, nil, http.StatusBadRequest, errs.MessageOf(err))
	default:
		s.fail(w, r, err)
	}
}

// epcisDownload is a format of the EPCIS download: its media type, its
// file's extension and the writer of the whole document.
type epcisDownload struct {
	contentType, ext string
	write            func(s *trace.Service, ctx context.Context, w io.Writer, gtin, batch string, public bool) error
}

// epcisDownloads are the EPCIS download's formats by the format
// parameter; none is JSON-LD.
var epcisDownloads = map[string]epcisDownload{
	"":       {"application/ld+json; charset=utf-8", ".jsonld", (*trace.Service).WriteEPCIS},
	"jsonld": {"application/ld+json; charset=utf-8", ".jsonld", (*trace.Service).WriteEPCIS},
	"xml":    {"application/xml; charset=utf-8", ".xml", (*trace.Service).WriteEPCISXML},
}

// headerOnWrite sets the headers of a download with its first byte, so
// that an error before it can still answer a page.
type headerOnWrite struct {
	w     http.ResponseWriter
	set   func(http.Header)
	wrote bool
}

func (h *headerOnWrite) Write(b []byte) (int, error) {
	if !h.wrote {
		h.set(h.w.Header())
		h.w.WriteHeader(http.StatusOK)
		h.wrote = true
	}
	return h.w.Write(b)
}

// batchPath is the console page of a batch.
func batchPath(gtin, batch string) string {
	return "/console/trace/" + url.PathEscape(gtin) + "/" + url.PathEscape(batch)
}

// loadTrace fills d with the batch's forward trace from order id after;
// ok false when the error was answered (or, for a missing or bad batch,
// put in d.Message with the status to answer it with).
func (s *Site) loadTrace(w http.ResponseWriter, r *http.Request, c *call, d *conTracePage) (status int, ok bool) {
	ft, err := s.d.Trace.Forward(r.Context(), d.GTIN, d.Batch, d.After, consoleTracePage)
	switch {
	case err == nil:
	case errs.Is(err, errs.NotFound):
		d.Message = "未找到该批次：请核对商品条码和批次号，或该批次尚未登记。"
		return http.StatusNotFound, true
	case errs.Is(err, errs.Invalid):
		d.Message = errs.MessageOf(err)
		return http.StatusBadRequest, true
	default:
		s.fail(w, r, err)
		return 0, false
	}
	d.T = ft
	if d.Events, err = s.d.Trace.Events(r.Context(), d.GTIN, d.Batch, false, trace.EventCursor{}, consoleTraceEvents); err != nil {
		s.fail(w, r, err)
		return 0, false
	}
	d.PlatformNames = map[int64]string{}
	for _, p := range ft.Reach.Platforms {
		d.PlatformNames[p.PlatformID] = p.Name
	}
	d.CanRecall = ft.Recall == nil && trace.Can(c.Actor, trace.ScopeTraceRecall)
	d.DownPending, d.DownMore = 0, ft.Lineage != nil && ft.Lineage.Truncated
	if ft.Lineage != nil {
		for _, n := range ft.Lineage.Downstream {
			if n.Status != trace.BatchRecalled {
				d.DownPending++
			}
		}
	}
	d.CanCascade = ft.Recall != nil && (d.DownPending > 0 || d.DownMore) && trace.Can(c.Actor, trace.ScopeTraceRecall)
	if d.Recall == nil {
		d.Recall = newForm(nil)
	}
	d.CanManage = trace.Can(c.Actor, trace.ScopeTraceWrite)
	if d.Inputs == nil {
		d.Inputs = newForm(nil)
	}
	d.Units = trace.Units
	return http.StatusOK, true
}

// conInputs is POST /console/trace/{gtin}/{batch}/inputs: one input batch
// of the batch, with its quantity and unit.
func (s *Site) conInputs(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	if !s.traceReady(w, r) {
		return
	}
	d := &conTracePage{GTIN: r.PathValue("gtin"), Batch: r.PathValue("batch")}
	f := newForm(r.PostForm)
	in := trace.InputRef{GTIN: f.Get("inputs[0].gtin"), Batch: f.Get("inputs[0].batch"), UOM: f.Get("inputs[0].uom")}
	var err error
	if v := strings.TrimSpace(f.Get("inputs[0].quantity")); v != "" {
		q, perr := strconv.ParseFloat(v, 64)
		if perr != nil {
			f.Errors["inputs[0].quantity"] = "用量须是数字，如 1200 或 12.5 (quantity must be a number)"
			err = errs.E(errs.Invalid, "%s", f.Errors["inputs[0].quantity"])
		}
		in.Quantity = q
	}
	if err == nil {
		if _, err = s.d.Trace.AddInputs(r.Context(), d.GTIN, d.Batch, []trace.InputRef{in}); err == nil {
			http.Redirect(w, r, batchPath(d.GTIN, d.Batch)+"?done=inputs", http.StatusSeeOther)
			return
		}
	}
	d.Inputs = f
	s.traceFormFailed(w, r, c, d, f, err, "inputs[0].gtin", "inputs[0].batch", "inputs[0].quantity", "inputs[0].uom")
}

// conTrace is GET /console/trace/{gtin}/{batch}[?after=ORDER_ID].
func (s *Site) conTrace(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	if !s.traceReady(w, r) {
		return
	}
	d := &conTracePage{GTIN: r.PathValue("gtin"), Batch: r.PathValue("batch"), Done: r.URL.Query().Get("done")}
	if v := r.URL.Query().Get("after"); v != "" {
		after, ok := pathID(v)
		if !ok {
			s.errorPage(w, r, nil, http.StatusBadRequest, "after 必须是订单编号（正整数）(after must be an order id)")
			return
		}
		d.After = after
	}
	status, ok := s.loadTrace(w, r, c, d)
	if !ok {
		return
	}
	if d.T != nil {
		d.Link = s.baseURL(r) + trace.DigitalLinkPath(d.T.Batch.GTIN, d.T.Batch.Batch)
	}
	s.render(w, r, status, "console_trace", c.page(traceTitle(d), "trace", d))
}

func traceTitle(d *conTracePage) string {
	if d.T == nil {
		return "产品追溯与召回"
	}
	return d.T.Product.Name + " 批次 " + d.T.Batch.Batch + " · 流向与召回"
}

// conRecall is POST /console/trace/{gtin}/{batch}/recall: the reason, a
// tick confirming that the recall is final and, when batches were made
// from it, a tick (cascade) recalling them too. A cascade answers the
// batch's page with what it did to each downstream batch; sent for a
// batch recalled already, it goes on with those not recalled yet.
func (s *Site) conRecall(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	if !s.traceReady(w, r) {
		return
	}
	d := &conTracePage{GTIN: r.PathValue("gtin"), Batch: r.PathValue("batch")}
	f := newForm(r.PostForm)
	in := trace.RecallInput{Reason: f.Get("reason"), Cascade: f.Checked("cascade")}
	var err error
	var res *trace.RecallResult
	if !f.Checked("confirm") {
		f.Errors["confirm"] = "召回一经发布不能撤销：请勾选确认 (tick to confirm: a recall cannot be undone)"
		err = errs.E(errs.Invalid, "%s", f.Errors["confirm"])
	} else if res, err = s.d.Trace.Recall(r.Context(), d.GTIN, d.Batch, in); err == nil {
		if !in.Cascade {
			http.Redirect(w, r, batchPath(d.GTIN, d.Batch)+"?done=recall", http.StatusSeeOther)
			return
		}
		for _, err := range res.Internal() {
			s.log.Error("web: cascading recall", "err", err, "request_id", httpx.RequestID(r))
		}
		// The page itself, with what the cascade did (sent again, a
		// cascade only goes on with what is left).
		d.Done, d.Cascade = "recall", res
		status, ok := s.loadTrace(w, r, c, d)
		if ok {
			s.render(w, r, status, "console_trace", c.page(traceTitle(d), "trace", d))
		}
		return
	}
	d.Recall = f
	s.traceFormFailed(w, r, c, d, f, err, "reason")
}

// formError reports whether an error of the code belongs on the form that
// was sent (bad or conflicting input, a refusal, something named that
// does not exist), not on an error page.
func formError(code errs.Code) bool {
	return code == errs.Invalid || code == errs.Conflict || code == errs.Forbidden || code == errs.NotFound
}

// traceFormFailed answers a console trace form refused with err: the
// batch's page again with the form's errors (f, one of d's forms; known,
// the fields it shows errors next to), in the status err calls for; an
// unexpected error is the error page.
func (s *Site) traceFormFailed(w http.ResponseWriter, r *http.Request, c *call, d *conTracePage, f *form, err error, known ...string) {
	code := errs.CodeOf(err)
	if !formError(code) {
		s.fail(w, r, err)
		return
	}
	if len(f.Errors) == 0 {
		f.fail(err, known...)
	}
	status, ok := s.loadTrace(w, r, c, d)
	if !ok {
		return
	}
	if status == http.StatusOK {
		status = httpx.Status(code)
	}
	s.render(w, r, status, "console_trace", c.page(traceTitle(d), "trace", d))
}

// conOrderPage is the console's page of an order.
type conOrderPage struct {
	T *trace.BackwardTrace
}

// conOrder is GET /console/orders/{id}: the order's backward trace.
func (s *Site) conOrder(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	if !s.traceReady(w, r) {
		return
	}
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		s.notFound(w, r)
		return
	}
	bt, err := s.d.Trace.Backward(r.Context(), id)
	if errs.Is(err, errs.NotFound) {
		s.errorPage(w, r, nil, http.StatusNotFound, "未找到该订单 (no such order)")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "console_order", c.page("订单 "+bt.Order.OrderNo+" · 反向追溯", "trace", &conOrderPage{T: bt}))
}
