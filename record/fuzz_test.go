package record

import (
	"strings"
	"testing"
	"time"

	"ecredit/errs"
)

// FuzzCalendarLoad: a holiday file loads or fails with an error naming
// its line; a loaded calendar answers working-day arithmetic.
func FuzzCalendarLoad(f *testing.F) {
	for _, s := range []string{
		"2026-10-01..2026-10-08 holiday 国庆节\n2026-10-10 workday 调休\n",
		"# comment\n\n2026-02-16..2026-02-22 放假 春节\n2026-02-14 上班\n",
		"2026-01-01 holiday", "2026-01-01", "2026-01-01..2025-01-01 holiday x", "2026-01-01..2026-03-01 holiday long",
		"2026-13-45 holiday x", "2026-01-01 vacation x", "20260101..20260103 holiday 元旦", "２０２６年１月１日 holiday 元旦",
		"..  holiday", "2026-01-01....2026-01-02 holiday", "\xff holiday",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := NewCalendar()
		if err := c.Load(strings.NewReader(s)); err != nil {
			if !strings.Contains(err.Error(), "行") {
				t.Fatalf("error without its line: %v", err)
			}
			return
		}
		for d := range c.holidays {
			if !d.Valid() {
				t.Fatalf("invalid holiday date %q", d)
			}
		}
		start := Date("2026-01-01")
		got := c.AddWorkingDays(start, 3)
		if !got.Valid() || got <= start {
			t.Fatalf("AddWorkingDays(%s, 3) = %q", start, got)
		}
	})
}

// FuzzNormalizeDates: the date fields of a record normalise to valid
// calendar dates or are refused naming the field; nothing panics.
func FuzzNormalizeDates(f *testing.F) {
	for _, s := range [][3]string{
		{"2026-10-12", "2027-10-12", "2026-10-12"}, {"2026年10月12日", "长期", ""}, {"45293", "2099-12-31", "20261012"},
		{"2026/2/30", "0000-00-00", "-1"}, {"１９９９．１２．３１", "NaN", "9999999999"}, {"2026-10-12T08:00:00+08:00", "", "\x00"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	s := &Service{}
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, decision, until, from string) {
		for _, in := range []Input{
			{Type: TypePenalty, Fields: map[string]string{"行政相对人名称": "承德测试商贸有限公司", "CF_XDR_SHXYM": "91130802000010057F", "doc_no": "承罚〔2026〕1号",
				"违法行为类型": "虚假宣传", "违法事实": "无", "处罚依据": "法", "处罚类别": "罚款", "处罚内容": "罚款", "处罚决定日期": decision,
				"处罚机关": "承德市市场监督管理局", "处罚机关统一社会信用代码": "11130800000001257M", "公示截止期": until}},
			{Type: TypeLicence, Fields: map[string]string{"行政相对人名称": "承德测试商贸有限公司", "CF_XDR_SHXYM": "91130802000010057F",
				"decision_date": decision, "valid_from": from, "valid_until": until}},
		} {
			n, err := s.normalize(in, now)
			if err != nil {
				for _, e := range errs.All(err) {
					if e.Field == "" || e.Message == "" {
						t.Fatalf("%+v: error without its field: %v", in.Fields, e)
					}
				}
				continue
			}
			for _, fd := range n.def.Fields {
				if v := n.fields[fd.Key]; fd.Kind == KindDate && v != "" && !Date(v).Valid() {
					t.Fatalf("%s = %q: not a valid date", fd.Key, v)
				}
			}
			if n.decision != "" && !n.decision.Valid() {
				t.Fatalf("decision %q", n.decision)
			}
		}
	})
}
