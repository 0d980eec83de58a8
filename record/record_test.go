package record

import (
	"strings"
	"testing"
	"time"

	"ecredit/clock"
	"ecredit/errs"
	"ecredit/pii"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		in, want string
		bad      string // substring of the error
	}{
		{"2024-01-02", "2024-01-02", ""},
		{"2024/1/2", "2024-01-02", ""},
		{"2024.1.2", "2024-01-02", ""},
		{"2024-1-2", "2024-01-02", ""},
		{"2024年1月2日", "2024-01-02", ""},
		{"２０２４年１月２日", "2024-01-02", ""},
		{"20240102", "2024-01-02", ""},
		{" 2024-01-02 00:00:00 ", "2024-01-02", ""},
		{"2024-01-02T08:00:00+08:00", "2024-01-02", ""},
		{"2024/1/2 0:00", "2024-01-02", ""},
		{"45293", "2024-01-02", ""},
		{"45293.5", "2024-01-02", ""},
		{"61", "1900-03-01", ""},
		{"73050", "2099-12-31", ""},
		{"2024-02-29", "2024-02-29", ""},
		{"2023-02-29", "", "没有这一天"},
		{"2025-02-30", "", "没有这一天"},
		{"2024/13/01", "", "月份"},
		{"2024-00-10", "", "月份"},
		{"1899-12-31", "", "年份"},
		{"20241301", "", "月份"},
		{"60", "", "序号"},
		{"73051", "", "序号"},
		{"24-1-2", "", "四位"},
		{"2024-01", "", "格式"},
		{"明天", "", "格式"},
		{"", "", "为空"},
		{"2024--01-02", "", "格式"},
		{"-45293", "", "格式"},
	}
	for _, tt := range tests {
		got, err := ParseDate(tt.in)
		if tt.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tt.bad) {
				t.Errorf("ParseDate(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.bad)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("ParseDate(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2024-01-02", "2024年1月2日", "20240102", "45293", "2024/1/2 0:00", "２０２４.１.２", "9999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			if d != "" {
				t.Fatalf("error with a date: %q", d)
			}
			return
		}
		if !d.Valid() || d == "" || d < "1900-01-01" || d > "2100-12-31" {
			t.Fatalf("ParseDate(%q) = %q: not a valid date in range", s, d)
		}
		again, err := ParseDate(string(d))
		if err != nil || again != d {
			t.Fatalf("ParseDate(%q) = %q does not round-trip: %q, %v", s, d, again, err)
		}
	})
}

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in    string
		toWan bool
		want  string
		bad   bool
	}{
		{"1.5", true, "1.5", false},
		{"1,000.50", false, "1000.5", false},
		{"0.30", true, "0.3", false},
		{"3000元", true, "0.3", false},
		{"3000元", false, "3000", false},
		{"1.5万元", true, "1.5", false},
		{"2万", true, "2", false},
		{"１２．５", true, "12.5", false},
		{"1.5E-3", true, "0.0015", false},
		{"0", true, "0", false},
		{"-1", true, "", true},
		{"abc", true, "", true},
		{"1.2.3", true, "", true},
		{".", true, "", true},
		{"", true, "", true},
		{"1e400", true, "", true},
	}
	for _, tt := range tests {
		got, err := ParseDecimal(tt.in, tt.toWan)
		if tt.bad != (err != nil) || got != tt.want {
			t.Errorf("ParseDecimal(%q, %v) = %q, %v; want %q (bad=%v)", tt.in, tt.toWan, got, err, tt.want, tt.bad)
		}
	}
}

func TestCalendarWorkingDays(t *testing.T) {
	c := DefaultCalendar()
	tests := []struct {
		from Date
		n    int
		want Date
	}{
		{"2025-03-07", 3, "2025-03-12"}, // Friday → Wednesday over a weekend
		{"2025-03-10", 0, "2025-03-10"},
		{"2025-09-30", 3, "2025-10-11"}, // National Day 10-01..08 off, Saturday 10-11 worked
		{"2025-01-24", 3, "2025-02-05"}, // Sunday 01-26 worked, Spring Festival 01-28..02-04 off
		{"2026-02-12", 3, "2026-02-24"}, // Saturday 02-14 worked, Spring Festival 02-15..23 off
		{"2026-04-30", 3, "2026-05-08"}, // Labour Day 05-01..05 off
		{"2026-05-07", 2, "2026-05-09"}, // Saturday 05-09 worked
		{"2026-12-31", 1, "2027-01-01"}, // 2027 not loaded: only weekends
	}
	for _, tt := range tests {
		if got := c.AddWorkingDays(tt.from, tt.n); got != tt.want {
			t.Errorf("AddWorkingDays(%s, %d) = %s, want %s", tt.from, tt.n, got, tt.want)
		}
	}
	if n, ok := c.Holiday("2026-02-17"); !ok || n != "春节" {
		t.Errorf("Holiday(2026-02-17) = %q, %v", n, ok)
	}
	if c.IsWorkingDay("2025-10-01") || !c.IsWorkingDay("2025-09-28") || c.IsWorkingDay("2025-09-27") {
		t.Error("IsWorkingDay wrong around National Day 2025")
	}
	// A file adds a year and overrides.
	if err := c.Load(strings.NewReader("# 2027\n2027-01-01 holiday 元旦\n2025-10-08 workday 测试\n")); err != nil {
		t.Fatal(err)
	}
	if got := c.AddWorkingDays("2026-12-31", 1); got != "2027-01-04" {
		t.Errorf("after loading 2027: %s", got)
	}
	if !c.IsWorkingDay("2025-10-08") {
		t.Error("override not applied")
	}
	for _, bad := range []string{"2027-13-01 holiday x", "2027-01-01 party x", "2027-01-01", "2027-02-01..2027-01-01 holiday x", "2027-01-01..2027-03-01 holiday x"} {
		if err := NewCalendar().Load(strings.NewReader(bad)); err == nil {
			t.Errorf("Load(%q) accepted", bad)
		}
	}
}

func TestDeriveSeverity(t *testing.T) {
	p := DefaultPolicies().Latest()
	tests := []struct {
		cats, fine string
		person     bool
		want       Severity
	}{
		{"warning", "", true, SeverityLight},
		{"criticism", "", false, SeverityLight},
		{"warning;fine", "0.02", true, SeverityLight},
		{"fine", "0.3", false, SeverityLight},
		{"fine", "0.5", false, SeverityGeneral},
		{"fine", "0.03", true, SeverityGeneral},
		{"fine", "", false, SeverityGeneral}, // amount unknown
		{"fine;confiscate_income", "0.1", false, SeverityGeneral},
		{"revoke_licence", "", false, SeveritySevere},
		{"fine;suspend_business", "0.1", false, SeveritySevere},
		{"fine", "10", false, SeveritySevere},
		{"fine", "1", true, SeveritySevere},
		{"fine", "9.99", false, SeverityGeneral},
		{"other", "", false, SeverityGeneral},
	}
	for _, tt := range tests {
		if got := p.DeriveSeverity(tt.cats, tt.fine, tt.person); got != tt.want {
			t.Errorf("DeriveSeverity(%q, %q, person=%v) = %s, want %s", tt.cats, tt.fine, tt.person, got, tt.want)
		}
	}
}

func testService(t *testing.T) *Service {
	t.Helper()
	k, err := pii.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return &Service{Keys: k, Clock: clock.NewFake(time.Date(2026, 6, 1, 4, 0, 0, 0, time.UTC))}
}

func TestPublicity(t *testing.T) {
	s := testService(t)
	tests := []struct {
		name     string
		in       Input
		severity Severity
		public   bool
		from     Date
		until    Date
	}{
		{"general penalty: 1 year", Input{Type: TypePenalty, Fields: penaltyFields("fine", "0.5", "2026-05-10", "")}, SeverityGeneral, true, "2026-05-10", "2027-05-09"},
		{"light penalty: 3 months", Input{Type: TypePenalty, Fields: penaltyFields("warning", "", "2026-05-10", "")}, SeverityLight, true, "2026-05-10", "2026-08-09"},
		{"severe penalty: 3 years", Input{Type: TypePenalty, Fields: penaltyFields("revoke_licence", "", "2026-05-10", "")}, SeveritySevere, true, "2026-05-10", "2029-05-09"},
		{"公示截止期 wins", Input{Type: TypePenalty, Fields: penaltyFields("fine", "0.5", "2026-05-10", "2026-12-31")}, SeverityGeneral, true, "2026-05-10", "2026-12-31"},
		{"explicit severity wins", Input{Type: TypePenalty, Fields: with(penaltyFields("fine", "0.5", "2026-05-10", ""), "失信严重程度", "严重")}, SeveritySevere, true, "2026-05-10", "2029-05-09"},
		{"legacy 公示期限 years", Input{Type: TypePenalty, Fields: with(penaltyFields("warning", "", "2020-01-15", ""), "公示期限", "3")}, SeverityLight, true, "2020-01-15", "2023-01-14"},
		{"licence until valid_until", Input{Type: TypeLicence, Fields: licenceFields("2025-01-02", "2030-01-01")}, "", true, "2025-01-02", "2030-01-01"},
		{"licence 2099 = permanent", Input{Type: TypeLicence, Fields: licenceFields("2025-01-02", "2099-12-31")}, "", true, "2025-01-02", ""},
		{"tax grade B hidden", Input{Type: TypeTaxGrade, Fields: map[string]string{"统一社会信用代码": "91130802MA0A1B2C2Y", "主体名称": "甲", "纳税信用等级": "B", "评价年度": "2025", "发布日期": "2026-04-20"}}, "", false, "", ""},
		{"tax grade A public 1 year", Input{Type: TypeTaxGrade, Fields: map[string]string{"统一社会信用代码": "91130802MA0A1B2C2Y", "主体名称": "甲", "纳税信用等级": "A级", "评价年度": "2025年度", "发布日期": "2026-04-20"}}, "", true, "2026-04-20", "2027-04-19"},
		{"payment fraud never public", Input{Type: TypePaymentFraud, Fields: map[string]string{"credit_code": "91130802MA0A1B2C2Y", "subject_name": "甲", "report_no": "R1", "支付机构": "某支付", "案件类型": "欺诈", "金额（元）": "1200", "发生日期": "2026-05-01"}}, "", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := s.normalize(tt.in, s.now())
			if err != nil {
				t.Fatalf("normalize: %v", err)
			}
			r := &Record{Type: tt.in.Type, Fields: n.fields, DecisionDate: n.decision}
			s.derive(n, r)
			if r.Severity != tt.severity || r.Public != tt.public || r.PublicFrom != tt.from || r.PublicUntil != tt.until {
				t.Errorf("got severity %q public %v %q–%q; want %q %v %q–%q", r.Severity, r.Public, r.PublicFrom, r.PublicUntil, tt.severity, tt.public, tt.from, tt.until)
			}
		})
	}
}

func penaltyFields(cats, fine, date, until string) map[string]string {
	m := map[string]string{"CF_XDR_MC": "承德某公司", "CF_XDR_SHXYM": "91130802MA0A1B2C2Y", "CF_WSH": "W-" + date + cats, "CF_WFXW": "虚假宣传",
		"CF_SY": "事实", "CF_YJ": "依据", "CF_CFLB": cats, "CF_NR": "内容", "CF_JDRQ": date, "CF_CFJG": "承德市市场监督管理局"}
	if fine != "" {
		m["CF_NR_FK"] = fine
	}
	if until != "" {
		m["CF_GSJZQ"] = until
	}
	return m
}

func licenceFields(date, until string) map[string]string {
	return map[string]string{"XK_XDR_MC": "承德某公司", "XK_XDR_SHXYM": "91130802MA0A1B2C2Y", "XK_WSH": "L-" + date, "XK_NR": "食品经营",
		"XK_JDRQ": date, "XK_YXQZI": until, "XK_XKJG": "承德市行政审批局"}
}

func with(m map[string]string, k, v string) map[string]string {
	m[k] = v
	return m
}

func TestInPublicView(t *testing.T) {
	r := &Record{Public: true, Status: StatusActive, PublicFrom: "2026-05-10", PublicUntil: "2026-08-09"}
	at := func(s string) time.Time { // midnight and a minute before, in Shanghai
		tm, _ := time.ParseInLocation("2006-01-02 15:04", s, clock.Shanghai)
		return tm
	}
	tests := []struct {
		now  string
		want string
	}{
		{"2026-05-09 23:59", "scheduled"},
		{"2026-05-10 00:00", "public"},
		{"2026-08-09 23:59", "public"},
		{"2026-08-10 00:00", "expired"},
	}
	for _, tt := range tests {
		if got := PublicState(r, at(tt.now)); got != tt.want {
			t.Errorf("at %s: %s, want %s", tt.now, got, tt.want)
		}
		if InPublicView(r, at(tt.now)) != (tt.want == "public") {
			t.Errorf("at %s: InPublicView disagrees", tt.now)
		}
	}
	for _, st := range []Status{StatusWithdrawn, StatusRepaired} {
		c := *r
		c.Status = st
		if InPublicView(&c, at("2026-06-01 12:00")) || Counts(&c) {
			t.Errorf("%s record is public or counts", st)
		}
	}
	hidden := &Record{Status: StatusActive}
	if InPublicView(hidden, at("2026-06-01 12:00")) || PublicState(hidden, at("2026-06-01 12:00")) != "hidden" || !Counts(hidden) {
		t.Error("hidden record")
	}
	// Effective dating: a severe penalty decided in 2025 may be repaired
	// after 6 months (527号); one decided after 2026-04-01 after 1 year.
	ps := DefaultPolicies()
	if got := ps.RepairableFrom(&Record{Severity: SeveritySevere, DecisionDate: "2025-06-01"}); got != "2025-12-01" {
		t.Errorf("2025 severe repairable from %s", got)
	}
	if got := ps.RepairableFrom(&Record{Severity: SeveritySevere, DecisionDate: "2026-06-01"}); got != "2027-06-01" {
		t.Errorf("2026 severe repairable from %s", got)
	}
}

func TestNormalize(t *testing.T) {
	s := testService(t)
	id := "130802198503141238"
	tests := []struct {
		name  string
		in    Input
		field string // first error field; "" = ok
		check func(t *testing.T, n *normalized)
	}{
		{"2.0 codes, Chinese headers and keys mix", Input{Type: TypePenalty, Fields: with(penaltyFields("罚款、没收违法所得", "1,500元", "2026-05-10", ""), "category2", "")},
			"", func(t *testing.T, n *normalized) {
				if n.fields["category"] != "fine;confiscate_income" || n.fields["fine"] != "0.15" || n.ref != "W-2026-05-10罚款、没收违法所得" {
					t.Errorf("fields %v ref %q", n.fields, n.ref)
				}
			}},
		{"bad check character", Input{Type: TypePenalty, Fields: with(penaltyFields("warning", "", "2026-05-10", ""), "CF_XDR_SHXYM", "91130802MA0A1B2C2X")}, "fields.credit_code", nil},
		{"unknown category", Input{Type: TypePenalty, Fields: penaltyFields("训诫", "", "2026-05-10", "")}, "fields.category", nil},
		{"missing required", Input{Type: TypePenalty, Fields: with(penaltyFields("warning", "", "2026-05-10", ""), "CF_SY", " ")}, "fields.facts", nil},
		{"unknown field", Input{Type: TypePenalty, Fields: with(penaltyFields("warning", "", "2026-05-10", ""), "内部编号", "1")}, "fields.内部编号", nil},
		{"two values for one field", Input{Type: TypePenalty, Fields: with(penaltyFields("warning", "", "2026-05-10", ""), "行政处罚决定书文号", "other")}, "fields.doc_no", nil},
		{"future date", Input{Type: TypePenalty, Fields: penaltyFields("warning", "", "2026-06-10", "")}, "fields.decision_date", nil},
		{"publicity before decision", Input{Type: TypePenalty, Fields: penaltyFields("warning", "", "2026-05-10", "2026-05-01")}, "fields.publicity_until", nil},
		{"no code, no id", Input{Type: TypePenalty, Fields: with(penaltyFields("warning", "", "2026-05-10", ""), "CF_XDR_SHXYM", "")}, "fields.credit_code", nil},
		{"person: ID and name kept only as mask and index", Input{Type: TypePenalty, Fields: with(with(with(penaltyFields("warning", "", "2026-05-10", ""), "CF_XDR_SHXYM", ""), "CF_XDR_ZJHM", id), "CF_XDR_MC", "李秀英")},
			"", func(t *testing.T, n *normalized) {
				if !n.person || n.fields["id_number"] != "1308**********1238" || n.fields["subject_name"] != "李**" || len(n.idIndex) != 64 || n.personal["subject_name"] == "" {
					t.Errorf("person: %+v", n)
				}
				for k, v := range n.fields {
					if strings.Contains(v, id) || strings.Contains(v, "李秀英") {
						t.Errorf("clear personal data in field %s", k)
					}
				}
			}},
		{"bad ID number", Input{Type: TypePenalty, Fields: with(with(penaltyFields("warning", "", "2026-05-10", ""), "CF_XDR_SHXYM", ""), "CF_XDR_ZJHM", "130802198503141239")}, "fields.id_number", nil},
		{"passport accepted as text", Input{Type: TypePenalty, Fields: with(with(with(penaltyFields("warning", "", "2026-05-10", ""), "CF_XDR_SHXYM", ""), "CF_XDR_ZJHM", "E12345678"), "CF_XDR_ZJLX", "护照")}, "", nil},
		{"open type keeps custom fields", Input{Type: TypeOther, Fields: map[string]string{"credit_code": "91130802MA0A1B2C2Y", "主体名称": "甲", "记录编号": "O1", "信息名称": "消防检查", "来源部门": "承德市消防救援支队", "认定日期": "2026-05-01", "信息性质": "负面", "隐患数量": "3"}},
			"", func(t *testing.T, n *normalized) {
				if n.fields["x:隐患数量"] != "3" || n.fields["nature"] != "negative" {
					t.Errorf("fields %v", n.fields)
				}
			}},
		{"open type: stored custom field given back keeps its name", Input{Type: TypeOther, Fields: map[string]string{"credit_code": "91130802MA0A1B2C2Y", "主体名称": "甲", "记录编号": "O1", "信息名称": "消防检查", "来源部门": "承德市消防救援支队", "认定日期": "2026-05-01", "信息性质": "负面", "x:隐患数量": "3"}},
			"", func(t *testing.T, n *normalized) {
				if n.fields["x:隐患数量"] != "3" || n.fields["x:x:隐患数量"] != "" {
					t.Errorf("fields %v", n.fields)
				}
			}},
		{"open type needs source department", Input{Type: TypeOther, Fields: map[string]string{"credit_code": "91130802MA0A1B2C2Y", "主体名称": "甲", "记录编号": "O1", "信息名称": "x", "认定日期": "2026-05-01", "信息性质": "负面"}}, "fields.department", nil},
		{"commitment", Input{Type: TypeCommitment, Fields: map[string]string{"credit_code": "91130802MA0A1B2C2Y", "subject_name": "甲", "承诺书编号": "C1", "承诺类型": "告知承诺", "承诺事项": "食品经营许可", "承诺内容": "所提交材料真实有效", "承诺日期": "2026-05-01", "承诺期限": "2026-04-01"}}, "fields.term_until", nil},
		{"unknown type", Input{Type: "nonsense"}, "type", nil},
		{"source_ref must agree", Input{Type: TypeLicence, Fields: licenceFields("2025-01-02", ""), SourceRef: "other"}, "source_ref", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := s.normalize(tt.in, s.now())
			if tt.field == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if tt.check != nil {
					tt.check(t, n)
				}
				return
			}
			if err == nil || errs.FieldOf(err) != tt.field {
				t.Fatalf("err = %v, want field %q", err, tt.field)
			}
		})
	}
}

func TestCatalog(t *testing.T) {
	if len(Types()) != 10 {
		t.Errorf("%d types", len(Types()))
	}
	for _, d := range Types() {
		if d.Name == "" || d.NameEn == "" || len(d.Fields) == 0 || len(d.RefFields) == 0 {
			t.Errorf("%s incomplete", d.Type)
		}
		for _, f := range d.Fields {
			if f.Name == "" || f.NameEn == "" || f.Kind == "" || (f.Kind == KindEnum && len(f.Enum) == 0) {
				t.Errorf("%s.%s incomplete", d.Type, f.Key)
			}
		}
	}
	pen, _ := Lookup(TypePenalty)
	for h, want := range map[string]string{"CF_WSH": "doc_no", "cf_wsh": "doc_no", "行政处罚决定书文号": "doc_no", " 罚款金额（万元） ": "fine", "罚款金额(万元)": "fine",
		"处罚事由": "facts", "处罚结果": "content", "行政相对人代码_1(统一社会信用代码)": "credit_code", "行政相对人代码_1（统一社会信用代码）": "credit_code", "*处罚机关": "authority"} {
		if got, ok := pen.Resolve(h); !ok || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", h, got, ok, want)
		}
	}
	if _, ok := pen.Resolve("行政相对人代码_2"); ok {
		t.Error("ambiguous 1.0/2.0 header 行政相对人代码_2 must not resolve")
	}
}

func TestView(t *testing.T) {
	now := time.Date(2026, 6, 1, 4, 0, 0, 0, time.UTC)
	r := &Record{ID: 7, Type: TypePenalty, Fields: map[string]string{"category": "warning;fine", "fine": "0.2"}, Personal: map[string]string{"id_number": "abc"},
		Severity: SeverityLight, Public: true, Status: StatusActive, PublicFrom: "2026-05-10", PublicUntil: "2026-08-09", Disputed: true,
		Objection: Objection{Status: ObjectionFiled, Due: "2026-05-30", Reason: "张三说"}}
	v := r.View(now)
	if v.FieldLabels["category"] != "警告、罚款" || v.FieldLabels["fine"] != "0.2" || v.TypeName != "行政处罚" || v.SeverityLabel != "轻微" ||
		v.PublicState != "public" || v.Objection == nil || !v.Objection.Overdue || v.Withdrawal != nil || !v.Disputed {
		t.Errorf("view: %+v", v)
	}
}
