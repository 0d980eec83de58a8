package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"ecredit/audit"
)

// Append writes one audit entry on its own (reads of personal data,
// logins). It sets e.ID, and e.At from the store's clock when zero.
func (db *DB) Append(ctx context.Context, e *audit.Entry) error {
	return db.write(ctx, "sqlstore.Append", func(tx *sql.Tx) error {
		return db.appendAudit(ctx, tx, e, "", 0)
	})
}

// List returns audit entries newest first, before the id cursor f.Before,
// filtered by actor, action and exact object ("subject:42").
func (db *DB) List(ctx context.Context, f audit.Filter) ([]*audit.Entry, error) {
	const op = "sqlstore.List"
	var where []string
	var args []any
	add := func(cond string, a any) { where = append(where, cond); args = append(args, a) }
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	if f.ActorID != 0 {
		add("actor_id = ?", f.ActorID)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.Object != "" {
		add("object = ?", f.Object)
	}
	q := `SELECT id, at, actor_id, actor_name, role, action, object, detail, remote, request_id, via FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, clampLimit(f.Limit, 50, 1000))
	rows, err := db.readQuery(ctx, q, args...)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	var out []*audit.Entry
	for rows.Next() {
		var e audit.Entry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.ActorID, &e.ActorName, &e.Role, &e.Action, &e.Object, &e.Detail, &e.Remote,
			&e.RequestID, &e.Via); err != nil {
			return nil, mapErr(op, err)
		}
		e.At = fromMicros(at)
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(op, err)
	}
	return out, nil
}
