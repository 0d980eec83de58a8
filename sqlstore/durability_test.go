package sqlstore

import (
	"context"
	"slices"
	"testing"
)

func TestDurabilityGapsJudgement(t *testing.T) {
	for _, c := range []struct {
		engine   string
		settings map[string]string
		want     []string
	}{
		{EnginePostgres, map[string]string{"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}, nil},
		{EnginePostgres, map[string]string{"fsync": "on", "synchronous_commit": "local", "full_page_writes": "on"}, nil},
		{EnginePostgres, map[string]string{"fsync": "on", "synchronous_commit": "remote_apply", "full_page_writes": "on"}, nil},
		{EnginePostgres, map[string]string{"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"},
			[]string{"fsync=off", "synchronous_commit=off", "full_page_writes=off"}},
		{EnginePostgres, map[string]string{"fsync": "on", "synchronous_commit": "off", "full_page_writes": "on"}, []string{"synchronous_commit=off"}},
		{EngineSQLite, map[string]string{"synchronous": "2"}, nil},
		{EngineSQLite, map[string]string{"synchronous": "3"}, nil},
		{EngineSQLite, map[string]string{"synchronous": "1"}, []string{"synchronous=1"}},
		{EngineSQLite, map[string]string{"synchronous": "0"}, []string{"synchronous=0"}},
	} {
		if got := durabilityGaps(c.engine, c.settings); !slices.Equal(got, c.want) {
			t.Errorf("%s %v: %v, want %v", c.engine, c.settings, got, c.want)
		}
	}
}

// TestDurabilityGapsOfStore: a SQLite store as Open makes it has none; a
// PostgreSQL one reports exactly what the server says (the test script's
// throwaway cluster runs without fsync).
func TestDurabilityGapsOfStore(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, t.TempDir()+"/d.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if gaps, err := db.DurabilityGaps(ctx); err != nil || len(gaps) != 0 {
		t.Fatalf("SQLite: %v, %v", gaps, err)
	}
	if _, err := db.w.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
		t.Fatal(err)
	}
	if gaps, err := db.DurabilityGaps(ctx); err != nil || !slices.Equal(gaps, []string{"synchronous=1"}) {
		t.Fatalf("SQLite with NORMAL: %v, %v", gaps, err)
	}
}
