package main

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"ecredit/account"
	"ecredit/app"
	"ecredit/demo"
)

// credentialsFile is where the demo accounts' secrets are written, in the
// data directory.
const credentialsFile = "demo-credentials.txt"

func runDemo(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("demo", "[--seed N] [--subjects N]",
		"向空数据库生成确定性的演示城市（承德），并创建演示账户，凭据写入数据目录的 demo-credentials.txt。\n"+
			"Generates the deterministic demo city of Chengde into an empty database and creates demo accounts, whose credentials go to\n"+
			"DATA/demo-credentials.txt. A database that already holds subjects is refused.",
		stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	seed := fs.Int64("seed", 1, "随机种子：相同种子生成相同城市 (seed: the same seed gives the same city)")
	n := fs.Int("subjects", demo.DefaultSubjects, fmt.Sprintf("主体数量 %d–%d (number of subjects)", demo.MinSubjects, demo.MaxSubjects))
	if c := parse(fs, args, stdout); c >= 0 {
		return c
	}
	a, ctx, err := openStore(ctx, &sf, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	defer a.Close()
	path, err := loadDemo(ctx, a, *seed, *n, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "演示账户凭据已写入 %s (demo credentials written)\n", path)
	return 0
}

// loadDemo generates the demo city, creates the demo accounts and writes
// their credentials; it returns the credentials file's path.
func loadDemo(ctx context.Context, a *app.App, seed int64, n int, progress io.Writer) (string, error) {
	sum, err := demo.Generate(ctx, a.Store, a.Keys, demo.Options{Seed: seed, Subjects: n, Progress: progress, Clock: a.Config.Clock})
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("演示数据生成被中断，数据库中只有部分演示数据；请删除数据目录后重试 (interrupted: the database holds part of the demo city; remove the data directory and retry): %w", err)
		}
		return "", err
	}
	return createDemoAccounts(ctx, a, sum)
}

func randomPassword() string {
	b := make([]byte, 10)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)) // 16 characters
}

// createDemoAccounts creates the credit office's administrator, a market
// regulation department account, one account per demo platform and one for
// the first logistics firm, and writes their secrets to the credentials
// file (0600) in the data directory.
func createDemoAccounts(ctx context.Context, a *app.App, sum demo.Summary) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "# ecredit 演示账户凭据 (demo credentials) — 种子 seed %d，%d 个主体\n", sum.Seed, sum.Counts.Total())
	fmt.Fprintf(&b, "# 仅用于演示，请勿用于生产 (for the demo only)\n\n")

	adminPW, deptPW := randomPassword(), randomPassword()
	admin, adminKey, err := a.Accounts.CreateAccount(ctx, account.AccountInput{Name: "市信用办管理员", Role: account.RoleAdmin, Login: "admin", Password: adminPW})
	if err != nil {
		return "", err
	}
	dept, deptKey, err := a.Accounts.CreateAccount(ctx, account.AccountInput{Name: "承德市市场监督管理局", Role: account.RoleDepartment,
		Department: "市场监管", Login: "scjg", Password: deptPW})
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "[控制台 console] 登录地址 /console/login\n")
	fmt.Fprintf(&b, "管理员 (admin, 账户 %d)\n  登录名 login: %s\n  密码 password: %s\n  API 密钥 key: %s\n\n", admin.ID, admin.Login, adminPW, adminKey)
	fmt.Fprintf(&b, "政府部门 (department %s, 账户 %d)\n  登录名 login: %s\n  密码 password: %s\n  API 密钥 key: %s\n\n", dept.Name, dept.ID, dept.Login, deptPW, deptKey)

	fmt.Fprintf(&b, "[电子商务平台 platforms] API 密钥 (X-API-Key / Authorization: Bearer)\n")
	for _, p := range sum.Platforms {
		acc, key, err := a.Accounts.CreateAccount(ctx, account.AccountInput{Name: p.Short, Role: account.RolePlatform, SubjectID: p.ID})
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%s（%s，主体 %d，账户 %d，店铺域名 *.%s）\n  %s\n", p.Short, p.Name, p.ID, acc.ID, p.Domain, key)
	}
	if len(sum.Logistics) > 0 {
		l := sum.Logistics[0]
		acc, key, err := a.Accounts.CreateAccount(ctx, account.AccountInput{Name: l.Name, Role: account.RoleLogistics, SubjectID: l.ID})
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "\n[寄递物流企业 logistics]\n%s（主体 %d，账户 %d）\n  %s\n", l.Name, l.ID, acc.ID, key)
	}
	dir := a.Config.DataDir
	if dir == "" {
		dir = "."
	}
	path := filepath.Join(dir, credentialsFile)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return "", err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return abs, nil
}
