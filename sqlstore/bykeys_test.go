package sqlstore_test

import (
	"strings"
	"testing"

	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// TestKeyLookupPlans checks that the lookups by a list of text keys under
// a fixed condition (a platform's orders by number and shops by their
// platform ids, a firm's parcels by waybill, a source's trace events by
// id) probe their unique index with both columns on each engine — on
// PostgreSQL also under a generic plan made on the fresh, unanalysed
// tables, as pgx's prepared statements may get after five runs. An IN
// list there matched the fixed column alone and filtered every row of the
// platform by the list (64–170 ms for 500 order numbers). Parcels are
// checked on SQLite only: on a PostgreSQL table never analysed, a firm's
// parcels by registration (parcels_firm_created_idx, by start before 00025) tie with the waybill key in
// cost, and the generic plan may probe that index and filter the firm's
// parcels by waybill until autovacuum first analyses the table.
func TestKeyLookupPlans(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		for _, c := range []struct {
			table, where, key, index string
			arg                      string // the fixed condition's value, as an SQL literal
		}{
			{"orders", "platform_id = ?", "order_no", "orders_platform_no_key", "1"},
			{"shops", "platform_id = ?", "platform_shop_id", "shops_platform_shop_key", "1"},
			{"parcels", "firm_id = ?", "waybill", "parcels_firm_waybill_key", "1"},
			{"trace_events", "source_key = ?", "event_id", "trace_events_source_key", "'account:1'"},
		} {
			fixed := strings.TrimSuffix(c.where, " = ?")
			q := db.ByKeysQuery("id", c.table, c.where, c.key, 2)
			if db.Dialect().Name() == sqlstore.EnginePostgres {
				if c.table == "parcels" {
					continue
				}
				var plan []string
				conn, err := db.WriterDB().Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range []string{"SET plan_cache_mode = force_generic_plan", "PREPARE bykeys AS " + q} {
					if _, err := conn.ExecContext(ctx, s); err != nil {
						t.Fatalf("%s: %s: %v", c.table, s, err)
					}
				}
				rows, err := conn.QueryContext(ctx, "EXPLAIN EXECUTE bykeys ('{A,B}', "+c.arg+")")
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					var line string
					if err := rows.Scan(&line); err != nil {
						t.Fatal(err)
					}
					plan = append(plan, line)
				}
				rows.Close()
				if _, err := conn.ExecContext(ctx, "DEALLOCATE bykeys; RESET plan_cache_mode"); err != nil {
					t.Fatal(err)
				}
				conn.Close()
				text := strings.Join(plan, "\n")
				probe := false
				for _, l := range plan {
					if strings.Contains(l, "Index Cond:") && strings.Contains(l, fixed+" = ") && strings.Contains(l, c.key+" = k.key") {
						probe = true
					}
				}
				if !strings.Contains(text, "using "+c.index) || !probe {
					t.Errorf("%s: the generic plan does not probe %s by %s and %s:\n%s", c.table, c.index, fixed, c.key, text)
				}
				continue
			}
			plan := sqlitePlan(t, db, q, strings.Trim(c.arg, "'"), "A", "B")
			if want := "INDEX " + c.index + " (" + fixed + "=? AND " + c.key + "=?)"; !strings.Contains(plan, want) {
				t.Errorf("%s: plan %q lacks %q", c.table, plan, want)
			}
		}
	})
}
