package sqlstore_test

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trade"
)

// Reviews in bulk (bench/run.sh reviews), reviews/s ("rows/s") next to the
// ceiling measured in the same run:
//
//	go test ./sqlstore -run '^$' -bench '^BenchmarkReviewBatch' -benchtime 10x
//
// BenchmarkReviewBatchIngest sends 1000 buyers' reviews of 1000 signed
// orders (ingested untimed, 20 shops) through trade.Service.IngestReviews:
// the orders found by number, each line judged by the single call's rules,
// the stored reviews and ratings of the orders read in one query each, the
// pairs' monthly counts, then one transaction with the reviews, one tally
// update a shop and one audit entry. BenchmarkReviewBatchSingle sends the
// same reviews one call each (trade.Service.Review: a transaction, a tally
// update and an audit entry a review), what the batch replaced.
// BenchmarkReviewBatchRawInsertCeiling writes the same review values into
// a scratch table without key, index, trigger or audit row, 1000 to a
// transaction: SQLite multi-row INSERTs of 250 rows prepared once,
// PostgreSQL COPY.

// reviewBenchOrders ingests n signed orders of the bench platform (untimed)
// and returns them.
func reviewBenchOrders(b *testing.B, ob *orderBench, plat account.Actor, n int) []*trade.Order {
	b.Helper()
	res, err := ob.svc.IngestBatch(account.With(ctx, plat), ob.inputs(n))
	if err != nil {
		b.Fatal(err)
	}
	out := make([]*trade.Order, len(res))
	for i, r := range res {
		if r.Order == nil {
			b.Fatalf("order %d: %s %v", i, r.Status, r.Err)
		}
		out[i] = r.Order
	}
	return out
}

func reviewBenchActor(ob *orderBench) account.Actor {
	return account.Actor{AccountID: 9, Name: "基准平台", Role: account.RolePlatform, SubjectID: ob.plat, Via: "api"}
}

// reviewBench is the orders' bench world, its platform's actor and the
// rating 1 (timer reset).
func reviewBench(b *testing.B, db *sqlstore.DB) (*orderBench, account.Actor, int) {
	ob := setupOrderBench(b, db)
	b.ResetTimer()
	return ob, reviewBenchActor(ob), 1
}

func BenchmarkReviewBatchIngest(b *testing.B) {
	storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
		ob, plat, one := reviewBench(b, db)
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			os := reviewBenchOrders(b, ob, plat, benchBatch)
			lines := make([]trade.ReviewLine, len(os))
			for j, o := range os {
				lines[j] = trade.ReviewLine{OrderNo: o.OrderNo, Buyer: o.Buyer, Rating: &one, Description: 5, Service: 5, Logistics: 4, Text: "好评，发货快"}
			}
			b.StartTimer()
			res, err := ob.svc.IngestReviews(account.With(ctx, plat), lines)
			if err != nil {
				b.Fatal(err)
			}
			if res[0].Status != trade.ResultCreated || res[len(res)-1].Status != trade.ResultCreated {
				b.Fatalf("not created: %+v", res[0])
			}
		}
		reportRows(b, b.N*benchBatch)
	})
}

func BenchmarkReviewBatchSingle(b *testing.B) {
	storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
		ob, plat, one := reviewBench(b, db)
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			os := reviewBenchOrders(b, ob, plat, benchBatch)
			b.StartTimer()
			pc := account.With(ctx, plat)
			for _, o := range os {
				if _, err := ob.svc.Review(pc, o.ID, trade.ReviewInput{Buyer: o.Buyer, Rating: &one, Description: 5, Service: 5, Logistics: 4,
					Text: "好评，发货快"}); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportRows(b, b.N*benchBatch)
	})
}

func BenchmarkReviewBatchRawInsertCeiling(b *testing.B) {
	storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
		ob := setupOrderBench(b, db)
		plat := reviewBenchActor(ob)
		d := db.Dialect()
		cols := strings.Split(sqlstore.ReviewInsertCols, ", ")
		defs := make([]string, len(cols))
		for i, c := range cols {
			typ := "BIGINT"
			if c == "buyer" || c == "body" {
				typ = "TEXT"
			}
			defs[i] = c + " " + typ
		}
		if _, err := db.WriterDB().ExecContext(ctx, "CREATE TABLE bench_raw_reviews ("+strings.Join(defs, ", ")+")"); err != nil {
			b.Fatal(err)
		}
		tuple := "(?" + strings.Repeat(", ?", len(cols)-1) + ")"
		var prepared *sql.Stmt
		if d.Name() != sqlstore.EnginePostgres {
			var err error
			if prepared, err = db.WriterDB().PrepareContext(ctx, "INSERT INTO bench_raw_reviews ("+strings.Join(cols, ", ")+") VALUES "+
				tuple+strings.Repeat(", "+tuple, ceilingRows-1)); err != nil {
				b.Fatal(err)
			}
			defer prepared.Close()
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			os := reviewBenchOrders(b, ob, plat, benchBatch)
			now := time.Now().UnixMicro()
			rows := make([][]any, len(os))
			for j, o := range os {
				rows[j] = []any{o.ID, o.PlatformID, o.ShopID, o.SellerID, o.Buyer, int64(trade.MonthOf(o.PaidAt)), int64(1), int64(5), int64(5), int64(4),
					"好评，发货快", int64(1), int64(1), now}
			}
			b.StartTimer()
			err := rawInsert(db, "bench_raw_reviews", cols, prepared, rows)
			if err != nil {
				b.Fatal(err)
			}
		}
		reportRows(b, b.N*benchBatch)
	})
}
