package web

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

var (
	secretRe    = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)
	challengeRe = regexp.MustCompile(`name="challenge" value="([^"]+)"`)
)

// The second factor in the console: enrolment (QR, secret, confirmation)
// and the code step of sign-in, all as form posts with their CSRF tokens.
func TestTOTPEnrolmentAndSignIn(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		c := e.staff(account.RoleDepartment, "dept.2fa")

		st, body := c.get("/console/totp")
		if st != 200 || !strings.Contains(body, "尚未启用双因素认证") || !strings.Contains(body, `action="/console/totp/begin"`) {
			t.Fatalf("totp page before: %d\n%s", st, body)
		}
		tok := csrfOf(t, body)
		// a form without its token changes nothing
		if st, _, _ := c.post("/console/totp/begin", url.Values{}); st != http.StatusForbidden {
			t.Fatalf("begin without csrf: %d", st)
		}
		if st, _, resp := c.post("/console/totp/begin", url.Values{"csrf": {tok}}); st != http.StatusSeeOther || resp.Header.Get("Location") != "/console/totp" {
			t.Fatalf("begin: %d", st)
		}
		st, body = c.get("/console/totp")
		m := secretRe.FindStringSubmatch(body)
		if st != 200 || m == nil || !strings.Contains(body, `src="data:image/png;base64,`) || !strings.Contains(html.UnescapeString(body), "otpauth://totp/") {
			t.Fatalf("enrolment page: %d\n%s", st, body)
		}
		key, err := account.DecodeTOTPSecret(m[1])
		if err != nil {
			t.Fatal(err)
		}
		// wrong code: the page again with the error, still pending
		st, body, _ = c.post("/console/totp/confirm", url.Values{"csrf": {tok}, "code": {"abcdef"}})
		if st != http.StatusBadRequest || !strings.Contains(body, "6 位数字") || secretRe.FindStringSubmatch(body)[1] != m[1] {
			t.Fatalf("bad code: %d\n%s", st, body)
		}
		if st, _, _ := c.post("/console/totp/confirm", url.Values{"code": {account.TOTPCode(key, e.clk.Now())}}); st != http.StatusForbidden {
			t.Fatalf("confirm without csrf: %d", st)
		}
		st, body, _ = c.post("/console/totp/confirm", url.Values{"csrf": {tok}, "code": {account.TOTPCode(key, e.clk.Now())}})
		if st != 200 || !strings.Contains(body, "已启用双因素认证") || strings.Contains(body, m[1]) {
			t.Fatalf("confirm: %d\n%s", st, body)
		}

		// Signing in now takes two steps.
		e.clk.Advance(30 * time.Second)
		c2 := e.client()
		st, body, loc := c2.login("dept.2fa", "correct-horse-9", "/console/records")
		ch := challengeRe.FindStringSubmatch(body)
		if st != 200 || loc != "" || ch == nil || !strings.Contains(body, `action="/console/login/code"`) {
			t.Fatalf("password step: %d %q\n%s", st, loc, body)
		}
		if st, _ := c2.get("/console/"); st != http.StatusSeeOther {
			t.Fatalf("signed in before the code: %d", st)
		}
		form := url.Values{"csrf": {csrfOf(t, body)}, "challenge": {html.UnescapeString(ch[1])}, "login": {"dept.2fa"}, "next": {"/console/records"}}
		// without the double-submit token: refused before the code is checked
		noCSRF := url.Values{"challenge": form["challenge"], "code": {account.TOTPCode(key, e.clk.Now())}}
		if st, _, _ := c2.post("/console/login/code", noCSRF); st != http.StatusForbidden {
			t.Fatalf("code without csrf: %d", st)
		}
		// a wrong code: the code step again, with the message
		form.Set("code", "000000")
		if account.TOTPCode(key, e.clk.Now()) == "000000" {
			form.Set("code", "111111")
		}
		st, body, _ = c2.post("/console/login/code", form)
		if st != http.StatusUnauthorized || !strings.Contains(body, "动态验证码错误") || challengeRe.FindStringSubmatch(body) == nil {
			t.Fatalf("wrong code: %d\n%s", st, body)
		}
		form.Set("csrf", csrfOf(t, body))
		form.Set("code", account.TOTPCode(key, e.clk.Now()))
		st, _, resp := c2.post("/console/login/code", form)
		if st != http.StatusSeeOther || resp.Header.Get("Location") != "/console/records" {
			t.Fatalf("code step: %d %q", st, resp.Header.Get("Location"))
		}
		if st, _ := c2.get("/console/"); st != 200 {
			t.Fatalf("after the code: %d", st)
		}
		// a tampered challenge sends back to the password step
		c3 := e.client()
		_, body, _ = c3.login("dept.2fa", "correct-horse-9", "")
		f3 := url.Values{"csrf": {csrfOf(t, body)}, "challenge": {"x" + html.UnescapeString(challengeRe.FindStringSubmatch(body)[1])}, "code": {"123456"}}
		st, body, _ = c3.post("/console/login/code", f3)
		if st != http.StatusUnauthorized || !strings.Contains(body, "登录验证已过期") || challengeRe.FindStringSubmatch(body) != nil {
			t.Fatalf("tampered challenge: %d\n%s", st, body)
		}
		// the active factor cannot be replaced by its user
		if st, _, _ := c2.post("/console/totp/begin", url.Values{"csrf": {c2.token()}}); st != http.StatusConflict {
			t.Fatalf("re-enrol while active: %d", st)
		}
	})
}
