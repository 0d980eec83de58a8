package sqlstore_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"ecredit/audit"
	"ecredit/code"
	"ecredit/errs"
	"ecredit/pii"
	"ecredit/registry"
	"ecredit/sqlstore"
)

var ctx = context.Background()

// t0 is the fixed time the tests start from.
var t0 = time.Date(2026, 3, 1, 8, 30, 15, 123456789, time.UTC)

func testKeys(tb testing.TB) *pii.Keys {
	tb.Helper()
	k, err := pii.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// uscc returns the n-th valid credit code of a Chengde enterprise.
func uscc(tb testing.TB, n int) string {
	tb.Helper()
	c, err := code.MakeUSCC('9', '1', "130802", fmt.Sprintf("%08d", n))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// idNumber returns the n-th valid resident ID number of a Chengde person.
func idNumber(tb testing.TB, n int) string {
	tb.Helper()
	c, err := code.MakeID("130802", time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n%9000), n%1000)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// org returns an unsaved organisation subject.
func org(tb testing.TB, n int, kind registry.Kind, name, region string) *registry.Subject {
	return &registry.Subject{Kind: kind, Name: name, CreditCode: uscc(tb, n), RegionCode: region,
		Status: registry.StatusActive, Verify: registry.VerifyNone, Mark: fmt.Sprintf("ECM-TEST-%04d-%04d", n/10000, n%10000),
		CreatedBy: 1, CreatedAt: t0, UpdatedAt: t0}
}

// person returns an unsaved person subject with sealed personal data.
func person(tb testing.TB, keys *pii.Keys, n int, kind registry.Kind, realName, phone string) *registry.Subject {
	s := &registry.Subject{Kind: kind, Name: pii.MaskName(realName), RegionCode: "130802", Status: registry.StatusActive,
		Verify: registry.VerifyNone, Mark: fmt.Sprintf("ECM-PERS-%04d-%04d", n/10000, n%10000), CreatedAt: t0, UpdatedAt: t0}
	s.IDNumber = keys.Seal(pii.KindIDNumber, idNumber(tb, n))
	s.NameSeal = keys.Seal(pii.KindName, realName)
	if phone != "" {
		s.Phone = keys.Seal(pii.KindPhone, phone)
	}
	return s
}

func ev(action, object string) *audit.Entry {
	return &audit.Entry{ActorID: 1, ActorName: "admin", Role: "admin", Action: action, Object: object, Via: "api", Remote: "127.0.0.1"}
}

func mustCreate(tb testing.TB, db *sqlstore.DB, s *registry.Subject) *registry.Subject {
	tb.Helper()
	if err := db.CreateSubject(ctx, s, ev(audit.ActCreate, "subject")); err != nil {
		tb.Fatalf("CreateSubject %s: %v", s.Name, err)
	}
	return s
}

// wantCode fails unless err carries code (and field, when not "-").
func wantCode(tb testing.TB, err error, code errs.Code, field string) {
	tb.Helper()
	if !errs.Is(err, code) {
		tb.Fatalf("error = %v, want code %s", err, code)
	}
	if field != "-" && errs.FieldOf(err) != field {
		tb.Fatalf("error field = %q, want %q (%v)", errs.FieldOf(err), field, err)
	}
	if code != errs.Internal && errs.MessageOf(err) == "" {
		tb.Fatalf("error %v has no message for people", err)
	}
}

// auditCount returns the number of audit entries.
func auditCount(tb testing.TB, db *sqlstore.DB) int {
	tb.Helper()
	var n int
	if err := db.ReaderDB().QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_log").Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// sqlitePlan is SQLite's EXPLAIN QUERY PLAN of q, one line a plan row.
func sqlitePlan(t testing.TB, db *sqlstore.DB, q string, args ...any) string {
	t.Helper()
	rows, err := db.WriterDB().QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}
