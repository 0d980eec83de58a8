package sqlstore_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ecredit/audit"
	"ecredit/clock"
	"ecredit/errs"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

func TestSubjectCreateGet(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		keys := testKeys(t)
		o := org(t, 1, registry.KindMerchant, "承德山庄食品有限公司", "130802")
		o.Form, o.LegalRep, o.Address, o.CodeWarning = "enterprise", "王五", "承德市双桥区南营子大街1号", "测试警告"
		o.Phone = keys.Seal("phone", "13800138000")
		e := ev(audit.ActCreate, "subject")
		if err := db.CreateSubject(ctx, o, e); err != nil {
			t.Fatal(err)
		}
		if o.ID == 0 || o.Version != 1 {
			t.Fatalf("after create: ID=%d Version=%d, want an id and version 1", o.ID, o.Version)
		}
		if want := fmt.Sprintf("subject:%d", o.ID); e.Object != want || e.ID == 0 {
			t.Fatalf("audit entry object=%q id=%d, want %q and an id", e.Object, e.ID, want)
		}
		if !o.CreatedAt.Equal(t0.Truncate(time.Microsecond)) {
			t.Fatalf("CreatedAt = %v, want %v truncated to microseconds", o.CreatedAt, t0)
		}
		got, err := db.GetSubject(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, o) {
			t.Fatalf("GetSubject:\n got %+v\nwant %+v", got, o)
		}
		byCode, err := db.FindSubjectByCode(ctx, o.CreditCode)
		if err != nil || byCode.ID != o.ID {
			t.Fatalf("FindSubjectByCode = %v, %v", byCode, err)
		}
		byMark, err := db.FindSubjectByMark(ctx, o.Mark)
		if err != nil || byMark.ID != o.ID {
			t.Fatalf("FindSubjectByMark = %v, %v", byMark, err)
		}

		p := mustCreate(t, db, person(t, keys, 2, registry.KindSeller, "张三丰", "13900139000"))
		got, err = db.FindSubjectByIDIndex(ctx, p.IDNumber.Index)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("FindSubjectByIDIndex:\n got %+v\nwant %+v", got, p)
		}
		if got.CreditCode != "" || got.IDNumber.Masked == "" || got.Name != "张**" {
			t.Fatalf("person stored wrongly: %+v", got)
		}
		if clear, err := keys.Open("id_number", got.IDNumber); err != nil || clear != idNumber(t, 2) {
			t.Fatalf("stored ID number decrypts to %q, %v", clear, err)
		}
		n, err := db.CountSubjects(ctx)
		if err != nil || n != 2 {
			t.Fatalf("CountSubjects = %d, %v; want 2", n, err)
		}
		entries, err := db.List(ctx, audit.Filter{Action: audit.ActCreate})
		if err != nil || len(entries) != 2 || entries[0].Object != fmt.Sprintf("subject:%d", p.ID) {
			t.Fatalf("audit after two creates = %+v, %v", entries, err)
		}
	})
}

func TestSubjectNotFound(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		_, err := db.GetSubject(ctx, 42)
		wantCode(t, err, errs.NotFound, "")
		if msg := errs.MessageOf(err); !strings.Contains(msg, "42") || !strings.Contains(msg, "不存在") {
			t.Fatalf("message %q should name the id in Chinese", msg)
		}
		_, err = db.FindSubjectByCode(ctx, uscc(t, 9))
		wantCode(t, err, errs.NotFound, "")
		_, err = db.FindSubjectByCode(ctx, "")
		wantCode(t, err, errs.NotFound, "")
		_, err = db.FindSubjectByIDIndex(ctx, []byte("nope"))
		wantCode(t, err, errs.NotFound, "")
		_, err = db.FindSubjectByMark(ctx, "ECM-0000-0000-0000")
		wantCode(t, err, errs.NotFound, "")
		s := org(t, 1, registry.KindMerchant, "不存在", "130802")
		s.ID, s.Version = 42, 1
		wantCode(t, db.UpdateSubject(ctx, s, ev(audit.ActUpdate, "subject:42")), errs.NotFound, "")
		if n := auditCount(t, db); n != 0 {
			t.Fatalf("failed update left %d audit rows", n)
		}
	})
}

func TestSubjectDuplicates(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		keys := testKeys(t)
		a := mustCreate(t, db, org(t, 1, registry.KindMerchant, "甲公司", "130802"))
		p := mustCreate(t, db, person(t, keys, 5, registry.KindSeller, "李四", ""))
		before := auditCount(t, db)

		dupCode := org(t, 1, registry.KindMerchant, "乙公司", "130802")
		dupCode.Mark = "ECM-DIFF-0000-0001"
		err := db.CreateSubject(ctx, dupCode, ev(audit.ActCreate, "subject"))
		wantCode(t, err, errs.Conflict, "credit_code")
		if dupCode.ID != 0 {
			t.Fatalf("failed create set ID %d", dupCode.ID)
		}

		dupID := person(t, keys, 5, registry.KindCourier, "李四", "")
		dupID.Mark = "ECM-DIFF-0000-0002"
		wantCode(t, db.CreateSubject(ctx, dupID, ev(audit.ActCreate, "subject")), errs.Conflict, "id_number")

		dupMark := org(t, 2, registry.KindMerchant, "丙公司", "130802")
		dupMark.Mark = a.Mark
		wantCode(t, db.CreateSubject(ctx, dupMark, ev(audit.ActCreate, "subject")), errs.Conflict, "mark")

		// Organisations without ID numbers and persons without credit codes
		// do not collide on the empty values.
		mustCreate(t, db, org(t, 3, registry.KindLogistics, "丁物流", "130802"))
		mustCreate(t, db, person(t, keys, 6, registry.KindCourier, "王五", ""))

		// Updating into another subject's code is a conflict too.
		p.CreditCode = a.CreditCode
		wantCode(t, db.UpdateSubject(ctx, p, ev(audit.ActUpdate, "subject")), errs.Conflict, "credit_code")

		if got := auditCount(t, db); got != before+2 {
			t.Fatalf("audit rows = %d, want %d: a failed write must leave no audit row", got, before+2)
		}
		if n, _ := db.CountSubjects(ctx); n != 4 {
			t.Fatalf("CountSubjects = %d, want 4", n)
		}
	})
}

func TestSubjectUpdate(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		s := mustCreate(t, db, org(t, 1, registry.KindMerchant, "旧名称", "130802"))
		stale := *s

		s.Name, s.Address, s.Status = "新名称", "新地址", registry.StatusSuspended
		s.UpdatedAt = t0.Add(time.Hour)
		e := ev(audit.ActUpdate, fmt.Sprintf("subject:%d", s.ID))
		if err := db.UpdateSubject(ctx, s, e); err != nil {
			t.Fatal(err)
		}
		if s.Version != 2 {
			t.Fatalf("Version after update = %d, want 2", s.Version)
		}
		got, err := db.GetSubject(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, s) {
			t.Fatalf("after update:\n got %+v\nwant %+v", got, s)
		}
		if e.ID == 0 || e.Object != fmt.Sprintf("subject:%d", s.ID) {
			t.Fatalf("update audit entry = %+v", e)
		}

		stale.Name = "并发修改"
		err = db.UpdateSubject(ctx, &stale, ev(audit.ActUpdate, "subject"))
		wantCode(t, err, errs.Conflict, "version")
		if !strings.Contains(errs.MessageOf(err), "已被他人修改") {
			t.Fatalf("stale message = %q", errs.MessageOf(err))
		}
		if stale.Version != 1 {
			t.Fatalf("failed update changed Version to %d", stale.Version)
		}
		got, _ = db.GetSubject(ctx, s.ID)
		if got.Name != "新名称" || got.Version != 2 {
			t.Fatalf("stale update was written: %+v", got)
		}
		if n := len(must(db.List(ctx, audit.Filter{Action: audit.ActUpdate}))); n != 1 {
			t.Fatalf("update audit rows = %d, want 1", n)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestListSubjects(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		keys := testKeys(t)
		clk := clock.NewFake(t0)
		db.SetClock(clk)
		platform := mustCreate(t, db, org(t, 1, registry.KindPlatform, "承德优品 Mall", "130800"))
		other := mustCreate(t, db, org(t, 2, registry.KindPlatform, "另一平台", "130100"))
		var all []*registry.Subject
		all = append(all, platform, other)
		regions := []string{"130802", "130803", "130804", "130100", "131002"}
		for i := 0; i < 25; i++ {
			var s *registry.Subject
			if i%5 == 4 {
				s = person(t, keys, 100+i, registry.KindSeller, fmt.Sprintf("赵%d", i), fmt.Sprintf("139%08d", i))
				s.RegionCode = regions[i%len(regions)]
			} else {
				s = org(t, 10+i, registry.KindMerchant, fmt.Sprintf("承德 Shop_%02d 商贸", i), regions[i%len(regions)])
			}
			if i%3 == 0 {
				s.Status = registry.StatusSuspended
			}
			all = append(all, mustCreate(t, db, s))
		}
		special := org(t, 90, registry.KindService, "100%纯_代运营", "130802")
		all = append(all, mustCreate(t, db, special))
		// Two shops of all[2] and one of all[3] on the platform, one of
		// all[4] elsewhere.
		for i, owner := range []*registry.Subject{all[2], all[2], all[3]} {
			if err := db.CreateShop(ctx, &registry.Shop{PlatformID: platform.ID, OwnerID: owner.ID, Name: fmt.Sprint("店", i),
				URL: "https://x.example", Domain: "x.example", Status: registry.StatusActive}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.CreateShop(ctx, &registry.Shop{PlatformID: other.ID, OwnerID: all[4].ID, Name: "别处",
			URL: "https://y.example", Domain: "y.example", Status: registry.StatusActive}, nil); err != nil {
			t.Fatal(err)
		}
		// Verified: all[5] (due in 10 days) and all[6] (already due).
		for i, due := range map[int]time.Time{5: t0.AddDate(0, 0, 10), 6: t0.AddDate(0, 0, -1)} {
			s := all[i]
			s.Verify, s.VerifiedAt, s.VerifiedBy, s.ReverifyDue = registry.VerifyOK, t0.AddDate(-1, 0, 0), "admin", due
			if err := db.AddVerification(ctx, &registry.Verification{SubjectID: s.ID, Method: "license_check", Passed: true,
				At: s.VerifiedAt, ValidUntil: due}, s, nil); err != nil {
				t.Fatal(err)
			}
		}

		ids := func(list []*registry.Subject) []int64 {
			out := []int64{}
			for _, s := range list {
				out = append(out, s.ID)
			}
			return out
		}
		want := func(pred func(s *registry.Subject) bool) []int64 {
			out := []int64{}
			for _, s := range all {
				if pred(s) {
					out = append(out, s.ID)
				}
			}
			return out
		}
		cases := []struct {
			name string
			f    registry.Filter
			want []int64
		}{
			{"all", registry.Filter{Limit: 100}, want(func(*registry.Subject) bool { return true })},
			{"kind", registry.Filter{Kind: registry.KindSeller, Limit: 100}, want(func(s *registry.Subject) bool { return s.Kind == registry.KindSeller })},
			{"status", registry.Filter{Status: registry.StatusSuspended, Limit: 100}, want(func(s *registry.Subject) bool { return s.Status == registry.StatusSuspended })},
			{"region city", registry.Filter{Region: "1308", Limit: 100}, want(func(s *registry.Subject) bool { return strings.HasPrefix(s.RegionCode, "1308") })},
			{"region district", registry.Filter{Region: "130803", Limit: 100}, want(func(s *registry.Subject) bool { return s.RegionCode == "130803" })},
			{"region wildcard is literal", registry.Filter{Region: "13_8", Limit: 100}, []int64{}},
			{"name case-insensitive", registry.Filter{Name: "shop_0", Limit: 100}, want(func(s *registry.Subject) bool { return strings.Contains(s.Name, "Shop_0") })},
			{"name chinese", registry.Filter{Name: "商贸", Limit: 100}, want(func(s *registry.Subject) bool { return strings.Contains(s.Name, "商贸") })},
			{"name percent is literal", registry.Filter{Name: "%", Limit: 100}, []int64{special.ID}},
			{"name underscore is literal", registry.Filter{Name: "纯_", Limit: 100}, []int64{special.ID}},
			{"platform", registry.Filter{PlatformID: platform.ID, Limit: 100}, []int64{all[2].ID, all[3].ID}},
			{"platform and kind", registry.Filter{PlatformID: platform.ID, Kind: registry.KindSeller, Limit: 100}, []int64{}},
			{"id index", registry.Filter{IDIndex: all[6].IDNumber.Index, Limit: 100}, []int64{all[6].ID}},
			{"phone index", registry.Filter{PhoneIndex: keys.Index("phone", fmt.Sprintf("139%08d", 9)), Limit: 100}, []int64{all[11].ID}},
			{"verified", registry.Filter{Verify: registry.VerifyOK, Limit: 100}, []int64{all[5].ID}},
			{"due within 30 days", registry.Filter{ReverifyBefore: t0.AddDate(0, 0, 30), Limit: 100}, []int64{all[5].ID, all[6].ID}},
			{"due before now", registry.Filter{ReverifyBefore: t0, Limit: 100}, []int64{all[6].ID}},
			{"expired", registry.Filter{Verify: registry.VerifyExpired, Limit: 100}, []int64{all[6].ID}},
			{"unverified", registry.Filter{Verify: registry.VerifyNone, Kind: registry.KindPlatform, Limit: 100}, []int64{platform.ID, other.ID}},
			{"after", registry.Filter{After: all[20].ID, Limit: 100}, ids(all[21:])},
			{"limit", registry.Filter{Limit: 3}, ids(all[:3])},
		}
		for _, c := range cases {
			got, err := db.ListSubjects(ctx, c.f)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if g := ids(got); !slices.Equal(g, c.want) {
				t.Errorf("%s: got ids %v, want %v", c.name, g, c.want)
			}
		}
		if len(cases[6].want) == 0 || len(cases[1].want) == 0 || len(cases[3].want) == len(all) {
			t.Fatal("fixture too weak: filters must select proper subsets")
		}

		// Pages of 4 under a filter cover the filtered set with no gap and no
		// duplicate.
		f := registry.Filter{Region: "1308", Limit: 4}
		var paged []int64
		for pages := 0; ; pages++ {
			if pages > 20 {
				t.Fatal("pagination does not end")
			}
			page, err := db.ListSubjects(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			if len(page) > 4 {
				t.Fatalf("page of %d > limit 4", len(page))
			}
			paged = append(paged, ids(page)...)
			f.After = page[len(page)-1].ID
		}
		if !slices.Equal(paged, cases[3].want) {
			t.Fatalf("paged ids %v, want %v", paged, cases[3].want)
		}
	})
}

func TestVerificationsAppendOnly(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		s := mustCreate(t, db, org(t, 1, registry.KindMerchant, "核验公司", "130802"))
		for i, passed := range []bool{false, true} {
			at := t0.Add(time.Duration(i) * time.Hour)
			v := &registry.Verification{SubjectID: s.ID, Method: "license_check", Passed: passed, VerifiedBy: "审核员", AccountID: 3,
				At: at, Note: fmt.Sprint("第", i+1, "次")}
			if passed {
				v.ValidUntil = at.AddDate(1, 0, 0)
				s.Verify, s.ReverifyDue = registry.VerifyOK, v.ValidUntil
			} else {
				s.Verify, s.ReverifyDue = registry.VerifyFailed, time.Time{}
			}
			s.VerifiedAt, s.VerifiedBy, s.UpdatedAt = at, "审核员", at
			e := ev(audit.ActVerify, fmt.Sprintf("subject:%d", s.ID))
			if err := db.AddVerification(ctx, v, s, e); err != nil {
				t.Fatal(err)
			}
			if v.ID == 0 || e.ID == 0 {
				t.Fatalf("verification id %d, audit id %d", v.ID, e.ID)
			}
		}
		if s.Version != 3 {
			t.Fatalf("subject version = %d, want 3 after two verifications", s.Version)
		}
		got, err := db.GetSubject(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, s) {
			t.Fatalf("subject after verification:\n got %+v\nwant %+v", got, s)
		}
		list, err := db.ListVerifications(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || !list[0].Passed || list[1].Passed || list[0].Note != "第2次" ||
			!list[0].ValidUntil.Equal(t0.Add(time.Hour).AddDate(1, 0, 0).Truncate(time.Microsecond)) || !list[1].ValidUntil.IsZero() {
			t.Fatalf("ListVerifications (newest first) = %+v %+v", list[0], list[1])
		}

		w := db.WriterDB()
		d := db.Dialect()
		if _, err := w.ExecContext(ctx, d.Rebind("UPDATE verifications SET passed = ? WHERE id = ?"), true, list[1].ID); err == nil {
			t.Fatal("UPDATE of a verification succeeded")
		}
		if _, err := w.ExecContext(ctx, "DELETE FROM verifications"); err == nil {
			t.Fatal("DELETE of verifications succeeded")
		}
		if list, _ := db.ListVerifications(ctx, s.ID); len(list) != 2 || list[1].Passed {
			t.Fatalf("verifications changed: %+v", list)
		}

		// A verification of a missing subject writes nothing.
		before := auditCount(t, db)
		ghost := *s
		ghost.ID = 999
		err = db.AddVerification(ctx, &registry.Verification{SubjectID: 999, Method: "onsite", At: t0}, &ghost, ev(audit.ActVerify, "subject:999"))
		wantCode(t, err, errs.NotFound, "")
		if auditCount(t, db) != before {
			t.Fatal("failed verification left an audit row")
		}
	})
}

func TestCreateSubjectsBatch(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		var batch []*registry.Subject
		for i := 0; i < 50; i++ {
			batch = append(batch, org(t, 1000+i, registry.KindMerchant, fmt.Sprint("批量", i), "130802"))
		}
		evf := func(s *registry.Subject) *audit.Entry { return ev(audit.ActCreate, "subject") }
		if err := db.CreateSubjects(ctx, batch, evf); err != nil {
			t.Fatal(err)
		}
		for i, s := range batch {
			if s.ID == 0 || (i > 0 && s.ID <= batch[i-1].ID) || s.Version != 1 {
				t.Fatalf("batch[%d] ID=%d Version=%d", i, s.ID, s.Version)
			}
		}
		if got, err := db.GetSubject(ctx, batch[49].ID); err != nil || got.CreditCode != batch[49].CreditCode {
			t.Fatalf("GetSubject(last of batch) = %+v, %v", got, err)
		}
		entries, _ := db.List(ctx, audit.Filter{Limit: 1})
		if len(entries) != 1 || entries[0].Object != fmt.Sprintf("subject:%d", batch[49].ID) {
			t.Fatalf("newest audit entry = %+v", entries)
		}

		// A duplicate in the middle of a batch writes nothing of it.
		before, count := auditCount(t, db), must(db.CountSubjects(ctx))
		var bad []*registry.Subject
		for i := 0; i < 10; i++ {
			bad = append(bad, org(t, 2000+i, registry.KindMerchant, fmt.Sprint("坏批", i), "130802"))
		}
		bad[7].CreditCode = batch[3].CreditCode
		err := db.CreateSubjects(ctx, bad, evf)
		wantCode(t, err, errs.Conflict, "credit_code")
		var be *sqlstore.BatchError
		if !errors.As(err, &be) || be.Index != 7 {
			t.Fatalf("error %v should be a BatchError at index 7", err)
		}
		if auditCount(t, db) != before || must(db.CountSubjects(ctx)) != count {
			t.Fatal("failed batch left rows behind")
		}
		if bad[0].ID != 0 {
			t.Fatal("failed batch set IDs")
		}
		if err := db.CreateSubjects(ctx, nil, evf); err != nil {
			t.Fatal(err)
		}
		// Without audit entries.
		if err := db.CreateSubjects(ctx, []*registry.Subject{org(t, 3000, registry.KindMerchant, "无审计", "130802")}, nil); err != nil {
			t.Fatal(err)
		}
		if auditCount(t, db) != before {
			t.Fatal("batch without ev wrote audit rows")
		}
	})
}

// TestConcurrentWrites checks that writers queue on the one writer
// connection instead of failing with "database is locked".
func TestConcurrentWrites(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		const workers, each = 6, 15
		subs := make([]*registry.Subject, workers*each)
		for n := range subs {
			subs[n] = org(t, 5000+n, registry.KindMerchant, fmt.Sprint("并发", n), "130802")
		}
		var wg sync.WaitGroup
		errc := make(chan error, workers*each)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					s := subs[w*each+i]
					if err := db.CreateSubject(ctx, s, ev(audit.ActCreate, "subject")); err != nil {
						errc <- err
						return
					}
					if _, err := db.ListSubjects(ctx, registry.Filter{Limit: 5}); err != nil {
						errc <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		if n := must(db.CountSubjects(ctx)); n != workers*each {
			t.Fatalf("CountSubjects = %d, want %d", n, workers*each)
		}
		if n := auditCount(t, db); n != workers*each {
			t.Fatalf("audit rows = %d, want %d", n, workers*each)
		}
	})
}
