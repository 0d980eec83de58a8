package account

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"time"

	"ecredit/audit"
	"ecredit/errs"
	"ecredit/pii"
)

// The second factor of console sign-in: TOTP (RFC 6238). A signed-in user
// enrols by generating a secret (BeginTOTP), adding it to an authenticator
// app from its otpauth:// URI or QR code, and confirming with a valid code
// (ConfirmTOTP); only then is it required at sign-in. Secrets are sealed
// with the PII key (Service.Keys), never stored in clear. An administrator
// resets a lost second factor (ResetTOTP, `ecredit account totp --reset`).

// totpKind is the associated data of sealed TOTP secrets.
const totpKind = "totp_secret"

// ChallengeTTL is how long the code step of a sign-in may follow its
// password step.
const ChallengeTTL = 5 * time.Minute

// TOTPEnrolment is a secret being enrolled, for the user to add to an
// authenticator app.
type TOTPEnrolment struct {
	Secret string // base32, for typing in
	URI    string // otpauth://totp/…, for the QR code
}

// TOTPState is an account's second factor as its user sees it.
type TOTPState struct {
	Login   string
	Enabled bool
	Pending *TOTPEnrolment // a started, unconfirmed enrolment; nil if none
}

func errNoKeys() error {
	return &errs.Error{Code: errs.Unavailable, Message: "未配置个人信息加密密钥，无法使用双因素认证 (no PII key: TOTP unavailable)"}
}

func (s *Service) sealSecret(secret string) (string, error) {
	if s.Keys == nil {
		return "", errNoKeys()
	}
	return base64.StdEncoding.EncodeToString(s.Keys.Seal(totpKind, secret).Cipher), nil
}

func (s *Service) openSecret(sealed string) ([]byte, string, error) {
	if s.Keys == nil {
		return nil, "", errNoKeys()
	}
	ct, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return nil, "", errs.E(errs.Internal, "account: sealed TOTP secret is not base64")
	}
	secret, err := s.Keys.Open(totpKind, pii.Sealed{Cipher: ct})
	if err != nil {
		return nil, "", errs.E(errs.Internal, "account: %v", err)
	}
	key, err := DecodeTOTPSecret(secret)
	if err != nil {
		return nil, "", errs.E(errs.Internal, "account: stored TOTP secret is not base32")
	}
	return key, secret, nil
}

// self returns the signed-in actor's own account.
func (s *Service) self(ctx context.Context) (Actor, *Account, error) {
	a := From(ctx)
	if a.AccountID == 0 {
		return a, nil, &errs.Error{Code: errs.Unauthorized, Message: "请先登录 (sign in first)"}
	}
	acc, err := s.Store.GetAccount(ctx, a.AccountID)
	if err != nil {
		return a, nil, err
	}
	if acc.Login == "" || acc.PasswordHash == "" {
		return a, nil, &errs.Error{Code: errs.Invalid, Message: "该账户没有控制台登录，无需双因素认证 (the account has no console sign-in)"}
	}
	return a, acc, nil
}

// TOTP returns the signed-in user's second-factor state, with the pending
// enrolment's secret when one was started.
func (s *Service) TOTP(ctx context.Context) (*TOTPState, error) {
	const op = "account.TOTP"
	_, acc, err := s.self(ctx)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	st := &TOTPState{Login: acc.Login, Enabled: acc.TOTPSecret != ""}
	if acc.TOTPPending != "" && !st.Enabled {
		_, secret, err := s.openSecret(acc.TOTPPending)
		if err != nil {
			return nil, errs.Wrap(op, err)
		}
		st.Pending = &TOTPEnrolment{Secret: secret, URI: TOTPURI(acc.Login, secret)}
	}
	return st, nil
}

// BeginTOTP starts (or restarts) the signed-in user's enrolment with a fresh
// secret. An active second factor must first be reset by an administrator.
func (s *Service) BeginTOTP(ctx context.Context) (*TOTPEnrolment, error) {
	const op = "account.BeginTOTP"
	a, acc, err := s.self(ctx)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	if acc.TOTPSecret != "" {
		return nil, &errs.Error{Code: errs.Conflict, Op: op, Message: "已启用双因素认证；如需更换，请联系管理员重置 (TOTP already enabled: ask an administrator to reset it)"}
	}
	secret := NewTOTPSecret()
	sealed, err := s.sealSecret(secret)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	acc.TOTPPending, acc.UpdatedAt = sealed, s.now()
	if err := s.Store.UpdateAccount(ctx, acc, a.Audit(audit.ActUpdate, "account:"+strconv.FormatInt(acc.ID, 10), "totp enrolment started")); err != nil {
		return nil, errs.Wrap(op, err)
	}
	return &TOTPEnrolment{Secret: secret, URI: TOTPURI(acc.Login, secret)}, nil
}

// ConfirmTOTP activates the pending secret when code is valid for it.
func (s *Service) ConfirmTOTP(ctx context.Context, code string) error {
	const op = "account.ConfirmTOTP"
	a, acc, err := s.self(ctx)
	if err != nil {
		return errs.Wrap(op, err)
	}
	if acc.TOTPSecret != "" {
		return &errs.Error{Code: errs.Conflict, Op: op, Message: "已启用双因素认证 (TOTP already enabled)"}
	}
	if acc.TOTPPending == "" {
		return &errs.Error{Code: errs.Invalid, Op: op, Field: "code", Message: "请先生成密钥 (start the enrolment first)"}
	}
	if err := checkCodeFormat(code); err != nil {
		return errs.Wrap(op, err)
	}
	key, _, err := s.openSecret(acc.TOTPPending)
	if err != nil {
		return errs.Wrap(op, err)
	}
	step, ok := matchTOTP(key, code, s.now(), acc.TOTPStep)
	if !ok {
		return &errs.Error{Code: errs.Invalid, Op: op, Field: "code", Message: "验证码不正确，请核对手机时间后输入验证器当前显示的 6 位数字 (wrong code)"}
	}
	if err := s.Store.UseTOTPStep(ctx, acc.ID, step); err != nil {
		return errs.Wrap(op, err)
	}
	acc.TOTPSecret, acc.TOTPPending, acc.UpdatedAt = acc.TOTPPending, "", s.now()
	return errs.Wrap(op, s.Store.UpdateAccount(ctx, acc, a.Audit(audit.ActUpdate, "account:"+strconv.FormatInt(acc.ID, 10), "totp enabled")))
}

// ResetTOTP removes an account's second factor (and any pending
// enrolment), so that its user signs in with the password alone and can
// enrol again. Administrators only.
func (s *Service) ResetTOTP(ctx context.Context, accountID int64) error {
	const op = "account.ResetTOTP"
	a, acc, err := s.managed(ctx, accountID)
	if err != nil {
		return errs.Wrap(op, err)
	}
	acc.TOTPSecret, acc.TOTPPending, acc.UpdatedAt = "", "", s.now()
	return errs.Wrap(op, s.Store.UpdateAccount(ctx, acc, a.Audit(audit.ActUpdate, "account:"+strconv.FormatInt(acc.ID, 10), "totp reset")))
}

func checkCodeFormat(code string) error {
	if len(code) != TOTPDigits {
		return errs.Field("code", "验证码为 6 位数字 (the code has 6 digits)")
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return errs.Field("code", "验证码为 6 位数字 (the code has 6 digits)")
		}
	}
	return nil
}

func errBadChallenge() error {
	return &errs.Error{Code: errs.Unauthorized, Field: "password", Message: "登录验证已过期，请重新输入登录名和密码 (sign-in expired: enter your password again)"}
}

func errBadCode() error {
	return &errs.Error{Code: errs.Unauthorized, Field: "code", Message: "动态验证码错误或已使用 (wrong or used code)"}
}

// challengeMAC authenticates a challenge's payload for acc: it covers the
// password hash and the second factor, so a changed password or a reset
// factor voids open challenges.
func (s *Service) challengeMAC(payload []byte, acc *Account) []byte {
	m := hmac.New(sha256.New, s.Keys.Index("login_challenge", "ecredit-login/1"))
	m.Write(payload)
	m.Write([]byte(acc.PasswordHash))
	m.Write([]byte{0})
	m.Write([]byte(acc.TOTPSecret))
	return m.Sum(nil)
}

// challenge is the token a correct password earns an account with TOTP:
// account id, expiry and a nonce, authenticated with a key derived from
// the PII key. It is not a session and grants nothing but the code step.
func (s *Service) challenge(acc *Account, now time.Time) (string, error) {
	if s.Keys == nil {
		return "", errNoKeys()
	}
	payload := make([]byte, 24)
	binary.BigEndian.PutUint64(payload, uint64(acc.ID))
	binary.BigEndian.PutUint64(payload[8:], uint64(now.Add(ChallengeTTL).Unix()))
	rand.Read(payload[16:])
	return base64.RawURLEncoding.EncodeToString(append(payload, s.challengeMAC(payload, acc)...)), nil
}

// LoginTOTP is the code step of a sign-in: given the challenge of a correct
// password and a valid, unused code, it opens the session. A wrong or
// replayed code counts towards the lockout.
func (s *Service) LoginTOTP(ctx context.Context, challenge, code, remote string) (*LoginResult, error) {
	const op = "account.LoginTOTP"
	if s.Keys == nil {
		return nil, errs.Wrap(op, errNoKeys())
	}
	now := s.now()
	raw, err := base64.RawURLEncoding.DecodeString(challenge)
	if err != nil || len(raw) != 24+sha256.Size {
		return nil, errs.Wrap(op, errBadChallenge())
	}
	payload := raw[:24]
	id := int64(binary.BigEndian.Uint64(payload))
	if exp := time.Unix(int64(binary.BigEndian.Uint64(payload[8:])), 0); !now.Before(exp) {
		return nil, errs.Wrap(op, errBadChallenge())
	}
	acc, err := s.Store.GetAccount(ctx, id)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, errs.Wrap(op, errBadChallenge())
		}
		return nil, errs.Wrap(op, err)
	}
	if !hmac.Equal(raw[24:], s.challengeMAC(payload, acc)) || acc.Disabled || acc.TOTPSecret == "" {
		return nil, errs.Wrap(op, errBadChallenge())
	}
	if err := lockedErr(acc, now); err != nil {
		return nil, errs.Wrap(op, err)
	}
	key, _, err := s.openSecret(acc.TOTPSecret)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	step, ok := matchTOTP(key, code, now, acc.TOTPStep)
	if !ok {
		return nil, errs.Wrap(op, s.failLogin(ctx, acc, now, remote, "wrong totp code", errBadCode()))
	}
	if err := s.Store.UseTOTPStep(ctx, acc.ID, step); err != nil {
		if errs.Is(err, errs.Conflict) { // the same code won a concurrent sign-in
			return nil, errs.Wrap(op, s.failLogin(ctx, acc, now, remote, "replayed totp code", errBadCode()))
		}
		return nil, errs.Wrap(op, err)
	}
	return s.openSession(ctx, op, acc, now, remote, "password+totp")
}
