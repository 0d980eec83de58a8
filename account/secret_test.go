package account

import (
	"strings"
	"testing"

	"ecredit/errs"
)

func TestKeys(t *testing.T) {
	key, prefix, hash := NewKey()
	if !strings.HasPrefix(key, prefix+"_") || len(key) != 44 {
		t.Fatalf("key %q prefix %q", key, prefix)
	}
	p, err := KeyPrefix(key)
	if err != nil || p != prefix {
		t.Fatalf("KeyPrefix = %q, %v", p, err)
	}
	if !KeyMatches(key, hash) {
		t.Fatal("key does not match its hash")
	}
	if KeyMatches(key[:len(key)-1]+"a", hash) && !strings.HasSuffix(key, "a") {
		t.Fatal("altered key matches")
	}
	other, _, _ := NewKey()
	if other == key {
		t.Fatal("two keys are equal")
	}
	for _, bad := range []string{"", "ek_", "xx_abcdefgh_" + strings.Repeat("a", 32), key + "x", strings.Replace(key, "_", "-", 2)} {
		if _, err := KeyPrefix(bad); !errs.Is(err, errs.Unauthorized) {
			t.Errorf("KeyPrefix(%q) = %v, want unauthorized", bad, err)
		}
	}
}

func TestPasswords(t *testing.T) {
	if _, err := HashPassword("short"); !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != "password" {
		t.Fatalf("weak password: %v", err)
	}
	h, err := HashPassword("正确的马电池订书钉")
	if err == nil {
		// 9 runes: too short
		t.Fatalf("9-rune password accepted: %s", h)
	}
	h, err = HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Fatalf("hash %q", h)
	}
	if !VerifyPassword(h, "correct horse battery") {
		t.Fatal("right password refused")
	}
	for _, wrong := range []string{"", "correct horse batterY", "correct horse battery "} {
		if VerifyPassword(h, wrong) {
			t.Fatalf("wrong password %q accepted", wrong)
		}
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$aa$bb", "$argon2id$v=19$m=x$aa$bb", h[:len(h)-10] + "!!!"} {
		if VerifyPassword(bad, "correct horse battery") {
			t.Fatalf("malformed hash %q accepted", bad)
		}
	}
}

func TestRoles(t *testing.T) {
	if RolePublic.Valid() || !RoleAdmin.Valid() || Role("root").Valid() {
		t.Fatal("Valid")
	}
	if RolePlatform.Has(ScopeAccountsManage) || !RoleAdmin.Has(ScopeAccountsManage) {
		t.Fatal("scopes")
	}
	if err := (Actor{Role: RolePublic}).Require(ScopeSubjectsRead); !errs.Is(err, errs.Unauthorized) {
		t.Fatalf("public: %v", err)
	}
	if err := (Actor{Role: RoleAgency}).Require(ScopeSubjectsWrite); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("agency: %v", err)
	}
	for _, r := range Roles {
		if r.Label() == string(r) {
			t.Errorf("role %s has no Chinese label", r)
		}
	}
}
