package record

import (
	"math/big"
	"sort"
	"strings"
	"time"
)

// Term is the publicity rule of a record type other than penalties.
type Term struct {
	Public bool // disclosed at all
	// Months is how long after the decision date the record stays public
	// when UntilField gives no end; 0 means indefinitely.
	Months int
	// UntilField names the field whose date ends the publicity (licence
	// 有效期至, commitment 承诺期限); dates from 2099-12-31 on mean "长期".
	UntilField string
	// When, if set, limits publicity to records whose field has the value
	// (tax grades: only grade A is published).
	When map[string]string
}

// Policy is one effective-dated version of the publicity rules.
type Policy struct {
	EffectiveFrom Date   // applies to records decided on or after this date
	Name          string // the rule it implements

	// Penalty tiers, in months from the decision date.
	LightMonths      int // light: published at most this long
	GeneralMinMonths int // general: repairable after, and published at most …
	GeneralMaxMonths int
	SevereMinMonths  int
	SevereMaxMonths  int

	// Fines in 万元 for deriving the severity of a penalty. A fine at or
	// below the Art. 51 simple-procedure limit (¥200 person, ¥3,000
	// organisation) with at most a warning is light; a fine at or above the
	// "较大数额" threshold is severe. 较大数额 is set by each province;
	// the defaults are configuration, not law.
	LightFinePerson string
	LightFineOrg    string
	LargeFinePerson string
	LargeFineOrg    string

	ObjectionDays        int  // an objection must be answered within …
	ObjectionWorkingDays bool // … working days (true) or calendar days
	WithdrawWorkingDays  int  // Art. 48: withdraw within … working days

	Terms map[Type]Term
}

// Policies are the versions of the rules, any order.
type Policies []Policy

// At returns the policy in force for a decision on date d: the one with
// the latest EffectiveFrom not after d (the earliest when d precedes all).
func (ps Policies) At(d Date) *Policy {
	if len(ps) == 0 {
		p := DefaultPolicies()[len(DefaultPolicies())-1]
		return &p
	}
	sorted := make([]int, len(ps))
	for i := range sorted {
		sorted[i] = i
	}
	sort.Slice(sorted, func(a, b int) bool { return ps[sorted[a]].EffectiveFrom < ps[sorted[b]].EffectiveFrom })
	best := sorted[0]
	for _, i := range sorted {
		if d == "" || ps[i].EffectiveFrom <= d {
			best = i
		}
	}
	return &ps[best]
}

// Latest returns the newest policy.
func (ps Policies) Latest() *Policy {
	return ps.At("9999-12-31")
}

func defaultTerms() map[Type]Term {
	return map[Type]Term{
		TypeRegistration: {Public: true},
		TypeLicence:      {Public: true, UntilField: "valid_until"},
		TypeCommitment:   {Public: true, UntilField: "term_until"},
		TypeInspection:   {Public: true, Months: 12},
		TypeHonour:       {Public: true, Months: 36, UntilField: "valid_until"},
		TypeJudgement:    {Public: true},
		TypePaymentFraud: {Public: false},
		TypeTaxGrade:     {Public: true, Months: 12, When: map[string]string{"grade": "A"}},
		TypeOther:        {Public: true, Months: 12, UntilField: "valid_until"},
	}
}

// DefaultPolicies returns the rules of domain research §2.4:
//   - from 2019-07-01, 发改办财金〔2019〕527号: general penalties published
//     3 months – 1 year, severe 6 months – 3 years; light ones (SAMR 2021
//     Art. 13: 通报批评 or a low fine) 3 months;
//   - from 2026-04-01, NDRC Order 36《信用修复管理办法》: light ≤ 3 months,
//     general 3 months – 1 year, severe 1 – 3 years.
//
// Objections are answered within 20 calendar days; withdrawals are due 3
// working days after the revocation (Art. 48, Art. 85).
func DefaultPolicies() Policies {
	base := Policy{
		LightMonths: 3, GeneralMinMonths: 3, GeneralMaxMonths: 12, SevereMaxMonths: 36,
		LightFinePerson: "0.02", LightFineOrg: "0.3", LargeFinePerson: "1", LargeFineOrg: "10",
		ObjectionDays: 20, WithdrawWorkingDays: 3,
	}
	p2019 := base
	p2019.EffectiveFrom, p2019.Name, p2019.SevereMinMonths = "2019-07-01", "发改办财金〔2019〕527号", 6
	p2019.Terms = defaultTerms()
	p2026 := base
	p2026.EffectiveFrom, p2026.Name, p2026.SevereMinMonths = "2026-04-01", "国家发展改革委令第36号《信用修复管理办法》", 12
	p2026.Terms = defaultTerms()
	return Policies{p2019, p2026}
}

// severeCategories are the penalty categories that make a penalty severe:
// Art. 63 hearing-level penalties and SAMR's 较重行政处罚.
var severeCategories = map[string]bool{
	"revoke_licence": true, "lower_qualification": true, "restrict_business": true,
	"suspend_business": true, "close": true, "restrict_practice": true, "detention": true,
}

// lightCategories may appear in a light penalty.
var lightCategories = map[string]bool{"warning": true, "criticism": true, "fine": true}

// DeriveSeverity classifies a penalty from its categories (values joined
// by ";") and its fine in 万元: severe for a severe category or a fine at
// or above the 较大数额 threshold; light when it is only a warning, a
// criticism and/or a fine within the simple-procedure limit; else general.
func (p *Policy) DeriveSeverity(categories, fine string, person bool) Severity {
	cats := splitMulti(categories)
	f, hasFine := decimalRat(fine)
	large, light := p.LargeFineOrg, p.LightFineOrg
	if person {
		large, light = p.LargeFinePerson, p.LightFinePerson
	}
	for _, c := range cats {
		if severeCategories[c] {
			return SeveritySevere
		}
	}
	if hasFine {
		if l, ok := decimalRat(large); ok && f.Cmp(l) >= 0 {
			return SeveritySevere
		}
	}
	onlyLight := len(cats) > 0
	for _, c := range cats {
		if !lightCategories[c] {
			onlyLight = false
		}
	}
	if onlyLight {
		if !hasFine {
			for _, c := range cats {
				if c == "fine" {
					return SeverityGeneral // a fine of unknown amount
				}
			}
			f = new(big.Rat)
		}
		if l, ok := decimalRat(light); ok && f.Cmp(l) <= 0 {
			return SeverityLight
		}
	}
	return SeverityGeneral
}

func splitMulti(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ";")
}

// PermanentFrom is the conventional "长期" date in 双公示 data: a validity
// ending on or after it is open-ended.
const PermanentFrom Date = "2099-12-31"

// publicity sets r.Public, r.PublicFrom and r.PublicUntil from the policy
// in force on the decision date.
func (ps Policies) publicity(def *TypeDef, r *Record) {
	p := ps.At(r.DecisionDate)
	r.Public, r.PublicFrom, r.PublicUntil = false, "", ""
	if !def.Public {
		return
	}
	from := r.DecisionDate
	if def.Type == TypePenalty {
		r.Public, r.PublicFrom = true, from
		switch {
		case r.Fields["publicity_until"] != "":
			r.PublicUntil = Date(r.Fields["publicity_until"])
		case r.Fields["publicity_years"] != "":
			if y, ok := decimalRat(r.Fields["publicity_years"]); ok && y.IsInt() && y.Num().Int64() > 0 && y.Num().Int64() <= 10 {
				r.PublicUntil = from.AddDate(int(y.Num().Int64()), 0, -1)
				return
			}
			fallthrough
		default:
			months := p.GeneralMaxMonths
			switch r.Severity {
			case SeverityLight:
				months = p.LightMonths
			case SeveritySevere:
				months = p.SevereMaxMonths
			}
			r.PublicUntil = from.AddDate(0, months, -1)
		}
		return
	}
	t, ok := p.Terms[def.Type]
	if !ok || !t.Public {
		return
	}
	for k, v := range t.When {
		if r.Fields[k] != v {
			return
		}
	}
	r.Public, r.PublicFrom = true, from
	until := Date("")
	if t.UntilField != "" {
		until = Date(r.Fields[t.UntilField])
	}
	if def.Type == TypeLicence && r.Fields["publicity_until"] != "" {
		until = Date(r.Fields["publicity_until"])
	}
	switch {
	case until != "" && until >= PermanentFrom:
		r.PublicUntil = ""
	case until != "":
		r.PublicUntil = until
	case t.Months > 0:
		r.PublicUntil = from.AddDate(0, t.Months, -1)
	}
}

// RepairableFrom is the first date a penalty may be repaired: its decision
// date plus the minimum publicity of its tier (light: at once).
func (ps Policies) RepairableFrom(r *Record) Date {
	p := ps.At(r.DecisionDate)
	switch r.Severity {
	case SeverityLight:
		return r.DecisionDate
	case SeveritySevere:
		return r.DecisionDate.AddDate(0, p.SevereMinMonths, 0)
	}
	return r.DecisionDate.AddDate(0, p.GeneralMinMonths, 0)
}

// InPublicView reports whether the public portal shows r at now: active
// (not withdrawn, not repaired), of a disclosed type, and within its
// publicity window. A record past its window stays in the archive.
func InPublicView(r *Record, now time.Time) bool {
	if r == nil || !r.Public || r.Status != StatusActive {
		return false
	}
	today := DateOf(now)
	if r.PublicFrom != "" && today < r.PublicFrom {
		return false
	}
	if r.PublicUntil != "" && today > r.PublicUntil {
		return false
	}
	return true
}

// Counts reports whether r counts in evaluations (grades, lists): active
// records only; a repaired or withdrawn record stops counting.
func Counts(r *Record) bool { return r != nil && r.Status == StatusActive }

// PublicState describes where a record stands for display: "public",
// "scheduled" (window not begun), "expired" (archived after its window),
// "hidden" (never disclosed), "withdrawn" or "repaired".
func PublicState(r *Record, now time.Time) string {
	switch {
	case r.Status == StatusWithdrawn:
		return "withdrawn"
	case r.Status == StatusRepaired:
		return "repaired"
	case !r.Public:
		return "hidden"
	case InPublicView(r, now):
		return "public"
	case r.PublicFrom != "" && DateOf(now) < r.PublicFrom:
		return "scheduled"
	}
	return "expired"
}
