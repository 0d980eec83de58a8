package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	"ecredit/account"
	"ecredit/clock"
	"ecredit/code"
	"ecredit/errs"
	"ecredit/httpx"
	"ecredit/logistics"
	"ecredit/registry"
	"ecredit/trace"
	"ecredit/trade"
)

// pageNames lists every page template (templates/<name>.html). Each defines
// "content" and is executed inside "layout" from templates/layout.html,
// together with the partials in templates/partials.html.
var pageNames = []string{
	"home", "search", "profile", "mark", "codes", "error",
	"login", "dashboard", "subjects", "subject_new", "subject_detail", "subject_edit",
	"shops", "shop_new", "accounts", "audit",
	"records", "records_import", "records_detail",
	"logistics",                         // logistics credit (M4)
	"trace", "trace_product", "recalls", // traceability (M10)
	"shop",                                                              // trade (M5)
	"console_trace", "console_order", "console_orders", "console_folds", // orders, folds and traceability in the console (M5, M10)
	"console_sites",                               // trace sites in the console (M10)
	"console_logistics", "console_logistics_firm", // logistics grades in the console (M4)
}

type pageTemplate struct{ t *template.Template }

func loadTemplates(fsys fs.FS, funcs template.FuncMap) (map[string]*pageTemplate, error) {
	base := template.New("ecredit").Funcs(funcs)
	for _, f := range []string{"layout.html", "partials.html"} {
		b, err := fs.ReadFile(fsys, "templates/"+f)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", f, err)
		}
		if _, err := base.New(f).Parse(string(b)); err != nil {
			return nil, fmt.Errorf("web: template %s: %w", f, err)
		}
	}
	if base.Lookup("layout") == nil {
		return nil, fmt.Errorf("web: template layout.html: does not define \"layout\"")
	}
	pages := make(map[string]*pageTemplate, len(pageNames))
	for _, name := range pageNames {
		f := name + ".html"
		b, err := fs.ReadFile(fsys, "templates/"+f)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", f, err)
		}
		t, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", f, err)
		}
		if _, err := t.New(f).Parse(string(b)); err != nil {
			return nil, fmt.Errorf("web: template %s: %w", f, err)
		}
		if t.Lookup("content") == nil {
			return nil, fmt.Errorf("web: template %s: does not define \"content\"", f)
		}
		// Execute against an empty page once so that escaping errors
		// (which html/template reports only on first execution) stop
		// start-up rather than a request.
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, "layout", &page{Data: nil}); err != nil {
			var escErr *template.Error
			if errors.As(err, &escErr) {
				return nil, fmt.Errorf("web: template %s: %w", f, err)
			}
		}
		pages[name] = &pageTemplate{t: t}
	}
	return pages, nil
}

// page is what every template gets.
type page struct {
	Title     string
	Section   string         // highlighted nav entry
	Actor     *account.Actor // signed-in staff, nil on public pages
	CSRF      string         // the session's form token
	RequestID string
	Notice    string // a one-line message shown on top
	Data      any
}

// Can reports whether the signed-in actor holds scope s (for nav and forms).
func (p *page) Can(s string) bool { return p.Actor != nil && p.Actor.Can(account.Scope(s)) }

func (s *Site) funcs() template.FuncMap {
	return template.FuncMap{
		"asset":     s.assets.url,
		"date":      fmtDate,
		"day":       fmtDay,
		"formLabel": registry.FormLabel,
		"traceQR": func(b trace.BatchView, link string, print bool) traceQRData {
			return traceQRData{Batch: b, Link: link, Print: print}
		},
		"regionName": func(c string) string {
			n, _ := code.RegionName(c)
			return n
		},
		// gradeClass is the badge class of a logistics grade (M4).
		"gradeClass": func(g logistics.Grade) string {
			switch g {
			case logistics.GradeA:
				return "badge-verified"
			case logistics.GradeB:
				return "badge-status-active"
			case logistics.GradeC:
				return "badge-expired"
			case logistics.GradeD:
				return "badge-failed"
			}
			return "badge-unverified"
		},
		// orderStatus is an order status's Chinese name (trade, M5).
		"orderStatus":  func(s string) string { return trade.Status(s).Label() },
		"refTypeLabel": func(s string) string { return trace.RefTypes[s] },
		"lifeSource": func(s string) string {
			return map[string]string{"platform": "电商平台", "logistics": "物流企业", "review": "评价", "trace": "追溯事件"}[s]
		},
		// fen shows an amount in fen (分) as yuan with two decimals.
		"fen": trade.Yuan,
		// lineage is the argument of the lineage partial.
		"lineage": func(nodes []trace.LineageNode, up, console bool) lineageTable {
			t := lineageTable{Nodes: nodes, Up: up, Console: console, Trace: "/trace/", Subjects: "/subjects/"}
			if console {
				t.Trace, t.Subjects = "/console/trace/", "/console/subjects/"
			}
			return t
		},
		// pct shows a 0–1 rate as a percentage with two decimals (M4, M5).
		"pct": func(v float64) string { return strconv.FormatFloat(v*100, 'f', 2, 64) + "%" },
	}
}

// fmtDate shows a time as 2006-01-02 15:04 in Shanghai; zero or nil is "—".
func fmtDate(v any) string { return fmtTime(v, "2006-01-02 15:04") }

// fmtDay shows a date as 2006-01-02 in Shanghai.
func fmtDay(v any) string { return fmtTime(v, "2006-01-02") }

func fmtTime(v any, layout string) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x != nil {
			t = *x
		}
	}
	if t.IsZero() {
		return "—"
	}
	return t.In(clock.Shanghai).Format(layout)
}

// render executes a page into a buffer and writes it with status.
func (s *Site) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	pt, ok := s.pages[name]
	if !ok {
		s.log.Error("web: unknown page template", "page", name, "request_id", httpx.RequestID(r))
		http.Error(w, "内部错误 (internal error)", http.StatusInternalServerError)
		return
	}
	if p.RequestID == "" {
		p.RequestID = httpx.RequestID(r)
	}
	var buf bytes.Buffer
	if err := pt.t.ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.Error("web: render", "page", name, "err", err, "request_id", p.RequestID)
		if name != "error" {
			s.errorPage(w, r, err, http.StatusInternalServerError, "")
			return
		}
		http.Error(w, "内部错误 (internal error)", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type errorData struct {
	Status  int
	Heading string
	Message string
}

// errorPage shows a Chinese error page. Internal errors are logged with the
// request id, which the page shows as 请求编号.
func (s *Site) errorPage(w http.ResponseWriter, r *http.Request, err error, status int, msg string) {
	d := errorData{Status: status, Message: msg}
	switch status {
	case http.StatusNotFound:
		d.Heading = "页面不存在"
		if d.Message == "" {
			d.Message = "您访问的页面不存在或已被移除。"
		}
	case http.StatusForbidden:
		d.Heading = "无权访问"
		if d.Message == "" {
			d.Message = "当前账户无权执行此操作。"
		}
	case http.StatusUnauthorized:
		d.Heading = "需要登录"
	case http.StatusBadRequest:
		d.Heading = "请求有误"
	case http.StatusConflict:
		d.Heading = "数据冲突"
	case http.StatusTooManyRequests:
		d.Heading = "请求过于频繁"
	case http.StatusServiceUnavailable:
		d.Heading = "服务暂不可用"
	default:
		d.Heading = "服务器内部错误"
		if d.Message == "" || status >= 500 {
			d.Message = "处理请求时发生内部错误，请稍后重试。如需帮助，请向管理员提供下方的请求编号。"
		}
	}
	if status >= 500 {
		s.log.Error("web: internal error", "err", err, "path", r.URL.Path, "request_id", httpx.RequestID(r))
	}
	p := &page{Title: d.Heading, Data: d}
	if c := callOf(r); c != nil {
		p = c.page(d.Heading, "", d)
	}
	s.render(w, r, status, "error", p)
}

// fail shows the error page for a service error.
func (s *Site) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := httpx.Status(errs.CodeOf(err))
	if status == http.StatusUnauthorized {
		status = http.StatusForbidden
	}
	msg := ""
	if status < 500 {
		msg = errs.MessageOf(err)
	}
	s.errorPage(w, r, err, status, msg)
}

// ready answers 503 with msg unless the service a page needs is present.
func (s *Site) ready(w http.ResponseWriter, r *http.Request, present bool, msg string) bool {
	if !present {
		s.errorPage(w, r, nil, http.StatusServiceUnavailable, msg)
	}
	return present
}

func (s *Site) notFound(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, nil, http.StatusNotFound, "")
}

// lineageTable is one direction of a batch's lineage, as the lineage
// partial shows it.
type lineageTable struct {
	Nodes           []trace.LineageNode
	Up, Console     bool
	Trace, Subjects string // the path prefixes of the links
}
