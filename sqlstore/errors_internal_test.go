package sqlstore

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"ecredit/errs"
)

// TestMapErrConnectionLost: a connection lost mid-statement — what pgx
// reports when PostgreSQL crashes or restarts under a request (found by the
// crash harness as a 500) — is Unavailable (503), like a refused
// connection; an unknown error stays Internal.
func TestMapErrConnectionLost(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("commit: %w", io.ErrUnexpectedEOF),
		io.EOF,
		fmt.Errorf("query: %w", pgconn.ErrConnClosed),
		&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"},
		&pgconn.PgError{Code: "57P03", Message: "the database system is not yet accepting connections"},
	} {
		if got := mapErr("op", err); !errs.Is(got, errs.Unavailable) {
			t.Errorf("mapErr(%v) = %v, want unavailable", err, got)
		}
	}
	if got := mapErr("op", errors.New("something else")); !errs.Is(got, errs.Internal) {
		t.Errorf("mapErr(other) = %v, want internal", got)
	}
}

// TestMapErrConcurrent: a deadlock or serialization failure rolled the
// transaction back; it is a Conflict (the ingest services judge such a
// batch again) with a message saying nothing was saved, not a 500.
func TestMapErrConcurrent(t *testing.T) {
	for _, code := range []string{"40P01", "40001"} {
		got := mapErr("op", fmt.Errorf("exec: %w", &pgconn.PgError{Code: code, Message: "deadlock detected"}))
		if !errs.Is(got, errs.Conflict) || got.(*errs.Error).Message != errConcurrent {
			t.Errorf("mapErr(%s) = %v, want a conflict", code, got)
		}
	}
}
