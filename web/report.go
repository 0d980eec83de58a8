package web

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	qrcode "github.com/skip2/go-qrcode"

	"ecredit/disclosure"
	"ecredit/errs"
	"ecredit/httpx"
	"ecredit/registry"
)

// The disclosure pages are registered here, not in render.go's list, so
// that this file carries all of them.
func init() { pageNames = append(pageNames, "report", "verify") }

//go:embed print/report.html
var printReport string

// printTemplate is the print document (print/report.html) with the report
// body and partials it uses, parsed once on first use.
func (s *Site) printTemplate() (*template.Template, error) {
	s.printOnce.Do(func() {
		t := template.New("print").Funcs(s.funcs())
		for _, f := range []string{"templates/partials.html", "templates/report.html"} {
			b, err := embedded.ReadFile(f)
			if err == nil {
				_, err = t.New(f).Parse(string(b))
			}
			if err != nil {
				s.printErr = err
				return
			}
		}
		_, s.printErr = t.New("print/report.html").Parse(printReport)
		s.printT = t
	})
	return s.printT, s.printErr
}

// PDFRenderer turns a self-contained HTML document (inline style, images
// as data: URIs) into a PDF. Package pdf implements it with headless
// Chromium; a renderer that cannot run answers errs.Unavailable.
type PDFRenderer interface {
	PDF(ctx context.Context, html []byte) ([]byte, error)
}

// reportItem is one record of a report for display.
type reportItem struct {
	recordRow
	Group     string
	Entry     disclosure.EntryView
	LeafHash  string
	LeafShort string
	Path      []string
	PathShort []string
	Content   string
}

type reportGroup struct {
	Title string
	Items []reportItem
}

type reportData struct {
	R         *disclosure.Report
	Subject   registry.SubjectView
	Groups    []reportGroup
	Items     []reportItem // all, for the appendix
	Disputed  int
	HashShort string
	RootShort string
	VerifyURL string
	QR        template.URL // PNG data URI
	PDFPath   string
	CSS       template.CSS // the print document inlines its style
}

// qrPNG is a QR code of text, size pixels square, as a PNG, with error
// correction level M (15%: a print that is a little worn still reads).
func qrPNG(text string, size int) ([]byte, error) { return qrcode.Encode(text, qrcode.Medium, size) }

// qrDataURI is a 240-pixel QR code of text as a PNG data URI (the CSP
// allows data: images): report verification links, TOTP enrolment.
func qrDataURI(text string) (template.URL, error) {
	png, err := qrPNG(text, 240)
	if err != nil {
		return "", err
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)), nil
}

// short abbreviates a hex hash for tables: first 8 … last 4.
func short(h string) string {
	if len(h) <= 16 {
		return h
	}
	return h[:8] + "…" + h[len(h)-4:]
}

// baseURL is the portal's address for links printed in reports.
func (s *Site) baseURL(r *http.Request) string {
	if s.d.PublicURL != "" {
		return strings.TrimRight(s.d.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Site) reportData(r *http.Request, rep *disclosure.Report) (*reportData, error) {
	d := &reportData{R: rep, Subject: rep.Profile.Subject, Disputed: rep.Profile.Disputed, HashShort: short(rep.Hash),
		RootShort: short(rep.Root), VerifyURL: s.baseURL(r) + rep.VerifyPath,
		PDFPath: "/subjects/" + strconv.FormatInt(rep.Profile.Subject.ID, 10) + "/report.pdf"}
	qr, err := qrDataURI(d.VerifyURL)
	if err != nil {
		return nil, err
	}
	d.QR = qr
	byID := map[int64]disclosure.ReportItem{}
	for _, it := range rep.Items {
		byID[it.Record.ID] = it
	}
	for _, g := range rep.Profile.Groups {
		rg := reportGroup{Title: g.Title}
		for _, v := range g.Records {
			it, ok := byID[v.ID]
			if !ok {
				continue
			}
			ri := reportItem{recordRow: rowOf(it.Record), Group: g.Title, Entry: it.Entry, LeafHash: it.LeafHash,
				LeafShort: short(it.LeafHash), Path: it.Path, Content: it.Entry.Content}
			for _, h := range it.Path {
				ri.PathShort = append(ri.PathShort, short(h))
			}
			rg.Items = append(rg.Items, ri)
			d.Items = append(d.Items, ri)
		}
		d.Groups = append(d.Groups, rg)
	}
	return d, nil
}

func (s *Site) issueReport(w http.ResponseWriter, r *http.Request, id int64) (*reportData, bool) {
	if s.d.Disclosure == nil {
		s.notFound(w, r)
		return nil, false
	}
	rep, err := s.d.Disclosure.Report(publicCtx(r), id)
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	d, err := s.reportData(r, rep)
	if err != nil {
		s.errorPage(w, r, err, http.StatusInternalServerError, "")
		return nil, false
	}
	return d, true
}

// report is the credit report as an HTML page (print-friendly).
func (s *Site) report(w http.ResponseWriter, r *http.Request, id int64) {
	d, ok := s.issueReport(w, r, id)
	if !ok {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "report", &page{Title: "信用报告 · " + d.Subject.Name, Section: "search", Data: d})
}

// reportPDF is the credit report as a PDF, rendered by Chromium from the
// self-contained print document of the report template.
func (s *Site) reportPDF(w http.ResponseWriter, r *http.Request, id int64) {
	if s.d.PDF == nil {
		s.errorPage(w, r, nil, http.StatusServiceUnavailable, "PDF 生成服务未启用，请使用网页版报告打印 (PDF rendering is not configured)")
		return
	}
	d, ok := s.issueReport(w, r, id)
	if !ok {
		return
	}
	css, err := s.assets.content("report.css")
	if err != nil {
		s.errorPage(w, r, err, http.StatusInternalServerError, "")
		return
	}
	d.CSS = template.CSS(css)
	t, err := s.printTemplate()
	if err != nil {
		s.errorPage(w, r, err, http.StatusInternalServerError, "")
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "printdoc", &page{Title: "信用报告", Data: d}); err != nil {
		s.errorPage(w, r, err, http.StatusInternalServerError, "")
		return
	}
	out, err := s.d.PDF.PDF(r.Context(), buf.Bytes())
	if err != nil {
		if errs.Is(err, errs.Unavailable) {
			s.log.Warn("web: PDF rendering unavailable", "err", err, "request_id", httpx.RequestID(r))
			s.errorPage(w, r, err, http.StatusServiceUnavailable, errs.MessageOf(err))
			return
		}
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Disposition", `inline; filename="credit-report-`+d.R.ID+`.pdf"`)
	writeBytes(w, "application/pdf", "no-store", out)
}

type verifyData struct {
	V      *disclosure.Verdict
	Groups []groupRows
	Class  string
}

// verifyReport is the public check of a report: /verify/{id}?h={hash}.
func (s *Site) verifyReport(w http.ResponseWriter, r *http.Request) {
	httpx.NoteRoute(r)
	if s.d.Disclosure == nil {
		s.notFound(w, r)
		return
	}
	v, err := s.d.Disclosure.Verify(publicCtx(r), r.PathValue("id"), r.URL.Query().Get("h"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := verifyData{V: v, Class: "verdict-bad"}
	switch v.Status {
	case disclosure.VerdictCurrent:
		d.Class = "verdict-ok"
	case disclosure.VerdictUpdated:
		d.Class = "verdict-warn"
	}
	if v.Profile != nil {
		d.Groups = groupsOf(v.Profile)
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "verify", &page{Title: "信用报告验证", Section: "search", Data: d})
}

// content returns the bytes of an embedded static file by its plain name.
func (a *assets) content(name string) ([]byte, error) {
	h, ok := a.byName[name]
	if !ok {
		return nil, errs.E(errs.Internal, "web: no static asset %s", name)
	}
	return a.byHashed[h].body, nil
}
