package registry

import (
	"testing"

	"ecredit/account"
	"ecredit/errs"
)

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{
		"138 1234 5678":     "13812345678",
		"+86 138-1234-5678": "13812345678",
		"0314-2021234":      "03142021234",
		"(0314)2021234":     "03142021234",
	} {
		got, err := NormalizePhone(in)
		if err != nil || got != want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "123", "1381234567a", "12812345678", "1234567890123"} {
		if _, err := NormalizePhone(bad); err == nil {
			t.Errorf("NormalizePhone(%q) accepted", bad)
		}
	}
}

func TestParseShopURL(t *testing.T) {
	for in, dom := range map[string]string{
		"shop1.shanzhuangyoupin.cn":           "shop1.shanzhuangyoupin.cn",
		"https://Shop1.Example.CN/store?id=1": "shop1.example.cn",
		"http://a.b.cn.":                      "a.b.cn",
	} {
		_, d, err := ParseShopURL(in)
		if err != nil || d != dom {
			t.Errorf("ParseShopURL(%q) domain %q, %v; want %q", in, d, err, dom)
		}
	}
	for _, bad := range []string{"", "ftp://a.cn", "https://localhost", "https://", "http://[::1", "javascript:alert(1)"} {
		if _, _, err := ParseShopURL(bad); err == nil {
			t.Errorf("ParseShopURL(%q) accepted", bad)
		}
	}
}

func TestMarks(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		m := newMark()
		if len(m) != 18 || m[:4] != "ECM-" || m[8] != '-' || m[13] != '-' {
			t.Fatalf("mark %q has the wrong shape", m)
		}
		if seen[m] {
			t.Fatalf("duplicate mark %q", m)
		}
		seen[m] = true
		if got := "ECM-" + NormalizeMark(m); got != m {
			t.Fatalf("NormalizeMark(%q) = %q", m, got)
		}
	}
	if got := NormalizeMark(" ecm-abcd-0o1l-xyz9 "); got != "ABCD-0011-XYZ9" {
		t.Fatalf("misread letters not fixed: %q", got)
	}
}

func TestCanCreate(t *testing.T) {
	cases := []struct {
		role account.Role
		kind Kind
		want errs.Code
	}{
		{account.RoleAdmin, KindPlatform, ""},
		{account.RoleDepartment, KindLogistics, ""},
		{account.RolePlatform, KindMerchant, ""},
		{account.RolePlatform, KindSeller, ""},
		{account.RolePlatform, KindPlatform, errs.Forbidden},
		{account.RolePlatform, KindCourier, errs.Forbidden},
		{account.RoleLogistics, KindCourier, ""},
		{account.RoleLogistics, KindMerchant, errs.Forbidden},
		{account.RoleAgency, KindMerchant, errs.Forbidden},
		{account.RolePublic, KindMerchant, errs.Unauthorized},
	}
	for _, c := range cases {
		err := canCreate(account.Actor{Role: c.role}, c.kind)
		if errs.CodeOf(err) != c.want {
			t.Errorf("%s creating %s: %v, want %q", c.role, c.kind, err, c.want)
		}
	}
}

func TestLabels(t *testing.T) {
	for _, k := range Kinds {
		if k.Label() == string(k) || !k.Valid() {
			t.Errorf("kind %s", k)
		}
	}
	for _, s := range Statuses {
		if s.Label() == string(s) || !s.Valid() {
			t.Errorf("status %s", s)
		}
	}
	if Kind("x").Valid() || Status("x").Valid() {
		t.Error("unknown values valid")
	}
	if !KindSeller.Person() || !KindCourier.Person() || KindMerchant.Person() {
		t.Error("Person")
	}
}
