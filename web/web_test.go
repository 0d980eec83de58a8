package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/clock"
	"ecredit/code"
	"ecredit/httpx"
	"ecredit/pii"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	t    *testing.T
	db   *sqlstore.DB
	clk  *clock.Fake
	reg  *registry.Service
	acc  *account.Service
	srv  *httptest.Server
	logs *syncBuffer

	platform, merchant, seller *registry.Subject
	sellerID, sellerPhone      string
	sellerName                 string
}

var sys = account.With(context.Background(), account.System)

func mustUSCC(t *testing.T, region, body string) string {
	t.Helper()
	c, err := code.MakeUSCC('9', '1', region, body)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newEnv(t *testing.T, db *sqlstore.DB) *env {
	t.Helper()
	clk := clock.NewFake(time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC))
	db.SetClock(clk)
	keys, err := pii.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, clk: clk, logs: &syncBuffer{}}
	e.reg = &registry.Service{Store: db, Audit: db, Keys: keys, Clock: clk}
	e.acc = &account.Service{Store: db, Audit: db, Clock: clk, Keys: keys}
	logger := slog.New(slog.NewTextHandler(e.logs, nil))
	site, err := New(Deps{Registry: e.reg, Accounts: e.acc, Audit: db, Clock: clk, Logger: logger,
		Ping: db.Ping, Engine: db.Engine()})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(httpx.Wrap(site, httpx.Options{Logger: logger}))
	t.Cleanup(e.srv.Close)

	if e.platform, err = e.reg.CreateSubject(sys, registry.SubjectInput{Kind: registry.KindPlatform, Name: "承德优品商城",
		CreditCode: mustUSCC(t, "130802", "MA0PLAT1")}); err != nil {
		t.Fatal(err)
	}
	if e.merchant, err = e.reg.CreateSubject(sys, registry.SubjectInput{Kind: registry.KindMerchant, Name: "承德山庄特产有限公司",
		CreditCode: mustUSCC(t, "130821", "MA0MERC1"), LegalRep: "李四", Phone: "0314-2345678", Address: "承德市双桥区南营子大街1号"}); err != nil {
		t.Fatal(err)
	}
	e.sellerID, err = code.MakeID("130802", time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC), 123)
	if err != nil {
		t.Fatal(err)
	}
	e.sellerPhone, e.sellerName = "13912345678", "张三丰"
	if e.seller, err = e.reg.CreateSubject(sys, registry.SubjectInput{Kind: registry.KindSeller, Name: e.sellerName,
		IDNumber: e.sellerID, Phone: e.sellerPhone}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.reg.Verify(sys, e.seller.ID, registry.VerificationInput{Method: "id_check", Passed: true, ValidDays: 20}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.CreateShop(sys, registry.ShopInput{PlatformID: e.platform.ID, OwnerID: e.seller.ID, Name: "丰哥山货小铺",
		URL: "https://fengge.example.cn/shop", Category: "agricultural"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// staff creates a console account and returns a signed-in client.
func (e *env) staff(role account.Role, login string) *client {
	e.t.Helper()
	in := account.AccountInput{Name: "测试" + login, Role: role, Login: login, Password: "correct-horse-9", NoKey: true}
	if role == account.RoleDepartment {
		in.Department = "市场监管"
	}
	if role == account.RolePlatform {
		in.SubjectID, in.NoKey = e.platform.ID, false
	}
	if _, _, err := e.acc.CreateAccount(sys, in); err != nil {
		e.t.Fatal(err)
	}
	c := e.client()
	if st, _, loc := c.login(login, "correct-horse-9", ""); st != http.StatusSeeOther || loc != "/console/" {
		e.t.Fatalf("login %s: status %d location %q", login, st, loc)
	}
	return c
}

type client struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, base: e.srv.URL, hc: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) do(req *http.Request) (int, string, *http.Response) {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp
}

func (c *client) get(path string) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	st, body, _ := c.do(req)
	return st, body
}

// post submits a form; hdr adds request headers (Origin, Sec-Fetch-Site).
func (c *client) post(path string, form url.Values, hdr ...string) (int, string, *http.Response) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return c.do(req)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf field in page:\n%s", body)
	}
	return m[1]
}

// token fetches a console page and returns the session's CSRF token.
func (c *client) token() string {
	c.t.Helper()
	st, body := c.get("/console/")
	if st != http.StatusOK {
		c.t.Fatalf("GET /console/: %d", st)
	}
	return csrfOf(c.t, body)
}

func (c *client) login(login, password, next string) (int, string, string) {
	c.t.Helper()
	st, body := c.get("/console/login")
	if st != http.StatusOK {
		c.t.Fatalf("GET login: %d", st)
	}
	f := url.Values{"csrf": {csrfOf(c.t, body)}, "login": {login}, "password": {password}, "next": {next}}
	st, body, resp := c.post("/console/login", f)
	return st, body, resp.Header.Get("Location")
}

func TestPagesRender(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		admin := e.staff(account.RoleAdmin, "admin.one")
		dept := e.staff(account.RoleDepartment, "dept.one")
		plat := e.staff(account.RolePlatform, "plat.one")
		anon := e.client()
		sid := func(s *registry.Subject) string { return itoa(s.ID) }

		type check struct {
			c      *client
			path   string
			status int
			want   string
		}
		checks := []check{
			{anon, "/", 200, "承德市电子商务信用信息平台"},
			{anon, "/search?q=" + url.QueryEscape("山庄特产"), 200, "承德山庄特产有限公司"},
			{anon, "/search?q=" + e.merchant.CreditCode, 200, "承德山庄特产有限公司"},
			{anon, "/search?q=" + url.QueryEscape("不存在的公司"), 200, "没有找到"},
			{anon, "/search", 200, "请输入"},
			{anon, "/subjects/" + sid(e.seller), 200, "丰哥山货小铺"},
			{anon, "/subjects/" + sid(e.platform), 200, "平台内登记的店铺"},
			{anon, "/subjects/999999", 404, "页面不存在"},
			{anon, "/marks", 200, "ECM-XXXX"},
			{anon, "/marks?m=" + e.merchant.Mark, 200, "真实有效"},
			{anon, "/marks/" + strings.ToLower(e.seller.Mark), 200, "真实有效"},
			{anon, "/marks/ECM-0000-0000-0000", 404, "未找到，可能是伪造"},
			{anon, "/marks?m=hello", 400, "格式"},
			{anon, "/codes", 200, "代码核验"},
			{anon, "/codes?c=" + e.merchant.CreditCode, 200, "校验通过"},
			{anon, "/codes?c=" + badCheck(e.merchant.CreditCode), 200, "校验未通过"},
			{anon, "/codes?c=6901234567892", 200, "GTIN-13"},
			{anon, "/nowhere", 404, "请求编号"},
			{anon, "/console/nowhere", 303, ""},

			{admin, "/console/", 200, "待复核主体"},
			{admin, "/console/subjects", 200, "承德山庄特产有限公司"},
			{admin, "/console/subjects?kind=seller&region=130802", 200, "张*"},
			{admin, "/console/subjects?verify=verified", 200, "张*"},
			{admin, "/console/subjects?verify=expired", 200, "没有符合条件的主体"},
			{admin, "/console/subjects?kind=bogus", 400, "未知的主体类型"},
			{admin, "/console/subjects?code=" + e.merchant.CreditCode, 303, ""},
			{admin, "/console/subjects/new", 200, "请先选择"},
			{admin, "/console/subjects/new?kind=merchant", 200, "统一社会信用代码"},
			{admin, "/console/subjects/new?kind=courier", 200, "公民身份号码"},
			{admin, "/console/subjects/" + sid(e.seller), 200, "核验历史"},
			{admin, "/console/subjects/" + sid(e.platform), 200, "平台内店铺"},
			{admin, "/console/subjects/" + sid(e.merchant) + "/edit", 200, "承德市双桥区南营子大街1号"},
			{admin, "/console/subjects/999999", 404, "页面不存在"},
			{admin, "/console/shops", 200, "丰哥山货小铺"},
			{admin, "/console/shops?platform=" + sid(e.platform), 200, "丰哥山货小铺"},
			{admin, "/console/shops/new", 200, "店铺网址"},
			{admin, "/console/accounts", 200, "dept.one"},
			{admin, "/console/audit", 200, "login"},
			{admin, "/console/audit?action=verify", 200, "id_check passed"},
			{admin, "/console/audit?actor=abc", 400, "正整数"},
			{admin, "/console/nowhere", 404, "页面不存在"},

			{dept, "/console/", 200, "市场监管"},
			{dept, "/console/subjects", 200, "承德优品商城"},
			{dept, "/console/subjects/" + sid(e.merchant), 200, "登记核验"},
			{dept, "/console/shops", 200, "丰哥山货小铺"},
			{dept, "/console/audit", 200, "审计日志"},
			{dept, "/console/accounts", 403, "无权"},
			{dept, "/console/shops/new", 403, "无此权限"},

			{plat, "/console/", 403, "仅供政府部门和市信用办"},
			{plat, "/console/subjects", 403, "仅供政府部门和市信用办"},
		}
		for _, ck := range checks {
			st, body := ck.c.get(ck.path)
			if st != ck.status {
				t.Errorf("GET %s: status %d, want %d\n%s", ck.path, st, ck.status, body)
				continue
			}
			if !strings.Contains(body, ck.want) {
				t.Errorf("GET %s: body lacks %q\n%s", ck.path, ck.want, body)
			}
		}
		// a signed-in account of another role may still sign out
		_, body := plat.get("/console/")
		if st, _, _ := plat.post("/console/logout", url.Values{"csrf": {csrfOf(t, body)}}); st != http.StatusSeeOther {
			t.Errorf("logout from the 403 page: %d", st)
		}
		// a sign-in redirect keeps the page asked for
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/console/subjects?kind=seller", nil)
		_, _, resp := anon.do(req)
		if loc := resp.Header.Get("Location"); loc != "/console/login?next="+url.QueryEscape("/console/subjects?kind=seller") {
			t.Errorf("redirect to %q", loc)
		}
		// every page links the hashed style sheet, served for a year
		_, home := anon.get("/")
		m := regexp.MustCompile(`href="(/static/site\.[0-9a-f]{8}\.css)"`).FindStringSubmatch(home)
		if m == nil {
			t.Fatal("home page does not link the hashed style sheet")
		}
		req, _ = http.NewRequest(http.MethodGet, e.srv.URL+m[1], nil)
		st, css, resp := anon.do(req)
		if st != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || !strings.Contains(resp.Header.Get("Content-Type"), "text/css") || !strings.Contains(css, "--red") {
			t.Errorf("style sheet: %d %q %q", st, resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Type"))
		}
		if st, _ := anon.get("/static/nope.css"); st != 404 {
			t.Errorf("unknown asset: %d", st)
		}
		// console pages are never cached
		req, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/console/", nil)
		if _, _, resp := admin.do(req); resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("console Cache-Control %q", resp.Header.Get("Cache-Control"))
		}
	})
}

// badCheck returns a credit code with its check character changed.
func badCheck(c string) string {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	return c[:17] + string(alphabet[(strings.IndexByte(alphabet, c[17])+1)%len(alphabet)])
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestLogin(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		if _, _, err := e.acc.CreateAccount(sys, account.AccountInput{Name: "管理员", Role: account.RoleAdmin, Login: "root.admin",
			Password: "correct-horse-9", NoKey: true}); err != nil {
			t.Fatal(err)
		}
		c := e.client()

		// wrong password: the form again, with the message and the login kept
		st, body, _ := c.login("root.admin", "wrong-password-1", "")
		if st != http.StatusUnauthorized || !strings.Contains(body, "登录名或密码错误") || !strings.Contains(body, `value="root.admin"`) {
			t.Fatalf("wrong password: %d\n%s", st, body)
		}
		// unknown login: same message
		if st, body, _ := c.login("nobody.here", "wrong-password-1", ""); st != http.StatusUnauthorized || !strings.Contains(body, "登录名或密码错误") {
			t.Fatalf("unknown login: %d", st)
		}
		// no double-submit token: refused before the password is checked
		if st, _, _ := c.post("/console/login", url.Values{"login": {"root.admin"}, "password": {"correct-horse-9"}}); st != http.StatusForbidden {
			t.Fatalf("login without csrf: %d", st)
		}
		// success, with a safe next; an off-site next is ignored
		st, _, loc := c.login("root.admin", "correct-horse-9", "/console/audit?action=login")
		if st != http.StatusSeeOther || loc != "/console/audit?action=login" {
			t.Fatalf("login: %d %q", st, loc)
		}
		if st, _ := c.get("/console/audit?action=login"); st != 200 {
			t.Fatalf("signed-in page: %d", st)
		}
		c2 := e.client()
		if _, _, loc := c2.login("root.admin", "correct-horse-9", "//evil.example/x"); loc != "/console/" {
			t.Fatalf("off-site next followed: %q", loc)
		}
		// session cookie flags
		c3 := e.client()
		_, lb := c3.get("/console/login")
		_, _, resp := c3.post("/console/login", url.Values{"csrf": {csrfOf(t, lb)}, "login": {"root.admin"}, "password": {"correct-horse-9"}})
		var sess *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == sessionCookie {
				sess = ck
			}
		}
		if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" || sess.Secure {
			t.Fatalf("session cookie %+v", sess)
		}

		// logout ends the session
		tok := c.token()
		if st, _, resp := c.post("/console/logout", url.Values{"csrf": {tok}}); st != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login" {
			t.Fatalf("logout: %d", st)
		}
		if st, _ := c.get("/console/"); st != http.StatusSeeOther {
			t.Fatalf("after logout: %d", st)
		}

		// five failures lock the account; the right password is refused too
		for i := 0; i < 5; i++ {
			c.login("root.admin", "wrong-password-1", "")
		}
		st, body, _ = c.login("root.admin", "correct-horse-9", "")
		if st != http.StatusUnauthorized || !strings.Contains(body, "已锁定") {
			t.Fatalf("locked account: %d\n%s", st, body)
		}
		e.clk.Advance(16 * time.Minute)
		if st, _, _ := c.login("root.admin", "correct-horse-9", ""); st != http.StatusSeeOther {
			t.Fatalf("after lock expiry: %d", st)
		}
	})
}

func TestCSRF(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		admin := e.staff(account.RoleAdmin, "admin.csrf")
		tok := admin.token()
		good := url.Values{"kind": {"merchant"}, "name": {"跨站测试有限公司"}, "credit_code": {mustUSCC(t, "130803", "MA0CXRF1")}}
		before, _ := db.CountSubjects(context.Background())
		with := func(v url.Values, csrf string) url.Values {
			out := url.Values{}
			for k, x := range v {
				out[k] = x
			}
			if csrf != "" {
				out.Set("csrf", csrf)
			}
			return out
		}
		cases := []struct {
			name string
			form url.Values
			hdr  []string
		}{
			{"missing token", with(good, ""), nil},
			{"wrong token", with(good, tok+"x"), nil},
			{"other token", with(good, strings.Repeat("A", len(tok))), nil},
			{"cross-origin Origin", with(good, tok), []string{"Origin", "http://evil.example"}},
			{"cross-site fetch", with(good, tok), []string{"Sec-Fetch-Site", "cross-site"}},
		}
		for _, tc := range cases {
			st, body, _ := admin.post("/console/subjects/new", tc.form, tc.hdr...)
			if st != http.StatusForbidden {
				t.Errorf("%s: status %d, want 403\n%s", tc.name, st, body)
			}
		}
		if after, _ := db.CountSubjects(context.Background()); after != before {
			t.Fatalf("a refused form wrote: %d → %d subjects", before, after)
		}
		// the same form with the right token from the same origin works
		st, _, _ := admin.post("/console/subjects/new", with(good, tok), "Origin", e.srv.URL, "Sec-Fetch-Site", "same-origin")
		if st != http.StatusSeeOther {
			t.Fatalf("good form: %d", st)
		}
		// a signed-out POST is refused, not redirected
		if st, _, _ := e.client().post("/console/subjects/new", with(good, tok)); st != http.StatusForbidden {
			t.Fatalf("signed-out post: %d", st)
		}
	})
}

func TestCreateSubjectForm(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		admin := e.staff(account.RoleAdmin, "admin.form")
		tok := admin.token()

		good := mustUSCC(t, "130802", "MA0FXRM1")
		st, _, resp := admin.post("/console/subjects/new", url.Values{"csrf": {tok}, "kind": {"merchant"}, "form": {"enterprise"},
			"name": {"双桥区表单测试商贸有限公司"}, "credit_code": {strings.ToLower(good)}, "legal_rep": {"王五"}, "region_code": {""},
			"status": {"active"}})
		loc := resp.Header.Get("Location")
		if st != http.StatusSeeOther || !regexp.MustCompile(`^/console/subjects/\d+\?done=created$`).MatchString(loc) {
			t.Fatalf("create: %d %q", st, loc)
		}
		st, body := admin.get(loc)
		if st != 200 || !strings.Contains(body, "双桥区表单测试商贸有限公司") || !strings.Contains(body, good) || !strings.Contains(body, "主体已登记") ||
			!strings.Contains(body, "河北省承德市双桥区") {
			t.Fatalf("detail after create: %d\n%s", st, body)
		}

		// a bad check character: the form again, the error next to the
		// field and every value kept
		bad := badCheck(good)
		st, body, _ = admin.post("/console/subjects/new", url.Values{"csrf": {tok}, "kind": {"merchant"}, "name": {"保留值测试有限公司"},
			"credit_code": {bad}, "legal_rep": {"赵六"}, "phone": {"12"}, "status": {"active"}})
		if st != http.StatusBadRequest {
			t.Fatalf("bad code: %d", st)
		}
		for _, want := range []string{`value="保留值测试有限公司"`, `value="` + bad + `"`, `value="赵六"`, "统一社会信用代码无效", "电话号码长度不对", "field-error"} {
			if !strings.Contains(body, want) {
				t.Errorf("bad form lacks %q", want)
			}
		}
		// the credit-code error sits inside the credit_code field
		i := strings.Index(body, `id="credit_code"`)
		j := strings.Index(body, "统一社会信用代码无效")
		k := strings.Index(body[i:], "</div>")
		if i < 0 || j < i || j > i+k {
			t.Errorf("credit code error is not next to its field")
		}
		// a duplicate code is a conflict shown on the field
		st, body, _ = admin.post("/console/subjects/new", url.Values{"csrf": {tok}, "kind": {"merchant"}, "name": {"重复"},
			"credit_code": {good}, "status": {"active"}})
		if st != http.StatusConflict || !strings.Contains(body, "已登记") {
			t.Fatalf("duplicate: %d", st)
		}
		// a person: the ID number is required
		st, body, _ = admin.post("/console/subjects/new", url.Values{"csrf": {tok}, "kind": {"courier"}, "name": {"刘七"}, "status": {"active"}})
		if st != http.StatusBadRequest || !strings.Contains(body, "公民身份号码") || !strings.Contains(body, `value="刘七"`) {
			t.Fatalf("person without id: %d", st)
		}
	})
}

func TestRevealPersonal(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		dept := e.staff(account.RoleDepartment, "dept.reveal")
		tok := dept.token()
		path := "/console/subjects/" + itoa(e.seller.ID)
		reads := func() int {
			l, err := db.List(context.Background(), audit.Filter{Action: audit.ActReadPersonal, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			return len(l)
		}

		st, body := dept.get(path)
		if st != 200 || strings.Contains(body, e.sellerID) || strings.Contains(body, e.sellerPhone) || strings.Contains(body, e.sellerName) {
			t.Fatalf("detail shows clear personal data (%d)", st)
		}
		if !strings.Contains(body, pii.MaskID(e.sellerID)) {
			t.Errorf("detail lacks the masked ID number")
		}
		// no reason: refused, nothing revealed, nothing audited
		st, body, _ = dept.post(path+"/reveal", url.Values{"csrf": {tok}, "reason": {"  "}})
		if st != http.StatusBadRequest || !strings.Contains(body, "必须填写事由") || strings.Contains(body, e.sellerID) || reads() != 0 {
			t.Fatalf("reveal without reason: %d, %d reads", st, reads())
		}
		st, body, resp := dept.post(path+"/reveal", url.Values{"csrf": {tok}, "reason": {"投诉处理 2025-017"}})
		if st != 200 || !strings.Contains(body, e.sellerID) || !strings.Contains(body, e.sellerPhone) || !strings.Contains(body, e.sellerName) ||
			!strings.Contains(body, "已记入审计日志") {
			t.Fatalf("reveal: %d\n%s", st, body)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("reveal response cacheable: %q", resp.Header.Get("Cache-Control"))
		}
		l, _ := db.List(context.Background(), audit.Filter{Action: audit.ActReadPersonal, Limit: 10})
		if len(l) != 1 || l[0].Detail != "投诉处理 2025-017" || l[0].Object != "subject:"+itoa(e.seller.ID) || l[0].Via != "console" || l[0].ActorName != "测试dept.reveal" {
			t.Fatalf("audit of the read: %+v", l)
		}
		// the next page shows masked data again
		if _, body := dept.get(path); strings.Contains(body, e.sellerID) {
			t.Fatal("clear ID number shown after the reveal response")
		}
		// the audit log page shows the read, never the number
		_, body = dept.get("/console/audit?action=read_personal")
		if !strings.Contains(body, "投诉处理 2025-017") || strings.Contains(body, e.sellerID) {
			t.Fatal("audit page")
		}
	})
}

func TestPublicPagesMaskPersonalData(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		anon := e.client()
		pages := []string{
			"/",
			"/search?q=" + url.QueryEscape("张*"),
			"/search?q=" + url.QueryEscape("山货"),
			"/subjects/" + itoa(e.seller.ID),
			"/subjects/" + itoa(e.platform.ID),
			"/subjects/" + itoa(e.merchant.ID),
			"/marks/" + e.seller.Mark,
			"/marks?m=" + e.seller.Mark,
			"/codes",
		}
		sawMasked := false
		for _, p := range pages {
			st, body := anon.get(p)
			if st != 200 {
				t.Errorf("GET %s: %d", p, st)
			}
			for _, secret := range []string{e.sellerID, e.sellerPhone, e.sellerName, "2345678"} {
				if strings.Contains(body, secret) {
					t.Errorf("GET %s shows personal data %q", p, secret)
				}
			}
			sawMasked = sawMasked || strings.Contains(body, pii.MaskID(e.sellerID))
		}
		if !sawMasked {
			t.Error("no public page shows the masked ID number")
		}
		// the person's mark check names the masked person
		_, body := anon.get("/marks/" + e.seller.Mark)
		if !strings.Contains(body, "张*") || !strings.Contains(body, "已核验") {
			t.Errorf("mark page:\n%s", body)
		}
		// past the re-verification date the mark page says so
		e.clk.Advance(21 * 24 * time.Hour)
		if _, body := anon.get("/marks/" + e.seller.Mark); !strings.Contains(body, "需复核") {
			t.Error("expired verification not shown")
		}
		staff := e.staff(account.RoleDepartment, "dept.expired")
		if _, body := staff.get("/console/subjects?verify=expired"); !strings.Contains(body, "/console/subjects/"+itoa(e.seller.ID)) {
			t.Error("expired filter misses the expired subject")
		}

		// the code check shows the typed ID number only in its own result
		// box: not in the title, and never in the log
		st, body, _ := anon.post("/codes", url.Values{"c": {e.sellerID}})
		if st != 200 || !strings.Contains(body, "校验通过") || !strings.Contains(body, "1990-05-17") {
			t.Fatalf("code check: %d\n%s", st, body)
		}
		title := regexp.MustCompile(`<title>[^<]*</title>`).FindString(body)
		if strings.Contains(title, e.sellerID) {
			t.Errorf("title carries the ID number: %s", title)
		}
		anon.get("/codes?c=" + e.sellerID)
		if strings.Contains(e.logs.String(), e.sellerID) {
			t.Errorf("log carries the ID number:\n%s", e.logs.String())
		}
	})
}

func TestEditSubject(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		admin := e.staff(account.RoleAdmin, "admin.edit")
		tok := admin.token()
		path := "/console/subjects/" + itoa(e.merchant.ID) + "/edit"
		_, body := admin.get(path)
		vm := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(body)
		if vm == nil {
			t.Fatal("no version field")
		}
		form := url.Values{"csrf": {tok}, "version": {vm[1]}, "name": {e.merchant.Name}, "form": {"enterprise"}, "legal_rep": {"李四新"},
			"region_code": {e.merchant.RegionCode}, "address": {"承德市双桥区新华路2号"}, "status": {"active"}}
		st, _, resp := admin.post(path, form)
		if st != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "?done=updated") {
			t.Fatalf("edit: %d", st)
		}
		got, _ := db.GetSubject(context.Background(), e.merchant.ID)
		if got.LegalRep != "李四新" || got.Address != "承德市双桥区新华路2号" || got.Phone.Empty() {
			t.Fatalf("after edit: %+v", got)
		}
		// the same (now stale) version again: a conflict, values kept
		form.Set("legal_rep", "过期修改")
		st, body, _ = admin.post(path, form)
		if st != http.StatusConflict || !strings.Contains(body, "已被他人修改") || !strings.Contains(body, `value="过期修改"`) {
			t.Fatalf("stale edit: %d\n%s", st, body)
		}
		// a bad region is a field error
		_, body = admin.get(path)
		vm = regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(body)
		form.Set("version", vm[1])
		form.Set("region_code", "999999")
		if st, body, _ := admin.post(path, form); st != http.StatusBadRequest || !strings.Contains(body, "不是已知的 GB/T 2260") {
			t.Fatalf("bad region: %d", st)
		}
		// verify through the console form
		vp := "/console/subjects/" + itoa(e.merchant.ID) + "/verify"
		if st, body, _ := admin.post(vp, url.Values{"csrf": {tok}, "method": {"nonsense"}, "passed": {"1"}}); st != http.StatusBadRequest || !strings.Contains(body, "核验方式未知") {
			t.Fatalf("bad verify: %d", st)
		}
		if st, _, _ := admin.post(vp, url.Values{"csrf": {tok}, "method": {"license_check"}, "passed": {"1"}, "valid_days": {"10"}, "note": {"营业执照原件"}}); st != http.StatusSeeOther {
			t.Fatalf("verify: %d", st)
		}
		_, body = admin.get("/console/subjects/" + itoa(e.merchant.ID))
		if !strings.Contains(body, "营业执照核验") || !strings.Contains(body, "营业执照原件") {
			t.Fatal("verification history not shown")
		}
		// it is due within 30 days, so the dashboard lists it
		if _, body := admin.get("/console/"); !strings.Contains(body, e.merchant.Name) {
			t.Fatal("dashboard lacks the due subject")
		}
	})
}

func TestAccountsAndShops(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		admin := e.staff(account.RoleAdmin, "admin.acc")
		tok := admin.token()
		st, body, _ := admin.post("/console/accounts", url.Values{"csrf": {tok}, "role": {"platform"}, "name": {"优品商城接口"},
			"subject_id": {itoa(e.platform.ID)}})
		key := regexp.MustCompile(`ek_[a-z0-9]{8}_[a-z0-9]{32}`).FindString(body)
		if st != 200 || key == "" || !strings.Contains(body, "只显示这一次") {
			t.Fatalf("create account: %d\n%s", st, body)
		}
		if _, err := e.acc.Authenticate(context.Background(), key, "127.0.0.1", ""); err != nil {
			t.Fatalf("issued key does not work: %v", err)
		}
		_, body = admin.get("/console/accounts")
		if strings.Contains(body, key) || !strings.Contains(body, key[:11]) {
			t.Fatal("key listing")
		}
		// bad input: errors per field, the password never echoed
		st, body, _ = admin.post("/console/accounts", url.Values{"csrf": {tok}, "role": {"department"}, "name": {""}, "login": {"Bad Login"},
			"password": {"short-pw"}})
		if st != http.StatusBadRequest || !strings.Contains(body, "不能为空") || !strings.Contains(body, "必须填写部门名称") || strings.Contains(body, "short-pw") {
			t.Fatalf("bad account: %d", st)
		}
		// revoke the key
		keys, _ := db.ListAPIKeys(context.Background(), mustFindAccount(t, db, "优品商城接口"))
		st, _, resp := admin.post("/console/keys/"+itoa(keys[0].ID)+"/revoke", url.Values{"csrf": {tok}})
		if st != http.StatusSeeOther || resp.Header.Get("Location") != "/console/accounts?done=revoked" {
			t.Fatalf("revoke: %d", st)
		}
		if _, err := e.acc.Authenticate(context.Background(), key, "127.0.0.1", ""); err == nil {
			t.Fatal("revoked key still works")
		}

		// create a shop through the form
		st, _, resp = admin.post("/console/shops/new", url.Values{"csrf": {tok}, "platform_id": {itoa(e.platform.ID)},
			"owner_credit_code": {e.merchant.CreditCode}, "name": {"山庄特产旗舰店"}, "url": {"shanzhuang.example.cn"}, "category": {"food"}})
		if st != http.StatusSeeOther {
			t.Fatalf("create shop: %d", st)
		}
		if _, body := admin.get("/console/shops?platform=" + itoa(e.platform.ID)); !strings.Contains(body, "山庄特产旗舰店") || !strings.Contains(body, "shanzhuang.example.cn") {
			t.Fatal("shop not listed")
		}
		st, body, _ = admin.post("/console/shops/new", url.Values{"csrf": {tok}, "platform_id": {itoa(e.platform.ID)},
			"owner_id": {"abc"}, "name": {""}, "url": {"not a url"}})
		if st != http.StatusBadRequest || !strings.Contains(body, "必须是正整数") || !strings.Contains(body, `value="not a url"`) {
			t.Fatalf("bad shop: %d\n%s", st, body)
		}
	})
}

func mustFindAccount(t *testing.T, db *sqlstore.DB, name string) int64 {
	t.Helper()
	list, err := db.ListAccounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		if a.Name == name {
			return a.ID
		}
	}
	t.Fatalf("no account %s", name)
	return 0
}
