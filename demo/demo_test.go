package demo

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/clock"
	"ecredit/errs"
	"ecredit/pii"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

func testKeys(t testing.TB) *pii.Keys {
	t.Helper()
	master := make([]byte, 32)
	rand.Read(master)
	k, err := pii.New(master)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestGenerate loads a small city into both engines and checks it through
// registry.Service, the way the API will read it.
func TestGenerate(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := account.With(context.Background(), account.System)
		keys := testKeys(t)
		clk := clock.NewFake(testNow)
		db.SetClock(clk)
		const n = 400
		var progress strings.Builder
		sum, err := Generate(ctx, db, keys, Options{Seed: 3, Subjects: n, Clock: clk, Batch: 150, Progress: &progress})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := Plan(n)
		if sum.Counts != want || len(sum.Platforms) != len(platforms) || len(sum.Logistics) != want.Logistics {
			t.Fatalf("summary %+v", sum)
		}
		if !strings.Contains(progress.String(), "400/400") || !strings.Contains(progress.String(), "演示城市已生成") {
			t.Errorf("progress output %q", progress.String())
		}
		got, err := db.CountSubjects(ctx)
		if err != nil || got != n {
			t.Fatalf("CountSubjects = %d, %v", got, err)
		}
		svc := &registry.Service{Store: db, Audit: db, Keys: keys, Clock: clk}
		recs := generate(t, 3, n)
		// Subjects were stored in index order, so ids follow the records.
		first := sum.Platforms[0].ID
		var shops, verifs int
		for i, r := range recs {
			s, err := svc.GetSubject(ctx, first+int64(i))
			if err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			if s.Kind != r.Kind || s.CreditCode != r.CreditCode || s.Mark != r.Mark || s.RegionCode != r.Region {
				t.Fatalf("record %d: stored %+v, planned %+v", i, s, r)
			}
			if got, err := svc.CheckMark(ctx, strings.ToLower(r.Mark)); err != nil || got.ID != s.ID {
				t.Errorf("record %d: CheckMark = %v, %v", i, got, err)
			}
			p, err := svc.RevealPersonal(ctx, s.ID, "test")
			if err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			if p.Name != r.Name || p.IDNumber != r.IDNumber || p.Phone != r.Phone {
				t.Errorf("record %d: revealed %+v, planned %s %s %s", i, p, r.Name, r.IDNumber, r.Phone)
			}
			if r.Kind.Person() {
				if s.Name != pii.MaskName(r.Name) || s.IDNumber.Masked != pii.MaskID(r.IDNumber) {
					t.Errorf("record %d: person shown as %s %s", i, s.Name, s.IDNumber.Masked)
				}
				found, err := svc.Lookup(ctx, r.IDNumber, "")
				if err != nil || found.ID != s.ID {
					t.Errorf("record %d: Lookup by ID = %v, %v", i, found, err)
				}
			}
			vs, err := svc.Verifications(ctx, s.ID)
			if err != nil || len(vs) != len(r.Verifs) {
				t.Fatalf("record %d: %d verifications, planned %d (%v)", i, len(vs), len(r.Verifs), err)
			}
			verifs += len(vs)
			if len(vs) > 0 && (vs[0].Passed != r.Verifs[len(r.Verifs)-1].Passed || !s.VerifiedAt.Equal(vs[0].At)) {
				t.Errorf("record %d: latest verification %+v, subject verified at %v", i, vs[0], s.VerifiedAt)
			}
			sh, err := svc.ListShops(ctx, registry.ShopFilter{OwnerID: s.ID})
			if err != nil || len(sh) != len(r.Shops) {
				t.Fatalf("record %d: %d shops, planned %d (%v)", i, len(sh), len(r.Shops), err)
			}
			shops += len(sh)
			for _, x := range sh {
				if x.PlatformID < first || x.PlatformID >= first+int64(len(platforms)) {
					t.Errorf("record %d: shop on subject %d, not a platform", i, x.PlatformID)
				}
			}
		}
		if shops != sum.Shops || verifs != sum.Verifications {
			t.Errorf("summary says %d shops %d verifications, store has %d %d", sum.Shops, sum.Verifications, shops, verifs)
		}
		// A platform sees only its own shops.
		plat := account.Actor{Role: account.RolePlatform, SubjectID: sum.Platforms[2].ID, Name: "p", Via: "api"}
		own, err := svc.ListShops(account.With(context.Background(), plat), registry.ShopFilter{Limit: 500})
		if err != nil || len(own) == 0 {
			t.Fatalf("platform shops: %d, %v", len(own), err)
		}
		for _, x := range own {
			if x.PlatformID != plat.SubjectID || !strings.HasSuffix(x.Domain, "."+platforms[2].Domain) {
				t.Errorf("platform %d sees shop %+v", plat.SubjectID, x)
			}
		}
		// One audit entry per batch: 400 subjects in batches of 150.
		entries, err := db.List(ctx, audit.Filter{Action: audit.ActCreate, Object: "demo:seed=3", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		demoEntries := 0
		for _, e := range entries {
			if strings.HasPrefix(e.Object, "demo:") {
				demoEntries++
			}
		}
		if demoEntries != 3 {
			t.Errorf("%d demo audit entries, want 3", demoEntries)
		}
		// A second run is refused and writes nothing.
		_, err = Generate(ctx, db, keys, Options{Seed: 3, Subjects: n, Clock: clk})
		if !errs.Is(err, errs.Conflict) {
			t.Errorf("second Generate: %v, want conflict", err)
		}
		if got, _ := db.CountSubjects(ctx); got != n {
			t.Errorf("after refusal %d subjects", got)
		}
	})
}

// TestSameAsService checks that a generated subject is stored exactly as
// registry.Service.CreateSubject would store the same input.
func TestSameAsService(t *testing.T) {
	db := storetest.Open(t, sqlstore.EngineSQLite)
	ctx := account.With(context.Background(), account.System)
	keys := testKeys(t)
	clk := clock.NewFake(testNow)
	svc := &registry.Service{Store: db, Audit: db, Keys: keys, Clock: clk}
	for i, r := range generate(t, 11, 200) {
		want := r.Subject(keys)
		got, err := svc.CreateSubject(ctx, registry.SubjectInput{Kind: r.Kind, Form: r.Form, Name: r.Name, CreditCode: r.CreditCode,
			IDNumber: r.IDNumber, Phone: r.Phone, LegalRep: r.LegalRep, RegionCode: r.Region, Address: r.Address, Status: r.Status})
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if got.Name != want.Name || got.Form != want.Form || got.CreditCode != want.CreditCode || got.CodeWarning != want.CodeWarning ||
			got.RegionCode != want.RegionCode || got.LegalRep != want.LegalRep || got.Address != want.Address || got.Status != want.Status {
			t.Errorf("record %d: service %+v, demo %+v", i, got, want)
		}
		for _, pair := range [][2]pii.Sealed{{got.IDNumber, want.IDNumber}, {got.Phone, want.Phone}, {got.NameSeal, want.NameSeal}} {
			if string(pair[0].Index) != string(pair[1].Index) || pair[0].Masked != pair[1].Masked || pair[0].Empty() != pair[1].Empty() {
				t.Errorf("record %d: sealed values differ: %+v vs %+v", i, pair[0], pair[1])
			}
		}
		if len(want.Mark) != len(got.Mark) || want.Mark[:4] != got.Mark[:4] || want.Mark[8] != '-' || want.Mark[13] != '-' {
			t.Errorf("record %d: mark %s, service mark %s", i, want.Mark, got.Mark)
		}
	}
}

func TestGenerateRejectsBadSize(t *testing.T) {
	db := storetest.Open(t, sqlstore.EngineSQLite)
	ctx := account.With(context.Background(), account.System)
	_, err := Generate(ctx, db, testKeys(t), Options{Subjects: 10})
	if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != "subjects" {
		t.Fatalf("Generate(10) = %v", err)
	}
	if n, _ := db.CountSubjects(ctx); n != 0 {
		t.Errorf("%d subjects written", n)
	}
}
