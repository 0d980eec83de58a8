package sqlstore_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/logistics"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// The report of a logistics firm (logistics.Service.Metrics: its grade
// and metrics over the window, next to its couriers') on a firm with
// ECREDIT_BENCH_REPORT_PARCELS parcels in the window (default 20,000;
// the last sessions quoted 1,000,000), 300 couriers, reported as
// queries/s next to its ceiling, one firm-wide Aggregate over the same
// parcels (bench/run.sh report):
//
//	ECREDIT_BENCH_REPORT_PARCELS=1000000 go test ./sqlstore -run '^$' -bench '^BenchmarkLogisticsReport$' -benchtime 5x

func reportParcels() int {
	if v, err := strconv.Atoi(os.Getenv("ECREDIT_BENCH_REPORT_PARCELS")); err == nil && v > 0 {
		return v
	}
	return 20000
}

func BenchmarkLogisticsReport(b *testing.B) {
	storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
		firm := benchFirm(b, db)
		now := time.Now().UTC()
		n := reportParcels()
		const chunk = 2000
		for start := 0; start < n; start += chunk {
			ps := make([]*logistics.Parcel, 0, chunk)
			for i := start; i < min(start+chunk, n); i++ {
				picked := now.Add(-time.Duration(1+i%(29*24*60)) * time.Minute) // spread over 29 days
				p := &logistics.Parcel{FirmID: firm.ID, Waybill: fmt.Sprintf("RP%010d", i), WeightG: 800, Origin: "130802", Dest: "110105",
					CourierCode: fmt.Sprintf("C%03d", i%300), PromisedAt: picked.Add(48 * time.Hour), Status: logistics.EventSigned,
					PickedAt: picked, SignedAt: picked.Add(time.Duration(20+i%40) * time.Hour), SignedBy: "recipient", Events: 2,
					LastEventAt: picked.Add(time.Duration(20+i%40) * time.Hour), StartedAt: picked, CreatedAt: picked, UpdatedAt: now, Version: 1}
				if i%50 == 0 {
					p.Status, p.SignedAt, p.SignedBy, p.Lost, p.Exceptions = logistics.EventException, time.Time{}, "", true, 1
				}
				ps = append(ps, p)
			}
			if err := db.SaveParcels(ctx, ps, nil); err != nil {
				b.Fatal(err)
			}
		}
		svc := &logistics.Service{Store: db, Subjects: db, Keys: testKeys(b)}
		dept := account.With(ctx, account.Actor{AccountID: 1, Name: "bench", Role: account.RoleDepartment, Via: "system"})
		report := func(b *testing.B) { b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s") }
		b.Run("Report", func(b *testing.B) {
			for b.Loop() {
				r, err := svc.Metrics(dept, firm.ID, 30)
				if err != nil || r.Metrics.Parcels != n {
					b.Fatalf("report: %v %+v", err, r)
				}
			}
			report(b)
		})
		b.Run("Ceiling", func(b *testing.B) {
			w := logistics.Window{From: now.Add(-30 * 24 * time.Hour), To: now, StaleBefore: now.Add(-72 * time.Hour)}
			for b.Loop() {
				if c, err := db.Aggregate(ctx, firm.ID, w); err != nil || c.Parcels != n {
					b.Fatalf("aggregate: %v %+v", err, c)
				}
			}
			report(b)
		})
	})
}
