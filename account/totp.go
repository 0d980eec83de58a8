package account

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TOTP parameters (RFC 6238 defaults, which every authenticator app
// understands): HMAC-SHA-1, 30-second steps, 6 digits. A code is accepted
// for the current step and one step either side (clock drift).
const (
	TOTPPeriod = 30
	TOTPDigits = 6
	TOTPSkew   = 1
	// TOTPIssuer names the platform in authenticator apps.
	TOTPIssuer = "承德电商信用平台"
)

// HOTP is the RFC 4226 one-time password of key at counter, with digits
// decimal digits (6 to 8).
func HOTP(key []byte, counter uint64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	s := strconv.FormatUint(uint64(bin%mod), 10)
	return strings.Repeat("0", digits-len(s)) + s
}

// TOTPStep is the RFC 6238 time step of t.
func TOTPStep(t time.Time) int64 { return t.Unix() / TOTPPeriod }

// TOTPCode is the 6-digit code of key at time t (what an authenticator app
// shows).
func TOTPCode(key []byte, t time.Time) string { return HOTP(key, uint64(TOTPStep(t)), TOTPDigits) }

// NewTOTPSecret returns a fresh 160-bit secret in base32 without padding,
// the form authenticator apps take.
func NewTOTPSecret() string {
	b := make([]byte, 20)
	rand.Read(b)
	return b32.EncodeToString(b)
}

// DecodeTOTPSecret decodes a base32 secret (case and spaces ignored).
func DecodeTOTPSecret(s string) ([]byte, error) {
	s = strings.ToUpper(strings.ReplaceAll(strings.TrimRight(s, "="), " ", ""))
	return b32.DecodeString(s)
}

// TOTPURI is the otpauth:// URI of a secret for the account login, as
// authenticator apps scan it from a QR code.
func TOTPURI(login, secret string) string {
	q := url.Values{}
	q.Set("secret", secret)
	q.Set("issuer", TOTPIssuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", strconv.Itoa(TOTPDigits))
	q.Set("period", strconv.Itoa(TOTPPeriod))
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + TOTPIssuer + ":" + login, RawQuery: q.Encode()}
	return u.String()
}

// matchTOTP checks a presented code against key at now, within TOTPSkew
// steps either side, accepting only steps after last (the last step used:
// a code cannot be replayed). It returns the matching step. Every candidate
// is compared in constant time.
func matchTOTP(key []byte, code string, now time.Time, last int64) (int64, bool) {
	code = strings.TrimSpace(code)
	if len(code) != TOTPDigits {
		return 0, false
	}
	cur := TOTPStep(now)
	var found int64
	ok := false
	for st := cur - TOTPSkew; st <= cur+TOTPSkew; st++ {
		if st < 0 {
			continue
		}
		eq := subtle.ConstantTimeCompare([]byte(HOTP(key, uint64(st), TOTPDigits)), []byte(code)) == 1
		if eq && st > last && !ok {
			found, ok = st, true
		}
	}
	return found, ok
}
