package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/app"
)

func TestAccountTOTPCommand(t *testing.T) {
	t.Setenv("ECREDIT_DB", "")
	t.Setenv("ECREDIT_PII_KEY", "")
	t.Setenv("ECREDIT_PII_KEY_FILE", "")
	data := t.TempDir()
	t.Setenv("ECREDIT_DATA", data)

	// An administrator enrols a second factor in the console (here through
	// the service, as the console does).
	a, err := app.OpenStore(context.Background(), app.Config{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	sys := account.With(context.Background(), account.System)
	acc, _, err := a.Accounts.CreateAccount(sys, account.AccountInput{Name: "管理员", Role: account.RoleAdmin, Login: "root", Password: "correct-horse-9", NoKey: true})
	if err != nil {
		t.Fatal(err)
	}
	me := account.With(context.Background(), account.Actor{AccountID: acc.ID, Role: acc.Role, Name: acc.Name, Via: "console"})
	enr, err := a.Accounts.BeginTOTP(me)
	if err != nil {
		t.Fatal(err)
	}
	id := strconvI(acc.ID)
	a.Close()
	if c, out, _ := runCLI(t, "", "account", "totp", "--account", id); c != 0 || !strings.Contains(out, "绑定中") {
		t.Fatalf("pending: %d %s", c, out)
	}
	if a, err = app.OpenStore(context.Background(), app.Config{DataDir: data}); err != nil {
		t.Fatal(err)
	}
	key, _ := account.DecodeTOTPSecret(enr.Secret)
	if err := a.Accounts.ConfirmTOTP(me, account.TOTPCode(key, time.Now())); err != nil {
		t.Fatal(err)
	}
	a.Close()

	steps := []struct {
		args     []string
		code     int
		out, err string
	}{
		{[]string{"--account", id}, 0, "已启用双因素认证", ""},
		{[]string{"--account", id, "--reset"}, 0, "已重置", ""},
		{[]string{"--account", id}, 0, "未启用", ""},
		{[]string{"--reset"}, 1, "", "[account]"},
		{[]string{"--account", "4242", "--reset"}, 1, "", "不存在"},
		{[]string{"--account", id, "extra"}, 2, "", "多余的参数"},
	}
	for _, s := range steps {
		c, out, errOut := runCLI(t, "", append([]string{"account", "totp"}, s.args...)...)
		if c != s.code || !strings.Contains(out, s.out) || !strings.Contains(errOut, s.err) {
			t.Errorf("account totp %q = %d\nstdout: %s\nstderr: %s", s.args, c, out, errOut)
		}
	}
	// After the reset the password alone signs in again.
	if a, err = app.OpenStore(context.Background(), app.Config{DataDir: data}); err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	res, err := a.Accounts.Login(context.Background(), "root", "correct-horse-9", "127.0.0.1")
	if err != nil || res.Token == "" || res.Challenge != "" {
		t.Fatalf("login after reset: %+v %v", res, err)
	}
}
