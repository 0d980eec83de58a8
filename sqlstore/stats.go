package sqlstore

import (
	"context"

	"ecredit/registry"
)

// SubjectCounts is the registry at a glance: subjects by kind and by the
// verification state the service shows (a passed verification past its
// due date counts as expired).
type SubjectCounts struct {
	Total    int64
	ByKind   map[registry.Kind]int64
	ByVerify map[registry.VerifyState]int64
}

// CountSubjectsBy counts subjects by kind and verification state in one
// pass over the table.
func (db *DB) CountSubjectsBy(ctx context.Context) (*SubjectCounts, error) {
	const op = "sqlstore.CountSubjectsBy"
	q := db.d.Rebind(`SELECT kind, CASE WHEN verify = ? AND reverify_due > 0 AND reverify_due <= ? THEN ? ELSE verify END AS state, COUNT(*)
		FROM subjects GROUP BY kind, state`)
	rows, err := db.r.QueryContext(ctx, q, string(registry.VerifyOK), micros(db.now()), string(registry.VerifyExpired))
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	c := &SubjectCounts{ByKind: map[registry.Kind]int64{}, ByVerify: map[registry.VerifyState]int64{}}
	for rows.Next() {
		var kind, state string
		var n int64
		if err := rows.Scan(&kind, &state, &n); err != nil {
			return nil, mapErr(op, err)
		}
		c.Total += n
		c.ByKind[registry.Kind(kind)] += n
		c.ByVerify[registry.VerifyState(state)] += n
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(op, err)
	}
	return c, nil
}
