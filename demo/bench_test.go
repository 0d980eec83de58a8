package demo

import (
	"context"
	"testing"

	"ecredit/account"
	"ecredit/sqlstore/storetest"
)

// BenchmarkGenerate measures demo generation on each engine: one op is a
// city of 10,000 subjects (with their shops and verifications) written to
// a fresh store; it reports subjects per second, and records per second
// for the cities with credit records (the no-records runs are the
// registry-only ceiling of the same run).
//
//	scripts/test.sh ./demo/ -run '^$' -bench Generate -benchtime 3x
func BenchmarkGenerate(b *testing.B) {
	const n = 10_000
	for _, engine := range storetest.Engines {
		for _, noRecords := range []bool{false, true} {
			name := engine
			if noRecords {
				name += "/no-records"
			}
			b.Run(name, func(b *testing.B) {
				ctx := account.With(context.Background(), account.System)
				keys := testKeys(b)
				var total float64
				var records int
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					db := storetest.Open(b, engine)
					b.StartTimer()
					sum, err := Generate(ctx, db, keys, Options{Seed: int64(i), Subjects: n, NoRecords: noRecords})
					if err != nil {
						b.Fatal(err)
					}
					total += sum.Elapsed.Seconds()
					records += sum.Records.Total()
				}
				b.ReportMetric(float64(n*b.N)/total, "subjects/s")
				if !noRecords {
					b.ReportMetric(float64(records)/total, "records/s")
				}
			})
		}
	}
}
