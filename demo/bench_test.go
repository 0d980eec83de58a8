package demo

import (
	"context"
	"testing"

	"ecredit/account"
	"ecredit/sqlstore/storetest"
)

// BenchmarkGenerate measures demo generation on each engine: one op is a
// city of 10,000 subjects (with their shops and verifications) written to
// a fresh store; it reports subjects per second.
//
//	scripts/test.sh ./demo/ -run '^$' -bench Generate -benchtime 3x
func BenchmarkGenerate(b *testing.B) {
	const n = 10_000
	for _, engine := range storetest.Engines {
		b.Run(engine, func(b *testing.B) {
			ctx := account.With(context.Background(), account.System)
			keys := testKeys(b)
			var total float64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				db := storetest.Open(b, engine)
				b.StartTimer()
				sum, err := Generate(ctx, db, keys, Options{Seed: int64(i), Subjects: n})
				if err != nil {
					b.Fatal(err)
				}
				total += sum.Elapsed.Seconds()
			}
			b.ReportMetric(float64(n*b.N)/total, "subjects/s")
		})
	}
}
