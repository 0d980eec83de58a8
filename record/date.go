package record

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"ecredit/clock"
)

// Date is a calendar date in Asia/Shanghai, "YYYY-MM-DD", or "" for none.
// Decision dates, publicity windows and deadlines are dates, not instants:
// a date string is canonical in JSON and in the ledger, and sorts correctly
// as text in the database.
type Date string

const dateLayout = "2006-01-02"

// DateOf returns the Shanghai calendar date of an instant.
func DateOf(t time.Time) Date {
	if t.IsZero() {
		return ""
	}
	return Date(t.In(clock.Shanghai).Format(dateLayout))
}

// Time returns midnight of the date in Asia/Shanghai (zero for "").
func (d Date) Time() time.Time {
	if d == "" {
		return time.Time{}
	}
	t, err := time.ParseInLocation(dateLayout, string(d), clock.Shanghai)
	if err != nil {
		return time.Time{}
	}
	return t
}

// IsZero reports whether no date is set.
func (d Date) IsZero() bool { return d == "" }

// AddDate adds years, months and days (calendar arithmetic).
func (d Date) AddDate(y, m, days int) Date {
	if d == "" {
		return ""
	}
	return DateOf(d.Time().AddDate(y, m, days))
}

// Before reports whether d is strictly before e (both set).
func (d Date) Before(e Date) bool { return d != "" && e != "" && d < e }

// After reports whether d is strictly after e (both set).
func (d Date) After(e Date) bool { return d != "" && e != "" && d > e }

// Valid reports whether d is "" or a real date.
func (d Date) Valid() bool {
	if d == "" {
		return true
	}
	_, err := time.Parse(dateLayout, string(d))
	return err == nil
}

// Excel serial dates (1900 date system) accepted by ParseDate: 1900-03-01
// (serial 61, after Excel's phantom 1900-02-29) to 2099-12-31 (73050).
const (
	minSerial = 61
	maxSerial = 73050
)

var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// ParseDate reads a date as written in government data exports:
// 2024-01-02, 2024/1/2, 2024.1.2, 2024年1月2日, 20240102, an Excel serial
// day number (45293), and any of these followed by a time of day
// ("2024-01-02 00:00:00", "2024-01-02T08:00:00+08:00"). Full-width digits
// are accepted. Years must lie in 1900–2100.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(narrow(s))
	if s == "" {
		return "", fmt.Errorf("日期为空 (empty date)")
	}
	orig := s
	// A time of day after the date is ignored.
	if i := strings.IndexAny(s, " T"); i > 0 {
		s = s[:i]
	}
	if allDigitsOrDot(s) {
		if len(s) == 8 && !strings.Contains(s, ".") {
			y, _ := strconv.Atoi(s[:4])
			m, _ := strconv.Atoi(s[4:6])
			d, _ := strconv.Atoi(s[6:])
			return makeDate(orig, y, m, d)
		}
		if strings.Count(s, ".") <= 1 && !strings.HasPrefix(s, ".") {
			ip := s
			if i := strings.IndexByte(s, '.'); i >= 0 {
				ip = s[:i]
			}
			if len(ip) <= 5 {
				n, err := strconv.Atoi(ip)
				if err == nil && n >= minSerial && n <= maxSerial {
					return DateOf(time.Date(excelEpoch.Year(), excelEpoch.Month(), excelEpoch.Day()+n, 12, 0, 0, 0, clock.Shanghai)), nil
				}
				if err == nil {
					return "", fmt.Errorf("「%s」不是有效日期：Excel 日期序号超出 1900-03-01 至 2099-12-31 (serial out of range)", orig)
				}
			}
		}
	}
	s = strings.NewReplacer("年", "-", "月", "-", "日", "", "/", "-", ".", "-").Replace(s)
	parts := strings.Split(s, "-")
	if len(parts) != 3 {
		return "", fmt.Errorf("「%s」不是可识别的日期格式，请使用 2024-01-02 (unrecognised date)", orig)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || p == "" || len(p) > 4 {
			return "", fmt.Errorf("「%s」不是可识别的日期格式，请使用 2024-01-02 (unrecognised date)", orig)
		}
		n[i] = v
	}
	if len(parts[0]) != 4 {
		return "", fmt.Errorf("「%s」的年份必须是四位数字 (year must have 4 digits)", orig)
	}
	return makeDate(orig, n[0], n[1], n[2])
}

func makeDate(orig string, y, m, d int) (Date, error) {
	if y < 1900 || y > 2100 {
		return "", fmt.Errorf("「%s」的年份 %d 超出 1900–2100 (year out of range)", orig, y)
	}
	if m < 1 || m > 12 {
		return "", fmt.Errorf("「%s」的月份 %d 无效 (invalid month)", orig, m)
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if d < 1 || t.Day() != d {
		return "", fmt.Errorf("「%s」的日 %d 无效：%d 年 %d 月没有这一天 (no such day)", orig, d, y, m)
	}
	return Date(t.Format(dateLayout)), nil
}

func allDigitsOrDot(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return s != ""
}

// narrow turns full-width ASCII (０-９, Ｘ, －, ．, ／, full-width space)
// into its ASCII form.
func narrow(s string) string {
	if isASCII(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '！' && r <= '～':
			b.WriteRune(r - '！' + '!')
		case r == '\u3000':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// ParseDecimal reads a non-negative amount as written in 双公示 exports and
// returns it in canonical form (no exponent, no trailing zeros, at most six
// decimals): "1,000.50" → "1000.5". The amount is in the column's unit
// (万元 for CF_NR_FK); a trailing "万元" or "万" is dropped, and a value
// written in 元 ("3000元") is converted to 万元 when toWan is true.
func ParseDecimal(s string, toWan bool) (string, error) {
	orig := strings.TrimSpace(s)
	s = strings.TrimSpace(narrow(s))
	s = strings.NewReplacer(",", "", "，", "", " ", "", "¥", "", "￥", "").Replace(s)
	scale := new(big.Rat).SetInt64(1)
	switch {
	case strings.HasSuffix(s, "万元"):
		s = strings.TrimSuffix(s, "万元")
	case strings.HasSuffix(s, "万"):
		s = strings.TrimSuffix(s, "万")
	case strings.HasSuffix(s, "元"):
		s = strings.TrimSuffix(s, "元")
		if toWan {
			scale.SetFrac64(1, 10000)
		}
	}
	if s == "" {
		return "", fmt.Errorf("金额为空 (empty amount)")
	}
	if strings.ContainsAny(s, "eE") { // 1.5E-3 from a spreadsheet's raw value
		if r, ok := new(big.Rat).SetString(s); ok && r.Sign() >= 0 && !strings.ContainsAny(s, "/") {
			s = r.FloatString(8)
		}
	}
	for _, r := range s {
		if (r < '0' || r > '9') && r != '.' {
			if r == '-' {
				return "", fmt.Errorf("金额「%s」不能为负数 (negative amount)", orig)
			}
			return "", fmt.Errorf("「%s」不是有效金额 (not a number)", orig)
		}
	}
	if strings.Count(s, ".") > 1 || s == "." {
		return "", fmt.Errorf("「%s」不是有效金额 (not a number)", orig)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return "", fmt.Errorf("「%s」不是有效金额 (not a number)", orig)
	}
	r.Mul(r, scale)
	if r.Cmp(big.NewRat(1_000_000_000, 1)) > 0 {
		return "", fmt.Errorf("金额「%s」过大 (amount too large)", orig)
	}
	out := r.FloatString(6)
	out = strings.TrimRight(out, "0")
	out = strings.TrimSuffix(out, ".")
	return out, nil
}

// decimalRat parses a canonical decimal (as returned by ParseDecimal).
func decimalRat(s string) (*big.Rat, bool) {
	if s == "" {
		return nil, false
	}
	return new(big.Rat).SetString(s)
}
