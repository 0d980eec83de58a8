package sqlstore_test

import (
	"slices"
	"testing"

	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// TestDurabilityGapsReported: on each engine the store reports the
// settings the server itself shows as not durable (on PostgreSQL the test
// script's cluster runs with fsync, synchronous_commit and
// full_page_writes off; a SQLite store as Open makes it syncs each
// commit).
func TestDurabilityGapsReported(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		gaps, err := db.DurabilityGaps(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		if db.Dialect().Name() == sqlstore.EnginePostgres {
			for _, name := range []string{"fsync", "synchronous_commit", "full_page_writes"} {
				var v string
				if err := db.ReaderDB().QueryRowContext(ctx, "SHOW "+name).Scan(&v); err != nil {
					t.Fatal(err)
				}
				if v == "off" {
					want = append(want, name+"=off")
				}
			}
		}
		if !slices.Equal(gaps, want) {
			t.Fatalf("gaps %v, the server shows %v", gaps, want)
		}
	})
}
