package code

import "fmt"

// GTINCheck computes the GS1 mod-10 check digit for the digits of a GTIN
// (or any GS1 key) without its check digit: weights 3 and 1 alternate from the
// rightmost digit, which has weight 3.
func GTINCheck(digitsWithoutCheck string) (byte, error) {
	n := len(digitsWithoutCheck)
	if n < 1 || n > 17 || !allDigits(digitsWithoutCheck) {
		return 0, fmt.Errorf("商品条码（不含校验位）应为1-17位数字：%q (need 1 to 17 digits)", digitsWithoutCheck)
	}
	sum := 0
	for i := 0; i < n; i++ {
		d := int(digitsWithoutCheck[n-1-i] - '0')
		if i%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10), nil
}

// ValidGTIN reports whether s is already a valid GTIN in normalized form
// (8, 12, 13 or 14 ASCII digits with the right check digit): the cheap
// test bulk ingest makes before falling back to ParseGTIN, which also
// normalizes and explains what is wrong.
func ValidGTIN(s string) bool {
	switch len(s) {
	case 8, 12, 13, 14:
	default:
		return false
	}
	if !allDigits(s) {
		return false
	}
	want, err := GTINCheck(s[:len(s)-1])
	return err == nil && s[len(s)-1] == want
}

// ParseGTIN parses a GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13) or GTIN-14
// and checks its check digit.
func ParseGTIN(s string) Result {
	n := normalize(s)
	r := Result{Input: s, Normalized: n, Kind: KindGTIN, KindLabel: KindGTIN.Label()}
	if !allDigits(n) || n == "" {
		r.addError("商品条码只能由数字组成 (a GTIN is all digits)")
		return r
	}
	switch len(n) {
	case 8, 12, 13, 14:
		r.Format = fmt.Sprintf("GTIN-%d", len(n))
		r.KindLabel += " " + r.Format
	default:
		r.addError("商品条码应为8、12、13或14位数字，实际为%d位 (a GTIN has 8, 12, 13 or 14 digits)", len(n))
		return r
	}
	want, _ := GTINCheck(n[:len(n)-1])
	r.Check = string(want)
	if got := n[len(n)-1]; got != want {
		r.addError("校验码应为 %c 而不是 %c (check digit should be %c)", want, got, want)
	}
	r.Valid = len(r.Errors) == 0
	return r
}
