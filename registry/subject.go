// Package registry is the real-name registry (M1): every subject that sells,
// runs a platform, carries parcels or serves e-commerce in the city, keyed by
// its unified social credit code (organisations) or resident ID number
// (persons), with its real-name verification history, and the shops that
// belong to platforms.
package registry

import (
	"context"
	"time"

	"ecredit/audit"
	"ecredit/pii"
)

// Kind is the kind of subject.
type Kind string

const (
	KindPlatform  Kind = "platform"  // 电子商务平台经营者
	KindMerchant  Kind = "merchant"  // 平台内经营者（企业或个体工商户）
	KindSeller    Kind = "seller"    // 个人网店卖家（自然人）
	KindLogistics Kind = "logistics" // 寄递物流企业
	KindCourier   Kind = "courier"   // 快递员（自然人）
	KindService   Kind = "service"   // 电子商务服务机构（代运营、咨询、征信）
)

// Kinds lists every kind in display order.
var Kinds = []Kind{KindPlatform, KindMerchant, KindSeller, KindLogistics, KindCourier, KindService}

// Label is the Chinese name of the kind.
func (k Kind) Label() string {
	switch k {
	case KindPlatform:
		return "电子商务平台"
	case KindMerchant:
		return "平台内经营者"
	case KindSeller:
		return "个人卖家"
	case KindLogistics:
		return "寄递物流企业"
	case KindCourier:
		return "快递员"
	case KindService:
		return "电子商务服务机构"
	}
	return string(k)
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// Person reports whether subjects of this kind are natural persons, keyed by
// their resident ID number rather than a credit code.
func (k Kind) Person() bool { return k == KindSeller || k == KindCourier }

// Forms per kind: what legal form an organisation subject takes.
var Forms = map[Kind][]string{
	KindMerchant: {"enterprise", "individual_business"},                  // 企业 / 个体工商户
	KindService:  {"operation", "consulting", "credit_service", "other"}, // 代运营 / 咨询 / 征信 / 其他
}

// FormLabel is the Chinese name of a form.
func FormLabel(f string) string {
	switch f {
	case "enterprise":
		return "企业"
	case "individual_business":
		return "个体工商户"
	case "operation":
		return "代运营"
	case "consulting":
		return "咨询服务"
	case "credit_service":
		return "信用服务"
	case "other":
		return "其他"
	}
	return f
}

// Status of a subject in the registry.
type Status string

const (
	StatusActive       Status = "active"       // 正常
	StatusPending      Status = "pending"      // 待补全（由记录自动创建）
	StatusSuspended    Status = "suspended"    // 暂停经营
	StatusDeregistered Status = "deregistered" // 已注销
)

// Statuses lists every status.
var Statuses = []Status{StatusActive, StatusPending, StatusSuspended, StatusDeregistered}

// Label is the Chinese name of the status.
func (s Status) Label() string {
	switch s {
	case StatusActive:
		return "正常"
	case StatusPending:
		return "待补全"
	case StatusSuspended:
		return "暂停经营"
	case StatusDeregistered:
		return "已注销"
	}
	return string(s)
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	for _, x := range Statuses {
		if x == s {
			return true
		}
	}
	return false
}

// Verification state, derived from the verification history and the clock.
type VerifyState string

const (
	VerifyNone    VerifyState = "unverified" // 未核验
	VerifyOK      VerifyState = "verified"   // 已核验
	VerifyExpired VerifyState = "expired"    // 核验已过期，需复核
	VerifyFailed  VerifyState = "failed"     // 核验未通过
)

// Label is the Chinese name of the state.
func (v VerifyState) Label() string {
	switch v {
	case VerifyNone:
		return "未核验"
	case VerifyOK:
		return "已核验"
	case VerifyExpired:
		return "需复核"
	case VerifyFailed:
		return "核验未通过"
	}
	return string(v)
}

// Subject is one market actor.
type Subject struct {
	ID   int64
	Kind Kind
	Form string // see Forms; "" where the kind has none
	Name string // organisation name, or the person's name (public for sellers as 张* only)

	// CreditCode is the normalised unified social credit code of an
	// organisation (or of a person's business licence, when it has one).
	CreditCode  string
	CodeWarning string // e.g. a legacy pilot code whose check fails

	// Personal data of persons (and of an organisation's contact phone).
	IDNumber pii.Sealed // persons only
	Phone    pii.Sealed
	NameSeal pii.Sealed // persons: the real name, encrypted; Name holds the masked form

	LegalRep   string // 法定代表人 / 经营者 of an organisation: public per 双公示
	RegionCode string // GB/T 2260, 6 digits
	Address    string
	Status     Status

	// Current verification, derived from the latest event.
	Verify      VerifyState
	VerifiedAt  time.Time
	VerifiedBy  string
	ReverifyDue time.Time
	Mark        string // public identity verification mark (身份核验标识)

	CreatedBy int64 // account id
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int // optimistic concurrency; bumped by every update
}

// Verification is one real-name verification event. Events are never changed
// or deleted; the subject's current state is derived from the latest.
type Verification struct {
	ID         int64
	SubjectID  int64
	Method     string // see Methods
	Passed     bool
	VerifiedBy string // account name that verified
	AccountID  int64
	At         time.Time
	ValidUntil time.Time // re-verification due; zero if failed
	Note       string
}

// Methods of real-name verification with their Chinese names.
var Methods = map[string]string{
	"license_check": "营业执照核验",
	"id_check":      "公安身份核验",
	"face":          "人脸识别",
	"bank4":         "银行卡四要素",
	"onsite":        "现场核验",
	"document":      "证照材料审核",
}

// Shop is a storefront a subject runs on a platform.
type Shop struct {
	ID             int64
	PlatformID     int64 // subject id of the platform
	OwnerID        int64 // subject id of the merchant / seller
	Name           string
	URL            string
	Domain         string // lower-case host of URL
	Category       string // main category, see Categories
	Status         Status
	PlatformShopID string // the platform's own id for the shop
	CreatedAt      time.Time
	UpdatedAt      time.Time
	Version        int
}

// Categories of goods; those in LicensedCategories need a licence record.
var Categories = map[string]string{
	"food":              "食品",
	"drugs":             "药品",
	"medical_devices":   "医疗器械",
	"agricultural":      "农产品",
	"agri_inputs":       "农资",
	"daily_goods":       "日用消费品",
	"apparel":           "服装鞋帽",
	"electronics":       "数码家电",
	"special_equipment": "特种设备",
	"hazardous":         "危险化学品",
	"services":          "生活服务",
	"other":             "其他",
}

// LicensedCategories need an administrative licence to be sold online.
var LicensedCategories = []string{"food", "drugs", "medical_devices", "agricultural", "agri_inputs", "daily_goods", "special_equipment", "hazardous"}

// Filter selects subjects. Zero fields do not filter.
type Filter struct {
	Kind   Kind
	Status Status
	Region string // prefix of the region code: "1308" = all of Chengde
	Verify VerifyState
	// ReverifyBefore selects subjects whose passed verification falls due
	// before this time (already expired or not).
	ReverifyBefore time.Time
	PlatformID     int64  // subjects owning a shop on this platform
	Name           string // substring of the name
	IDIndex        []byte // exact personal ID number (HMAC index)
	PhoneIndex     []byte
	After          int64 // cursor: id of the last subject of the previous page
	Limit          int
}

// ShopFilter selects shops.
type ShopFilter struct {
	PlatformID int64
	OwnerID    int64
	Domain     string
	Status     Status
	After      int64
	Limit      int
}

// Store persists the registry. Each write appends its audit entry in the
// same transaction. Errors: errs.NotFound, errs.Conflict (duplicate code, ID
// number or shop; stale Version).
type Store interface {
	CreateSubject(ctx context.Context, s *Subject, ev *audit.Entry) error // sets ID, Version=1
	// CreateSubjects stores many subjects in one transaction, each with the
	// audit entry ev returns. On failure nothing is stored and the error
	// has a method BatchIndex() int naming the element at fault.
	CreateSubjects(ctx context.Context, subs []*Subject, ev func(*Subject) *audit.Entry) error
	// UpdateSubject writes s if the stored Version equals s.Version, then
	// increments s.Version.
	UpdateSubject(ctx context.Context, s *Subject, ev *audit.Entry) error
	GetSubject(ctx context.Context, id int64) (*Subject, error)
	FindSubjectByCode(ctx context.Context, creditCode string) (*Subject, error)
	FindSubjectByIDIndex(ctx context.Context, index []byte) (*Subject, error)
	FindSubjectByMark(ctx context.Context, mark string) (*Subject, error)
	ListSubjects(ctx context.Context, f Filter) ([]*Subject, error)
	CountSubjects(ctx context.Context) (int64, error)

	// AddVerification stores v and sets the subject's derived verification
	// fields from s (already updated by the caller), in one transaction.
	AddVerification(ctx context.Context, v *Verification, s *Subject, ev *audit.Entry) error
	ListVerifications(ctx context.Context, subjectID int64) ([]*Verification, error)

	CreateShop(ctx context.Context, sh *Shop, ev *audit.Entry) error
	UpdateShop(ctx context.Context, sh *Shop, ev *audit.Entry) error
	GetShop(ctx context.Context, id int64) (*Shop, error)
	ListShops(ctx context.Context, f ShopFilter) ([]*Shop, error)
}
