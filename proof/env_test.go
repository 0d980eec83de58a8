package proof

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/app"
	"ecredit/code"
	"ecredit/record"
	"ecredit/registry"
)

// role is a column of the access matrix.
type role string

const (
	rPublic    role = "public"
	rPlatA     role = "platform_a"
	rPlatB     role = "platform_b"
	rLogistics role = "logistics"
	rDept      role = "department"
	rAgency    role = "agency"
	rAdmin     role = "admin"
)

// roles in the order of the matrix rows.
var roles = []role{rPublic, rPlatA, rPlatB, rLogistics, rDept, rAgency, rAdmin}

// logBuffer collects the server's log output (safe for concurrent use).
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// session is a signed-in console session.
type session struct {
	token, csrf string
}

// env is the one application every test of the package runs against.
type env struct {
	app *app.App
	srv *httptest.Server
	log *logBuffer
	// hc never follows redirects: the matrix classifies them.
	hc *http.Client

	keys     map[role]string
	actors   map[role]account.Actor
	logins   map[role]string
	sessions map[role]session

	platA, platB, logiFirm, agencyOrg *registry.Subject
	merchantA, merchantB              *registry.Subject // organisations with a shop on A (B)
	sellerA, sellerB                  *registry.Subject // persons with a shop on A (B)
	shopA, shopB                      *registry.Shop
	courier                           *registry.Subject // registered by the logistics firm
	recPublic                         *record.Record    // a department's penalty on merchantA, in public view
	recWithdrawn                      *record.Record    // withdrawn: out of public view

	persons []person // privacy_test.go

	tr tradeFixtures // trade, logistics and trace (trade_env_test.go)

	seq     atomic.Int64 // unique numbers for fresh fixtures
	xffNext atomic.Int64 // rotating client addresses
}

// person is a seeded natural person whose numbers must never leak.
type person struct {
	id        int64
	name      string
	idNumber  string
	phone     string
	kind      registry.Kind
	platform  role // the platform the person sells on ("" for couriers)
	subjectID int64
}

const password = "proof-Passw0rd!"

var (
	envOnce sync.Once
	theEnv  *env
	envErr  error
)

// setup returns the shared environment, building it on first use.
func setup(t *testing.T) *env {
	t.Helper()
	envOnce.Do(func() { theEnv, envErr = build() })
	if envErr != nil {
		t.Fatalf("proof environment: %v", envErr)
	}
	return theEnv
}

func TestMain(m *testing.M) {
	code := m.Run()
	if theEnv != nil {
		theEnv.srv.Close()
		theEnv.app.Close()
		os.RemoveAll(theEnv.app.Config.DataDir)
	}
	os.Exit(code)
}

func build() (*env, error) {
	// The database lives in memory-backed /dev/shm when there is one:
	// these suites prove access, input handling and privacy, not
	// durability (the crash harness does), and fsyncs on a shared disk
	// would only make them slow.
	base := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		base = "/dev/shm"
	}
	dir, err := os.MkdirTemp(base, "ecredit-proof-")
	if err != nil {
		dir, err = os.MkdirTemp("", "ecredit-proof-")
	}
	if err != nil {
		return nil, err
	}
	os.Setenv("ECREDIT_PII_KEY", "")
	os.Setenv("ECREDIT_PII_KEY_FILE", "")
	lb := &logBuffer{}
	logger := slog.New(slog.NewJSONHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	// The real limiter configuration (NoRateLimit off); the loopback
	// proxy is trusted so that requests can spread over client addresses
	// with X-Forwarded-For, as they would behind the Nginx in front.
	a, err := app.Open(ctx, app.Config{DataDir: dir, Logger: logger, TrustedProxies: []string{"127.0.0.1", "::1"}})
	if err != nil {
		return nil, err
	}
	e := &env{app: a, log: lb, keys: map[role]string{}, actors: map[role]account.Actor{}, logins: map[role]string{}, sessions: map[role]session{}}
	e.seq.Store(1000)
	e.srv = httptest.NewServer(a.Handler())
	e.hc = &http.Client{Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if err := e.seed(ctx); err != nil {
		e.srv.Close()
		a.Close()
		return nil, err
	}
	return e, nil
}

var system = account.With(context.Background(), account.System)

// ctx is a context acting as the account of role r.
func (e *env) ctx(r role) context.Context {
	if r == rPublic {
		return account.With(context.Background(), account.Public("127.0.0.1", ""))
	}
	return account.With(context.Background(), e.actors[r])
}

func (e *env) next() int64 { return e.seq.Add(1) }

// uscc is a fresh valid credit code.
func (e *env) uscc() string {
	c, err := code.MakeUSCC('9', '1', "130802", fmt.Sprintf("%08d", e.next()))
	if err != nil {
		panic(err)
	}
	return c
}

// idNumber is the n-th synthetic resident ID number (unique for n < 10^7).
func idNumber(n int64) string {
	birth := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(n/1000))
	id, err := code.MakeID("130802", birth, int(n%1000))
	if err != nil {
		panic(err)
	}
	return id
}

// phone is the n-th synthetic mobile number.
func phone(n int64) string { return fmt.Sprintf("139%08d", n) }

func (e *env) seed(ctx context.Context) error {
	org := func(kind registry.Kind, name string) (*registry.Subject, error) {
		return e.app.Registry.CreateSubject(system, registry.SubjectInput{Kind: kind, Name: name, CreditCode: e.uscc()})
	}
	var err error
	if e.platA, err = org(registry.KindPlatform, "甲电商平台有限公司"); err != nil {
		return err
	}
	if e.platB, err = org(registry.KindPlatform, "乙电商平台有限公司"); err != nil {
		return err
	}
	if e.logiFirm, err = org(registry.KindLogistics, "承德丙快递有限公司"); err != nil {
		return err
	}
	if e.agencyOrg, err = org(registry.KindService, "承德丁信用服务有限公司"); err != nil {
		return err
	}
	accs := []struct {
		r    role
		in   account.AccountInput
		subj *registry.Subject
	}{
		{rPlatA, account.AccountInput{Name: "甲平台", Role: account.RolePlatform}, e.platA},
		{rPlatB, account.AccountInput{Name: "乙平台", Role: account.RolePlatform}, e.platB},
		{rLogistics, account.AccountInput{Name: "丙快递", Role: account.RoleLogistics}, e.logiFirm},
		{rDept, account.AccountInput{Name: "承德市市场监督管理局", Role: account.RoleDepartment, Department: "市场监管"}, nil},
		{rAgency, account.AccountInput{Name: "丁信用", Role: account.RoleAgency}, e.agencyOrg},
		{rAdmin, account.AccountInput{Name: "市信用办", Role: account.RoleAdmin}, nil},
	}
	for _, ac := range accs {
		in := ac.in
		if ac.subj != nil {
			in.SubjectID = ac.subj.ID
		}
		in.Login, in.Password = "proof."+strings.ReplaceAll(string(ac.r), "_", "."), password
		_, key, err := e.app.Accounts.CreateAccount(system, in)
		if err != nil {
			return fmt.Errorf("account %s: %w", ac.r, err)
		}
		actor, err := e.app.Accounts.Authenticate(ctx, key, "127.0.0.1", "")
		if err != nil {
			return err
		}
		actor.Via = "api"
		e.keys[ac.r], e.actors[ac.r], e.logins[ac.r] = key, actor, in.Login
		s, err := e.login(ac.r)
		if err != nil {
			return err
		}
		e.sessions[ac.r] = s
	}
	if e.merchantA, err = org(registry.KindMerchant, "承德甲店商贸有限公司"); err != nil {
		return err
	}
	if e.merchantB, err = org(registry.KindMerchant, "承德乙店商贸有限公司"); err != nil {
		return err
	}
	if e.sellerA, err = e.app.Registry.CreateSubject(system, registry.SubjectInput{Kind: registry.KindSeller, Name: "王甲卖",
		IDNumber: idNumber(1), Phone: phone(1)}); err != nil {
		return err
	}
	if e.sellerB, err = e.app.Registry.CreateSubject(system, registry.SubjectInput{Kind: registry.KindSeller, Name: "李乙卖",
		IDNumber: idNumber(2), Phone: phone(2)}); err != nil {
		return err
	}
	e.persons = append(e.persons,
		person{id: 1, name: "王甲卖", idNumber: idNumber(1), phone: phone(1), kind: registry.KindSeller, platform: rPlatA, subjectID: e.sellerA.ID},
		person{id: 2, name: "李乙卖", idNumber: idNumber(2), phone: phone(2), kind: registry.KindSeller, platform: rPlatB, subjectID: e.sellerB.ID})
	if e.shopA, err = e.shop(rPlatA, e.merchantA.ID); err != nil {
		return err
	}
	if e.shopB, err = e.shop(rPlatB, e.merchantB.ID); err != nil {
		return err
	}
	if e.tr.sellerShop, err = e.shop(rPlatA, e.sellerA.ID); err != nil {
		return err
	}
	if _, err = e.shop(rPlatB, e.sellerB.ID); err != nil {
		return err
	}
	if e.courier, err = e.app.Registry.CreateSubject(e.ctx(rLogistics), registry.SubjectInput{Kind: registry.KindCourier, Name: "赵快递",
		IDNumber: idNumber(3), Phone: phone(3)}); err != nil {
		return err
	}
	e.persons = append(e.persons, person{id: 3, name: "赵快递", idNumber: idNumber(3), phone: phone(3), kind: registry.KindCourier, subjectID: e.courier.ID})
	if e.recPublic, err = e.penalty(e.merchantA, "2026-10-12"); err != nil {
		return err
	}
	if e.recWithdrawn, err = e.penalty(e.merchantA, "2026-10-13"); err != nil {
		return err
	}
	if e.recWithdrawn, err = e.app.Records.Withdraw(e.ctx(rDept), e.recWithdrawn.ID, record.WithdrawInput{Reason: "决定已撤销"}); err != nil {
		return err
	}
	if _, err := e.commitment(rPlatA, e.merchantA); err != nil {
		return err
	}
	if _, err := e.commitment(rPlatB, e.merchantB); err != nil {
		return err
	}
	if err := e.seedTrade(ctx); err != nil {
		return err
	}
	return e.seedPersons(ctx)
}

// login opens a console session for role r through the account service
// (the same call the sign-in form makes).
func (e *env) login(r role) (session, error) {
	res, err := e.app.Accounts.Login(e.ctx(rPublic), e.logins[r], password, "127.0.0.1")
	if err != nil {
		return session{}, fmt.Errorf("login %s: %w", r, err)
	}
	if res.Session == nil {
		return session{}, fmt.Errorf("login %s: a second factor is enrolled; the proof accounts sign in with a password only", r)
	}
	return session{token: res.Token, csrf: res.Session.CSRF}, nil
}

// shop registers a fresh shop of owner on the platform of role p.
func (e *env) shop(p role, owner int64) (*registry.Shop, error) {
	n := e.next()
	return e.app.Registry.CreateShop(e.ctx(p), registry.ShopInput{OwnerID: owner, Name: fmt.Sprintf("测试店铺%d", n),
		URL: fmt.Sprintf("https://shop%d.example.com/", n), Category: "food"})
}

// penaltyInput is a valid penalty on an organisation decided on date.
func (e *env) penaltyInput(sub *registry.Subject, date string) record.Input {
	no := fmt.Sprintf("承市监罚〔2026〕%d号", e.next())
	return record.Input{Type: record.TypePenalty, Fields: map[string]string{
		"行政相对人名称": sub.Name, "CF_XDR_SHXYM": sub.CreditCode, "doc_no": no,
		"违法行为类型": "虚假宣传", "违法事实": "网店宣传无事实依据", "处罚依据": "《中华人民共和国反不正当竞争法》第二十条",
		"处罚类别": "罚款", "处罚内容": "罚款人民币2000元", "罚款金额（万元）": "0.2", "处罚决定日期": date,
		"处罚机关": "承德市双桥区市场监督管理局", "处罚机关统一社会信用代码": "11130800000001257M",
	}}
}

// penalty has the department record a fresh penalty on sub.
func (e *env) penalty(sub *registry.Subject, date string) (*record.Record, error) {
	res, err := e.app.Records.Ingest(e.ctx(rDept), e.penaltyInput(sub, date))
	if err != nil {
		return nil, err
	}
	return res.Record, nil
}

// commitment has platform p record a fresh commitment of sub.
func (e *env) commitment(p role, sub *registry.Subject) (*record.Record, error) {
	res, err := e.app.Records.Ingest(e.ctx(p), record.Input{Type: record.TypeCommitment, Fields: map[string]string{
		"subject_name": sub.Name, "credit_code": sub.CreditCode, "commitment_no": fmt.Sprintf("CN-%d", e.next()),
		"commitment_type": "主动公示型", "matter": "网络销售", "content": "依法诚信经营", "commitment_date": "2026-05-20"}})
	if err != nil {
		return nil, err
	}
	return res.Record, nil
}

// ---- requests ----

// req is one HTTP request of a test.
type req struct {
	method string
	path   string // with query
	body   []byte
	ctype  string
	form   url.Values // console/portal form (POST), CSRF added for sessions
	// file, when set, makes the form a multipart upload with this file
	// under the field "file".
	file     []byte
	fileName string
	header   http.Header
	// noCSRF leaves the session's token out of a console form.
	noCSRF bool
}

func get(path string) req { return req{method: "GET", path: path} }

func jsonReq(method, path string, v any) req {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return req{method: method, path: path, body: b, ctype: "application/json"}
}

func formReq(path string, kv ...string) req {
	f := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Add(kv[i], kv[i+1])
	}
	return req{method: "POST", path: path, form: f}
}

// resp is an answer read whole.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) String() string {
	b := r.body
	if len(b) > 300 {
		b = b[:300]
	}
	return fmt.Sprintf("%d %s", r.status, b)
}

// errorField is the field of a JSON error answer.
func (r resp) errorField() string {
	var eb struct {
		Error struct {
			Code  string `json:"code"`
			Field string `json:"field"`
		} `json:"error"`
	}
	json.Unmarshal(r.body, &eb)
	return eb.Error.Field
}

// clientAddr is a rotating client address: each request comes from one
// of 4096 documentation addresses, so the per-client limits of the
// public routes do not blur the access outcome.
func (e *env) clientAddr() string {
	n := e.xffNext.Add(1) % 4096
	return fmt.Sprintf("198.18.%d.%d", n/256, n%256)
}

// do sends rq as role r: an API key for /api/, /healthz and /metrics,
// the console session cookie (and its CSRF token in forms) elsewhere.
func (e *env) do(t testing.TB, r role, rq req) resp {
	t.Helper()
	res, err := e.send(r, rq)
	if err != nil {
		t.Fatalf("%s %s as %s: %v", rq.method, rq.path, r, err)
	}
	return res
}

func isAPIPath(p string) bool {
	return strings.HasPrefix(p, "/api/") || p == "/healthz" || strings.HasPrefix(p, "/healthz?") || strings.HasPrefix(p, "/metrics")
}

func (e *env) send(r role, rq req) (resp, error) {
	body, ctype := rq.body, rq.ctype
	api := isAPIPath(rq.path)
	if rq.form != nil {
		f := url.Values{}
		for k, v := range rq.form {
			f[k] = append([]string(nil), v...)
		}
		if s, ok := e.sessions[r]; ok && !api && !rq.noCSRF && f.Get("csrf") == "" {
			f.Set("csrf", s.csrf)
		}
		if rq.file != nil {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			for k, vs := range f {
				for _, v := range vs {
					mw.WriteField(k, v)
				}
			}
			fw, _ := mw.CreateFormFile("file", rq.fileName)
			fw.Write(rq.file)
			mw.Close()
			body, ctype = buf.Bytes(), mw.FormDataContentType()
		} else {
			body, ctype = []byte(f.Encode()), "application/x-www-form-urlencoded"
		}
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hr, err := http.NewRequest(rq.method, e.srv.URL+rq.path, rd)
	if err != nil {
		return resp{}, err
	}
	for k, v := range rq.header {
		hr.Header[k] = v
	}
	if ctype != "" {
		hr.Header.Set("Content-Type", ctype)
	}
	if hr.Header.Get("X-Forwarded-For") == "" {
		hr.Header.Set("X-Forwarded-For", e.clientAddr())
	}
	if r != rPublic {
		if api {
			if hr.Header.Get("Authorization") == "" {
				hr.Header.Set("Authorization", "Bearer "+e.keys[r])
			}
		} else if s, ok := e.sessions[r]; ok {
			hr.AddCookie(&http.Cookie{Name: "ecredit_session", Value: s.token})
		}
	}
	res, err := e.hc.Do(hr)
	if err != nil {
		return resp{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return resp{}, err
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}, nil
}

// ---- server health ----

var fiveXX = regexp.MustCompile(`(?m)^ecredit_http_requests_total\{[^}]*code="5xx"[^}]*\} ([0-9.e+]+)$`)

// serverErrors sums the 5xx responses /metrics has counted.
func (e *env) serverErrors(t testing.TB) (float64, string) {
	t.Helper()
	r := e.do(t, rAdmin, get("/metrics"))
	if r.status != 200 {
		t.Fatalf("/metrics: %s", r)
	}
	var n float64
	var lines []string
	for _, m := range fiveXX.FindAllStringSubmatch(string(r.body), -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		n += v
		lines = append(lines, m[0])
	}
	return n, strings.Join(lines, "\n")
}

// panics counts the recovered panics in the server log.
func (e *env) panics() int {
	return strings.Count(e.log.String(), `"msg":"panic"`)
}
