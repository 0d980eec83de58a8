package demo

import (
	"context"
	"maps"
	"strings"
	"testing"

	"ecredit/account"
	"ecredit/clock"
	"ecredit/ledger"
	"ecredit/pii"
	"ecredit/record"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// TestGenerateRecords checks the demo city's credit records on both
// engines: counts per type as summarised, every record valid by the
// catalog and tied to its subject, publicity windows that put some
// penalties in public view and others in the archive, the life-cycle
// events, and a ledger that verifies.
func TestGenerateRecords(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := account.With(context.Background(), account.System)
		keys := testKeys(t)
		clk := clock.NewFake(testNow)
		db.SetClock(clk)
		const n = 1500
		sum, err := Generate(ctx, db, keys, Options{Seed: 5, Subjects: n, Clock: clk, Batch: 400})
		if err != nil {
			t.Fatal(err)
		}
		rc := sum.Records
		t.Logf("records: %+v", rc)
		plan, _ := Plan(n)
		if rc.Commitment < plan.Platform+plan.Merchant*7/10 || rc.Commitment > plan.Platform+plan.Merchant {
			t.Errorf("%d commitments for %d platforms and %d merchants", rc.Commitment, plan.Platform, plan.Merchant)
		}
		if rc.Licence < plan.Merchant/5 || rc.Penalty < plan.Merchant/25 || rc.Penalty > plan.Merchant/8 {
			t.Errorf("licences %d penalties %d for %d merchants", rc.Licence, rc.Penalty, plan.Merchant)
		}
		if rc.Withdrawn == 0 || rc.Objections == 0 || rc.Answered == 0 || rc.Repairs == 0 || rc.Repaired == 0 {
			t.Errorf("life-cycle events missing: %+v", rc)
		}

		byType := map[record.Type]int{}
		var status = map[record.Status]int{}
		var public, expired, disputed, events int
		svc := &record.Service{Store: db, Subjects: db, Keys: keys, Clock: clk}
		platformSubjects := map[int64]bool{}
		for _, p := range sum.Platforms {
			platformSubjects[p.ID] = true
		}
		platformCommitments := 0
		courierByMask := map[string]Record{} // the planned couriers by their ID number's mask
		for _, rec := range generate(t, 5, n) {
			if rec.Kind == registry.KindCourier {
				courierByMask[pii.MaskID(rec.IDNumber)] = rec
			}
		}
		postLicences, postPenalties, courierPenalties := map[int64]bool{}, 0, 0
		for after := int64(0); ; {
			rs, err := db.ListRecords(ctx, record.Filter{After: after, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				byType[r.Type]++
				status[r.Status]++
				if r.Disputed {
					disputed++
				}
				sub, err := db.GetSubject(ctx, r.SubjectID)
				if err != nil || sub.CreditCode != r.SubjectCode || sub.Name != r.SubjectName || sub.Status == registry.StatusPending {
					t.Fatalf("record %d: subject %+v (%v)", r.ID, sub, err)
				}
				if r.Type == record.TypeCommitment && platformSubjects[r.SubjectID] {
					platformCommitments++
				}
				switch {
				case r.Type == record.TypeLicence && r.Source == provincePost && sub.Kind == registry.KindLogistics:
					postLicences[r.SubjectID] = true
				case r.Type == record.TypePenalty && r.Source == cityPost && sub.Kind == registry.KindLogistics:
					postPenalties++
				case r.Type == record.TypePenalty && sub.Kind == registry.KindCourier && r.SubjectCode == "" && r.SubjectIDMasked != "":
					courierPenalties++
				}
				// Valid: the same fields go through the service's
				// validation again unchanged (same content → unchanged).
				// A natural person's record keeps the ID number and name
				// sealed, not among its fields: it is re-sent with the
				// planned ones.
				fields := r.Fields
				if r.SubjectCode == "" {
					fields = maps.Clone(r.Fields)
					c := courierByMask[r.SubjectIDMasked]
					fields["id_number"], fields["subject_name"] = c.IDNumber, c.Name
				}
				actx := account.With(ctx, account.Actor{Name: r.Source, Role: account.RoleDepartment, Via: "system"})
				res, err := svc.Ingest(actx, record.Input{Type: r.Type, Fields: fields})
				if err != nil || res.Status != record.ResultUnchanged || res.ID != r.ID {
					t.Fatalf("record %d (%s %s) re-ingests as %+v, %v", r.ID, r.Type, r.SourceRef, res, err)
				}
				switch record.PublicState(r, clk.Now()) {
				case "public":
					public++
				case "expired":
					expired++
				}
				if r.Type == record.TypeLicence && !strings.HasPrefix(r.Fields["licence_no"], "JY1") && !strings.Contains(r.Fields["licence_no"], "冀") {
					t.Errorf("licence %d number %q", r.ID, r.Fields["licence_no"])
				}
				events += r.Version
			}
			if len(rs) < 1000 {
				break
			}
			after = rs[len(rs)-1].ID
		}
		// Recalls (trace) are credit records of the open type.
		want := map[record.Type]int{record.TypeCommitment: rc.Commitment, record.TypeLicence: rc.Licence, record.TypePenalty: rc.Penalty, record.TypeOther: sum.Trace.Recalls}
		for typ, w := range want {
			if byType[typ] != w {
				t.Errorf("%s: %d stored, summary says %d", typ, byType[typ], w)
			}
		}
		// Every logistics firm holds its express delivery licence; some
		// were penalised by the postal bureau, and some couriers, named by
		// their ID numbers, by the police.
		if len(postLicences) != plan.Logistics || postPenalties == 0 || courierPenalties != (plan.Courier+19)/23 {
			t.Errorf("%d of %d logistics firms licensed, %d postal penalties, %d of %d couriers penalised",
				len(postLicences), plan.Logistics, postPenalties, courierPenalties, plan.Courier)
		}
		if len(byType) != len(want) || platformCommitments != len(sum.Platforms) {
			t.Errorf("types %v; %d platform commitments", byType, platformCommitments)
		}
		if status[record.StatusWithdrawn] != rc.Withdrawn || status[record.StatusRepaired] != rc.Repaired || disputed != rc.Objections-rc.Answered {
			t.Errorf("status %v disputed %d; summary %+v", status, disputed, rc)
		}
		if public == 0 || expired == 0 {
			t.Errorf("%d records in public view, %d expired: want both", public, expired)
		}
		size, err := db.LedgerSize(ctx)
		if err != nil || size != int64(events) {
			t.Errorf("ledger size %d, %d events (%v)", size, events, err)
		}
		rep, err := ledger.Verify(ctx, db, nil, ledger.Recomputers{record.LedgerKind: db.RecomputeRecordEntry}.Recompute, nil)
		if err != nil || !rep.OK() || rep.Size != size {
			t.Errorf("ledger verify: %+v, %v", rep, err)
		}
	})
}

// TestRecordsDeterministic: the same seed plans the same records, and the
// records do not change the subjects.
func TestRecordsDeterministic(t *testing.T) {
	plans := func(seed int64) []plannedRecord {
		recs := generate(t, seed, 800)
		rg := newRecordGen(seed, testNow)
		var out []plannedRecord
		for i := range recs {
			out = append(out, rg.plan(&recs[i])...)
		}
		return out
	}
	a, b := plans(9), plans(9)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%d and %d records", len(a), len(b))
	}
	for i := range a {
		if a[i].source != b[i].source || a[i].after != b[i].after || len(a[i].in.Fields) != len(b[i].in.Fields) {
			t.Fatalf("record %d differs", i)
		}
		for k, v := range a[i].in.Fields {
			if b[i].in.Fields[k] != v {
				t.Fatalf("record %d field %s: %q vs %q", i, k, v, b[i].in.Fields[k])
			}
		}
	}
}
