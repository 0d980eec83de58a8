package web

import (
	"context"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/registry"
)

type noAudit struct{}

func (noAudit) Append(context.Context, *audit.Entry) error { return nil }
func (noAudit) List(context.Context, audit.Filter) ([]*audit.Entry, error) {
	return nil, nil
}

func minimalDeps() Deps {
	return Deps{Registry: &registry.Service{}, Accounts: &account.Service{}, Audit: noAudit{}}
}

// copyFS returns the embedded files as a MapFS that a test may break.
func copyFS(t *testing.T) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(embedded, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(embedded, p)
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNewParsesEmbeddedTemplates(t *testing.T) {
	s, err := New(minimalDeps())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range pageNames {
		if s.pages[n] == nil {
			t.Errorf("page %s not loaded", n)
		}
	}
	if _, err := New(Deps{}); err == nil {
		t.Error("New without services succeeded")
	}
}

func TestNewFailsOnBadTemplate(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(fstest.MapFS)
		want   string
	}{
		{"missing page", func(m fstest.MapFS) { delete(m, "templates/subject_detail.html") }, "subject_detail.html"},
		{"missing layout", func(m fstest.MapFS) { delete(m, "templates/layout.html") }, "layout.html"},
		{"syntax error", func(m fstest.MapFS) {
			m["templates/audit.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{if .Data}}{{end}`)}
		}, "audit.html"},
		{"unknown function", func(m fstest.MapFS) {
			m["templates/mark.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{nosuchfunc .}}{{end}}`)}
		}, "mark.html"},
		{"no content block", func(m fstest.MapFS) {
			m["templates/codes.html"] = &fstest.MapFile{Data: []byte(`<p>hello</p>`)}
		}, "codes.html"},
		{"unsafe context", func(m fstest.MapFS) {
			// an action inside an unquoted attribute name context is
			// rejected by html/template's escaper at first execution
			m["templates/home.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}<a href="{{.Title}}{{end}}`)}
		}, "home.html"},
		{"missing style sheet", func(m fstest.MapFS) {
			delete(m, "static/site.css")
			m["static/robots.txt"] = &fstest.MapFile{Data: []byte("User-agent: *\n")}
		}, "site.css"},
		{"no static folder", func(m fstest.MapFS) { delete(m, "static/site.css") }, "static"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := copyFS(t)
			tt.break_(m)
			_, err := newSite(minimalDeps(), m)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("newSite = %v, want an error naming %s", err, tt.want)
			}
		})
	}
	// the unbroken copy loads
	if _, err := newSite(minimalDeps(), copyFS(t)); err != nil {
		t.Fatal(err)
	}
}

// The CSP that httpx sets forbids inline style and script: no template may
// carry them.
func TestTemplatesHaveNoInlineStyleOrScript(t *testing.T) {
	bad := []*regexp.Regexp{
		regexp.MustCompile(`(?i)\sstyle\s*=`),
		regexp.MustCompile(`(?i)<style`),
		regexp.MustCompile(`(?i)<script`),
		regexp.MustCompile(`(?i)\son[a-z]+\s*=`),
		regexp.MustCompile(`(?i)javascript:`),
		regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:)?//`),
	}
	files, err := fs.Glob(embedded, "templates/*.html")
	if err != nil || len(files) < len(pageNames)+2 {
		t.Fatalf("templates: %v %d", err, len(files))
	}
	for _, f := range files {
		b, _ := fs.ReadFile(embedded, f)
		for _, re := range bad {
			if loc := re.FindIndex(b); loc != nil {
				t.Errorf("%s: %q at byte %d breaks the CSP or loads from elsewhere", f, b[loc[0]:loc[1]], loc[0])
			}
		}
	}
}

func TestSafeNext(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "/console/"},
		{"/console/subjects?kind=seller", "/console/subjects?kind=seller"},
		{"/console/audit", "/console/audit"},
		{"//evil.example/console/", "/console/"},
		{"/\\evil.example", "/console/"},
		{"https://evil.example/console/", "/console/"},
		{"/console/login?next=/x", "/console/"},
		{"/api/v1/subjects", "/console/"},
		{"console/", "/console/"},
		{"/console/\r\nSet-Cookie: x", "/console/"},
	}
	for _, tt := range tests {
		if got := safeNext(tt.in); got != tt.want {
			t.Errorf("safeNext(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"", "/console/", "//x", "/console/subjects?a=b", "https://x/console/", "/console/%2F%2Fx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := safeNext(s)
		if got != "/console/" && got != s {
			t.Fatalf("safeNext(%q) = %q", s, got)
		}
		if !strings.HasPrefix(got, "/console/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\r\n") {
			t.Fatalf("safeNext(%q) = %q is not a same-site console path", s, got)
		}
	})
}

func TestDates(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{nil, "—"},
		{time.Time{}, "—"},
		{(*time.Time)(nil), "—"},
		{time.Date(2025, 3, 1, 17, 30, 0, 0, time.UTC), "2025-03-02 01:30"},
	}
	for _, tt := range tests {
		if got := fmtDate(tt.in); got != tt.want {
			t.Errorf("fmtDate(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
