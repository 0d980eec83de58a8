package main

// The crash harness: the real binary is killed with SIGKILL at random
// (seeded) points while a separate `ecredit import` process and API
// clients write (records and subjects; a platform's orders and a
// logistics firm's parcels and tracking events, crash_trade_test.go),
// then restarted, again and again; after every kill and at
// the end the store must hold every acknowledged write exactly once,
// nothing that was rejected, a sound SQLite file, a ledger that verifies
// and as many record ledger entries as record events. On PostgreSQL the
// same runs on the shared test server, and a throwaway cluster of its own
// is crashed (pg_ctl stop -m immediate) under load: the API must answer
// 503, never 500, /healthz must say so, and writes must succeed again once
// the database is back, with nothing acknowledged lost.
//
// CI runs 20 kills per engine; the long version:
//
//	go test ./cmd/ecredit -run TestCrash -crash.kills=200 -crash.rows=20000 -timeout 1h
//
// (or ECREDIT_CRASH_KILLS=200). -crash.seed=N replays a run; the seed is
// logged.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ecredit/code"
	"ecredit/sqlstore"
)

var (
	crashKills = flag.Int("crash.kills", 0, "SIGKILLs of the server per engine in TestCrash (default 20, or $ECREDIT_CRASH_KILLS)")
	crashSeed  = flag.Int64("crash.seed", 0, "seed of TestCrash's kill points and writes (default: from the clock; logged)")
	crashRows  = flag.Int("crash.rows", 0, "rows per generated import file in TestCrash (default 1200)")
)

// crashConfig returns the number of kills, the seed and the rows per
// import file.
func crashConfig(t *testing.T) (int, int64, int) {
	kills := *crashKills
	if kills == 0 {
		if v, err := strconv.Atoi(os.Getenv("ECREDIT_CRASH_KILLS")); err == nil && v > 0 {
			kills = v
		} else {
			kills = 20
		}
	}
	seed := *crashSeed
	if seed == 0 {
		seed = time.Now().UnixNano() % 1_000_000_007
	}
	rows := *crashRows
	if rows <= 0 {
		rows = 1200
	}
	return kills, seed, rows
}

// engines returns the engines end-to-end tests run on: SQLite, and
// PostgreSQL when ECREDIT_TEST_PG is set (CI must set it).
func engines(t *testing.T) []string {
	es := []string{"sqlite"}
	if os.Getenv("ECREDIT_TEST_PG") != "" {
		es = append(es, "postgres")
	} else if ci := strings.ToLower(os.Getenv("CI")); ci == "true" || ci == "1" {
		t.Fatal("ECREDIT_TEST_PG is not set and CI is: the PostgreSQL end-to-end tests must not be skipped")
	}
	return es
}

// e2eStore is a fresh store for the binary: a data directory and, on
// PostgreSQL, a database and a PII key in the environment.
type e2eStore struct {
	engine string
	env    []string
	args   []string // --data DIR [--db URL]
	data   string
	driver string // for direct reads by the test
	dsn    string
}

// newE2EStore returns a store on engine; on PostgreSQL pgDSN names the
// (fresh) database.
func newE2EStore(t *testing.T, engine, pgDSN string) *e2eStore {
	t.Helper()
	s := &e2eStore{engine: engine, data: t.TempDir(),
		env: []string{"ECREDIT_DATA=", "ECREDIT_DB=", "ECREDIT_PII_KEY=", "ECREDIT_PII_KEY_FILE=", "ECREDIT_ADDR=", "ECREDIT_LEDGER_KEY_FILE="}}
	s.args = []string{"--data", s.data}
	s.driver, s.dsn = "sqlite", filepath.Join(s.data, "ecredit.db")
	if engine == "postgres" {
		k := make([]byte, 32)
		rand.Read(k)
		s.env = append(s.env, "ECREDIT_PII_KEY="+hex.EncodeToString(k))
		s.driver, s.dsn = "pgx", pgDSN
		s.args = append(s.args, "--db", s.dsn)
	}
	return s
}

// adminKey creates an admin account with the binary and returns its key.
func (s *e2eStore) adminKey(t *testing.T) string {
	t.Helper()
	c, out, errOut := cli(t, s.env, "", append([]string{"account", "create", "--role", "admin", "--name", "崩溃测试管理员"}, s.args...)...)
	key := keyRE.FindString(out)
	if c != 0 || key == "" {
		t.Fatalf("account create = %d\n%s\n%s", c, out, errOut)
	}
	return key
}

// open opens the store for the test's own reads (query-only on SQLite).
func (s *e2eStore) open(t *testing.T) *sql.DB {
	t.Helper()
	if s.driver == "sqlite" {
		db, err := sqlstore.OpenSQLiteReadOnly(s.dsn)
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db, err := sql.Open("pgx", s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// verifyLedger runs `ecredit ledger verify` and fails t unless it exits 0.
func (s *e2eStore) verifyLedger(t *testing.T, when string) {
	t.Helper()
	if c, out, errOut := cli(t, s.env, "", append([]string{"ledger", "verify"}, s.args...)...); c != 0 {
		t.Fatalf("%s: ledger verify = %d\nstdout: %s\nstderr: %s", when, c, out, errOut)
	}
}

// fate is what the harness knows of a write.
type fate int

const (
	fateUnknown  fate = iota // no answer (connection cut, 503): stored at most once
	fateAcked                // 2xx: must be stored exactly once, with this id
	fateRejected             // 4xx: must never be stored
)

type outcome struct {
	fate fate
	id   int64 // 0 when the answer carries none (imports)
}

// tracker is the history of every write the harness made.
type tracker struct {
	mu       sync.Mutex
	records  map[string]outcome // by source ref (文书号)
	subjects map[string]outcome // by credit code
	orders   map[string]outcome // by order number (crash_trade_test.go)
	parcels  map[string]outcome // by waybill
	events   map[string]outcome // tracking events, by eventKey
	reviews  map[string]outcome // buyers' reviews, by "review|" and the order number
	trace    map[string]outcome // trace events, by "trace|" and the event id
	epcis    map[string]bool    // the trace events acknowledged from EPCIS documents
	statuses map[int]int        // HTTP statuses seen
	errors   int                // requests without an answer
	bad      []string           // answers that must never happen (5xx other than 503, …)
	servers  []*server          // whose error log lines a failed check shows
}

// errorLogs returns the servers' log lines of internal errors (the last
// 30).
func (tr *tracker) errorLogs() string {
	var lines []string
	for _, s := range tr.servers {
		for _, l := range strings.Split(s.logText(), "\n") {
			if strings.Contains(l, "code=internal") || strings.Contains(l, "status=500") || strings.Contains(l, "panic") {
				lines = append(lines, l)
			}
		}
	}
	return strings.Join(lines[max(0, len(lines)-30):], "\n")
}

func newTracker() *tracker {
	return &tracker{records: map[string]outcome{}, subjects: map[string]outcome{}, orders: map[string]outcome{}, parcels: map[string]outcome{},
		events: map[string]outcome{}, reviews: map[string]outcome{}, trace: map[string]outcome{}, epcis: map[string]bool{}, statuses: map[int]int{}}
}

// set records what became of key; an acknowledgement or a rejection is
// never downgraded to unknown.
func (tr *tracker) set(m map[string]outcome, key string, f fate, id int64) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	old, ok := m[key]
	switch {
	case !ok, f != fateUnknown && old.fate == fateUnknown:
		m[key] = outcome{f, id}
	case f == fateAcked && old.fate == fateAcked && id != 0 && old.id == 0:
		m[key] = outcome{f, id}
	case f == fateAcked && old.fate == fateAcked && id != 0 && id != old.id: // a resend answered another id
		tr.bad = append(tr.bad, fmt.Sprintf("%s: acknowledged as %d, then as %d", key, old.id, id))
	case f != fateUnknown && old.fate != fateUnknown && f != old.fate:
		tr.bad = append(tr.bad, fmt.Sprintf("%s: first %v, then %v", key, old.fate, f))
	}
}

func (tr *tracker) status(code int) {
	tr.mu.Lock()
	tr.statuses[code]++
	tr.mu.Unlock()
}

func (tr *tracker) badAnswer(format string, args ...any) {
	tr.mu.Lock()
	tr.bad = append(tr.bad, fmt.Sprintf(format, args...))
	tr.mu.Unlock()
}

// checkStats are the figures of one check.
type checkStats struct {
	records, subjects       int64 // stored (of the harness's)
	ackedRecords, ackedSubj int64 // acknowledged, found once
	orders, reviews         int64 // stored (crash_trade_test.go)
	parcels, events, trace  int64
	ackedTrade              int64 // acknowledged orders, parcels and events, found once
	rejected, unknownStored int64 // rejected and absent; unanswered but stored
	ledger                  int64
}

// checkRow is what the check finds stored of one key: how many rows, and
// the id of the (last) one.
type checkRow struct {
	n  int
	id int64
}

// check compares the store with the history: every acknowledged record,
// subject, order, parcel and tracking event present exactly once (with
// its id), nothing rejected present, nothing present that was never sent,
// every record with its events, every order with its items, every
// parcel's count of events its track's, as many record ledger entries as
// record events, a ledger without gaps, and on SQLite a sound file.
func (tr *tracker) check(t *testing.T, s *e2eStore, when string) checkStats {
	t.Helper()
	// A bound, not a budget: the long run's stores (20,000 rows a file,
	// hundreds of kills) take minutes to read back and check on a busy
	// machine, and a check cut short proves nothing either way (a 2-minute
	// bound stopped a 200-kill run at kill 64 with every other check
	// passing).
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	// The history first, then the store in one snapshot: whatever was
	// acknowledged before the snapshot must be in it, even while an
	// importer goes on writing.
	tr.mu.Lock()
	records, subjects := maps.Clone(tr.records), maps.Clone(tr.subjects)
	orders, reviews, parcels, trackEvents, traceEvents := maps.Clone(tr.orders), maps.Clone(tr.reviews), maps.Clone(tr.parcels), maps.Clone(tr.events), maps.Clone(tr.trace)
	bad := tr.bad
	tr.bad = nil
	tr.mu.Unlock()
	db := s.open(t)
	defer db.Close()
	opts := &sql.TxOptions{ReadOnly: true}
	if s.driver == "pgx" {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	defer tx.Rollback()
	var st checkStats
	collect := func(q string) map[string]checkRow {
		rows, err := tx.QueryContext(ctx, q)
		if err != nil {
			t.Fatalf("%s: %s: %v", when, q, err)
		}
		defer rows.Close()
		out := map[string]checkRow{}
		for rows.Next() {
			var k string
			var r checkRow
			if err := rows.Scan(&k, &r.n, &r.id); err != nil {
				t.Fatal(err)
			}
			out[k] = r
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	recs := collect("SELECT source_ref, COUNT(*), MIN(id) FROM records GROUP BY source_ref")
	subs := collect("SELECT credit_code, COUNT(*), MIN(id) FROM subjects WHERE credit_code LIKE '%" + subjectMark + "%' GROUP BY credit_code")

	var problems []string
	compare := func(what string, want map[string]outcome, got map[string]checkRow, acked *int64) {
		for k, o := range want {
			g := got[k]
			switch {
			case o.fate == fateAcked && g.n != 1:
				problems = append(problems, fmt.Sprintf("acknowledged %s %s stored %d times", what, k, g.n))
			case o.fate == fateAcked && o.id != 0 && g.id != o.id:
				problems = append(problems, fmt.Sprintf("acknowledged %s %s answered id %d, stored as %d", what, k, o.id, g.id))
			case o.fate == fateRejected && g.n != 0:
				problems = append(problems, fmt.Sprintf("rejected %s %s stored %d times", what, k, g.n))
			case o.fate == fateUnknown && g.n > 1:
				problems = append(problems, fmt.Sprintf("%s %s stored %d times", what, k, g.n))
			}
			switch {
			case o.fate == fateAcked:
				*acked++
			case o.fate == fateRejected:
				st.rejected++
			case g.n > 0:
				st.unknownStored++
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				problems = append(problems, fmt.Sprintf("%s %s stored but never sent", what, k))
			}
		}
	}
	compare("record", records, recs, &st.ackedRecords)
	compare("subject", subjects, subs, &st.ackedSubj)
	st.records, st.subjects = int64(len(recs)), int64(len(subs))
	trade, err := tradeRows(ctx, tx)
	if err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	problems = append(problems, trade.problems...)
	compare("order", orders, trade.orders, &st.ackedTrade)
	compare("review", reviews, trade.reviews, &st.ackedTrade)
	compare("parcel", parcels, trade.parcels, &st.ackedTrade)
	compare("tracking event", trackEvents, trade.events, &st.ackedTrade)
	compare("trace event", traceEvents, trade.trace, &st.ackedTrade)
	st.orders, st.reviews, st.parcels, st.events, st.trace = int64(len(trade.orders)), int64(len(trade.reviews)), int64(len(trade.parcels)), int64(len(trade.events)), int64(len(trade.trace))

	var events, ledgerRecords, ledgerSize, ledgerMax, orphans int64
	for _, q := range []struct {
		sql string
		dst *int64
	}{
		{"SELECT COUNT(*) FROM record_events", &events},
		{"SELECT COUNT(*) FROM ledger_entries WHERE kind = 'record'", &ledgerRecords},
		{"SELECT COUNT(*) FROM ledger_entries", &ledgerSize},
		{"SELECT COALESCE(MAX(idx), -1) + 1 FROM ledger_entries", &ledgerMax},
		{"SELECT COUNT(*) FROM records r WHERE NOT EXISTS (SELECT 1 FROM record_events e WHERE e.record_id = r.id)", &orphans},
	} {
		if err := tx.QueryRowContext(ctx, q.sql).Scan(q.dst); err != nil {
			t.Fatalf("%s: %s: %v", when, q.sql, err)
		}
	}
	if events != ledgerRecords {
		problems = append(problems, fmt.Sprintf("%d record events but %d record ledger entries", events, ledgerRecords))
	}
	if ledgerSize != ledgerMax {
		problems = append(problems, fmt.Sprintf("ledger has %d entries but its last index is %d", ledgerSize, ledgerMax-1))
	}
	if orphans != 0 {
		problems = append(problems, fmt.Sprintf("%d records without an event", orphans))
	}
	if s.driver == "sqlite" {
		if err := sqlstore.IntegrityCheck(ctx, tx); err != nil {
			problems = append(problems, err.Error())
		}
	}
	problems = append(problems, bad...)
	if len(problems) > 0 {
		sort.Strings(problems)
		t.Fatalf("%s: %d problems:\n%s\nserver errors:\n%s", when, len(problems), strings.Join(problems[:min(40, len(problems))], "\n"), tr.errorLogs())
	}
	st.ledger = ledgerSize
	return st
}

// subjectMark is in the organisation body of every credit code of a
// subject the API writers register, so that the check finds them among
// the subjects records create.
const subjectMark = "CW"

// credit returns a valid credit code whose organisation body is two
// letters and six digits of n.
func credit(t *testing.T, prefix string, n int64) string {
	c, err := code.MakeUSCC('9', '1', "130802", fmt.Sprintf("%s%06d", prefix, n%1_000_000))
	if err != nil {
		t.Fatalf("MakeUSCC: %v", err)
	}
	return c
}

// penalty returns the fields of a penalty record on the subject cc.
func penalty(cc, ref string, valid bool) map[string]string {
	date := time.Now().AddDate(0, 0, -20).Format("2006-01-02")
	if !valid {
		date = "2025-02-30"
	}
	return map[string]string{"行政相对人名称": "承德市双桥区崩溃测试商贸有限公司", "CF_XDR_SHXYM": cc, "doc_no": ref,
		"违法行为类型": "虚假宣传", "违法事实": "网店宣传无事实依据", "处罚依据": "《中华人民共和国反不正当竞争法》第二十条",
		"处罚类别": "罚款", "处罚内容": "罚款人民币1万元", "罚款金额（万元）": "1", "处罚决定日期": date,
		"处罚机关": "承德市双桥区市场监督管理局", "处罚机关统一社会信用代码": "11130800000001257M"}
}

// apiWriter writes through the API until its context ends: single
// records, NDJSON batches and subjects, a few of each deliberately
// invalid, recording every answer in the tracker.
type apiWriter struct {
	t      *testing.T
	tr     *tracker
	key    string
	base   func() string
	client *http.Client
	seq    *atomic.Int64
	rnd    *mrand.Rand
	name   string
	// trade, when set, makes the writer a platform's or a logistics
	// firm's (crash_trade_test.go), with its state kept across kills.
	trade *tradeFeed
	// slow is the longest request seen, and hung counts requests that
	// ended by the client's timeout.
	slow     time.Duration
	slowWhat string
	hung     int
	// ok2xx counts acknowledged writes, and lastOK is the time of the
	// latest.
	ok2xx  atomic.Int64
	lastOK atomic.Int64
}

func (w *apiWriter) run(ctx context.Context) {
	for ctx.Err() == nil {
		switch {
		case w.trade == nil:
			w.once(ctx)
		case w.trade.kind == feedOrders:
			w.onceOrders(ctx)
		case w.trade.kind == feedParcels:
			w.onceParcels(ctx)
		default:
			w.onceTrace(ctx)
		}
	}
}

func (w *apiWriter) once(ctx context.Context) {
	n := w.seq.Add(1)
	ref := fmt.Sprintf("CRASH-%s-%07d", w.name, n)
	cc := credit(w.t, "CR", n%97) // records share a few subjects, created pending
	p := w.rnd.IntN(100)
	switch {
	case p < 40: // one record
		valid := w.rnd.IntN(10) > 0
		body, _ := json.Marshal(map[string]any{"type": "penalty", "fields": penalty(cc, ref, valid)})
		status, resp := w.post(ctx, "api/v1/records", "application/json", body)
		w.single(w.tr.records, ref, status, resp, valid)
	case p < 70: // an NDJSON batch
		var b bytes.Buffer
		refs := make([]string, 5+w.rnd.IntN(20))
		valid := make([]bool, len(refs))
		for i := range refs {
			refs[i] = fmt.Sprintf("%s-%02d", ref, i)
			valid[i] = w.rnd.IntN(10) > 0
			line, _ := json.Marshal(map[string]any{"type": "penalty", "fields": penalty(credit(w.t, "CR", (n+int64(i))%97), refs[i], valid[i])})
			b.Write(line)
			b.WriteByte('\n')
		}
		status, resp := w.post(ctx, "api/v1/records/batch", "application/x-ndjson", b.Bytes())
		if status != http.StatusOK {
			for i := range refs {
				w.single(w.tr.records, refs[i], status, nil, valid[i])
			}
			return
		}
		var res struct {
			Results []struct {
				Line   int    `json:"line"`
				Status string `json:"status"`
				ID     int64  `json:"id"`
				Error  *struct {
					Code string `json:"code"`
				} `json:"error"`
			} `json:"results"`
		}
		if err := json.Unmarshal(resp, &res); err != nil || len(res.Results) != len(refs) {
			w.tr.badAnswer("batch answer %.300s: %v", resp, err)
			return
		}
		for i, r := range res.Results {
			switch {
			case r.Line != i+1:
				w.tr.badAnswer("batch line %d answered as line %d", i+1, r.Line)
			case r.Status == "created" && valid[i] && r.ID > 0:
				w.tr.set(w.tr.records, refs[i], fateAcked, r.ID)
			case r.Status == "error" && r.Error != nil && r.Error.Code == "unavailable":
				w.tr.set(w.tr.records, refs[i], fateUnknown, 0)
			case r.Status == "error" && !valid[i] && r.Error != nil && r.Error.Code == "invalid":
				w.tr.set(w.tr.records, refs[i], fateRejected, 0)
			default:
				w.tr.badAnswer("batch line %d (valid %v): %+v", i+1, valid[i], r)
			}
		}
	default: // a subject
		valid := w.rnd.IntN(10) > 0
		cc := credit(w.t, subjectMark, n)
		if !valid { // a wrong check character
			last := cc[17]
			cc = cc[:17] + map[bool]string{true: "1", false: "0"}[last == '0']
		}
		body, _ := json.Marshal(map[string]any{"kind": "merchant", "name": fmt.Sprintf("承德市崩溃测试第%d号商贸有限公司", n), "credit_code": cc})
		status, resp := w.post(ctx, "api/v1/subjects", "application/json", body)
		w.single(w.tr.subjects, cc, status, resp, valid)
	}
}

// single records the answer to the write of key.
func (w *apiWriter) single(m map[string]outcome, key string, status int, resp []byte, valid bool) {
	switch {
	case status == 0, status == http.StatusServiceUnavailable, status == http.StatusTooManyRequests:
		w.tr.set(m, key, fateUnknown, 0)
	case (status == http.StatusCreated || status == http.StatusOK) && valid:
		var v struct {
			ID int64 `json:"id"`
		}
		if resp == nil { // a whole batch answered 2xx is handled line by line
			return
		}
		if err := json.Unmarshal(resp, &v); err != nil || v.ID == 0 {
			w.tr.badAnswer("%s: %d %.200s", key, status, resp)
			return
		}
		w.tr.set(m, key, fateAcked, v.ID)
	case status == http.StatusBadRequest && !valid:
		w.tr.set(m, key, fateRejected, 0)
	default:
		w.tr.badAnswer("%s (valid %v): status %d %.300s", key, valid, status, resp)
	}
}

// post sends one request; status 0 means no answer. After a failure it
// backs off briefly, as a client would.
func (w *apiWriter) post(ctx context.Context, path, ctype string, body []byte) (int, []byte) {
	req, err := http.NewRequestWithContext(ctx, "POST", w.base()+path, bytes.NewReader(body))
	if err != nil {
		w.t.Error(err)
		return 0, nil
	}
	req.Header.Set("Authorization", "Bearer "+w.key)
	req.Header.Set("Content-Type", ctype)
	start := time.Now()
	resp, err := w.client.Do(req)
	if d := time.Since(start); d > w.slow {
		w.slow, w.slowWhat = d, fmt.Sprintf("%s %s at %s", req.Method, path, start.Format("15:04:05.000"))
		if resp != nil {
			w.slowWhat += fmt.Sprintf(" → %d", resp.StatusCode)
		}
	}
	if err != nil {
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
			w.hung++
		}
		w.tr.mu.Lock()
		w.tr.errors++
		w.tr.mu.Unlock()
		sleepCtx(ctx, 20*time.Millisecond)
		return 0, nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		w.tr.mu.Lock()
		w.tr.errors++
		w.tr.mu.Unlock()
		return 0, nil
	}
	w.tr.status(resp.StatusCode)
	if resp.StatusCode/100 == 2 {
		w.ok2xx.Add(1)
		w.lastOK.Store(time.Now().UnixNano())
	} else if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		if resp.Header.Get("Retry-After") == "" {
			w.tr.badAnswer("%s %s: %d without Retry-After", req.Method, path, resp.StatusCode)
		}
		sleepCtx(ctx, 20*time.Millisecond)
	}
	return resp.StatusCode, b
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// writers runs n API writers until stop is called, which waits for them.
type writers struct {
	ws     []*apiWriter
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startWriters(t *testing.T, tr *tracker, key string, base func() string, seq *atomic.Int64, rnd *mrand.Rand, n int, timeout time.Duration, feeds ...*tradeFeed) *writers {
	ctx, cancel := context.WithCancel(context.Background())
	ws := &writers{cancel: cancel}
	client := &http.Client{Timeout: timeout}
	for i := range n + len(feeds) {
		w := &apiWriter{t: t, tr: tr, key: key, base: base, client: client, seq: seq,
			rnd: mrand.New(mrand.NewPCG(rnd.Uint64(), rnd.Uint64())), name: string(rune('A' + i))}
		if i >= n {
			w.trade = feeds[i-n]
			w.key, w.name = w.trade.key, w.trade.name
		}
		ws.ws = append(ws.ws, w)
		ws.wg.Add(1)
		go func() { defer ws.wg.Done(); w.run(ctx) }()
	}
	return ws
}

func (ws *writers) stop() {
	ws.cancel()
	ws.wg.Wait()
}

// importFile is one generated 双公示 penalty file.
type importFile struct {
	path  string
	refs  []string // by data row
	valid []bool
	done  bool
}

// importer runs `ecredit import` over generated files, one process at a
// time, recording each row a progress line acknowledges, and every row of
// a file whose import finishes: 双公示 penalty files (newImporter), or a
// platform's orders files and a logistics firm's parcels files, whose
// imports print no progress lines (crash_trade_test.go).
type importer struct {
	t       *testing.T
	s       *e2eStore
	tr      *tracker
	rows    int
	args    []string           // the import's flags before the store's
	fates   map[string]outcome // the tracker's map of the files' refs
	write   func(n int) *importFile
	files   []*importFile
	started int // processes started
	killed  int // processes SIGKILLed
	cmd     *exec.Cmd
	done    chan error
	active  chan struct{} // closed at the running process's first progress line or exit
	stderr  *bytes.Buffer
}

var progressRE = regexp.MustCompile(`已处理 (\d+) 行，成功 (\d+)，失败 (\d+)`)

// next returns the file to import: the first unfinished one, or a new one.
func (im *importer) next() *importFile {
	for _, f := range im.files {
		if !f.done {
			return f
		}
	}
	return im.write(len(im.files))
}

// newImporter imports penalty files of rows rows.
func newImporter(t *testing.T, s *e2eStore, tr *tracker, rows int) *importer {
	im := &importer{t: t, s: s, tr: tr, rows: rows, fates: tr.records,
		args: []string{"import", "--type", "penalty", "--source", "承德市市场监督管理局", "--progress", "100"}}
	im.write = im.penalties
	return im
}

// penalties writes penalty file n, one row in twenty bad.
func (im *importer) penalties(n int) *importFile {
	header := []string{"行政相对人名称", "行政相对人类别", "统一社会信用代码", "法定代表人", "行政处罚决定书文号", "违法行为类型", "违法事实", "处罚依据",
		"处罚类别", "处罚内容", "罚款金额（万元）", "处罚决定日期", "处罚机关", "处罚机关统一社会信用代码", "数据来源单位"}
	date := time.Now().AddDate(0, 0, -30).Format("2006-01-02")
	return im.addFile(fmt.Sprintf("penalties-%03d.csv", n), header, im.rows, func(i int) (string, bool, [][]string) {
		ref := fmt.Sprintf("CRASH-IMP-%03d-%06d", n, i)
		valid := i%20 != 7 // 5 % of the rows are bad and must never be stored
		d := date
		if !valid {
			d = "2025-13-01"
		}
		return ref, valid, [][]string{{fmt.Sprintf("承德市崩溃导入第%d号商贸有限公司", i%211), "法人及非法人组织", credit(im.t, "CM", int64(i%211)), "张三", ref,
			"销售过期食品", "网店销售超过保质期的食品", "《中华人民共和国食品安全法》第一百二十四条", "罚款", "罚款人民币5000元", "0.5", d,
			"承德市双桥区市场监督管理局", "11130800000001257M", "承德市市场监督管理局"}}
	})
}

// addFile writes a CSV file of the header and the rows of n units (a
// record, an order of several rows), each known to the importer's fates by
// its ref: unknown until an import stores it, or rejected when invalid.
func (im *importer) addFile(name string, header []string, n int, unit func(i int) (ref string, valid bool, rows [][]string)) *importFile {
	f := &importFile{path: filepath.Join(im.t.TempDir(), name)}
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.Write(header)
	for i := range n {
		ref, valid, rows := unit(i)
		cw.WriteAll(rows)
		f.refs, f.valid = append(f.refs, ref), append(f.valid, valid)
		if valid {
			im.tr.set(im.fates, ref, fateUnknown, 0)
		} else {
			im.tr.set(im.fates, ref, fateRejected, 0)
		}
	}
	cw.Flush()
	if err := os.WriteFile(f.path, b.Bytes(), 0o600); err != nil {
		im.t.Fatal(err)
	}
	im.files = append(im.files, f)
	return f
}

// start starts an import process on f.
func (im *importer) start(f *importFile) {
	fates := im.fates
	im.cmd = exec.Command(binary, append(append(append([]string{}, im.args...), im.s.args...), f.path)...)
	im.cmd.Env = append(os.Environ(), im.s.env...)
	im.cmd.Stdout = io.Discard
	pipe, err := im.cmd.StderrPipe()
	if err != nil {
		im.t.Fatal(err)
	}
	if err := im.cmd.Start(); err != nil {
		im.t.Fatal(err)
	}
	im.started++
	im.done = make(chan error, 1)
	im.active = make(chan struct{})
	im.stderr = &bytes.Buffer{}
	cmd, stderr, done, active := im.cmd, im.stderr, im.done, im.active
	var once sync.Once
	go func() {
		defer once.Do(func() { close(active) })
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			stderr.WriteString(line + "\n")
			if m := progressRE.FindStringSubmatch(line); m != nil {
				// Rows 1..n are committed (or reported bad) before the
				// progress line is printed.
				n, _ := strconv.Atoi(m[1])
				for i := 0; i < n && i < len(f.refs); i++ {
					if f.valid[i] {
						im.tr.set(fates, f.refs[i], fateAcked, 0)
					}
				}
				once.Do(func() { close(active) })
			}
		}
		err := cmd.Wait()
		if err == nil || exitCode(err) == 1 { // 1: the bad rows were reported
			if !strings.Contains(stderr.String(), "导入完成") {
				im.tr.badAnswer("import of %s exited %v without finishing:\n%s", f.path, err, stderr.String())
			}
			for i, ref := range f.refs { // a finished import has stored every good row
				if f.valid[i] {
					im.tr.set(fates, ref, fateAcked, 0)
				}
			}
			f.done = true
		}
		done <- err
	}()
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// kill SIGKILLs the import process if it still runs and waits for it.
func (im *importer) kill() {
	if im.cmd == nil {
		return
	}
	if im.cmd.Process.Signal(syscall.SIGKILL) == nil {
		err := <-im.done
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() {
			im.killed++
		} else if err != nil && exitCode(err) != 1 {
			im.t.Fatalf("import: %v\n%s", err, im.stderr.String())
		}
	} else if err := <-im.done; err != nil && exitCode(err) != 1 {
		im.t.Fatalf("import: %v\n%s", err, im.stderr.String())
	}
	im.cmd = nil
}

// running reports whether the import process still runs, collecting it
// when it has ended.
func (im *importer) running() bool {
	if im.cmd == nil {
		return false
	}
	select {
	case err := <-im.done:
		if err != nil && exitCode(err) != 1 {
			im.t.Fatalf("import: %v\n%s", err, im.stderr.String())
		}
		im.cmd = nil
		return false
	default:
		return true
	}
}

// finish lets a running import end, then runs an import of every
// unfinished file to its end.
func (im *importer) finish() {
	if im.cmd != nil {
		if err := <-im.done; err != nil && exitCode(err) != 1 {
			im.t.Fatalf("import: %v\n%s", err, im.stderr.String())
		}
		im.cmd = nil
	}
	for _, f := range im.files {
		if f.done {
			continue
		}
		im.start(f)
		if err := <-im.done; err != nil && exitCode(err) != 1 {
			im.t.Fatalf("final import: %v\n%s", err, im.stderr.String())
		}
		im.cmd = nil
		if !f.done {
			im.t.Fatalf("final import of %s did not finish:\n%s", f.path, im.stderr.String())
		}
	}
}

// TestCrash kills the server (and the importer) at random points during
// writes and checks the store after every kill and at the end.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash harness: not in -short")
	}
	kills, seed, rows := crashConfig(t)
	t.Logf("crash harness: %d kills per engine, seed %d (-crash.seed=%d replays it), %d rows per import file", kills, seed, seed, rows)
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			crashRun(t, newE2EStore(t, engine, freshPG(t, engine)), kills, seed, rows)
		})
	}
	if os.Getenv("ECREDIT_TEST_PG") != "" {
		t.Run("postgres-restart", func(t *testing.T) { pgRestart(t, seed) })
	}
}

// freshPG returns a new database on the shared PostgreSQL test server for
// engine "postgres", else "".
func freshPG(t *testing.T, engine string) string {
	if engine != "postgres" {
		return ""
	}
	return createDatabase(t, os.Getenv("ECREDIT_TEST_PG"))
}

func crashRun(t *testing.T, s *e2eStore, kills int, seed int64, rows int) {
	start := time.Now()
	key := s.adminKey(t)
	rnd := mrand.New(mrand.NewPCG(uint64(seed), 1))
	tr := newTracker()
	var seq atomic.Int64
	im := newImporter(t, s, tr, rows)
	var cur atomic.Value
	base := func() string { return cur.Load().(string) }
	setup := startServer(t, s.env, s.args...)
	platform, firm, tracer := setupTrade(t, s, setup.url, key)
	setup.stop(t)
	files := tradeImporters(t, s, tr, rows, platform, firm) // the platform's orders files, the firm's parcels files
	for k := 1; k <= kills; k++ {
		for _, fi := range files {
			if !fi.running() {
				fi.start(fi.next())
			}
		}
		// The importer outlives some server kills (it writes to the store
		// itself); a new one starts together with the server.
		fresh := !im.running()
		if fresh {
			im.start(im.next())
		}
		srv := startServer(t, s.env, s.args...)
		tr.servers = append(tr.servers, srv)
		cur.Store(srv.url)
		ws := startWriters(t, tr, key, base, &seq, rnd, 3, 30*time.Second, platform, firm, tracer)
		if fresh { // kill points while it imports, past its start-up
			select {
			case <-im.active:
			case <-time.After(time.Minute): // a hang, not a performance bound
				t.Fatalf("kill %d: the import made no progress within a minute:\n%s", k, im.stderr.String())
			}
		}
		// The server dies 0–500 ms later; in half the rounds (and before
		// each ledger verification) the importer dies at its own point
		// before.
		up := time.Now()
		killAt := time.Duration(rnd.IntN(500)) * time.Millisecond
		if rnd.IntN(2) == 0 || k%10 == 0 {
			time.Sleep(time.Until(up.Add(time.Duration(rnd.Int64N(int64(killAt) + 1)))))
			im.kill()
		}
		for _, fi := range files { // each trade import too, in a third of the rounds
			if rnd.IntN(3) == 0 {
				time.Sleep(time.Until(up.Add(time.Duration(rnd.Int64N(int64(killAt) + 1)))))
				fi.kill()
			}
		}
		time.Sleep(time.Until(up.Add(killAt)))
		if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-srv.done
		ws.stop()
		tr.check(t, s, fmt.Sprintf("after kill %d (at %v)", k, killAt))
		if k%10 == 0 { // and at the end: each run costs a process and a full recomputation
			s.verifyLedger(t, fmt.Sprintf("after kill %d", k))
			// Progress of a long run (-v shows it as it goes).
			t.Logf("%s: %d of %d kills survived, every check passed (%v)", s.engine, k, kills, time.Since(start).Round(time.Second))
		}
	}
	// The end: a clean run finishes every import and a last burst of
	// writes, then the server stops cleanly.
	srv := startServer(t, s.env, s.args...)
	cur.Store(srv.url)
	ws := startWriters(t, tr, key, base, &seq, rnd, 3, 30*time.Second, platform, firm, tracer)
	im.finish()
	for _, fi := range files {
		fi.finish()
	}
	time.Sleep(200 * time.Millisecond)
	ws.stop()
	settled := 0
	for _, w := range ws.ws {
		if w.trade != nil {
			settled += w.settle(context.Background())
		}
	}
	srv.stop(t)
	final := tr.check(t, s, "at the end")
	s.verifyLedger(t, "at the end")
	for _, f := range im.files {
		for i, ref := range f.refs {
			if o := tr.records[ref]; f.valid[i] && o.fate != fateAcked {
				t.Errorf("import row %s of %s never acknowledged after the final import", ref, f.path)
				break
			}
		}
	}
	if final.trace > 0 && len(tr.epcis) == 0 {
		t.Errorf("%s: %d trace events stored, none acknowledged from an EPCIS document", s.engine, final.trace)
	}
	t.Logf("%s: %d server kills survived, %d import processes (%d killed), %d import files; "+
		"%d records stored and checked (%d acknowledged, each present once), %d subjects (%d acknowledged), %d rejected writes absent, "+
		"%d orders, %d reviews, %d parcels, %d tracking events and %d trace events stored (%d acknowledged from EPCIS documents) "+
		"(orders and parcels files: %d, %d import processes, %d killed) "+
		"(%d of them acknowledged, each present once; %d unanswered lines resent at the end, all acknowledged); "+
		"%d unanswered writes stored once; ledger %d entries; statuses %v, %d requests cut off; %v",
		s.engine, kills, im.started, im.killed, len(im.files), final.records, final.ackedRecords, final.subjects, final.ackedSubj,
		final.rejected, final.orders, final.reviews, final.parcels, final.events, final.trace, len(tr.epcis),
		len(files[0].files)+len(files[1].files), files[0].started+files[1].started, files[0].killed+files[1].killed, final.ackedTrade, settled,
		final.unknownStored, final.ledger, tr.statuses, tr.errors, time.Since(start).Round(time.Millisecond))
}

// pgCluster is a throwaway PostgreSQL cluster of the test's own (Unix
// socket only), run as the postgres user when the test runs as root, as
// scripts/test.sh does.
type pgCluster struct {
	bin, dir string
	port     int
	as       []string // runuser prefix when root
	dsn      string
}

// newPGCluster initialises and starts a cluster, removed when t ends. It
// skips t without PostgreSQL server binaries, except in CI.
func newPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgDirVersion(dirs[i]) < pgDirVersion(dirs[j]) })
	if len(dirs) == 0 || !fileExists(filepath.Join(dirs[len(dirs)-1], "pg_ctl")) {
		if ci := strings.ToLower(os.Getenv("CI")); ci == "true" || ci == "1" {
			t.Fatal("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (scripts/test.sh installs them)")
		}
		t.Skip("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
	}
	c := &pgCluster{bin: dirs[len(dirs)-1], port: 20000 + mrand.IntN(40000)}
	dir, err := os.MkdirTemp("", "ecredit-crash-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	t.Cleanup(func() {
		c.ctl("-m", "immediate", "-w", "stop")
		os.RemoveAll(dir)
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			u, err = user.Lookup("nobody")
		}
		if err != nil {
			t.Fatal("running as root without a postgres or nobody user to run PostgreSQL as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		c.as = []string{"runuser", "-u", u.Username, "--"}
	}
	if out, err := c.run(filepath.Join(c.bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	c.start(t)
	c.dsn = fmt.Sprintf("postgres://postgres@/postgres?host=%s&port=%d", dir, c.port)
	return c
}

func (c *pgCluster) run(prog string, args ...string) (string, error) {
	argv := append(append(append([]string{}, c.as...), prog), args...)
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	return string(out), err
}

func (c *pgCluster) ctl(args ...string) (string, error) {
	return c.run(filepath.Join(c.bin, "pg_ctl"), append([]string{"-D", filepath.Join(c.dir, "data")}, args...)...)
}

// start starts the server and returns once it accepts connections.
func (c *pgCluster) start(t *testing.T) {
	t.Helper()
	if out, err := c.ctl("-l", filepath.Join(c.dir, "server.log"), "-w", "-t", "60", "start",
		"-o", fmt.Sprintf("-k %s -p %d -c listen_addresses=''", c.dir, c.port)); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// crash stops the server at once, without a checkpoint: the next start
// runs crash recovery.
func (c *pgCluster) crash(t *testing.T) {
	t.Helper()
	if out, err := c.ctl("-m", "immediate", "-w", "stop"); err != nil {
		t.Fatalf("pg_ctl stop -m immediate: %v\n%s", err, out)
	}
}

// health returns the status of GET /healthz and its body ("" when no
// answer).
func health(client *http.Client, base string) (int, string) {
	resp, err := client.Get(base + "healthz")
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// pgRestart crashes a PostgreSQL cluster under write load: while it is
// down every write answers 503 (never 500, never a hang) and /healthz says
// the database is unavailable; after it restarts writes succeed again and
// nothing acknowledged is lost.
func pgRestart(t *testing.T, seed int64) {
	cl := newPGCluster(t)
	s := newE2EStore(t, "postgres", cl.dsn)
	key := s.adminKey(t)
	srv := startServer(t, s.env, s.args...)
	tr := newTracker()
	tr.servers = append(tr.servers, srv)
	var seq atomic.Int64
	rnd := mrand.New(mrand.NewPCG(uint64(seed), 2))
	const timeout = 30 * time.Second // the client's; a request reaching it counts as a hang
	ws := startWriters(t, tr, key, func() string { return srv.url }, &seq, rnd, 2, timeout)
	acked := func() (n int64) {
		for _, w := range ws.ws {
			n += w.ok2xx.Load()
		}
		return n
	}
	hc := &http.Client{Timeout: timeout}
	for deadline := time.Now().Add(time.Minute); acked() < 30; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no writes acknowledged before the crash: %v", tr.statuses)
		}
	}
	before := acked()

	cl.crash(t)
	down := time.Now()
	tr.mu.Lock()
	before503 := tr.statuses[http.StatusServiceUnavailable]
	tr.mu.Unlock()
	var health503 int
	for time.Since(down) < 2*time.Second {
		switch c, body := health(hc, srv.url); {
		case c == http.StatusServiceUnavailable && strings.Contains(body, `"unavailable"`):
			health503++
		default:
			t.Errorf("GET /healthz with the database down = %d %s", c, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	tr.mu.Lock()
	down503 := tr.statuses[http.StatusServiceUnavailable] - before503
	tr.mu.Unlock()
	if down503 == 0 {
		t.Errorf("no write answered 503 while the database was down: %v", tr.statuses)
	}

	cl.start(t)
	upAt := time.Now()
	var recovery time.Duration
	for {
		if last := time.Unix(0, lastOKOf(ws)); last.After(upAt) {
			recovery = last.Sub(upAt)
			break
		}
		if time.Since(upAt) > time.Minute { // a hang, not a performance bound
			t.Fatalf("no write acknowledged within a minute of the database's restart: %v", tr.statuses)
		}
		time.Sleep(5 * time.Millisecond)
	}
	var healthBack time.Duration
	for {
		if c, _ := health(hc, srv.url); c == http.StatusOK {
			healthBack = time.Since(upAt)
			break
		}
		if time.Since(upAt) > time.Minute {
			t.Fatal("/healthz not ok within a minute of the database's restart")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	ws.stop()
	var slow time.Duration
	var slowWhat string
	for _, w := range ws.ws {
		if w.slow > slow {
			slow, slowWhat = w.slow, w.slowWhat
		}
		if w.hung > 0 {
			t.Errorf("writer %s: %d requests hung until the client's %v timeout", w.name, w.hung, timeout)
		}
	}
	srv.stop(t)
	st := tr.check(t, s, "after the database restart")
	s.verifyLedger(t, "after the database restart")
	t.Logf("postgres restart under load: %d writes acknowledged before the crash, %d after; while down (2 s) %d writes answered 503 "+
		"and /healthz 503 %d times; first acknowledged write %v after the database accepted connections again (/healthz ok after %v); "+
		"slowest request %v (%s; crash at %s, restart at %s); statuses %v; %d records checked (%d acknowledged), %d subjects (%d acknowledged), ledger %d entries",
		before, acked()-before, down503, health503, recovery.Round(time.Millisecond), healthBack.Round(time.Millisecond),
		slow.Round(time.Millisecond), slowWhat, down.Format("15:04:05.000"), upAt.Format("15:04:05.000"), tr.statuses, st.records, st.ackedRecords, st.subjects, st.ackedSubj, st.ledger)
}

func lastOKOf(ws *writers) int64 {
	var n int64
	for _, w := range ws.ws {
		n = max(n, w.lastOK.Load())
	}
	return n
}
