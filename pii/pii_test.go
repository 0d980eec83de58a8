package pii

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func testKeys(t *testing.T) *Keys {
	t.Helper()
	k, err := New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpenRoundTrip(t *testing.T) {
	k := testKeys(t)
	for _, tc := range []struct{ kind, v, masked string }{
		{KindIDNumber, "11010519491231002X", "1101**********002X"},
		{KindPhone, "13812345678", "138****5678"},
		{KindName, "张三", "张*"},
		{KindName, "欧阳娜娜", "欧阳**"},
	} {
		s := k.Seal(tc.kind, tc.v)
		if s.Masked != tc.masked {
			t.Errorf("mask %q = %q, want %q", tc.v, s.Masked, tc.masked)
		}
		if bytes.Contains(s.Cipher, []byte(tc.v)) {
			t.Errorf("ciphertext of %q contains the clear value", tc.v)
		}
		got, err := k.Open(tc.kind, s)
		if err != nil || got != tc.v {
			t.Errorf("Open = %q, %v; want %q", got, err, tc.v)
		}
		if _, err := k.Open(KindPhone+"x", s); err == nil {
			t.Errorf("opening %q under another kind must fail", tc.v)
		}
	}
}

func TestSealIsRandomisedIndexIsStable(t *testing.T) {
	k := testKeys(t)
	a, b := k.Seal(KindPhone, "13812345678"), k.Seal(KindPhone, "13812345678")
	if bytes.Equal(a.Cipher, b.Cipher) {
		t.Error("two seals of the same value must differ (random nonce)")
	}
	if !bytes.Equal(a.Index, b.Index) {
		t.Error("index must be deterministic")
	}
	if bytes.Equal(k.Index(KindPhone, "1"), k.Index(KindIDNumber, "1")) {
		t.Error("index must depend on the kind")
	}
	other, _ := New(bytes.Repeat([]byte{8}, 32))
	if bytes.Equal(a.Index, other.Index(KindPhone, "13812345678")) {
		t.Error("index must depend on the key")
	}
}

func TestTamperedCipherFails(t *testing.T) {
	k := testKeys(t)
	s := k.Seal(KindIDNumber, "11010519491231002X")
	s.Cipher[len(s.Cipher)-1] ^= 1
	if _, err := k.Open(KindIDNumber, s); err == nil {
		t.Fatal("tampered ciphertext decrypted")
	}
	if _, err := k.Open(KindIDNumber, Sealed{Cipher: []byte{1, 2}}); err == nil {
		t.Fatal("short ciphertext decrypted")
	}
	if v, err := k.Open(KindIDNumber, Sealed{}); v != "" || err != nil {
		t.Fatalf("empty = %q, %v", v, err)
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("ECREDIT_PII_KEY", "")
	t.Setenv("ECREDIT_PII_KEY_FILE", "")
	if _, err := LoadKey(dir, false); err == nil {
		t.Fatal("missing key without create must fail")
	}
	k1, err := LoadKey(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "pii.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	k2, err := LoadKey(dir, true)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatal("second load must return the same key")
	}
	t.Setenv("ECREDIT_PII_KEY", "zz")
	if _, err := LoadKey(dir, true); err == nil {
		t.Fatal("bad env key accepted")
	}
	t.Setenv("ECREDIT_PII_KEY", "")
	t.Setenv("ECREDIT_PII_KEY_FILE", filepath.Join(dir, "nope"))
	if _, err := LoadKey(dir, true); err == nil {
		t.Fatal("a named key file that is missing must not be created silently")
	}
}

func TestMaskShort(t *testing.T) {
	for in, want := range map[string]string{"": "", "123": "***", "12345678": "********", "张": "张"} {
		kind := KindIDNumber
		if in == "张" {
			kind = KindName
		}
		if got := Mask(kind, in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}
