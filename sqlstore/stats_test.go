package sqlstore_test

import (
	"testing"
	"time"

	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

func TestCountSubjectsBy(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		svc, clk := newService(t, db)
		admin := actor("admin", 1, 0, "市信用办")
		var ids []int64
		for i, k := range []registry.Kind{registry.KindPlatform, registry.KindMerchant, registry.KindMerchant, registry.KindLogistics} {
			s, err := svc.CreateSubject(admin, registry.SubjectInput{Kind: k, Name: "统计主体", CreditCode: uscc(t, 300+i)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, s.ID)
		}
		if _, _, err := svc.Verify(admin, ids[1], registry.VerificationInput{Method: "license_check", Passed: true, ValidDays: 10}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.Verify(admin, ids[2], registry.VerificationInput{Method: "license_check", Passed: true, ValidDays: 100}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.Verify(admin, ids[3], registry.VerificationInput{Method: "onsite", Passed: false}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(20 * 24 * time.Hour)
		c, err := db.CountSubjectsBy(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c.Total != 4 || c.ByKind[registry.KindMerchant] != 2 || c.ByKind[registry.KindPlatform] != 1 || c.ByKind[registry.KindLogistics] != 1 {
			t.Fatalf("by kind: %+v", c)
		}
		want := map[registry.VerifyState]int64{registry.VerifyNone: 1, registry.VerifyOK: 1, registry.VerifyExpired: 1, registry.VerifyFailed: 1}
		for st, n := range want {
			if c.ByVerify[st] != n {
				t.Errorf("%s: %d, want %d (%v)", st, c.ByVerify[st], n, c.ByVerify)
			}
		}
	})
}
