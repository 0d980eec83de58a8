package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"ecredit/account"
	"ecredit/errs"
)

func TestStatus(t *testing.T) {
	cases := []struct {
		code errs.Code
		want int
	}{
		{errs.Invalid, 400}, {errs.Unauthorized, 401}, {errs.Forbidden, 403}, {errs.NotFound, 404},
		{errs.Conflict, 409}, {errs.TooLarge, 413}, {errs.RateLimited, 429}, {errs.Unavailable, 503},
		{errs.Internal, 500}, {"", 500}, {"bogus", 500},
	}
	for _, c := range cases {
		if got := Status(c.code); got != c.want {
			t.Errorf("Status(%q) = %d, want %d", c.code, got, c.want)
		}
	}
}

func decodeBody(t *testing.T, b []byte) ErrorBody {
	t.Helper()
	var eb ErrorBody
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&eb); err != nil {
		t.Fatalf("error body %s: %v", b, err)
	}
	return eb
}

func TestWriteError(t *testing.T) {
	var l errs.List
	l.Add("name", "不能为空 (required)")
	l.Add("credit_code", "无效")
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	cases := []struct {
		name      string
		err       error
		status    int
		code      errs.Code
		field     string
		details   int
		msg       string
		logged    bool
		notInBody string
	}{
		{"field", errs.Field("kind", "未知类型"), 400, errs.Invalid, "kind", 0, "未知类型", false, ""},
		{"list", errs.Wrap("op", l.Err()), 400, errs.Invalid, "name", 2, "不能为空 (required)", false, ""},
		{"notfound", errs.E(errs.NotFound, "没有"), 404, errs.NotFound, "", 0, "没有", false, ""},
		{"internal", errs.Wrap("db.Query", errors.New("pq: password=secret")), 500, errs.Internal, "", 0, "内部错误，请稍后重试 (internal error)", true, "secret"},
		{"foreign", errors.New("boom secret"), 500, errs.Internal, "", 0, "内部错误，请稍后重试 (internal error)", true, "secret"},
		{"unauthorized", errs.E(errs.Unauthorized, "需要密钥"), 401, errs.Unauthorized, "", 0, "需要密钥", false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			logs.Reset()
			var got *httptest.ResponseRecorder
			h := Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				WriteError(w, r, logger, c.err)
			}), Options{Logger: slog.New(slog.DiscardHandler)})
			got = httptest.NewRecorder()
			h.ServeHTTP(got, httptest.NewRequest("GET", "/api/x", nil))
			if got.Code != c.status {
				t.Fatalf("status %d, want %d", got.Code, c.status)
			}
			if ct := got.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("content type %q", ct)
			}
			eb := decodeBody(t, got.Body.Bytes())
			if eb.Error.Code != c.code || eb.Error.Field != c.field || len(eb.Error.Details) != c.details || eb.Error.Message != c.msg {
				t.Errorf("body %+v", eb.Error)
			}
			if eb.Error.RequestID == "" || eb.Error.RequestID != got.Header().Get("X-Request-ID") {
				t.Errorf("request id %q vs header %q", eb.Error.RequestID, got.Header().Get("X-Request-ID"))
			}
			if c.notInBody != "" && strings.Contains(got.Body.String(), c.notInBody) {
				t.Errorf("body leaks cause: %s", got.Body)
			}
			if logged := strings.Contains(logs.String(), "request failed"); logged != c.logged {
				t.Errorf("logged=%v, want %v: %s", logged, c.logged, logs.String())
			}
			if c.logged && !strings.Contains(logs.String(), eb.Error.RequestID) {
				t.Errorf("log lacks request id: %s", logs.String())
			}
			if c.code == errs.Unauthorized && got.Header().Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate")
			}
		})
	}
}

type target struct {
	Name  string   `json:"name"`
	Count int64    `json:"count,omitempty"`
	Tags  []string `json:"tags,omitempty"`
	Inner *struct {
		OK bool `json:"ok"`
	} `json:"inner,omitempty"`
}

func TestDecodeJSON(t *testing.T) {
	cases := []struct {
		name  string
		body  string
		limit int64
		code  errs.Code
		field string
		msg   string // substring of the message
	}{
		{"ok", `{"name":"a","count":3}`, 0, "", "", ""},
		{"ok spaces after", "{\"name\":\"a\"}\n \t", 0, "", "", ""},
		{"empty", ``, 0, errs.Invalid, "", "请求体为空"},
		{"only spaces", "   ", 0, errs.Invalid, "", "请求体为空"},
		{"unknown field", `{"name":"a","nmae":"b"}`, 0, errs.Invalid, "nmae", "未知字段 nmae"},
		{"unknown nested", `{"inner":{"ok":true,"x":1}}`, 0, errs.Invalid, "inner.x", "inner.x"},
		{"wrong type", `{"name":5}`, 0, errs.Invalid, "name", "应为 字符串"},
		{"wrong type int", `{"count":"5"}`, 0, errs.Invalid, "count", "应为 整数"},
		{"float for int", `{"count":1.5}`, 0, errs.Invalid, "count", "整数"},
		{"nested type", `{"inner":{"ok":"yes"}}`, 0, errs.Invalid, "inner.ok", "布尔值"},
		{"array elem", `{"tags":[1]}`, 0, errs.Invalid, "tags", "字符串"},
		{"not object", `[1,2]`, 0, errs.Invalid, "", "对象"},
		{"syntax", `{"name":"a",}`, 0, errs.Invalid, "", "第 13 字节"},
		{"truncated", `{"name":"a"`, 0, errs.Invalid, "", "不完整"},
		{"trailing", `{"name":"a"} {"name":"b"}`, 0, errs.Invalid, "", "多余内容"},
		{"trailing garbage", `{"name":"a"}x`, 0, errs.Invalid, "", "多余内容"},
		{"too large", `{"name":"` + strings.Repeat("a", 100) + `"}`, 50, errs.TooLarge, "", "上限"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
			if c.limit > 0 {
				r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, c.limit)
			}
			var v target
			err := DecodeJSON(r, &v)
			if errs.CodeOf(err) != c.code {
				t.Fatalf("err %v, want code %q", err, c.code)
			}
			if err == nil {
				return
			}
			if errs.FieldOf(err) != c.field {
				t.Errorf("field %q, want %q (%v)", errs.FieldOf(err), c.field, err)
			}
			if !strings.Contains(errs.MessageOf(err), c.msg) {
				t.Errorf("message %q lacks %q", errs.MessageOf(err), c.msg)
			}
		})
	}
}

func TestWrapRequestIDAndHeaders(t *testing.T) {
	h := Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, RequestID(r))
	}), Options{Logger: slog.New(slog.DiscardHandler)})
	cases := []struct {
		in   string
		keep bool
	}{
		{"abc-DEF_123", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"", false},
		{"bad id", false},
		{"x\u00e9", false},
		{"a;b", false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		if c.in != "" {
			r.Header.Set("X-Request-ID", c.in)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		got := w.Header().Get("X-Request-ID")
		if got != w.Body.String() {
			t.Errorf("header %q, context %q", got, w.Body.String())
		}
		if c.keep != (got == c.in) {
			t.Errorf("in %q: got %q, keep=%v", c.in, got, c.keep)
		}
		if !validRequestID(got) {
			t.Errorf("generated id %q invalid", got)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
			"X-Frame-Options": "DENY", "Content-Security-Policy": ContentSecurityPolicy} {
			if w.Header().Get(k) != v {
				t.Errorf("%s = %q", k, w.Header().Get(k))
			}
		}
	}
}

func TestWrapPanic(t *testing.T) {
	var logs bytes.Buffer
	h := Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("kaputt")
	}), Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	for _, path := range []string{"/api/v1/x", "/page"} {
		logs.Reset()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != 500 {
			t.Fatalf("%s: status %d", path, w.Code)
		}
		if strings.HasPrefix(path, "/api/") {
			eb := decodeBody(t, w.Body.Bytes())
			if eb.Error.Code != errs.Internal {
				t.Errorf("code %q", eb.Error.Code)
			}
		} else if !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
			t.Errorf("content type %q", w.Header().Get("Content-Type"))
		}
		if strings.Contains(w.Body.String(), "kaputt") {
			t.Error("panic value leaked to the client")
		}
		if !strings.Contains(logs.String(), "kaputt") || !strings.Contains(logs.String(), "goroutine") {
			t.Errorf("panic not logged with stack: %s", logs.String())
		}
	}
}

func TestWrapAccessLogAndMetrics(t *testing.T) {
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	inner := http.NewServeMux()
	inner.HandleFunc("GET /deep/{code}", func(w http.ResponseWriter, r *http.Request) {
		RedactPath(r)
		w.WriteHeader(404)
	})
	// a middleware that copies the request, as auth middlewares do
	mux.Handle("/deep/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.WithContext(r.Context())
		inner.ServeHTTP(w, r2)
		NoteRoute(r2)
	}))
	opts := Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Registry: reg}
	h := Wrap(mux, opts)
	Wrap(mux, opts) // a second Wrap on the same registry reuses the collectors
	for _, u := range []string{"/items/7?phone=13912345678", "/items/8", "/deep/110105194912310021?x=1", "/nowhere"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", u, nil))
	}
	if strings.Contains(logs.String(), "13912345678") || strings.Contains(logs.String(), "110105194912310021") {
		t.Errorf("personal data in the access log: %s", logs.String())
	}
	if !strings.Contains(logs.String(), `"path":"/items/7"`) || !strings.Contains(logs.String(), `"path":"[GET /deep/{code}]"`) {
		t.Errorf("access log: %s", logs.String())
	}
	cases := []struct {
		route, code string
		want        float64
	}{
		{"GET /items/{id}", "2xx", 2},
		{"GET /deep/{code}", "4xx", 1},
		{"other", "4xx", 1},
	}
	c, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(c) != 2 {
		t.Errorf("%d metric families", len(c))
	}
	for _, cs := range cases {
		m := newMetrics(reg) // the registered collectors
		got := testutil.ToFloat64(m.requests.WithLabelValues(cs.route, "GET", cs.code))
		if got != cs.want {
			t.Errorf("%s %s: %v, want %v", cs.route, cs.code, got, cs.want)
		}
	}
}

func TestWrapBodyLimit(t *testing.T) {
	h := Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			SetBodyLimit(r, 1000)
		}
		var v target
		if err := DecodeJSON(r, &v); err != nil {
			WriteError(w, r, nil, err)
			return
		}
		if SetBodyLimit(r, 5) {
			t.Error("SetBodyLimit after reading took effect")
		}
		w.WriteHeader(204)
	}), Options{Logger: slog.New(slog.DiscardHandler), MaxBody: 100})
	body := `{"name":"` + strings.Repeat("x", 200) + `"}`
	cases := []struct {
		path string
		want int
	}{{"/small", 413}, {"/big", 204}}
	for _, c := range cases {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", c.path, strings.NewReader(body)))
		if w.Code != c.want {
			t.Errorf("%s: %d, want %d: %s", c.path, w.Code, c.want, w.Body)
		}
	}
}

func TestClientIP(t *testing.T) {
	trusted, err := ParseCIDRs([]string{"10.0.0.0/8", "127.0.0.1", " ", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCIDRs([]string{"10.0.0.0/99"}); err == nil {
		t.Error("bad CIDR accepted")
	}
	cases := []struct {
		remote, xff, xrip string
		want              string
	}{
		{"203.0.113.9:5555", "", "", "203.0.113.9"},
		{"203.0.113.9:5555", "1.2.3.4", "5.6.7.8", "203.0.113.9"}, // untrusted peer: headers ignored
		{"10.1.2.3:80", "1.2.3.4", "", "1.2.3.4"},
		{"10.1.2.3:80", "6.6.6.6, 1.2.3.4, 10.9.9.9", "", "1.2.3.4"}, // rightmost untrusted
		{"10.1.2.3:80", "", "5.6.7.8", "5.6.7.8"},
		{"10.1.2.3:80", "garbage", "5.6.7.8", "5.6.7.8"},
		{"10.1.2.3:80", "10.2.2.2", "", "10.1.2.3"},
		{"127.0.0.1:1", "::ffff:1.2.3.4", "", "1.2.3.4"},
		{"[::1]:1", "2001:db8::1", "", "2001:db8::1"},
		{"[::ffff:10.0.0.1]:1", "198.51.100.1", "", "198.51.100.1"},
		{"not-an-address", "1.2.3.4", "", "not-an-address"},
	}
	for _, c := range cases {
		var got string
		h := Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = ClientIP(r) }),
			Options{Logger: slog.New(slog.DiscardHandler), TrustedProxies: trusted})
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if c.xrip != "" {
			r.Header.Set("X-Real-IP", c.xrip)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != c.want {
			t.Errorf("%+v: got %q", c, got)
		}
	}
	// outside Wrap nothing is trusted
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:80"
	r.Header.Set("X-Forwarded-For", "1.2.3.4")
	if got := ClientIP(r); got != "10.1.2.3" {
		t.Errorf("outside Wrap: %q", got)
	}
	_ = netip.Addr{}
}

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLimiter(1, 3)
	l.Now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("request %d refused inside the burst", i+1)
		}
	}
	ok, wait := l.Allow("a")
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("4th: ok=%v wait=%v", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("another key is limited")
	}
	now = now.Add(time.Second)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("no token after a second")
	}
	// eviction keeps the map bounded
	l.MaxKeys = 10
	for i := 0; i < 100; i++ {
		now = now.Add(time.Millisecond)
		l.Allow(string(rune('A' + i)))
	}
	if n := l.Len(); n > 10 {
		t.Errorf("%d keys tracked, max 10", n)
	}
	now = now.Add(time.Hour)
	l.Allow("new")
	if n := l.Len(); n != 1 {
		t.Errorf("%d keys after idle eviction, want 1", n)
	}
}

func TestLimiterMiddleware(t *testing.T) {
	l := NewLimiter(0.001, 2)
	h := Wrap(l.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })),
		Options{Logger: slog.New(slog.DiscardHandler)})
	do := func(remote string, acct int64) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/api/v1/codes/x", nil)
		r.RemoteAddr = remote
		if acct != 0 {
			r = r.WithContext(account.With(r.Context(), account.Actor{AccountID: acct, Role: account.RolePlatform}))
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	want := []int{204, 204, 429, 429}
	for i, st := range want {
		w := do("192.0.2.1:1000", 0)
		if w.Code != st {
			t.Fatalf("request %d: %d, want %d", i+1, w.Code, st)
		}
		if st == 429 {
			if ra := w.Header().Get("Retry-After"); ra == "" || ra == "0" {
				t.Errorf("Retry-After %q", ra)
			}
			if eb := decodeBody(t, w.Body.Bytes()); eb.Error.Code != errs.RateLimited {
				t.Errorf("code %q", eb.Error.Code)
			}
		}
	}
	if w := do("192.0.2.2:1000", 0); w.Code != 204 {
		t.Errorf("other client limited: %d", w.Code)
	}
	if w := do("192.0.2.1:1000", 42); w.Code != 204 {
		t.Errorf("authenticated account keyed by IP: %d", w.Code)
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"name":"a","count":1}`, `{"inner":{"ok":true}}`, `{"tags":["x"]}`, `[]`, `{`, `null`, `{"name":1}`,
		`{"nmae":1}`, "{\"name\":\"\xff\"}", `{"count":1e400}`, `{} {}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v target
		err := DecodeJSONBytes(b, &v)
		if err == nil {
			return
		}
		code := errs.CodeOf(err)
		if code != errs.Invalid {
			t.Fatalf("code %q for %q: %v", code, b, err)
		}
		if errs.MessageOf(err) == "" {
			t.Fatalf("no message for %q", b)
		}
	})
}

// TestParseID: only the canonical decimal form of a positive id is one.
func TestParseID(t *testing.T) {
	for s, want := range map[string]int64{"1": 1, "7": 7, "42": 42, "9223372036854775807": 9223372036854775807} {
		if n, ok := ParseID(s); !ok || n != want {
			t.Errorf("ParseID(%q) = %d, %v", s, n, ok)
		}
	}
	for _, s := range []string{"", "0", "+1", "-1", " 1", "1 ", "007", "01", "1.0", "1e3", "0x10", "１", "9223372036854775808", "1_000"} {
		if n, ok := ParseID(s); ok {
			t.Errorf("ParseID(%q) = %d, accepted", s, n)
		}
	}
}
