package disclosure_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/clock"
	"ecredit/code"
	"ecredit/disclosure"
	"ecredit/errs"
	"ecredit/ledger"
	"ecredit/pii"
	"ecredit/record"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

var (
	sys  = account.With(context.Background(), account.System)
	samr = account.With(context.Background(), account.Actor{AccountID: 41, Name: "承德市市场监督管理局", Role: account.RoleDepartment, Via: "api"})
	pub  = account.With(context.Background(), account.Public("203.0.113.9", "req-1"))
)

type fixture struct {
	db                                *sqlstore.DB
	clk                               *clock.Fake
	reg                               *registry.Service
	rec                               *record.Service
	svc                               *disclosure.Service
	org                               *registry.Subject
	seller                            *registry.Subject
	sellerID, sellerPhone, sellerName string
	licence, penalty, commitment, old *record.Record
	personPenalty                     *record.Record
}

func ingest(t *testing.T, f *fixture, in record.Input) *record.Record {
	t.Helper()
	res, err := f.rec.Ingest(samr, in)
	if err != nil || res.Status != record.ResultCreated {
		t.Fatalf("ingest %s: %+v %v", in.Type, res, err)
	}
	return res.Record
}

// setup seeds an organisation with a licence, a penalty, a commitment and
// an old penalty past its publicity window, and a person (seller) with a
// penalty.
func setup(t *testing.T, db *sqlstore.DB) *fixture {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC))
	db.SetClock(clk)
	keys, err := pii.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	log, _, err := ledger.OpenLog(sys, db, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, clk: clk}
	f.reg = &registry.Service{Store: db, Audit: db, Keys: keys, Clock: clk}
	f.rec = &record.Service{Store: db, Subjects: db, Keys: keys, Clock: clk}
	f.svc = &disclosure.Service{Store: db, Log: log, Clock: clk, Secret: keys.Index("report", "test")}
	c, err := code.MakeUSCC('9', '1', "130802", "MA0ABCDE")
	if err != nil {
		t.Fatal(err)
	}
	if f.org, err = f.reg.CreateSubject(sys, registry.SubjectInput{Kind: registry.KindMerchant, Name: "承德山庄特产有限公司",
		CreditCode: c, LegalRep: "李四", Phone: "0314-2345678", RegionCode: "130802"}); err != nil {
		t.Fatal(err)
	}
	f.sellerID, err = code.MakeID("130802", time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC), 123)
	if err != nil {
		t.Fatal(err)
	}
	f.sellerPhone, f.sellerName = "13912345678", "张三丰"
	if f.seller, err = f.reg.CreateSubject(sys, registry.SubjectInput{Kind: registry.KindSeller, Name: f.sellerName,
		IDNumber: f.sellerID, Phone: f.sellerPhone}); err != nil {
		t.Fatal(err)
	}
	f.licence = ingest(t, f, record.Input{Type: record.TypeLicence, Fields: map[string]string{
		"subject_name": f.org.Name, "credit_code": c, "doc_no": "承市监食许〔2026〕18号", "certificate_name": "食品经营许可证",
		"content": "预包装食品销售（含冷藏冷冻食品）", "decision_date": "2026-03-02", "valid_from": "2026-03-02", "valid_until": "2031-03-01",
		"authority": "承德市市场监督管理局"}})
	f.penalty = ingest(t, f, record.Input{Type: record.TypePenalty, Fields: map[string]string{
		"CF_XDR_MC": f.org.Name, "CF_XDR_SHXYM": c, "CF_WSH": "承双市监罚〔2026〕7号", "CF_WFXW": "虚假宣传",
		"CF_SY": "网店宣传无依据", "CF_YJ": "《反不正当竞争法》第二十条", "CF_CFLB": "罚款", "CF_NR": "罚款五千元", "CF_NR_FK": "0.5",
		"CF_JDRQ": "2026-05-10", "CF_CFJG": "承德市双桥区市场监督管理局"}})
	f.old = ingest(t, f, record.Input{Type: record.TypePenalty, Fields: map[string]string{
		"CF_XDR_MC": f.org.Name, "CF_XDR_SHXYM": c, "CF_WSH": "承双市监罚〔2024〕1号", "CF_WFXW": "未亮照经营",
		"CF_SY": "未公示营业执照", "CF_YJ": "《电子商务法》第七十六条", "CF_CFLB": "警告", "CF_NR": "警告", "CF_JDRQ": "2024-01-10",
		"CF_CFJG": "承德市双桥区市场监督管理局"}})
	f.commitment = ingest(t, f, record.Input{Type: record.TypeCommitment, Fields: map[string]string{
		"subject_name": f.org.Name, "credit_code": c, "commitment_no": "CN-2026-001", "commitment_type": "主动公示型",
		"matter": "七日无理由退货", "content": "本店承诺七日无理由退货", "commitment_date": "2026-04-01", "term_until": "2027-03-31"}})
	f.personPenalty = ingest(t, f, record.Input{Type: record.TypePenalty, Fields: map[string]string{
		"CF_XDR_MC": f.sellerName, "CF_XDR_ZJLX": "身份证", "CF_XDR_ZJHM": f.sellerID, "CF_WSH": "承双市监罚〔2026〕9号",
		"CF_WFXW": "销售过期食品", "CF_SY": "网店销售过期食品", "CF_YJ": "《食品安全法》", "CF_CFLB": "警告", "CF_NR": "警告",
		"CF_JDRQ": "2026-05-20", "CF_CFJG": "承德市双桥区市场监督管理局"}})
	if f.personPenalty.SubjectID != f.seller.ID {
		t.Fatalf("person penalty went to subject %d, want the seller %d", f.personPenalty.SubjectID, f.seller.ID)
	}
	return f
}

func TestProfile(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db)
		p, err := f.svc.Profile(pub, f.org.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]int64{}
		for _, g := range p.Groups {
			for _, r := range g.Records {
				got[g.Key] = append(got[g.Key], r.ID)
			}
		}
		want := map[string][]int64{"licences": {f.licence.ID}, "penalties": {f.penalty.ID}, "commitments": {f.commitment.ID}}
		for k, ids := range want {
			if len(got[k]) != 1 || got[k][0] != ids[0] {
				t.Errorf("group %s = %v, want %v (the 2024 penalty is past its window)", k, got[k], ids)
			}
		}
		if len(got["others"]) != 0 || p.Total != 3 || p.Disputed != 0 {
			t.Errorf("others=%v total=%d disputed=%d", got["others"], p.Total, p.Disputed)
		}
		if p.Subject.Phone != "" {
			t.Errorf("phone shown: %q", p.Subject.Phone)
		}
		byCode, err := f.svc.ProfileByCode(pub, strings.ToLower(f.org.CreditCode))
		if err != nil || byCode.Subject.ID != f.org.ID {
			t.Fatalf("ProfileByCode: %v %v", byCode, err)
		}
		for _, c := range []string{"", "91130802MA0ABCDE00", "abc"} {
			if _, err := f.svc.ProfileByCode(pub, c); !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != "code" {
				t.Errorf("ProfileByCode(%q) = %v, want invalid on code", c, err)
			}
		}
		if _, err := f.svc.Profile(pub, 999999); !errs.Is(err, errs.NotFound) {
			t.Errorf("missing subject: %v", err)
		}

		// An objection shows the record as disputed.
		if _, err := f.rec.FileObjection(account.With(context.Background(), account.System), f.penalty.ID, "处罚认定事实有误"); err != nil {
			t.Fatal(err)
		}
		p, err = f.svc.Profile(pub, f.org.ID)
		if err != nil || p.Disputed != 1 || !p.Groups[1].Records[0].Disputed {
			t.Fatalf("after objection: disputed=%d %v", p.Disputed, err)
		}
	})
}

// personalLeaks fails when v, as JSON, carries a person's clear data.
func personalLeaks(t *testing.T, f *fixture, what string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{f.sellerID, f.sellerPhone, f.sellerName, f.sellerID[6:14], "0314-2345678"} {
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s shows personal data %q", what, secret)
		}
	}
}

func TestReportAndVerify(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db)
		rep, err := f.svc.Report(pub, f.org.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Items) != 3 || rep.TreeSize < 5 || !strings.HasPrefix(rep.VerifyPath, "/verify/"+rep.ID+"?h="+rep.Hash) {
			t.Fatalf("report: %d items, size %d, path %q", len(rep.Items), rep.TreeSize, rep.VerifyPath)
		}
		// Every proof checks against the one signed checkpoint.
		tree, err := ledger.VerifyCheckpoint(f.svc.Log.Verifier, []byte(rep.Checkpoint))
		if err != nil || tree.N != rep.TreeSize {
			t.Fatalf("checkpoint: %v %v", tree, err)
		}
		for _, it := range rep.Items {
			p := *it.Proof
			p.Checkpoint = rep.Checkpoint
			if err := p.Check(f.svc.Log.Verifier); err != nil {
				t.Errorf("record %d: proof: %v", it.Record.ID, err)
			}
		}
		v, err := f.svc.Verify(pub, rep.ID, rep.Hash)
		if err != nil || v.Status != disclosure.VerdictCurrent || v.Title != "报告真实有效，内容为最新" {
			t.Fatalf("fresh report: %+v %v", v, err)
		}

		// The report of a person masks everything personal.
		prep, err := f.svc.Report(pub, f.seller.ID)
		if err != nil || len(prep.Items) != 1 {
			t.Fatalf("person report: %v %v", prep, err)
		}
		personalLeaks(t, f, "person report", prep)
		pp, _ := f.svc.Profile(pub, f.seller.ID)
		personalLeaks(t, f, "person profile", pp)
		page, err := f.svc.Search(pub, disclosure.SearchQuery{Q: "承德山庄"})
		if err != nil || len(page.Results) != 1 {
			t.Fatalf("search: %v %v", page, err)
		}
		personalLeaks(t, f, "search", page)

		// Forged or altered ids and hashes.
		forged := []struct{ id, h string }{
			{rep.ID, strings.Repeat("0", 64)},                 // another hash
			{strings.Replace(rep.ID, "R", "R1", 1), rep.Hash}, // another subject
			{rep.ID[:len(rep.ID)-2] + "AA", rep.Hash},         // another MAC
			{"R1-1-1-xyz", rep.Hash},                          // made up
			{"garbage", ""},                                   // not an id
			{rep.ID, ""},                                      // no hash
		}
		for _, tc := range forged {
			v, err := f.svc.Verify(pub, tc.id, tc.h)
			if err != nil || v.Status != disclosure.VerdictInvalid || v.Title != "无法验证，可能被篡改" || len(v.Reasons) == 0 {
				t.Errorf("Verify(%q, %q) = %+v, %v; want invalid with a reason", tc.id, tc.h, v, err)
			}
		}

		// A later change: still genuine, but no longer current.
		f.clk.Advance(time.Hour)
		if _, err := f.rec.FileObjection(account.With(context.Background(), account.System), f.penalty.ID, "处罚认定事实有误"); err != nil {
			t.Fatal(err)
		}
		v, err = f.svc.Verify(pub, rep.ID, rep.Hash)
		if err != nil || v.Status != disclosure.VerdictUpdated || v.Title != "报告真实，但信息已有更新" || v.CurrentSize <= v.TreeSize {
			t.Fatalf("after a change: %+v %v", v, err)
		}
		rep2, err := f.svc.Report(pub, f.org.ID)
		if err != nil || rep2.Hash == rep.Hash || rep2.Profile.Disputed != 1 {
			t.Fatalf("new report: %v %v", rep2, err)
		}
		if v, _ := f.svc.Verify(pub, rep2.ID, rep2.Hash); v.Status != disclosure.VerdictCurrent {
			t.Fatalf("new report verdict: %+v", v)
		}

		// Someone edits a record row directly in the database: the report
		// can no longer be verified, and no new report is issued.
		if _, err := db.WriterDB().ExecContext(context.Background(),
			db.Dialect().Rebind("UPDATE records SET fields = REPLACE(fields, '虚假宣传', '轻微瑕疵') WHERE id = ?"), f.penalty.ID); err != nil {
			t.Fatal(err)
		}
		v, err = f.svc.Verify(pub, rep2.ID, rep2.Hash)
		if err != nil || v.Status != disclosure.VerdictInvalid {
			t.Fatalf("after tampering: %+v %v", v, err)
		}
		if _, err := f.svc.Report(pub, f.org.ID); !errs.Is(err, errs.Conflict) {
			t.Fatalf("report over tampered data: %v, want conflict", err)
		}
	})
}

func TestReportNotConfigured(t *testing.T) {
	s := &disclosure.Service{}
	if _, err := s.Report(pub, 1); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("Report without a ledger: %v", err)
	}
	if _, err := s.Verify(pub, "R1-1-1-x", ""); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("Verify without a ledger: %v", err)
	}
}
