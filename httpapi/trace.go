package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"ecredit/account"
	"ecredit/errs"
	"ecredit/httpx"
	"ecredit/trace"
)

// traceRoutes are product traceability's routes (M10, package trace).
var traceRoutes = []Route{
	{"POST", "/api/v1/products", (*API).createProduct},
	{"GET", "/api/v1/products/{gtin}", (*API).getProduct},
	{"POST", "/api/v1/batches", (*API).createBatch},
	{"GET", "/api/v1/batches/{gtin}/{batch}/trace", (*API).forwardTrace},
	{"POST", "/api/v1/batches/{gtin}/{batch}/recall", (*API).recallBatch},
	{"POST", "/api/v1/batches/{gtin}/{batch}/inputs", (*API).addInputs},
	{"POST", "/api/v1/trace/events", (*API).createTraceEvent},
	{"POST", "/api/v1/trace/events/batch", (*API).batchTraceEvents},
	{"GET", "/api/v1/public/trace/{gtin}/{batch}", (*API).publicTrace},
	{"GET", "/api/v1/orders/{id}/trace", (*API).backwardTrace},
	{"GET", "/api/v1/licence-flags", (*API).licenceFlags},
	{"GET", "/api/v1/recalls", (*API).recentRecalls},
	{"GET", "/api/v1/public/recalls", (*API).publicRecalls},
	{"GET", "/api/v1/public/products/{gtin}", (*API).publicProduct},
	{"PATCH", "/api/v1/products/{gtin}", (*API).patchProduct},
	{"PATCH", "/api/v1/batches/{gtin}/{batch}", (*API).patchBatch},
	{"POST", "/api/v1/trace/epcis", (*API).captureEPCIS},
	{"GET", "/api/v1/batches/{gtin}/{batch}/epcis", (*API).batchEPCIS},
	{"GET", "/api/v1/public/trace/{gtin}/{batch}/epcis", (*API).publicEPCIS},
	{"POST", "/api/v1/trace/sites", (*API).registerSites},
	{"GET", "/api/v1/public/subjects/{code}/sites", (*API).publicSites},
}

// MaxEPCISBody is the largest EPCIS document POST /api/v1/trace/epcis
// takes (trace.MaxEPCISDocument).
const MaxEPCISBody = trace.MaxEPCISDocument

func (a *API) trace() (*trace.Service, error) {
	if a.d.Trace == nil {
		return nil, &errs.Error{Code: errs.Unavailable, Message: "产品追溯服务未启用 (traceability is not configured)"}
	}
	return a.d.Trace, nil
}

// ProductResult is the answer to a product registration.
type ProductResult struct {
	Status  string            `json:"status"` // created | unchanged
	Product trace.ProductView `json:"product"`
}

func (a *API) createProduct(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.trace()
	if err != nil {
		return err
	}
	var in trace.ProductInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	p, st, err := svc.CreateProduct(r.Context(), in)
	if err != nil {
		return err
	}
	v, err := svc.ProductView(r.Context(), p)
	if err != nil {
		return err
	}
	writeResult(w, st == trace.ResultCreated, "/api/v1/products/"+p.GTIN, ProductResult{Status: st, Product: v})
	return nil
}

// getProduct is public: a product's name, category and producer.
func (a *API) getProduct(w http.ResponseWriter, r *http.Request) error {
	return a.productOut(w, r, func(svc *trace.Service, gtin string) (*trace.Product, error) {
		if err := newParams(r).err(); err != nil {
			return nil, err
		}
		return svc.GetProduct(r.Context(), gtin)
	})
}

// patchProduct changes a product's name, category, brand or spec (the
// producer itself, departments, the credit office).
func (a *API) patchProduct(w http.ResponseWriter, r *http.Request) error {
	return a.productOut(w, r, func(svc *trace.Service, gtin string) (*trace.Product, error) {
		var in trace.ProductPatch
		if err := httpx.DecodeJSON(r, &in); err != nil {
			return nil, err
		}
		return svc.UpdateProduct(r.Context(), gtin, in)
	})
}

// productOut answers with the view of the product of the path's GTIN that
// get returns.
func (a *API) productOut(w http.ResponseWriter, r *http.Request, get func(svc *trace.Service, gtin string) (*trace.Product, error)) error {
	svc, err := a.trace()
	if err != nil {
		return err
	}
	p, err := get(svc, clip(r.PathValue("gtin"), 40))
	if err != nil {
		return err
	}
	v, err := svc.ProductView(r.Context(), p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

// patchBatch changes a batch's production and expiry dates or quantity.
func (a *API) patchBatch(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.trace()
	if err != nil {
		return err
	}
	var in trace.BatchPatch
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	b, err := svc.UpdateBatch(r.Context(), clip(r.PathValue("gtin"), 40), clip(r.PathValue("batch"), 40), in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, b.View())
	return nil
}

// LotResult is the answer to a batch (lot) registration.
type LotResult struct {
	Status string          `json:"status"` // created | unchanged
	Batch  trace.BatchView `json:"batch"`
}

func (a *API) createBatch(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.trace()
	if err != nil {
		return err
	}
	var in trace.BatchInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	b, st, err := svc.CreateBatch(r.Context(), in)
	if err != nil {
		return err
	}
	writeResult(w, st == trace.ResultCreated, "/api/v1/public/trace/"+b.GTIN+"/"+b.Batch, LotResult{Status: st, Batch: b.View()})
	return nil
}

// InputsRequest is the body of POST /api/v1/batches/{gtin}/{batch}/inputs.
type InputsRequest struct {
	Inputs []trace.InputRef `json:"inputs"`
}

// InputsResult answers it: each input's fate.
type InputsResult struct {
	Created   int                 `json:"created"`
	Unchanged int                 `json:"unchanged"`
	Results   []trace.InputResult `json:"results"`
}

// addInputs records the batches a batch was made from (201 when any is
// new, 200 when all were recorded already).
func (a *API) addInputs(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.trace()
	if err != nil {
		return err
	}
	var in InputsRequest
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	res, err := svc.AddInputs(r.Context(), clip(r.PathValue("gtin"), 40), clip(r.PathValue("batch"), 40), in.Inputs)
	if err != nil {
		return err
	}
	out := InputsResult{Results: res}
	for _, x := range res {
		if x.Status == trace.ResultCreated {
			out.Created++
		} else {
			out.Unchanged++
		}
	}
	writeResult(w, out.Created > 0, "", out)
	return nil
}

// SitesRequest is the body of POST /api/v1/trace/sites.
type SitesRequest struct {
	Sites []trace.SiteInput `json:"sites"`
}

// SitesResult answers it: each site's fate.
type SitesResult struct {
	Created   int                `json:"created"`
	Updated   int                `json:"updated"`
	Unchanged int                `json:"unchanged"`
	Results   []trace.SiteResult `json:"results"`
}

// registerSites registers or renames trace sites (201 when any is new,
// 200 otherwise).
func (a *API) registerSites(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.trace()
	if err != nil {
		return err
	}
	var in SitesRequest
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	res, err := svc.RegisterSites(r.Context(), in.Sites)
	if err != nil {
		return err
	}
	out := SitesResult{Results: res}
	for _, x := range res {
		switch x.Status {
		case trace.ResultCreated:
			out.Created++
		case trace.ResultUpdated:
			out.Updated++
		default:
			out.Unchanged++
		}
	}
	writeResult(w, out.Created > 0, "", out)
	return nil
}

// PublicSites is a subject's registered trace sites.
type PublicSites struct {
	Subject *trace.SubjectRef `json:"subject"`
	Sites   []trace.SiteView  `json:"sites"`
}

// publicSites is GET /api/v1/public/subjects/{code}/sites (anyone).
func (a *API) publicSites(w http.ResponseWriter, r *http.Request) error {
	return a.publicLookup(w, r, func(svc *trace.Service) (any, error) {
		sub, sites, err := svc.Sites(r.Context(), clip(r.PathValue("code"), 40))
		if err != nil {
			return nil, err
		}
		return PublicSites{Subject: sub, Sites: sites}, nil
	})
}

// ForwardTraceResult is a page of a batch's forward trace.
type ForwardTraceResult struct {
	*trace.ForwardTrace
	NextCursor string `json:"next_cursor,omitempty"`
}

func (a *API) forwardTrace(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.trace()
	if err != nil {
		return err
	}
	p := newParams(r, "cursor", "limit")
	after, limit := p.cursor(), p.limit(100, trace.MaxPage)
	if err := p.err(); err != nil {
		return err
	}
	ft, err := svc.Forward(r.Context(), clip(r.PathValue("gtin"), 40), clip(r.PathValue("batch"), 40), after, limit)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, ForwardTraceResult{ForwardTrace: ft, NextCursor: nextCursor(len(ft.Orders), limit, ft.NextCursor)})
	return nil
}

func (a *API) recallBatch(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.trace()
	if err != nil {
		return err
	}
	var in trace.RecallInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	rc, err := svc.Recall(r.Context(), clip(r.PathValue("gtin"), 40), clip(r.PathValue("batch"), 40), in)
	if err != nil {
		return err
	}
	// A cascade's failures are in its answer, batch by batch; their
	// causes go to the log.
	for _, err := range rc.Internal() {
		a.log.ErrorContext(r.Context(), "cascading recall failed", "request_id", httpx.RequestID(r), "err", err.Error())
	}
	w.Header().Set("Location", "/api/v1/records/"+strconv.FormatInt(rc.RecordID, 10))
	status := http.StatusCreated
	if rc.Resumed {
		status = http.StatusOK // the batch's recall stood; only its cascade went on
	}
	httpx.WriteJSON(w, status, rc.View())
	return nil
}

// TraceEventResult is the answer to one trace event.
type TraceEventResult struct {
	Status string `json:"status"` // created | unchanged
	ID     int64  `json:"id"`
}

func (a *API) createTraceEvent(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.trace()
	if err != nil {
		return err
	}
	var in trace.EventInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	res, err := svc.IngestEvent(r.Context(), in)
	if err != nil {
		return err
	}
	writeResult(w, res.Status == trace.ResultCreated, "", TraceEventResult{Status: res.Status, ID: res.ID})
	return nil
}

// TraceEventBatchResult is the answer to an event batch: counts and every
// line's result in order.
type TraceEventBatchResult struct {
	trace.Tally
	Results []BatchLine `json:"results"`
}

// batchTraceEvents takes NDJSON (one event a line) or a JSON array of at
// most MaxBatchRows events; every item gets its own result and good ones
// are stored even when others are bad.
func (a *API) batchTraceEvents(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.trace()
	if err != nil {
		return err
	}
	if ac := account.From(r.Context()); ac.Role == account.RolePublic {
		return &errs.Error{Code: errs.Unauthorized, Message: "需要 API 密钥 (authentication required)"}
	}
	if err := newParams(r).err(); err != nil {
		return err
	}
	items, err := readBatch(r, MaxBody)
	if err != nil {
		return err
	}
	res := TraceEventBatchResult{Results: make([]BatchLine, len(items))}
	var ins []trace.EventInput
	var at []int
	for i, it := range items {
		var in trace.EventInput
		if err := httpx.DecodeJSONBytes(it.raw, &in); err != nil {
			res.Results[i] = a.batchError(r, it.line, err)
			continue
		}
		ins, at = append(ins, in), append(at, i)
	}
	if len(ins) > 0 {
		done, err := svc.IngestEvents(r.Context(), ins)
		if err != nil {
			return err
		}
		for k, d := range done {
			line := items[at[k]].line
			if d.Err != nil {
				res.Results[at[k]] = a.batchError(r, line, d.Err)
				continue
			}
			res.Results[at[k]] = BatchLine{Line: line, Status: d.Status, ID: d.ID}
		}
	}
	for _, l := range res.Results {
		res.Count(l.Status)
	}
	httpx.WriteJSON(w, http.StatusOK, res)
	return nil
}

// publicTrace is the public trace of a batch (no buyer data, regions by
// city), limited per client like the other public look-ups.
func (a *API) publicTrace(w http.ResponseWriter, r *http.Request) error {
	return a.publicLookup(w, r, func(svc *trace.Service) (any, error) {
		return svc.Public(r.Context(), clip(r.PathValue("gtin"), 40), clip(r.PathValue("batch"), 40))
	})
}

// publicLookup answers a public look-up of the trace service: limited per
// client, no query parameters, the look-up's value as JSON.
func (a *API) publicLookup(w http.ResponseWriter, r *http.Request, look func(*trace.Service) (any, error)) error {
	if err := a.d.PublicLimiter.Check(w, r); err != nil {
		return err
	}
	svc, err := a.trace()
	if err != nil {
		return err
	}
	if err := newParams(r).err(); err != nil {
		return err
	}
	v, err := look(svc)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (a *API) backwardTrace(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.trace()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := newParams(r).err(); err != nil {
		return err
	}
	bt, err := svc.Backward(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, bt)
	return nil
}

func (a *API) licenceFlags(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.trace()
	if err != nil {
		return err
	}
	p := newParams(r, "seller", "shop")
	seller, shop := p.id("seller"), p.id("shop")
	if err := p.err(); err != nil {
		return err
	}
	f, err := svc.LicenceFlags(r.Context(), seller, shop)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, f)
	return nil
}

// recentRecalls is GET /api/v1/recalls: the latest recalls, newest first
// (departments and the credit office).
func (a *API) recentRecalls(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.trace()
	if err != nil {
		return err
	}
	p := newParams(r, "limit")
	limit := p.limit(20, 200)
	if err := p.err(); err != nil {
		return err
	}
	list, err := svc.RecentRecalls(r.Context(), limit)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, Page[trace.RecallItem]{Items: list})
	return nil
}

// publicProduct is GET /api/v1/public/products/{gtin}: a product with its
// producer and latest batches, for anyone (where a scanned barcode that
// names no batch leads).
func (a *API) publicProduct(w http.ResponseWriter, r *http.Request) error {
	return a.publicLookup(w, r, func(svc *trace.Service) (any, error) {
		return svc.PublicProduct(r.Context(), clip(r.PathValue("gtin"), 40))
	})
}

// publicRecalls is GET /api/v1/public/recalls: the recall notice board,
// newest first, for anyone (limit 1–100, default 20; the cursor of the
// page before).
func (a *API) publicRecalls(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.PublicLimiter.Check(w, r); err != nil {
		return err
	}
	svc, err := a.trace()
	if err != nil {
		return err
	}
	p := newParams(r, "limit", "cursor")
	limit, before := p.limit(20, trace.MaxPublicRecalls), p.cursor()
	if err := p.err(); err != nil {
		return err
	}
	list, next, err := svc.PublicRecalls(r.Context(), before, limit)
	if err != nil {
		return err
	}
	out := Page[trace.PublicRecall]{Items: list}
	if next != 0 {
		out.NextCursor = nextCursor(limit, limit, next)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// EPCISCaptureResult is the answer to an EPCIS document: counts and the
// result of every event, in document order (an event that names several
// batches has a result for each).
type EPCISCaptureResult struct {
	trace.Tally
	Results []EPCISLine `json:"results"`
}

// EPCISLine is the result of one event of an EPCIS document.
type EPCISLine struct {
	Line    int         `json:"line"` // the event's position in eventList, from 1
	EventID string      `json:"event_id,omitempty"`
	Status  string      `json:"status"` // created | unchanged | error
	ID      int64       `json:"id,omitempty"`
	Error   *BatchError `json:"error,omitempty"`
}

// captureEPCIS stores the ObjectEvents and TransformationEvents of an
// EPCIS document (JSON, JSON-LD or XML): every event gets its result, good ones are stored even when
// others are bad, a document that is not EPCIS 2.0 is refused whole.
func (a *API) captureEPCIS(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.trace()
	if err != nil {
		return err
	}
	if err := newParams(r).err(); err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &errs.Error{Code: errs.TooLarge, Field: "body", Message: fmt.Sprintf("EPCIS 文档超过 %d MiB 上限，未保存任何事件 (document over %d bytes; nothing stored)", MaxEPCISBody>>20, MaxEPCISBody)}
		}
		return &errs.Error{Code: errs.Invalid, Message: "读取请求体失败 (cannot read body)", Err: err}
	}
	lines, err := svc.CaptureEPCIS(r.Context(), body)
	if err != nil {
		return err
	}
	res := EPCISCaptureResult{Results: make([]EPCISLine, len(lines))}
	for i, l := range lines {
		out := EPCISLine{Line: l.Line, EventID: l.EventID, Status: l.Status, ID: l.ID}
		if res.Count(l.Status) {
			out.Status, out.Error = trace.ResultError, a.lineError(r, l.Line, l.Err)
		}
		res.Results[i] = out
	}
	httpx.WriteJSON(w, http.StatusOK, res)
	return nil
}

// batchEPCIS exports every event of a batch as an EPCIS 2.0 document, a
// page at a time (departments, the credit office, the producer).
func (a *API) batchEPCIS(w http.ResponseWriter, r *http.Request) error {
	return a.exportEPCIS(w, r, false)
}

// publicEPCIS exports a batch's public events (production, inspection,
// listing, recall) as an EPCIS 2.0 document, limited per client like the
// other public look-ups.
func (a *API) publicEPCIS(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.PublicLimiter.Check(w, r); err != nil {
		return err
	}
	return a.exportEPCIS(w, r, true)
}

// EPCIS export formats (the "format" query parameter): the JSON-LD
// binding (the default) and the XML binding of EPCIS 2.0. The format is
// chosen by the parameter only, not by Accept, so that a page's address
// (and the next page's in Link) names what it holds.
const (
	epcisJSONLD = "jsonld"
	epcisXML    = "xml"
)

// exportEPCIS writes a page of a batch's events as an EPCIS document
// (application/ld+json, or application/xml with format=xml), with a Link
// header to the next page in the same format.
func (a *API) exportEPCIS(w http.ResponseWriter, r *http.Request, public bool) error {
	svc, err := a.trace()
	if err != nil {
		return err
	}
	p := newParams(r, "cursor", "limit", "format")
	tok := p.str("cursor", 100)
	limit := p.limit(trace.MaxEPCISPage, trace.MaxEPCISPage)
	format := p.str("format", 20)
	if err := p.err(); err != nil {
		return err
	}
	if format != "" && format != epcisJSONLD && format != epcisXML {
		return errs.Field("format", "导出格式必须是 jsonld 或 xml，而不是「%s」(format must be jsonld or xml)", clip(format, 20))
	}
	after, err := trace.ParseEventCursor("cursor", tok)
	if err != nil {
		return err
	}
	doc, next, err := svc.ExportEPCIS(r.Context(), clip(r.PathValue("gtin"), 40), clip(r.PathValue("batch"), 40), public, after, limit)
	if err != nil {
		return err
	}
	var b []byte
	contentType := "application/ld+json; charset=utf-8"
	if format == epcisXML {
		var buf bytes.Buffer
		err = doc.WriteXML(&buf)
		b, contentType = buf.Bytes(), "application/xml; charset=utf-8"
	} else {
		b, err = json.MarshalIndent(doc, "", "  ")
		b = append(b, '\n')
	}
	if err != nil {
		return errs.Wrap("httpapi.exportEPCIS", err)
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("GS1-EPCIS-Version", "2.0.0")
	h.Set("GS1-CBV-Version", "2.0.0")
	if public {
		h.Set("Cache-Control", "public, max-age=60")
	} else {
		h.Set("Cache-Control", "no-store")
	}
	if next != nil {
		q := url.Values{"cursor": {next.Token()}, "limit": {strconv.Itoa(limit)}}
		if format != "" {
			q.Set("format", format)
		}
		h.Set("Link", "<"+r.URL.Path+"?"+q.Encode()+">; rel=\"next\"")
	}
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}
