package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"ecredit/account"
	"ecredit/app"
	"ecredit/audit"
	"ecredit/errs"
	"ecredit/registry"
)

var accountSubs = []struct{ name, summary string }{
	{"create", "创建账户并显示其 API 密钥 (create an account and print its API key)"},
	{"list", "列出账户与密钥 (list accounts and their keys)"},
	{"key", "为账户签发新的 API 密钥 (issue a new API key)"},
	{"revoke", "吊销 API 密钥 (revoke an API key)"},
	{"passwd", "设置控制台登录名与密码 (set a console login and password)"},
	{"bind", "把账户绑定到登记主体 (bind an account to a registry subject)"},
	{"totp", "查看或重置账户的双因素认证 (show or reset an account's second factor)"},
}

func accountUsage(w io.Writer) {
	fmt.Fprint(w, "用法 (usage): ecredit account <create|list|key|revoke|passwd|bind|totp> [参数 flags]\n\n")
	for _, s := range accountSubs {
		fmt.Fprintf(w, "  %-7s %s\n", s.name, s.summary)
	}
	fmt.Fprint(w, "\n每个操作的参数见 ecredit account <操作> -h (flags: ecredit account <action> -h)\n")
}

func runAccount(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		accountUsage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		accountUsage(stdout)
		return 0
	case "create":
		return accountCreate(ctx, args[1:], stdin, stdout, stderr)
	case "list":
		return accountList(ctx, args[1:], stdout, stderr)
	case "key":
		return accountKey(ctx, args[1:], stdout, stderr)
	case "revoke":
		return accountRevoke(ctx, args[1:], stdout, stderr)
	case "passwd":
		return accountPasswd(ctx, args[1:], stdin, stdout, stderr)
	case "bind":
		return accountBind(ctx, args[1:], stdout, stderr)
	case "totp":
		return accountTOTP(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "未知的账户操作「%s」(unknown account action)\n\n", args[0])
	accountUsage(stderr)
	return 2
}

// passwordFlags read a password from a file or standard input, never from
// the command line (where ps and the shell history would see it).
type passwordFlags struct {
	file  string
	stdin bool
}

func (p *passwordFlags) register(fs interface {
	StringVar(*string, string, string, string)
	BoolVar(*bool, string, bool, string)
}) {
	fs.StringVar(&p.file, "password-file", "", "从文件读取控制台密码（第一行）(read the console password from a file, first line)")
	fs.BoolVar(&p.stdin, "password-stdin", false, "从标准输入读取控制台密码（第一行）(read the console password from standard input)")
}

func (p *passwordFlags) read(stdin io.Reader) (string, error) {
	if p.file != "" && p.stdin {
		return "", errs.Field("password-file", "--password-file 与 --password-stdin 只能选一个 (give one of them)")
	}
	var r io.Reader
	switch {
	case p.file != "":
		f, err := os.Open(p.file)
		if err != nil {
			return "", errs.Field("password-file", "无法读取密码文件：%v (cannot read the password file)", err)
		}
		defer f.Close()
		r = f
	case p.stdin:
		r = stdin
	default:
		return "", nil
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", errs.Field("password", "无法读取密码：%v (cannot read the password)", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errs.Field("password", "密码为空 (empty password)")
	}
	return line, nil
}

// subjectKind is the kind of subject an account of role acts for.
func subjectKind(r account.Role) (registry.Kind, bool) {
	switch r {
	case account.RolePlatform:
		return registry.KindPlatform, true
	case account.RoleLogistics:
		return registry.KindLogistics, true
	case account.RoleAgency:
		return registry.KindService, true
	}
	return "", false
}

// findSubject resolves --subject: a registry id (digits, shorter than a
// code) or a unified social credit code.
func findSubject(ctx context.Context, a *app.App, ref string) (*registry.Subject, error) {
	ref = strings.TrimSpace(ref)
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && len(ref) < 18 {
		s, err := a.Registry.GetSubject(ctx, id)
		if err != nil {
			if errs.Is(err, errs.NotFound) {
				return nil, errs.Field("subject", "主体 %d 不存在 (no such subject)", id)
			}
			return nil, err
		}
		return s, nil
	}
	s, err := a.Registry.FindByCode(ctx, ref)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, errs.Field("subject", "统一社会信用代码 %s 尚未登记 (no subject with this code)", ref)
		}
		if errs.Is(err, errs.Invalid) {
			return nil, errs.Field("subject", "%s", errs.MessageOf(err))
		}
		return nil, err
	}
	return s, nil
}

// findByName finds the one organisation of kind named exactly name.
func findByName(ctx context.Context, a *app.App, kind registry.Kind, name string) (*registry.Subject, error) {
	var found []*registry.Subject
	f := registry.Filter{Kind: kind, Name: name, Limit: 500}
	for {
		list, err := a.Registry.ListSubjects(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, s := range list {
			if s.Name == name {
				found = append(found, s)
			}
		}
		if len(list) < f.Limit {
			break
		}
		f.After = list[len(list)-1].ID
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return found[0], nil
	}
	return nil, errs.Field("subject", "有 %d 个名为「%s」的%s，请用 --subject 指定代码或编号 (several subjects have this name: use --subject)", len(found), name, kind.Label())
}

func checkBinding(role account.Role, s *registry.Subject) error {
	kind, ok := subjectKind(role)
	if !ok {
		return errs.Field("subject", "角色「%s」的账户不绑定主体 (accounts of this role are not bound to a subject)", role.Label())
	}
	if s.Kind != kind {
		return errs.Field("subject", "主体 %d「%s」是%s，角色「%s」须绑定%s (subject kind does not match the role)", s.ID, s.Name, s.Kind.Label(), role.Label(), kind.Label())
	}
	return nil
}

func accountCreate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("account create", "--role ROLE --name NAME [--subject CODE|ID] [--department D] [--login L (--password-file F|--password-stdin)]",
		"创建账户；除非 --no-key，打印只显示一次的 API 密钥。平台、物流、信用服务机构账户绑定同名主体或 --subject 指定的主体。\n"+
			"Creates an account and, unless --no-key, prints its API key (shown once). Platform, logistics and agency accounts are bound to\n"+
			"the organisation of that name, or to --subject.\n\n"+
			"角色 (roles): platform 电子商务平台, logistics 寄递物流企业, department 政府部门, agency 第三方信用服务机构, admin 市信用办",
		stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	role := fs.String("role", "", "角色 (role): platform, logistics, department, agency, admin")
	name := fs.String("name", "", "账户名称，如 淘宝、承德市市场监督管理局 (account name)")
	subject := fs.String("subject", "", "绑定的主体：统一社会信用代码或主体编号 (subject to bind: credit code or id)")
	dept := fs.String("department", "", "部门，政府部门账户必填，如 市场监管 (department, required for role department)")
	login := fs.String("login", "", "控制台登录名 (console login)")
	noKey := fs.Bool("no-key", false, "不签发 API 密钥，仅用于控制台登录 (no API key: console only)")
	var pw passwordFlags
	pw.register(fs)
	if c := parse(fs, args, stdout); c >= 0 {
		return c
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "多余的参数 (unexpected arguments): %s\n", strings.Join(fs.Args(), " "))
		return 2
	}
	password, err := pw.read(stdin)
	if err != nil {
		return fail(stderr, err)
	}
	a, ctx, err := openStore(ctx, &sf, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	defer a.Close()
	r := account.Role(strings.TrimSpace(*role))
	in := account.AccountInput{Name: *name, Role: r, Department: *dept, Login: *login, Password: password, NoKey: *noKey}
	var warning string
	kind, bindable := subjectKind(r)
	switch {
	case *subject != "":
		s, err := findSubject(ctx, a, *subject)
		if err != nil {
			return fail(stderr, err)
		}
		if err := checkBinding(r, s); err != nil {
			return fail(stderr, err)
		}
		in.SubjectID = s.ID
	case bindable && strings.TrimSpace(*name) != "":
		s, err := findByName(ctx, a, kind, strings.TrimSpace(*name))
		if err != nil {
			return fail(stderr, err)
		}
		if s != nil {
			in.SubjectID = s.ID
		} else {
			warning = fmt.Sprintf("警告：未找到名为「%s」的%s主体，账户未绑定主体；绑定之前%s。请先登记该主体，再运行 ecredit account bind。\n"+
				"(warning: no %s subject has this name; the account is not bound to a subject and %s until it is bound with `ecredit account bind`)\n",
				strings.TrimSpace(*name), kind.Label(), unboundEffect(r), kind, unboundEffectEn(r))
		}
	}
	acc, key, err := a.Accounts.CreateAccount(ctx, in)
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "账户已创建 (account created): id=%d role=%s name=%s", acc.ID, acc.Role, acc.Name)
	if acc.SubjectID != 0 {
		fmt.Fprintf(stdout, " subject=%d", acc.SubjectID)
	}
	if acc.Login != "" {
		fmt.Fprintf(stdout, " login=%s", acc.Login)
	}
	fmt.Fprintln(stdout)
	if key != "" {
		fmt.Fprintln(stdout, "API 密钥只显示这一次，请妥善保存 (the API key is shown only once):")
		fmt.Fprintln(stdout, key)
	}
	if warning != "" {
		fmt.Fprint(stderr, warning)
	}
	return 0
}

func unboundEffect(r account.Role) string {
	if r == account.RolePlatform {
		return "该平台无法登记店铺"
	}
	return "该账户不能代表任何主体操作"
}

func unboundEffectEn(r account.Role) string {
	if r == account.RolePlatform {
		return "cannot register shops"
	}
	return "cannot act for any subject"
}

func accountList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("account list", "", "列出全部账户及其 API 密钥（只显示前缀）(lists every account and its API keys, prefixes only)", stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	if c := parse(fs, args, stdout); c >= 0 {
		return c
	}
	a, ctx, err := openStore(ctx, &sf, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	defer a.Close()
	list, err := a.Accounts.ListAccounts(ctx)
	if err != nil {
		return fail(stderr, err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "编号 ID\t角色 ROLE\t名称 NAME\t主体 SUBJECT\t部门 DEPT\t登录名 LOGIN\t状态 STATUS")
	for _, acc := range list {
		status := "正常 active"
		if acc.Disabled {
			status = "停用 disabled"
		}
		sub := "-"
		if acc.SubjectID != 0 {
			sub = strconv.FormatInt(acc.SubjectID, 10)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", acc.ID, acc.Role, acc.Name, sub, dash(acc.Department), dash(acc.Login), status)
		keys, err := a.Store.ListAPIKeys(ctx, acc.ID)
		if err != nil {
			tw.Flush()
			return fail(stderr, err)
		}
		for _, k := range keys {
			state := "有效 active"
			if !k.RevokedAt.IsZero() {
				state = "已吊销 revoked " + k.RevokedAt.Format("2006-01-02")
			}
			fmt.Fprintf(tw, "\t  密钥 key %d\t%s…\t%s\t\t\t%s\n", k.ID, k.Prefix, dash(k.Label), state)
		}
	}
	tw.Flush()
	return 0
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func accountKey(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("account key", "--account ID [--label TEXT]", "为账户签发新的 API 密钥并打印（只显示一次）(issues a new API key and prints it once)", stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	id := fs.Int64("account", 0, "账户编号 (account id)")
	label := fs.String("label", "", "密钥说明 (key label)")
	if c := parse(fs, args, stdout); c >= 0 {
		return c
	}
	if *id <= 0 {
		return fail(stderr, errs.Field("account", "请用 --account 指定账户编号 (account id required)"))
	}
	a, ctx, err := openStore(ctx, &sf, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	defer a.Close()
	key, k, err := a.Accounts.CreateKey(ctx, *id, *label)
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "已签发密钥 (key issued): id=%d account=%d\n", k.ID, k.AccountID)
	fmt.Fprintln(stdout, "API 密钥只显示这一次，请妥善保存 (the API key is shown only once):")
	fmt.Fprintln(stdout, key)
	return 0
}

func accountRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("account revoke", "--key ID", "立即吊销一个 API 密钥（编号见 account list）(revokes an API key at once; ids in account list)", stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	id := fs.Int64("key", 0, "密钥编号 (key id)")
	if c := parse(fs, args, stdout); c >= 0 {
		return c
	}
	if *id <= 0 {
		return fail(stderr, errs.Field("key", "请用 --key 指定密钥编号 (key id required)"))
	}
	a, ctx, err := openStore(ctx, &sf, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	defer a.Close()
	if err := a.Accounts.RevokeKey(ctx, *id); err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "密钥 %d 已吊销 (key revoked)\n", *id)
	return 0
}

func accountPasswd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("account passwd", "--account ID [--login L] (--password-file F | --password-stdin)",
		"设置账户的控制台登录名和密码（至少 10 个字符）(sets the console login and password, at least 10 characters)", stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	id := fs.Int64("account", 0, "账户编号 (account id)")
	login := fs.String("login", "", "控制台登录名，留空则保留原登录名 (console login; empty keeps the current one)")
	var pw passwordFlags
	pw.register(fs)
	if c := parse(fs, args, stdout); c >= 0 {
		return c
	}
	if *id <= 0 {
		return fail(stderr, errs.Field("account", "请用 --account 指定账户编号 (account id required)"))
	}
	password, err := pw.read(stdin)
	if err != nil {
		return fail(stderr, err)
	}
	if password == "" {
		return fail(stderr, errs.Field("password", "请用 --password-file 或 --password-stdin 提供密码 (give the password in a file or on standard input)"))
	}
	a, ctx, err := openStore(ctx, &sf, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	defer a.Close()
	if err := a.Accounts.SetPassword(ctx, *id, *login, password); err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "账户 %d 的控制台密码已设置 (password set)\n", *id)
	return 0
}

func accountBind(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("account bind", "--account ID --subject CODE|ID",
		"把平台、物流或信用服务机构账户绑定到登记主体 (binds a platform, logistics or agency account to its registry subject)", stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	id := fs.Int64("account", 0, "账户编号 (account id)")
	subject := fs.String("subject", "", "主体：统一社会信用代码或主体编号 (subject: credit code or id)")
	if c := parse(fs, args, stdout); c >= 0 {
		return c
	}
	if *id <= 0 || *subject == "" {
		return fail(stderr, errs.Field("account", "请指定 --account 与 --subject (account and subject required)"))
	}
	a, ctx, err := openStore(ctx, &sf, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	defer a.Close()
	actor := account.From(ctx)
	if err := actor.Require(account.ScopeAccountsManage); err != nil {
		return fail(stderr, err)
	}
	acc, err := a.Store.GetAccount(ctx, *id)
	if err != nil {
		return fail(stderr, err)
	}
	s, err := findSubject(ctx, a, *subject)
	if err != nil {
		return fail(stderr, err)
	}
	if err := checkBinding(acc.Role, s); err != nil {
		return fail(stderr, err)
	}
	acc.SubjectID, acc.UpdatedAt = s.ID, a.Config.Clock.Now()
	ev := actor.Audit(audit.ActUpdate, "account:"+strconv.FormatInt(acc.ID, 10), "bind subject:"+strconv.FormatInt(s.ID, 10))
	if err := a.Store.UpdateAccount(ctx, acc, ev); err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "账户 %d 已绑定主体 %d「%s」(account bound)\n", acc.ID, s.ID, s.Name)
	return 0
}

func accountTOTP(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("account totp", "--account ID [--reset]",
		"显示账户的双因素认证（TOTP）状态；--reset 将其清除，用户下次仅凭密码登录后可在控制台重新绑定（仅限管理员）。\n"+
			"Shows whether an account has a second factor (TOTP); --reset removes it (and any unconfirmed enrolment), so that the user\n"+
			"signs in with the password alone and can enrol again in the console (administrators only).", stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	id := fs.Int64("account", 0, "账户编号 (account id)")
	reset := fs.Bool("reset", false, "清除双因素认证 (remove the second factor)")
	if c := parse(fs, args, stdout); c >= 0 {
		return c
	}
	if *id <= 0 {
		return fail(stderr, errs.Field("account", "请用 --account 指定账户编号 (account id required)"))
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "多余的参数 (unexpected arguments): %s\n", strings.Join(fs.Args(), " "))
		return 2
	}
	a, ctx, err := openStore(ctx, &sf, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	defer a.Close()
	if *reset {
		if err := a.Accounts.ResetTOTP(ctx, *id); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "账户 %d 的双因素认证已重置，下次登录只需密码 (second factor reset)\n", *id)
		return 0
	}
	if err := account.From(ctx).Require(account.ScopeAccountsManage); err != nil {
		return fail(stderr, err)
	}
	acc, err := a.Store.GetAccount(ctx, *id)
	if err != nil {
		return fail(stderr, err)
	}
	switch {
	case acc.TOTPSecret != "":
		fmt.Fprintf(stdout, "账户 %d：已启用双因素认证 (TOTP enabled)\n", acc.ID)
	case acc.TOTPPending != "":
		fmt.Fprintf(stdout, "账户 %d：绑定中，尚未确认 (enrolment started, not confirmed)\n", acc.ID)
	default:
		fmt.Fprintf(stdout, "账户 %d：未启用双因素认证 (no second factor)\n", acc.ID)
	}
	return 0
}
