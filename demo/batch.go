package demo

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"ecredit/registry"
	"ecredit/sqlstore"
)

// The store has batch inserts for subjects only; the verification events
// and shops of a batch go in through sqlstore's WriteTx, one transaction
// each, as multi-row INSERTs, with the store's own column conventions
// (times in UTC unix microseconds, 0 for none; an empty platform shop id is
// NULL).

// rowsPerInsert bounds a multi-row INSERT: 250 rows of at most 10 columns
// stay far below both engines' limits on bound parameters.
const rowsPerInsert = 250

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// insertRows inserts rows (each of len(cols) values) into table in one
// transaction, rowsPerInsert rows per statement.
func insertRows(ctx context.Context, store *sqlstore.DB, op, table, cols string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	n := len(rows[0])
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
	query := func(k int) string {
		return store.Dialect().Rebind("INSERT INTO " + table + " (" + cols + ") VALUES " +
			strings.TrimSuffix(strings.Repeat(tuple+", ", k), ", "))
	}
	return store.WriteTx(ctx, op, func(tx *sql.Tx) error {
		var full *sql.Stmt
		defer func() {
			if full != nil {
				full.Close()
			}
		}()
		args := make([]any, 0, rowsPerInsert*n)
		for start := 0; start < len(rows); start += rowsPerInsert {
			chunk := rows[start:min(start+rowsPerInsert, len(rows))]
			args = args[:0]
			for _, r := range chunk {
				args = append(args, r...)
			}
			var err error
			if len(chunk) == rowsPerInsert {
				if full == nil {
					if full, err = tx.PrepareContext(ctx, query(rowsPerInsert)); err != nil {
						return err
					}
				}
				_, err = full.ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, query(len(chunk)), args...)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func addVerifications(ctx context.Context, store *sqlstore.DB, vs []*registry.Verification) error {
	rows := make([][]any, len(vs))
	for i, v := range vs {
		rows[i] = []any{v.SubjectID, v.Method, v.Passed, v.VerifiedBy, v.AccountID, micros(v.At), micros(v.ValidUntil), v.Note}
	}
	return insertRows(ctx, store, "demo.addVerifications", "verifications",
		"subject_id, method, passed, verified_by, account_id, at, valid_until, note", rows)
}

func createShops(ctx context.Context, store *sqlstore.DB, shops []*registry.Shop) error {
	rows := make([][]any, len(shops))
	for i, sh := range shops {
		var psid any
		if sh.PlatformShopID != "" {
			psid = sh.PlatformShopID
		}
		rows[i] = []any{sh.PlatformID, sh.OwnerID, sh.Name, sh.URL, sh.Domain, sh.Category, string(sh.Status), psid,
			micros(sh.CreatedAt), micros(sh.UpdatedAt), 1}
	}
	return insertRows(ctx, store, "demo.createShops", "shops",
		"platform_id, owner_id, name, url, domain, category, status, platform_shop_id, created_at, updated_at, version", rows)
}
