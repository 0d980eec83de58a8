package web

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"ecredit/account"
	"ecredit/disclosure"
	"ecredit/httpx"
	"ecredit/ledger"
	"ecredit/pdf"
	"ecredit/pii"
	"ecredit/record"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

type discEnv struct {
	*env
	rec     *record.Service
	site    *httptest.Server
	penalty *record.Record
}

var samrCtx = account.With(context.Background(), account.Actor{AccountID: 41, Name: "承德市市场监督管理局", Role: account.RoleDepartment, Via: "api"})

// newDiscEnv is newEnv plus credit records, the ledger and a site with the
// disclosure service (and the given PDF renderer).
func newDiscEnv(t *testing.T, db *sqlstore.DB, renderer PDFRenderer) *discEnv {
	t.Helper()
	e := newEnv(t, db)
	log, _, err := ledger.OpenLog(sys, db, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	keys := e.reg.Keys
	d := &discEnv{env: e}
	d.rec = &record.Service{Store: db, Subjects: db, Keys: keys, Clock: e.clk}
	in := func(typ record.Type, f map[string]string) *record.Record {
		res, err := d.rec.Ingest(samrCtx, record.Input{Type: typ, Fields: f})
		if err != nil || res.Status != record.ResultCreated {
			t.Fatalf("ingest: %+v %v", res, err)
		}
		return res.Record
	}
	m := e.merchant
	in(record.TypeLicence, map[string]string{"subject_name": m.Name, "credit_code": m.CreditCode, "doc_no": "承市监食许〔2025〕3号",
		"certificate_name": "食品经营许可证", "content": "预包装食品销售", "decision_date": "2025-01-20", "valid_until": "2030-01-19",
		"authority": "承德市市场监督管理局"})
	d.penalty = in(record.TypePenalty, map[string]string{"CF_XDR_MC": m.Name, "CF_XDR_SHXYM": m.CreditCode, "CF_WSH": "承双市监罚〔2025〕2号",
		"CF_WFXW": "虚假宣传", "CF_SY": "网店宣传无依据", "CF_YJ": "《反不正当竞争法》第二十条", "CF_CFLB": "罚款", "CF_NR": "罚款五千元",
		"CF_NR_FK": "0.5", "CF_JDRQ": "2025-02-10", "CF_CFJG": "承德市双桥区市场监督管理局"})
	in(record.TypePenalty, map[string]string{"CF_XDR_MC": e.sellerName, "CF_XDR_ZJLX": "身份证", "CF_XDR_ZJHM": e.sellerID,
		"CF_WSH": "承双市监罚〔2025〕5号", "CF_WFXW": "销售过期食品", "CF_SY": "网店销售过期食品", "CF_YJ": "《食品安全法》",
		"CF_CFLB": "警告", "CF_NR": "警告", "CF_JDRQ": "2025-02-20", "CF_CFJG": "承德市双桥区市场监督管理局"})

	svc := &disclosure.Service{Store: db, Log: log, Clock: e.clk, Secret: keys.Index("report", "web-test")}
	site, err := New(Deps{Registry: e.reg, Accounts: e.acc, Audit: db, Clock: e.clk, Logger: slog.New(slog.NewTextHandler(e.logs, nil)),
		Disclosure: svc, PDF: renderer})
	if err != nil {
		t.Fatal(err)
	}
	d.site = httptest.NewServer(httpx.Wrap(site, httpx.Options{Logger: slog.New(slog.NewTextHandler(e.logs, nil))}))
	t.Cleanup(d.site.Close)
	return d
}

func (d *discEnv) get(t *testing.T, path string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(d.site.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

// noPersonal fails when a public page shows the seller's clear personal
// data.
func (d *discEnv) noPersonal(t *testing.T, what, body string) {
	t.Helper()
	for _, s := range []string{d.sellerID, d.sellerPhone, d.sellerName, d.sellerID[6:14], "0314-2345678"} {
		if strings.Contains(body, s) {
			t.Errorf("%s shows personal data %q", what, s)
		}
	}
}

var verifyLink = regexp.MustCompile(`/verify/(R[0-9]+-[0-9]+-[0-9]+-[A-Za-z0-9_-]+)\?h=([0-9a-f]{64})`)

func TestDisclosurePages(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		d := newDiscEnv(t, db, nil)
		m := d.merchant
		mid := strconv.FormatInt(m.ID, 10)

		pages := []struct {
			path   string
			status int
			want   []string
		}{
			{"/search?q=" + urlq("山庄"), 200, []string{m.Name, "/subjects/" + mid}},
			{"/search?q=" + urlq("承德山庄特产"), 200, []string{m.Name}},
			{"/search?q=" + urlq(m.CreditCode), 200, []string{m.Name, "按统一社会信用代码精确查询"}},
			{"/search?q=" + urlq("京"), 400, []string{"请至少输入两个连续的汉字"}},
			{"/search?q=" + urlq("！！"), 400, []string{"只有标点"}},
			{"/search?q=" + urlq("淘宝"), 200, []string{"没有找到名称包含「淘宝」的主体"}},
			{"/search?q=" + urlq("山庄") + "&offset=x", 400, []string{"offset"}},
			{"/subjects/" + mid, 200, []string{"信用记录", "行政许可", "食品经营许可证", "行政处罚（公示期内）", "虚假宣传", "信用承诺", "查看信用报告"}},
			{"/subjects/code/" + m.CreditCode, 200, []string{m.Name, "食品经营许可证"}},
			{"/subjects/code/91130802MA0ABCDE00", 400, []string{"统一社会信用代码无效"}},
			{"/subjects/code/" + strings.Replace(m.CreditCode, "MA0MERC1", "MA0MERC2", 1), 0, nil}, // check char: 400 or 404
			{"/subjects/" + mid + "/nothing", 404, nil},
			{"/subjects/x/report", 404, nil},
			{"/subjects/999999/report", 404, nil},
			{"/subjects/" + mid + "/report.pdf", 503, []string{"PDF 生成服务未启用"}},
			{"/verify/forged-id?h=00", 200, []string{"无法验证，可能被篡改"}},
		}
		for _, p := range pages {
			st, body, _ := d.get(t, p.path)
			if p.status != 0 && st != p.status {
				t.Errorf("GET %s: status %d, want %d", p.path, st, p.status)
			}
			for _, w := range p.want {
				if !strings.Contains(html.UnescapeString(body), w) {
					t.Errorf("GET %s: body lacks %q", p.path, w)
				}
			}
		}

		// The report, its verification link, and the verdicts.
		st, body, hdr := d.get(t, "/subjects/"+mid+"/report")
		if st != 200 || hdr.Get("Cache-Control") != "no-store" {
			t.Fatalf("report: %d %q\n%s", st, hdr.Get("Cache-Control"), d.logs.String())
		}
		for _, w := range []string{"信用报告", "报告编号", m.CreditCode, "食品经营许可证", "data:image/png;base64,", "账本证明", "附录：完整哈希值", "ecredit.chengde.gov.cn/ledger"} {
			if !strings.Contains(body, w) {
				t.Errorf("report lacks %q", w)
			}
		}
		link := verifyLink.FindString(html.UnescapeString(body))
		if link == "" {
			t.Fatalf("report has no verification link")
		}
		check := func(path, want string) {
			t.Helper()
			st, body, _ := d.get(t, path)
			if st != 200 || !strings.Contains(body, want) {
				t.Errorf("GET %s: %d, want %q in\n%.600s", path, st, want, body)
			}
		}
		check(link, "报告真实有效，内容为最新")
		check(strings.Replace(link, "?h=", "?h=0", 1)[:len(link)], "无法验证，可能被篡改")
		if _, err := d.rec.FileObjection(sys, d.penalty.ID, "处罚认定事实有误"); err != nil {
			t.Fatal(err)
		}
		check(link, "报告真实，但信息已有更新")
		_, body, _ = d.get(t, "/subjects/"+mid)
		if !strings.Contains(body, "异议处理中") {
			t.Errorf("profile does not show the objection")
		}

		// Personal data stays masked on every public page about the person.
		sid := strconv.FormatInt(d.seller.ID, 10)
		for _, p := range []string{"/subjects/" + sid, "/subjects/" + sid + "/report", "/search?q=" + urlq("张")} {
			_, body, _ := d.get(t, p)
			d.noPersonal(t, p, body)
		}
		_, body, _ = d.get(t, "/subjects/"+sid+"/report")
		if !strings.Contains(body, "销售过期食品") || !strings.Contains(body, pii.MaskID(d.sellerID)) {
			t.Errorf("person report lacks the record or the masked ID")
		}
	})
}

func urlq(s string) string { return url.QueryEscape(s) }

// TestReportPDF renders the PDF through Chromium and reads it back with
// pdftotext: the Chinese text and every character of the credit code are
// there.
func TestReportPDF(t *testing.T) {
	for _, bin := range []string{"chromium", "pdftotext"} {
		if _, err := exec.LookPath(bin); err != nil {
			if ci := os.Getenv("CI"); ci == "true" || ci == "1" {
				t.Fatalf("%s not installed and CI is set", bin)
			}
			t.Skipf("%s not installed", bin)
		}
	}
	r := pdf.New()
	defer r.Close()
	db := storetest.Open(t, sqlstore.EngineSQLite)
	d := newDiscEnv(t, db, r)
	for _, s := range []struct{ id int64 }{{d.merchant.ID}, {d.seller.ID}} {
		st, body, hdr := d.get(t, "/subjects/"+strconv.FormatInt(s.id, 10)+"/report.pdf")
		if st != 200 || hdr.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(body, "%PDF-") {
			t.Fatalf("pdf: %d %q %.200s\n%s", st, hdr.Get("Content-Type"), body, d.logs.String())
		}
		f := filepath.Join(t.TempDir(), "r.pdf")
		if dir := os.Getenv("ECREDIT_PDF_OUT"); dir != "" { // keep the PDFs for a look
			f = filepath.Join(dir, "report-"+strconv.FormatInt(s.id, 10)+".pdf")
		}
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("pdftotext", "-enc", "UTF-8", f, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		text := string(out)
		if s.id == d.merchant.ID {
			for _, w := range []string{"信用报告", d.merchant.Name, d.merchant.CreditCode, "食品经营许可证", "虚假宣传", "账本证明", "报告编号"} {
				if !strings.Contains(text, w) {
					t.Errorf("PDF text lacks %q:\n%s", w, text)
				}
			}
		} else {
			d.noPersonal(t, "person PDF", text)
			if !strings.Contains(text, "销售过期食品") {
				t.Errorf("person PDF lacks the record:\n%s", text)
			}
		}
	}
}

// fakePDF records the document it is given.
type fakePDF struct{ html []byte }

func (f *fakePDF) PDF(_ context.Context, h []byte) ([]byte, error) {
	f.html = append([]byte(nil), h...)
	return []byte("%PDF-1.7 fake"), nil
}

// The print document is self-contained: inline style, the QR code as a
// data: URI, nothing loaded from a server.
func TestReportPrintDocument(t *testing.T) {
	f := &fakePDF{}
	d := newDiscEnv(t, storetest.Open(t, sqlstore.EngineSQLite), f)
	st, body, _ := d.get(t, "/subjects/"+strconv.FormatInt(d.merchant.ID, 10)+"/report.pdf")
	if st != 200 || body != "%PDF-1.7 fake" {
		t.Fatalf("pdf: %d %q", st, body)
	}
	doc := string(f.html)
	for _, w := range []string{"<!DOCTYPE html>", "<style>", ".report {", `src="data:image/png;base64,`, d.merchant.CreditCode, "食品经营许可证"} {
		if !strings.Contains(doc, w) {
			t.Errorf("print document lacks %q", w)
		}
	}
	for _, bad := range []string{`<link`, `src="/`, `src="http`, `href="/static`} {
		if strings.Contains(doc, bad) {
			t.Errorf("print document loads %q from elsewhere", bad)
		}
	}
}
