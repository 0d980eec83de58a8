package registry

import (
	"time"

	"ecredit/code"
)

// SubjectView is the JSON form of a subject: personal data masked. It is the
// only form in which a subject leaves the service.
type SubjectView struct {
	ID          int64       `json:"id"`
	Kind        Kind        `json:"kind"`
	KindLabel   string      `json:"kind_label"`
	Form        string      `json:"form,omitempty"`
	Name        string      `json:"name"`
	CreditCode  string      `json:"credit_code,omitempty"`
	CodeWarning string      `json:"code_warning,omitempty"`
	IDNumber    string      `json:"id_number_masked,omitempty"`
	Phone       string      `json:"phone_masked,omitempty"`
	LegalRep    string      `json:"legal_rep,omitempty"`
	RegionCode  string      `json:"region_code,omitempty"`
	RegionName  string      `json:"region_name,omitempty"`
	Address     string      `json:"address,omitempty"`
	Status      Status      `json:"status"`
	StatusLabel string      `json:"status_label"`
	Verify      VerifyState `json:"verification"`
	VerifyLabel string      `json:"verification_label"`
	VerifiedAt  *time.Time  `json:"verified_at,omitempty"`
	VerifiedBy  string      `json:"verified_by,omitempty"`
	ReverifyDue *time.Time  `json:"reverify_due,omitempty"`
	Mark        string      `json:"mark"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
	Version     int         `json:"version"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// View returns the masked public form of the subject.
func (s *Subject) View() SubjectView {
	v := SubjectView{ID: s.ID, Kind: s.Kind, KindLabel: s.Kind.Label(), Form: s.Form, Name: s.Name,
		CreditCode: s.CreditCode, CodeWarning: s.CodeWarning, IDNumber: s.IDNumber.Masked, Phone: s.Phone.Masked,
		LegalRep: s.LegalRep, RegionCode: s.RegionCode, Address: s.Address, Status: s.Status, StatusLabel: s.Status.Label(),
		Verify: s.Verify, VerifyLabel: s.Verify.Label(), VerifiedAt: timePtr(s.VerifiedAt), VerifiedBy: s.VerifiedBy,
		ReverifyDue: timePtr(s.ReverifyDue), Mark: s.Mark, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, Version: s.Version}
	if s.RegionCode != "" {
		v.RegionName, _ = code.RegionName(s.RegionCode)
	}
	if s.Kind.Person() {
		v.Address = "" // a person's address is personal data
	}
	return v
}

// ShopView is the JSON form of a shop.
type ShopView struct {
	ID             int64     `json:"id"`
	PlatformID     int64     `json:"platform_id"`
	OwnerID        int64     `json:"owner_id"`
	Name           string    `json:"name"`
	URL            string    `json:"url"`
	Domain         string    `json:"domain"`
	Category       string    `json:"category,omitempty"`
	CategoryLabel  string    `json:"category_label,omitempty"`
	Status         Status    `json:"status"`
	PlatformShopID string    `json:"platform_shop_id,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	Version        int       `json:"version"`
}

// View returns the JSON form of the shop.
func (sh *Shop) View() ShopView {
	return ShopView{ID: sh.ID, PlatformID: sh.PlatformID, OwnerID: sh.OwnerID, Name: sh.Name, URL: sh.URL, Domain: sh.Domain,
		Category: sh.Category, CategoryLabel: Categories[sh.Category], Status: sh.Status, PlatformShopID: sh.PlatformShopID,
		CreatedAt: sh.CreatedAt, UpdatedAt: sh.UpdatedAt, Version: sh.Version}
}

// VerificationView is the JSON form of a verification event.
type VerificationView struct {
	ID          int64      `json:"id"`
	SubjectID   int64      `json:"subject_id"`
	Method      string     `json:"method"`
	MethodLabel string     `json:"method_label"`
	Passed      bool       `json:"passed"`
	VerifiedBy  string     `json:"verified_by"`
	At          time.Time  `json:"at"`
	ValidUntil  *time.Time `json:"valid_until,omitempty"`
	Note        string     `json:"note,omitempty"`
}

// View returns the JSON form of the event.
func (v *Verification) View() VerificationView {
	return VerificationView{ID: v.ID, SubjectID: v.SubjectID, Method: v.Method, MethodLabel: Methods[v.Method], Passed: v.Passed,
		VerifiedBy: v.VerifiedBy, At: v.At, ValidUntil: timePtr(v.ValidUntil), Note: v.Note}
}
