package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"ecredit/errs"
)

// unique describes one unique constraint: how each engine names it, the
// input field it is about, and what to tell a person.
type unique struct {
	sqlite  string // the column list SQLite reports: "UNIQUE constraint failed: <sqlite>"
	pg      string // the index name PostgreSQL reports
	field   string
	message string
}

var uniques = []unique{
	{"subjects.credit_code", "subjects_credit_code_key", "credit_code", "该统一社会信用代码已登记 (credit code already registered)"},
	{"subjects.id_index", "subjects_id_index_key", "id_number", "该公民身份号码已登记 (ID number already registered)"},
	{"subjects.mark", "subjects_mark_key", "mark", "核验标识重复，请重试 (duplicate verification mark)"},
	{"shops.platform_id, shops.platform_shop_id", "shops_platform_shop_key", "platform_shop_id", "该平台已登记相同平台店铺编号的店铺 (shop id already registered on this platform)"},
	{"accounts.login", "accounts_login_key", "login", "登录名已被使用 (login already taken)"},
	{"api_keys.prefix", "api_keys_prefix_key", "prefix", "API 密钥前缀重复，请重试 (duplicate key prefix)"},
	{"sessions.token_hash", "sessions_pkey", "", "会话重复 (duplicate session)"},
}

var errUnavailable = "数据库暂不可用 (database unavailable)"

// mapErr turns a driver error into an *errs.Error:
//   - unique violations → Conflict, with the field when the constraint is
//     known;
//   - foreign-key violations → Invalid (a referenced object is missing);
//   - connection failures (refused, reset, or lost mid-statement), a
//     database that is shutting down, or a locked SQLite file → Unavailable;
//   - an *errs.Error passes through with op filled in;
//   - anything else → Internal wrapping the cause.
//
// sql.ErrNoRows is not mapped here: callers know what was not found.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return errs.Wrap(op, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &errs.Error{Code: errs.Unavailable, Op: op, Message: "请求已取消或超时 (request cancelled or timed out)", Err: err}
	}

	var se *sqlite.Error
	if errors.As(err, &se) {
		code := se.Code()
		switch {
		case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			cols := sqliteUniqueColumns(se.Error())
			for _, u := range uniques {
				if cols == u.sqlite {
					return &errs.Error{Code: errs.Conflict, Op: op, Field: u.field, Message: u.message, Err: err}
				}
			}
			return &errs.Error{Code: errs.Conflict, Op: op, Message: "记录重复 (duplicate)", Err: err}
		case code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY,
			code == sqlite3.SQLITE_CONSTRAINT_TRIGGER && strings.Contains(se.Error(), "violates foreign key constraint"):
			return &errs.Error{Code: errs.Invalid, Op: op, Message: "引用的对象不存在 (a referenced object does not exist)", Err: err}
		case code&0xff == sqlite3.SQLITE_BUSY, code&0xff == sqlite3.SQLITE_LOCKED, code&0xff == sqlite3.SQLITE_CANTOPEN,
			code&0xff == sqlite3.SQLITE_FULL, code&0xff == sqlite3.SQLITE_IOERR:
			return &errs.Error{Code: errs.Unavailable, Op: op, Message: errUnavailable, Err: err}
		}
		return &errs.Error{Code: errs.Internal, Op: op, Err: err}
	}

	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505":
			for _, u := range uniques {
				if pe.ConstraintName == u.pg {
					return &errs.Error{Code: errs.Conflict, Op: op, Field: u.field, Message: u.message, Err: err}
				}
			}
			return &errs.Error{Code: errs.Conflict, Op: op, Message: "记录重复 (duplicate)", Err: err}
		case pe.Code == "23503":
			return &errs.Error{Code: errs.Invalid, Op: op, Message: "引用的对象不存在 (a referenced object does not exist)", Err: err}
		case pe.Code == "40P01", pe.Code == "40001":
			// Deadlock or serialization failure: two transactions wanted
			// the same rows in opposite orders and PostgreSQL rolled this
			// one back. Nothing was written; the same request again (or a
			// batch judged again, as the ingest services do on a
			// conflict) goes through.
			return &errs.Error{Code: errs.Conflict, Op: op, Message: errConcurrent, Err: err}
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // shutdown, cannot connect now
			pe.Code == "53300", pe.Code == "53100", // too many connections, disk full
			pe.Code == "3D000": // database does not exist
			return &errs.Error{Code: errs.Unavailable, Op: op, Message: errUnavailable, Err: err}
		}
		return &errs.Error{Code: errs.Internal, Op: op, Err: err}
	}

	// A connection lost mid-statement (the database crashed or restarted:
	// pgx reports an unexpected EOF, or a connection it has closed) is the
	// database being unavailable, not a fault of the request; whether a
	// COMMIT cut off this way took effect is unknown, which a 503 tells
	// the client (ingest is idempotent, so it may resend).
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, pgconn.ErrConnClosed) ||
		pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return &errs.Error{Code: errs.Unavailable, Op: op, Message: errUnavailable, Err: err}
	}
	return &errs.Error{Code: errs.Internal, Op: op, Err: err}
}

// errConcurrent is the message of a write that lost to a concurrent one.
const errConcurrent = "与同时进行的另一项写入冲突，未保存任何内容，请重新提交 (conflicted with a concurrent write; nothing was saved, resend)"

// sqliteUniqueColumns extracts "table.col, table.col" from SQLite's
// "UNIQUE constraint failed: table.col, table.col (2067)".
func sqliteUniqueColumns(msg string) string {
	const marker = "constraint failed: "
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return ""
	}
	s := msg[i+len(marker):]
	if j := strings.Index(s, " ("); j >= 0 {
		s = s[:j]
	}
	return strings.TrimSpace(s)
}

// notFound builds the NotFound error for object id.
func notFound(what, whatEn string, id any) error {
	return &errs.Error{Code: errs.NotFound, Message: fmt.Sprintf("%s %v 不存在 (%s not found)", what, id, whatEn)}
}
