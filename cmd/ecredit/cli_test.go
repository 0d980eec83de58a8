package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/app"
	"ecredit/code"
	"ecredit/registry"
)

// runCLI runs the command in-process.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	c := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return c, out.String(), errb.String()
}

// keyRE is a key alone on its line (as account create prints it);
// anyKeyRE is a key anywhere (as in the credentials file).
var (
	keyRE    = regexp.MustCompile(`(?m)^ek_[a-z0-9]{8}_[a-z0-9]{32}$`)
	anyKeyRE = regexp.MustCompile(`\bek_[a-z0-9]{8}_[a-z0-9]{32}\b`)
)

func TestUsage(t *testing.T) {
	t.Setenv("ECREDIT_DATA", "")
	t.Setenv("ECREDIT_DB", "")
	tests := []struct {
		args     []string
		code     int
		out, err string // substrings
	}{
		{nil, 2, "", "用法 (usage)"},
		{[]string{"help"}, 0, "子命令 (subcommands)", ""},
		{[]string{"--help"}, 0, "serve", ""},
		{[]string{"frobnicate"}, 2, "", "未知的子命令「frobnicate」"},
		{[]string{"serve", "-h"}, 0, "--demo", ""},
		{[]string{"serve", "-h"}, 0, "ECREDIT_DATA", ""},
		{[]string{"help", "account"}, 0, "create", ""},
		{[]string{"help", "demo"}, 0, "--subjects", ""},
		{[]string{"help"}, 0, "import   导入信用记录文件", ""},
		{[]string{"help", "import"}, 0, "--type", ""},
		{[]string{"import", "-h"}, 0, "GB18030", ""},
		{[]string{"help", "nope"}, 2, "", "未知的子命令"},
		{[]string{"serve", "--no-such-flag"}, 2, "", "flag provided but not defined"},
		{[]string{"serve", "extra"}, 2, "", "多余的参数"},
		{[]string{"serve", "-h"}, 0, "ECREDIT_TRACE_WARM", ""},
		{[]string{"serve", "--trace-warm", "soon"}, 2, "", "--trace-warm「soon」无效"},
		{[]string{"serve", "--trace-warm", "10ms"}, 2, "", "at least 1s"},
		{[]string{"account"}, 2, "", "create|list"},
		{[]string{"account", "frob"}, 2, "", "未知的账户操作"},
		{[]string{"account", "create", "-h"}, 0, "--password-stdin", ""},
		{[]string{"migrate", "-h"}, 0, "迁移", ""},
		{[]string{"version"}, 0, "sqlite  3.", ""},
	}
	for _, tt := range tests {
		c, out, errOut := runCLI(t, "", tt.args...)
		if c != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(errOut, tt.err) {
			t.Errorf("ecredit %q = %d\nstdout: %s\nstderr: %s\nwant %d, stdout ∋ %q, stderr ∋ %q", tt.args, c, out, errOut, tt.code, tt.out, tt.err)
		}
	}
}

func TestAccountCommands(t *testing.T) {
	t.Setenv("ECREDIT_DB", "")
	t.Setenv("ECREDIT_PII_KEY", "")
	t.Setenv("ECREDIT_PII_KEY_FILE", "")
	data := t.TempDir()
	t.Setenv("ECREDIT_DATA", data) // the environment names the directory

	// The demo city gives the platforms to bind to.
	c, out, errOut := runCLI(t, "", "demo", "--subjects", "60", "--seed", "5")
	if c != 0 || !strings.Contains(out, "demo-credentials.txt") || !strings.Contains(errOut, "60/60") {
		t.Fatalf("demo = %d\n%s\n%s", c, out, errOut)
	}
	st, err := os.Stat(filepath.Join(data, credentialsFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", st, err)
	}
	creds, _ := os.ReadFile(filepath.Join(data, credentialsFile))
	if n := len(anyKeyRE.FindAll(creds, -1)); n != 2+8+1 {
		t.Errorf("credentials hold %d keys, want 11:\n%s", n, creds)
	}
	if c, _, errOut := runCLI(t, "", "demo", "--subjects", "60"); c != 1 || !strings.Contains(errOut, "已有 60 个主体") {
		t.Errorf("second demo = %d, %s", c, errOut)
	}
	if c, _, errOut := runCLI(t, "", "demo", "--data", t.TempDir(), "--subjects", "7"); c != 1 || !strings.Contains(errOut, "[subjects]") {
		t.Errorf("demo --subjects 7 = %d, %s", c, errOut)
	}

	plat := "承德山庄优品网络科技有限公司"
	tests := []struct {
		name     string
		stdin    string
		args     []string
		code     int
		out, err string
		bound    bool
	}{
		{"platform bound by name", "", []string{"--role", "platform", "--name", plat}, 0, "role=platform", "", true},
		{"platform unknown name", "", []string{"--role", "platform", "--name", "淘宝"}, 0, "role=platform", "该平台无法登记店铺", false},
		{"logistics by name not found", "", []string{"--role", "logistics", "--name", "无名快递"}, 0, "role=logistics", "warning", false},
		{"bad role", "", []string{"--role", "king", "--name", "x"}, 1, "", "[role]", false},
		{"no name", "", []string{"--role", "admin"}, 1, "", "[name]", false},
		{"department needs department", "", []string{"--role", "department", "--name", "商务局"}, 1, "", "[department]", false},
		{"department with console login", "correct horse battery\n", []string{"--role", "department", "--name", "承德市商务局",
			"--department", "商务", "--login", "swj", "--password-stdin"}, 0, "login=swj", "", false},
		{"weak password", "short\n", []string{"--role", "admin", "--name", "a", "--login", "abc", "--password-stdin"}, 1, "", "[password]", false},
		{"subject of wrong kind", "", []string{"--role", "platform", "--name", "x", "--subject", "9"}, 1, "", "[subject]", false},
		{"subject unknown code", "", []string{"--role", "platform", "--name", "x", "--subject", "91130802MA0000000X"}, 1, "", "[subject]", false},
		{"admin", "", []string{"--role", "admin", "--name", "测试管理员"}, 0, "role=admin", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, out, errOut := runCLI(t, tt.stdin, append([]string{"account", "create"}, tt.args...)...)
			if c != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(errOut, tt.err) {
				t.Fatalf("= %d\nstdout: %s\nstderr: %s", c, out, errOut)
			}
			if c == 0 && !keyRE.MatchString(out) {
				t.Errorf("no key printed: %s", out)
			}
			if c == 0 && strings.Contains(out, "subject=") != tt.bound {
				t.Errorf("bound = %v, want %v: %s", !tt.bound, tt.bound, out)
			}
		})
	}

	a, err := app.OpenStore(context.Background(), app.Config{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	ctx := account.With(context.Background(), account.System)
	accs, err := a.Accounts.ListAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*account.Account{}
	for _, acc := range accs {
		byName[acc.Name] = acc
	}
	platSub, err := a.Registry.ListSubjects(ctx, registry.Filter{Kind: registry.KindPlatform, Name: plat})
	if err != nil || len(platSub) != 1 {
		t.Fatalf("platform subject: %v %v", platSub, err)
	}
	a.Close()
	// The demo's own platform account and the one created above are both
	// bound to the platform subject.
	if byName[plat] == nil || byName[plat].SubjectID != platSub[0].ID || byName["山庄优品"].SubjectID != platSub[0].ID {
		t.Errorf("platform accounts %+v %+v", byName[plat], byName["山庄优品"])
	}
	taobao := byName["淘宝"]
	if taobao == nil || taobao.SubjectID != 0 {
		t.Fatalf("淘宝 account %+v", taobao)
	}
	id := func(n int64) string { return strconvI(n) }

	// bind, key, revoke, passwd, list
	steps := []struct {
		stdin    string
		args     []string
		code     int
		out, err string
	}{
		{"", []string{"account", "bind", "--account", id(taobao.ID), "--subject", platSub[0].CreditCode}, 0, "已绑定", ""},
		{"", []string{"account", "bind", "--account", id(taobao.ID), "--subject", "999999"}, 1, "", "不存在"},
		{"", []string{"account", "bind", "--account", id(byName["测试管理员"].ID), "--subject", id(platSub[0].ID)}, 1, "", "不绑定主体"},
		{"", []string{"account", "key", "--account", id(taobao.ID), "--label", "第二把"}, 0, "ek_", ""},
		{"", []string{"account", "key", "--account", "424242"}, 1, "", "错误"},
		{"", []string{"account", "key"}, 1, "", "[account]"},
		{"", []string{"account", "revoke", "--key", "1"}, 0, "已吊销", ""},
		{"", []string{"account", "revoke", "--key", "999"}, 1, "", "错误"},
		{"new password 123\n", []string{"account", "passwd", "--account", id(taobao.ID), "--login", "taobao", "--password-stdin"}, 0, "已设置", ""},
		{"", []string{"account", "passwd", "--account", id(taobao.ID)}, 1, "", "[password]"},
		{"", []string{"account", "passwd", "--account", id(taobao.ID), "--password-file", filepath.Join(data, "missing")}, 1, "", "[password-file]"},
		{"", []string{"account", "list"}, 0, "已吊销 revoked", ""},
		{"", []string{"account", "list"}, 0, "taobao", ""},
	}
	for _, s := range steps {
		c, out, errOut := runCLI(t, s.stdin, s.args...)
		if c != s.code || !strings.Contains(out, s.out) || !strings.Contains(errOut, s.err) {
			t.Errorf("ecredit %q = %d\nstdout: %s\nstderr: %s", s.args, c, out, errOut)
		}
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("from a file 12345\n"), 0o600)
	if c, out, errOut := runCLI(t, "", "account", "passwd", "--account", id(taobao.ID), "--password-file", pwFile); c != 0 {
		t.Errorf("passwd from file = %d %s %s", c, out, errOut)
	}

	// The audit log names the CLI user.
	a, err = app.OpenStore(context.Background(), app.Config{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	acc, err := a.Store.GetAccount(ctx, taobao.ID)
	if err != nil || acc.SubjectID != platSub[0].ID || acc.Login != "taobao" || !account.VerifyPassword(acc.PasswordHash, "from a file 12345") {
		t.Errorf("淘宝 after bind/passwd: %+v %v", acc, err)
	}
}

func TestMigrateCommand(t *testing.T) {
	t.Setenv("ECREDIT_DB", "")
	data := t.TempDir()
	c, out, errOut := runCLI(t, "", "migrate", "--data", data)
	if c != 0 || !strings.Contains(out, "迁移版本 0 →") {
		t.Fatalf("migrate = %d %s %s", c, out, errOut)
	}
	c, out, _ = runCLI(t, "", "migrate", "--data", data)
	if c != 0 || strings.Contains(out, "迁移版本 0 →") {
		t.Errorf("second migrate = %d %s", c, out)
	}
	// Down to 19 (the data converted back) and up again.
	c, out, errOut = runCLI(t, "", "migrate", "--data", data, "--to", "19")
	if c != 0 || !strings.Contains(out, "→ 19，") {
		t.Errorf("migrate --to 19 = %d %s %s", c, out, errOut)
	}
	c, out, errOut = runCLI(t, "", "migrate", "--data", data)
	if c != 0 || !strings.Contains(out, "迁移版本 19 →") {
		t.Errorf("migrate after --to 19 = %d %s %s", c, out, errOut)
	}
	if c, _, errOut := runCLI(t, "", "migrate", "--data", data, "--to", "9999"); c != 1 || !strings.Contains(errOut, "迁移版本须在 0 到") {
		t.Errorf("migrate --to 9999 = %d %s", c, errOut)
	}
	if c, _, errOut := runCLI(t, "", "migrate", "--db", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"); c != 1 || !strings.Contains(errOut, "错误") {
		t.Errorf("migrate to a dead PostgreSQL = %d %s", c, errOut)
	}
}

func TestPostgresNeedsKey(t *testing.T) {
	base := os.Getenv("ECREDIT_TEST_PG")
	if base == "" {
		t.Skip("ECREDIT_TEST_PG not set")
	}
	t.Setenv("ECREDIT_PII_KEY", "")
	t.Setenv("ECREDIT_PII_KEY_FILE", "")
	dsn := createDatabase(t, base)
	c, _, errOut := runCLI(t, "", "account", "list", "--data", t.TempDir(), "--db", dsn)
	if c != 1 || !strings.Contains(errOut, "ECREDIT_PII_KEY") {
		t.Errorf("PostgreSQL without a key = %d %s", c, errOut)
	}
}

func TestMissingKeyWithData(t *testing.T) {
	t.Setenv("ECREDIT_DB", "")
	t.Setenv("ECREDIT_PII_KEY", "")
	t.Setenv("ECREDIT_PII_KEY_FILE", "")
	data := t.TempDir()
	if c, _, errOut := runCLI(t, "", "demo", "--data", data, "--subjects", "50"); c != 0 {
		t.Fatal(errOut)
	}
	os.Remove(filepath.Join(data, "pii.key"))
	c, _, errOut := runCLI(t, "", "account", "list", "--data", data)
	if c != 1 || !strings.Contains(errOut, "pii.key") {
		t.Errorf("missing key = %d %s", c, errOut)
	}
	if _, err := os.Stat(filepath.Join(data, "pii.key")); err == nil {
		t.Error("a fresh key was generated over existing data")
	}
}

func TestCodeExitStatus(t *testing.T) {
	valid, err := code.MakeUSCC('9', '1', "130802", "MA0CF1X2")
	if err != nil {
		t.Fatal(err)
	}
	bad := valid[:17] + string("0123456789"[(strings.IndexByte("0123456789", valid[17])+1)%10])
	if valid[17] < '0' || valid[17] > '9' {
		bad = valid[:17] + "0"
	}
	if c, out, _ := runCLI(t, "", "code", valid); c != 0 || !strings.Contains(out, "130802") {
		t.Errorf("code %s = %d %s", valid, c, out)
	}
	if c, _, _ := runCLI(t, "", "code", bad); c != 1 {
		t.Errorf("code %s = %d, want 1", bad, c)
	}
}

// TestWarmInterval: --trace-warm takes a duration of a second or more, or
// off (never).
func TestWarmInterval(t *testing.T) {
	for in, want := range map[string]time.Duration{"30s": 30 * time.Second, " 5m ": 5 * time.Minute, "OFF": -1, "1s": time.Second} {
		if got, err := warmInterval(in); err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "999ms", "-5s", "soon"} {
		if _, err := warmInterval(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}
