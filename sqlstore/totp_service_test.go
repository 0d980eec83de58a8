package sqlstore_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/clock"
	"ecredit/errs"
	"ecredit/pii"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// The second factor (account/twofactor.go) against both engines: enrolment,
// sealed storage, sign-in with a code, replay, lockout, reset.
func TestTOTPService(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		clk := clock.NewFake(t0)
		db.SetClock(clk)
		keys := testKeys(t)
		svc := &account.Service{Store: db, Audit: db, Clock: clk, Keys: keys, MaxFailures: 5, LockFor: 15 * time.Minute}
		sys := account.With(ctx, account.System)
		const pw = "correct-horse-9"
		staff, _, err := svc.CreateAccount(sys, account.AccountInput{Name: "测试员", Role: account.RoleDepartment, Department: "市场监管",
			Login: "dept.totp", Password: pw, NoKey: true})
		if err != nil {
			t.Fatal(err)
		}
		me := account.With(ctx, account.Actor{AccountID: staff.ID, Name: staff.Name, Role: staff.Role, Via: "console"})

		// Without a second factor the password alone opens a session.
		res, err := svc.Login(ctx, "dept.totp", pw, "10.0.0.1")
		if err != nil || res.Token == "" || res.Challenge != "" {
			t.Fatalf("password-only login: %+v %v", res, err)
		}

		st, err := svc.TOTP(me)
		if err != nil || st.Enabled || st.Pending != nil || st.Login != "dept.totp" {
			t.Fatalf("state before enrolment: %+v %v", st, err)
		}
		if err := svc.ConfirmTOTP(me, "123456"); !errs.Is(err, errs.Invalid) {
			t.Fatalf("confirm without enrolment: %v", err)
		}
		enr, err := svc.BeginTOTP(me)
		if err != nil {
			t.Fatal(err)
		}
		key, err := account.DecodeTOTPSecret(enr.Secret)
		if err != nil || !strings.HasPrefix(enr.URI, "otpauth://totp/") || !strings.Contains(enr.URI, "secret="+enr.Secret) {
			t.Fatalf("enrolment %+v: %v", enr, err)
		}
		// Pending is stored sealed, never in clear, and shown again to its user.
		acc, _ := db.GetAccount(ctx, staff.ID)
		if acc.TOTPPending == "" || strings.Contains(acc.TOTPPending, enr.Secret) || acc.TOTPSecret != "" {
			t.Fatalf("stored pending %q secret %q", acc.TOTPPending, acc.TOTPSecret)
		}
		ct, _ := base64.StdEncoding.DecodeString(acc.TOTPPending)
		if strings.Contains(string(ct), enr.Secret) {
			t.Fatal("pending secret stored in clear")
		}
		if st, _ := svc.TOTP(me); st.Pending == nil || st.Pending.Secret != enr.Secret || st.Enabled {
			t.Fatalf("state while pending: %+v", st)
		}
		// Until confirmed, sign-in needs the password only.
		if res, err := svc.Login(ctx, "dept.totp", pw, "10.0.0.1"); err != nil || res.Challenge != "" {
			t.Fatalf("login while pending: %+v %v", res, err)
		}
		// A wrong code does not activate; the current one does.
		if err := svc.ConfirmTOTP(me, "12345"); !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != "code" {
			t.Fatalf("five-digit code: %v", err)
		}
		if err := svc.ConfirmTOTP(me, wrongCode(key, clk.Now())); !errs.Is(err, errs.Invalid) {
			t.Fatalf("wrong code: %v", err)
		}
		if err := svc.ConfirmTOTP(me, account.TOTPCode(key, clk.Now())); err != nil {
			t.Fatal(err)
		}
		acc, _ = db.GetAccount(ctx, staff.ID)
		if acc.TOTPSecret == "" || acc.TOTPPending != "" || acc.TOTPStep != account.TOTPStep(clk.Now()) {
			t.Fatalf("after confirm: secret %q pending %q step %d", acc.TOTPSecret, acc.TOTPPending, acc.TOTPStep)
		}
		if _, err := svc.BeginTOTP(me); !errs.Is(err, errs.Conflict) {
			t.Fatalf("second enrolment while active: %v", err)
		}

		// Now the password earns a challenge, not a session.
		res, err = svc.Login(ctx, "dept.totp", pw, "10.0.0.1")
		if err != nil || res.Challenge == "" || res.Token != "" || res.Session != nil {
			t.Fatalf("password step: %+v %v", res, err)
		}
		ch := res.Challenge
		// The confirming code cannot be used again in its window.
		if _, err := svc.LoginTOTP(ctx, ch, account.TOTPCode(key, clk.Now()), "10.0.0.1"); !errs.Is(err, errs.Unauthorized) || errs.FieldOf(err) != "code" {
			t.Fatalf("replayed confirm code: %v", err)
		}
		clk.Advance(30 * time.Second)
		code := account.TOTPCode(key, clk.Now())
		res, err = svc.LoginTOTP(ctx, ch, code, "10.0.0.1")
		if err != nil || res.Token == "" || res.Session == nil {
			t.Fatalf("code step: %+v %v", res, err)
		}
		if a, _, err := svc.SessionActor(ctx, res.Token, "10.0.0.1", "r1"); err != nil || a.AccountID != staff.ID {
			t.Fatalf("session: %+v %v", a, err)
		}
		// The same code, even with a fresh password step, is refused.
		res2, _ := svc.Login(ctx, "dept.totp", pw, "10.0.0.1")
		if _, err := svc.LoginTOTP(ctx, res2.Challenge, code, "10.0.0.1"); !errs.Is(err, errs.Unauthorized) {
			t.Fatalf("replayed sign-in code: %v", err)
		}
		// The store refuses a step that is not later, atomically.
		if err := db.UseTOTPStep(ctx, staff.ID, account.TOTPStep(clk.Now())); !errs.Is(err, errs.Conflict) {
			t.Fatalf("UseTOTPStep same step: %v", err)
		}
		if err := db.UseTOTPStep(ctx, 999999, 1); !errs.Is(err, errs.NotFound) {
			t.Fatalf("UseTOTPStep unknown account: %v", err)
		}

		// Tampered, foreign and expired challenges are refused.
		clk.Advance(30 * time.Second)
		next := account.TOTPCode(key, clk.Now())
		for name, bad := range map[string]string{
			"empty":    "",
			"garbage":  "not-a-challenge",
			"tampered": flipLast(res2.Challenge),
		} {
			if _, err := svc.LoginTOTP(ctx, bad, next, "10.0.0.1"); !errs.Is(err, errs.Unauthorized) || errs.FieldOf(err) != "password" {
				t.Errorf("%s challenge: %v", name, err)
			}
		}
		other := &account.Service{Store: db, Audit: db, Clock: clk, Keys: otherKeys(t)}
		if _, err := other.LoginTOTP(ctx, res2.Challenge, next, "10.0.0.1"); !errs.Is(err, errs.Unauthorized) {
			t.Errorf("challenge under another key: %v", err)
		}
		clk.Advance(account.ChallengeTTL)
		next = account.TOTPCode(key, clk.Now())
		if _, err := svc.LoginTOTP(ctx, res2.Challenge, next, "10.0.0.1"); !errs.Is(err, errs.Unauthorized) || errs.FieldOf(err) != "password" {
			t.Errorf("expired challenge: %v", err)
		}

		// A full sign-in resets the failure count (the replays above
		// counted as failures).
		r0, err := svc.Login(ctx, "dept.totp", pw, "10.0.0.2")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.LoginTOTP(ctx, r0.Challenge, next, "10.0.0.2"); err != nil {
			t.Fatal(err)
		}
		if acc, _ = db.GetAccount(ctx, staff.ID); acc.FailedLogins != 0 {
			t.Fatalf("failures after a sign-in: %d", acc.FailedLogins)
		}
		// Wrong codes count towards the lockout, and a correct password in
		// between does not reset the count.
		for i := range 4 {
			r, err := svc.Login(ctx, "dept.totp", pw, "10.0.0.2")
			if err != nil {
				t.Fatalf("password step %d: %v", i, err)
			}
			if _, err := svc.LoginTOTP(ctx, r.Challenge, wrongCode(key, clk.Now()), "10.0.0.2"); !errs.Is(err, errs.Unauthorized) {
				t.Fatalf("wrong code %d: %v", i, err)
			}
		}
		r, err := svc.Login(ctx, "dept.totp", pw, "10.0.0.2")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.LoginTOTP(ctx, r.Challenge, wrongCode(key, clk.Now()), "10.0.0.2"); !errs.Is(err, errs.Unauthorized) {
			t.Fatal(err)
		}
		acc, _ = db.GetAccount(ctx, staff.ID)
		if !clk.Now().Before(acc.LockedUntil) {
			t.Fatalf("not locked after 5 wrong codes: %+v", acc)
		}
		if _, err := svc.LoginTOTP(ctx, r.Challenge, account.TOTPCode(key, clk.Now()), "10.0.0.2"); err == nil || !strings.Contains(errs.MessageOf(err), "锁定") {
			t.Fatalf("right code while locked: %v", err)
		}
		if _, err := svc.Login(ctx, "dept.totp", pw, "10.0.0.2"); err == nil || !strings.Contains(errs.MessageOf(err), "锁定") {
			t.Fatalf("password while locked: %v", err)
		}
		list, _ := db.List(ctx, audit.Filter{Action: audit.ActLoginFailed})
		var codeFails int
		for _, e := range list {
			if strings.HasPrefix(e.Detail, "wrong totp code") {
				codeFails++
			}
		}
		if codeFails < 5 {
			t.Errorf("%d wrong-code failures audited, want ≥ 5", codeFails)
		}

		// Only an administrator resets; after it the password suffices.
		if err := svc.ResetTOTP(me, staff.ID); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("reset by the department itself: %v", err)
		}
		if err := svc.ResetTOTP(sys, staff.ID); err != nil {
			t.Fatal(err)
		}
		clk.Advance(16 * time.Minute)
		if res, err := svc.Login(ctx, "dept.totp", pw, "10.0.0.1"); err != nil || res.Token == "" {
			t.Fatalf("login after reset: %+v %v", res, err)
		}
		// An account without a console login has nothing to enrol.
		api, _, err := svc.CreateAccount(sys, account.AccountInput{Name: "接口账户", Role: account.RoleAgency})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.BeginTOTP(account.With(ctx, account.Actor{AccountID: api.ID, Role: api.Role})); !errs.Is(err, errs.Invalid) {
			t.Fatalf("enrol an API-only account: %v", err)
		}
		if _, err := svc.BeginTOTP(ctx); !errs.Is(err, errs.Unauthorized) {
			t.Fatalf("enrol as the public: %v", err)
		}
	})
}

// wrongCode is a 6-digit code valid for none of the steps around at.
func wrongCode(key []byte, at time.Time) string {
	bad := map[string]bool{}
	for d := -2; d <= 2; d++ {
		bad[account.TOTPCode(key, at.Add(time.Duration(d)*30*time.Second))] = true
	}
	for _, c := range []string{"000000", "111111", "222222", "333333", "444444", "555555"} {
		if !bad[c] {
			return c
		}
	}
	panic("unreachable")
}

// flipLast changes the last byte of a challenge (its MAC).
func flipLast(s string) string {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return s + "x"
	}
	b[len(b)-1] ^= 1
	return base64.RawURLEncoding.EncodeToString(b)
}

func otherKeys(tb testing.TB) *pii.Keys {
	tb.Helper()
	k, err := pii.New(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}
