package trace

import (
	"context"
	"slices"
	"strings"
	"time"

	"ecredit/record"
	"ecredit/registry"
)

// Categories of products are registry's shop categories (registry.Categories):
// food, drugs, medical_devices, agricultural, agri_inputs, daily_goods,
// apparel, electronics, special_equipment, hazardous, services, other.

// LicenceRule says which licence records cover a licensed category: a
// licence record (type licence) whose certificate name, document name or
// content mentions one of Keywords.
type LicenceRule struct {
	Category string   `json:"category"`
	Label    string   `json:"label"`
	Keywords []string `json:"keywords"`
}

// LicenceRules are the categories that need an administrative licence to be
// made or sold (食品经营许可 and 食品生产许可, 药品经营许可, 医疗器械经营
// 许可 or 备案, 农药/兽药/种子/肥料 licences, 特种设备生产许可, 危险化学品
// 经营许可). registry.LicensedCategories also lists primary agricultural
// products and daily goods, which sellers may sell without a licence of
// their own; they are not flagged here.
var LicenceRules = []LicenceRule{
	{"food", "食品", []string{"食品"}},
	{"drugs", "药品", []string{"药品"}},
	{"medical_devices", "医疗器械", []string{"医疗器械"}},
	{"agri_inputs", "农资", []string{"农药", "兽药", "种子", "肥料", "农资", "饲料"}},
	{"special_equipment", "特种设备", []string{"特种设备"}},
	{"hazardous", "危险化学品", []string{"危险化学品", "危化品"}},
}

// categoryAliases map the Chinese names and common sub-categories an order
// item may carry to a category key.
var categoryAliases = map[string]string{
	"食品": "food", "预包装食品": "food", "保健食品": "food", "农产品": "agricultural", "药品": "drugs",
	"医疗器械": "medical_devices", "农资": "agri_inputs", "农药": "agri_inputs", "兽药": "agri_inputs",
	"种子": "agri_inputs", "肥料": "agri_inputs", "化肥": "agri_inputs", "饲料": "agri_inputs",
	"特种设备": "special_equipment", "危险化学品": "hazardous", "危化品": "hazardous",
	"日用消费品": "daily_goods", "服装鞋帽": "apparel", "数码家电": "electronics", "生活服务": "services", "其他": "other",
}

// NormalizeCategory maps a category key, its Chinese name or an alias
// (农药, 兽药 …) to the category key; ok is false for an unknown category.
func NormalizeCategory(c string) (string, bool) {
	c = strings.TrimSpace(c)
	if _, ok := registry.Categories[strings.ToLower(c)]; ok {
		return strings.ToLower(c), true
	}
	if k, ok := categoryAliases[c]; ok {
		return k, true
	}
	return "", false
}

// CategoryLabel is the Chinese name of a category.
func CategoryLabel(c string) string {
	if l, ok := registry.Categories[c]; ok {
		return l
	}
	return c
}

// RuleFor returns the licence rule of a category, if it needs a licence.
func RuleFor(category string) (*LicenceRule, bool) {
	k, ok := NormalizeCategory(category)
	if !ok {
		return nil, false
	}
	for i := range LicenceRules {
		if LicenceRules[i].Category == k {
			return &LicenceRules[i], true
		}
	}
	return nil, false
}

// LicenceFlag is the licence state of one licensed category for a subject.
type LicenceFlag struct {
	Category string `json:"category"`
	Label    string `json:"label"`
	// Licensed: a valid licence record covers the category. Licence is
	// its document number and ValidUntil its end ("" for none).
	Licensed   bool   `json:"licensed"`
	Licence    string `json:"licence,omitempty"`
	RecordID   int64  `json:"record_id,omitempty"`
	ValidUntil string `json:"valid_until,omitempty"`
	// Flagged: the category needs a licence and none is valid.
	Flagged bool   `json:"flagged"`
	Reason  string `json:"reason,omitempty"`
}

// validLicence reports whether licence record r is in force on day
// (YYYY-MM-DD): active, valid_from ≤ day (or empty), day ≤ valid_until
// (or empty).
func validLicence(r *record.Record, day string) bool {
	if r.Type != record.TypeLicence || r.Status != record.StatusActive {
		return false
	}
	if f := r.Fields["valid_from"]; f != "" && f > day {
		return false
	}
	if u := r.Fields["valid_until"]; u != "" && u < day {
		return false
	}
	return true
}

// covers reports whether licence record r names one of the rule's keywords.
func (rule *LicenceRule) covers(r *record.Record) bool {
	text := r.Fields["certificate_name"] + " " + r.Fields["doc_name"] + " " + r.Fields["item_name"] + " " + r.Fields["content"]
	for _, k := range rule.Keywords {
		if strings.Contains(text, k) {
			return true
		}
	}
	return false
}

// licenceFlags checks the categories against the subject's licence
// records as of now. Categories that need no licence are left out.
func (s *Service) licenceFlags(ctx context.Context, subjectID int64, categories []string, now time.Time) ([]LicenceFlag, error) {
	var rules []*LicenceRule
	for _, c := range categories {
		if r, ok := RuleFor(c); ok && !slices.Contains(rules, r) {
			rules = append(rules, r)
		}
	}
	if len(rules) == 0 {
		return []LicenceFlag{}, nil
	}
	slices.SortFunc(rules, func(a, b *LicenceRule) int { return strings.Compare(a.Category, b.Category) })
	var lics []*record.Record
	after := int64(0)
	for {
		rs, err := s.Records.ListRecords(ctx, record.Filter{SubjectID: subjectID, Type: record.TypeLicence, After: after, Limit: 500})
		if err != nil {
			return nil, err
		}
		lics = append(lics, rs...)
		if len(rs) < 500 {
			break
		}
		after = rs[len(rs)-1].ID
	}
	day := record.DateOf(now)
	out := make([]LicenceFlag, 0, len(rules))
	for _, rule := range rules {
		f := LicenceFlag{Category: rule.Category, Label: rule.Label}
		expired := false
		for _, r := range lics {
			if !rule.covers(r) {
				continue
			}
			if validLicence(r, string(day)) {
				// Prefer the licence valid the longest.
				if !f.Licensed || r.Fields["valid_until"] == "" || (f.ValidUntil != "" && r.Fields["valid_until"] > f.ValidUntil) {
					f.Licensed, f.Licence, f.RecordID, f.ValidUntil = true, r.SourceRef, r.ID, r.Fields["valid_until"]
				}
			} else {
				expired = true
			}
		}
		if !f.Licensed {
			f.Flagged = true
			f.Reason = "未登记有效的「" + rule.Label + "」相关行政许可 (no valid licence record)"
			if expired {
				f.Reason = "「" + rule.Label + "」相关行政许可已过期、已撤回或未生效 (licence expired, withdrawn or not yet valid)"
			}
		}
		out = append(out, f)
	}
	return out, nil
}
