package record

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"ecredit/code"
	"ecredit/errs"
	"ecredit/pii"
)

// Input is one record as submitted: by the API (JSON), a batch line
// (NDJSON) or a file row (package imports).
type Input struct {
	Type Type `json:"type"`
	// Fields by field key, 2.0 code (CF_WSH) or Chinese header (行政处罚决定书文号).
	Fields map[string]string `json:"fields"`
	// SourceRef is the source's own id; may be omitted when the type's
	// reference fields (文书号 …) are filled.
	SourceRef string `json:"source_ref,omitempty"`
	// Correct asks to replace an existing record with the same source ref
	// whose content differs (a correction event). Without it such an
	// input is a conflict.
	Correct bool   `json:"correct,omitempty"`
	Reason  string `json:"reason,omitempty"` // reason for a correction
}

// FieldError names the field of an input that is wrong.
func fieldName(key string) string { return "fields." + key }

// FieldKey is the inverse of the error field of a record field: "fields.doc_no" → "doc_no".
func FieldKey(errField string) (string, bool) {
	return strings.CutPrefix(errField, "fields.")
}

const (
	maxOpenExtra    = 50
	maxOpenKeyLen   = 50
	maxOpenValueLen = 2000
)

// normalized is the validated content of an Input.
type normalized struct {
	def      *TypeDef
	fields   map[string]string
	personal map[string]string
	ref      string
	code     string // credit code, normalised
	idIndex  string // person subject: hex HMAC of the ID number
	idMasked string
	idClear  string // only to create a pending person subject; never stored in a record
	name     string // clear name (for a pending subject)
	person   bool
	decision Date
	warnings []string
}

// normalize validates in against its type's schema.
func (s *Service) normalize(in Input, now time.Time) (*normalized, error) {
	var l errs.List
	def, ok := Lookup(in.Type)
	if !ok {
		l.Add("type", "记录类型必须是 %s 之一 (unknown record type %q)", TypeNames(), in.Type)
		return nil, l.Err()
	}
	n := &normalized{def: def, fields: map[string]string{}, personal: map[string]string{}}
	raw := map[string]string{}
	extras := 0
	for k, v := range in.Fields {
		v = strings.TrimSpace(strings.TrimPrefix(v, "\ufeff"))
		key, ok := def.Resolve(k)
		if !ok {
			if !def.Open {
				l.Add(fieldName(k), "「%s」不是「%s」的字段 (unknown field)", k, def.Name)
				continue
			}
			// A custom field is stored as "x:NAME"; given back under that
			// name (a re-submission or re-import of stored fields) it is
			// the same field, not "x:x:NAME".
			k = strings.TrimPrefix(strings.TrimSpace(k), "x:")
			extras++
			switch {
			case k == "" || utf8.RuneCountInString(k) > maxOpenKeyLen || strings.ContainsAny(k, "\x00\r\n\t") || !utf8.ValidString(k):
				l.Add(fieldName(k), "自定义字段名必须为 1–%d 个字符且不含控制字符 (invalid custom field name)", maxOpenKeyLen)
			case extras > maxOpenExtra:
				l.Add(fieldName(k), "自定义字段不能超过 %d 个 (too many custom fields)", maxOpenExtra)
			case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
				l.Add(fieldName(k), "不是有效的文本 (invalid text)")
			case utf8.RuneCountInString(v) > maxOpenValueLen:
				l.Add(fieldName(k), "不能超过 %d 个字符 (too long)", maxOpenValueLen)
			case v != "":
				n.fields["x:"+k] = v
			}
			continue
		}
		if prev, dup := raw[key]; dup && prev != "" && v != "" && prev != v {
			l.Add(fieldName(key), "字段「%s」给出了两个不同的值 (field given twice)", k)
			continue
		}
		if v != "" || raw[key] == "" {
			raw[key] = v
		}
	}
	// Legacy second penalty category merges into the first.
	if c2 := raw["category2"]; c2 != "" && def.Type == TypePenalty {
		if raw["category"] == "" {
			raw["category"] = c2
		} else {
			raw["category"] += ";" + c2
		}
		delete(raw, "category2")
	}
	for _, f := range def.Fields {
		v := raw[f.Key]
		if v == "" {
			if f.Required {
				l.Add(fieldName(f.Key), "「%s」不能为空 (required)", f.Name)
			}
			continue
		}
		nv, err := s.normalizeValue(&f, v, raw, now, n)
		if err != nil {
			l.Add(fieldName(f.Key), "「%s」%s", f.Name, err.Error())
			continue
		}
		if nv != "" {
			n.fields[f.Key] = nv
		}
	}
	if err := l.Err(); err != nil {
		return nil, err
	}

	// Subject identity.
	n.code = n.fields["credit_code"]
	n.name = n.fields["subject_name"]
	if n.code == "" {
		if idx, ok := n.personal["id_number"]; ok {
			n.person = true
			n.idIndex, n.idMasked = idx, n.fields["id_number"]
		} else {
			l.Add(fieldName("credit_code"), "必须提供统一社会信用代码，自然人提供证件号码 (a credit code, or an ID number for a person, is required)")
		}
	}
	if n.fields["subject_category"] == "person" && n.code != "" && !strings.HasPrefix(n.code, "92") {
		n.warnings = append(n.warnings, "相对人类别为自然人，但给出的是组织的统一社会信用代码 (category person with an organisation code)")
	}
	if n.person {
		// The real name of a person is personal data: keep its mask and index.
		n.personal["subject_name"] = hex.EncodeToString(s.Keys.Index(pii.KindName, n.name))
		n.fields["subject_name"] = pii.MaskName(n.name)
	}

	// Source reference.
	var parts []string
	for _, k := range def.RefFields {
		parts = append(parts, n.fields[k])
	}
	n.ref = strings.Join(parts, "/")
	if strings.TrimSpace(in.SourceRef) != "" {
		ref := strings.TrimSpace(in.SourceRef)
		if n.ref != "" && ref != n.ref {
			l.Add("source_ref", "source_ref「%s」与%s「%s」不一致 (source_ref differs from the record's own id)", ref, refNames(def), n.ref)
		}
		n.ref = ref
	}
	if utf8.RuneCountInString(n.ref) > 256 {
		l.Add("source_ref", "来源编号不能超过 256 个字符 (too long)")
	}
	n.decision = Date(n.fields[def.DateField])

	// Cross-field checks.
	switch def.Type {
	case TypeLicence:
		if a, b := n.fields["valid_from"], n.fields["valid_until"]; a != "" && b != "" && b < a {
			l.Add(fieldName("valid_until"), "有效期至（%s）早于有效期自（%s）(valid_until before valid_from)", b, a)
		}
	case TypePenalty:
		if u := n.fields["publicity_until"]; u != "" && u < string(n.decision) {
			l.Add(fieldName("publicity_until"), "公示截止期（%s）早于处罚决定日期（%s）(publicity ends before the decision)", u, n.decision)
		}
	case TypeCommitment:
		if u := n.fields["term_until"]; u != "" && u < string(n.decision) {
			l.Add(fieldName("term_until"), "承诺期限（%s）早于承诺日期（%s）(term ends before the commitment)", u, n.decision)
		}
	}
	if n.decision != "" && n.decision > DateOf(now).AddDate(0, 0, 1) && def.Type != TypeTaxGrade {
		l.Add(fieldName(def.DateField), "日期 %s 晚于今天 (date in the future)", n.decision)
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	return n, nil
}

func refNames(def *TypeDef) string {
	var s []string
	for _, k := range def.RefFields {
		f, _ := def.Field(k)
		s = append(s, f.Name)
	}
	return strings.Join(s, "+")
}

// normalizeValue checks and normalises one non-empty value.
func (s *Service) normalizeValue(f *Field, v string, raw map[string]string, now time.Time, n *normalized) (string, error) {
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		return "", fmt.Errorf("不是有效的文本 (invalid text)")
	}
	switch f.Kind {
	case KindText:
		if f.MaxLen > 0 && utf8.RuneCountInString(v) > f.MaxLen {
			return "", fmt.Errorf("不能超过 %d 个字符，实为 %d 个 (too long)", f.MaxLen, utf8.RuneCountInString(v))
		}
		if f.MaxLen <= 200 && strings.ContainsAny(v, "\r\n\t") {
			return "", fmt.Errorf("不能包含换行或制表符 (control characters)")
		}
		return strings.ReplaceAll(v, "\r\n", "\n"), nil
	case KindDate:
		d, err := ParseDate(v)
		return string(d), err
	case KindDecimal:
		return ParseDecimal(v, strings.Contains(f.Name, "万元"))
	case KindYear:
		d := narrow(v)
		d = strings.TrimSuffix(strings.TrimSuffix(d, "年度"), "年")
		if len(d) != 4 || !allDigitsOrDot(d) || strings.Contains(d, ".") || d < "1990" || d > "2100" {
			return "", fmt.Errorf("「%s」不是有效年度，应为四位数字年份 (year must be 4 digits)", v)
		}
		return d, nil
	case KindEnum:
		if !f.Multi {
			ev, ok := f.matchEnum(v)
			if !ok {
				return "", fmt.Errorf("「%s」不是有效值，应为 %s 之一 (not an allowed value)", v, f.enumChoices())
			}
			return ev, nil
		}
		var out []string
		seen := map[string]bool{}
		for _, p := range strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(";；、,，/|", r) }) {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			ev, ok := f.matchEnum(p)
			if !ok {
				return "", fmt.Errorf("「%s」不是有效值，应为 %s 中的一个或多个 (not an allowed value)", p, f.enumChoices())
			}
			if !seen[ev] {
				seen[ev] = true
				out = append(out, ev)
			}
		}
		if len(out) == 0 {
			return "", fmt.Errorf("不能为空 (required)")
		}
		return strings.Join(out, ";"), nil
	case KindCode:
		r := code.ParseUSCC(v)
		if !r.Valid {
			return "", fmt.Errorf("「%s」不是有效的统一社会信用代码：%s", v, strings.Join(r.Errors, "；"))
		}
		if len(r.Warnings) > 0 {
			n.warnings = append(n.warnings, f.Name+"："+strings.Join(r.Warnings, "；"))
		}
		return r.Normalized, nil
	case KindIDNumber:
		typeKey := "id_type"
		if f.Key == "legal_rep_id_number" {
			typeKey = "legal_rep_id_type"
		}
		norm := strings.ToUpper(strings.ReplaceAll(narrow(v), " ", ""))
		if t := raw[typeKey]; t == "" || HeaderKey(t) == "01" || strings.Contains(t, "身份证") {
			r := code.ParseID(v, now)
			if !r.Valid {
				return "", fmt.Errorf("不是有效的公民身份号码：%s", strings.Join(r.Errors, "；"))
			}
			norm = r.Normalized
		} else if utf8.RuneCountInString(norm) > 30 || utf8.RuneCountInString(norm) < 5 {
			return "", fmt.Errorf("证件号码长度应为 5–30 个字符 (ID number length)")
		}
		if s.Keys == nil {
			return "", fmt.Errorf("系统未配置个人信息密钥，无法接收证件号码 (no personal-data key configured)")
		}
		n.personal[f.Key] = hex.EncodeToString(s.Keys.Index(pii.KindIDNumber, norm))
		if f.Key == "id_number" {
			n.idClear = norm
		}
		return pii.MaskID(norm), nil
	}
	return v, nil
}
