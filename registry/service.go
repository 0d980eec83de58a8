package registry

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/clock"
	"ecredit/code"
	"ecredit/errs"
	"ecredit/pii"
)

// Service applies the registry's rules: validation, access, encryption of
// personal data, verification state, and auditing.
type Service struct {
	Store Store
	Audit audit.Store
	Keys  *pii.Keys
	Clock clock.Clock
	// ReverifyAfter is how long a passed verification stays valid
	// (default 365 days).
	ReverifyAfter time.Duration
}

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return time.Now().UTC()
	}
	return s.Clock.Now()
}

func (s *Service) reverifyAfter() time.Duration {
	if s.ReverifyAfter <= 0 {
		return 365 * 24 * time.Hour
	}
	return s.ReverifyAfter
}

// SubjectInput is what a caller gives to create a subject.
type SubjectInput struct {
	Kind       Kind   `json:"kind"`
	Form       string `json:"form,omitempty"`
	Name       string `json:"name"`
	CreditCode string `json:"credit_code,omitempty"`
	IDNumber   string `json:"id_number,omitempty"`
	Phone      string `json:"phone,omitempty"`
	LegalRep   string `json:"legal_rep,omitempty"`
	RegionCode string `json:"region_code,omitempty"`
	Address    string `json:"address,omitempty"`
	Status     Status `json:"status,omitempty"`
}

// SubjectPatch changes some fields of a subject. Nil fields are kept. The
// kind, credit code and ID number never change: a different code is a
// different subject.
type SubjectPatch struct {
	Name       *string `json:"name,omitempty"`
	Form       *string `json:"form,omitempty"`
	Phone      *string `json:"phone,omitempty"`
	LegalRep   *string `json:"legal_rep,omitempty"`
	RegionCode *string `json:"region_code,omitempty"`
	Address    *string `json:"address,omitempty"`
	Status     *Status `json:"status,omitempty"`
	// Version, when not 0, must equal the stored version (optimistic lock).
	Version int `json:"version,omitempty"`
}

const (
	maxName    = 200
	maxAddress = 300
)

func checkText(l *errs.List, field, v string, max int, required bool) {
	switch {
	case required && strings.TrimSpace(v) == "":
		l.Add(field, "不能为空 (required)")
	case !utf8.ValidString(v):
		l.Add(field, "不是有效的 UTF-8 文本 (invalid UTF-8)")
	case utf8.RuneCountInString(v) > max:
		l.Add(field, "不能超过 %d 个字符 (too long)", max)
	case strings.ContainsAny(v, "\x00\r\n\t"):
		l.Add(field, "不能包含控制字符 (control characters)")
	}
}

// NormalizePhone strips spaces and dashes and checks a mainland mobile or
// fixed-line number.
func NormalizePhone(p string) (string, error) {
	p = strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(strings.TrimSpace(p))
	p = strings.TrimPrefix(strings.TrimPrefix(p, "+86"), "0086")
	if len(p) < 7 || len(p) > 12 {
		return "", fmt.Errorf("电话号码长度不对 (phone must have 7–12 digits)")
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return "", fmt.Errorf("电话号码只能包含数字 (phone must be digits)")
		}
	}
	if len(p) == 11 && p[0] == '1' && (p[1] < '3' || p[1] > '9') {
		return "", fmt.Errorf("不是有效的手机号码 (not a valid mobile number)")
	}
	return p, nil
}

func checkRegion(l *errs.List, field, rc string) {
	if rc == "" {
		return
	}
	if !code.KnownRegion(rc) {
		l.Add(field, "「%s」不是已知的 GB/T 2260 行政区划代码 (unknown region code)", rc)
	}
}

func checkForm(l *errs.List, k Kind, form string) {
	forms := Forms[k]
	if form == "" {
		return
	}
	for _, f := range forms {
		if f == form {
			return
		}
	}
	if len(forms) == 0 {
		l.Add("form", "「%s」类主体没有组织形式 (kind %s takes no form)", k.Label(), k)
		return
	}
	l.Add("form", "组织形式必须是 %s 之一 (form must be one of %s)", strings.Join(forms, "、"), strings.Join(forms, ", "))
}

// canCreate says whether the actor may register a subject of kind k.
func canCreate(a account.Actor, k Kind) error {
	if a.Can(account.ScopeSubjectsWrite) {
		return nil
	}
	switch {
	case a.Role == account.RolePlatform && (k == KindMerchant || k == KindSeller):
		return nil
	case a.Role == account.RoleLogistics && k == KindCourier:
		return nil
	}
	if err := a.Require(account.ScopeSubjectsWrite); err != nil && a.Role == account.RolePublic {
		return err
	}
	return &errs.Error{Code: errs.Forbidden, Field: "kind", Message: fmt.Sprintf("角色「%s」不能登记「%s」类主体 (role may not register this kind)", a.Role.Label(), k.Label())}
}

// CreateSubject validates and registers a new subject.
func (s *Service) CreateSubject(ctx context.Context, in SubjectInput) (*Subject, error) {
	const op = "registry.CreateSubject"
	sub, err := s.prepareSubject(ctx, in)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	if err := s.Store.CreateSubject(ctx, sub, s.createEntry(ctx, sub)); err != nil {
		return nil, errs.Wrap(op, err)
	}
	return sub, nil
}

func (s *Service) createEntry(ctx context.Context, sub *Subject) *audit.Entry {
	return account.From(ctx).Audit(audit.ActCreate, "subject", string(sub.Kind)+" "+sub.Name)
}

// prepareSubject checks access, validates every field, seals personal data
// and checks that the code is not registered yet: everything but storing.
func (s *Service) prepareSubject(ctx context.Context, in SubjectInput) (*Subject, error) {
	const op = "registry.CreateSubject"
	a := account.From(ctx)
	var l errs.List
	if !in.Kind.Valid() {
		l.Add("kind", "主体类型必须是 %s 之一 (unknown kind %q)", kindList(), in.Kind)
		return nil, errs.Wrap(op, l.Err())
	}
	if err := canCreate(a, in.Kind); err != nil {
		return nil, errs.Wrap(op, err)
	}
	now := s.now()
	sub := &Subject{Kind: in.Kind, Form: in.Form, Status: in.Status, RegionCode: strings.TrimSpace(in.RegionCode),
		Address: strings.TrimSpace(in.Address), LegalRep: strings.TrimSpace(in.LegalRep),
		Verify: VerifyNone, CreatedBy: a.AccountID, CreatedAt: now, UpdatedAt: now}
	if sub.Status == "" {
		sub.Status = StatusActive
	}
	if !sub.Status.Valid() {
		l.Add("status", "状态必须是 active、pending、suspended、deregistered 之一 (unknown status)")
	}
	name := strings.TrimSpace(in.Name)
	checkText(&l, "name", name, maxName, true)
	checkText(&l, "address", sub.Address, maxAddress, false)
	checkText(&l, "legal_rep", sub.LegalRep, 50, false)
	checkForm(&l, in.Kind, in.Form)
	if len(Forms[in.Kind]) > 0 && in.Form == "" {
		sub.Form = Forms[in.Kind][0]
	}
	checkRegion(&l, "region_code", sub.RegionCode)

	if in.CreditCode != "" {
		r := code.ParseUSCC(in.CreditCode)
		if !r.Valid {
			l.Add("credit_code", "统一社会信用代码无效：%s", strings.Join(r.Errors, "；"))
		} else {
			sub.CreditCode = r.Normalized
			sub.CodeWarning = strings.Join(r.Warnings, "；")
			if sub.RegionCode == "" {
				sub.RegionCode = r.Region
			}
		}
	}
	if in.Kind.Person() {
		if in.IDNumber == "" {
			l.Add("id_number", "自然人主体必须提供公民身份号码 (a person needs a resident ID number)")
		} else {
			r := code.ParseID(in.IDNumber, now)
			if !r.Valid {
				l.Add("id_number", "公民身份号码无效：%s", strings.Join(r.Errors, "；"))
			} else {
				sub.IDNumber = s.Keys.Seal(pii.KindIDNumber, r.Normalized)
				if sub.RegionCode == "" {
					sub.RegionCode = r.Region
				}
			}
		}
		if name != "" {
			sub.NameSeal = s.Keys.Seal(pii.KindName, name)
			name = pii.MaskName(name)
		}
	} else {
		if in.IDNumber != "" {
			l.Add("id_number", "组织不使用公民身份号码，请填写统一社会信用代码 (organisations are keyed by credit code)")
		}
		if in.CreditCode == "" {
			l.Add("credit_code", "组织主体必须提供统一社会信用代码 (an organisation needs a unified social credit code)")
		}
	}
	sub.Name = name
	if in.Phone != "" {
		p, err := NormalizePhone(in.Phone)
		if err != nil {
			l.Add("phone", "%s", err.Error())
		} else {
			sub.Phone = s.Keys.Seal(pii.KindPhone, p)
		}
	}
	if err := l.Err(); err != nil {
		return nil, errs.Wrap(op, err)
	}
	sub.Mark = newMark()
	if sub.CreditCode != "" {
		if _, err := s.Store.FindSubjectByCode(ctx, sub.CreditCode); err == nil {
			return nil, &errs.Error{Code: errs.Conflict, Op: op, Field: "credit_code", Message: "该统一社会信用代码已登记 (credit code already registered)"}
		}
	}
	if !sub.IDNumber.Empty() {
		if _, err := s.Store.FindSubjectByIDIndex(ctx, sub.IDNumber.Index); err == nil {
			return nil, &errs.Error{Code: errs.Conflict, Op: op, Field: "id_number", Message: "该公民身份号码已登记 (ID number already registered)"}
		}
	}
	return sub, nil
}

// BatchItem is the fate of one input of CreateSubjects.
type BatchItem struct {
	Subject *Subject // set when created
	Err     error    // set when refused
}

// MaxBatch is the most subjects CreateSubjects takes at once.
const MaxBatch = 10000

// CreateSubjects registers many subjects: every input is validated on its
// own, the valid ones are stored together in one transaction, and each input
// gets its own result. A valid input is never dropped because a neighbour
// is bad: when the store refuses one element (a duplicate registered
// meanwhile), that element is reported and the rest are written again.
func (s *Service) CreateSubjects(ctx context.Context, ins []SubjectInput) ([]BatchItem, error) {
	const op = "registry.CreateSubjects"
	if len(ins) > MaxBatch {
		return nil, &errs.Error{Code: errs.TooLarge, Op: op, Message: fmt.Sprintf("一次最多登记 %d 个主体 (at most %d subjects per batch)", MaxBatch, MaxBatch)}
	}
	out := make([]BatchItem, len(ins))
	var pending []int // indexes of prepared subjects still to store
	codes, ids := map[string]int{}, map[string]int{}
	for i, in := range ins {
		sub, err := s.prepareSubject(ctx, in)
		if err == nil && sub.CreditCode != "" {
			if j, dup := codes[sub.CreditCode]; dup {
				err = &errs.Error{Code: errs.Conflict, Op: op, Field: "credit_code", Message: fmt.Sprintf("与本批第 %d 条的统一社会信用代码重复 (duplicate of item %d)", j+1, j+1)}
			}
			codes[sub.CreditCode] = i
		}
		if err == nil && !sub.IDNumber.Empty() {
			k := string(sub.IDNumber.Index)
			if j, dup := ids[k]; dup {
				err = &errs.Error{Code: errs.Conflict, Op: op, Field: "id_number", Message: fmt.Sprintf("与本批第 %d 条的公民身份号码重复 (duplicate of item %d)", j+1, j+1)}
			}
			ids[k] = i
		}
		if err != nil {
			if errs.Is(err, errs.Unauthorized) || errs.Is(err, errs.Unavailable) {
				return nil, errs.Wrap(op, err)
			}
			out[i].Err = errs.Wrap(op, err)
			continue
		}
		out[i].Subject = sub
		pending = append(pending, i)
	}
	for len(pending) > 0 {
		subs := make([]*Subject, len(pending))
		for k, i := range pending {
			subs[k] = out[i].Subject
		}
		err := s.Store.CreateSubjects(ctx, subs, func(sub *Subject) *audit.Entry { return s.createEntry(ctx, sub) })
		if err == nil {
			break
		}
		var be interface{ BatchIndex() int }
		if !errors.As(err, &be) || be.BatchIndex() < 0 || be.BatchIndex() >= len(pending) || errs.Is(err, errs.Unavailable) || errs.Is(err, errs.Internal) {
			return nil, errs.Wrap(op, err)
		}
		bad := pending[be.BatchIndex()]
		out[bad] = BatchItem{Err: errs.Wrap(op, err)}
		pending = append(pending[:be.BatchIndex()], pending[be.BatchIndex()+1:]...)
	}
	return out, nil
}

func kindList() string {
	var ks []string
	for _, k := range Kinds {
		ks = append(ks, string(k))
	}
	return strings.Join(ks, "、")
}

var markEnc = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// newMark returns a fresh identity verification mark: "ECM-" and 12 symbols
// of Crockford base32 (60 random bits).
func newMark() string {
	b := make([]byte, 8)
	rand.Read(b)
	m := markEnc.EncodeToString(b)[:12]
	return "ECM-" + m[:4] + "-" + m[4:8] + "-" + m[8:]
}

// NormalizeMark upper-cases a mark and fixes the usual misreadings.
func NormalizeMark(m string) string {
	m = strings.ToUpper(strings.TrimSpace(m))
	return strings.NewReplacer("O", "0", "I", "1", "L", "1", " ", "").Replace(strings.TrimPrefix(m, "ECM-")) // ECM- re-added below
}

// mayTouch says whether a platform actor may act on subject id: only when
// the subject owns a shop on the actor's platform. Other roles pass when
// they hold scope.
func (s *Service) mayTouch(ctx context.Context, a account.Actor, id int64, scope account.Scope) error {
	if a.Role == account.RolePlatform {
		if err := a.Require(scope); err != nil {
			return err
		}
		shops, err := s.Store.ListShops(ctx, ShopFilter{PlatformID: a.SubjectID, OwnerID: id, Limit: 1})
		if err != nil {
			return err
		}
		if len(shops) == 0 {
			return &errs.Error{Code: errs.Forbidden, Message: "该主体在本平台没有店铺，平台只能操作本平台店铺的经营者 (subject has no shop on your platform)"}
		}
		return nil
	}
	if a.Role == account.RoleLogistics && scope != account.ScopeSubjectsRead {
		// logistics firms may act on the couriers they registered
		sub, err := s.Store.GetSubject(ctx, id)
		if err != nil {
			return err
		}
		if sub.Kind == KindCourier && sub.CreatedBy == a.AccountID {
			return nil
		}
	}
	return a.Require(scope)
}

// UpdateSubject applies a patch.
func (s *Service) UpdateSubject(ctx context.Context, id int64, p SubjectPatch) (*Subject, error) {
	const op = "registry.UpdateSubject"
	a := account.From(ctx)
	if err := s.mayTouch(ctx, a, id, account.ScopeSubjectsWrite); err != nil {
		return nil, errs.Wrap(op, err)
	}
	sub, err := s.Store.GetSubject(ctx, id)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	if p.Version != 0 && p.Version != sub.Version {
		return nil, &errs.Error{Code: errs.Conflict, Op: op, Field: "version", Message: fmt.Sprintf("主体已被他人修改（当前版本 %d），请刷新后重试 (stale version)", sub.Version)}
	}
	var l errs.List
	var changed []string
	if p.Name != nil {
		n := strings.TrimSpace(*p.Name)
		checkText(&l, "name", n, maxName, true)
		if sub.Kind.Person() {
			sub.NameSeal = s.Keys.Seal(pii.KindName, n)
			n = pii.MaskName(n)
		}
		sub.Name = n
		changed = append(changed, "name")
	}
	if p.Form != nil {
		checkForm(&l, sub.Kind, *p.Form)
		sub.Form = *p.Form
		changed = append(changed, "form")
	}
	if p.Phone != nil {
		if *p.Phone == "" {
			sub.Phone = pii.Sealed{}
		} else if ph, err := NormalizePhone(*p.Phone); err != nil {
			l.Add("phone", "%s", err.Error())
		} else {
			sub.Phone = s.Keys.Seal(pii.KindPhone, ph)
		}
		changed = append(changed, "phone")
	}
	if p.LegalRep != nil {
		sub.LegalRep = strings.TrimSpace(*p.LegalRep)
		checkText(&l, "legal_rep", sub.LegalRep, 50, false)
		changed = append(changed, "legal_rep")
	}
	if p.RegionCode != nil {
		sub.RegionCode = strings.TrimSpace(*p.RegionCode)
		checkRegion(&l, "region_code", sub.RegionCode)
		changed = append(changed, "region_code")
	}
	if p.Address != nil {
		sub.Address = strings.TrimSpace(*p.Address)
		checkText(&l, "address", sub.Address, maxAddress, false)
		changed = append(changed, "address")
	}
	if p.Status != nil {
		if !p.Status.Valid() {
			l.Add("status", "状态必须是 active、pending、suspended、deregistered 之一 (unknown status)")
		}
		sub.Status = *p.Status
		changed = append(changed, "status")
	}
	if err := l.Err(); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if len(changed) == 0 {
		return nil, errs.Wrap(op, errs.Field("", "没有要修改的字段 (nothing to change)"))
	}
	sub.UpdatedAt = s.now()
	ev := a.Audit(audit.ActUpdate, "subject:"+strconv.FormatInt(id, 10), strings.Join(changed, ","))
	if err := s.Store.UpdateSubject(ctx, sub, ev); err != nil {
		return nil, errs.Wrap(op, err)
	}
	return sub, nil
}

// refresh derives the verification state from the clock: a passed
// verification whose due date has gone by is "expired".
func (s *Service) refresh(sub *Subject) *Subject {
	if sub.Verify == VerifyOK && !sub.ReverifyDue.IsZero() && !s.now().Before(sub.ReverifyDue) {
		sub.Verify = VerifyExpired
	}
	return sub
}

// GetSubject returns a subject (personal data stays sealed).
func (s *Service) GetSubject(ctx context.Context, id int64) (*Subject, error) {
	const op = "registry.GetSubject"
	if err := account.From(ctx).Require(account.ScopeSubjectsRead); err != nil {
		return nil, errs.Wrap(op, err)
	}
	sub, err := s.Store.GetSubject(ctx, id)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	return s.refresh(sub), nil
}

// FindByCode finds an organisation by its credit code (any case, spaces
// ignored). Anyone may call it: the result is public information.
func (s *Service) FindByCode(ctx context.Context, creditCode string) (*Subject, error) {
	const op = "registry.FindByCode"
	r := code.ParseUSCC(creditCode)
	if !r.Valid {
		return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "code", Message: "统一社会信用代码无效：" + strings.Join(r.Errors, "；")}
	}
	sub, err := s.Store.FindSubjectByCode(ctx, r.Normalized)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	return s.refresh(sub), nil
}

// CheckMark is the public check of an identity verification mark.
func (s *Service) CheckMark(ctx context.Context, mark string) (*Subject, error) {
	const op = "registry.CheckMark"
	m := NormalizeMark(mark)
	if len(m) != 14 || m[4] != '-' || m[9] != '-' {
		return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "mark", Message: "核验标识格式应为 ECM-XXXX-XXXX-XXXX (malformed mark)"}
	}
	sub, err := s.Store.FindSubjectByMark(ctx, "ECM-"+m)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, &errs.Error{Code: errs.NotFound, Op: op, Field: "mark", Message: "未找到该核验标识，可能是伪造的 (no such mark: it may be forged)"}
		}
		return nil, errs.Wrap(op, err)
	}
	return s.refresh(sub), nil
}

// ListSubjects lists subjects a page at a time.
func (s *Service) ListSubjects(ctx context.Context, f Filter) ([]*Subject, error) {
	const op = "registry.ListSubjects"
	a := account.From(ctx)
	if err := a.Require(account.ScopeSubjectsRead); err != nil {
		return nil, errs.Wrap(op, err)
	}
	// Which subjects sell on another platform is that platform's
	// business: a platform filters by its own platform only (as ListShops).
	if a.Role == account.RolePlatform && f.PlatformID != 0 && f.PlatformID != a.SubjectID {
		return nil, &errs.Error{Code: errs.Forbidden, Op: op, Field: "platform_id", Message: "平台只能按本平台筛选主体 (you may only filter by your own platform)"}
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	if f.Kind != "" && !f.Kind.Valid() {
		return nil, errs.Wrap(op, errs.Field("kind", "未知的主体类型 %q (unknown kind)", f.Kind))
	}
	if f.Status != "" && !f.Status.Valid() {
		return nil, errs.Wrap(op, errs.Field("status", "未知的状态 %q (unknown status)", f.Status))
	}
	list, err := s.Store.ListSubjects(ctx, f)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	for _, sub := range list {
		s.refresh(sub)
	}
	return list, nil
}

// Lookup finds a person by ID number or phone; the lookup itself is audited
// because it tests personal data.
func (s *Service) Lookup(ctx context.Context, idNumber, phone string) (*Subject, error) {
	const op = "registry.Lookup"
	a := account.From(ctx)
	if err := a.Require(account.ScopePersonalRead); err != nil {
		return nil, errs.Wrap(op, err)
	}
	f := Filter{Limit: 1}
	switch {
	case idNumber != "":
		r := code.ParseID(idNumber, s.now())
		if !r.Valid {
			return nil, errs.Wrap(op, errs.Field("id_number", "公民身份号码无效：%s", strings.Join(r.Errors, "；")))
		}
		f.IDIndex = s.Keys.Index(pii.KindIDNumber, r.Normalized)
	case phone != "":
		p, err := NormalizePhone(phone)
		if err != nil {
			return nil, errs.Wrap(op, errs.Field("phone", "%s", err.Error()))
		}
		f.PhoneIndex = s.Keys.Index(pii.KindPhone, p)
	default:
		return nil, errs.Wrap(op, errs.Field("id_number", "请提供 id_number 或 phone (give id_number or phone)"))
	}
	if err := s.Audit.Append(ctx, a.Audit(audit.ActLookup, "subject", "by hmac index")); err != nil {
		return nil, errs.Wrap(op, err)
	}
	list, err := s.Store.ListSubjects(ctx, f)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	if len(list) == 0 {
		return nil, &errs.Error{Code: errs.NotFound, Op: op, Message: "未找到 (not found)"}
	}
	return s.refresh(list[0]), nil
}

// Personal is a subject's personal data in clear.
type Personal struct {
	SubjectID int64  `json:"subject_id"`
	Name      string `json:"name"`
	IDNumber  string `json:"id_number,omitempty"`
	Phone     string `json:"phone,omitempty"`
}

// RevealPersonal decrypts a subject's personal data for an authorised actor
// and writes the read to the audit log before returning it.
func (s *Service) RevealPersonal(ctx context.Context, id int64, reason string) (*Personal, error) {
	const op = "registry.RevealPersonal"
	a := account.From(ctx)
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, errs.Wrap(op, errs.Field("reason", "查看个人信息必须填写事由，事由将记入审计日志 (a reason is required and is audited)"))
	}
	if utf8.RuneCountInString(reason) > 200 {
		return nil, errs.Wrap(op, errs.Field("reason", "事由不能超过 200 个字符 (reason too long)"))
	}
	if err := s.mayTouch(ctx, a, id, account.ScopePersonalRead); err != nil {
		return nil, errs.Wrap(op, err)
	}
	sub, err := s.Store.GetSubject(ctx, id)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	p := &Personal{SubjectID: id, Name: sub.Name}
	if !sub.NameSeal.Empty() {
		if p.Name, err = s.Keys.Open(pii.KindName, sub.NameSeal); err != nil {
			return nil, errs.Wrap(op, err)
		}
	}
	if p.IDNumber, err = s.Keys.Open(pii.KindIDNumber, sub.IDNumber); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if p.Phone, err = s.Keys.Open(pii.KindPhone, sub.Phone); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if err := s.Audit.Append(ctx, a.Audit(audit.ActReadPersonal, "subject:"+strconv.FormatInt(id, 10), reason)); err != nil {
		return nil, errs.Wrap(op, err)
	}
	return p, nil
}

// VerificationInput records a real-name verification.
type VerificationInput struct {
	Method string `json:"method"`
	Passed bool   `json:"passed"`
	Note   string `json:"note,omitempty"`
	// ValidDays overrides how long a passed verification stays valid.
	ValidDays int `json:"valid_days,omitempty"`
}

// Verify records a verification event and updates the subject's state.
func (s *Service) Verify(ctx context.Context, id int64, in VerificationInput) (*Verification, *Subject, error) {
	const op = "registry.Verify"
	a := account.From(ctx)
	if err := s.mayTouch(ctx, a, id, account.ScopeVerify); err != nil {
		return nil, nil, errs.Wrap(op, err)
	}
	var l errs.List
	if _, ok := Methods[in.Method]; !ok {
		var ms []string
		for m := range Methods {
			ms = append(ms, m)
		}
		l.Add("method", "核验方式未知，可用：%s (unknown method)", strings.Join(sortStrings(ms), ", "))
	}
	if in.ValidDays < 0 || in.ValidDays > 3*366 {
		l.Add("valid_days", "有效期须在 1–1098 天之间 (valid_days out of range)")
	}
	checkText(&l, "note", in.Note, 500, false)
	if err := l.Err(); err != nil {
		return nil, nil, errs.Wrap(op, err)
	}
	sub, err := s.Store.GetSubject(ctx, id)
	if err != nil {
		return nil, nil, errs.Wrap(op, err)
	}
	now := s.now()
	v := &Verification{SubjectID: id, Method: in.Method, Passed: in.Passed, VerifiedBy: a.Name, AccountID: a.AccountID, At: now, Note: strings.TrimSpace(in.Note)}
	if in.Passed {
		d := s.reverifyAfter()
		if in.ValidDays > 0 {
			d = time.Duration(in.ValidDays) * 24 * time.Hour
		}
		v.ValidUntil = now.Add(d)
		sub.Verify, sub.ReverifyDue = VerifyOK, v.ValidUntil
	} else {
		sub.Verify, sub.ReverifyDue = VerifyFailed, time.Time{}
	}
	sub.VerifiedAt, sub.VerifiedBy, sub.UpdatedAt = now, a.Name, now
	result := "failed"
	if in.Passed {
		result = "passed"
	}
	ev := a.Audit(audit.ActVerify, "subject:"+strconv.FormatInt(id, 10), in.Method+" "+result)
	if err := s.Store.AddVerification(ctx, v, sub, ev); err != nil {
		return nil, nil, errs.Wrap(op, err)
	}
	return v, sub, nil
}

// Verifications lists a subject's verification history, newest first.
func (s *Service) Verifications(ctx context.Context, id int64) ([]*Verification, error) {
	const op = "registry.Verifications"
	if err := account.From(ctx).Require(account.ScopeSubjectsRead); err != nil {
		return nil, errs.Wrap(op, err)
	}
	return s.Store.ListVerifications(ctx, id)
}

// DueForReverification lists subjects whose passed verification falls due
// before the given time (the console's work list), after the cursor.
func (s *Service) DueForReverification(ctx context.Context, before time.Time, after int64, limit int) ([]*Subject, error) {
	return s.ListSubjects(ctx, Filter{ReverifyBefore: before, After: after, Limit: limit})
}

func sortStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

// ShopInput registers a shop.
type ShopInput struct {
	PlatformID     int64  `json:"platform_id,omitempty"` // admin only; a platform's own id is implied
	OwnerID        int64  `json:"owner_id,omitempty"`
	OwnerCode      string `json:"owner_credit_code,omitempty"`
	Name           string `json:"name"`
	URL            string `json:"url"`
	Category       string `json:"category,omitempty"`
	PlatformShopID string `json:"platform_shop_id,omitempty"`
}

// ShopPatch changes a shop.
type ShopPatch struct {
	Name     *string `json:"name,omitempty"`
	URL      *string `json:"url,omitempty"`
	Category *string `json:"category,omitempty"`
	Status   *Status `json:"status,omitempty"`
	Version  int     `json:"version,omitempty"`
}

// ParseShopURL checks a shop URL and returns it with its lower-case host.
func ParseShopURL(raw string) (string, string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", "", fmt.Errorf("不能为空 (required)")
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || !strings.Contains(u.Hostname(), ".") {
		return "", "", fmt.Errorf("「%s」不是有效的网址 (not a valid http(s) URL)", raw)
	}
	if len(raw) > 500 {
		return "", "", fmt.Errorf("网址过长 (URL too long)")
	}
	return raw, strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")), nil
}

func checkCategory(l *errs.List, c string) {
	if c == "" {
		return
	}
	if _, ok := Categories[c]; !ok {
		var cs []string
		for k := range Categories {
			cs = append(cs, k)
		}
		l.Add("category", "经营类目未知，可用：%s (unknown category)", strings.Join(sortStrings(cs), ", "))
	}
}

// CreateShop registers a shop on a platform.
func (s *Service) CreateShop(ctx context.Context, in ShopInput) (*Shop, error) {
	const op = "registry.CreateShop"
	a := account.From(ctx)
	if err := a.Require(account.ScopeShopsWrite); err != nil {
		return nil, errs.Wrap(op, err)
	}
	var l errs.List
	platformID := in.PlatformID
	if a.Role == account.RolePlatform {
		if platformID != 0 && platformID != a.SubjectID {
			return nil, &errs.Error{Code: errs.Forbidden, Op: op, Field: "platform_id", Message: "平台只能在本平台登记店铺 (you may only register shops on your own platform)"}
		}
		platformID = a.SubjectID
	}
	if platformID == 0 {
		l.Add("platform_id", "必须指定所属平台 (platform_id required)")
	} else if p, err := s.Store.GetSubject(ctx, platformID); err != nil || p.Kind != KindPlatform {
		l.Add("platform_id", "平台 %d 不存在或不是电子商务平台 (no such platform)", platformID)
	}
	var owner *Subject
	switch {
	case in.OwnerID != 0:
		o, err := s.Store.GetSubject(ctx, in.OwnerID)
		if err != nil {
			l.Add("owner_id", "经营者 %d 不存在 (no such subject)", in.OwnerID)
		}
		owner = o
	case in.OwnerCode != "":
		r := code.ParseUSCC(in.OwnerCode)
		if !r.Valid {
			l.Add("owner_credit_code", "统一社会信用代码无效：%s", strings.Join(r.Errors, "；"))
		} else if o, err := s.Store.FindSubjectByCode(ctx, r.Normalized); err != nil {
			l.Add("owner_credit_code", "该代码尚未登记，请先登记经营者 (register the owner first)")
		} else {
			owner = o
		}
	default:
		l.Add("owner_id", "必须指定经营者 owner_id 或 owner_credit_code (owner required)")
	}
	if owner != nil && owner.Kind != KindMerchant && owner.Kind != KindSeller && owner.Kind != KindService {
		l.Add("owner_id", "「%s」不能开设店铺，经营者须为平台内经营者或个人卖家 (owner must be a merchant or seller)", owner.Kind.Label())
	}
	name := strings.TrimSpace(in.Name)
	checkText(&l, "name", name, maxName, true)
	u, domain, err := ParseShopURL(in.URL)
	if err != nil {
		l.Add("url", "%s", err.Error())
	}
	checkCategory(&l, in.Category)
	checkText(&l, "platform_shop_id", in.PlatformShopID, 64, false)
	if err := l.Err(); err != nil {
		return nil, errs.Wrap(op, err)
	}
	now := s.now()
	sh := &Shop{PlatformID: platformID, OwnerID: owner.ID, Name: name, URL: u, Domain: domain, Category: in.Category,
		Status: StatusActive, PlatformShopID: strings.TrimSpace(in.PlatformShopID), CreatedAt: now, UpdatedAt: now}
	ev := a.Audit(audit.ActCreate, "shop", name+" "+domain)
	if err := s.Store.CreateShop(ctx, sh, ev); err != nil {
		return nil, errs.Wrap(op, err)
	}
	return sh, nil
}

// shopFor loads a shop the actor may see; another platform's shop is
// NotFound, so that its existence does not leak.
func (s *Service) shopFor(ctx context.Context, a account.Actor, id int64) (*Shop, error) {
	sh, err := s.Store.GetShop(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Role == account.RolePlatform && sh.PlatformID != a.SubjectID {
		return nil, &errs.Error{Code: errs.NotFound, Message: fmt.Sprintf("店铺 %d 不存在 (no such shop)", id)}
	}
	return sh, nil
}

// GetShop returns one shop.
func (s *Service) GetShop(ctx context.Context, id int64) (*Shop, error) {
	const op = "registry.GetShop"
	a := account.From(ctx)
	if err := a.Require(account.ScopeSubjectsRead); err != nil {
		return nil, errs.Wrap(op, err)
	}
	sh, err := s.shopFor(ctx, a, id)
	return sh, errs.Wrap(op, err)
}

// UpdateShop changes a shop.
func (s *Service) UpdateShop(ctx context.Context, id int64, p ShopPatch) (*Shop, error) {
	const op = "registry.UpdateShop"
	a := account.From(ctx)
	if err := a.Require(account.ScopeShopsWrite); err != nil {
		return nil, errs.Wrap(op, err)
	}
	sh, err := s.shopFor(ctx, a, id)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	if p.Version != 0 && p.Version != sh.Version {
		return nil, &errs.Error{Code: errs.Conflict, Op: op, Field: "version", Message: fmt.Sprintf("店铺已被修改（当前版本 %d），请刷新后重试 (stale version)", sh.Version)}
	}
	var l errs.List
	if p.Name != nil {
		sh.Name = strings.TrimSpace(*p.Name)
		checkText(&l, "name", sh.Name, maxName, true)
	}
	if p.URL != nil {
		u, d, err := ParseShopURL(*p.URL)
		if err != nil {
			l.Add("url", "%s", err.Error())
		}
		sh.URL, sh.Domain = u, d
	}
	if p.Category != nil {
		checkCategory(&l, *p.Category)
		sh.Category = *p.Category
	}
	if p.Status != nil {
		if !p.Status.Valid() {
			l.Add("status", "未知的状态 (unknown status)")
		}
		sh.Status = *p.Status
	}
	if err := l.Err(); err != nil {
		return nil, errs.Wrap(op, err)
	}
	sh.UpdatedAt = s.now()
	ev := a.Audit(audit.ActUpdate, "shop:"+strconv.FormatInt(id, 10), "")
	if err := s.Store.UpdateShop(ctx, sh, ev); err != nil {
		return nil, errs.Wrap(op, err)
	}
	return sh, nil
}

// ListShops lists shops; a platform sees only its own.
func (s *Service) ListShops(ctx context.Context, f ShopFilter) ([]*Shop, error) {
	const op = "registry.ListShops"
	a := account.From(ctx)
	if err := a.Require(account.ScopeSubjectsRead); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if a.Role == account.RolePlatform {
		if f.PlatformID != 0 && f.PlatformID != a.SubjectID {
			return nil, &errs.Error{Code: errs.Forbidden, Op: op, Field: "platform_id", Message: "平台只能查看本平台的店铺 (you may only list your own shops)"}
		}
		f.PlatformID = a.SubjectID
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	return s.Store.ListShops(ctx, f)
}
