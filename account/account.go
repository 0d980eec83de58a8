// Package account holds who may use ecredit and how they prove it: accounts
// with a role, API keys (shown once, stored as a SHA-256 hash), staff
// passwords (argon2id), server-side sessions, and the Actor that every
// service call carries in its context.
package account

import (
	"context"
	"time"

	"ecredit/audit"
	"ecredit/errs"
)

// Role is what kind of user an account is.
type Role string

const (
	RolePublic     Role = "public"     // no key: anyone
	RolePlatform   Role = "platform"   // an e-commerce platform (电子商务平台)
	RoleLogistics  Role = "logistics"  // a logistics firm (寄递物流企业)
	RoleDepartment Role = "department" // a government department (政府部门)
	RoleAgency     Role = "agency"     // a third-party credit agency (第三方信用服务机构)
	RoleAdmin      Role = "admin"      // the city credit office (市信用办)
)

// Roles lists the roles an account can have (public is the absence of one).
var Roles = []Role{RolePlatform, RoleLogistics, RoleDepartment, RoleAgency, RoleAdmin}

// Label is the Chinese name of the role.
func (r Role) Label() string {
	switch r {
	case RolePublic:
		return "公众"
	case RolePlatform:
		return "电子商务平台"
	case RoleLogistics:
		return "寄递物流企业"
	case RoleDepartment:
		return "政府部门"
	case RoleAgency:
		return "第三方信用服务机构"
	case RoleAdmin:
		return "市信用办（管理员）"
	}
	return string(r)
}

// Valid reports whether r is an account role.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if x == r {
			return true
		}
	}
	return false
}

// Scope is one permission. Roles map to sets of scopes; handlers ask for a
// scope, never for a role.
type Scope string

const (
	ScopeSubjectsRead   Scope = "subjects:read"   // read subjects (masked)
	ScopeSubjectsWrite  Scope = "subjects:write"  // create / update any subject
	ScopeShopsWrite     Scope = "shops:write"     // register / update own shops (platform)
	ScopeVerify         Scope = "subjects:verify" // record real-name verification events
	ScopePersonalRead   Scope = "personal:read"   // reveal personal data (audited)
	ScopeAccountsManage Scope = "accounts:manage" // create accounts and keys
	ScopeAuditRead      Scope = "audit:read"      // read the audit log
)

var roleScopes = map[Role][]Scope{
	RolePlatform:   {ScopeSubjectsRead, ScopeShopsWrite, ScopeVerify, ScopePersonalRead},
	RoleLogistics:  {ScopeSubjectsRead},
	RoleDepartment: {ScopeSubjectsRead, ScopeSubjectsWrite, ScopeVerify, ScopePersonalRead, ScopeAuditRead},
	RoleAgency:     {ScopeSubjectsRead},
	RoleAdmin:      {ScopeSubjectsRead, ScopeSubjectsWrite, ScopeShopsWrite, ScopeVerify, ScopePersonalRead, ScopeAccountsManage, ScopeAuditRead},
}

// Scopes returns the scopes of a role.
func (r Role) Scopes() []Scope { return roleScopes[r] }

// Has reports whether the role grants s.
func (r Role) Has(s Scope) bool {
	for _, x := range roleScopes[r] {
		if x == s {
			return true
		}
	}
	return false
}

// Account is a user of the API or the console.
type Account struct {
	ID         int64
	Name       string // 淘宝, 承德市市场监督管理局, 张三
	Role       Role
	SubjectID  int64  // the registry subject a platform / logistics / agency account acts for; 0 if none
	Department string // for department accounts: 市场监管, 商务, 网信, 公安, 邮政, 人行, 质监, 发改 …
	Login      string // console sign-in name; "" for API-only accounts
	// PasswordHash is an argon2id PHC string; "" means no console sign-in.
	PasswordHash string
	// TOTPSecret is the active second factor's secret, sealed with the PII
	// key (base64 of the AES-GCM ciphertext); "" until one is enrolled.
	// TOTPPending is a secret generated at enrolment and not yet
	// confirmed, sealed the same way. TOTPStep is the last accepted time
	// step: stores only ever raise it (UseTOTPStep), and UpdateAccount
	// leaves it alone.
	TOTPSecret   string
	TOTPPending  string
	TOTPStep     int64
	Disabled     bool
	FailedLogins int       // consecutive failures, reset on success
	LockedUntil  time.Time // zero when not locked
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// APIKey is a stored API key. The secret itself is never stored.
type APIKey struct {
	ID         int64
	AccountID  int64
	Prefix     string // public part, shown in listings: "ek_XXXXXXXX"
	Hash       []byte // SHA-256 of the whole key
	Label      string
	CreatedAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
}

// Session is a signed-in console session. Only the token's hash is stored.
type Session struct {
	TokenHash []byte
	AccountID int64
	CSRF      string // per-session CSRF token for forms
	CreatedAt time.Time
	ExpiresAt time.Time
	Remote    string
}

// Store keeps accounts, keys and sessions. Every method that writes takes the
// audit entry to append in the same transaction.
type Store interface {
	CreateAccount(ctx context.Context, a *Account, ev *audit.Entry) error // sets ID; Conflict on duplicate Login
	UpdateAccount(ctx context.Context, a *Account, ev *audit.Entry) error
	GetAccount(ctx context.Context, id int64) (*Account, error)
	FindAccountByLogin(ctx context.Context, login string) (*Account, error)
	ListAccounts(ctx context.Context) ([]*Account, error)

	CreateAPIKey(ctx context.Context, k *APIKey, ev *audit.Entry) error // sets ID
	FindAPIKey(ctx context.Context, prefix string) (*APIKey, error)
	ListAPIKeys(ctx context.Context, accountID int64) ([]*APIKey, error)
	RevokeAPIKey(ctx context.Context, id int64, at time.Time, ev *audit.Entry) error
	TouchAPIKey(ctx context.Context, id int64, at time.Time) error

	CreateSession(ctx context.Context, s *Session) error
	GetSession(ctx context.Context, tokenHash []byte) (*Session, error)
	DeleteSession(ctx context.Context, tokenHash []byte) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)

	// UseTOTPStep records step as the account's last accepted TOTP step if
	// it is later than the stored one, atomically; otherwise (the code was
	// used already, perhaps concurrently) it is Conflict.
	UseTOTPStep(ctx context.Context, id, step int64) error
}

// Actor is who is making a call, carried in the context.
type Actor struct {
	AccountID  int64
	Name       string
	Role       Role
	SubjectID  int64 // for platform / logistics / agency accounts
	Department string
	Remote     string // client address
	RequestID  string
	Via        string // "api", "console", "cli", "system"
}

// Public is the actor of an unauthenticated request.
func Public(remote, requestID string) Actor {
	return Actor{Role: RolePublic, Name: "公众", Remote: remote, RequestID: requestID, Via: "api"}
}

// System is the actor of the platform itself (demo loader, CLI).
var System = Actor{Role: RoleAdmin, Name: "system", Via: "system"}

// Can reports whether the actor holds scope s.
func (a Actor) Can(s Scope) bool { return a.Role.Has(s) }

// Require returns Unauthorized for the public and Forbidden for others
// lacking s.
func (a Actor) Require(s Scope) error {
	if a.Can(s) {
		return nil
	}
	if a.Role == RolePublic || a.Role == "" {
		return &errs.Error{Code: errs.Unauthorized, Message: "需要 API 密钥或登录 (authentication required)"}
	}
	return &errs.Error{Code: errs.Forbidden, Message: "当前角色「" + a.Role.Label() + "」无此权限 (missing scope " + string(s) + ")"}
}

// Audit returns an audit entry for an action by this actor.
func (a Actor) Audit(action, object, detail string) *audit.Entry {
	return &audit.Entry{
		ActorID:   a.AccountID,
		ActorName: a.Name,
		Role:      string(a.Role),
		Action:    action,
		Object:    object,
		Detail:    detail,
		Remote:    a.Remote,
		RequestID: a.RequestID,
		Via:       a.Via,
	}
}

type ctxKey struct{}

// With returns ctx carrying actor.
func With(ctx context.Context, a Actor) context.Context { return context.WithValue(ctx, ctxKey{}, a) }

// From returns the actor in ctx, or the public actor.
func From(ctx context.Context) Actor {
	if a, ok := ctx.Value(ctxKey{}).(Actor); ok {
		return a
	}
	return Actor{Role: RolePublic, Name: "公众"}
}
