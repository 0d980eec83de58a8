package sqlstore_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/clock"
	"ecredit/errs"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

func TestMigrationVersionsMatch(t *testing.T) {
	names := map[string][]string{}
	for _, engine := range storetest.Engines {
		fsys, err := sqlstore.MigrationFS(engine)
		if err != nil {
			t.Fatal(err)
		}
		files, err := fs.Glob(fsys, "*.sql")
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("%s: no migrations", engine)
		}
		names[engine] = files
	}
	if !slices.Equal(names["sqlite"], names["postgres"]) {
		t.Fatalf("migration files differ:\n sqlite   %v\n postgres %v", names["sqlite"], names["postgres"])
	}
}

func TestMigrate(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		// Migrating an up-to-date database is a no-op.
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		cur, latest, err := db.MigrationVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cur != latest || latest < 1 {
			t.Fatalf("version %d of %d", cur, latest)
		}
		if db.Engine() != t.Name()[len("TestMigrate/"):] {
			t.Fatalf("Engine() = %q in subtest %s", db.Engine(), t.Name())
		}
		if err := db.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAuditAppendOnly(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		clk := clock.NewFake(t0)
		db.SetClock(clk)
		var made []*audit.Entry
		for i := 0; i < 7; i++ {
			e := &audit.Entry{ActorID: int64(i % 2), ActorName: "u", Role: "admin", Action: []string{audit.ActLogin, audit.ActReadPersonal}[i%2],
				Object: fmt.Sprintf("subject:%d", i%3), Detail: "d", Remote: "10.0.0.1", RequestID: fmt.Sprint("req", i), Via: "api"}
			if err := db.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
			if e.ID == 0 || !e.At.Equal(clk.Now().Truncate(time.Microsecond)) {
				t.Fatalf("entry %d: ID=%d At=%v", i, e.ID, e.At)
			}
			made = append(made, e)
			clk.Advance(time.Second)
		}
		explicit := &audit.Entry{At: t0.Add(-time.Hour), Action: audit.ActLogout}
		if err := db.Append(ctx, explicit); err != nil {
			t.Fatal(err)
		}
		if !explicit.At.Equal(t0.Add(-time.Hour).Truncate(time.Microsecond)) {
			t.Fatalf("explicit At overwritten: %v", explicit.At)
		}

		all, err := db.List(ctx, audit.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 8 || all[0].ID != explicit.ID || !reflect.DeepEqual(all[7], made[0]) {
			t.Fatalf("List = %d entries, first %+v, last %+v", len(all), all[0], all[len(all)-1])
		}
		page, _ := db.List(ctx, audit.Filter{Before: made[4].ID, Limit: 2})
		if len(page) != 2 || page[0].ID != made[3].ID || page[1].ID != made[2].ID {
			t.Fatalf("page before %d = %+v", made[4].ID, page)
		}
		byActor, _ := db.List(ctx, audit.Filter{ActorID: 1})
		byAction, _ := db.List(ctx, audit.Filter{Action: audit.ActLogin})
		byObject, _ := db.List(ctx, audit.Filter{Object: "subject:1"})
		byBoth, _ := db.List(ctx, audit.Filter{Object: "subject:1", Action: audit.ActReadPersonal})
		if len(byActor) != 3 || len(byAction) != 4 || len(byObject) != 2 || len(byBoth) != 1 || byBoth[0].ID != made[1].ID {
			t.Fatalf("filters: actor %d, action %d, object %d, both %d", len(byActor), len(byAction), len(byObject), len(byBoth))
		}

		w := db.WriterDB()
		if _, err := w.ExecContext(ctx, "DELETE FROM audit_log"); err == nil {
			t.Fatal("DELETE FROM audit_log succeeded")
		}
		if _, err := w.ExecContext(ctx, db.Dialect().Rebind("UPDATE audit_log SET detail = ? WHERE id = ?"), "forged", made[0].ID); err == nil {
			t.Fatal("UPDATE of audit_log succeeded")
		}
		if db.Engine() == sqlstore.EnginePostgres {
			if _, err := w.ExecContext(ctx, "TRUNCATE audit_log"); err == nil {
				t.Fatal("TRUNCATE audit_log succeeded")
			}
		}
		if n := auditCount(t, db); n != 8 {
			t.Fatalf("audit rows = %d after forbidden changes, want 8", n)
		}
	})
}

func TestShops(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		p1 := mustCreate(t, db, org(t, 1, registry.KindPlatform, "平台一", "130802"))
		p2 := mustCreate(t, db, org(t, 2, registry.KindPlatform, "平台二", "130802"))
		m := mustCreate(t, db, org(t, 3, registry.KindMerchant, "商户", "130802"))
		e := ev(audit.ActCreate, "shop")
		sh := &registry.Shop{PlatformID: p1.ID, OwnerID: m.ID, Name: "旗舰店", URL: "https://shop.example.cn/a", Domain: "shop.example.cn",
			Category: "food", Status: registry.StatusActive, PlatformShopID: "S-1", CreatedAt: t0, UpdatedAt: t0}
		if err := db.CreateShop(ctx, sh, e); err != nil {
			t.Fatal(err)
		}
		if sh.ID == 0 || sh.Version != 1 || e.Object != fmt.Sprintf("shop:%d", sh.ID) {
			t.Fatalf("after create: %+v, audit %+v", sh, e)
		}
		got, err := db.GetShop(ctx, sh.ID)
		if err != nil || !reflect.DeepEqual(got, sh) {
			t.Fatalf("GetShop = %+v, %v; want %+v", got, err, sh)
		}

		// The same platform shop id on the same platform is a conflict;
		// on another platform, or empty, it is not.
		dup := *sh
		dup.ID = 0
		wantCode(t, db.CreateShop(ctx, &dup, ev(audit.ActCreate, "shop")), errs.Conflict, "platform_shop_id")
		dup.PlatformID = p2.ID
		if err := db.CreateShop(ctx, &dup, nil); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if err := db.CreateShop(ctx, &registry.Shop{PlatformID: p1.ID, OwnerID: m.ID, Name: fmt.Sprint("无编号", i), URL: "https://b.example",
				Domain: "b.example", Status: registry.StatusActive}, nil); err != nil {
				t.Fatal(err)
			}
		}
		// A missing owner is invalid input.
		wantCode(t, db.CreateShop(ctx, &registry.Shop{PlatformID: p1.ID, OwnerID: 999, Name: "x", URL: "https://c.example",
			Domain: "c.example", Status: registry.StatusActive}, nil), errs.Invalid, "-")

		stale := *sh
		sh.Name, sh.Status = "新店名", registry.StatusSuspended
		ue := ev(audit.ActUpdate, fmt.Sprintf("shop:%d", sh.ID))
		if err := db.UpdateShop(ctx, sh, ue); err != nil {
			t.Fatal(err)
		}
		if sh.Version != 2 || ue.ID == 0 {
			t.Fatalf("after update: version %d, audit id %d", sh.Version, ue.ID)
		}
		wantCode(t, db.UpdateShop(ctx, &stale, nil), errs.Conflict, "version")
		missing := *sh
		missing.ID = 999
		wantCode(t, db.UpdateShop(ctx, &missing, nil), errs.NotFound, "")
		_, err = db.GetShop(ctx, 999)
		wantCode(t, err, errs.NotFound, "")

		count := func(f registry.ShopFilter) int {
			t.Helper()
			list, err := db.ListShops(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			return len(list)
		}
		if n := count(registry.ShopFilter{}); n != 4 {
			t.Fatalf("all shops = %d, want 4", n)
		}
		if n := count(registry.ShopFilter{PlatformID: p1.ID}); n != 3 {
			t.Fatalf("platform 1 shops = %d, want 3", n)
		}
		if n := count(registry.ShopFilter{PlatformID: p2.ID, OwnerID: m.ID}); n != 1 {
			t.Fatalf("platform 2 shops of owner = %d, want 1", n)
		}
		if n := count(registry.ShopFilter{Domain: "B.example"}); n != 2 {
			t.Fatalf("shops on b.example = %d, want 2", n)
		}
		if n := count(registry.ShopFilter{Status: registry.StatusSuspended}); n != 1 {
			t.Fatalf("suspended shops = %d, want 1", n)
		}
		first, _ := db.ListShops(ctx, registry.ShopFilter{Limit: 2})
		rest, _ := db.ListShops(ctx, registry.ShopFilter{After: first[1].ID})
		if len(first) != 2 || len(rest) != 2 || rest[0].ID <= first[1].ID {
			t.Fatalf("shop pages %v / %v", first, rest)
		}
	})
}

func TestAccountsKeysSessions(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		clk := clock.NewFake(t0)
		db.SetClock(clk)
		platform := mustCreate(t, db, org(t, 1, registry.KindPlatform, "淘宝", "130802"))
		a := &account.Account{Name: "淘宝", Role: account.RolePlatform, SubjectID: platform.ID}
		e := ev(audit.ActCreate, "account")
		if err := db.CreateAccount(ctx, a, e); err != nil {
			t.Fatal(err)
		}
		if a.ID == 0 || e.Object != fmt.Sprintf("account:%d", a.ID) || a.CreatedAt.IsZero() {
			t.Fatalf("after create: %+v, audit %+v", a, e)
		}
		staff := &account.Account{Name: "张科长", Role: account.RoleDepartment, Department: "市场监管", Login: "zhang",
			PasswordHash: "$argon2id$…", CreatedAt: t0, UpdatedAt: t0}
		if err := db.CreateAccount(ctx, staff, nil); err != nil {
			t.Fatal(err)
		}
		// API-only accounts share the empty login; console logins are unique.
		if err := db.CreateAccount(ctx, &account.Account{Name: "京东", Role: account.RolePlatform}, nil); err != nil {
			t.Fatal(err)
		}
		before := auditCount(t, db)
		wantCode(t, db.CreateAccount(ctx, &account.Account{Name: "冒名", Role: account.RoleAdmin, Login: "zhang"}, ev(audit.ActCreate, "account")),
			errs.Conflict, "login")
		if auditCount(t, db) != before {
			t.Fatal("failed account create left an audit row")
		}

		got, err := db.GetAccount(ctx, a.ID)
		if err != nil || !reflect.DeepEqual(got, a) {
			t.Fatalf("GetAccount = %+v, %v; want %+v", got, err, a)
		}
		got, err = db.FindAccountByLogin(ctx, "zhang")
		if err != nil || !reflect.DeepEqual(got, staff) {
			t.Fatalf("FindAccountByLogin = %+v, %v; want %+v", got, err, staff)
		}
		_, err = db.FindAccountByLogin(ctx, "nobody")
		wantCode(t, err, errs.NotFound, "")
		_, err = db.GetAccount(ctx, 999)
		wantCode(t, err, errs.NotFound, "")

		clk.Advance(time.Minute)
		staff.FailedLogins, staff.LockedUntil, staff.Disabled = 3, t0.Add(15*time.Minute), true
		if err := db.UpdateAccount(ctx, staff, ev(audit.ActUpdate, fmt.Sprintf("account:%d", staff.ID))); err != nil {
			t.Fatal(err)
		}
		got, _ = db.GetAccount(ctx, staff.ID)
		if !reflect.DeepEqual(got, staff) || !got.UpdatedAt.Equal(clk.Now().Truncate(time.Microsecond)) {
			t.Fatalf("after UpdateAccount = %+v; want %+v", got, staff)
		}
		wantCode(t, db.UpdateAccount(ctx, &account.Account{ID: 999, Name: "x", Role: account.RoleAdmin}, nil), errs.NotFound, "")
		list, err := db.ListAccounts(ctx)
		if err != nil || len(list) != 3 || list[0].ID != a.ID {
			t.Fatalf("ListAccounts = %v, %v", list, err)
		}

		// Keys.
		_, prefix, hash := account.NewKey()
		k := &account.APIKey{AccountID: a.ID, Prefix: prefix, Hash: hash, Label: "生产"}
		ke := ev(audit.ActKeyCreate, "apikey")
		if err := db.CreateAPIKey(ctx, k, ke); err != nil {
			t.Fatal(err)
		}
		if k.ID == 0 || ke.Object != fmt.Sprintf("apikey:%d", k.ID) {
			t.Fatalf("key %+v audit %+v", k, ke)
		}
		wantCode(t, db.CreateAPIKey(ctx, &account.APIKey{AccountID: a.ID, Prefix: prefix, Hash: hash}, nil), errs.Conflict, "prefix")
		fk, err := db.FindAPIKey(ctx, prefix)
		if err != nil || !reflect.DeepEqual(fk, k) {
			t.Fatalf("FindAPIKey = %+v, %v; want %+v", fk, err, k)
		}
		_, err = db.FindAPIKey(ctx, "ek_missing0")
		wantCode(t, err, errs.NotFound, "")
		used := t0.Add(2 * time.Hour)
		if err := db.TouchAPIKey(ctx, k.ID, used); err != nil {
			t.Fatal(err)
		}
		wantCode(t, db.TouchAPIKey(ctx, 999, used), errs.NotFound, "")
		revoked := t0.Add(3 * time.Hour)
		if err := db.RevokeAPIKey(ctx, k.ID, revoked, ev(audit.ActKeyRevoke, fmt.Sprintf("apikey:%d", k.ID))); err != nil {
			t.Fatal(err)
		}
		if err := db.RevokeAPIKey(ctx, k.ID, revoked.Add(time.Hour), nil); err != nil {
			t.Fatal(err)
		}
		wantCode(t, db.RevokeAPIKey(ctx, 999, revoked, nil), errs.NotFound, "")
		keys, err := db.ListAPIKeys(ctx, a.ID)
		if err != nil || len(keys) != 1 || !keys[0].LastUsedAt.Equal(used.Truncate(time.Microsecond)) || !keys[0].RevokedAt.Equal(revoked.Truncate(time.Microsecond)) {
			t.Fatalf("ListAPIKeys = %+v, %v", keys, err)
		}
		if keys, _ := db.ListAPIKeys(ctx, staff.ID); len(keys) != 0 {
			t.Fatalf("staff has keys %v", keys)
		}
		if n := len(must(db.List(ctx, audit.Filter{Action: audit.ActKeyRevoke}))); n != 1 {
			t.Fatalf("revocation audit rows = %d, want 1 (the second revocation had no entry)", n)
		}

		// Sessions.
		_, h1 := account.NewToken()
		_, h2 := account.NewToken()
		s1 := &account.Session{TokenHash: h1, AccountID: staff.ID, CSRF: "c1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), Remote: "10.1.1.1"}
		s2 := &account.Session{TokenHash: h2, AccountID: staff.ID, CSRF: "c2", CreatedAt: t0, ExpiresAt: t0.Add(8 * time.Hour)}
		for _, s := range []*account.Session{s1, s2} {
			if err := db.CreateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		wantCode(t, db.CreateSession(ctx, s1), errs.Conflict, "-")
		gs, err := db.GetSession(ctx, h1)
		if err != nil || !reflect.DeepEqual(gs, s1) {
			t.Fatalf("GetSession = %+v, %v; want %+v", gs, err, s1)
		}
		n, err := db.DeleteExpiredSessions(ctx, t0.Add(2*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("DeleteExpiredSessions = %d, %v; want 1", n, err)
		}
		_, err = db.GetSession(ctx, h1)
		wantCode(t, err, errs.NotFound, "")
		if err := db.DeleteSession(ctx, h2); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteSession(ctx, h2); err != nil {
			t.Fatalf("second DeleteSession: %v", err)
		}
		_, err = db.GetSession(ctx, bytes.Repeat([]byte{1}, 32))
		wantCode(t, err, errs.NotFound, "")
	})
}

// TestDialect runs the dialect's portable pieces on both engines.
func TestDialect(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		d := db.Dialect()
		err := db.WriteTx(ctx, "test", func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, "CREATE TABLE kv (id "+d.AutoID()+", k TEXT NOT NULL UNIQUE, v "+d.Blob()+", note TEXT)"); err != nil {
				return err
			}
			ins := d.Rebind("INSERT INTO kv (k, v, note) VALUES (?, ?, '?')" + d.Upsert([]string{"k"}, []string{"v"}))
			for _, v := range []string{"one", "two"} {
				if _, err := tx.ExecContext(ctx, ins, "key", []byte(v)); err != nil {
					return err
				}
			}
			skip := d.Rebind("INSERT INTO kv (k, v) VALUES (?, ?)" + d.Upsert([]string{"k"}, nil))
			_, err := tx.ExecContext(ctx, skip, "key", []byte("three"))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var v []byte
		var note string
		var n int
		if err := db.ReaderDB().QueryRowContext(ctx, "SELECT v, note, (SELECT COUNT(*) FROM kv) FROM kv WHERE k = 'key'").Scan(&v, &note, &n); err != nil {
			t.Fatal(err)
		}
		if string(v) != "two" || note != "?" || n != 1 {
			t.Fatalf("after upserts: v=%q note=%q rows=%d", v, note, n)
		}
		var hit int
		q := d.Rebind("SELECT COUNT(*) FROM kv WHERE k " + d.ILike() + " ?")
		if err := db.ReaderDB().QueryRowContext(ctx, q, "KE%").Scan(&hit); err != nil || hit != 1 {
			t.Fatalf("ILIKE count = %d, %v", hit, err)
		}
	})
}

func TestOpenSQLite(t *testing.T) {
	dir := t.TempDir()
	for _, dsn := range []string{filepath.Join(dir, "a", "plain.db"), "sqlite:" + filepath.Join(dir, "s.db"), "file:" + filepath.Join(dir, "f.db")} {
		db, err := sqlstore.Open(ctx, dsn)
		if err != nil {
			t.Fatalf("Open(%q): %v", dsn, err)
		}
		if db.Engine() != sqlstore.EngineSQLite {
			t.Fatalf("Engine() = %q", db.Engine())
		}
		var mode string
		var fk, busy int
		w := db.WriterDB()
		if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
			t.Fatalf("%s: journal_mode = %q, %v", dsn, mode, err)
		}
		if err := w.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
			t.Fatalf("%s: foreign_keys = %d, %v", dsn, fk, err)
		}
		// 2 is FULL: a commit is on disk before it returns (see sqlitePragmas).
		var sync int
		if err := w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
			t.Fatalf("%s: synchronous = %d, %v; want 2 (FULL)", dsn, sync, err)
		}
		if err := db.ReaderDB().QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil || busy < 1000 {
			t.Fatalf("%s: reader busy_timeout = %d, %v", dsn, busy, err)
		}
		if w.Stats().MaxOpenConnections != 1 {
			t.Fatalf("writer pool allows %d connections, want 1", w.Stats().MaxOpenConnections)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		// The reader pool is read-only: writes must go through the writer.
		if _, err := db.ReaderDB().ExecContext(ctx, "INSERT INTO audit_log (at, action) VALUES (1, 'x')"); err == nil {
			t.Fatalf("%s: write through the reader pool succeeded", dsn)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, dsn := range []string{"", ":memory:", "sqlite::memory:", "mysql://x/y"} {
		if _, err := sqlstore.Open(ctx, dsn); !errs.Is(err, errs.Invalid) {
			t.Fatalf("Open(%q) = %v, want invalid", dsn, err)
		}
	}
	// A data directory that cannot be created: its parent is a file.
	blocker := filepath.Join(dir, "blocker")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlstore.Open(ctx, filepath.Join(blocker, "sub", "x.db")); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("Open under a file = %v, want unavailable", err)
	}
}

func TestOpenPostgresDown(t *testing.T) {
	// Nothing listens on port 1: the server is "down".
	_, err := sqlstore.Open(ctx, "postgres://postgres@127.0.0.1:1/ecredit?connect_timeout=3&sslmode=disable")
	wantCode(t, err, errs.Unavailable, "")
	if errs.MessageOf(err) != "数据库暂不可用 (database unavailable)" {
		t.Fatalf("message = %q", errs.MessageOf(err))
	}
}
