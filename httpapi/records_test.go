package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"ecredit/account"
	"ecredit/imports"
	"ecredit/ledger"
	"ecredit/record"
	"ecredit/registry"
)

// penalty is a valid penalty input (Chinese headers, 2.0 codes and keys
// mixed, as sources send them).
func penalty(code, docNo, date string) record.Input {
	return record.Input{Type: record.TypePenalty, Fields: map[string]string{
		"行政相对人名称": "承德测试商贸有限公司" + docNo, "CF_XDR_SHXYM": code, "doc_no": docNo,
		"违法行为类型": "虚假宣传", "违法事实": "网店宣传无事实依据", "处罚依据": "《中华人民共和国反不正当竞争法》第二十条",
		"处罚类别": "罚款", "处罚内容": "罚款人民币2000元", "罚款金额（万元）": "0.2", "处罚决定日期": date,
		"处罚机关": "承德市双桥区市场监督管理局", "处罚机关统一社会信用代码": "11130800000001257M",
	}}
}

func (e *env) ingest(who string, in record.Input, status int) RecordResult {
	e.t.Helper()
	r := e.do("POST", "/api/v1/records", who, in, true)
	e.want(r, status)
	var res RecordResult
	r.json(e.t, &res)
	return res
}

func records(e *env) {
	t := e.t
	// the data dictionary, public
	r := e.do("GET", "/api/v1/records/types", "", nil, true)
	e.want(r, 200)
	var dict RecordTypes
	r.json(t, &dict)
	found := false
	for _, d := range dict.Types {
		if d.Type != record.TypePenalty {
			continue
		}
		for _, f := range d.Fields {
			if f.Key == "doc_no" && f.Code == "CF_WSH" && f.Name == "行政处罚决定书文号" && f.NameEn != "" && f.Required {
				found = true
			}
		}
	}
	if len(dict.Types) < 10 || !found {
		t.Errorf("dictionary lacks the penalty's doc_no: %.500s", r.body)
	}

	// a penalty about an unknown but valid code: created, pending subject
	code := mkUSCC(t, 300)
	res := e.ingest("dept", penalty(code, "承双市监罚〔2025〕901号", "2026-05-15"), 201)
	if res.Status != "created" || res.ID == 0 || res.Record == nil || res.Record.SubjectCode != code || res.Record.Severity == "" {
		t.Fatalf("created %+v", res)
	}
	id := res.ID
	r = e.do("GET", "/api/v1/subjects/by-code/"+code, "dept", nil, true)
	e.want(r, 200)
	if m := r.m(t); m["status"] != "pending" || m["id"] != float64(res.Record.SubjectID) {
		t.Errorf("pending subject %s", r.body)
	}
	// the same again: unchanged; changed without correct: conflict; with: corrected
	if again := e.ingest("dept", penalty(code, "承双市监罚〔2025〕901号", "2026-05-15"), 200); again.Status != "unchanged" || again.ID != id {
		t.Errorf("again %+v", again)
	}
	changed := penalty(code, "承双市监罚〔2025〕901号", "2026-05-15")
	changed.Fields["处罚内容"] = "罚款人民币3000元"
	e.want(e.do("POST", "/api/v1/records", "dept", changed, true), 409, "fields.doc_no")
	changed.Correct, changed.Reason = true, "金额笔误"
	if c := e.ingest("dept", changed, 200); c.Status != "corrected" || c.Record.Version != 2 {
		t.Errorf("corrected %+v", c)
	}
	// read it: anyone (in public view), events with read scope
	r = e.do("GET", fmt.Sprintf("/api/v1/records/%d", id), "", nil, true)
	e.want(r, 200)
	var v record.View
	r.json(t, &v)
	if v.PublicState != "public" || v.Fields["content"] != "罚款人民币3000元" || v.FieldLabels["category"] == "" {
		t.Errorf("public view %+v", v)
	}
	e.want(e.do("GET", fmt.Sprintf("/api/v1/records/%d/events", id), "", nil, true), 401)
	r = e.do("GET", fmt.Sprintf("/api/v1/records/%d/events", id), "agency", nil, true)
	e.want(r, 200)
	var evs Page[EventView]
	r.json(t, &evs)
	if len(evs.Items) != 2 || evs.Items[0].Type != record.EventCreate || evs.Items[1].Type != record.EventCorrect || evs.Items[1].Reason != "金额笔误" {
		t.Errorf("events %s", r.body)
	}

	// objection: disputed, then rejected
	e.want(e.do("POST", fmt.Sprintf("/api/v1/records/%d/objections", id), "", ObjectionInput{Reason: "x"}, true), 401)
	e.want(e.do("POST", fmt.Sprintf("/api/v1/records/%d/objections", id), "logistics", ObjectionInput{Reason: "x"}, true), 403)
	r = e.do("POST", fmt.Sprintf("/api/v1/records/%d/objections", id), "admin", ObjectionInput{Reason: "当事人称已整改"}, true)
	e.want(r, 200)
	r.json(t, &v)
	if !v.Disputed || v.Objection == nil || v.Objection.Status != record.ObjectionFiled || v.Objection.Due == "" {
		t.Errorf("objection %s", r.body)
	}
	e.want(e.do("POST", fmt.Sprintf("/api/v1/records/%d/objections", id), "admin", ObjectionInput{Reason: "again"}, true), 409, "objection")
	e.want(e.do("POST", fmt.Sprintf("/api/v1/records/%d/objections/answer", id), "agency", ObjectionAnswer{Answer: "x"}, true), 403)
	r = e.do("POST", fmt.Sprintf("/api/v1/records/%d/objections/answer", id), "dept", ObjectionAnswer{Upheld: false, Answer: "经核查，处罚事实清楚"}, true)
	e.want(r, 200)
	r.json(t, &v)
	if v.Disputed || v.Objection.Status != record.ObjectionRejected {
		t.Errorf("answered %s", r.body)
	}

	// credit repair: apply, review, approve → out of public view
	e.want(e.do("POST", fmt.Sprintf("/api/v1/records/%d/repair/decision", id), "dept", RepairDecision{Approve: true, Note: "x"}, true), 409, "repair")
	e.want(e.do("POST", fmt.Sprintf("/api/v1/records/%d/repair", id), "dept", RepairInput{Reason: ""}, true), 400, "reason")
	e.want(e.do("POST", fmt.Sprintf("/api/v1/records/%d/repair", id), "dept", RepairInput{Reason: "已整改并作出信用承诺"}, true), 200)
	r = e.do("POST", fmt.Sprintf("/api/v1/records/%d/repair/review", id), "dept", RepairReview{Note: "材料齐全"}, true)
	e.want(r, 200)
	r.json(t, &v)
	if v.RepairStatus != record.RepairReviewing {
		t.Errorf("review %s", r.body)
	}
	r = e.do("POST", fmt.Sprintf("/api/v1/records/%d/repair/decision", id), "dept", RepairDecision{Approve: true, Note: "准予修复"}, true)
	e.want(r, 200)
	r.json(t, &v)
	if v.Status != record.StatusRepaired || v.PublicState == "public" {
		t.Errorf("repaired %s", r.body)
	}
	e.want(e.do("GET", fmt.Sprintf("/api/v1/records/%d", id), "", nil, true), 404)
	e.want(e.do("GET", fmt.Sprintf("/api/v1/records/%d", id), "dept", nil, true), 200) // the archive

	// withdrawal (Art. 48) of another penalty of the same subject
	w := e.ingest("dept", penalty(code, "承双市监罚〔2025〕902号", "2026-04-09"), 201)
	e.want(e.do("POST", fmt.Sprintf("/api/v1/records/%d/withdraw", w.ID), "platA", record.WithdrawInput{Reason: "x"}, true), 403)
	e.want(e.do("POST", fmt.Sprintf("/api/v1/records/%d/withdraw", w.ID), "dept", record.WithdrawInput{Reason: "复议撤销", RevokedOn: "2025-02-30"}, true), 400, "revoked_on")
	r = e.do("POST", fmt.Sprintf("/api/v1/records/%d/withdraw", w.ID), "dept", record.WithdrawInput{Reason: "行政复议决定撤销", RevokedOn: "2026-05-27"}, true)
	e.want(r, 200)
	r.json(t, &v)
	if v.Status != record.StatusWithdrawn || v.Withdrawal == nil || v.Withdrawal.Due == "" || v.Withdrawal.Overdue {
		t.Errorf("withdrawn %s", r.body)
	}
	e.want(e.do("POST", fmt.Sprintf("/api/v1/records/%d/withdraw", w.ID), "dept", record.WithdrawInput{Reason: "again"}, true), 409, "status")

	// a third, live one; the subject's records: the public sees only it
	live := e.ingest("dept", penalty(code, "承双市监罚〔2025〕903号", "2026-05-20"), 201)
	r = e.do("GET", fmt.Sprintf("/api/v1/subjects/%d/records", res.Record.SubjectID), "", nil, true)
	e.want(r, 200)
	var page Page[record.View]
	r.json(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != live.ID {
		t.Errorf("public records of the subject: %s", r.body)
	}
	r = e.do("GET", fmt.Sprintf("/api/v1/subjects/%d/records?type=penalty", res.Record.SubjectID), "dept", nil, true)
	e.want(r, 200)
	r.json(t, &page)
	if len(page.Items) != 3 || page.Items[0].ID != live.ID {
		t.Errorf("all records of the subject: %s", r.body)
	}
	r = e.do("GET", fmt.Sprintf("/api/v1/subjects/%d/records?public=true", res.Record.SubjectID), "dept", nil, true)
	e.want(r, 200)
	r.json(t, &page)
	if len(page.Items) != 1 {
		t.Errorf("public=true: %s", r.body)
	}

	// platforms: commitments of their own shops' owners only, no penalties
	own := e.createSubject("platA", registry.SubjectInput{Kind: registry.KindMerchant, Name: "甲平台承诺商户", CreditCode: mkUSCC(t, 310)})
	e.createShop("platA", registry.ShopInput{OwnerID: own.ID, Name: "承诺店", URL: "https://promise.example.com"})
	commit := func(c, no string) record.Input {
		return record.Input{Type: record.TypeCommitment, Fields: map[string]string{"subject_name": "承诺商户", "credit_code": c,
			"commitment_no": no, "commitment_type": "主动公示型", "matter": "网络销售", "content": "依法诚信经营", "commitment_date": "2026-05-20"}}
	}
	if c := e.ingest("platA", commit(own.CreditCode, "CN-1"), 201); c.Record.SubjectID != own.ID {
		t.Errorf("commitment %+v", c)
	}
	e.want(e.do("POST", "/api/v1/records", "platB", commit(own.CreditCode, "CN-2"), true), 403, "fields.credit_code")
	e.want(e.do("POST", "/api/v1/records", "platA", commit(mkUSCC(t, 311), "CN-3"), true), 403, "fields.credit_code")
	e.want(e.do("POST", "/api/v1/records", "platA", penalty(own.CreditCode, "平台罚1号", "2026-01-05"), true), 403, "type")
	e.want(e.do("POST", "/api/v1/records", "", penalty(own.CreditCode, "公众罚1号", "2026-01-05"), true), 401)
	e.want(e.do("POST", "/api/v1/records", "logistics", penalty(own.CreditCode, "物流罚1号", "2026-01-05"), true), 403, "type")
}

func recordErrors(e *env) {
	t := e.t.(*testing.T)
	code := mkUSCC(t, 320)
	cases := []struct {
		name, method, path, who string
		body                    any
		status                  int
		field                   string
	}{
		{"unknown top-level field", "POST", "/api/v1/records", "dept", `{"type":"penalty","fields":{},"typo":1}`, 400, "typo"},
		{"fields not strings", "POST", "/api/v1/records", "dept", `{"type":"penalty","fields":{"fine":2}}`, 400, "fields"},
		{"unknown type", "POST", "/api/v1/records", "dept", record.Input{Type: "gossip", Fields: map[string]string{"x": "y"}}, 400, "type"},
		{"bad date", "POST", "/api/v1/records", "dept", penalty(code, "错1号", "2025-02-30"), 400, "fields.decision_date"},
		{"bad code", "POST", "/api/v1/records", "dept", penalty("91110000600037341A", "错2号", "2025-02-03"), 400, "fields.credit_code"},
		{"unknown column", "POST", "/api/v1/records", "dept", record.Input{Type: record.TypePenalty, Fields: map[string]string{"不存在的列": "x"}}, 400, "fields.不存在的列"},
		{"bad record id", "GET", "/api/v1/records/x", "dept", nil, 400, "id"},
		{"no such record", "GET", "/api/v1/records/999999", "dept", nil, 404, ""},
		{"unknown param", "GET", "/api/v1/records/1?x=1", "dept", nil, 400, "x"},
		{"subject records bad type", "GET", "/api/v1/subjects/1/records?type=gossip", "dept", nil, 400, "type"},
		{"subject records bad public", "GET", "/api/v1/subjects/1/records?public=maybe", "dept", nil, 400, "public"},
		{"withdraw without reason", "POST", "/api/v1/records/1/withdraw", "dept", `{"reason":" "}`, 400, "reason"},
		{"withdraw unknown field", "POST", "/api/v1/records/1/withdraw", "dept", `{"reason":"x","when":"today"}`, 400, "when"},
		{"answer wrong type", "POST", "/api/v1/records/1/objections/answer", "dept", `{"upheld":"yes","answer":"x"}`, 400, "upheld"},
		{"public batch", "POST", "/api/v1/records/batch", "", "{}\n", 401, ""},
		{"batch bad default type", "POST", "/api/v1/records/batch?type=gossip", "dept", "{}\n", 400, "type"},
		{"empty batch", "POST", "/api/v1/records/batch", "dept", "\n \n", 400, "body"},
		{"export public", "GET", "/api/v1/exports/penalty.csv", "", nil, 401, ""},
		{"export other type", "GET", "/api/v1/exports/commitment.csv", "dept", nil, 400, "type"},
		{"export bad format", "GET", "/api/v1/exports/penalty.pdf", "dept", nil, 400, "format"},
		{"export bad from", "GET", "/api/v1/exports/penalty.csv?from=2025-13-01", "dept", nil, 400, "from"},
		{"export to before from", "GET", "/api/v1/exports/penalty.csv?from=2025-05-01&to=2025-04-01", "dept", nil, 400, "to"},
		{"changes public", "GET", "/api/v1/changes", "", nil, 401, ""},
		{"changes bad cursor", "GET", "/api/v1/changes?after=abc", "dept", nil, 400, "after"},
		{"changes bad limit", "GET", "/api/v1/changes?limit=1001", "dept", nil, 400, "limit"},
		{"inclusion without index", "GET", "/api/v1/ledger/proof/inclusion", "", nil, 400, "index"},
		{"inclusion bad index", "GET", "/api/v1/ledger/proof/inclusion?index=-1", "", nil, 400, "index"},
		{"inclusion beyond", "GET", "/api/v1/ledger/proof/inclusion?index=99999999", "", nil, 400, "index"},
		{"inclusion size zero", "GET", "/api/v1/ledger/proof/inclusion?index=0&size=0", "", nil, 400, "size"},
		{"consistency old > new", "GET", "/api/v1/ledger/proof/consistency?old=3&new=2", "", nil, 400, "old"},
		{"consistency beyond", "GET", "/api/v1/ledger/proof/consistency?old=1&new=99999999", "", nil, 400, "new"},
		{"proof of no record", "GET", "/api/v1/records/999999/proof", "", nil, 404, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			var opts []reqOpt
			if strings.HasSuffix(strings.Split(c.path, "?")[0], "/batch") {
				opts = append(opts, header("Content-Type", "application/x-ndjson"))
			}
			e.want(e.do(c.method, c.path, c.who, c.body, false, opts...), c.status, c.field)
		})
	}
	e.t = t
}

func recordBatch(e *env) {
	t := e.t
	c1, c2 := mkUSCC(t, 330), mkUSCC(t, 331)
	line := func(in record.Input) string {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	noType := penalty(c2, "批罚4号", "2025-11-20")
	noType.Type = ""
	body := strings.Join([]string{
		line(penalty(c1, "批罚1号", "2025-11-03")),                           // 1 created
		`{"type":"penalty","fields":{"处罚决定日期":"2025-11-03"},"oops":true}`, // 2 unknown field
		``, // 3 blank
		line(penalty(c1, "批罚2号", "2025/13/03")), // 4 bad date
		`not json`, // 5
		line(penalty("91110000600037341A", "批罚3号", "2025-11-03")), // 6 bad check character
		line(noType), // 7 created (type from ?type=)
		line(penalty(c1, "批罚1号", "2025-11-03")), // 8 same ref again: unchanged
		line(penalty(c1, "批罚1号", "2025-12-03")), // 9 same ref, other content: conflict
	}, "\n") + "\n"
	r := e.do("POST", "/api/v1/records/batch?type=penalty", "dept", body, true, header("Content-Type", "application/x-ndjson"))
	e.want(r, 200)
	var br RecordBatchResult
	r.json(t, &br)
	type want struct {
		line          int
		status, field string
	}
	wants := []want{{1, "created", ""}, {2, "error", "oops"}, {4, "error", "fields.decision_date"}, {5, "error", ""},
		{6, "error", "fields.credit_code"}, {7, "created", ""}, {8, "unchanged", ""}, {9, "error", "fields.doc_no"}}
	if br.Created != 2 || br.Unchanged != 1 || br.Failed != 5 || len(br.Results) != len(wants) {
		t.Fatalf("batch %s", r.body)
	}
	for i, w := range wants {
		got := br.Results[i]
		if got.Line != w.line || got.Status != w.status {
			t.Errorf("result %d: %+v, want %+v", i, got, w)
		}
		if w.status == "error" && (got.Error == nil || got.Error.Field != w.field || got.Error.Message == "") {
			t.Errorf("line %d error %+v, want field %q", w.line, got.Error, w.field)
		}
		if w.status != "error" && got.ID == 0 {
			t.Errorf("line %d without id", w.line)
		}
	}
	if br.Results[0].ID != br.Results[6].ID {
		t.Errorf("unchanged line names record %d, not %d", br.Results[6].ID, br.Results[0].ID)
	}
	// the good lines are stored
	for _, c := range []string{c1, c2} {
		sub := e.do("GET", "/api/v1/subjects/by-code/"+c, "dept", nil, true)
		e.want(sub, 200)
		r = e.do("GET", fmt.Sprintf("/api/v1/subjects/%d/records", int64(sub.m(t)["id"].(float64))), "dept", nil, true)
		e.want(r, 200)
		if n := len(r.m(t)["items"].([]any)); n != 1 {
			t.Errorf("subject %s has %d records", c, n)
		}
	}
	// too many lines: refused whole
	var sb strings.Builder
	for i := 0; i <= MaxRecordBatchRows; i++ {
		sb.WriteString("{}\n")
	}
	e.want(e.do("POST", "/api/v1/records/batch", "dept", sb.String(), false, header("Content-Type", "application/x-ndjson")), 413)
	// a body over the limit: refused whole
	big := strings.Repeat("\n", MaxRecordBatchBody+10)
	e.want(e.do("POST", "/api/v1/records/batch", "dept", big, false, header("Content-Type", "application/x-ndjson")), 413)
}

func changeFeed(e *env) {
	t := e.t
	var all []ChangeView
	after, pages := "", 0
	for {
		path := "/api/v1/changes?limit=3"
		if after != "" {
			path += "&after=" + after
		}
		r := e.do("GET", path, "dept", nil, true)
		e.want(r, 200)
		var f ChangeFeed
		r.json(t, &f)
		pages++
		for _, c := range f.Items {
			if len(all) > 0 && c.Event.ID <= all[len(all)-1].Event.ID {
				t.Fatalf("feed not ascending: %d after %d", c.Event.ID, all[len(all)-1].Event.ID)
			}
			if c.Cursor != strconv.FormatInt(c.Event.ID, 10) || c.Record.ID != c.Event.RecordID || c.Record.Version != c.Event.Seq {
				t.Errorf("change %+v", c)
			}
			all = append(all, c)
		}
		if f.NextCursor == after || (after == "" && f.NextCursor == "0") {
			break
		}
		after = f.NextCursor
		if pages > 1000 {
			t.Fatal("feed does not end")
		}
	}
	r := e.do("GET", "/api/v1/changes?limit=1000", "dept", nil, true)
	e.want(r, 200)
	var one ChangeFeed
	r.json(t, &one)
	if len(all) < 10 || len(all) != len(one.Items) || pages < 4 {
		t.Errorf("paged %d changes in %d pages; one page has %d", len(all), pages, len(one.Items))
	}
	// a record's history shows up in order, with the state after each event
	var kinds []record.EventType
	for _, c := range all {
		if c.Record.SourceRef == "承双市监罚〔2025〕901号" {
			kinds = append(kinds, c.Event.Type)
		}
	}
	if fmt.Sprint(kinds) != "[create correct objection objection_answer repair_apply repair_review repair_decide]" {
		t.Errorf("history of 901: %v", kinds)
	}
}

func exportRoundTrip(e *env) {
	t := e.t
	for _, format := range []string{"csv", "xlsx"} {
		r := e.do("GET", "/api/v1/exports/penalty."+format, "dept", nil, true)
		e.want(r, 200)
		if cd := r.header.Get("Content-Disposition"); !strings.Contains(cd, "penalty-") || !strings.HasSuffix(cd, "."+format+`"`) {
			t.Errorf("Content-Disposition %q", cd)
		}
		if format == "csv" && (!bytes.HasPrefix(r.body, []byte("\ufeff行政相对人名称,")) || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv")) {
			t.Errorf("csv %.200s", r.body)
		}
		rd, err := imports.Open(bytes.NewReader(r.body), "penalty."+format, record.TypePenalty)
		if err != nil {
			t.Fatal(err)
		}
		ctx := account.With(context.Background(), account.Actor{AccountID: e.ids["dept"], Role: account.RoleDepartment, Name: "市场监管局", Department: "市场监管"})
		rep, err := imports.Run(ctx, rd, e.recs, imports.Options{})
		rd.Close()
		if err != nil {
			t.Fatal(err)
		}
		// active penalties: 903 and the batch's two (901 repaired, 902 withdrawn)
		if rep.Rows != 3 || rep.Unchanged != 3 || rep.Created != 0 || rep.Failed != 0 {
			t.Errorf("%s re-import: %+v", format, rep)
		}
	}
	// the decision-date filter
	r := e.do("GET", "/api/v1/exports/penalty.csv?from=2026-01-01&to=2026-12-31&codes=true", "dept", nil, true)
	e.want(r, 200)
	lines := strings.Split(strings.TrimSpace(string(r.body)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "CF_WSH") || !strings.Contains(lines[1], "承双市监罚〔2025〕903号") {
		t.Errorf("filtered export:\n%s", r.body)
	}
}

func ledgerProofs(e *env) {
	t := e.t
	r := e.do("GET", "/api/v1/ledger/key", "", nil, true)
	e.want(r, 200)
	v, err := note.NewVerifier(strings.TrimSpace(string(r.body)))
	if err != nil {
		t.Fatalf("key %q: %v", r.body, err)
	}
	r = e.do("GET", "/api/v1/ledger/checkpoint", "", nil, true)
	e.want(r, 200)
	tree, err := ledger.VerifyCheckpoint(v, r.body)
	if err != nil || tree.N < 10 {
		t.Fatalf("checkpoint %s: %v", r.body, err)
	}
	// every entry of a record, proven against that checkpoint
	r = e.do("GET", "/api/v1/changes?limit=1000", "dept", nil, true)
	var feed ChangeFeed
	r.json(t, &feed)
	var id int64
	for _, c := range feed.Items {
		if c.Record.SourceRef == "承双市监罚〔2025〕901号" {
			id = c.Record.ID
		}
	}
	r = e.do("GET", fmt.Sprintf("/api/v1/records/%d/proof", id), "dept", nil, true)
	e.want(r, 200)
	var rp RecordProof
	r.json(t, &rp)
	ct, err := ledger.VerifyCheckpoint(v, []byte(rp.Checkpoint))
	if err != nil || ct.N != rp.Size || ct != tree {
		t.Fatalf("record proof checkpoint: %v %+v %+v", err, ct, tree)
	}
	if len(rp.Entries) != 7 {
		t.Fatalf("%d entries for record %d, want 7", len(rp.Entries), id)
	}
	for _, p := range rp.Entries {
		if err := ledger.CheckInclusion(p.Proof, ct.N, ct.Hash, []byte(p.Leaf), p.Index); err != nil {
			t.Errorf("entry %d: %v", p.Index, err)
		}
		if !strings.Contains(p.Leaf, "\nrecord\n"+strconv.FormatInt(id, 10)+"\n") {
			t.Errorf("leaf %q is not of record %d", p.Leaf, id)
		}
		// a changed leaf fails
		if err := ledger.CheckInclusion(p.Proof, ct.N, ct.Hash, []byte(p.Leaf+"x"), p.Index); err == nil {
			t.Error("a tampered leaf verifies")
		}
	}
	// a repaired record is out of public view, and so is its proof
	e.want(e.do("GET", fmt.Sprintf("/api/v1/records/%d/proof", id), "", nil, true), 404)

	// inclusion of one entry against the current checkpoint, and at a size
	r = e.do("GET", "/api/v1/ledger/proof/inclusion?index=0", "", nil, true)
	e.want(r, 200)
	var ip ledger.InclusionProof
	r.json(t, &ip)
	if err := ip.Check(v); err != nil || ip.Checkpoint == "" || ip.Size != tree.N {
		t.Errorf("inclusion: %v %+v", err, ip)
	}
	r = e.do("GET", "/api/v1/ledger/proof/inclusion?index=2&size=5", "", nil, true)
	e.want(r, 200)
	ip = ledger.InclusionProof{}
	r.json(t, &ip)
	if err := ip.Check(v); err != nil || ip.Size != 5 || ip.Checkpoint != "" {
		t.Errorf("inclusion at 5: %v %+v", err, ip)
	}
	// consistency: the tree of 5 is a prefix of the current one
	r = e.do("GET", "/api/v1/ledger/proof/consistency?old=5", "", nil, true)
	e.want(r, 200)
	var cp ledger.ConsistencyProof
	r.json(t, &cp)
	if err := cp.Check(); err != nil || cp.New != tree.N || cp.NewRoot != tree.Hash || cp.OldRoot != ip.Root {
		t.Errorf("consistency: %v %+v", err, cp)
	}
	r = e.do("GET", fmt.Sprintf("/api/v1/ledger/proof/consistency?old=0&new=%d", tree.N), "", nil, true)
	e.want(r, 200)
	r.json(t, &cp)
	if err := cp.Check(); err != nil {
		t.Errorf("consistency from 0: %v", err)
	}
}
