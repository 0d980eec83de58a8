package web

import (
	"net/http"
	"net/url"
	"strings"

	"ecredit/errs"
	"ecredit/httpx"
	"ecredit/trace"
)

// The console's register of trace sites (M10): a subject's sites by its
// credit code, and a form that registers a site or renames one — what
// POST /api/v1/trace/sites does for departments and the credit office.

// traceSitesRoutes are the console's site pages.
var traceSitesRoutes = []Route{
	{"GET", "/console/trace/sites", true, staffOnly((*Site).conSites)},
	{"POST", "/console/trace/sites", true, staffOnly((*Site).conSiteRegister)},
}

// conSitesPage is the console's page of a subject's sites.
type conSitesPage struct {
	Code    string // the subject's credit code, as asked
	Subject *trace.SubjectRef
	Sites   []trace.SiteView
	Message string // why the subject was not found
	Done    string // "created" or "updated" after a registration
	Form    *form
}

// siteFields are the form's fields, named as the service's errors name
// them.
var siteFields = []string{"sites[0].gln", "sites[0].extension", "sites[0].location", "sites[0].subject_code", "sites[0].name", "sites[0].region"}

// conSites is GET /console/trace/sites[?subject=CODE].
func (s *Site) conSites(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	if !s.traceReady(w, r) {
		return
	}
	q := r.URL.Query()
	d := &conSitesPage{Code: strings.TrimSpace(q.Get("subject")), Done: q.Get("done"), Form: newForm(nil)}
	d.Form.Values.Set("sites[0].subject_code", d.Code)
	s.sitesPage(w, r, c, d, http.StatusOK)
}

// sitesPage renders the page, with the sites of d.Code when it names a
// subject.
func (s *Site) sitesPage(w http.ResponseWriter, r *http.Request, c *call, d *conSitesPage, status int) {
	if d.Code != "" {
		sub, sites, err := s.d.Trace.Sites(r.Context(), d.Code)
		switch {
		case err == nil:
			d.Subject, d.Sites = sub, sites
		case errs.Is(err, errs.NotFound), errs.Is(err, errs.Invalid):
			d.Message = errs.MessageOf(err)
			if status == http.StatusOK {
				status = httpx.Status(errs.CodeOf(err))
			}
		default:
			s.fail(w, r, err)
			return
		}
	}
	s.render(w, r, status, "console_sites", c.page("追溯地点", "trace", d))
}

// conSiteRegister is POST /console/trace/sites: one site registered or
// renamed; back to the subject's sites, or the form with its errors.
func (s *Site) conSiteRegister(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	if !s.traceReady(w, r) {
		return
	}
	f := newForm(r.PostForm)
	in := trace.SiteInput{GLN: f.Get("sites[0].gln"), Extension: f.Get("sites[0].extension"), Location: f.Get("sites[0].location"),
		SubjectCode: f.Get("sites[0].subject_code"), Name: f.Get("sites[0].name"), Region: f.Get("sites[0].region")}
	res, err := s.d.Trace.RegisterSites(r.Context(), []trace.SiteInput{in})
	if err == nil {
		http.Redirect(w, r, "/console/trace/sites?"+url.Values{"subject": {strings.TrimSpace(in.SubjectCode)}, "done": {res[0].Status}}.Encode(), http.StatusSeeOther)
		return
	}
	code := errs.CodeOf(err)
	if !formError(code) {
		s.fail(w, r, err)
		return
	}
	f.fail(err, siteFields...)
	d := &conSitesPage{Code: strings.TrimSpace(in.SubjectCode), Form: f}
	s.sitesPage(w, r, c, d, httpx.Status(code))
}
