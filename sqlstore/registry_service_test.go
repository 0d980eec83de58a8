package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/clock"
	"ecredit/errs"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// Known-valid published-format vectors.
const (
	codePlatformA = "91110000600037341L"
	codeMerchant  = "9144030071526726XG"
	idSeller      = "11010519491231002X"
	idCourier     = "110105195001010039"
)

func newService(t *testing.T, db *sqlstore.DB) (*registry.Service, *clock.Fake) {
	clk := clock.NewFake(t0)
	db.SetClock(clk)
	return &registry.Service{Store: db, Audit: db, Keys: testKeys(t), Clock: clk}, clk
}

func actor(role account.Role, id, subjectID int64, name string) context.Context {
	return account.With(ctx, account.Actor{AccountID: id, Name: name, Role: role, SubjectID: subjectID, Via: "api", Remote: "10.0.0.9", RequestID: "req-" + name})
}

func ptr[T any](v T) *T { return &v }

func TestRegistryServiceEndToEnd(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		svc, clk := newService(t, db)
		admin := actor(account.RoleAdmin, 1, 0, "市信用办")

		platA, err := svc.CreateSubject(admin, registry.SubjectInput{Kind: registry.KindPlatform, Name: "甲平台", CreditCode: codePlatformA})
		if err != nil {
			t.Fatal(err)
		}
		platB, err := svc.CreateSubject(admin, registry.SubjectInput{Kind: registry.KindPlatform, Name: "乙平台", CreditCode: uscc(t, 2), RegionCode: "130802"})
		if err != nil {
			t.Fatal(err)
		}
		merchant, err := svc.CreateSubject(admin, registry.SubjectInput{Kind: registry.KindMerchant, Name: "承德山货商行",
			CreditCode: strings.ToLower(codeMerchant[:9]) + " " + codeMerchant[9:], RegionCode: "130802", Address: "双桥区1号"})
		if err != nil {
			t.Fatal(err)
		}
		if merchant.CreditCode != codeMerchant || merchant.Form != "enterprise" || merchant.Version != 1 {
			t.Fatalf("merchant stored as %+v", merchant)
		}
		seller, err := svc.CreateSubject(admin, registry.SubjectInput{Kind: registry.KindSeller, Name: "张三", IDNumber: idSeller,
			Phone: "138-1234-5678", Address: "住址"})
		if err != nil {
			t.Fatal(err)
		}

		// Personal data is masked in every view, and stored sealed.
		v := seller.View()
		if v.Name != "张*" || v.IDNumber != "1101**********002X" || v.Phone != "138****5678" || v.Address != "" || v.RegionCode != "110105" {
			t.Fatalf("seller view = %+v", v)
		}
		stored, err := db.GetSubject(ctx, seller.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Name != "张*" || strings.Contains(string(stored.IDNumber.Cipher), idSeller) || stored.IDNumber.Masked != v.IDNumber {
			t.Fatalf("seller stored in clear: %+v", stored)
		}
		var raw int
		if err := db.ReaderDB().QueryRowContext(ctx, db.Dialect().Rebind("SELECT COUNT(*) FROM subjects WHERE name = ? OR id_masked = ?"),
			"张三", idSeller).Scan(&raw); err != nil || raw != 0 {
			t.Fatalf("clear personal data found in subjects: %d, %v", raw, err)
		}
		created, _ := db.List(ctx, audit.Filter{Object: fmt.Sprintf("subject:%d", seller.ID), Action: audit.ActCreate})
		if len(created) != 1 || created[0].ActorID != 1 || created[0].Remote != "10.0.0.9" {
			t.Fatalf("create audit = %+v", created)
		}

		// Duplicates.
		_, err = svc.CreateSubject(admin, registry.SubjectInput{Kind: registry.KindMerchant, Name: "冒用", CreditCode: codeMerchant})
		wantCode(t, err, errs.Conflict, "credit_code")
		_, err = svc.CreateSubject(admin, registry.SubjectInput{Kind: registry.KindCourier, Name: "张三", IDNumber: idSeller})
		wantCode(t, err, errs.Conflict, "id_number")
		courier, err := svc.CreateSubject(admin, registry.SubjectInput{Kind: registry.KindCourier, Name: "李四", IDNumber: idCourier})
		if err != nil {
			t.Fatal(err)
		}

		// Public lookups.
		public := account.With(ctx, account.Public("1.2.3.4", "r"))
		if got, err := svc.FindByCode(public, " "+strings.ToLower(codeMerchant)); err != nil || got.ID != merchant.ID {
			t.Fatalf("FindByCode = %v, %v", got, err)
		}
		if got, err := svc.CheckMark(public, strings.ToLower(merchant.Mark)); err != nil || got.ID != merchant.ID {
			t.Fatalf("CheckMark = %v, %v", got, err)
		}
		_, err = svc.CheckMark(public, "ECM-0000-0000-0000")
		wantCode(t, err, errs.NotFound, "mark")

		// Lookup by ID number is audited.
		found, err := svc.Lookup(admin, strings.ToLower(idSeller), "")
		if err != nil || found.ID != seller.ID {
			t.Fatalf("Lookup = %v, %v", found, err)
		}
		if got, err := svc.Lookup(admin, "", "13812345678"); err != nil || got.ID != seller.ID {
			t.Fatalf("Lookup by phone = %v, %v", got, err)
		}
		if n := len(must(db.List(ctx, audit.Filter{Action: audit.ActLookup}))); n != 2 {
			t.Fatalf("lookup audit rows = %d, want 2", n)
		}

		// Platforms see and write only their own shops.
		ctxA := actor(account.RolePlatform, 10, platA.ID, "甲平台")
		ctxB := actor(account.RolePlatform, 11, platB.ID, "乙平台")
		shop, err := svc.CreateShop(ctxA, registry.ShopInput{OwnerID: merchant.ID, Name: "山货旗舰店", URL: "https://ShanHuo.shop-a.example/x",
			Category: "food", PlatformShopID: "A-001"})
		if err != nil {
			t.Fatal(err)
		}
		if shop.PlatformID != platA.ID || shop.Domain != "shanhuo.shop-a.example" {
			t.Fatalf("shop = %+v", shop)
		}
		if n := len(must(db.List(ctx, audit.Filter{Object: fmt.Sprintf("shop:%d", shop.ID)}))); n != 1 {
			t.Fatalf("shop create audit rows = %d", n)
		}
		_, err = svc.CreateShop(ctxA, registry.ShopInput{OwnerID: merchant.ID, Name: "重复", URL: "https://d.example", PlatformShopID: "A-001"})
		wantCode(t, err, errs.Conflict, "platform_shop_id")
		_, err = svc.CreateShop(ctxB, registry.ShopInput{PlatformID: platA.ID, OwnerID: merchant.ID, Name: "越权", URL: "https://e.example"})
		wantCode(t, err, errs.Forbidden, "platform_id")
		_, err = svc.GetShop(ctxB, shop.ID)
		wantCode(t, err, errs.NotFound, "")
		_, err = svc.UpdateShop(ctxB, shop.ID, registry.ShopPatch{Name: ptr("改名")})
		wantCode(t, err, errs.NotFound, "")
		_, err = svc.ListShops(ctxB, registry.ShopFilter{PlatformID: platA.ID})
		wantCode(t, err, errs.Forbidden, "platform_id")
		if list, err := svc.ListShops(ctxB, registry.ShopFilter{}); err != nil || len(list) != 0 {
			t.Fatalf("platform B sees shops %v, %v", list, err)
		}
		_, err = svc.UpdateSubject(ctxB, merchant.ID, registry.SubjectPatch{Address: ptr("改地址")})
		wantCode(t, err, errs.Forbidden, "")
		if got, _ := db.GetShop(ctx, shop.ID); got.Name != "山货旗舰店" || got.Version != 1 {
			t.Fatalf("refused writes changed the shop: %+v", got)
		}
		updated, err := svc.UpdateShop(ctxA, shop.ID, registry.ShopPatch{Name: ptr("山货总店"), Version: 1})
		if err != nil || updated.Version != 2 {
			t.Fatalf("owner platform UpdateShop = %+v, %v", updated, err)
		}

		// Revealing personal data: refused for a platform the person does not
		// sell on, allowed and audited for the one they do.
		_, err = svc.RevealPersonal(ctxB, seller.ID, "查看")
		wantCode(t, err, errs.Forbidden, "")
		if _, err := svc.CreateShop(ctxA, registry.ShopInput{OwnerID: seller.ID, Name: "张三小店", URL: "zhang.shop-a.example"}); err != nil {
			t.Fatal(err)
		}
		p, err := svc.RevealPersonal(ctxA, seller.ID, "核实消费者投诉")
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != "张三" || p.IDNumber != idSeller || p.Phone != "13812345678" {
			t.Fatalf("revealed %+v", p)
		}
		reads, _ := db.List(ctx, audit.Filter{Action: audit.ActReadPersonal})
		if len(reads) != 1 || reads[0].Object != fmt.Sprintf("subject:%d", seller.ID) || reads[0].ActorID != 10 || reads[0].Detail != "核实消费者投诉" ||
			!reads[0].At.Equal(clk.Now().Truncate(time.Microsecond)) {
			t.Fatalf("reveal audit = %+v", reads)
		}

		// Verification and its expiry by the clock.
		ver, sub, err := svc.Verify(admin, merchant.ID, registry.VerificationInput{Method: "license_check", Passed: true, ValidDays: 30})
		if err != nil {
			t.Fatal(err)
		}
		if sub.Verify != registry.VerifyOK || sub.Version != 2 || ver.ID == 0 {
			t.Fatalf("after Verify: %+v %+v", sub, ver)
		}
		if got, _ := svc.GetSubject(admin, merchant.ID); got.Verify != registry.VerifyOK {
			t.Fatalf("state right after verification = %s", got.Verify)
		}
		if list, _ := svc.ListSubjects(admin, registry.Filter{Verify: registry.VerifyExpired}); len(list) != 0 {
			t.Fatalf("expired before the due date: %v", list)
		}
		clk.Advance(31 * 24 * time.Hour)
		if got, _ := svc.GetSubject(admin, merchant.ID); got.Verify != registry.VerifyExpired {
			t.Fatalf("state 31 days later = %s, want expired", got.Verify)
		}
		if list, _ := svc.ListSubjects(admin, registry.Filter{Verify: registry.VerifyExpired}); len(list) != 1 || list[0].ID != merchant.ID {
			t.Fatalf("expired list = %v", list)
		}
		if list, _ := svc.ListSubjects(admin, registry.Filter{Verify: registry.VerifyOK}); len(list) != 0 {
			t.Fatalf("an expired verification is listed as verified: %v", list)
		}
		due, err := svc.DueForReverification(admin, clk.Now(), 0, 10)
		if err != nil || len(due) != 1 || due[0].ID != merchant.ID {
			t.Fatalf("DueForReverification = %v, %v", due, err)
		}
		hist, err := svc.Verifications(admin, merchant.ID)
		if err != nil || len(hist) != 1 || !hist[0].Passed || hist[0].VerifiedBy != "市信用办" {
			t.Fatalf("history = %+v, %v", hist, err)
		}

		// Optimistic locking through the service: verification bumped the
		// version to 2.
		_, err = svc.UpdateSubject(admin, merchant.ID, registry.SubjectPatch{Name: ptr("新名"), Version: 1})
		wantCode(t, err, errs.Conflict, "version")
		upd, err := svc.UpdateSubject(admin, merchant.ID, registry.SubjectPatch{Name: ptr("新名"), Version: 2})
		if err != nil || upd.Version != 3 || upd.Verify != registry.VerifyOK {
			t.Fatalf("UpdateSubject = %+v, %v", upd, err)
		}

		// Logistics firms act on the couriers they registered only.
		_, _, err = svc.Verify(actor(account.RoleLogistics, 20, 0, "物流"), courier.ID, registry.VerificationInput{Method: "id_check", Passed: true})
		wantCode(t, err, errs.Forbidden, "")

		// Listing by platform through the service.
		list, err := svc.ListSubjects(admin, registry.Filter{PlatformID: platA.ID})
		if err != nil || len(list) != 2 || list[0].ID != merchant.ID || list[1].ID != seller.ID {
			t.Fatalf("subjects on platform A = %v, %v", list, err)
		}
	})
}

// racingStore registers a conflicting subject just before the first batch
// write, as a concurrent client would between validation and storing.
type racingStore struct {
	*sqlstore.DB
	race func()
}

func (r *racingStore) CreateSubjects(ctx context.Context, subs []*registry.Subject, ev func(*registry.Subject) *audit.Entry) error {
	if r.race != nil {
		r.race()
		r.race = nil
	}
	return r.DB.CreateSubjects(ctx, subs, ev)
}

func TestRegistryCreateSubjectsBatch(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		svc, _ := newService(t, db)
		admin := actor(account.RoleAdmin, 1, 0, "市信用办")
		if _, err := svc.CreateSubject(admin, registry.SubjectInput{Kind: registry.KindMerchant, Name: "已登记商行", CreditCode: uscc(t, 100)}); err != nil {
			t.Fatal(err)
		}
		racer := &racingStore{DB: db}
		svc.Store = racer
		racer.race = func() {
			if err := db.CreateSubjects(ctx, []*registry.Subject{{Kind: registry.KindMerchant, Name: "抢先登记", CreditCode: uscc(t, 104),
				Status: registry.StatusActive, Verify: registry.VerifyNone, Mark: "ECM-RACE-0000-0001"}}, nil); err != nil {
				t.Fatal(err)
			}
		}
		ins := []registry.SubjectInput{
			{Kind: registry.KindMerchant, Name: "甲", CreditCode: uscc(t, 101)},
			{Kind: registry.KindMerchant, Name: "已登记", CreditCode: uscc(t, 100)}, // registered before: conflict
			{Kind: registry.KindMerchant, Name: "乙", CreditCode: uscc(t, 102)},
			{Kind: registry.KindMerchant, Name: "甲重复", CreditCode: uscc(t, 101)},         // duplicate within the batch
			{Kind: registry.KindMerchant, Name: "坏代码", CreditCode: "91110000600037341N"}, // bad check character
			{Kind: registry.KindMerchant, Name: "被抢先", CreditCode: uscc(t, 104)},         // registered by the racer
			{Kind: registry.KindSeller, Name: "李四", IDNumber: idSeller},
			{Kind: registry.KindSeller, Name: "李四重复", IDNumber: idSeller}, // duplicate within the batch
		}
		out, err := svc.CreateSubjects(admin, ins)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			code  errs.Code
			field string
		}{{"", ""}, {errs.Conflict, "credit_code"}, {"", ""}, {errs.Conflict, "credit_code"}, {errs.Invalid, "credit_code"},
			{errs.Conflict, "credit_code"}, {"", ""}, {errs.Conflict, "id_number"}}
		created := 0
		for i, w := range want {
			got := out[i]
			if errs.CodeOf(got.Err) != w.code || errs.FieldOf(got.Err) != w.field {
				t.Errorf("item %d: %v, want %s on %s", i, got.Err, w.code, w.field)
			}
			if w.code == "" {
				created++
				if got.Subject == nil || got.Subject.ID == 0 {
					t.Errorf("item %d: not created: %+v", i, got)
					continue
				}
				back, err := db.GetSubject(ctx, got.Subject.ID)
				if err != nil || back.Name != got.Subject.Name {
					t.Errorf("item %d: stored %+v, %v", i, back, err)
				}
			}
		}
		n, _ := db.CountSubjects(ctx)
		if n != int64(1+1+created) {
			t.Fatalf("%d subjects stored, want %d", n, 2+created)
		}
		entries, err := db.List(ctx, audit.Filter{Action: audit.ActCreate, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1+created {
			t.Fatalf("%d create audit entries, want %d (one per stored subject)", len(entries), 1+created)
		}
		if _, err := svc.CreateSubjects(actor(account.RolePublic, 0, 0, "公众"), ins[:1]); !errs.Is(err, errs.Unauthorized) {
			t.Fatalf("public batch: %v", err)
		}
	})
}
