package code

import (
	"fmt"
	"time"
)

// idWeights[i] = 2^(17-i) mod 11 (ISO 7064 MOD 11-2).
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheckChars = "10X98765432"

// chinaTime is China Standard Time; China has not used daylight saving time
// since 1991, so a fixed zone avoids depending on the tz database.
var chinaTime = time.FixedZone("CST", 8*60*60)

// IDCheck computes the check character (0-9 or X) of a resident ID number
// from its first 17 digits.
func IDCheck(first17 string) (byte, error) {
	if len(first17) != 17 || !allDigits(first17) {
		return 0, fmt.Errorf("公民身份号码前17位应为17位数字：%q (need 17 digits)", first17)
	}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(first17[i]-'0') * idWeights[i]
	}
	return idCheckChars[sum%11], nil
}

// MakeID builds an 18-digit resident ID number from a 6-digit region code, a
// birth date (its calendar date is used as given) and a sequence number
// 0..999 (odd for men, even for women), computing the check character.
func MakeID(region string, birth time.Time, seq int) (string, error) {
	if len(region) != 6 || !allDigits(region) {
		return "", fmt.Errorf("行政区划代码应为6位数字：%q (region must be 6 digits)", region)
	}
	if seq < 0 || seq > 999 {
		return "", fmt.Errorf("顺序码应在 0-999 之间：%d (sequence must be 0..999)", seq)
	}
	if y := birth.Year(); y < 1800 || y > 9999 {
		return "", fmt.Errorf("出生年份 %d 超出范围 (birth year out of range)", y)
	}
	first17 := fmt.Sprintf("%s%s%03d", region, birth.Format("20060102"), seq)
	c, err := IDCheck(first17)
	if err != nil {
		return "", err
	}
	return first17 + string(c), nil
}

// ParseID parses a resident ID number (GB 11643-1999), upgrading a 15-digit
// number (GB 11643-1989) to 18 digits. now bounds the birth date; see the
// package documentation for how regions and early birth dates are treated.
func ParseID(s string, now time.Time) Result {
	n := normalize(s)
	r := Result{Input: s, Normalized: n, Kind: KindIDNumber, KindLabel: KindIDNumber.Label()}
	switch len(n) {
	case 15:
		if !allDigits(n) {
			r.addError("15位公民身份号码只能由数字组成 (a 15-digit ID number is all digits)")
			return r
		}
		first17 := n[:6] + "19" + n[6:]
		c, _ := IDCheck(first17)
		n = first17 + string(c)
		r.Normalized, r.Upgraded, r.Check = n, true, string(c)
	case 18:
		if !allDigits(n[:17]) || !(n[17] == 'X' || (n[17] >= '0' && n[17] <= '9')) {
			r.addError("公民身份号码格式错误：前17位应为数字，第18位应为数字或 X (format: 17 digits and a digit or X)")
			return r
		}
		c, _ := IDCheck(n[:17])
		r.Check = string(c)
		if n[17] != c {
			r.addError("校验码应为 %c 而不是 %c (check digit should be %c)", c, n[17], c)
		}
	default:
		r.addError("公民身份号码应为18位（或15位旧号码），实际为%d位 (must be 18 or 15 characters)", len([]rune(n)))
		return r
	}

	// Region.
	r.Region = n[:6]
	if name, ok := RegionName(r.Region); ok {
		r.RegionName = name
	} else {
		switch classifyRegion(r.Region) {
		case regionUnknownProvince:
			r.addError("地址码 %s 无效：省级代码 %s 不存在 (unknown province)", r.Region, r.Region[:2])
		case regionUnknownPrefecture:
			pname, _ := RegionName(r.Region[:2] + "0000")
			r.addError("地址码 %s 无效：%s没有代码为 %s 的地级行政区 (no such prefecture)", r.Region, pname, r.Region[:4])
		default:
			r.addWarning("地址码 %s 不在内置 GB/T 2260 代码表中，请核实 (region code not in the embedded table)", r.Region)
		}
	}

	// Birth date.
	birth, err := time.ParseInLocation("20060102", n[6:14], chinaTime)
	today := now.In(chinaTime)
	switch {
	case err != nil:
		r.addError("出生日期 %s 不是有效日期 (birth date is not a real date)", n[6:14])
	case birth.Year() < 1800:
		r.addError("出生日期 %s 早于1800年 (birth date before 1800)", birth.Format("2006-01-02"))
	case birth.After(today):
		r.addError("出生日期 %s 晚于今天 %s (birth date is in the future)", birth.Format("2006-01-02"), today.Format("2006-01-02"))
	default:
		r.BirthDate = birth.Format("2006-01-02")
		if birth.Year() < 1900 {
			r.addWarning("出生日期 %s 早于1900年，请核实 (birth date before 1900)", r.BirthDate)
		}
	}

	// Sex from the sequence number.
	if (n[16]-'0')%2 == 1 {
		r.Sex, r.SexLabel = "male", "男"
	} else {
		r.Sex, r.SexLabel = "female", "女"
	}
	r.Valid = len(r.Errors) == 0
	return r
}
