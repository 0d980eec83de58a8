package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"
	"github.com/prometheus/client_golang/prometheus"

	"ecredit/account"
	"ecredit/clock"
	"ecredit/code"
	"ecredit/disclosure"
	"ecredit/httpx"
	"ecredit/ledger"
	"ecredit/logistics"
	"ecredit/pii"
	"ecredit/record"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/trace"
	"ecredit/trade"
)

// Test codes: real published credit codes and valid ID numbers.
const (
	usccA = "91110000600037341L"
	usccB = "9144030071526726XG"
	usccC = "91310115MA1K3BTP2B"
	usccD = "92340602MA2PBMEM24"
	idA   = "11010519491231002X"
	idB   = "110105195001010039"
	idC   = "360426199101010071"
)

var (
	docOnce   sync.Once
	docRouter routers.Router
	docErr    error
)

func init() {
	for _, ct := range []string{"text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/xml"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(r)
		return string(b), err
	})
}

func loadDoc(t testing.TB) routers.Router {
	docOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(openAPIDoc)
		if err != nil {
			docErr = err
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			docErr = err
			return
		}
		docRouter, docErr = legacyrouter.NewRouter(doc)
	})
	if docErr != nil {
		t.Fatalf("openapi document: %v", docErr)
	}
	return docRouter
}

// mkUSCC generates a valid credit code of a Chengde enterprise.
func mkUSCC(t testing.TB, n int) string {
	t.Helper()
	c, err := code.MakeUSCC('9', '1', "130802", fmt.Sprintf("MA%06d", n))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mkID(t testing.TB, n int) string {
	t.Helper()
	c, err := code.MakeID("130802", time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n), n%1000)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type recorded struct {
	method, path string
	status       int
	body         string
}

type env struct {
	t      testing.TB
	db     *sqlstore.DB
	api    *API
	srv    *httptest.Server
	reg    *registry.Service
	accts  *account.Service
	recs   *record.Service
	ledger *ledger.Log
	lkey   string // the ledger's verifier key
	clk    *clock.Fake
	logs   *syncBuffer
	pingOK bool

	keys         map[string]string // admin, dept, platA, platB, logistics, agency
	ids          map[string]int64  // account ids
	platA, platB int64             // platform subject ids

	lgs       *logistics.Service // parcels and grades (M4)
	mu        sync.Mutex
	responses []recorded
	hit       map[string]bool // documented operations answered with 2xx
	noCheck   bool            // skip contract checks (fuzzing)

	trade *trade.Service // trade (M5)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type envOpts struct {
	publicLimiter *httpx.Limiter
	limiter       *httpx.Limiter
	quiet         bool // no access log (benchmarks)
}

func newEnv(t testing.TB, db *sqlstore.DB, o envOpts) *env {
	t.Helper()
	master := bytes.Repeat([]byte{7}, 32)
	keys, err := pii.New(master)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
	db.SetClock(clk)
	e := &env{t: t, db: db, clk: clk, logs: &syncBuffer{}, pingOK: true, keys: map[string]string{}, ids: map[string]int64{}, hit: map[string]bool{}}
	e.reg = &registry.Service{Store: db, Audit: db, Keys: keys, Clock: clk}
	e.accts = &account.Service{Store: db, Audit: db, Clock: clk}
	e.recs = &record.Service{Store: db, Subjects: db, Keys: keys, Clock: clk}
	e.lgs = &logistics.Service{Store: db, Subjects: db, Keys: keys, Clock: clk}
	e.trade = &trade.Service{Store: db, Clock: clk} // trade (M5)
	lg, lk, err := ledger.OpenLog(context.Background(), db, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	e.ledger, e.lkey = lg, lk.PublicKey
	sys := account.With(context.Background(), account.System)

	for i, name := range []string{"platA", "platB"} {
		sub, err := e.reg.CreateSubject(sys, registry.SubjectInput{Kind: registry.KindPlatform, Name: "平台" + name, CreditCode: mkUSCC(t, 900+i)})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			e.platA = sub.ID
		} else {
			e.platB = sub.ID
		}
	}
	accts := []struct {
		name string
		in   account.AccountInput
	}{
		{"admin", account.AccountInput{Name: "市信用办", Role: account.RoleAdmin}},
		{"dept", account.AccountInput{Name: "市场监管局", Role: account.RoleDepartment, Department: "市场监管"}},
		{"platA", account.AccountInput{Name: "平台甲", Role: account.RolePlatform, SubjectID: e.platA}},
		{"platB", account.AccountInput{Name: "平台乙", Role: account.RolePlatform, SubjectID: e.platB}},
		{"logistics", account.AccountInput{Name: "快递公司", Role: account.RoleLogistics}},
		{"agency", account.AccountInput{Name: "信用机构", Role: account.RoleAgency}},
	}
	for _, a := range accts {
		acc, key, err := e.accts.CreateAccount(sys, a.in)
		if err != nil {
			t.Fatalf("account %s: %v", a.name, err)
		}
		e.keys[a.name], e.ids[a.name] = key, acc.ID
	}
	pl := o.publicLimiter
	if pl == nil {
		pl = httpx.NewLimiter(1e6, 1e6)
	}
	logger := slog.New(slog.NewTextHandler(e.logs, nil))
	reg := prometheus.NewRegistry()
	api, err := New(Deps{Registry: e.reg, Accounts: e.accts, Audit: db, Clock: clk, Logger: logger, Engine: db.Engine(),
		Ping: func(ctx context.Context) error {
			if !e.pingOK {
				return fmt.Errorf("database is down")
			}
			return db.Ping(ctx)
		}, Gatherer: reg, PublicLimiter: pl, Limiter: o.limiter,
		Records: e.recs, Ledger: e.ledger, LedgerKey: e.lkey, LedgerEntries: db,
		Disclosure: &disclosure.Service{Store: db, Log: e.ledger, Clock: clk, Secret: keys.Index("report", "test"), Logistics: e.lgs, Trade: e.trade},
		Logistics:  e.lgs,
		Trade:      e.trade,
		Trace:      &trace.Service{Store: db, Subjects: db, Records: db, Recorder: e.recs, Clock: clk}})
	if err != nil {
		t.Fatal(err)
	}
	e.api = api
	e.srv = httptest.NewServer(httpx.Wrap(api, httpx.Options{Logger: logger, Registry: reg, NoAccessLog: o.quiet}))
	t.Cleanup(e.srv.Close)
	return e
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response %d %s: %v", r.status, r.body, err)
	}
}

func (r resp) m(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	r.json(t, &v)
	return v
}

// errInfo returns the error object of an error response.
func (r resp) errInfo(t testing.TB) httpx.ErrorInfo {
	t.Helper()
	var eb httpx.ErrorBody
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&eb); err != nil {
		t.Fatalf("error body %d %s: %v", r.status, r.body, err)
	}
	return eb.Error
}

type reqOpt func(*http.Request)

func header(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

// do sends a request with the key of who ("" = public). body may be a
// string (sent as is) or a value (marshalled). Every response is checked
// against the OpenAPI document; the request too unless it is meant to be
// bad (validReq false).
func (e *env) do(method, path, who string, body any, validReq bool, opts ...reqOpt) resp {
	e.t.Helper()
	var b []byte
	switch v := body.(type) {
	case nil:
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			e.t.Fatal(err)
		}
	}
	var rd io.Reader
	if b != nil {
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if b != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if who != "" {
		key, ok := e.keys[who]
		if !ok {
			key = who // a literal key
		}
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for _, o := range opts {
		o(req)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	rb, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		e.t.Fatal(err)
	}
	r := resp{status: res.StatusCode, header: res.Header, body: rb}
	e.mu.Lock()
	e.responses = append(e.responses, recorded{method: method, path: path, status: r.status, body: string(rb)})
	e.mu.Unlock()
	if res.Header.Get("X-Request-ID") == "" {
		e.t.Errorf("%s %s: no X-Request-ID", method, path)
	}
	if !e.noCheck {
		e.contract(req, b, res, rb, validReq)
	}
	return r
}

// contract checks a request and its response against the OpenAPI document.
func (e *env) contract(req *http.Request, reqBody []byte, res *http.Response, resBody []byte, validReq bool) {
	e.t.Helper()
	router := loadDoc(e.t)
	route, pathParams, err := router.FindRoute(req)
	if err != nil {
		// undocumented path or method: only our 404/405 answers may come back
		if res.StatusCode != 404 && res.StatusCode != 405 {
			e.t.Errorf("%s %s: not in the document but answered %d", req.Method, req.URL.Path, res.StatusCode)
		}
		return
	}
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if validReq {
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		if reqBody == nil {
			req.Body = http.NoBody
		}
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			e.t.Errorf("%s %s: request does not match the document: %v", req.Method, req.URL.Path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	out.SetBodyBytes(resBody)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		e.t.Errorf("%s %s → %d: response does not match the document: %v\n%s", req.Method, req.URL.Path, res.StatusCode, err, resBody)
	}
	if res.StatusCode < 300 {
		e.mu.Lock()
		e.hit[req.Method+" "+route.Path] = true
		e.mu.Unlock()
	}
}

// want fails unless r has the status (and, for errors, the code and field).
func (e *env) want(r resp, status int, field ...string) {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if status >= 400 {
		info := r.errInfo(e.t)
		if info.Message == "" {
			e.t.Errorf("error without message: %s", r.body)
		}
		if len(field) > 0 && info.Field != field[0] {
			e.t.Errorf("field %q, want %q: %s", info.Field, field[0], r.body)
		}
	}
}

func (e *env) createSubject(who string, in registry.SubjectInput) registry.SubjectView {
	e.t.Helper()
	r := e.do("POST", "/api/v1/subjects", who, in, true)
	e.want(r, 201)
	var v registry.SubjectView
	r.json(e.t, &v)
	return v
}

func (e *env) createShop(who string, in registry.ShopInput) registry.ShopView {
	e.t.Helper()
	r := e.do("POST", "/api/v1/shops", who, in, true)
	e.want(r, 201)
	var v registry.ShopView
	r.json(e.t, &v)
	return v
}

func contains(s string, subs ...string) string {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return x
		}
	}
	return ""
}
