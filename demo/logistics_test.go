package demo

import (
	"context"
	"testing"
	"time"

	"ecredit/clock"
	"ecredit/logistics"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// TestDemoParcels: a small city's firms get parcels with plausible
// tracking with plausible metrics, and every firm is graded or not.
func TestDemoParcels(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
		sum, err := Generate(ctx, db, testKeys(t), Options{Seed: 3, Subjects: 600, Clock: clk, NoRecords: true})
		if err != nil {
			t.Fatal(err)
		}
		pc := sum.Parcels
		if pc.Parcels < 1000 || pc.Events < 3*pc.Parcels || len(pc.Grades) == 0 {
			t.Fatalf("parcels %+v", pc)
		}
		firm := sum.Logistics[0]
		svc := &logistics.Service{Store: db, Subjects: db, Clock: clk}
		sub, err := db.GetSubject(ctx, firm.ID)
		if err != nil {
			t.Fatal(err)
		}
		g, err := svc.PublicGrade(ctx, sub)
		if err != nil {
			t.Fatal(err)
		}
		m := g.Metrics
		if m.Parcels < 100 || m.OnTimeRate < 0.6 || m.OnTimeRate > 0.999 || m.ValidityRate < 0.8 || m.LossDamageRate > 0.05 {
			t.Fatalf("first firm's metrics are implausible: %+v", m)
		}
	})
}
