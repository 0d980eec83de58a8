package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/clock"
	"ecredit/httpx"
	"ecredit/ledger"
	"ecredit/record"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// recordEnv is env with the record service wired in, at a date after the
// decisions in imports/testdata.
func recordEnv(t *testing.T, db *sqlstore.DB) (*env, *record.Service) {
	t.Helper()
	e := newEnv(t, db)
	e.clk.Set(time.Date(2026, 1, 10, 9, 0, 0, 0, clock.Shanghai))
	svc := &record.Service{Store: db, Subjects: db, Keys: e.reg.Keys, Clock: e.clk}
	logger := slog.New(slog.NewTextHandler(e.logs, nil))
	site, err := New(Deps{Registry: e.reg, Accounts: e.acc, Audit: db, Clock: e.clk, Logger: logger, Records: svc})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(httpx.Wrap(site, httpx.Options{Logger: logger}))
	t.Cleanup(e.srv.Close)
	return e, svc
}

// upload posts a multipart import form; an empty csrf leaves the field out.
func (c *client) upload(csrf, typ, source, name string, content []byte) (int, string) {
	c.t.Helper()
	return c.postFile("/console/records/import", map[string]string{"csrf": csrf, "type": typ, "source": source}, name, content)
}

// postFile posts a multipart form with the fields (empty ones left out)
// and, unless name is "", one file under "file".
func (c *client) postFile(path string, fields map[string]string, name string, content []byte) (int, string) {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		if v != "" {
			mw.WriteField(k, v)
		}
	}
	if name != "" {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			c.t.Fatal(err)
		}
		fw.Write(content)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	st, b, _ := c.do(req)
	return st, b
}

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "imports", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	countRe    = regexp.MustCompile(`id="n-([a-z]+)">(\d+)<`)
	rowErrRe   = regexp.MustCompile(`<tr class="row-error"><td>(\d+)</td><td>([^<]*)</td><td>([^<]+)</td>`)
	errLinkRe  = regexp.MustCompile(`href="(/console/records/import/errors/[0-9a-f]+)"`)
	recordIDRe = regexp.MustCompile(`href="/console/records/(\d+)"`)
)

func counts(t *testing.T, body string) map[string]int {
	t.Helper()
	m := map[string]int{}
	for _, x := range countRe.FindAllStringSubmatch(body, -1) {
		m[x[1]], _ = strconv.Atoi(x[2])
	}
	return m
}

type rowCol struct {
	row int
	col string
}

func TestImportUpload(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e, _ := recordEnv(t, db)
		dept := e.staff(account.RoleDepartment, "samr.import")
		tok := dept.token()
		tests := []struct {
			file, typ string
			rows      int
			created   int
			unchanged int
			errors    []rowCol
			warnHas   string
		}{
			{"penalty_gb18030.csv", "penalty", 10, 6, 0, []rowCol{{6, "统一社会信用代码"}, {7, "处罚决定日期"}, {8, "行政处罚决定书文号"}, {9, "违法事实"}}, ""},
			{"licence_utf8bom.csv", "licence", 8, 4, 0, []rowCol{{5, "XK_XDR_SHXYM"}, {6, "XK_JDRQ"}, {7, "XK_NR"}, {8, "XK_WSH"}}, "内部编号"},
			{"penalty.xlsx", "penalty", 6, 3, 0, []rowCol{{7, "统一社会信用代码"}, {8, "处罚依据"}, {10, "行政处罚决定书文号"}}, "标题"},
			// the same file again stores nothing
			{"penalty_gb18030.csv", "penalty", 10, 0, 6, []rowCol{{6, "统一社会信用代码"}, {7, "处罚决定日期"}, {8, "行政处罚决定书文号"}, {9, "违法事实"}}, ""},
		}
		for _, tt := range tests {
			st, body := dept.upload(tok, tt.typ, "承德市市场监督管理局", tt.file, testdata(t, tt.file))
			if st != http.StatusOK {
				t.Fatalf("%s: status %d\n%s", tt.file, st, body)
			}
			got := counts(t, body)
			want := map[string]int{"rows": tt.rows, "created": tt.created, "unchanged": tt.unchanged, "corrected": 0, "failed": len(tt.errors)}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: %s = %d, want %d", tt.file, k, got[k], v)
				}
			}
			rows := rowErrRe.FindAllStringSubmatch(body, -1)
			if len(rows) != len(tt.errors) {
				t.Fatalf("%s: %d error rows on the page, want %d\n%s", tt.file, len(rows), len(tt.errors), body)
			}
			for i, w := range tt.errors {
				if rows[i][1] != strconv.Itoa(w.row) || rows[i][2] != w.col {
					t.Errorf("%s: error %d = row %s column %q, want %d %q", tt.file, i, rows[i][1], rows[i][2], w.row, w.col)
				}
			}
			if tt.warnHas != "" && !strings.Contains(body, tt.warnHas) {
				t.Errorf("%s: warning %q not shown", tt.file, tt.warnHas)
			}
			// The error report downloads as CSV with the same rows.
			link := errLinkRe.FindStringSubmatch(body)
			if link == nil {
				t.Fatalf("%s: no error report link", tt.file)
			}
			req, _ := http.NewRequest(http.MethodGet, dept.base+link[1], nil)
			st, csvBody, resp := dept.do(req)
			if st != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("%s: download %d %s", tt.file, st, resp.Header.Get("Content-Type"))
			}
			recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(csvBody, "\ufeff"))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			var errRows []rowCol
			for _, r := range recs[1:] {
				if r[3] == "错误" {
					n, _ := strconv.Atoi(r[0])
					errRows = append(errRows, rowCol{n, r[1]})
				}
			}
			if recs[0][0] != "行号" || len(errRows) != len(tt.errors) {
				t.Errorf("%s: csv %v", tt.file, recs)
			}
			for i := range errRows {
				if i < len(tt.errors) && errRows[i] != tt.errors[i] {
					t.Errorf("%s: csv row %d = %+v, want %+v", tt.file, i, errRows[i], tt.errors[i])
				}
			}
			// Another account cannot download it.
			if st, _ := e.staff(account.RoleAdmin, "other."+strconv.Itoa(len(tt.file))+tt.typ+strconv.Itoa(tt.unchanged)).get(link[1]); st != http.StatusNotFound {
				t.Errorf("%s: another account downloads the report: %d", tt.file, st)
			}
		}
		// 13 records from three files, each with one ledger entry, and the
		// ledger verifies.
		rs, err := db.ListRecords(context.Background(), record.Filter{Limit: 100})
		if err != nil || len(rs) != 13 {
			t.Fatalf("%d records stored, %v", len(rs), err)
		}
		for _, r := range rs {
			if r.Source != "承德市市场监督管理局" || !strings.HasPrefix(r.SourceKey, "account:") {
				t.Errorf("record %d: source %q key %q", r.ID, r.Source, r.SourceKey)
			}
		}
		rep, err := ledger.Verify(context.Background(), db, nil, ledger.Recomputers{record.LedgerKind: db.RecomputeRecordEntry}.Recompute, nil)
		if err != nil || !rep.OK() || rep.Size != 13 {
			t.Errorf("ledger verify: %+v %v", rep, err)
		}
	})
}

func TestImportUploadRejected(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e, _ := recordEnv(t, db)
		dept := e.staff(account.RoleDepartment, "samr.bad")
		tok := dept.token()
		good := testdata(t, "penalty_gb18030.csv")
		tests := []struct {
			name            string
			csrf, typ, file string
			content         []byte
			status          int
			want            string
		}{
			{"no csrf", "", "penalty", "p.csv", good, http.StatusForbidden, "CSRF"},
			{"wrong csrf", "x" + tok, "penalty", "p.csv", good, http.StatusForbidden, "CSRF"},
			{"no file", tok, "penalty", "", nil, http.StatusBadRequest, "请选择要导入的文件"},
			{"empty file", tok, "penalty", "empty.csv", nil, http.StatusBadRequest, "文件为空"},
			{"bad type", tok, "nonsense", "p.csv", good, http.StatusBadRequest, "请选择记录类型"},
			{"missing columns", tok, "penalty", "m.csv", []byte("CF_XDR_MC,CF_XDR_SHXYM,CF_WSH\nx,y,z\n"), http.StatusBadRequest, "缺少必填列"},
			{"legacy xls", tok, "penalty", "old.xls", []byte("\xd0\xcf\x11\xe0"), http.StatusBadRequest, ".xls"},
			{"broken xlsx", tok, "penalty", "broken.xlsx", []byte("PK\x03\x04broken"), http.StatusBadRequest, "XLSX"},
			{"licence file as penalty", tok, "penalty", "l.csv", testdata(t, "licence_utf8bom.csv"), http.StatusBadRequest, "没有找到表头行"},
		}
		for _, tt := range tests {
			st, body := dept.upload(tt.csrf, tt.typ, "承德市市场监督管理局", tt.file, tt.content)
			if st != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("%s: status %d, want %d with %q\n%s", tt.name, st, tt.status, tt.want, body)
			}
		}
		if rs, _ := db.ListRecords(context.Background(), record.Filter{Limit: 10}); len(rs) != 0 {
			t.Errorf("%d records stored by rejected uploads", len(rs))
		}
		// A URL-encoded post to the upload route is checked for CSRF too.
		if st, _, _ := dept.post("/console/records/import", url.Values{"type": {"penalty"}}); st != http.StatusForbidden {
			t.Errorf("url-encoded post without csrf: %d", st)
		}
	})
}

func TestRecordPagesAndWithdraw(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e, svc := recordEnv(t, db)
		dept := e.staff(account.RoleDepartment, "samr.w")
		other := e.staff(account.RoleDepartment, "commerce.w")
		tok := dept.token()
		if st, body := dept.upload(tok, "penalty", "承德市市场监督管理局", "p.csv", testdata(t, "penalty_gb18030.csv")); st != http.StatusOK {
			t.Fatalf("upload: %d\n%s", st, body)
		}
		st, body := dept.get("/console/records?type=penalty&status=active")
		if st != http.StatusOK || !strings.Contains(body, "承双市监罚〔2025〕101号") {
			t.Fatalf("list: %d\n%s", st, body)
		}
		ids := recordIDRe.FindAllStringSubmatch(body, -1)
		if len(ids) != 6 {
			t.Fatalf("%d records listed, want 6", len(ids))
		}
		id := ids[0][1]
		checks := []struct {
			path   string
			status int
			want   string
		}{
			{"/console/records/" + id, 200, "变更历史"},
			{"/console/records/" + id, 200, "撤回记录"},
			{"/console/records?type=bogus", 400, "未知的记录类型"},
			{"/console/records?status=bogus", 400, "未知的记录状态"},
			{"/console/records?code=" + e.merchant.CreditCode, 200, "没有符合条件的信用记录"},
			{"/console/records?code=91130802MA0XXXXXX0", 400, "代码"},
			{"/console/records/999999", 404, ""},
			{"/console/records/import", 200, "市场监管"}, // source defaults to the department
			{"/console/", 200, "信用记录"},
		}
		for _, c := range checks {
			if st, body := dept.get(c.path); st != c.status || !strings.Contains(body, c.want) {
				t.Errorf("GET %s: %d, want %d with %q", c.path, st, c.status, c.want)
			}
		}
		// Another department is not the source: no withdraw form, and a
		// posted withdrawal is refused.
		if _, body := other.get("/console/records/" + id); strings.Contains(body, "撤回记录") {
			t.Error("non-source department sees the withdraw form")
		}
		if st, _, _ := other.post("/console/records/"+id+"/withdraw", url.Values{"csrf": {other.token()}, "reason": {"x"}}); st != http.StatusForbidden {
			t.Errorf("non-source withdraw: %d", st)
		}
		// Missing CSRF.
		if st, _, _ := dept.post("/console/records/"+id+"/withdraw", url.Values{"reason": {"撤销"}}); st != http.StatusForbidden {
			t.Errorf("withdraw without csrf: %d", st)
		}
		// Field errors are shown next to the field.
		st, body, _ = dept.post("/console/records/"+id+"/withdraw", url.Values{"csrf": {tok}, "reason": {""}})
		if st != http.StatusBadRequest || !strings.Contains(body, "必须填写原因") {
			t.Errorf("empty reason: %d", st)
		}
		st, body, _ = dept.post("/console/records/"+id+"/withdraw", url.Values{"csrf": {tok}, "reason": {"复议撤销"}, "revoked_on": {"2030-01-01"}})
		if st != http.StatusBadRequest || !strings.Contains(body, "晚于今天") {
			t.Errorf("future revocation: %d", st)
		}
		st, _, resp := dept.post("/console/records/"+id+"/withdraw", url.Values{"csrf": {tok}, "reason": {"行政复议决定撤销原处罚决定"}, "revoked_on": {"2026-01-08"}})
		if st != http.StatusSeeOther || resp.Header.Get("Location") != "/console/records/"+id+"?done=withdraw" {
			t.Fatalf("withdraw: %d %s", st, resp.Header.Get("Location"))
		}
		n, _ := strconv.ParseInt(id, 10, 64)
		r, err := db.GetRecord(context.Background(), n)
		if err != nil || r.Status != record.StatusWithdrawn || r.Withdrawal.RevokedOn != "2026-01-08" || r.Withdrawal.Due != "2026-01-13" {
			t.Fatalf("after withdraw: %+v %v", r, err)
		}
		st, body = dept.get("/console/records/" + id + "?done=withdraw")
		if st != http.StatusOK || !strings.Contains(body, "记录已撤回") || !strings.Contains(body, "行政复议决定撤销原处罚决定") || strings.Contains(body, "撤回记录</h2>") {
			t.Errorf("detail after withdraw: %d", st)
		}
		// Again: a conflict shown on the page.
		if st, _, _ := dept.post("/console/records/"+id+"/withdraw", url.Values{"csrf": {tok}, "reason": {"x"}}); st != http.StatusConflict {
			t.Errorf("second withdraw: %d", st)
		}

		// Objection → answer, through the forms.
		id2 := ids[1][1]
		n2, _ := strconv.ParseInt(id2, 10, 64)
		post := func(action string, v url.Values, want int) {
			t.Helper()
			v.Set("csrf", tok)
			if st, body, _ := dept.post("/console/records/"+id2+"/"+action, v); st != want {
				t.Fatalf("%s: %d, want %d\n%s", action, st, want, body)
			}
		}
		post("answer", url.Values{"reason": {"x"}}, http.StatusConflict) // nothing to answer
		post("objection", url.Values{"reason": {"当事人称已缴纳罚款并整改"}}, http.StatusSeeOther)
		if r, _ := db.GetRecord(context.Background(), n2); !r.Disputed || r.Objection.Status != record.ObjectionFiled {
			t.Fatalf("after objection: %+v", r.Objection)
		}
		post("answer", url.Values{"reason": {"经核查，处罚事实清楚"}, "upheld": {"0"}}, http.StatusSeeOther)
		if r, _ := db.GetRecord(context.Background(), n2); r.Disputed || r.Objection.Status != record.ObjectionRejected {
			t.Fatalf("after answer: %+v", r.Objection)
		}
		post("bogus", url.Values{}, http.StatusNotFound)
		evs, err := svc.Store.ListEvents(context.Background(), n2)
		if err != nil || len(evs) != 3 {
			t.Fatalf("events: %d %v", len(evs), err)
		}
		_, body = dept.get("/console/records/" + id2)
		for _, ev := range evs {
			if !strings.Contains(body, `<td class="mono">`+strconv.FormatInt(ev.LedgerIndex, 10)+`</td>`) {
				t.Errorf("ledger index %d not shown", ev.LedgerIndex)
			}
		}
	})
}

func TestRecordPagesWithoutService(t *testing.T) {
	db := storetest.Open(t, sqlstore.EngineSQLite)
	e := newEnv(t, db)
	admin := e.staff(account.RoleAdmin, "admin.nr")
	for _, p := range []string{"/console/records", "/console/records/import", "/console/records/1"} {
		if st, body := admin.get(p); st != http.StatusServiceUnavailable || !strings.Contains(body, "信用记录服务未启用") {
			t.Errorf("GET %s: %d", p, st)
		}
	}
}
