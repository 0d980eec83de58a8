// Package httpapi is the JSON API of ecredit under /api/v1, plus /healthz,
// /metrics and the OpenAPI document at /api/v1/openapi.json. Handlers only
// decode, call a service with the caller in the context, and encode: the
// rules live in registry and account.
package httpapi

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/clock"
	"ecredit/disclosure"
	"ecredit/errs"
	"ecredit/httpx"
	"ecredit/ledger"
	"ecredit/logistics"
	"ecredit/record"
	"ecredit/registry"
	"ecredit/trace"
	"ecredit/trade"
)

// Limits of request bodies.
const (
	MaxBody      = 1 << 20 // every JSON body
	MaxBatchBody = 4 << 20 // POST /api/v1/subjects/batch
	MaxBatchRows = 1000    // lines (or array elements) in one batch
	maxCodeInput = 100     // bytes of a code in GET /api/v1/codes/{code}
)

// Default public rate limit (codes, marks, by-code lookups), per client.
const (
	PublicRate  = 5.0 // requests a second
	PublicBurst = 30
)

//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns the OpenAPI 3.0 document served at /api/v1/openapi.json.
func OpenAPI() []byte { return openAPIDoc }

// Deps are what the API needs.
type Deps struct {
	Registry *registry.Service
	Accounts *account.Service
	Audit    audit.Store
	Clock    clock.Clock
	Logger   *slog.Logger
	Ping     func(ctx context.Context) error // database health
	Engine   string                          // "sqlite" / "postgres"

	// Gatherer is what /metrics exposes (the registry the app passes to
	// httpx.Wrap). Nil: a private registry with the Go and process
	// collectors only.
	Gatherer prometheus.Gatherer
	// PublicLimiter limits the public look-ups (codes, marks, by-code) per
	// client. Nil: httpx.NewLimiter(PublicRate, PublicBurst).
	PublicLimiter *httpx.Limiter
	// Limiter, when set, limits every /api/ request per account or client.
	Limiter *httpx.Limiter

	// Records serves the record routes; Ledger, LedgerKey (the verifier
	// key in note format) and LedgerEntries the ledger routes. Without
	// them those routes answer 503.
	Records       *record.Service
	Ledger        *ledger.Log
	LedgerKey     string
	LedgerEntries LedgerEntries

	// Disclosure serves the public search and profiles
	// (/api/v1/public/subjects…); without it they answer 503.
	Disclosure *disclosure.Service

	// Logistics serves parcels, tracking and the grades of logistics
	// firms (M4, logisticsRoutes); without it those routes answer 503.
	Logistics *logistics.Service
	// Trace serves product traceability (M10): products, batches, events,
	// forward and backward traces, recalls, licence flags; without it
	// those routes answer 503.
	Trace *trace.Service
	// Trade (M5) serves orders, reviews, evaluations and shop reputation
	// (trade.go); without it those routes answer 503.
	Trade *trade.Service
}

// API is the http.Handler for /api/, /healthz and /metrics.
type API struct {
	d       Deps
	log     *slog.Logger
	mux     *http.ServeMux
	byCode  *http.ServeMux // see byCodePrefix
	metrics http.Handler
	routes  []Route
}

// Route is one registered route (method and ServeMux path pattern).
type Route struct {
	Method string
	Path   string
	h      func(a *API, w http.ResponseWriter, r *http.Request) error
}

// Pattern is the ServeMux pattern of the route.
func (rt Route) Pattern() string { return rt.Method + " " + rt.Path }

// routeTable is every route of the API; the OpenAPI test enumerates it.
// Each capability keeps its routes in a slice of its own file, joined here.
var routeTable = slices.Concat(coreRoutes, tradeRoutes, logisticsRoutes, traceRoutes)

// coreRoutes are the foundation's and the records' routes.
var coreRoutes = []Route{
	{"GET", "/healthz", (*API).health},
	{"GET", "/metrics", (*API).serveMetrics},
	{"GET", "/api/v1/openapi.json", (*API).openapi},
	{"GET", "/api/v1/me", (*API).me},
	{"GET", "/api/v1/codes/{code}", (*API).checkCode},
	{"GET", "/api/v1/public/marks/{mark}", (*API).checkMark},
	{"GET", "/api/v1/public/subjects", (*API).publicSearch},
	{"GET", "/api/v1/public/subjects/{code}", (*API).publicProfile},

	{"POST", "/api/v1/subjects", (*API).createSubject},
	{"GET", "/api/v1/subjects", (*API).listSubjects},
	{"POST", "/api/v1/subjects/batch", (*API).batchSubjects},
	{"POST", "/api/v1/subjects/lookup", (*API).lookupSubject},
	{"GET", "/api/v1/subjects/by-code/{code}", (*API).subjectByCode},
	{"GET", "/api/v1/subjects/{id}", (*API).getSubject},
	{"PATCH", "/api/v1/subjects/{id}", (*API).patchSubject},
	{"POST", "/api/v1/subjects/{id}/personal", (*API).revealPersonal},
	{"GET", "/api/v1/subjects/{id}/verifications", (*API).listVerifications},
	{"POST", "/api/v1/subjects/{id}/verifications", (*API).verify},

	{"POST", "/api/v1/shops", (*API).createShop},
	{"GET", "/api/v1/shops", (*API).listShops},
	{"GET", "/api/v1/shops/{id}", (*API).getShop},
	{"PATCH", "/api/v1/shops/{id}", (*API).patchShop},

	{"POST", "/api/v1/accounts", (*API).createAccount},
	{"GET", "/api/v1/accounts", (*API).listAccounts},
	{"POST", "/api/v1/accounts/{id}/keys", (*API).createKey},
	{"DELETE", "/api/v1/keys/{id}", (*API).revokeKey},

	{"GET", "/api/v1/audit", (*API).listAudit},

	{"GET", "/api/v1/records/types", (*API).recordTypes},
	{"POST", "/api/v1/records", (*API).createRecord},
	{"POST", "/api/v1/records/batch", (*API).batchRecords},
	{"GET", "/api/v1/records/{id}", (*API).getRecord},
	{"GET", "/api/v1/records/{id}/events", (*API).recordEvents},
	{"GET", "/api/v1/records/{id}/proof", (*API).recordProof},
	{"POST", "/api/v1/records/{id}/withdraw", (*API).withdrawRecord},
	{"POST", "/api/v1/records/{id}/objections", (*API).fileObjection},
	{"POST", "/api/v1/records/{id}/objections/answer", (*API).answerObjection},
	{"POST", "/api/v1/records/{id}/repair", (*API).applyRepair},
	{"POST", "/api/v1/records/{id}/repair/review", (*API).reviewRepair},
	{"POST", "/api/v1/records/{id}/repair/decision", (*API).decideRepair},
	{"GET", "/api/v1/subjects/{id}/records", (*API).subjectRecords},
	{"GET", "/api/v1/changes", (*API).changes},
	{"GET", "/api/v1/exports/{file}", (*API).exportRecords},

	{"GET", "/api/v1/ledger/checkpoint", (*API).ledgerCheckpoint},
	{"GET", "/api/v1/ledger/key", (*API).ledgerKey},
	{"GET", "/api/v1/ledger/proof/inclusion", (*API).inclusionProof},
	{"GET", "/api/v1/ledger/proof/consistency", (*API).consistencyProof},
}

// byCodePrefix routes are served by a mux of their own: ServeMux refuses
// GET /api/v1/subjects/by-code/{code} next to GET
// /api/v1/subjects/{id}/verifications, as both match
// /api/v1/subjects/by-code/verifications.
const byCodePrefix = "/api/v1/subjects/by-code/"

// fallbacks catch what no route matches, to answer 404 or 405 in JSON.
var fallbacks = []string{"/api/", "/healthz", "/metrics"}

// New builds the API.
func New(d Deps) (*API, error) {
	if d.Registry == nil || d.Accounts == nil || d.Audit == nil {
		return nil, errors.New("httpapi: Registry, Accounts and Audit are required")
	}
	if d.Clock == nil {
		d.Clock = clock.System{}
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.PublicLimiter == nil {
		d.PublicLimiter = httpx.NewLimiter(PublicRate, PublicBurst)
	}
	if d.Gatherer == nil {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		d.Gatherer = reg
	}
	a := &API{d: d, log: d.Logger, mux: http.NewServeMux(), byCode: http.NewServeMux(), routes: routeTable}
	a.metrics = promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{ErrorLog: slogErrorLog{d.Logger}})
	handle := func(m *http.ServeMux, pattern string, h func(a *API, w http.ResponseWriter, r *http.Request) error) {
		m.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if err := h(a, w, r); err != nil {
				httpx.WriteError(w, r, a.log, err)
			}
		})
	}
	for _, rt := range routeTable {
		m := a.mux
		if strings.HasPrefix(rt.Path, byCodePrefix) {
			m = a.byCode
		}
		handle(m, rt.Pattern(), rt.h)
	}
	for _, p := range fallbacks {
		a.mux.HandleFunc(p, a.fallback(a.mux))
	}
	a.byCode.HandleFunc(byCodePrefix, a.fallback(a.byCode))
	return a, nil
}

// Routes lists every route the API serves.
func (a *API) Routes() []Route { return append([]Route(nil), a.routes...) }

type slogErrorLog struct{ l *slog.Logger }

func (s slogErrorLog) Println(v ...any) {
	s.l.Error("metrics", "err", strings.TrimSpace(fmt.Sprint(v...)))
}

// ServeHTTP authenticates the caller, puts the actor in the context, limits
// the body and routes.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	actor, err := a.authenticate(r)
	if err != nil {
		httpx.WriteError(w, r, a.log, err)
		return
	}
	r = r.WithContext(account.With(r.Context(), actor))
	if a.d.Limiter != nil && strings.HasPrefix(r.URL.Path, "/api/") {
		if err := a.d.Limiter.Check(w, r); err != nil {
			httpx.WriteError(w, r, a.log, err)
			return
		}
	}
	if r.Body != nil && r.Body != http.NoBody {
		limit := int64(MaxBody)
		switch r.URL.Path {
		case "/api/v1/subjects/batch":
			limit = MaxBatchBody
			httpx.SetBodyLimit(r, limit)
		case "/api/v1/records/batch":
			limit = MaxRecordBatchBody
			httpx.SetBodyLimit(r, limit)
		case "/api/v1/orders/batch", "/api/v1/reviews/batch": // trade (M5)
			limit = MaxOrderBatchBody
			httpx.SetBodyLimit(r, limit)
		case "/api/v1/trace/epcis": // traceability (M10)
			limit = MaxEPCISBody
			httpx.SetBodyLimit(r, limit)
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
	}
	m := a.mux
	if strings.HasPrefix(r.URL.Path, byCodePrefix) {
		m = a.byCode
	}
	m.ServeHTTP(w, r)
	httpx.NoteRoute(r)
}

// authenticate turns the presented API key into an actor. No key is the
// public; a bad key is an error (never a silent fall back to the public).
func (a *API) authenticate(r *http.Request) (account.Actor, error) {
	remote, reqID := httpx.ClientIP(r), httpx.RequestID(r)
	key := strings.TrimSpace(r.Header.Get("X-API-Key"))
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			return account.Actor{}, &errs.Error{Code: errs.Unauthorized, Field: "Authorization",
				Message: "Authorization 头应为「Bearer ek_…」(Authorization must be a Bearer API key)"}
		}
		tok = strings.TrimSpace(tok)
		if key != "" && key != tok {
			return account.Actor{}, &errs.Error{Code: errs.Unauthorized, Field: "X-API-Key",
				Message: "Authorization 与 X-API-Key 提供了不同的密钥 (two different keys presented)"}
		}
		key = tok
	}
	if key == "" {
		return account.Public(remote, reqID), nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	return a.d.Accounts.Authenticate(ctx, key, remote, reqID)
}

// fallback answers what no route matched: 405 with Allow when the path
// exists under other methods, else 404, both as JSON errors.
func (a *API) fallback(mux *http.ServeMux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { a.notFound(mux, w, r) }
}

func (a *API) notFound(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, p := mux.Handler(r2); p != "" && !isFallback(p) {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		httpx.WriteJSON(w, http.StatusMethodNotAllowed, httpx.ErrorBody{Error: httpx.ErrorInfo{Code: "method_not_allowed",
			Message: "不支持的请求方法 " + r.Method + "，可用：" + strings.Join(allow, ", ") + " (method not allowed)", RequestID: httpx.RequestID(r)}})
		return
	}
	httpx.WriteError(w, r, a.log, &errs.Error{Code: errs.NotFound, Field: "path",
		Message: "没有这个接口：" + r.URL.Path + "，接口说明见 /api/v1/openapi.json (no such endpoint)"})
}

func isFallback(p string) bool {
	for _, f := range fallbacks {
		if p == f {
			return true
		}
	}
	return p == byCodePrefix
}

// writeResult writes out: 201 Created (with the Location, when given) if
// created, else 200.
func writeResult(w http.ResponseWriter, created bool, location string, out any) {
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		if location != "" {
			w.Header().Set("Location", location)
		}
	}
	httpx.WriteJSON(w, status, out)
}
