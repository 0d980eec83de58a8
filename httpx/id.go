package httpx

import "strconv"

// ParseID reads an id of a URL path in its one canonical form: a positive
// decimal integer without sign, spaces or leading zeros ("7", never "+7",
// " 7" or "007"). strconv.ParseInt alone takes "+7" as 7, so a malformed
// path could act on a real record; here it is not an id at all.
func ParseID(s string) (int64, bool) {
	if s == "" || s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
