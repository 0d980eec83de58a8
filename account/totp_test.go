package account

import (
	"net/url"
	"testing"
	"time"
)

// RFC 4226 Appendix D: HOTP of the ASCII secret "12345678901234567890".
func TestHOTPVectors(t *testing.T) {
	key := []byte("12345678901234567890")
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for i, w := range want {
		if got := HOTP(key, uint64(i), 6); got != w {
			t.Errorf("HOTP(%d) = %s, want %s", i, got, w)
		}
	}
}

// RFC 6238 Appendix B, the SHA-1 rows (8 digits, 30-second steps).
func TestTOTPVectors(t *testing.T) {
	key := []byte("12345678901234567890")
	for _, v := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
	} {
		at := time.Unix(v.unix, 0)
		if got := HOTP(key, uint64(TOTPStep(at)), 8); got != v.want {
			t.Errorf("TOTP(%d) = %s, want %s", v.unix, got, v.want)
		}
		// the 6-digit code is the low six digits of the same value
		if got := TOTPCode(key, at); got != v.want[2:] {
			t.Errorf("TOTPCode(%d) = %s, want %s", v.unix, got, v.want[2:])
		}
	}
}

func TestMatchTOTP(t *testing.T) {
	key := []byte("12345678901234567890")
	now := time.Unix(1234567890, 0)
	cur := TOTPStep(now)
	codeAt := func(st int64) string { return HOTP(key, uint64(st), TOTPDigits) }
	for _, c := range []struct {
		name string
		code string
		last int64
		step int64
		ok   bool
	}{
		{"current step", codeAt(cur), 0, cur, true},
		{"one step behind", codeAt(cur - 1), 0, cur - 1, true},
		{"one step ahead", codeAt(cur + 1), 0, cur + 1, true},
		{"two steps behind", codeAt(cur - 2), 0, 0, false},
		{"two steps ahead", codeAt(cur + 2), 0, 0, false},
		{"replayed: step already used", codeAt(cur), cur, 0, false},
		{"older than the last used", codeAt(cur - 1), cur - 1, 0, false},
		{"next step after the last used", codeAt(cur + 1), cur, cur + 1, true},
		{"spaces around", " " + codeAt(cur) + " ", 0, cur, true},
		{"five digits", codeAt(cur)[:5], 0, 0, false},
		{"seven digits", codeAt(cur) + "0", 0, 0, false},
		{"empty", "", 0, 0, false},
	} {
		step, ok := matchTOTP(key, c.code, now, c.last)
		if ok != c.ok || step != c.step {
			t.Errorf("%s: matchTOTP = %d, %v; want %d, %v", c.name, step, ok, c.step, c.ok)
		}
	}
}

func TestTOTPSecretAndURI(t *testing.T) {
	s := NewTOTPSecret()
	if len(s) != 32 {
		t.Fatalf("secret %q: %d characters, want 32 (160 bits)", s, len(s))
	}
	if s == NewTOTPSecret() {
		t.Fatal("two secrets are equal")
	}
	key, err := DecodeTOTPSecret(s)
	if err != nil || len(key) != 20 {
		t.Fatalf("decode %q: %d bytes, %v", s, len(key), err)
	}
	// what a user types: lower case, in groups
	if k2, err := DecodeTOTPSecret("gezd gnbv gy3t qojq gezd gnbv gy3t qojq"); err != nil || string(k2) != "12345678901234567890" {
		t.Fatalf("decode typed secret: %q %v", k2, err)
	}
	if _, err := DecodeTOTPSecret("not base32!"); err == nil {
		t.Fatal("bad base32 accepted")
	}
	u, err := url.Parse(TOTPURI("admin", s))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/"+TOTPIssuer+":admin" || q.Get("secret") != s ||
		q.Get("issuer") != TOTPIssuer || q.Get("algorithm") != "SHA1" || q.Get("digits") != "6" || q.Get("period") != "30" {
		t.Fatalf("URI %s", u)
	}
}
