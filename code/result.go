package code

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Kind is the kind of identifier a Result describes.
type Kind string

// The kinds of identifier.
const (
	KindUSCC     Kind = "uscc"
	KindIDNumber Kind = "id_number"
	KindGTIN     Kind = "gtin"
	KindRegion   Kind = "region"
	KindUnknown  Kind = "unknown"
)

var kindLabels = map[Kind]string{
	KindUSCC:     "统一社会信用代码",
	KindIDNumber: "公民身份号码",
	KindGTIN:     "商品条码",
	KindRegion:   "行政区划代码",
	KindUnknown:  "未知",
}

// Label returns the Chinese name of the kind (统一社会信用代码 …).
func (k Kind) Label() string {
	if l, ok := kindLabels[k]; ok {
		return l
	}
	return kindLabels[KindUnknown]
}

// Result is what every parser returns. Its JSON form is the public contract
// of `ecredit code --json` and `GET /api/v1/codes/{code}`.
type Result struct {
	Input      string `json:"input"`
	Normalized string `json:"normalized,omitempty"` // upper-cased, spaces/dashes removed; 15-digit IDs upgraded to 18
	Kind       Kind   `json:"kind"`
	KindLabel  string `json:"kind_label"` // 统一社会信用代码 / 公民身份号码 / 商品条码 GTIN-13 / 行政区划代码 / 未知
	Valid      bool   `json:"valid"`
	Region     string `json:"region,omitempty"`      // 6-digit GB/T 2260 code found in the code
	RegionName string `json:"region_name,omitempty"` // full name e.g. 河北省承德市双桥区
	// USCC parts
	Authority      string `json:"authority,omitempty"`       // position 1, e.g. "9"
	AuthorityLabel string `json:"authority_label,omitempty"` // 工商 (市场监管)
	Category       string `json:"category,omitempty"`        // position 2
	CategoryLabel  string `json:"category_label,omitempty"`  // 企业 / 个体工商户 / …
	OrgCode        string `json:"org_code,omitempty"`        // positions 9–17 as XXXXXXXX-X
	// ID parts
	BirthDate string `json:"birth_date,omitempty"` // 1949-12-31
	Sex       string `json:"sex,omitempty"`        // male / female
	SexLabel  string `json:"sex_label,omitempty"`  // 男 / 女
	Upgraded  bool   `json:"upgraded,omitempty"`   // from 15 digits
	// GTIN parts
	Format string `json:"format,omitempty"` // GTIN-8 / GTIN-12 / GTIN-13 / GTIN-14
	// Check is the expected check character computed from the other
	// characters (for credit codes, ID numbers and GTINs).
	Check    string   `json:"check,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	Errors   []string `json:"errors,omitempty"` // each in 简体中文 with an English gloss
}

func (r *Result) addError(format string, args ...any) {
	r.Errors = append(r.Errors, fmt.Sprintf(format, args...))
}

func (r *Result) addWarning(format string, args ...any) {
	r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
}

// normalize maps full-width ASCII to ASCII, drops white space and dashes and
// upper-cases letters.
func normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, c := range s {
		if c >= 0xFF01 && c <= 0xFF5E { // full-width ASCII block
			c -= 0xFEE0
		}
		switch {
		case unicode.IsSpace(c):
			continue
		case c == '-' || c == '‐' || c == '‑' || c == '–' || c == '—' || c == '－':
			continue
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		}
		b.WriteRune(c)
	}
	return b.String()
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Parse guesses the kind of code from its length and character set and
// parses it:
//   - 18 characters, the first 17 digits and the last a digit or X: both a
//     credit code and an ID number are possible; the valid reading wins, the ID
//     number when both are valid (with a warning); when neither is valid the
//     reading with fewer errors is reported, and on a tie the ID reading if
//     positions 7–14 form a plausible birth date (years 1800–2199), else the
//     credit code reading;
//   - any other 18 characters: credit code;
//   - 15 digits: legacy ID number;
//   - 8, 12, 13 or 14 digits: GTIN;
//   - 6 digits: region code;
//   - anything else: Kind "unknown", invalid.
func Parse(s string, now time.Time) Result {
	n := normalize(s)
	switch {
	case len(n) == 18:
		if !allDigits(n[:17]) || !(n[17] == 'X' || (n[17] >= '0' && n[17] <= '9')) {
			return ParseUSCC(s)
		}
		id := ParseID(s, now)
		uscc := ParseUSCC(s)
		switch {
		case id.Valid && uscc.Valid:
			if len(uscc.Warnings) == 0 {
				id.addWarning("该号码同时也是校验通过的统一社会信用代码，请确认类型 (also passes as a unified social credit code)")
			}
			return id
		case id.Valid:
			return id
		case uscc.Valid:
			return uscc
		case len(id.Errors) < len(uscc.Errors):
			return id
		case len(uscc.Errors) < len(id.Errors):
			return uscc
		case plausibleDate(n[6:14]):
			return id
		default:
			return uscc
		}
	case len(n) == 15 && allDigits(n):
		return ParseID(s, now)
	case (len(n) == 8 || len(n) == 12 || len(n) == 13 || len(n) == 14) && allDigits(n):
		return ParseGTIN(s)
	case len(n) == 6 && allDigits(n):
		return ParseRegion(s)
	}
	r := Result{Input: s, Normalized: n, Kind: KindUnknown, KindLabel: KindUnknown.Label()}
	if n == "" {
		r.addError("代码为空 (empty code)")
	} else {
		r.addError("无法识别的代码：%d 个字符，不是统一社会信用代码（18位）、公民身份号码（18/15位）、商品条码（8/12/13/14位数字）或行政区划代码（6位数字）(unrecognised code)", len([]rune(n)))
	}
	return r
}

// plausibleDate reports whether an 8-digit string is a real date in 1800–2199.
func plausibleDate(s string) bool {
	t, err := time.Parse("20060102", s)
	return err == nil && t.Year() >= 1800 && t.Year() < 2200
}
