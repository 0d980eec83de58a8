package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// ReviewWindowsPlan returns the engine's plan of the statement
// ReviewWindows runs for one shop, one line per plan row, so that the
// benchmark shows which indexes it uses.
func (db *DB) ReviewWindowsPlan(ctx context.Context, shopID int64, edges []time.Time) (string, error) {
	at := make([]int64, len(edges))
	for i, e := range edges {
		at[i] = micros(e)
	}
	query, args := windowSQL("shop_id IN (?)", "shop_id IN (?)", []any{shopID}, at)
	explain := "EXPLAIN QUERY PLAN "
	if db.d.name == EnginePostgres {
		explain = "EXPLAIN "
	}
	rows, err := db.r.QueryContext(ctx, db.d.Rebind(explain+query), args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var plan []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		plan = append(plan, fmt.Sprint(vals[len(vals)-1]))
	}
	return strings.Join(plan, "\n"), rows.Err()
}
