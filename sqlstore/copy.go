package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"ecredit/errs"
)

// CopyFunc writes rows into the named columns of a table with COPY FROM
// STDIN on the connection of the transaction it was handed with, and
// returns how many rows it wrote. COPY is all or nothing: on an error no
// row of that call is written, and (as every failed statement on
// PostgreSQL) the transaction can only continue after ROLLBACK TO a
// savepoint taken before the call.
type CopyFunc func(table string, cols []string, rows [][]any) (int64, error)

// writeCopy is write for PostgreSQL paths that bulk-load with COPY: fn
// runs in one transaction on one pinned connection and gets, next to the
// transaction, a CopyFunc on that same connection, so the rows it copies
// commit or roll back with everything else fn does (audit entry
// included). COPY fires the tables' statement-level triggers, with their
// transition tables, like INSERT does. Only for PostgreSQL.
func (db *DB) writeCopy(ctx context.Context, op string, fn func(tx *sql.Tx, copyIn CopyFunc) error) error {
	if db.d.Name() != EnginePostgres {
		return fmt.Errorf("%s: COPY is PostgreSQL only", op)
	}
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return mapErr(op, err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(op, err)
	}
	copyIn := func(table string, cols []string, rows [][]any) (int64, error) {
		if len(rows) == 0 {
			return 0, nil
		}
		var n int64
		err := conn.Raw(func(dc any) error {
			c, ok := dc.(*stdlib.Conn)
			if !ok {
				return fmt.Errorf("%s: COPY needs a pgx connection, not %T", op, dc)
			}
			var err error
			n, err = c.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
			return err
		})
		return n, err
	}
	if err := fn(tx, copyIn); err != nil {
		tx.Rollback()
		return mapErr(op, err)
	}
	if err := tx.Commit(); err != nil {
		return mapErr(op, err)
	}
	return nil
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation
// (23505) on the named constraint (any constraint if name is "").
func isUniqueViolation(err error, name string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && (name == "" || pe.ConstraintName == name)
}

// drawIDs takes n values of the id column's sequence of table (an
// identity or serial column "id", PostgreSQL), in ascending order, for rows
// about to be copied in with their ids. One query, one row: the sequence is
// looked up once (MATERIALIZED; nextval(pg_get_serial_sequence(…)) in the
// select list looks it up once an id, 2 ms of 1000), and the ids come as one
// text value, not 1000 rows.
func drawIDs(ctx context.Context, tx *sql.Tx, table string, n int) ([]int64, error) {
	var list string
	if err := tx.QueryRowContext(ctx, "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence($1, 'id')::regclass AS seq) "+
		"SELECT COALESCE(array_to_string(array_agg(nextval(s.seq)), ','), '') FROM s, generate_series(1, $2)", table, n).Scan(&list); err != nil {
		return nil, err
	}
	ids := make([]int64, 0, n)
	for v := range strings.SplitSeq(list, ",") {
		if v == "" {
			continue
		}
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if len(ids) != n {
		return nil, &errs.Error{Code: errs.Internal, Message: fmt.Sprintf("drew %d ids of %s, asked for %d", len(ids), table, n)}
	}
	slices.Sort(ids)
	return ids, nil
}

// pipeline sends the statements of b to PostgreSQL in one round trip and
// runs them as one implicit transaction (the extended protocol's messages
// up to one Sync): all commit together, or the first error rolls all of
// them back and is returned (each queued statement's result callback runs
// in order; set_config(…, true) lasts until the end of the pipeline). For
// writes whose statements need nothing back from each other before the
// commit: a statement that must not commit unless another changed so many
// rows checks that itself (ecredit_check, migration 00023). Only for
// PostgreSQL.
func (db *DB) pipeline(ctx context.Context, op string, b *pgx.Batch) error {
	if db.d.Name() != EnginePostgres {
		return fmt.Errorf("%s: a pipeline is PostgreSQL only", op)
	}
	return mapErr(op, withPgx(ctx, db.w, func(c *pgx.Conn) error { return c.SendBatch(ctx, b).Close() }))
}

// withPgx calls fn with the pgx connection under one connection of pool
// (PostgreSQL), held for the call.
func withPgx(ctx context.Context, pool *sql.DB, fn func(*pgx.Conn) error) error {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("sqlstore: a pgx connection, not %T", dc)
		}
		return fn(c.Conn())
	})
}

// eachPgxRow runs a query on PostgreSQL through pgx itself, not
// database/sql, on a reader connection, and calls fn for every row: pgx
// scans a binary column straight into a typed destination, where
// database/sql converts every value through its own layer (for 250 rows
// of 20 columns, most of the Go time of the read). Only for PostgreSQL.
func (db *DB) eachPgxRow(ctx context.Context, query string, args []any, fn func(pgx.Rows) error) error {
	if db.d.Name() != EnginePostgres {
		return fmt.Errorf("eachPgxRow: PostgreSQL only")
	}
	return withPgx(ctx, db.r, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, db.d.Rebind(query), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		return forRows(rows, fn)
	})
}
