package trace

import (
	"strings"

	"ecredit/errs"
)

// Where an event happened, as EPCIS says it: the read point (where it was
// observed) and the business location (where the goods are after it),
// each a GS1 location — an SGLN EPC URI (urn:epc:id:sgln:…) or a GS1
// Digital Link of a GLN (…/414/{GLN}[/254/{extension}]). Stored as given
// (trimmed), after the checks below, and written back the same way.

// MaxLocation is the longest location identifier kept.
const MaxLocation = 200

// sglnPrefix begins an SGLN EPC URI.
const sglnPrefix = "urn:epc:id:sgln:"

// ParseLocation checks a location identifier; "" is none. field names it
// in errors.
func ParseLocation(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", nil
	case len(s) > MaxLocation:
		return "", errs.Field(field, "地点标识不能超过 %d 个字符 (too long)", MaxLocation)
	case strings.HasPrefix(s, sglnPrefix):
		if err := checkSGLN(s[len(sglnPrefix):]); err != "" {
			return "", errs.Field(field, "SGLN「%s」无效：%s", clip(s, 60), err)
		}
	case strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://"):
		if err := checkGLNLink(s); err != "" {
			return "", errs.Field(field, "GS1 数字链接「%s」无效：%s", clip(s, 60), err)
		}
	default:
		return "", errs.Field(field, "地点应为 SGLN（urn:epc:id:sgln:厂商识别代码.位置参考代码.扩展）或含全球位置码的 GS1 数字链接（…/414/GLN）(a location is an SGLN URI or a GS1 Digital Link of a GLN)")
	}
	return s, nil
}

// checkSGLN checks the part of an SGLN URI after its prefix: company
// prefix (6–12 digits) and location reference (digits), 12 digits in
// all, and an extension ("0" for none) of at most 20 characters from the
// URI form of GS1's character set. It returns what is wrong, or "".
func checkSGLN(rest string) string {
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return "应为 厂商识别代码.位置参考代码.扩展 三段 (three parts: company prefix, location reference, extension)"
	}
	prefix, ref, ext := parts[0], parts[1], parts[2]
	if !digits(prefix) || !digits(ref) && ref != "" {
		return "厂商识别代码与位置参考代码只能是数字 (digits only)"
	}
	if n := len(prefix); n < 6 || n > 12 {
		return "厂商识别代码应为 6–12 位 (a company prefix has 6 to 12 digits)"
	}
	if len(prefix)+len(ref) != 12 {
		return "厂商识别代码与位置参考代码合计应为 12 位 (12 digits together)"
	}
	if ext == "" || !extension(ext) {
		return "扩展应为 1–20 个字母、数字或 - . _ %XX（无扩展写 0）(an extension of 1 to 20 characters; 0 for none)"
	}
	return ""
}

// checkGLNLink checks a GS1 Digital Link of a GLN: a path ending in
// /414/{13-digit GLN with its check digit}, optionally /254/{extension}.
// It returns what is wrong, or "".
func checkGLNLink(s string) string {
	path := s[strings.Index(s, "//")+2:]
	i := strings.Index(path, "/414/")
	if i < 0 {
		return "缺少全球位置码（/414/GLN）(no /414/ GLN)"
	}
	parts := strings.Split(path[i+len("/414/"):], "/")
	if msg := checkGLN(parts[0]); msg != "" {
		return msg
	}
	switch {
	case len(parts) == 1:
	case len(parts) == 3 && parts[1] == "254" && extension(parts[2]):
	default:
		return "全球位置码之后只能是 /254/扩展 (only /254/{extension} may follow)"
	}
	return ""
}

// extension reports whether s is 1–20 characters of letters, digits,
// - . _ and %XX escapes (each counted as one character).
func extension(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c == '-', c == '.', c == '_':
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			i += 2
		default:
			return false
		}
		n++
	}
	return n >= 1 && n <= 20
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f' }
