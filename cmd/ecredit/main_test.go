package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"ecredit/code"
)

// binary is the real ecredit, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ecredit-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "ecredit")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build ecredit:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	c := m.Run()
	os.RemoveAll(dir)
	os.Exit(c)
}

func strconvI(n int64) string { return strconv.FormatInt(n, 10) }

// createDatabase makes a uniquely named database on the PostgreSQL server at
// base and returns its URL; it is dropped when t ends.
func createDatabase(t *testing.T, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "ecredit_e2e_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// server is a running `ecredit serve` subprocess.
type server struct {
	cmd  *exec.Cmd
	url  string
	mu   sync.Mutex
	log  bytes.Buffer
	done chan error
}

func (s *server) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

var servingRE = regexp.MustCompile(`serving on (http://[0-9.:]+/)`)

// startServer starts the binary and waits until its log names the address.
func startServer(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	s := &server{cmd: exec.Command(binary, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...), done: make(chan error, 1)}
	s.cmd.Env = append(os.Environ(), env...)
	pipe, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout = io.Discard
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.log.WriteString(line + "\n")
			s.mu.Unlock()
			if m := servingRE.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		s.done <- s.cmd.Wait()
	}()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
		}
	})
	select {
	case s.url = <-found:
	case err := <-s.done:
		t.Fatalf("server exited before serving: %v\n%s", err, s.logText())
	case <-time.After(5 * time.Minute): // a hang, not a performance bound
		t.Fatalf("server did not start\n%s", s.logText())
	}
	return s
}

// stop sends SIGINT and checks the process exits 0 within 15 s.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("server exit: %v\n%s", err, s.logText())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("server still running 15 s after SIGINT\n%s", s.logText())
	}
	if !strings.Contains(s.logText(), "已停止") {
		t.Errorf("no clean-shutdown line in the log:\n%s", s.logText())
	}
}

// cli runs the binary as a separate process.
func cli(t *testing.T, env []string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errb.String()
}

func request(t *testing.T, method, u, key string, body any) (int, []byte, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

// TestEndToEnd runs the real binary: serve --demo on a fresh data
// directory, a second process creating an account on the same store while
// the server runs, the API used with that key, then SIGINT.
func TestEndToEnd(t *testing.T) {
	engines := []string{"sqlite"}
	if os.Getenv("ECREDIT_TEST_PG") != "" {
		engines = append(engines, "postgres")
	} else if ci := strings.ToLower(os.Getenv("CI")); ci == "true" || ci == "1" {
		t.Fatal("ECREDIT_TEST_PG is not set and CI is: the PostgreSQL end-to-end test must not be skipped")
	}
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			data := t.TempDir()
			env := []string{"ECREDIT_DATA=", "ECREDIT_DB=", "ECREDIT_PII_KEY=", "ECREDIT_PII_KEY_FILE=", "ECREDIT_ADDR="}
			store := []string{"--data", data}
			if engine == "postgres" {
				k := make([]byte, 32)
				rand.Read(k)
				env = append(env, "ECREDIT_PII_KEY="+hex.EncodeToString(k))
				store = append(store, "--db", createDatabase(t, os.Getenv("ECREDIT_TEST_PG")))
			}
			endToEnd(t, env, store)
		})
	}
}

func endToEnd(t *testing.T, env, store []string) {
	srv := startServer(t, env, append(store, "--demo", "--demo-subjects", "300")...)
	logText := srv.logText()
	if !strings.Contains(logText, "浏览器打开 "+srv.url) || !strings.Contains(logText, "300/300") {
		t.Errorf("log lacks the browser hint or demo progress:\n%s", logText)
	}
	// The server warns when its database does not sync each commit: never
	// on SQLite (synchronous=FULL); on PostgreSQL when the server says so,
	// as the test script's throwaway cluster (fsync=off) does.
	warned := strings.Contains(logText, "已确认的写入可能丢失")
	if pg := store[len(store)-2] == "--db"; pg {
		db, err := sql.Open("pgx", store[len(store)-1])
		if err != nil {
			t.Fatal(err)
		}
		var off []string
		for _, name := range []string{"fsync", "synchronous_commit", "full_page_writes"} {
			var v string
			if err := db.QueryRow("SHOW " + name).Scan(&v); err != nil {
				t.Fatal(err)
			}
			if v == "off" {
				off = append(off, name+"=off")
			}
		}
		db.Close()
		if warned != (len(off) > 0) || !strings.Contains(logText, strings.Join(off, " ")) {
			t.Errorf("PostgreSQL with %v off: durability warning %v in the log:\n%s", off, warned, logText)
		}
	} else if warned {
		t.Errorf("SQLite: durability warning in the log:\n%s", logText)
	}
	data := store[1]
	creds, err := os.ReadFile(filepath.Join(data, credentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(data, credentialsFile)); st.Mode().Perm() != 0o600 {
		t.Errorf("credentials mode %v", st.Mode())
	}

	if c, body, _ := request(t, "GET", srv.url+"healthz", "", nil); c != http.StatusOK {
		t.Fatalf("GET /healthz = %d %s", c, body)
	}
	c, body, h := request(t, "GET", srv.url, "", nil)
	if c != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "信用") {
		t.Fatalf("GET / = %d %s %.300s", c, h.Get("Content-Type"), body)
	}
	if h.Get("X-Request-Id") == "" || h.Get("Content-Security-Policy") == "" {
		t.Errorf("GET / lacks request id or CSP: %v", h)
	}

	// `ecredit code --json` and GET /api/v1/codes/{code} give the same
	// answer for valid, warned and invalid codes of every kind.
	codes := []string{"91350100M000100Y43", "91350203M0001QKT19", "91110000600037341N", "11010519491231002X",
		"110105491231002", "36042619910102009X", "6901234567892", "6901234567893", "130802", "not-a-code"}
	_, out, _ := cli(t, env, "", append([]string{"code", "--json"}, codes...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(codes) {
		t.Fatalf("ecredit code --json printed %d lines for %d codes:\n%s", len(lines), len(codes), out)
	}
	for i, c := range codes {
		st, body, _ := request(t, "GET", srv.url+"api/v1/codes/"+c, "", nil)
		if st != http.StatusOK {
			t.Fatalf("GET /api/v1/codes/%s = %d %s", c, st, body)
		}
		if got := strings.TrimSpace(string(body)); got != lines[i] {
			t.Errorf("code %s: the CLI and the API disagree:\ncli %s\napi %s", c, lines[i], got)
		}
	}

	// A second process works on the same store while the server runs.
	c, out, errOut := cli(t, env, "", append([]string{"account", "create", "--role", "admin", "--name", "测试管理员"}, store...)...)
	if c != 0 {
		t.Fatalf("account create = %d\n%s\n%s", c, out, errOut)
	}
	key := keyRE.FindString(out)
	if key == "" {
		t.Fatalf("no key in %q", out)
	}

	cc, err := code.MakeUSCC('9', '1', "130802", "MA0E2E01")
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]any{"kind": "merchant", "name": "承德市双桥区端到端测试食品有限公司", "credit_code": cc, "legal_rep": "王测试"}
	c, body, h = request(t, "POST", srv.url+"api/v1/subjects", key, in)
	if c != http.StatusCreated {
		t.Fatalf("POST /api/v1/subjects = %d %s", c, body)
	}
	var created struct {
		ID         int64  `json:"id"`
		Name       string `json:"name"`
		CreditCode string `json:"credit_code"`
		RegionCode string `json:"region_code"`
	}
	if err := json.Unmarshal(body, &created); err != nil || created.ID == 0 {
		t.Fatalf("created %s: %v", body, err)
	}
	if loc := h.Get("Location"); loc != fmt.Sprintf("/api/v1/subjects/%d", created.ID) {
		t.Errorf("Location %q", loc)
	}
	c, body, _ = request(t, "GET", fmt.Sprintf("%sapi/v1/subjects/%d", srv.url, created.ID), key, nil)
	var got struct {
		ID         int64  `json:"id"`
		Name       string `json:"name"`
		CreditCode string `json:"credit_code"`
		RegionCode string `json:"region_code"`
	}
	if c != http.StatusOK || json.Unmarshal(body, &got) != nil || got != created || got.CreditCode != cc || got.RegionCode != "130802" {
		t.Fatalf("GET subject = %d %s, created %+v", c, body, created)
	}
	// The same code again is a conflict naming the field; no key is 401.
	if c, body, _ := request(t, "POST", srv.url+"api/v1/subjects", key, in); c != http.StatusConflict || !strings.Contains(string(body), `"credit_code"`) {
		t.Errorf("duplicate = %d %s", c, body)
	}
	if c, _, _ := request(t, "POST", srv.url+"api/v1/subjects", "", in); c != http.StatusUnauthorized {
		t.Errorf("no key = %d", c)
	}

	// A demo platform's key from the credentials file sees only its shops.
	keys := anyKeyRE.FindAllString(string(creds), -1)
	if len(keys) < 3 {
		t.Fatalf("credentials:\n%s", creds)
	}
	platformKey := keys[2] // admin, department, then the platforms
	c, body, _ = request(t, "GET", srv.url+"api/v1/shops", platformKey, nil)
	if c != http.StatusOK || !strings.Contains(string(body), "shanzhuangyoupin.cn") || strings.Contains(string(body), "bishu-mall.cn") {
		t.Errorf("platform shops = %d %.400s", c, body)
	}
	tradeEndToEnd(t, srv, platformKey) // trade (M5)

	// ecredit code agrees on the exit status.
	if c, _, _ := cli(t, env, "", "code", cc); c != 0 {
		t.Errorf("ecredit code valid = %d", c)
	}
	if c, _, _ := cli(t, env, "", "code", cc[:17]+"I"); c != 1 {
		t.Errorf("ecredit code invalid = %d", c)
	}
	if c, _, _ := cli(t, env, "", "code", "--no-such-flag"); c != 2 {
		t.Errorf("ecredit code bad flag = %d", c)
	}

	importAndVerify(t, env, store, srv, key)

	srv.stop(t)

	// A restart with --demo keeps the data and says where the credentials are.
	srv = startServer(t, env, append(store, "--demo")...)
	if !strings.Contains(srv.logText(), "不再生成演示数据") || !strings.Contains(srv.logText(), credentialsFile) {
		t.Errorf("restart log:\n%s", srv.logText())
	}
	c, body, _ = request(t, "GET", fmt.Sprintf("%sapi/v1/subjects/%d", srv.url, created.ID), key, nil)
	if c != http.StatusOK {
		t.Errorf("after restart GET subject = %d %s", c, body)
	}
	srv.stop(t)
}

// importAndVerify imports a GB18030 双公示 file with the real binary into
// the running server's store, reads the records over HTTP, checks the
// ledger with `ecredit ledger verify`, then edits a record row directly in
// the database and expects verify to fail naming that record.
func importAndVerify(t *testing.T, env, store []string, srv *server, key string) {
	file := filepath.Join("..", "..", "imports", "testdata", "penalty_gb18030.csv")
	c, out, errOut := cli(t, env, "", append([]string{"import", "--type", "penalty", "--source", "承德市市场监督管理局", file}, store...)...)
	if c != 1 || !strings.Contains(errOut, "共 10 行：新增 6，未变 0，更正 0，失败 4") {
		t.Fatalf("import = %d\nstdout: %s\nstderr: %s", c, out, errOut)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 5 || !strings.HasPrefix(lines[0], "行号,列,错误信息") ||
		!strings.Contains(out, "统一社会信用代码") || !strings.Contains(out, "处罚决定日期") {
		t.Errorf("error report:\n%s", out)
	}
	// again: nothing new
	if c, _, errOut := cli(t, env, "", append([]string{"import", "--type", "penalty", "--source", "承德市市场监督管理局", file}, store...)...); c != 1 || !strings.Contains(errOut, "新增 0，未变 6") {
		t.Errorf("re-import = %d %s", c, errOut)
	}

	// the subject (created pending by the import) and its record over HTTP
	c, body, _ := request(t, "GET", srv.url+"api/v1/subjects/by-code/91130802MA0A1B2C2Y", key, nil)
	var sub struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	if c != http.StatusOK || json.Unmarshal(body, &sub) != nil || sub.Status != "pending" {
		t.Fatalf("subject by code = %d %s", c, body)
	}
	c, body, _ = request(t, "GET", fmt.Sprintf("%sapi/v1/subjects/%d/records", srv.url, sub.ID), key, nil)
	var recs struct {
		Items []struct {
			ID        int64             `json:"id"`
			SourceRef string            `json:"source_ref"`
			Source    string            `json:"source"`
			Fields    map[string]string `json:"fields"`
		} `json:"items"`
	}
	if c != http.StatusOK || json.Unmarshal(body, &recs) != nil || len(recs.Items) != 1 || recs.Items[0].SourceRef != "承双市监罚〔2025〕101号" ||
		recs.Items[0].Source != "承德市市场监督管理局" || recs.Items[0].Fields["fine"] != "0.2" {
		t.Fatalf("subject records = %d %s", c, body)
	}
	recID := recs.Items[0].ID
	// a signed checkpoint over the grown ledger, and its key
	c, body, h := request(t, "GET", srv.url+"api/v1/ledger/checkpoint", "", nil)
	if c != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") || !strings.HasPrefix(string(body), "ecredit.chengde.gov.cn/ledger\n") {
		t.Errorf("checkpoint = %d %s", c, body)
	}
	c, body, _ = request(t, "GET", fmt.Sprintf("%sapi/v1/records/%d/proof", srv.url, recID), key, nil)
	if c != http.StatusOK || !strings.Contains(string(body), `"entries":[{`) {
		t.Errorf("record proof = %d %.300s", c, body)
	}

	// The imported penalty is light (a 2000 yuan fine) and its three months
	// of publicity are over; a general one decided ten days ago is public.
	const docNo = "承双市监罚〔2026〕901号"
	decided := time.Now().AddDate(0, 0, -10).Format("2006-01-02")
	c, body, _ = request(t, "POST", srv.url+"api/v1/records", key, map[string]any{"type": "penalty", "fields": map[string]string{
		"行政相对人名称": "承德市双桥区优品电子商务有限公司", "CF_XDR_SHXYM": "91130802MA0A1B2C2Y", "doc_no": docNo,
		"违法行为类型": "虚假宣传", "违法事实": "网店宣传无事实依据", "处罚依据": "《中华人民共和国反不正当竞争法》第二十条",
		"处罚类别": "罚款", "处罚内容": "罚款人民币5万元", "罚款金额（万元）": "5", "处罚决定日期": decided,
		"处罚机关": "承德市双桥区市场监督管理局", "处罚机关统一社会信用代码": "11130800000001257M"}})
	if c != http.StatusCreated {
		t.Fatalf("POST /api/v1/records = %d %s", c, body)
	}

	// The public sees it: the JSON profile, the portal profile, the credit
	// report and the report's verification page.
	c, body, _ = request(t, "GET", srv.url+"api/v1/public/subjects/91130802MA0A1B2C2Y", "", nil)
	if c != http.StatusOK || !strings.Contains(string(body), docNo) {
		t.Errorf("public profile JSON = %d %.500s", c, body)
	}
	c, body, _ = request(t, "GET", fmt.Sprintf("%ssubjects/%d", srv.url, sub.ID), "", nil)
	if c != http.StatusOK || !strings.Contains(string(body), docNo) {
		t.Errorf("public profile page = %d, record %s missing", c, docNo)
	}
	c, body, _ = request(t, "GET", fmt.Sprintf("%ssubjects/%d/report", srv.url, sub.ID), "", nil)
	link := regexp.MustCompile(`/verify/[^"'<> ]+`).FindString(string(body))
	if c != http.StatusOK || !strings.Contains(string(body), docNo) || link == "" {
		t.Fatalf("credit report = %d, verify link %q", c, link)
	}
	c, body, _ = request(t, "GET", srv.url+strings.TrimPrefix(html.UnescapeString(link), "/"), "", nil)
	if c != http.StatusOK || !strings.Contains(string(body), "报告真实有效") {
		t.Errorf("report verification = %d %.300s", c, body)
	}

	if c, out, errOut := cli(t, env, "", append([]string{"ledger", "verify"}, store...)...); c != 0 {
		t.Fatalf("ledger verify = %d\nstdout: %s\nstderr: %s", c, out, errOut)
	}

	// Someone edits the record row directly in the database.
	driver, dsn := "sqlite", filepath.Join(store[1], "ecredit.db")
	if len(store) > 3 && store[2] == "--db" {
		driver, dsn = "pgx", store[3]
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := "UPDATE records SET fields = replace(fields, '0.2', '0.02') WHERE id = " + strconvI(recID)
	if res, err := db.Exec(q); err != nil {
		t.Fatal(err)
	} else if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("tamper: %d rows", n)
	}
	c, out, errOut = cli(t, env, "", append([]string{"ledger", "verify"}, store...)...)
	if c == 0 || !strings.Contains(out, fmt.Sprintf("record %d", recID)) {
		t.Errorf("ledger verify after tampering = %d\nstdout: %s\nstderr: %s", c, out, errOut)
	}
	// Put it back: the ledger verifies again.
	if _, err := db.Exec("UPDATE records SET fields = replace(fields, '0.02', '0.2') WHERE id = " + strconvI(recID)); err != nil {
		t.Fatal(err)
	}
	if c, out, errOut := cli(t, env, "", append([]string{"ledger", "verify"}, store...)...); c != 0 {
		t.Errorf("ledger verify after repair = %d\nstdout: %s\nstderr: %s", c, out, errOut)
	}
}
