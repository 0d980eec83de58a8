package proof

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"ecredit/httpx"
	"ecredit/registry"
)

// allowedRole is the first role whose class in want is ok (admin when
// none is).
func allowedRole(want string) role {
	for i, c := range strings.Fields(want) {
		if c == ok && roles[i] != rPublic {
			return roles[i]
		}
	}
	if strings.HasPrefix(want, ok) {
		return rPublic
	}
	return rAdmin
}

// checkSecurityHeaders names each security header r lacks.
func checkSecurityHeaders(r resp) []string {
	var bad []string
	want := map[string]string{
		"Content-Security-Policy": httpx.ContentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "same-origin",
	}
	for h, v := range want {
		if got := r.header.Get(h); got != v {
			bad = append(bad, fmt.Sprintf("%s: %q, want %q", h, got, v))
		}
	}
	csp := r.header.Get("Content-Security-Policy")
	for _, d := range []string{"frame-ancestors 'none'", "script-src 'self'", "default-src 'self'"} {
		if !strings.Contains(csp, d) {
			bad = append(bad, "CSP lacks "+d)
		}
	}
	return bad
}

// TestSecurityHeaders: every route of the site (as the public and as a
// role allowed to use it), its error pages and the API answer with the
// security headers; HTML pages carry a CSP without inline script.
func TestSecurityHeaders(t *testing.T) {
	e := setup(t)
	html := 0
	check := func(what string, r resp) {
		if strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			html++
			if strings.Contains(string(r.body), "<script>") || strings.Contains(string(r.body), " onclick=") || strings.Contains(string(r.body), " style=\"") {
				t.Errorf("%s: inline script or style in the page", what)
			}
		}
		for _, b := range checkSecurityHeaders(r) {
			t.Errorf("%s → %d: %s", what, r.status, b)
		}
	}
	for _, c := range webCases {
		for _, who := range []role{rPublic, allowedRole(c.want)} {
			rq := c.req(e, who)
			r := e.do(t, who, rq)
			check(fmt.Sprintf("%s %s as %s", rq.method, rq.path, who), r)
		}
	}
	for _, p := range []string{"/no-such-page", "/console/no-such-page", "/subjects/abc", "/static/none.css"} {
		check("GET "+p, e.do(t, rAdmin, get(p)))
	}
	for _, c := range apiCases {
		rq := c.req(e, allowedRole(c.want))
		check(fmt.Sprintf("%s %s", rq.method, rq.path), e.do(t, allowedRole(c.want), rq))
	}
	if html < len(webCases) {
		t.Errorf("only %d HTML answers for %d web rows", html, len(webCases))
	}
	t.Logf("security headers: %d web rows, %d API rows, %d HTML answers checked", len(webCases), len(apiCases), html)
}

// TestConsoleCSRF: every console form refuses a request without the
// session's CSRF token, with a forged one, with another session's, or
// from another site, and the refused form has no effect.
func TestConsoleCSRF(t *testing.T) {
	e := setup(t)
	_, site := routesOf(t, e)
	forms := 0
	for _, p := range site {
		if !strings.HasPrefix(p, "POST /console/") {
			continue
		}
		forms++
		var c *accessCase
		for i := range webCases {
			if webCases[i].pattern == p {
				c = &webCases[i]
				break
			}
		}
		if c == nil {
			t.Errorf("console form %s has no row in webCases", p)
			continue
		}
		who := allowedRole(c.want)
		if p == "POST /console/login" {
			base := c.req(e, who)
			for name, mod := range map[string]func(rq *req){
				"no cookie":       func(rq *req) { rq.header = nil },
				"cookie mismatch": func(rq *req) { rq.form.Set("csrf", "another-token") },
				"no token":        func(rq *req) { rq.form.Del("csrf") },
			} {
				rq := base
				rq.form = url.Values{}
				for k, v := range base.form {
					rq.form[k] = v
				}
				mod(&rq)
				if r := e.do(t, rPublic, rq); r.status != http.StatusForbidden || r.header.Get("Set-Cookie") != "" && strings.Contains(r.header.Get("Set-Cookie"), "ecredit_session=") {
					t.Errorf("%s (%s): %s", p, name, r)
				}
			}
			continue
		}
		other := e.sessions[rDept].csrf
		if who == rDept {
			other = e.sessions[rAdmin].csrf
		}
		for name, mod := range map[string]func(rq *req){
			"no token":              func(rq *req) { rq.noCSRF = true; rq.form.Del("csrf") },
			"forged token":          func(rq *req) { rq.form.Set("csrf", "forged") },
			"another session token": func(rq *req) { rq.form.Set("csrf", other) },
			"cross-site":            func(rq *req) { rq.header = http.Header{"Sec-Fetch-Site": {"cross-site"}} },
			"foreign origin":        func(rq *req) { rq.header = http.Header{"Origin": {"https://evil.example"}} },
		} {
			rq := c.req(e, who)
			if rq.form == nil {
				rq.form = url.Values{}
			}
			mod(&rq)
			r := e.do(t, who, rq)
			if r.status != http.StatusForbidden {
				t.Errorf("%s (%s) as %s: %s, want 403", p, name, who, r)
			}
		}
	}
	if forms < 10 {
		t.Errorf("only %d console forms found", forms)
	}
	// No effect: a refused registration registers nothing.
	name := fmt.Sprintf("跨站登记商户%d", e.next())
	rq := formReq("/console/subjects/new", "kind", "merchant", "name", name, "credit_code", e.uscc(), "csrf", "forged")
	e.do(t, rDept, rq)
	if list := must(e.app.Registry.ListSubjects(system, registry.Filter{Name: name, Limit: 5})); len(list) != 0 {
		t.Errorf("a refused form registered %d subjects", len(list))
	}
	t.Logf("CSRF: %d console forms × 5 forgeries (the sign-in form × 3) refused", forms)
}

// TestRateLimits: the public search and profiles of the API and the
// portal answer 429 with Retry-After once a client's burst is spent, the
// API and the portal share one budget, and other clients are unaffected.
func TestRateLimits(t *testing.T) {
	e := setup(t)
	targets := []string{
		"/api/v1/public/subjects?q=" + url.QueryEscape("商贸"),
		"/api/v1/public/subjects/" + e.merchantB.CreditCode,
		"/search?q=" + url.QueryEscape("商贸"),
		"/subjects/" + id(e.merchantB.ID),
		"/subjects/" + id(e.merchantB.ID) + "/report",
		"/subjects/code/" + e.merchantB.CreditCode,
	}
	for i, p := range targets {
		addr := fmt.Sprintf("203.0.113.%d", 10+i)
		as := func(p, addr string) resp {
			return e.do(t, rPublic, req{method: "GET", path: p, header: http.Header{"X-Forwarded-For": {addr}}})
		}
		// Requests go in concurrent rounds of twice the burst: the
		// limiter is checked before any work, so the refill (5 a second)
		// cannot keep up however slow the pages are.
		allowed, limited := 0, resp{}
		for round := 0; round < 5 && limited.status == 0; round++ {
			res := make([]resp, 60)
			var wg sync.WaitGroup
			for k := range res {
				wg.Add(1)
				go func() { defer wg.Done(); res[k] = as(p, addr) }()
			}
			wg.Wait()
			for _, r := range res {
				switch r.status {
				case http.StatusTooManyRequests:
					limited = r
				case http.StatusOK:
					allowed++
				default:
					t.Fatalf("%s: %s", p, r)
				}
			}
		}
		if limited.status != http.StatusTooManyRequests {
			t.Errorf("%s: no 429 after %d requests in rounds of 60", p, allowed)
			continue
		}
		if allowed < 30 || limited.header.Get("Retry-After") == "" {
			t.Errorf("%s: 429 after %d requests (burst 30), Retry-After %q", p, allowed, limited.header.Get("Retry-After"))
		}
		for _, b := range checkSecurityHeaders(limited) {
			t.Errorf("%s 429: %s", p, b)
		}
		// One budget for the API and the portal.
		other := targets[(i+2)%len(targets)]
		refused := 0
		var wg sync.WaitGroup
		var mu sync.Mutex
		for k := 0; k < 20; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := as(other, addr); r.status == http.StatusTooManyRequests {
					mu.Lock()
					refused++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if refused == 0 {
			t.Errorf("after %s was limited, 20 requests to %s from the same client all passed", p, other)
		}
		if r := as(p, "203.0.113.200"); r.status != 200 {
			t.Errorf("%s from another client: %s", p, r)
		}
		t.Logf("%s: 429 after %d requests", p, allowed)
	}
}
