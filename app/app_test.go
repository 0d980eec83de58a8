package app

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"ecredit/account"
	"ecredit/errs"
	"ecredit/ledger"
	"ecredit/record"
	"ecredit/registry"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func clearKeyEnv(t *testing.T) {
	t.Setenv("ECREDIT_PII_KEY", "")
	t.Setenv("ECREDIT_PII_KEY_FILE", "")
}

func TestOpenSQLite(t *testing.T) {
	clearKeyEnv(t)
	dir := filepath.Join(t.TempDir(), "new", "data")
	a, err := Open(context.Background(), Config{DataDir: dir, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, f := range []struct {
		path string
		mode os.FileMode
	}{{dir, 0o700 | os.ModeDir}, {filepath.Join(dir, "pii.key"), 0o600}} {
		st, err := os.Stat(f.path)
		if err != nil || st.Mode() != f.mode {
			t.Errorf("%s: %v %v, want mode %v", f.path, st.Mode(), err, f.mode)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ecredit.db")); err != nil {
		t.Errorf("no database file: %v", err)
	}
	h := a.Handler()
	tests := []struct {
		path   string
		status int
		ctype  string
		body   string
	}{
		{"/healthz", 200, "application/json", "sqlite"},
		{"/", 200, "text/html", "信用"},
		{"/api/v1/openapi.json", 200, "application/json", "openapi"},
		{"/api/v1/nope", 404, "application/json", `"error"`},
		{"/metrics", 200, "text/plain", "go_goroutines"},
		{"/no-such-page", 404, "text/html", ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", tt.path, nil)
		req.RemoteAddr = "127.0.0.1:40000" // metrics are for the local host
		h.ServeHTTP(rec, req)
		if rec.Code != tt.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), tt.ctype) || !strings.Contains(rec.Body.String(), tt.body) {
			t.Errorf("GET %s = %d %s %.200s", tt.path, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
		}
		if rec.Header().Get("X-Request-Id") == "" {
			t.Errorf("GET %s: no request id", tt.path)
		}
	}
	// The services are wired to the same store and key.
	ctx := account.With(context.Background(), account.System)
	sub, err := a.Registry.CreateSubject(ctx, registry.SubjectInput{Kind: registry.KindSeller, Name: "张三", IDNumber: "130802199001011235"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Registry.RevealPersonal(ctx, sub.ID, "test")
	if err != nil || p.IDNumber != "130802199001011235" || sub.Name != "张*" {
		t.Errorf("personal %+v %v, name %s", p, err, sub.Name)
	}
}

func TestOpenErrors(t *testing.T) {
	clearKeyEnv(t)
	ctx := context.Background()
	if _, err := Open(ctx, Config{Logger: quiet()}); errs.FieldOf(err) != "data" {
		t.Errorf("no data dir: %v", err)
	}
	dir := t.TempDir()
	if _, err := Open(ctx, Config{DataDir: dir, Logger: quiet(), TrustedProxies: []string{"not-a-cidr"}}); errs.FieldOf(err) != "trusted-proxy" {
		t.Errorf("bad proxy: %v", err)
	}
	t.Setenv("ECREDIT_PII_KEY", "abcd")
	if _, err := Open(ctx, Config{DataDir: t.TempDir(), Logger: quiet()}); errs.FieldOf(err) != "pii_key" {
		t.Errorf("short key: %v", err)
	}
	clearKeyEnv(t)

	// Data without its key: refuse rather than generate a new key.
	a, err := Open(ctx, Config{DataDir: dir, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	actx := account.With(ctx, account.System)
	if _, err := a.Registry.CreateSubject(actx, registry.SubjectInput{Kind: registry.KindSeller, Name: "李四", IDNumber: "130802199001011235"}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	os.Remove(filepath.Join(dir, "pii.key"))
	if _, err := Open(ctx, Config{DataDir: dir, Logger: quiet()}); errs.FieldOf(err) != "data" || !strings.Contains(errs.MessageOf(err), "pii.key") {
		t.Errorf("missing key over data: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pii.key")); err == nil {
		t.Error("a new key was generated")
	}
}

func TestServe(t *testing.T) {
	clearKeyEnv(t)
	a, err := Open(context.Background(), Config{DataDir: t.TempDir(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := a.Server(context.Background())
	if srv.ReadHeaderTimeout != 10*time.Second || srv.ReadTimeout != 60*time.Second || srv.WriteTimeout != 120*time.Second ||
		srv.IdleTimeout != 120*time.Second || srv.MaxHeaderBytes != 64<<10 {
		t.Errorf("server limits %+v", srv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, "127.0.0.1:0", func(ad net.Addr) { addrc <- ad }) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr.String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel: %v", err)
	}
	if _, err := http.Get("http://" + addr.String() + "/healthz"); err == nil {
		t.Error("still serving after shutdown")
	}
	// The address is taken now by nobody; a bad address is an error.
	if err := a.Serve(context.Background(), "256.0.0.1:99999", nil); errs.FieldOf(err) != "addr" {
		t.Errorf("bad addr: %v", err)
	}
}

func TestPostgresNeedsKey(t *testing.T) {
	base := os.Getenv("ECREDIT_TEST_PG")
	if base == "" {
		if ci := strings.ToLower(os.Getenv("CI")); ci == "true" || ci == "1" {
			t.Fatal("ECREDIT_TEST_PG not set in CI")
		}
		t.Skip("ECREDIT_TEST_PG not set")
	}
	clearKeyEnv(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "ecredit_app_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name + " TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		t.Fatal(err)
	}
	defer admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	u.Path = "/" + name
	dir := t.TempDir()
	_, err = Open(context.Background(), Config{DataDir: dir, DB: u.String(), Logger: quiet()})
	if errs.FieldOf(err) != "pii_key" || !strings.Contains(errs.MessageOf(err), "ECREDIT_PII_KEY") {
		t.Errorf("PostgreSQL without a key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pii.key")); err == nil {
		t.Error("a key was generated for PostgreSQL")
	}
	k := make([]byte, 32)
	rand.Read(k)
	t.Setenv("ECREDIT_PII_KEY", hex.EncodeToString(k))
	a, err := Open(context.Background(), Config{DataDir: dir, DB: u.String(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "postgres") {
		t.Errorf("healthz on PostgreSQL: %d %s", rec.Code, rec.Body.String())
	}
}

// TestRecordsAndLedger: Open wires the record service (with the data
// directory's holiday file) and the ledger, and the checkpoint loop signs
// the grown ledger until its context ends.
func TestRecordsAndLedger(t *testing.T) {
	clearKeyEnv(t)
	t.Setenv(ledger.KeyFileEnv, "")
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, HolidayFile), []byte("2027-13-01 holiday 坏日期\n"), 0o600)
	if _, err := Open(context.Background(), Config{DataDir: bad, Logger: quiet()}); errs.FieldOf(err) != "holidays" {
		t.Errorf("bad holiday file: %v", err)
	}

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, HolidayFile), []byte("2027-01-04 holiday 测试假日\n"), 0o600)
	a, err := Open(context.Background(), Config{DataDir: dir, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if name, ok := a.Records.Calendar.Holiday("2027-01-04"); !ok || name != "测试假日" {
		t.Errorf("holiday file not loaded: %q %v", name, ok)
	}
	if a.Ledger == nil || !strings.HasPrefix(a.LedgerKey, ledger.DefaultOrigin+"+") {
		t.Fatalf("ledger %v key %q", a.Ledger, a.LedgerKey)
	}
	if _, err := os.Stat(filepath.Join(dir, ledger.PubFile)); err != nil {
		t.Errorf("no public key file: %v", err)
	}
	ctx := account.With(context.Background(), account.System)
	in := record.Input{Type: record.TypeLicence, Fields: map[string]string{"XK_XDR_MC": "承德甲公司", "XK_XDR_SHXYM": "91130802MA0A1B2C2Y",
		"XK_WSH": "W-1", "XK_NR": "食品经营", "XK_JDRQ": "2025-01-02", "XK_XKJG": "承德市行政审批局"}}
	if _, err := a.Records.Ingest(ctx, in); err != nil {
		t.Fatal(err)
	}
	size, err := a.Store.LedgerSize(ctx)
	if err != nil || size != 1 {
		t.Fatalf("ledger size %d %v", size, err)
	}
	lctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.signCheckpoints(lctx, 10*time.Millisecond) }()
	deadline := time.Now().Add(time.Minute) // a hang guard, not a speed bound
	for {
		cp, err := a.Store.LatestCheckpoint(ctx)
		if err == nil && cp.Size == size {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of size %d: %v", size, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done

	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/ledger/checkpoint", nil))
	if rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), ledger.DefaultOrigin+"\n1\n") {
		t.Errorf("checkpoint %d %q", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/records/types", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"CF_WSH"`) {
		t.Errorf("record types %d %.200s", rec.Code, rec.Body.String())
	}
}
