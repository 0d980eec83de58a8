// Package storetest runs store tests on both engines from one body: SQLite
// on a fresh temporary file, and PostgreSQL on a fresh database created on
// the server named by the environment variable ECREDIT_TEST_PG (a
// postgres:// URL of a role that may CREATE DATABASE; scripts/test.sh
// starts such a server and sets it).
//
// Without ECREDIT_TEST_PG the PostgreSQL half is skipped, except when CI is
// set to true: then it fails, so that CI never silently skips PostgreSQL.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx" for the admin connection

	"ecredit/sqlstore"
)

// EnvPG is the environment variable naming the PostgreSQL test server.
const EnvPG = "ECREDIT_TEST_PG"

// Engines are the engines every store test runs on.
var Engines = []string{sqlstore.EngineSQLite, sqlstore.EnginePostgres}

// Run runs fn as the subtests "sqlite" and "postgres", each on a fresh,
// migrated database that is removed when the subtest ends.
func Run(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	t.Helper()
	for _, engine := range Engines {
		t.Run(engine, func(t *testing.T) {
			fn(t, Open(t, engine))
		})
	}
}

// RunB is Run for benchmarks: sub-benchmarks "sqlite" and "postgres".
func RunB(b *testing.B, fn func(b *testing.B, db *sqlstore.DB)) {
	b.Helper()
	for _, engine := range Engines {
		b.Run(engine, func(b *testing.B) {
			fn(b, Open(b, engine))
		})
	}
}

// Open returns a fresh, migrated store on engine ("sqlite" or "postgres"),
// closed and removed when tb ends.
func Open(tb testing.TB, engine string) *sqlstore.DB {
	tb.Helper()
	return open(tb, engine, fresh(tb, engine), true)
}

// RunTwin is Run with two stores on one fresh database, as two processes
// (or two servers) would have it: what one writes the other reads from
// the database, not from its own caches.
func RunTwin(t *testing.T, fn func(t *testing.T, a, b *sqlstore.DB)) {
	t.Helper()
	for _, engine := range Engines {
		t.Run(engine, func(t *testing.T) {
			dsn := fresh(t, engine)
			a := open(t, engine, dsn, true)
			fn(t, a, open(t, engine, dsn, false))
		})
	}
}

// fresh returns the DSN of a new, empty database on engine, removed when
// tb ends.
func fresh(tb testing.TB, engine string) string {
	tb.Helper()
	switch engine {
	case sqlstore.EngineSQLite:
		return filepath.Join(tb.TempDir(), "ecredit.db")
	case sqlstore.EnginePostgres:
		return createPG(tb)
	}
	tb.Fatalf("storetest: unknown engine %q", engine)
	return ""
}

// open opens the store at dsn (migrating it when migrate), closed when tb
// ends.
func open(tb testing.TB, engine, dsn string, migrate bool) *sqlstore.DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		tb.Fatalf("storetest: open %s: %v", engine, err)
	}
	// Registered after createPG's cleanup, so it runs first: the store is
	// closed before its database is dropped.
	tb.Cleanup(func() { db.Close() })
	if migrate {
		if err := db.Migrate(ctx); err != nil {
			tb.Fatalf("storetest: migrate %s: %v", engine, err)
		}
	}
	return db
}

// PGURL returns the PostgreSQL test server URL, skipping tb (or failing it
// when CI=true) when there is none.
func PGURL(tb testing.TB) string {
	tb.Helper()
	base := strings.TrimSpace(os.Getenv(EnvPG))
	if base == "" {
		if ci := strings.ToLower(os.Getenv("CI")); ci == "true" || ci == "1" {
			tb.Fatalf("storetest: %s is not set and CI=%s: PostgreSQL tests must not be skipped in CI (run scripts/test.sh)", EnvPG, os.Getenv("CI"))
		}
		tb.Skipf("storetest: %s not set; skipping PostgreSQL (scripts/test.sh starts a throwaway server)", EnvPG)
	}
	return base
}

// createPG creates a uniquely named database on the test server and
// returns its URL; the database is dropped when tb ends.
func createPG(tb testing.TB) string {
	tb.Helper()
	base := PGURL(tb)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		tb.Fatalf("storetest: %s must be a postgres:// URL, got %q", EnvPG, base)
	}
	buf := make([]byte, 6)
	rand.Read(buf)
	name := "ecredit_test_" + hex.EncodeToString(buf)

	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		admin.Close()
		tb.Fatalf("storetest: create database on %s: %v", EnvPG, err)
	}
	tb.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("storetest: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
