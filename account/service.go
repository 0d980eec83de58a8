package account

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"ecredit/audit"
	"ecredit/clock"
	"ecredit/errs"
	"ecredit/pii"
)

// Service creates accounts and keys and turns credentials into Actors.
type Service struct {
	Store Store
	Audit audit.Store
	Clock clock.Clock
	// SessionTTL is how long a console session lasts (default 8 hours).
	SessionTTL time.Duration
	// MaxFailures consecutive failed sign-ins lock an account for LockFor
	// (defaults 5 and 15 minutes).
	MaxFailures int
	LockFor     time.Duration
	// Keys seals second-factor (TOTP) secrets and keys sign-in challenges;
	// without it TOTP enrolment is unavailable.
	Keys *pii.Keys
}

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return time.Now().UTC()
	}
	return s.Clock.Now()
}

// AccountInput creates an account.
type AccountInput struct {
	Name       string `json:"name"`
	Role       Role   `json:"role"`
	SubjectID  int64  `json:"subject_id,omitempty"`
	Department string `json:"department,omitempty"`
	Login      string `json:"login,omitempty"`
	Password   string `json:"password,omitempty"`
	// NoKey skips issuing an API key (console-only staff).
	NoKey bool `json:"no_key,omitempty"`
}

func checkLogin(l *errs.List, login string) {
	if login == "" {
		return
	}
	if len(login) < 3 || len(login) > 64 {
		l.Add("login", "登录名须为 3–64 个字符 (login must have 3–64 characters)")
		return
	}
	for _, c := range login {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			l.Add("login", "登录名只能包含小写字母、数字和 . _ - (login may use a-z 0-9 . _ -)")
			return
		}
	}
}

// CreateAccount creates an account and, unless in.NoKey, its first API key,
// which is returned in clear exactly once.
func (s *Service) CreateAccount(ctx context.Context, in AccountInput) (*Account, string, error) {
	const op = "account.CreateAccount"
	a := From(ctx)
	if err := a.Require(ScopeAccountsManage); err != nil {
		return nil, "", errs.Wrap(op, err)
	}
	var l errs.List
	name := strings.TrimSpace(in.Name)
	if name == "" {
		l.Add("name", "不能为空 (required)")
	} else if utf8.RuneCountInString(name) > 100 || !utf8.ValidString(name) {
		l.Add("name", "名称过长或不是有效文本 (too long or invalid)")
	}
	if !in.Role.Valid() {
		var rs []string
		for _, r := range Roles {
			rs = append(rs, string(r))
		}
		l.Add("role", "角色必须是 %s 之一 (unknown role %q)", strings.Join(rs, "、"), in.Role)
	}
	login := strings.ToLower(strings.TrimSpace(in.Login))
	checkLogin(&l, login)
	var hash string
	if in.Password != "" {
		if login == "" {
			l.Add("login", "设置密码时必须提供登录名 (a password needs a login)")
		}
		h, err := HashPassword(in.Password)
		if err != nil {
			l = append(l, errs.All(err)...)
		}
		hash = h
	} else if login != "" {
		l.Add("password", "提供登录名时必须设置密码 (a login needs a password)")
	}
	if in.Role == RoleDepartment && strings.TrimSpace(in.Department) == "" {
		l.Add("department", "政府部门账户必须填写部门名称 (department required)")
	}
	if in.NoKey && login == "" {
		l.Add("no_key", "既无 API 密钥也无登录名的账户无法使用 (an account needs a key or a login)")
	}
	if err := l.Err(); err != nil {
		return nil, "", errs.Wrap(op, err)
	}
	now := s.now()
	acc := &Account{Name: name, Role: in.Role, SubjectID: in.SubjectID, Department: strings.TrimSpace(in.Department),
		Login: login, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.CreateAccount(ctx, acc, a.Audit(audit.ActCreate, "account", string(acc.Role)+" "+acc.Name)); err != nil {
		return nil, "", errs.Wrap(op, err)
	}
	if in.NoKey {
		return acc, "", nil
	}
	key, _, err := s.CreateKey(ctx, acc.ID, "初始密钥")
	if err != nil {
		return nil, "", errs.Wrap(op, err)
	}
	return acc, key, nil
}

// CreateKey issues a new API key for an account; the key is returned once.
func (s *Service) CreateKey(ctx context.Context, accountID int64, label string) (string, *APIKey, error) {
	const op = "account.CreateKey"
	a := From(ctx)
	if err := a.Require(ScopeAccountsManage); err != nil {
		return "", nil, errs.Wrap(op, err)
	}
	acc, err := s.Store.GetAccount(ctx, accountID)
	if err != nil {
		return "", nil, errs.Wrap(op, err)
	}
	key, prefix, hash := NewKey()
	k := &APIKey{AccountID: acc.ID, Prefix: prefix, Hash: hash, Label: strings.TrimSpace(label), CreatedAt: s.now()}
	if err := s.Store.CreateAPIKey(ctx, k, a.Audit(audit.ActKeyCreate, "apikey", prefix+" for account:"+strconv.FormatInt(acc.ID, 10))); err != nil {
		return "", nil, errs.Wrap(op, err)
	}
	return key, k, nil
}

// RevokeKey revokes an API key at once.
func (s *Service) RevokeKey(ctx context.Context, keyID int64) error {
	const op = "account.RevokeKey"
	a := From(ctx)
	if err := a.Require(ScopeAccountsManage); err != nil {
		return errs.Wrap(op, err)
	}
	return errs.Wrap(op, s.Store.RevokeAPIKey(ctx, keyID, s.now(), a.Audit(audit.ActKeyRevoke, "apikey:"+strconv.FormatInt(keyID, 10), "")))
}

var errBadKey = &errs.Error{Code: errs.Unauthorized, Message: "API 密钥无效或已吊销 (invalid or revoked API key)"}

// Authenticate turns a presented API key into an Actor.
func (s *Service) Authenticate(ctx context.Context, key, remote, requestID string) (Actor, error) {
	const op = "account.Authenticate"
	prefix, err := KeyPrefix(key)
	if err != nil {
		return Actor{}, errs.Wrap(op, err)
	}
	k, err := s.Store.FindAPIKey(ctx, prefix)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return Actor{}, errs.Wrap(op, errBadKey)
		}
		return Actor{}, errs.Wrap(op, err)
	}
	if !KeyMatches(key, k.Hash) || !k.RevokedAt.IsZero() {
		return Actor{}, errs.Wrap(op, errBadKey)
	}
	acc, err := s.Store.GetAccount(ctx, k.AccountID)
	if err != nil {
		return Actor{}, errs.Wrap(op, err)
	}
	if acc.Disabled {
		return Actor{}, &errs.Error{Code: errs.Unauthorized, Op: op, Message: "账户已停用 (account disabled)"}
	}
	now := s.now()
	if now.Sub(k.LastUsedAt) > time.Minute {
		// best effort: a failed touch must not fail the request
		_ = s.Store.TouchAPIKey(ctx, k.ID, now)
	}
	return actorOf(acc, remote, requestID, "api"), nil
}

func actorOf(acc *Account, remote, requestID, via string) Actor {
	return Actor{AccountID: acc.ID, Name: acc.Name, Role: acc.Role, SubjectID: acc.SubjectID, Department: acc.Department,
		Remote: remote, RequestID: requestID, Via: via}
}

// dummyHash is verified against when a login does not exist, so that the
// time taken does not reveal which logins exist. It is computed on the
// first such login, not at start-up: an argon2id hash (64 MiB, three
// passes) in package initialisation delayed every start of the binary —
// the server's restart after a crash and every command-line call — by
// 0.2–2 s.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("ecredit-dummy-password")
	return h
})

var errBadLogin = &errs.Error{Code: errs.Unauthorized, Field: "password", Message: "登录名或密码错误 (wrong login or password)"}

// LoginResult is the outcome of a sign-in step: a session (Token for the
// cookie), or, for an account with a second factor, a Challenge to answer
// with a TOTP code through LoginTOTP.
type LoginResult struct {
	Token     string
	Session   *Session
	Challenge string
}

// Login checks a console sign-in. For an account without a second factor a
// correct password opens a session; for one with TOTP it returns a
// challenge, and the session opens only when LoginTOTP gets a valid code.
// Wrong passwords (and, in LoginTOTP, wrong codes) count towards the
// lockout; a correct password does not reset the count of an account with
// TOTP, so codes cannot be guessed between password entries.
func (s *Service) Login(ctx context.Context, login, password, remote string) (*LoginResult, error) {
	const op = "account.Login"
	login = strings.ToLower(strings.TrimSpace(login))
	now := s.now()
	acc, err := s.Store.FindAccountByLogin(ctx, login)
	if err != nil {
		if !errs.Is(err, errs.NotFound) {
			return nil, errs.Wrap(op, err)
		}
		VerifyPassword(dummyHash(), password)
		s.Audit.Append(ctx, &audit.Entry{Action: audit.ActLoginFailed, Object: "login", Detail: "unknown login", Remote: remote, Via: "console"})
		return nil, errs.Wrap(op, errBadLogin)
	}
	if err := lockedErr(acc, now); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if acc.Disabled || acc.PasswordHash == "" || !VerifyPassword(acc.PasswordHash, password) {
		return nil, errs.Wrap(op, s.failLogin(ctx, acc, now, remote, "wrong password", errBadLogin))
	}
	if acc.TOTPSecret != "" {
		ch, err := s.challenge(acc, now)
		if err != nil {
			return nil, errs.Wrap(op, err)
		}
		return &LoginResult{Challenge: ch}, nil
	}
	return s.openSession(ctx, op, acc, now, remote, "")
}

// lockedErr is the error of a locked account, nil when it is not locked.
func lockedErr(acc *Account, now time.Time) error {
	if !now.Before(acc.LockedUntil) {
		return nil
	}
	return &errs.Error{Code: errs.Unauthorized, Message: "连续登录失败次数过多，账户已锁定至 " +
		acc.LockedUntil.In(clock.Shanghai).Format("15:04") + " (account locked)"}
}

// failLogin counts a failed sign-in step (wrong password or code), locks
// the account after MaxFailures, audits it, and returns shown.
func (s *Service) failLogin(ctx context.Context, acc *Account, now time.Time, remote, detail string, shown error) error {
	acc.FailedLogins++
	max, lock := s.MaxFailures, s.LockFor
	if max <= 0 {
		max = 5
	}
	if lock <= 0 {
		lock = 15 * time.Minute
	}
	if acc.FailedLogins >= max {
		acc.LockedUntil = now.Add(lock)
		acc.FailedLogins = 0
		detail += "; locked"
	}
	acc.UpdatedAt = now
	ev := &audit.Entry{ActorID: acc.ID, ActorName: acc.Name, Role: string(acc.Role), Action: audit.ActLoginFailed,
		Object: "account:" + strconv.FormatInt(acc.ID, 10), Detail: detail, Remote: remote, Via: "console"}
	if err := s.Store.UpdateAccount(ctx, acc, ev); err != nil {
		return err
	}
	return shown
}

// openSession resets the failure count, audits the sign-in and opens a
// session.
func (s *Service) openSession(ctx context.Context, op string, acc *Account, now time.Time, remote, detail string) (*LoginResult, error) {
	acc.FailedLogins, acc.LockedUntil, acc.UpdatedAt = 0, time.Time{}, now
	ev := &audit.Entry{ActorID: acc.ID, ActorName: acc.Name, Role: string(acc.Role), Action: audit.ActLogin,
		Object: "account:" + strconv.FormatInt(acc.ID, 10), Detail: detail, Remote: remote, Via: "console"}
	if err := s.Store.UpdateAccount(ctx, acc, ev); err != nil {
		return nil, errs.Wrap(op, err)
	}
	token, hash := NewToken()
	csrf, _ := NewToken()
	ttl := s.SessionTTL
	if ttl <= 0 {
		ttl = 8 * time.Hour
	}
	sess := &Session{TokenHash: hash, AccountID: acc.ID, CSRF: csrf, CreatedAt: now, ExpiresAt: now.Add(ttl), Remote: remote}
	if err := s.Store.CreateSession(ctx, sess); err != nil {
		return nil, errs.Wrap(op, err)
	}
	return &LoginResult{Token: token, Session: sess}, nil
}

// SessionActor resolves a session token to its actor.
func (s *Service) SessionActor(ctx context.Context, token, remote, requestID string) (Actor, *Session, error) {
	const op = "account.SessionActor"
	bad := &errs.Error{Code: errs.Unauthorized, Op: op, Message: "会话已过期，请重新登录 (session expired)"}
	if token == "" {
		return Actor{}, nil, bad
	}
	sess, err := s.Store.GetSession(ctx, HashToken(token))
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return Actor{}, nil, bad
		}
		return Actor{}, nil, errs.Wrap(op, err)
	}
	if !s.now().Before(sess.ExpiresAt) {
		_ = s.Store.DeleteSession(ctx, sess.TokenHash)
		return Actor{}, nil, bad
	}
	acc, err := s.Store.GetAccount(ctx, sess.AccountID)
	if err != nil {
		return Actor{}, nil, errs.Wrap(op, err)
	}
	if acc.Disabled {
		return Actor{}, nil, bad
	}
	return actorOf(acc, remote, requestID, "console"), sess, nil
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, token string) error {
	a := From(ctx)
	if err := s.Store.DeleteSession(ctx, HashToken(token)); err != nil && !errs.Is(err, errs.NotFound) {
		return errs.Wrap("account.Logout", err)
	}
	return s.Audit.Append(ctx, a.Audit(audit.ActLogout, "account:"+strconv.FormatInt(a.AccountID, 10), ""))
}

// managed checks that the actor may manage accounts and returns the
// account id.
func (s *Service) managed(ctx context.Context, id int64) (Actor, *Account, error) {
	a := From(ctx)
	if err := a.Require(ScopeAccountsManage); err != nil {
		return a, nil, err
	}
	acc, err := s.Store.GetAccount(ctx, id)
	return a, acc, err
}

// SetPassword sets a console password (admin action, or the CLI).
func (s *Service) SetPassword(ctx context.Context, accountID int64, login, password string) error {
	const op = "account.SetPassword"
	a, acc, err := s.managed(ctx, accountID)
	if err != nil {
		return errs.Wrap(op, err)
	}
	var l errs.List
	if login != "" {
		login = strings.ToLower(strings.TrimSpace(login))
		checkLogin(&l, login)
		acc.Login = login
	}
	if acc.Login == "" {
		l.Add("login", "请提供登录名 (login required)")
	}
	h, err := HashPassword(password)
	if err != nil {
		l = append(l, errs.All(err)...)
	}
	if err := l.Err(); err != nil {
		return errs.Wrap(op, err)
	}
	acc.PasswordHash, acc.FailedLogins, acc.LockedUntil, acc.UpdatedAt = h, 0, time.Time{}, s.now()
	return errs.Wrap(op, s.Store.UpdateAccount(ctx, acc, a.Audit(audit.ActUpdate, "account:"+strconv.FormatInt(acc.ID, 10), "password")))
}

// ListAccounts lists every account (admin).
func (s *Service) ListAccounts(ctx context.Context) ([]*Account, error) {
	if err := From(ctx).Require(ScopeAccountsManage); err != nil {
		return nil, errs.Wrap("account.ListAccounts", err)
	}
	return s.Store.ListAccounts(ctx)
}

// AccountView is the JSON form of an account (never the password hash).
type AccountView struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	Role       Role      `json:"role"`
	RoleLabel  string    `json:"role_label"`
	SubjectID  int64     `json:"subject_id,omitempty"`
	Department string    `json:"department,omitempty"`
	Login      string    `json:"login,omitempty"`
	Disabled   bool      `json:"disabled"`
	CreatedAt  time.Time `json:"created_at"`
}

// View returns the JSON form.
func (a *Account) View() AccountView {
	return AccountView{ID: a.ID, Name: a.Name, Role: a.Role, RoleLabel: a.Role.Label(), SubjectID: a.SubjectID,
		Department: a.Department, Login: a.Login, Disabled: a.Disabled, CreatedAt: a.CreatedAt}
}
