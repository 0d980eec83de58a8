package code

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	"91350100M000100Y43", "91110000600037341L", "121200004013590816", "91620105L015101280",
	"9144030071526726XG", "91350203M0001QKT19", "9111000060003IOZSV", "111111111111111111",
	"362322198709086409", "11010519491231002X", "440524188001010014", "44011320141005001x",
	"110105491231002", "360426199113010079", "311099199901010000", "T60426199101010078",
	"4006381333931", "036000291452", "96385074", "00012345600012", "130802", "",
	" 9135 0100-m000 100y43 ", "９１３５０１００Ｍ０００１００Ｙ４３", "\xff\xfe", "-—－\u3000",
}

// checkResult holds the invariants every Result must satisfy.
func checkResult(t *testing.T, in string, r Result) {
	t.Helper()
	if r.Input != in {
		t.Fatalf("Input = %q, want %q", r.Input, in)
	}
	if r.Valid != (len(r.Errors) == 0) {
		t.Fatalf("%q: Valid=%v with errors %q", in, r.Valid, r.Errors)
	}
	if r.KindLabel == "" || !strings.HasPrefix(r.KindLabel, r.Kind.Label()) {
		t.Fatalf("%q: kind %q label %q", in, r.Kind, r.KindLabel)
	}
	for _, m := range append(append([]string{}, r.Errors...), r.Warnings...) {
		if !utf8.ValidString(m) && utf8.ValidString(in) {
			t.Fatalf("%q: message not UTF-8: %q", in, m)
		}
	}
	if !r.Valid {
		return
	}
	switch r.Kind {
	case KindUSCC:
		if len(r.Normalized) != 18 {
			t.Fatalf("%q: normalized %q", in, r.Normalized)
		}
		c, err := USCCCheck(r.Normalized[:17])
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if c != r.Normalized[17] && !hasText(r.Warnings, "厦门试点期") {
			t.Fatalf("%q: valid credit code with wrong check %c (want %c) and no legacy warning", in, r.Normalized[17], c)
		}
	case KindIDNumber:
		c, err := IDCheck(r.Normalized[:17])
		if err != nil || c != r.Normalized[17] || r.BirthDate == "" || r.Region == "" {
			t.Fatalf("%q: valid ID %+v (check %c, %v)", in, r, c, err)
		}
	case KindGTIN:
		c, err := GTINCheck(r.Normalized[:len(r.Normalized)-1])
		if err != nil || c != r.Normalized[len(r.Normalized)-1] {
			t.Fatalf("%q: valid GTIN %+v", in, r)
		}
	case KindRegion:
		if _, ok := RegionName(r.Normalized); !ok {
			t.Fatalf("%q: valid region not in table", in)
		}
	default:
		t.Fatalf("%q: valid result of kind %q", in, r.Kind)
	}
}

// FuzzParse: never panics; every result is self-consistent; a valid result
// re-parses to the same kind and Normalized.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	now := time.Date(2026, 11, 25, 4, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		r := Parse(s, now)
		checkResult(t, s, r)
		if r.Valid {
			again := Parse(r.Normalized, now)
			if !again.Valid || again.Normalized != r.Normalized || again.Kind != r.Kind {
				t.Fatalf("%q → %q (%s) re-parses to %q (%s) valid=%v", s, r.Normalized, r.Kind, again.Normalized, again.Kind, again.Valid)
			}
		}
		checkResult(t, s, ParseUSCC(s))
		checkResult(t, s, ParseRegion(s))
	})
}

// FuzzParseID: never panics; a valid result has a correct check digit, a
// birth date not after now, and re-parses identically.
func FuzzParseID(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, int64(1795000000))
	}
	f.Fuzz(func(t *testing.T, s string, unix int64) {
		now := time.Unix(unix%(1<<36), 0)
		r := ParseID(s, now)
		if r.Kind != KindIDNumber {
			t.Fatalf("kind %q", r.Kind)
		}
		checkResult(t, s, r)
		if !r.Valid {
			return
		}
		b, err := time.ParseInLocation("2006-01-02", r.BirthDate, chinaTime)
		if err != nil || b.After(now.In(chinaTime)) {
			t.Fatalf("%q: birth %q after %v", s, r.BirthDate, now)
		}
		again := ParseID(r.Normalized, now)
		if !again.Valid || again.Normalized != r.Normalized || again.BirthDate != r.BirthDate || again.Sex != r.Sex {
			t.Fatalf("%q re-parses differently: %+v", s, again)
		}
	})
}

// FuzzGTIN: never panics; validity agrees with GTINCheck.
func FuzzGTIN(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := ParseGTIN(s)
		if r.Kind != KindGTIN {
			t.Fatalf("kind %q", r.Kind)
		}
		checkResult(t, s, r)
		n := r.Normalized
		switch len(n) {
		case 8, 12, 13, 14:
			if allDigits(n) {
				c, _ := GTINCheck(n[:len(n)-1])
				if r.Valid != (c == n[len(n)-1]) {
					t.Fatalf("%q: valid=%v but check %c", s, r.Valid, c)
				}
			}
		}
	})
}
