// Package web serves the browser side of ecredit: the public portal (search,
// a subject's public profile, the identity verification mark check, the code
// check) and the staff console under /console/ (sign-in, dashboard, the
// registry pages, accounts and the audit log).
//
// Pages are server-rendered html/template in 简体中文. Templates and the style
// sheet are embedded in the binary; every template is parsed by New, so a
// missing or broken template stops start-up. Pages need no JavaScript and use
// no inline style or script, so they work under the strict CSP that
// httpx.Wrap sets. Console forms carry the session's CSRF token and the
// console is behind http.CrossOriginProtection; the sign-in form, which has
// no session yet, uses a double-submit cookie.
//
// Handlers only decode forms, call registry.Service and account.Service with
// the caller in the context (account.With), and render the result: the
// rules live in the services.
package web

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/clock"
	"ecredit/disclosure"
	"ecredit/httpx"
	"ecredit/logistics"
	"ecredit/record"
	"ecredit/registry"
	"ecredit/trace"
	"ecredit/trade"
)

//go:embed templates static
var embedded embed.FS

// Counts are the registry figures shown on the console dashboard.
type Counts struct {
	Total    int64
	ByKind   map[registry.Kind]int64
	ByVerify map[registry.VerifyState]int64 // as shown: a passed verification past its due date is expired
}

// Deps is what the site needs.
type Deps struct {
	Registry *registry.Service
	Accounts *account.Service
	Audit    audit.Store
	Clock    clock.Clock
	Logger   *slog.Logger
	Ping     func(ctx context.Context) error // database health, shown on the dashboard; optional
	Engine   string                          // "sqlite" / "postgres", shown on the dashboard

	// Secure marks cookies Secure (the site is served over TLS). Leave it
	// false on plain-HTTP localhost, or browsers drop the cookies.
	Secure bool

	// PublicSearch finds subjects by a substring of their name for the
	// public search page. Optional: when nil the site calls
	// Registry.Store.ListSubjects with a Name filter. Results are shown
	// masked (SubjectView) only.
	PublicSearch func(ctx context.Context, name string, limit int) ([]*registry.Subject, error)

	// Disclosure answers the public portal's search (full-text), profiles
	// (with credit records), credit reports and report verification.
	// Optional: without it search falls back to PublicSearch, profiles show
	// the registry data only, and the report and verification pages are
	// not served.
	Disclosure *disclosure.Service
	// PDF renders credit reports to PDF (package pdf: headless Chromium).
	// Optional: without it /subjects/{id}/report.pdf answers 503.
	PDF PDFRenderer
	// PublicURL is the portal's public address ("https://credit.chengde.gov.cn"),
	// used in the QR code of reports; "" uses the request's host.
	PublicURL string

	// Stats returns the dashboard figures by kind and verification state.
	// Optional: when nil the dashboard shows only the total from
	// Registry.Store.CountSubjects.
	Stats func(ctx context.Context) (*Counts, error)

	// Records serves the console's record pages (import, list, detail).
	// Optional: when nil those pages answer 503.
	Records *record.Service

	// Logistics shows the grade of logistics firms (M4): the block on their
	// profile and the page /logistics/{id}. Optional: without it neither
	// is shown.
	Logistics *logistics.Service
	// Trace serves the public trace pages of batches (/trace, M10).
	// Optional: when nil those pages answer 503.
	Trace *trace.Service
	// Trade (M5) serves a shop's ratings page (/shops/{id}) and the
	// ratings section of profiles. Optional: without it neither is shown.
	Trade *trade.Service
	// proof: PublicLimiter limits the portal's search and profile pages
	// (and the credit reports behind them) per client, against scraping;
	// nil: no limit.
	PublicLimiter *httpx.Limiter
}

// Site is the http.Handler of every path that is not /api/, /healthz or
// /metrics.
type Site struct {
	d      Deps
	log    *slog.Logger
	pages  map[string]*pageTemplate
	assets *assets
	mux    *http.ServeMux
	// reports keeps import reports for the error download (records.go).
	reports *reportCache

	// The credit report's print document for the PDF renderer (report.go).
	printOnce sync.Once
	printT    *template.Template
	printErr  error
}

// New parses every template and builds the site. It fails, naming the
// template, if one is missing or does not parse.
func New(d Deps) (*Site, error) {
	return newSite(d, embedded)
}

// newSite builds the site from fsys, which holds templates/ and static/
// (tests pass a broken file system to check that New fails).
func newSite(d Deps, fsys fs.FS) (*Site, error) {
	if d.Registry == nil || d.Accounts == nil || d.Audit == nil {
		return nil, errors.New("web: Deps.Registry, Deps.Accounts and Deps.Audit are required")
	}
	if d.Clock == nil {
		d.Clock = clock.System{}
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.PublicSearch == nil {
		store := d.Registry.Store
		d.PublicSearch = func(ctx context.Context, name string, limit int) ([]*registry.Subject, error) {
			return store.ListSubjects(ctx, registry.Filter{Name: name, Limit: limit})
		}
	}
	s := &Site{d: d, log: d.Logger}
	var err error
	if s.assets, err = loadAssets(fsys); err != nil {
		return nil, err
	}
	if s.pages, err = loadTemplates(fsys, s.funcs()); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Site) now() time.Time { return s.d.Clock.Now() }

// Route is one route of the site: a ServeMux pattern and who may use it.
// The site's routes are data (publicRoutes, consoleRoutes and each
// capability's slice, joined in routeTable) so that tests can enumerate
// them: the access matrix, the malformed-request campaign and the security
// header checks all start from Routes().
type Route struct {
	Method string
	Path   string
	// Console routes are behind the console's session, CSRF and
	// cross-origin protection (except the sign-in form itself).
	Console bool
	h       func(s *Site) http.Handler
}

// Pattern is the ServeMux pattern of the route.
func (rt Route) Pattern() string { return rt.Method + " " + rt.Path }

// pub adapts a public handler.
func pub(f func(s *Site, w http.ResponseWriter, r *http.Request)) func(*Site) http.Handler {
	return func(s *Site) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f(s, w, r) })
	}
}

// staffOnly adapts a console handler for department and admin accounts.
func staffOnly(f func(s *Site, w http.ResponseWriter, r *http.Request, c *call)) func(*Site) http.Handler {
	return func(s *Site) http.Handler {
		return s.staff(func(w http.ResponseWriter, r *http.Request, c *call) { f(s, w, r, c) })
	}
}

// publicRoutes are the portal's pages.
var publicRoutes = []Route{
	{"GET", "/{$}", false, pub((*Site).home)},
	{"GET", "/search", false, pub((*Site).search)},
	{"GET", "/subjects/{id}", false, pub((*Site).publicSubject)},
	{"GET", "/subjects/{id}/{rest}", false, pub((*Site).subjectSub)},
	{"GET", "/verify/{id}", false, pub((*Site).verifyReport)},
	{"GET", "/marks", false, pub((*Site).markCheck)},
	{"GET", "/marks/{mark}", false, pub((*Site).markCheck)},
	{"GET", "/codes", false, pub((*Site).codeCheck)},
	{"POST", "/codes", false, pub((*Site).codeCheck)},
	{"GET", "/static/{name}", false, pub(func(s *Site, w http.ResponseWriter, r *http.Request) { s.assets.serve(w, r) })},
	{"GET", "/trace", false, pub((*Site).traceLookup)},              // traceability (M10)
	{"GET", "/trace/{gtin}/{batch}", false, pub((*Site).tracePage)}, // traceability (M10)
	{"GET", "/trace/{gtin}", false, pub((*Site).productPage)},       // a product and its batches (a scanned barcode)
	{"GET", "/trace/{gtin}/{batch}/qr.png", false, pub((*Site).traceQR)},
	{"GET", "/01/{path...}", false, pub((*Site).digitalLink)},     // GS1 Digital Link resolver (M10)
	{"GET", "/recalls", false, pub((*Site).recalls)},              // the recall notice board (M10, M6)
	{"GET", "/logistics/{id}", false, pub((*Site).logisticsPage)}, // a logistics firm's grade (M4)
	{"GET", "/shops/{id}", false, pub((*Site).publicShop)},        // a shop's ratings (trade, M5)
}

// consoleRoutes are the staff console's pages (the records' pages are in
// recordRoutes).
var consoleRoutes = []Route{
	{"GET", "/console/login", true, pub((*Site).loginForm)},
	{"POST", "/console/login", true, pub((*Site).login)},
	{"POST", "/console/logout", true, func(s *Site) http.Handler { return s.session(s.logout, true) }},
	// second factor: the code step of sign-in, and enrolment by any
	// signed-in account (web/totp.go)
	{"POST", "/console/login/code", true, pub((*Site).loginCode)},
	{"GET", "/console/totp", true, func(s *Site) http.Handler { return s.session(s.totpPage, true) }},
	{"POST", "/console/totp/begin", true, func(s *Site) http.Handler { return s.session(s.totpBegin, true) }},
	{"POST", "/console/totp/confirm", true, func(s *Site) http.Handler { return s.session(s.totpConfirm, true) }},

	{"GET", "/console/{$}", true, staffOnly((*Site).dashboard)},
	{"GET", "/console/subjects", true, staffOnly((*Site).subjects)},
	{"GET", "/console/subjects/new", true, staffOnly((*Site).subjectNewForm)},
	{"POST", "/console/subjects/new", true, staffOnly((*Site).subjectCreate)},
	{"GET", "/console/subjects/{id}", true, staffOnly((*Site).subjectDetail)},
	{"POST", "/console/subjects/{id}/verify", true, staffOnly((*Site).subjectVerify)},
	{"POST", "/console/subjects/{id}/reveal", true, staffOnly((*Site).subjectReveal)},
	{"GET", "/console/subjects/{id}/edit", true, staffOnly((*Site).subjectEditForm)},
	{"POST", "/console/subjects/{id}/edit", true, staffOnly((*Site).subjectUpdate)},

	{"GET", "/console/shops", true, staffOnly((*Site).shops)},
	{"GET", "/console/shops/new", true, staffOnly((*Site).shopNewForm)},
	{"POST", "/console/shops/new", true, staffOnly((*Site).shopCreate)},

	{"GET", "/console/accounts", true, staffOnly((*Site).accounts)},
	{"POST", "/console/accounts", true, staffOnly((*Site).accountCreate)},
	{"POST", "/console/accounts/{id}/keys", true, staffOnly((*Site).keyCreate)},
	{"POST", "/console/keys/{id}/revoke", true, staffOnly((*Site).keyRevoke)},

	{"GET", "/console/audit", true, staffOnly((*Site).auditLog)},
}

// routeTable is every route of the site. Each capability keeps its pages
// in a slice of its own file, joined here.
var routeTable = slices.Concat(publicRoutes, consoleRoutes, recordRoutes, traceConsoleRoutes, traceSitesRoutes, tradeConsoleRoutes, logisticsConsoleRoutes)

// Routes lists every route the site serves (the catch-all 404 pages of
// / and /console/ aside).
func (s *Site) Routes() []Route { return append([]Route(nil), routeTable...) }

func (s *Site) routes() {
	s.reports = &reportCache{m: map[string]*cachedReport{}}
	m := http.NewServeMux()
	cm := http.NewServeMux()
	for _, rt := range routeTable {
		if rt.Console {
			cm.Handle(rt.Pattern(), rt.h(s))
		} else {
			m.Handle(rt.Pattern(), rt.h(s))
		}
	}
	cm.Handle("/console/", s.staff(func(w http.ResponseWriter, r *http.Request, c *call) { s.notFound(w, r) }))
	m.Handle("/console/", s.console(cm))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.notFound(w, r) })
	s.mux = m
}

// console puts the console's mux behind cross-origin protection and
// no-store.
func (s *Site) console(m *http.ServeMux) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, nil, http.StatusForbidden, "跨站请求被拒绝：请从本站页面提交表单 (cross-origin request refused)")
	}))
	return noStore(cop.Handler(m))
}

// noStore keeps console pages out of shared and browser caches: they show
// personal data and one-time keys.
func noStore(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}
