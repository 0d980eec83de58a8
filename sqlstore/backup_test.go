package sqlstore_test

import (
	"path/filepath"
	"strings"
	"testing"

	"ecredit/errs"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// TestBackupCounts: the counts of every table, the consistent copy of a
// SQLite database (its counts equal the source's, its integrity check
// passes) and the exported PostgreSQL snapshot (its counts stay those of
// the instant it was taken while writes go on).
func TestBackupCounts(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		if empty, err := db.IsEmpty(ctx); err != nil || empty {
			t.Fatalf("migrated store IsEmpty = %v, %v", empty, err)
		}
		for i := range 3 {
			mustCreate(t, db, org(t, 9100+i, registry.KindMerchant, "承德备份测试商贸有限公司", "130802"))
		}
		counts, err := db.TableCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if counts["subjects"] != 3 || counts["audit_log"] < 3 || counts.LedgerSize() != 0 {
			t.Fatalf("counts %v", counts)
		}
		for name := range counts {
			if strings.HasPrefix(name, "subject_search_") {
				t.Errorf("full-text shadow table %s counted", name)
			}
		}
		if d := counts.Diff(counts); len(d) != 0 {
			t.Errorf("Diff with itself: %v", d)
		}
		changed := sqlstore.TableCounts{"subjects": 4, "extra": 1}
		if d := counts.Diff(changed); len(d) < 2 || !strings.Contains(strings.Join(d, "\n"), "subjects: 备份中 4 行，恢复后 3 行") {
			t.Errorf("Diff = %v", d)
		}

		switch db.Engine() {
		case sqlstore.EngineSQLite:
			dest := filepath.Join(t.TempDir(), "copy.db")
			got, err := db.BackupSQLite(ctx, dest)
			if err != nil {
				t.Fatal(err)
			}
			if d := got.Diff(counts); len(d) != 0 {
				t.Errorf("copy differs: %v", d)
			}
			if _, err := db.BackupSQLite(ctx, dest); !errs.Is(err, errs.Conflict) {
				t.Errorf("backup over an existing file: %v", err)
			}
			fresh, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "fresh.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer fresh.Close()
			if empty, err := fresh.IsEmpty(ctx); err != nil || !empty {
				t.Errorf("fresh IsEmpty = %v, %v", empty, err)
			}
		case sqlstore.EnginePostgres:
			if v, err := db.ServerVersion(ctx); err != nil || v < 10 {
				t.Errorf("ServerVersion = %d, %v", v, err)
			}
			err := db.WithSnapshot(ctx, func(snap string, in sqlstore.TableCounts) error {
				if snap == "" {
					t.Error("empty snapshot name")
				}
				// A write after the snapshot is not in its counts.
				mustCreate(t, db, org(t, 9200, registry.KindMerchant, "承德快照之后商贸有限公司", "130802"))
				if d := in.Diff(counts); len(d) != 0 {
					t.Errorf("snapshot counts differ: %v", d)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if after, _ := db.TableCounts(ctx); after["subjects"] != 4 {
				t.Errorf("after the snapshot: %v", after)
			}
		}
	})
}
