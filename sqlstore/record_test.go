package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"ecredit/account"
	"ecredit/clock"
	"ecredit/errs"
	"ecredit/imports"
	"ecredit/ledger"
	"ecredit/pii"
	"ecredit/record"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// Actors of the record tests.
var (
	samr    = account.Actor{AccountID: 0, Name: "承德市市场监督管理局", Role: account.RoleDepartment, Via: "cli"}
	samrAPI = account.Actor{AccountID: 41, Name: "承德市市场监督管理局", Role: account.RoleDepartment, Via: "api"}
	otherD  = account.Actor{AccountID: 42, Name: "承德市商务局", Role: account.RoleDepartment, Via: "api"}
	admin   = account.Actor{AccountID: 1, Name: "市信用办", Role: account.RoleAdmin, Via: "console"}
)

func recordService(t testing.TB, db *sqlstore.DB, now time.Time) (*record.Service, *clock.Fake) {
	t.Helper()
	c := clock.NewFake(now)
	db.SetClock(c)
	return &record.Service{Store: db, Subjects: db, Keys: testKeys(t), Clock: c}, c
}

func shanghai(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, clock.Shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

func ledgerSize(t testing.TB, db *sqlstore.DB) int64 {
	t.Helper()
	n, err := db.LedgerSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func verify(t *testing.T, db *sqlstore.DB) *ledger.Report {
	t.Helper()
	rep, err := ledger.Verify(ctx, db, nil, ledger.Recomputers{record.LedgerKind: db.RecomputeRecordEntry}.Recompute, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func importFile(t *testing.T, svc *record.Service, a account.Actor, name string, typ record.Type) *imports.Report {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "imports", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := imports.Open(f, name, typ)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	rep, err := imports.Run(account.With(ctx, a), rd, svc, imports.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

type rowCol struct {
	row int
	col string
}

func TestImportTestdata(t *testing.T) {
	tests := []struct {
		file    string
		typ     record.Type
		rows    int
		created int
		errors  []rowCol
		pending int // pending subjects created
	}{
		{"penalty_gb18030.csv", record.TypePenalty, 10, 6, []rowCol{{6, "统一社会信用代码"}, {7, "处罚决定日期"}, {8, "行政处罚决定书文号"}, {9, "违法事实"}}, 6},
		{"licence_utf8bom.csv", record.TypeLicence, 8, 4, []rowCol{{5, "XK_XDR_SHXYM"}, {6, "XK_JDRQ"}, {7, "XK_NR"}, {8, "XK_WSH"}}, 4},
		{"penalty_legacy.csv", record.TypePenalty, 4, 2, []rowCol{{3, "处罚类别1"}, {5, "行政相对人代码_1(统一社会信用代码)"}}, 2},
		{"penalty.xlsx", record.TypePenalty, 6, 3, []rowCol{{7, "统一社会信用代码"}, {8, "处罚依据"}, {10, "行政处罚决定书文号"}}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
				svc, _ := recordService(t, db, shanghai("2026-01-10 09:00"))
				rep := importFile(t, svc, samr, tt.file, tt.typ)
				if rep.Rows != tt.rows || rep.Created != tt.created || rep.Failed != len(tt.errors) || rep.Unchanged != 0 {
					t.Fatalf("report rows %d created %d unchanged %d failed %d; want %d %d 0 %d\nerrors: %+v",
						rep.Rows, rep.Created, rep.Unchanged, rep.Failed, tt.rows, tt.created, len(tt.errors), rep.Errors)
				}
				if len(rep.Errors) != len(tt.errors) {
					t.Fatalf("errors = %+v", rep.Errors)
				}
				for i, want := range tt.errors {
					got := rep.Errors[i]
					if got.Row != want.row || got.Column != want.col || got.Message == "" {
						t.Errorf("error %d = %+v, want row %d column %q", i, got, want.row, want.col)
					}
				}
				if n := ledgerSize(t, db); n != int64(tt.created) {
					t.Errorf("ledger size %d, want %d", n, tt.created)
				}
				pending, err := db.ListSubjects(ctx, registry.Filter{Status: registry.StatusPending, Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				if len(pending) != tt.pending {
					t.Errorf("%d pending subjects, want %d", len(pending), tt.pending)
				}

				// Idempotent: importing the same file again stores nothing.
				again := importFile(t, svc, samr, tt.file, tt.typ)
				if again.Created != 0 || again.Unchanged != tt.created || again.Failed != len(tt.errors) {
					t.Errorf("re-import: created %d unchanged %d failed %d", again.Created, again.Unchanged, again.Failed)
				}
				if n := ledgerSize(t, db); n != int64(tt.created) {
					t.Errorf("ledger grew on re-import: %d", n)
				}
				if rep := verify(t, db); !rep.OK() {
					t.Errorf("verify: %+v", rep.Mismatches)
				}
			})
		})
	}
}

func TestImportedRecordContent(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		svc, _ := recordService(t, db, shanghai("2026-01-10 09:00"))
		importFile(t, svc, samr, "penalty_gb18030.csv", record.TypePenalty)
		importFile(t, svc, samr, "licence_utf8bom.csv", record.TypeLicence)
		rs, err := db.ListRecords(ctx, record.Filter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		byRef := map[string]*record.Record{}
		for _, r := range rs {
			byRef[r.SourceRef] = r
		}
		tests := []struct {
			ref      string
			severity record.Severity
			until    record.Date
			fields   map[string]string
		}{
			{"承双市监罚〔2025〕101号", record.SeverityLight, "2025-12-14", map[string]string{"category": "warning;fine", "fine": "0.2", "decision_date": "2025-09-15"}},
			{"承双市监罚〔2025〕102号", record.SeverityGeneral, "2026-10-07", map[string]string{"category": "fine;confiscate_income", "confiscated": "0.32", "decision_date": "2025-10-08"}},
			{"承平市监罚〔2025〕7号", record.SeveritySevere, "2028-06-19", map[string]string{"publicity_until": "2028-06-19"}},
			{"承鹰市监罚〔2025〕6号", record.SeverityGeneral, "2026-11-19", map[string]string{"decision_date": "2025-11-20"}},
			{"承双审批许〔2025〕0001号", "", "2030-01-01", map[string]string{"licence_category": "general", "valid_until": "2030-01-01"}},
			{"承双审批登〔2025〕0002号", "", "", map[string]string{"subject_name": "李**", "id_number": "1308**********1238", "licence_category": "registration"}},
		}
		for _, tt := range tests {
			r := byRef[tt.ref]
			if r == nil {
				t.Errorf("%s not stored", tt.ref)
				continue
			}
			if r.Severity != tt.severity || r.PublicUntil != tt.until || r.Source != samr.Name || r.SourceKey != "name:"+samr.Name {
				t.Errorf("%s: severity %q until %q source %q/%q", tt.ref, r.Severity, r.PublicUntil, r.Source, r.SourceKey)
			}
			for k, v := range tt.fields {
				if r.Fields[k] != v {
					t.Errorf("%s: field %s = %q, want %q", tt.ref, k, r.Fields[k], v)
				}
			}
		}
		// The person is referenced by the HMAC of the ID number only.
		p := byRef["承双审批登〔2025〕0002号"]
		keys := testKeys(t)
		if p.SubjectCode != "" || p.SubjectIDIndex != hex.EncodeToString(keys.Index(pii.KindIDNumber, "130802198503141238")) || p.SubjectName != "李**" {
			t.Errorf("person record: %+v", p)
		}
		sub, err := db.GetSubject(ctx, p.SubjectID)
		if err != nil {
			t.Fatal(err)
		}
		if sub.Kind != registry.KindSeller || sub.Status != registry.StatusPending || sub.Name != "李**" || sub.RegionCode != "130802" {
			t.Errorf("pending person subject: %+v", sub)
		}
		if id, err := keys.Open(pii.KindIDNumber, sub.IDNumber); err != nil || id != "130802198503141238" {
			t.Errorf("sealed ID: %q %v", id, err)
		}
		// No clear personal data anywhere in records, events or the ledger.
		for _, q := range []string{"SELECT fields || personal || subject_name FROM records", "SELECT content FROM record_events"} {
			rows, err := db.ReaderDB().QueryContext(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var s string
				rows.Scan(&s)
				if strings.Contains(s, "130802198503141238") || strings.Contains(s, "李秀英") {
					t.Errorf("clear personal data stored: %.200s", s)
				}
			}
			rows.Close()
		}
		// The pending organisation subject.
		org, err := db.FindSubjectByCode(ctx, "92130821MA0E5F6G7W")
		if err != nil {
			t.Fatal(err)
		}
		if org.Status != registry.StatusPending || org.Form != "individual_business" || org.Name != "承德县张记土特产店" || org.RegionCode != "130821" {
			t.Errorf("pending subject: %+v", org)
		}
	})
}

func penaltyInput(ref, cats, fine, date string) record.Input {
	f := map[string]string{"CF_XDR_MC": "承德市双桥区优品电子商务有限公司", "CF_XDR_SHXYM": "91130802MA0A1B2C2Y", "CF_WSH": ref, "CF_WFXW": "虚假宣传",
		"CF_SY": "网店宣传无依据", "CF_YJ": "《反不正当竞争法》第二十条", "CF_CFLB": cats, "CF_NR": "处罚", "CF_JDRQ": date, "CF_CFJG": "承德市双桥区市场监督管理局"}
	if fine != "" {
		f["CF_NR_FK"] = fine
	}
	return record.Input{Type: record.TypePenalty, Fields: f}
}

func TestIngestIdempotentAndCorrection(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		svc, _ := recordService(t, db, shanghai("2026-05-12 10:00"))
		c := account.With(ctx, samrAPI)
		in := penaltyInput("W-1", "罚款", "0.5", "2026-05-10")
		res, err := svc.Ingest(c, in)
		if err != nil || res.Status != record.ResultCreated {
			t.Fatalf("ingest: %+v %v", res, err)
		}
		if res.Record.SourceKey != "account:41" || res.Record.Version != 1 {
			t.Errorf("record: %+v", res.Record)
		}
		res2, err := svc.Ingest(c, in)
		if err != nil || res2.Status != record.ResultUnchanged || res2.ID != res.ID {
			t.Fatalf("again: %+v %v", res2, err)
		}
		// Another source with the same 文书号 is a different record.
		if r, err := svc.Ingest(account.With(ctx, otherD), in); err != nil || r.Status != record.ResultCreated || r.ID == res.ID {
			t.Fatalf("other source: %+v %v", r, err)
		}
		changed := penaltyInput("W-1", "罚款", "0.8", "2026-05-10")
		if _, err := svc.Ingest(c, changed); !errs.Is(err, errs.Conflict) || errs.FieldOf(err) != "fields.doc_no" {
			t.Fatalf("changed content without correct: %v", err)
		}
		changed.Correct = true
		if _, err := svc.Ingest(c, changed); errs.FieldOf(err) != "reason" {
			t.Fatalf("correction without reason: %v", err)
		}
		changed.Reason = "罚款金额录入错误"
		res3, err := svc.Ingest(c, changed)
		if err != nil || res3.Status != record.ResultCorrected || res3.ID != res.ID || res3.Record.Version != 2 || res3.Record.Fields["fine"] != "0.8" {
			t.Fatalf("correction: %+v %v", res3, err)
		}
		evs, err := svc.Events(account.With(ctx, admin), res.ID)
		if err != nil || len(evs) != 2 || evs[1].Type != record.EventCorrect || evs[1].Reason != "罚款金额录入错误" {
			t.Fatalf("events: %+v %v", evs, err)
		}
		if n := ledgerSize(t, db); n != 3 {
			t.Errorf("ledger size %d, want 3", n)
		}
		got, err := db.GetRecord(ctx, res.ID)
		if err != nil || got.Version != 2 || got.Fields["fine"] != "0.8" {
			t.Fatalf("stored: %+v %v", got, err)
		}
		if rep := verify(t, db); !rep.OK() {
			t.Errorf("verify: %+v", rep.Mismatches)
		}
	})
}

func TestIngestAccess(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		svc, _ := recordService(t, db, shanghai("2026-05-12 10:00"))
		plat := org(t, 900, registry.KindPlatform, "承德优选电商平台有限公司", "130802")
		owner := org(t, 901, registry.KindMerchant, "承德小店有限公司", "130802")
		stranger := org(t, 902, registry.KindMerchant, "承德别家有限公司", "130802")
		for _, s := range []*registry.Subject{plat, owner, stranger} {
			if err := db.CreateSubject(ctx, s, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.CreateShop(ctx, &registry.Shop{PlatformID: plat.ID, OwnerID: owner.ID, Name: "小店", URL: "https://shop.example.cn/1", Domain: "shop.example.cn", Status: registry.StatusActive}, nil); err != nil {
			t.Fatal(err)
		}
		platform := account.Actor{AccountID: 50, Name: "承德优选", Role: account.RolePlatform, SubjectID: plat.ID}
		commit := func(code, no string) record.Input {
			return record.Input{Type: record.TypeCommitment, Fields: map[string]string{"credit_code": code, "subject_name": "x", "承诺书编号": no,
				"承诺类型": "主动公示型", "承诺事项": "网络经营", "承诺内容": "所售商品均为正品，接受平台和社会监督", "承诺日期": "2026-05-01"}}
		}
		tests := []struct {
			name  string
			actor account.Actor
			in    record.Input
			code  errs.Code
		}{
			{"platform: commitment of own shop owner", platform, commit(owner.CreditCode, "C1"), ""},
			{"platform: commitment of a stranger", platform, commit(stranger.CreditCode, "C2"), errs.Forbidden},
			{"platform: commitment of an unknown code", platform, commit(uscc(t, 903), "C3"), errs.Forbidden},
			{"platform: penalty", platform, penaltyInput("P1", "警告", "", "2026-05-10"), errs.Forbidden},
			{"public: anything", account.Public("1.2.3.4", "r"), penaltyInput("P2", "警告", "", "2026-05-10"), errs.Unauthorized},
			{"logistics: penalty", account.Actor{AccountID: 60, Role: account.RoleLogistics, Name: "快递"}, penaltyInput("P3", "警告", "", "2026-05-10"), errs.Forbidden},
			{"agency: payment fraud", account.Actor{AccountID: 70, Role: account.RoleAgency, Name: "某支付"}, record.Input{Type: record.TypePaymentFraud, Fields: map[string]string{
				"credit_code": stranger.CreditCode, "subject_name": "x", "report_no": "R1", "支付机构": "某支付", "案件类型": "争议", "金额（元）": "1200.50", "发生日期": "2026-05-01"}}, ""},
			{"department: commitment", samrAPI, commit(stranger.CreditCode, "C4"), ""},
		}
		for _, tt := range tests {
			_, err := svc.Ingest(account.With(ctx, tt.actor), tt.in)
			if errs.CodeOf(err) != tt.code {
				t.Errorf("%s: %v, want %q", tt.name, err, tt.code)
			}
		}
	})
}

func TestPublicityWindow(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		svc, clk := recordService(t, db, shanghai("2026-05-12 10:00"))
		c := account.With(ctx, samrAPI)
		light, err := svc.Ingest(c, penaltyInput("L-1", "警告", "", "2026-05-10"))
		if err != nil {
			t.Fatal(err)
		}
		general, err := svc.Ingest(c, penaltyInput("G-1", "罚款", "0.5", "2026-05-10"))
		if err != nil {
			t.Fatal(err)
		}
		pub := account.With(ctx, account.Public("1.2.3.4", "r"))
		count := func(cc context.Context, publicOnly bool) int {
			rs, err := svc.ListBySubject(cc, light.Record.SubjectID, "", publicOnly)
			if err != nil {
				t.Fatal(err)
			}
			return len(rs)
		}
		steps := []struct {
			at       string
			public   int
			archived int
		}{
			{"2026-05-12 10:00", 2, 2},
			{"2026-08-09 23:59", 2, 2}, // light: last day
			{"2026-08-10 00:00", 1, 2}, // light gone from public view, kept in the archive
			{"2027-05-09 23:59", 1, 2},
			{"2027-05-10 00:00", 0, 2},
		}
		for _, s := range steps {
			clk.Set(shanghai(s.at))
			if got := count(pub, false); got != s.public {
				t.Errorf("%s: public sees %d, want %d", s.at, got, s.public)
			}
			if got := count(account.With(ctx, otherD), false); got != s.archived {
				t.Errorf("%s: department sees %d, want %d", s.at, got, s.archived)
			}
		}
		if _, err := svc.Get(pub, light.ID); !errs.Is(err, errs.NotFound) {
			t.Errorf("public Get of an expired record: %v", err)
		}
		if _, err := svc.Get(account.With(ctx, otherD), general.ID); err != nil {
			t.Errorf("archive Get: %v", err)
		}
	})
}

func TestWithdrawalDeadline(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		svc, clk := recordService(t, db, shanghai("2025-09-20 10:00"))
		c := account.With(ctx, samrAPI)
		a, err := svc.Ingest(c, penaltyInput("WD-1", "罚款", "0.5", "2025-09-10"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := svc.Ingest(c, penaltyInput("WD-2", "罚款", "0.5", "2025-09-10"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Withdraw(account.With(ctx, otherD), a.ID, record.WithdrawInput{Reason: "x"}); !errs.Is(err, errs.Forbidden) {
			t.Errorf("withdraw by another department: %v", err)
		}
		if _, err := svc.Withdraw(c, a.ID, record.WithdrawInput{}); errs.FieldOf(err) != "reason" {
			t.Errorf("withdraw without reason: %v", err)
		}
		// Revoked on Tuesday 2025-09-30; National Day 10-01..08 is off and
		// Saturday 10-11 is a working day: due 2025-10-11.
		clk.Set(shanghai("2025-10-11 17:00"))
		r, err := svc.Withdraw(c, a.ID, record.WithdrawInput{Reason: "行政复议决定撤销原处罚决定", RevokedOn: "2025-09-30"})
		if err != nil {
			t.Fatal(err)
		}
		want := record.Withdrawal{Reason: "行政复议决定撤销原处罚决定", RevokedOn: "2025-09-30", Due: "2025-10-11", Done: "2025-10-11", Overdue: false}
		if r.Withdrawal != want || r.Status != record.StatusWithdrawn || record.InPublicView(r, clk.Now()) {
			t.Errorf("withdrawal = %+v status %s", r.Withdrawal, r.Status)
		}
		clk.Set(shanghai("2025-10-13 09:00"))
		r2, err := svc.Withdraw(c, b.ID, record.WithdrawInput{Reason: "处罚决定变更", RevokedOn: "2025-09-30"})
		if err != nil {
			t.Fatal(err)
		}
		if !r2.Withdrawal.Overdue || r2.Withdrawal.Due != "2025-10-11" || r2.Withdrawal.Done != "2025-10-13" {
			t.Errorf("late withdrawal = %+v", r2.Withdrawal)
		}
		if _, err := svc.Withdraw(c, a.ID, record.WithdrawInput{Reason: "again"}); !errs.Is(err, errs.Conflict) {
			t.Errorf("second withdrawal: %v", err)
		}
		if _, err := svc.Withdraw(c, b.ID, record.WithdrawInput{Reason: "x", RevokedOn: "2025-02-30"}); errs.FieldOf(err) != "revoked_on" {
			t.Errorf("bad date: %v", err)
		}
		stored, err := db.GetRecord(ctx, a.ID)
		if err != nil || stored.Withdrawal != want || stored.Version != 2 {
			t.Errorf("stored: %+v %v", stored, err)
		}
	})
}

func TestObjectionAndRepair(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		svc, clk := recordService(t, db, shanghai("2026-02-01 10:00"))
		c := account.With(ctx, samrAPI)
		res, err := svc.Ingest(c, penaltyInput("OR-1", "罚款", "2", "2026-01-05"))
		if err != nil {
			t.Fatal(err)
		}
		id := res.ID
		desk := account.With(ctx, otherD) // any department may receive an objection
		r, err := svc.FileObjection(desk, id, "处罚对象有误，本公司未销售该商品")
		if err != nil {
			t.Fatal(err)
		}
		if !r.Disputed || r.Objection.Status != record.ObjectionFiled || r.Objection.Due != "2026-02-21" || !record.InPublicView(r, clk.Now()) {
			t.Errorf("objection: %+v disputed %v", r.Objection, r.Disputed)
		}
		pubList, _ := svc.ListBySubject(account.With(ctx, account.Public("", "")), r.SubjectID, "", true)
		if len(pubList) != 1 || !pubList[0].Disputed {
			t.Errorf("public view does not show the record as disputed: %+v", pubList)
		}
		if _, err := svc.FileObjection(desk, id, "again"); !errs.Is(err, errs.Conflict) {
			t.Errorf("second pending objection: %v", err)
		}
		if _, err := svc.AnswerObjection(desk, id, false, "x"); !errs.Is(err, errs.Forbidden) {
			t.Errorf("answer by a department that is not the source: %v", err)
		}
		clk.Set(shanghai("2026-02-25 10:00"))
		r, err = svc.AnswerObjection(c, id, false, "经核查，处罚对象无误")
		if err != nil {
			t.Fatal(err)
		}
		if r.Disputed || r.Objection.Status != record.ObjectionRejected || !r.Objection.Overdue {
			t.Errorf("answered: %+v disputed %v", r.Objection, r.Disputed)
		}

		// Repair: general tier, minimum 3 months from 2026-01-05.
		if _, err := svc.ApplyRepair(desk, id, "已履行处罚决定并完成整改，作出信用承诺"); errs.FieldOf(err) != "repair" {
			t.Errorf("repair before the minimum period: %v", err)
		}
		clk.Set(shanghai("2026-04-05 10:00"))
		if _, err := svc.ApplyRepair(desk, id, "已履行处罚决定并完成整改，作出信用承诺"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.DecideRepair(desk, id, true, "x"); !errs.Is(err, errs.Forbidden) {
			t.Errorf("decision by a department that is not the source: %v", err)
		}
		if _, err := svc.ReviewRepair(c, id, "材料齐全，进入审核"); err != nil {
			t.Fatal(err)
		}
		r, err = svc.DecideRepair(c, id, true, "符合修复条件，准予修复")
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != record.StatusRepaired || r.Repair.Status != record.RepairApproved || record.InPublicView(r, clk.Now()) || record.Counts(r) {
			t.Errorf("repaired: %+v", r)
		}
		if rs, _ := svc.ListBySubject(account.With(ctx, account.Public("", "")), r.SubjectID, "", true); len(rs) != 0 {
			t.Errorf("repaired record still public")
		}
		evs, err := db.ListEvents(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, e := range evs {
			types = append(types, string(e.Type))
		}
		if strings.Join(types, ",") != "create,objection,objection_answer,repair_apply,repair_review,repair_decide" {
			t.Errorf("events: %v", types)
		}
		if rep := verify(t, db); !rep.OK() || rep.Size != 6 {
			t.Errorf("verify: size %d %+v", rep.Size, rep.Mismatches)
		}
	})
}

func TestLedgerSameTransaction(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		svc, _ := recordService(t, db, shanghai("2026-05-12 10:00"))
		res, err := svc.Ingest(account.With(ctx, samrAPI), penaltyInput("T-1", "警告", "", "2026-05-10"))
		if err != nil {
			t.Fatal(err)
		}
		before := ledgerSize(t, db)
		// The event row is written after the ledger entry; a bad one (seq 0
		// violates its CHECK) must roll the ledger entry back with it.
		r := *res.Record
		r.ID, r.SourceRef = 0, "T-2"
		ev := &record.Event{Seq: 0, Type: record.EventCreate, At: time.Now()}
		if err := db.CreateRecord(ctx, &r, ev, nil); err == nil {
			t.Fatal("CreateRecord with a bad event succeeded")
		}
		if n := ledgerSize(t, db); n != before {
			t.Errorf("ledger size %d after a failed write, want %d", n, before)
		}
		if _, err := db.FindRecordByRef(ctx, record.TypePenalty, r.SourceKey, "T-2"); !errs.Is(err, errs.NotFound) {
			t.Errorf("record of the failed write: %v", err)
		}
		// A stale update appends nothing either.
		stale := *res.Record
		stale.Version = 5
		if err := db.UpdateRecord(ctx, &stale, &record.Event{Seq: 5, Type: record.EventCorrect, At: time.Now()}, nil); !errs.Is(err, errs.Conflict) {
			t.Errorf("stale update: %v", err)
		}
		if n := ledgerSize(t, db); n != before {
			t.Errorf("ledger size %d after a stale update, want %d", n, before)
		}
	})
}

func TestLedgerVerifyCatchesTampering(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		svc, _ := recordService(t, db, shanghai("2026-05-12 10:00"))
		c := account.With(ctx, samrAPI)
		var ids []int64
		for i := 1; i <= 3; i++ {
			res, err := svc.Ingest(c, penaltyInput(fmt.Sprintf("V-%d", i), "罚款", "0.5", "2026-05-10"))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, res.ID)
		}
		if _, err := svc.Withdraw(c, ids[0], record.WithdrawInput{Reason: "撤销"}); err != nil {
			t.Fatal(err)
		}
		if rep := verify(t, db); !rep.OK() || rep.Size != 4 {
			t.Fatalf("clean verify: %+v", rep)
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.WriterDB().ExecContext(ctx, db.Dialect().Rebind(q), args...); err != nil {
				t.Fatal(err)
			}
		}
		mismatchFor := func(rep *ledger.Report) map[int64]bool {
			m := map[int64]bool{}
			for _, mm := range rep.Mismatches {
				m[mm.ObjectID] = true
			}
			return m
		}
		// A direct UPDATE of a records row (the fine of record 2).
		exec("UPDATE records SET fields = REPLACE(fields, '\"fine\":\"0.5\"', '\"fine\":\"0.05\"') WHERE id = ?", ids[1])
		rep := verify(t, db)
		if rep.OK() || !mismatchFor(rep)[ids[1]] || len(mismatchFor(rep)) != 1 {
			t.Fatalf("edited records row not caught: %+v", rep.Mismatches)
		}
		if !strings.Contains(rep.Mismatches[0].Problem, fmt.Sprintf("记录 %d", ids[1])) {
			t.Errorf("problem does not name the record: %s", rep.Mismatches[0].Problem)
		}
		// A status flip of the withdrawn record back to active.
		exec("UPDATE records SET status = 'active' WHERE id = ?", ids[0])
		if m := mismatchFor(verify(t, db)); !m[ids[0]] {
			t.Errorf("status flip not caught: %v", m)
		}
		// A version bump with no event behind it.
		exec("UPDATE records SET version = version + 1 WHERE id = ?", ids[2])
		if m := mismatchFor(verify(t, db)); !m[ids[2]] {
			t.Errorf("version bump not caught: %v", m)
		}
		// An edit of an older event, after disabling the append-only trigger.
		if db.Engine() == sqlstore.EngineSQLite {
			exec("DROP TRIGGER record_events_no_update")
		} else {
			exec("ALTER TABLE record_events DISABLE TRIGGER record_events_append_only")
		}
		exec("UPDATE record_events SET content = REPLACE(content, '撤销', '变更') WHERE record_id = ? AND seq = 2", ids[0])
		exec("UPDATE record_events SET content = REPLACE(content, '\"fine\":\"0.5\"', '\"fine\":\"5\"') WHERE record_id = ? AND seq = 1", ids[2])
		rep = verify(t, db)
		if m := mismatchFor(rep); !m[ids[0]] || !m[ids[1]] || !m[ids[2]] {
			t.Errorf("edited events not caught: %+v", rep.Mismatches)
		}
	})
}

func TestChangeFeed(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		svc, _ := recordService(t, db, shanghai("2026-05-12 10:00"))
		c := account.With(ctx, samrAPI)
		a, _ := svc.Ingest(c, penaltyInput("F-1", "警告", "", "2026-05-10"))
		if _, err := svc.Ingest(account.With(ctx, account.Actor{AccountID: 70, Role: account.RoleAgency, Name: "某支付"}), record.Input{Type: record.TypePaymentFraud, Fields: map[string]string{
			"credit_code": "91130802MA0A1B2C2Y", "subject_name": "x", "report_no": "R1", "支付机构": "某支付", "案件类型": "欺诈", "金额（元）": "99", "发生日期": "2026-05-01"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Withdraw(c, a.ID, record.WithdrawInput{Reason: "撤销"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.Changes(account.With(ctx, account.Public("", "")), "", 10); !errs.Is(err, errs.Unauthorized) {
			t.Errorf("public change feed: %v", err)
		}
		if _, _, err := svc.Changes(c, "abc", 10); errs.FieldOf(err) != "after" {
			t.Errorf("bad cursor: %v", err)
		}
		page1, next, err := svc.Changes(c, "", 2)
		if err != nil || len(page1) != 2 || page1[0].Event.Type != record.EventCreate || page1[1].Record.Type != record.TypePaymentFraud {
			t.Fatalf("page 1: %+v %v", page1, err)
		}
		page2, next2, err := svc.Changes(c, next, 2)
		if err != nil || len(page2) != 1 || page2[0].Event.Type != record.EventWithdraw || page2[0].Record.Status != record.StatusWithdrawn {
			t.Fatalf("page 2: %+v %v", page2, err)
		}
		if end, next3, err := svc.Changes(c, next2, 2); err != nil || len(end) != 0 || next3 != next2 {
			t.Errorf("end of feed: %v %q %v", end, next3, err)
		}
		// Logistics firms may read the feed but not payment-fraud reports.
		lg, _, err := svc.Changes(account.With(ctx, account.Actor{AccountID: 60, Role: account.RoleLogistics, Name: "快递"}), "", 10)
		if err != nil || len(lg) != 2 {
			t.Errorf("logistics feed: %d %v", len(lg), err)
		}
	})
}

// Ingest throughput through record.Service.IngestBatch (validation,
// subject lookup, then per chunk of 500 one transaction with the record
// rows, event rows, one ledger append and the audit entries) next to the
// raw insert of the same record columns into a bare table, in the same
// run:
//
//	scripts/test.sh ./sqlstore -run '^$' -bench 'Record' -benchtime 5000x
//
// "known" records concern 5,000 subjects already in the registry (the
// usual case); "new" records each create a pending subject first (one
// extra transaction per record).
func BenchmarkRecordIngestBatch(b *testing.B) {
	storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
		svc, _ := recordService(b, db, shanghai("2026-05-12 10:00"))
		c := account.With(ctx, samrAPI)
		const known = 5000
		subs := make([]*registry.Subject, known)
		for i := range subs {
			subs[i] = org(b, 500000+i, registry.KindMerchant, fmt.Sprintf("承德市第%d号商贸有限公司", i), "130802")
			subs[i].Mark = fmt.Sprintf("ECM-BNCH-%04d-%04d", i/10000, i%10000)
		}
		if err := db.CreateSubjects(ctx, subs, nil); err != nil {
			b.Fatal(err)
		}
		seq := 0
		for _, mode := range []string{"known", "new"} {
			b.Run(mode, func(b *testing.B) {
				ins := make([]record.Input, b.N)
				for i := range ins {
					seq++
					ins[i] = penaltyInput(fmt.Sprintf("B-%d", seq), "罚款", "0.5", "2026-05-10")
					if mode == "known" {
						ins[i].Fields["CF_XDR_SHXYM"] = subs[i%known].CreditCode
					} else {
						ins[i].Fields["CF_XDR_SHXYM"] = uscc(b, 700000+seq)
					}
				}
				b.ResetTimer()
				for start := 0; start < b.N; start += record.MaxBatch {
					res, err := svc.IngestBatch(c, ins[start:min(start+record.MaxBatch, b.N)])
					if err != nil {
						b.Fatal(err)
					}
					for _, r := range res {
						if r.Err != nil || r.Status != record.ResultCreated {
							b.Fatal(r.Status, r.Err)
						}
					}
				}
				reportRows(b, b.N)
			})
		}
	})
}

func BenchmarkRecordRawInsertCeiling(b *testing.B) {
	storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
		svc, _ := recordService(b, db, shanghai("2026-05-12 10:00"))
		res, err := svc.Ingest(account.With(ctx, samrAPI), penaltyInput("B-0", "罚款", "0.5", "2026-05-10"))
		if err != nil {
			b.Fatal(err)
		}
		cols := []string{"type", "subject_id", "subject_code", "subject_id_index", "subject_id_masked", "subject_name", "source", "source_account",
			"source_key", "source_ref", "fields", "personal", "decision_date", "severity", "public_from", "public_until", "public", "status",
			"disputed", "withdrawal", "objection", "repair", "version", "created_at", "updated_at"}
		if _, err := db.WriterDB().ExecContext(ctx, "CREATE TABLE bench_records AS SELECT "+strings.Join(cols, ", ")+" FROM records WHERE 1 = 0"); err != nil {
			b.Fatal(err)
		}
		var src []any
		row := db.ReaderDB().QueryRowContext(ctx, db.Dialect().Rebind("SELECT "+strings.Join(cols, ", ")+" FROM records WHERE id = ?"), res.ID)
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := row.Scan(ptrs...); err != nil {
			b.Fatal(err)
		}
		src = vals
		ins := db.Dialect().Rebind("INSERT INTO bench_records (" + strings.Join(cols, ", ") + ") VALUES (?" + strings.Repeat(", ?", len(cols)-1) + ")")
		b.ResetTimer()
		for start := 0; start < b.N; start += 1000 {
			n := min(1000, b.N-start)
			err := db.WriteTx(ctx, "bench", func(tx *sql.Tx) error {
				st, err := tx.PrepareContext(ctx, ins)
				if err != nil {
					return err
				}
				defer st.Close()
				for i := 0; i < n; i++ {
					args := append([]any(nil), src...)
					args[9] = fmt.Sprintf("B-%d", start+i)
					if _, err := st.ExecContext(ctx, args...); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		reportRows(b, b.N)
	})
}

func TestIngestBatch(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		svc, _ := recordService(t, db, shanghai("2026-05-12 10:00"))
		c := account.With(ctx, samrAPI)
		a := penaltyInput("BA-1", "警告", "", "2026-05-10")
		bad := penaltyInput("BA-2", "警告", "", "2026-05-10")
		delete(bad.Fields, "CF_SY")
		b := penaltyInput("BA-3", "罚款", "0.5", "2026-05-10")
		b.Fields["CF_XDR_SHXYM"] = uscc(t, 333)
		bChanged := penaltyInput("BA-3", "罚款", "0.9", "2026-05-10")
		bChanged.Fields["CF_XDR_SHXYM"] = uscc(t, 333)
		res, err := svc.IngestBatch(c, []record.Input{a, bad, b, a, bChanged, {Type: "nonsense"}})
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			status string
			code   errs.Code
			field  string
		}{{record.ResultCreated, "", ""}, {record.ResultError, errs.Invalid, "fields.facts"}, {record.ResultCreated, "", ""},
			{record.ResultUnchanged, "", ""}, {record.ResultError, errs.Conflict, "fields.doc_no"}, {record.ResultError, errs.Invalid, "type"}}
		for i, w := range want {
			r := res[i]
			if r.Line != i+1 || r.Status != w.status || errs.CodeOf(r.Err) != w.code || errs.FieldOf(r.Err) != w.field {
				t.Errorf("line %d: %s %v, want %s %s %s", i+1, r.Status, r.Err, w.status, w.code, w.field)
			}
		}
		if res[3].ID != res[0].ID || res[0].ID == 0 || res[2].ID == 0 {
			t.Errorf("ids: %d %d %d", res[0].ID, res[2].ID, res[3].ID)
		}
		if n := ledgerSize(t, db); n != 2 {
			t.Errorf("ledger size %d, want 2", n)
		}
		if _, err := svc.IngestBatch(c, make([]record.Input, record.MaxBatch+1)); !errs.Is(err, errs.TooLarge) {
			t.Errorf("oversized batch: %v", err)
		}
		if rep := verify(t, db); !rep.OK() {
			t.Errorf("verify: %+v", rep.Mismatches)
		}
	})
}

// File import (CSV in GB18030 → imports.Run → IngestBatch), rows/s, for
// the subjects of BenchmarkRecordIngestBatch's "known" case.
func BenchmarkRecordFileImport(b *testing.B) {
	storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
		svc, _ := recordService(b, db, shanghai("2026-05-12 10:00"))
		const known = 5000
		subs := make([]*registry.Subject, known)
		for i := range subs {
			subs[i] = org(b, 600000+i, registry.KindMerchant, fmt.Sprintf("承德市第%d号网店有限公司", i), "130802")
			subs[i].Mark = fmt.Sprintf("ECM-FILE-%04d-%04d", i/10000, i%10000)
		}
		if err := db.CreateSubjects(ctx, subs, nil); err != nil {
			b.Fatal(err)
		}
		var sb strings.Builder
		sb.WriteString("行政相对人名称,统一社会信用代码,行政处罚决定书文号,违法行为类型,违法事实,处罚依据,处罚类别,处罚内容,罚款金额（万元）,处罚决定日期,处罚机关\r\n")
		for i := 0; i < b.N; i++ {
			fmt.Fprintf(&sb, "%s,%s,承双市监罚〔2026〕%d号,虚假宣传,网店宣传无依据,《反不正当竞争法》第二十条,罚款,罚款0.5万元,0.5,2026/5/10,承德市双桥区市场监督管理局\r\n",
				subs[i%known].Name, subs[i%known].CreditCode, i)
		}
		data, err := simplifiedchineseEncode(sb.String())
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		rd, err := imports.Open(strings.NewReader(data), "penalty.csv", record.TypePenalty)
		if err != nil {
			b.Fatal(err)
		}
		rep, err := imports.Run(account.With(ctx, samr), rd, svc, imports.Options{})
		if err != nil || rep.Created != b.N {
			b.Fatalf("%+v %v", rep, err)
		}
		reportRows(b, b.N)
	})
}

func simplifiedchineseEncode(s string) (string, error) {
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	return string(b), err
}

func TestExportRoundTrip(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		svc, _ := recordService(t, db, shanghai("2026-01-10 09:00"))
		importFile(t, svc, samr, "penalty_gb18030.csv", record.TypePenalty)
		importFile(t, svc, samr, "licence_utf8bom.csv", record.TypeLicence)
		tests := []struct {
			typ       record.Type
			opt       imports.ExportOptions
			file      string
			rows      int
			unchanged int // persons' masked ID numbers cannot be re-imported
			header    string
		}{
			{record.TypePenalty, imports.ExportOptions{Format: "csv", Codes: true}, "p.csv", 6, 6, "CF_XDR_MC"},
			{record.TypePenalty, imports.ExportOptions{Format: "xlsx"}, "p.xlsx", 6, 6, ""},
			{record.TypeLicence, imports.ExportOptions{Format: "csv"}, "l.csv", 4, 3, "行政相对人名称"},
			{record.TypeLicence, imports.ExportOptions{Format: "xlsx", Codes: true}, "l.xlsx", 4, 3, ""},
		}
		for _, tt := range tests {
			rs, err := db.ListRecords(ctx, record.Filter{Type: tt.typ, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var buf strings.Builder
			ex, err := imports.NewExporter(&buf, tt.typ, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if err := ex.Write(r); err != nil {
					t.Fatal(err)
				}
			}
			if err := ex.Close(); err != nil {
				t.Fatal(err)
			}
			if tt.header != "" && !strings.HasPrefix(buf.String(), "\ufeff"+tt.header+",") {
				t.Errorf("%s: header %.80q", tt.file, buf.String())
			}
			rd, err := imports.Open(strings.NewReader(buf.String()), tt.file, tt.typ)
			if err != nil {
				t.Fatalf("%s: %v", tt.file, err)
			}
			rep, err := imports.Run(account.With(ctx, samr), rd, svc, imports.Options{})
			rd.Close()
			if err != nil {
				t.Fatal(err)
			}
			if rep.Rows != tt.rows || rep.Unchanged != tt.unchanged || rep.Created != 0 || rep.Failed != tt.rows-tt.unchanged {
				t.Errorf("%s: re-import %+v", tt.file, rep)
			}
		}
	})
}
