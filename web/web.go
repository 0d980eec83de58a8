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
	"sync"
	"time"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/clock"
	"ecredit/disclosure"
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

func (s *Site) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.home)
	m.HandleFunc("GET /search", s.search)
	m.HandleFunc("GET /subjects/{id}", s.publicSubject)
	m.HandleFunc("GET /subjects/{id}/{rest}", s.subjectSub)
	m.HandleFunc("GET /verify/{id}", s.verifyReport)
	m.HandleFunc("GET /marks", s.markCheck)
	m.HandleFunc("GET /marks/{mark}", s.markCheck)
	m.HandleFunc("GET /codes", s.codeCheck)
	m.HandleFunc("POST /codes", s.codeCheck)
	m.HandleFunc("GET /trace", s.traceLookup)              // traceability (M10)
	m.HandleFunc("GET /trace/{gtin}/{batch}", s.tracePage) // traceability (M10)
	m.HandleFunc("GET /static/{name}", s.assets.serve)
	m.HandleFunc("GET /logistics/{id}", s.logisticsPage) // a logistics firm's grade (M4)
	m.HandleFunc("GET /shops/{id}", s.publicShop)        // trade (M5)
	m.Handle("/console/", s.console())
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.notFound(w, r) })
	s.mux = m
}

func (s *Site) console() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /console/login", s.loginForm)
	m.HandleFunc("POST /console/login", s.login)
	m.Handle("POST /console/logout", s.session(s.logout, true))
	// second factor: the code step of sign-in, and enrolment by any
	// signed-in account (web/totp.go)
	m.HandleFunc("POST /console/login/code", s.loginCode)
	m.Handle("GET /console/totp", s.session(s.totpPage, true))
	m.Handle("POST /console/totp/begin", s.session(s.totpBegin, true))
	m.Handle("POST /console/totp/confirm", s.session(s.totpConfirm, true))

	m.Handle("GET /console/{$}", s.staff(s.dashboard))
	m.Handle("GET /console/subjects", s.staff(s.subjects))
	m.Handle("GET /console/subjects/new", s.staff(s.subjectNewForm))
	m.Handle("POST /console/subjects/new", s.staff(s.subjectCreate))
	m.Handle("GET /console/subjects/{id}", s.staff(s.subjectDetail))
	m.Handle("POST /console/subjects/{id}/verify", s.staff(s.subjectVerify))
	m.Handle("POST /console/subjects/{id}/reveal", s.staff(s.subjectReveal))
	m.Handle("GET /console/subjects/{id}/edit", s.staff(s.subjectEditForm))
	m.Handle("POST /console/subjects/{id}/edit", s.staff(s.subjectUpdate))

	m.Handle("GET /console/shops", s.staff(s.shops))
	m.Handle("GET /console/shops/new", s.staff(s.shopNewForm))
	m.Handle("POST /console/shops/new", s.staff(s.shopCreate))

	m.Handle("GET /console/accounts", s.staff(s.accounts))
	m.Handle("POST /console/accounts", s.staff(s.accountCreate))
	m.Handle("POST /console/accounts/{id}/keys", s.staff(s.keyCreate))
	m.Handle("POST /console/keys/{id}/revoke", s.staff(s.keyRevoke))

	m.Handle("GET /console/audit", s.staff(s.auditLog))
	s.recordRoutes(m)
	m.Handle("/console/", s.staff(func(w http.ResponseWriter, r *http.Request, c *call) { s.notFound(w, r) }))

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
