package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// FuzzCreateSubject throws arbitrary bodies at POST /api/v1/subjects: no
// body may produce a 5xx.
func FuzzCreateSubject(f *testing.F) {
	for _, s := range []string{
		`{"kind":"merchant","name":"承德公司","credit_code":"` + usccB + `"}`,
		`{"kind":"seller","name":"张三","id_number":"` + idA + `","phone":"13912345678"}`,
		`{"kind":"courier","name":"x","id_number":"110105194912310021"}`,
		`{"kind":"platform","name":"","credit_code":"x","region_code":"999999","status":"gone"}`,
		`{"kind":"merchant","form":"individual_business","name":"a","credit_code":"` + usccD + `","address":"\u0000"}`,
		`{"kind":1}`, `{"kind":"merchant","unknown":true}`, `[]`, `null`, `{`, ``, `{"name":"` + strings.Repeat("长", 300) + `"}`,
		`{"kind":"merchant","name":"a","credit_code":"` + usccA + `"} trailing`,
	} {
		f.Add(s)
	}
	db := storetest.Open(f, sqlstore.EngineSQLite)
	e := newEnv(f, db, envOpts{})
	e.noCheck = true
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/api/v1/subjects", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.keys["dept"])
		w := httptest.NewRecorder()
		e.srv.Config.Handler.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%q → %d %s", body, w.Code, w.Body)
		}
		if w.Code != http.StatusCreated && !strings.Contains(w.Body.String(), `"message"`) {
			t.Fatalf("%q → %d without an error message: %s", body, w.Code, w.Body)
		}
	})
}

// TestMetricsRefusedRemotely: /metrics is for loopback or admin keys only.
func TestMetricsRefusedRemotely(t *testing.T) {
	db := storetest.Open(t, sqlstore.EngineSQLite)
	e := newEnv(t, db, envOpts{})
	cases := []struct {
		who  string
		want int
	}{{"", 401}, {"dept", 403}, {"admin", 200}}
	for _, c := range cases {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.RemoteAddr = "192.0.2.7:4000"
		if c.who != "" {
			req.Header.Set("Authorization", "Bearer "+e.keys[c.who])
		}
		w := httptest.NewRecorder()
		e.srv.Config.Handler.ServeHTTP(w, req)
		if w.Code != c.want {
			t.Errorf("%q: %d, want %d: %s", c.who, w.Code, c.want, w.Body)
		}
	}
}
