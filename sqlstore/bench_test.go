package sqlstore_test

import (
	"database/sql"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/pii"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// Subject creation on both engines, reported as rows/s next to the ceiling
// measured in the same run:
//
//	go test ./sqlstore -run '^$' -bench . -benchtime 3s
//
// BenchmarkCreateSubject goes through registry.Service (validation, code
// parsing, encryption of the phone, the duplicate checks, the audit entry),
// one transaction per subject. BenchmarkCreateSubjectBatch writes batches
// of benchBatch subjects with their audit entries in one transaction each
// (the demo generator's and the batch API's path). BenchmarkRawInsertCeiling
// inserts the same values with one prepared statement into a scratch table
// with the same columns and no index, trigger or audit row: the most the
// engine can take on this machine.

const benchBatch = 1000

var benchSeq atomic.Int64

// benchSubjects builds n merchants with valid, unique codes and sealed
// phone numbers.
func benchSubjects(b *testing.B, keys *pii.Keys, n int) []*registry.Subject {
	out := make([]*registry.Subject, n)
	for i := range out {
		k := int(benchSeq.Add(1))
		out[i] = &registry.Subject{Kind: registry.KindMerchant, Form: "enterprise", Name: fmt.Sprintf("承德市第%d号商贸有限公司", k),
			CreditCode: uscc(b, k), RegionCode: "130802", Address: "承德市双桥区南营子大街", LegalRep: "王某",
			Phone: keys.Seal(pii.KindPhone, fmt.Sprintf("139%08d", k%100000000)), Status: registry.StatusActive,
			Verify: registry.VerifyNone, Mark: fmt.Sprintf("ECM-%04d-%04d-%04d", k/100000000, k/10000%10000, k%10000), CreatedBy: 1}
	}
	return out
}

func reportRows(b *testing.B, rows int) {
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkCreateSubject(b *testing.B) {
	storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
		svc := &registry.Service{Store: db, Audit: db, Keys: testKeys(b)}
		admin := account.With(ctx, account.Actor{AccountID: 1, Name: "bench", Role: account.RoleAdmin, Via: "system"})
		in := make([]registry.SubjectInput, b.N)
		for i := range in {
			k := int(benchSeq.Add(1))
			in[i] = registry.SubjectInput{Kind: registry.KindMerchant, Name: fmt.Sprintf("承德市第%d号商贸有限公司", k), CreditCode: uscc(b, k),
				RegionCode: "130802", Address: "承德市双桥区南营子大街", LegalRep: "王某", Phone: fmt.Sprintf("139%08d", k%100000000)}
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := svc.CreateSubject(admin, in[i]); err != nil {
				b.Fatal(err)
			}
		}
		reportRows(b, b.N)
	})
}

func BenchmarkCreateSubjectBatch(b *testing.B) {
	storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
		keys := testKeys(b)
		evf := func(s *registry.Subject) *audit.Entry {
			return &audit.Entry{ActorID: 1, ActorName: "bench", Role: "admin", Action: audit.ActCreate, Object: "subject", Detail: string(s.Kind), Via: "system"}
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			subs := benchSubjects(b, keys, benchBatch)
			b.StartTimer()
			if err := db.CreateSubjects(ctx, subs, evf); err != nil {
				b.Fatal(err)
			}
		}
		reportRows(b, b.N*benchBatch)
	})
}

// rawColumns are the columns of subjects after id, in insert order.
var rawColumns = []string{"kind", "form", "name", "credit_code", "code_warning", "id_cipher", "id_index", "id_masked",
	"phone_cipher", "phone_index", "phone_masked", "name_cipher", "name_index", "name_masked", "legal_rep", "region_code",
	"address", "status", "verify", "verified_at", "verified_by", "reverify_due", "mark", "created_by", "created_at",
	"updated_at", "version"}

func BenchmarkRawInsertCeiling(b *testing.B) {
	storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
		d := db.Dialect()
		defs := []string{"id " + d.AutoID()}
		for _, c := range rawColumns {
			typ := "TEXT"
			switch {
			case strings.HasSuffix(c, "_cipher"), strings.HasSuffix(c, "_index"):
				typ = d.Blob()
			case strings.HasSuffix(c, "_at"), c == "reverify_due", c == "created_by", c == "version":
				typ = "BIGINT"
			}
			defs = append(defs, c+" "+typ)
		}
		if _, err := db.WriterDB().ExecContext(ctx, "CREATE TABLE bench_raw ("+strings.Join(defs, ", ")+")"); err != nil {
			b.Fatal(err)
		}
		ins := d.Rebind("INSERT INTO bench_raw (" + strings.Join(rawColumns, ", ") + ") VALUES (?" + strings.Repeat(", ?", len(rawColumns)-1) + ")")
		keys := testKeys(b)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			subs := benchSubjects(b, keys, benchBatch)
			args := make([][]any, len(subs))
			for j, s := range subs {
				args[j] = db.SubjectArgs(s)
			}
			b.StartTimer()
			err := db.WriteTx(ctx, "bench", func(tx *sql.Tx) error {
				st, err := tx.PrepareContext(ctx, ins)
				if err != nil {
					return err
				}
				defer st.Close()
				for _, a := range args {
					if _, err := st.ExecContext(ctx, a...); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		reportRows(b, b.N*benchBatch)
	})
}
