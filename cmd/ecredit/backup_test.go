package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ecredit/sqlstore"
)

// TestBackupRestore backs up a running server's store with the real
// binary while API writes go on, restores it into an empty target, and
// checks the restored copy: `ecredit ledger verify` passes, every table
// has the manifest's row count, and every write acknowledged before the
// backup began is in it. Restores into a non-empty target and from a
// damaged backup are refused.
func TestBackupRestore(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			s := newE2EStore(t, engine, freshPG(t, engine))
			key := s.adminKey(t)
			srv := startServer(t, s.env, s.args...)
			file := filepath.Join("..", "..", "imports", "testdata", "penalty_gb18030.csv")
			if c, out, errOut := cli(t, s.env, "", append([]string{"import", "--type", "penalty", "--source", "承德市市场监督管理局", file}, s.args...)...); c != 1 {
				t.Fatalf("import = %d\n%s\n%s", c, out, errOut)
			}
			// A checkpoint over the imported records: the backup carries
			// signed checkpoints, which the restored ledger must verify.
			if c, out, errOut := cli(t, s.env, "", append([]string{"ledger", "checkpoint"}, s.args...)...); c != 0 {
				t.Fatalf("ledger checkpoint = %d\n%s\n%s", c, out, errOut)
			}

			tr := newTracker()
			var seq atomic.Int64
			ws := startWriters(t, tr, key, func() string { return srv.url }, &seq, rand.New(rand.NewPCG(1, 2)), 2, 30*time.Second)
			for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
				if n := ws.ws[0].ok2xx.Load() + ws.ws[1].ok2xx.Load(); n >= 20 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no writes acknowledged: %v", tr.statuses)
				}
			}
			// What was acknowledged before the backup began must be in it.
			tr.mu.Lock()
			before := map[string]bool{}
			for ref, o := range tr.records {
				if o.fate == fateAcked {
					before[ref] = true
				}
			}
			tr.mu.Unlock()

			backupDir := filepath.Join(t.TempDir(), "backup")
			c, out, errOut := cli(t, s.env, "", append([]string{"backup", "--out", backupDir}, s.args...)...)
			ws.stop()
			if c != 0 || !strings.Contains(out, "备份完成") {
				t.Fatalf("backup = %d\n%s\n%s", c, out, errOut)
			}
			srv.stop(t)
			if c, _, errOut := cli(t, s.env, "", append([]string{"backup", "--out", backupDir}, s.args...)...); c != 1 || !strings.Contains(errOut, "不是空的") {
				t.Errorf("backup into a non-empty directory = %d %s", c, errOut)
			}

			var m manifest
			b, err := os.ReadFile(filepath.Join(backupDir, manifestFile))
			if err != nil || json.Unmarshal(b, &m) != nil {
				t.Fatalf("manifest: %v\n%s", err, b)
			}
			names := map[string]bool{}
			for _, f := range m.Files {
				names[f.Name] = true
				if st, err := os.Stat(filepath.Join(backupDir, f.Name)); err != nil || (f.Secret && st.Mode().Perm() != 0o600) {
					t.Errorf("backup file %s: %v %v", f.Name, err, st.Mode())
				}
			}
			for _, want := range []string{piiKeyFile, "ledger.key", "ledger.pub", map[bool]string{true: backupPGDump, false: backupSQLite}[engine == "postgres"]} {
				if !names[want] {
					t.Errorf("backup lacks %s: %v", want, m.Files)
				}
			}
			if m.Engine != engine || m.Tables["records"] < int64(len(before))+6 || m.Tables["ledger_checkpoints"] < 1 || m.Tables.LedgerSize() != m.Tables["record_events"] {
				t.Fatalf("manifest %+v (acknowledged before: %d)", m, len(before))
			}

			// The restore: into an empty data directory (and an empty
			// database on PostgreSQL), without the PII key in the
			// environment: it comes from the backup.
			r := &e2eStore{engine: engine, data: filepath.Join(t.TempDir(), "restored"), driver: s.driver,
				env: []string{"ECREDIT_DATA=", "ECREDIT_DB=", "ECREDIT_PII_KEY=", "ECREDIT_PII_KEY_FILE=", "ECREDIT_LEDGER_KEY_FILE="}}
			r.args = []string{"--data", r.data}
			r.dsn = filepath.Join(r.data, "ecredit.db")
			if engine == "postgres" {
				r.dsn = createDatabase(t, os.Getenv("ECREDIT_TEST_PG"))
				r.args = append(r.args, "--db", r.dsn)
			}
			c, out, errOut = cli(t, r.env, "", append([]string{"restore", "--from", backupDir}, r.args...)...)
			if c != 0 || !strings.Contains(out, "恢复完成") || !strings.Contains(out, "账本校验通过") {
				t.Fatalf("restore = %d\n%s\n%s", c, out, errOut)
			}
			r.verifyLedger(t, "the restored copy")

			db := r.open(t)
			got, err := func() (sqlstore.TableCounts, error) {
				defer db.Close()
				var refs []string
				rows, err := db.Query("SELECT source_ref FROM records")
				if err != nil {
					return nil, err
				}
				for rows.Next() {
					var ref string
					rows.Scan(&ref)
					refs = append(refs, ref)
				}
				rows.Close()
				have := map[string]bool{}
				for _, ref := range refs {
					have[ref] = true
				}
				for ref := range before {
					if !have[ref] {
						t.Errorf("record %s, acknowledged before the backup, is not in the restored copy", ref)
					}
				}
				counts := sqlstore.TableCounts{}
				for _, table := range []string{"subjects", "records", "record_events", "ledger_entries", "ledger_checkpoints", "audit_log"} {
					var n int64
					if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
						return nil, err
					}
					counts[table] = n
				}
				return counts, nil
			}()
			if err != nil {
				t.Fatal(err)
			}
			for table, n := range got {
				if m.Tables[table] != n {
					t.Errorf("restored %s: %d rows, the backup had %d", table, n, m.Tables[table])
				}
			}
			t.Logf("%s: backup under load and restore: %d subjects, %d records, ledger %d entries, %d checkpoints; %d acknowledged before the backup, all restored",
				engine, got["subjects"], got["records"], got.LedgerSize(), got["ledger_checkpoints"], len(before))

			// A second restore into the same target is refused, and so is
			// a damaged backup.
			if c, _, errOut := cli(t, r.env, "", append([]string{"restore", "--from", backupDir}, r.args...)...); c != 1 || !strings.Contains(errOut, "不是空的") {
				t.Errorf("restore into a non-empty target = %d %s", c, errOut)
			}
			if engine == "postgres" {
				other := append([]string{"--data", filepath.Join(t.TempDir(), "other")}, r.args[2:]...)
				if c, _, errOut := cli(t, r.env, "", append([]string{"restore", "--from", backupDir}, other...)...); c != 1 || !strings.Contains(errOut, "目标数据库不是空的") {
					t.Errorf("restore into a non-empty database = %d %s", c, errOut)
				}
			}
			f, err := os.OpenFile(filepath.Join(backupDir, "ledger.pub"), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("x")
			f.Close()
			fresh := []string{"--data", filepath.Join(t.TempDir(), "fresh")}
			if engine == "postgres" {
				fresh = append(fresh, "--db", createDatabase(t, os.Getenv("ECREDIT_TEST_PG")))
			}
			if c, _, errOut := cli(t, r.env, "", append([]string{"restore", "--from", backupDir}, fresh...)...); c != 1 || !strings.Contains(errOut, "ledger.pub 已损坏") {
				t.Errorf("restore of a damaged backup = %d %s", c, errOut)
			}
		})
	}
}
