package e2e

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/clock"
)

func init() { register("staff-upload", flowStaffUpload) }

// The staff journey: the market regulator's department signs in, enrols a
// second factor (TOTP) and signs in again with a code, uploads a 双公示
// penalty file in which two rows are bad, sees the row errors, and finds the
// two good penalties on the subject's public profile.
func flowStaffUpload(t *testing.T, b *Tab) {
	c := b.City
	public, _ := pickOrg(t, c) // the public flow's subject is left alone
	s, _ := pickOrg(t, c, public.ID)

	// Password sign-in, then enrolment.
	signIn(b, c.DeptLogin, c.DeptPassword)
	b.WaitURL("/console/")
	b.Go("/console/totp")
	b.Click(`form[action="/console/totp/begin"] button`)
	secret := b.WaitText("#totp-secret", "")
	key, err := account.DecodeTOTPSecret(secret)
	if err != nil || len(key) == 0 {
		t.Fatalf("secret shown %q: %v", secret, err)
	}
	b.WaitText(".main", "otpauth://totp/")
	used := account.TOTPStep(time.Now())
	b.Type("#code", account.HOTP(key, uint64(used), account.TOTPDigits))
	b.Click(`form[action="/console/totp/confirm"] button`)
	b.WaitText(".notice", "双因素认证已启用")

	// Sign out; signing in now asks for a code after the password. The
	// code is that of the step after the one used (a code cannot be used
	// twice, and one step ahead is accepted).
	b.Click(`form[action="/console/logout"] button`)
	b.WaitURL("/console/login")
	signIn(b, c.DeptLogin, c.DeptPassword)
	// (the code step is the answer to the password's POST /console/login)
	b.WaitText(`form[action="/console/login/code"]`, "动态验证码")
	step := max(account.TOTPStep(time.Now()), used+1)
	b.Type("#code", account.HOTP(key, uint64(step), account.TOTPDigits))
	b.Click(`form[action="/console/login/code"] button`)
	b.WaitURL("/console/")
	b.WaitText(".user-box", "承德市市场监督管理局")

	// Upload a penalty file: two good rows, a bad credit code, a bad date.
	file := penaltyCSV(t, s)
	b.Go("/console/records/import")
	b.SetValue("#type", "penalty")
	b.Upload("#file", file)
	b.SetValue("#source", "承德市市场监督管理局")
	b.Click(`form[action="/console/records/import"] button[type=submit]`)
	b.WaitText("h1", "导入结果")
	for sel, want := range map[string]string{"#n-rows": "4", "#n-created": "2", "#n-failed": "2"} {
		if got := strings.TrimSpace(b.WaitText(sel, "")); got != want {
			t.Errorf("%s = %q, want %s", sel, got, want)
		}
	}
	errorsShown := b.Texts("table.errors tr.row-error")
	if len(errorsShown) != 2 || !strings.Contains(errorsShown[0], "统一社会信用代码") || !strings.Contains(errorsShown[1], "处罚决定日期") {
		t.Fatalf("row errors shown: %q", errorsShown)
	}

	// The public profile shows the two good penalties, not the bad rows.
	b.Go(s.Path())
	b.WaitText(".profile-head h1", s.Name)
	list := strings.Join(b.Texts(".record-list .record-item"), "\n")
	for _, ref := range []string{"承市监罚〔2026〕E2E-1号", "承市监罚〔2026〕E2E-2号"} {
		if !strings.Contains(list, ref) {
			t.Errorf("profile lacks %s:\n%s", ref, list)
		}
	}
	for _, ref := range []string{"E2E-3", "E2E-4"} {
		if strings.Contains(list, ref) {
			t.Errorf("profile shows the bad row %s", ref)
		}
	}
}

// signIn fills the sign-in form's first step.
func signIn(b *Tab, login, password string) {
	b.T.Helper()
	b.Go("/console/login")
	b.Type("#login", login)
	b.Type("#password", password)
	b.Click(`form[action="/console/login"] button`)
}

// penaltyCSV writes a 双公示 penalty file (Chinese headers, UTF-8) about s:
// rows 1–2 are good, row 3 has a credit code with a wrong check character,
// row 4 a date that does not exist.
func penaltyCSV(t *testing.T, s subjectRef) string {
	t.Helper()
	day := time.Now().In(clock.Shanghai).AddDate(0, 0, -10).Format("2006-01-02")
	badCode := s.CreditCode[:17] + "0"
	if s.CreditCode[17] == '0' {
		badCode = s.CreditCode[:17] + "1"
	}
	rows := [][]string{
		{"行政相对人名称", "行政相对人类别", "统一社会信用代码", "法定代表人", "行政处罚决定书文号", "违法行为类型", "违法事实", "处罚依据",
			"处罚类别", "处罚内容", "罚款金额（万元）", "处罚决定日期", "处罚机关", "数据来源单位"},
		{s.Name, "法人及非法人组织", s.CreditCode, s.LegalRep, "承市监罚〔2026〕E2E-1号", "虚假宣传", "当事人在网店宣传商品“全网销量第一”，无事实依据",
			"《中华人民共和国反不正当竞争法》第二十条第一款", "罚款", "罚款人民币5000元", "0.5", day, "承德市市场监督管理局", "承德市市场监督管理局"},
		{s.Name, "法人及非法人组织", s.CreditCode, s.LegalRep, "承市监罚〔2026〕E2E-2号", "未公示营业执照信息", "当事人网店首页未持续公示营业执照信息",
			"《中华人民共和国电子商务法》第七十六条", "警告", "警告", "", day, "承德市市场监督管理局", "承德市市场监督管理局"},
		{s.Name, "法人及非法人组织", badCode, s.LegalRep, "承市监罚〔2026〕E2E-3号", "价格违法", "当事人在网店标示虚假原价",
			"《中华人民共和国价格法》第四十二条", "罚款", "罚款0.8万元", "0.8", day, "承德市市场监督管理局", "承德市市场监督管理局"},
		{s.Name, "法人及非法人组织", s.CreditCode, s.LegalRep, "承市监罚〔2026〕E2E-4号", "未明码标价", "当事人网店商品未明码标价",
			"《明码标价和禁止价格欺诈规定》第二十条", "罚款", "罚款0.5万元", "0.5", "2026-02-30", "承德市市场监督管理局", "承德市市场监督管理局"},
	}
	path := filepath.Join(t.TempDir(), "penalties.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.WriteAll(rows)
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
