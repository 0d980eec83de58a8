// Package pii protects personal data: AES-256-GCM encryption at rest, a keyed
// HMAC-SHA256 index to find a record by an ID or phone number without
// decrypting anything, and the masks used in every public view.
package pii

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Sealed is a personal value as stored: ciphertext, lookup index and mask.
type Sealed struct {
	Cipher []byte // nonce || AES-GCM ciphertext; nil when the value is empty
	Index  []byte // HMAC-SHA256(indexKey, kind || 0 || value)
	Masked string // for public views
}

// Empty reports whether nothing is sealed.
func (s Sealed) Empty() bool { return len(s.Cipher) == 0 }

// Keys holds the two 32-byte keys derived from the master key.
type Keys struct {
	aead     cipher.AEAD
	indexKey []byte
}

// New derives encryption and index keys from a 32-byte master key.
func New(master []byte) (*Keys, error) {
	if len(master) != 32 {
		return nil, fmt.Errorf("pii: master key must be 32 bytes, got %d", len(master))
	}
	enc := derive(master, "ecredit pii encryption v1")
	block, err := aes.NewCipher(enc)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Keys{aead: aead, indexKey: derive(master, "ecredit pii index v1")}, nil
}

func derive(master []byte, label string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// Seal encrypts value of the given kind ("id_number", "phone", "name").
// An empty value gives an empty Sealed.
func (k *Keys) Seal(kind, value string) Sealed {
	if value == "" {
		return Sealed{}
	}
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce)
	ct := k.aead.Seal(nonce, nonce, []byte(value), []byte(kind))
	return Sealed{Cipher: ct, Index: k.Index(kind, value), Masked: Mask(kind, value)}
}

// Open decrypts a sealed value of the given kind.
func (k *Keys) Open(kind string, s Sealed) (string, error) {
	if len(s.Cipher) == 0 {
		return "", nil
	}
	n := k.aead.NonceSize()
	if len(s.Cipher) < n {
		return "", errors.New("pii: ciphertext too short")
	}
	pt, err := k.aead.Open(nil, s.Cipher[:n], s.Cipher[n:], []byte(kind))
	if err != nil {
		return "", fmt.Errorf("pii: cannot decrypt %s (wrong key or tampered data)", kind)
	}
	return string(pt), nil
}

// Index returns the keyed lookup hash of a value. The same value always gives
// the same index under the same key; without the key it reveals nothing.
func (k *Keys) Index(kind, value string) []byte {
	m := hmac.New(sha256.New, k.indexKey)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil)
}

// Kinds of personal values.
const (
	KindIDNumber = "id_number"
	KindPhone    = "phone"
	KindName     = "name"
)

// Mask hides a personal value for public display.
func Mask(kind, v string) string {
	switch kind {
	case KindIDNumber:
		return MaskID(v)
	case KindPhone:
		return MaskPhone(v)
	case KindName:
		return MaskName(v)
	}
	return strings.Repeat("*", len([]rune(v)))
}

// MaskID keeps the first four and last four characters: 1308**********1234.
func MaskID(v string) string {
	r := []rune(v)
	if len(r) <= 8 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:4]) + strings.Repeat("*", len(r)-8) + string(r[len(r)-4:])
}

// MaskPhone keeps the first three and last four digits: 138****5678.
func MaskPhone(v string) string {
	r := []rune(v)
	if len(r) <= 7 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
}

// MaskName keeps the surname: 张*, 欧阳** .
func MaskName(v string) string {
	r := []rune(v)
	if len(r) <= 1 {
		return v
	}
	keep := 1
	if len(r) >= 4 {
		keep = 2 // compound surnames are common in four-character names
	}
	return string(r[:keep]) + strings.Repeat("*", len(r)-keep)
}

// LoadKey returns the master key from, in order: the environment variable
// ECREDIT_PII_KEY (64 hex characters), the file named by ECREDIT_PII_KEY_FILE,
// or the file pii.key in dataDir, which is created with a fresh random key
// (mode 0600) when missing and create is true.
func LoadKey(dataDir string, create bool) ([]byte, error) {
	if v := os.Getenv("ECREDIT_PII_KEY"); v != "" {
		return parseKey(v, "ECREDIT_PII_KEY")
	}
	path := os.Getenv("ECREDIT_PII_KEY_FILE")
	if path == "" {
		if dataDir == "" {
			return nil, errors.New("pii: no key: set ECREDIT_PII_KEY, ECREDIT_PII_KEY_FILE or a data directory")
		}
		path = filepath.Join(dataDir, "pii.key")
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create && os.Getenv("ECREDIT_PII_KEY_FILE") == "" {
		key := make([]byte, 32)
		rand.Read(key)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
			return nil, err
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pii: read key: %w", err)
	}
	return parseKey(string(b), path)
}

func parseKey(s, from string) ([]byte, error) {
	k, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(k) != 32 {
		return nil, fmt.Errorf("pii: key in %s must be 64 hexadecimal characters", from)
	}
	return k, nil
}
