package account

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"ecredit/errs"
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewKey makes a fresh API key "ek_<8 chars>_<32 chars>". It returns the full
// key (show it once), the prefix "ek_<8 chars>" used to find it, and the hash
// to store.
func NewKey() (key, prefix string, hash []byte) {
	buf := make([]byte, 25)
	rand.Read(buf)
	s := strings.ToLower(b32.EncodeToString(buf)) // 40 chars
	prefix = "ek_" + s[:8]
	key = prefix + "_" + s[8:]
	h := sha256.Sum256([]byte(key))
	return key, prefix, h[:]
}

// KeyPrefix returns the prefix of a presented key, or an error if the key
// is malformed.
func KeyPrefix(key string) (string, error) {
	if len(key) != 3+8+1+32 || !strings.HasPrefix(key, "ek_") || key[11] != '_' {
		return "", &errs.Error{Code: errs.Unauthorized, Message: "API 密钥格式不正确 (malformed API key)"}
	}
	return key[:11], nil
}

// KeyMatches compares a presented key with a stored hash in constant time.
func KeyMatches(key string, hash []byte) bool {
	h := sha256.Sum256([]byte(key))
	return subtle.ConstantTimeCompare(h[:], hash) == 1
}

// Argon2id parameters (RFC 9106 second recommended option).
const (
	argonTime    = 3
	argonMemory  = 64 * 1024
	argonThreads = 4
	argonKeyLen  = 32
)

// HashPassword returns an argon2id PHC string for pw.
func HashPassword(pw string) (string, error) {
	if err := CheckPasswordStrength(pw); err != nil {
		return "", err
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	k := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(k)), nil
}

// CheckPasswordStrength rejects passwords too weak for a government console.
func CheckPasswordStrength(pw string) error {
	if len([]rune(pw)) < 10 {
		return errs.Field("password", "密码至少 10 个字符 (password must have at least 10 characters)")
	}
	return nil
}

// VerifyPassword reports whether pw matches the PHC string.
func VerifyPassword(phc, pw string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// NewToken returns a random session or CSRF token and its SHA-256 hash.
func NewToken() (token string, hash []byte) {
	buf := make([]byte, 32)
	rand.Read(buf)
	token = base64.RawURLEncoding.EncodeToString(buf)
	return token, HashToken(token)
}

// HashToken hashes a session token for storage and lookup.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
