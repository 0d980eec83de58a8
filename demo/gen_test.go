package demo

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"ecredit/code"
	"ecredit/registry"
)

var testNow = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

func generate(t *testing.T, seed int64, n int) []Record {
	t.Helper()
	g, err := newGenerator(seed, n, testNow)
	if err != nil {
		t.Fatal(err)
	}
	var out []Record
	for !g.done() {
		out = append(out, g.record())
	}
	return out
}

func TestPlan(t *testing.T) {
	tests := []struct {
		n    int
		want Counts
		err  bool
	}{
		{49, Counts{}, true},
		{0, Counts{}, true},
		{MaxSubjects + 1, Counts{}, true},
		{50, Counts{Platform: 8, Logistics: 3, Service: 3, Merchant: 25, Seller: 7, Courier: 4}, false},
		{300, Counts{Platform: 8, Logistics: 3, Service: 3, Merchant: 150, Seller: 112, Courier: 24}, false},
		{100000, Counts{Platform: 8, Logistics: 500, Service: 1000, Merchant: 50000, Seller: 40492, Courier: 8000}, false},
	}
	for _, tt := range tests {
		got, err := Plan(tt.n)
		if (err != nil) != tt.err {
			t.Errorf("Plan(%d) error = %v, want error %v", tt.n, err, tt.err)
			continue
		}
		if got != tt.want {
			t.Errorf("Plan(%d) = %+v, want %+v", tt.n, got, tt.want)
		}
		if err == nil && got.Total() != tt.n {
			t.Errorf("Plan(%d) totals %d", tt.n, got.Total())
		}
	}
}

func TestDeterministic(t *testing.T) {
	a := generate(t, 7, 600)
	b := generate(t, 7, 600)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different cities")
	}
	c := generate(t, 8, 600)
	same := 0
	for i := range a {
		if a[i].Name == c[i].Name && a[i].CreditCode == c[i].CreditCode && a[i].IDNumber == c[i].IDNumber {
			same++
		}
	}
	// The eight platforms keep their names; their codes differ.
	if same > 0 {
		t.Errorf("seeds 7 and 8 share %d identical records", same)
	}
}

func TestRecordsValid(t *testing.T) {
	const n = 5000
	recs := generate(t, 1, n)
	want, _ := Plan(n)
	var got Counts
	codes, ids, marks, domains := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	forms := map[string]int{}
	verify := map[registry.VerifyState]int{}
	suspended := 0
	for i, r := range recs {
		if r.Index != i {
			t.Fatalf("record %d has index %d", i, r.Index)
		}
		switch r.Kind {
		case registry.KindPlatform:
			got.Platform++
		case registry.KindLogistics:
			got.Logistics++
		case registry.KindService:
			got.Service++
		case registry.KindMerchant:
			got.Merchant++
		case registry.KindSeller:
			got.Seller++
		case registry.KindCourier:
			got.Courier++
		default:
			t.Fatalf("record %d: kind %q", i, r.Kind)
		}
		if r.Name == "" || strings.ContainsAny(r.Name, "\x00\r\n\t") {
			t.Errorf("record %d: bad name %q", i, r.Name)
		}
		if r.Kind.Person() {
			res := code.ParseID(r.IDNumber, testNow)
			if !res.Valid || len(res.Warnings) > 0 {
				t.Errorf("record %d: ID %s: %v %v", i, r.IDNumber, res.Errors, res.Warnings)
			}
			if !strings.HasPrefix(r.Region, "13") || r.Region != r.IDNumber[:6] {
				t.Errorf("record %d: person region %s, ID %s", i, r.Region, r.IDNumber)
			}
			if ids[r.IDNumber] {
				t.Errorf("record %d: duplicate ID %s", i, r.IDNumber)
			}
			ids[r.IDNumber] = true
			if r.CreditCode != "" {
				t.Errorf("record %d: person with credit code", i)
			}
		} else {
			res := code.ParseUSCC(r.CreditCode)
			if !res.Valid || len(res.Warnings) > 0 {
				t.Errorf("record %d: code %s: %v %v", i, r.CreditCode, res.Errors, res.Warnings)
			}
			if res.Region != r.Region || !strings.HasPrefix(r.Region, "1308") || r.Region == "130800" {
				t.Errorf("record %d: region %s, code region %s", i, r.Region, res.Region)
			}
			if _, ok := code.RegionName(r.Region); !ok {
				t.Errorf("record %d: unknown region %s", i, r.Region)
			}
			if codes[r.CreditCode] {
				t.Errorf("record %d: duplicate code %s", i, r.CreditCode)
			}
			codes[r.CreditCode] = true
			if r.IDNumber != "" || r.LegalRep == "" || r.Address == "" {
				t.Errorf("record %d: organisation fields %+v", i, r)
			}
			forms[r.Form]++
		}
		if _, err := registry.NormalizePhone(r.Phone); err != nil || r.Phone == "" {
			t.Errorf("record %d: phone %q: %v", i, r.Phone, err)
		}
		if m := registry.NormalizeMark(r.Mark); len(m) != 14 || m[4] != '-' || m[9] != '-' || "ECM-"+m != r.Mark {
			t.Errorf("record %d: mark %q", i, r.Mark)
		}
		if marks[r.Mark] {
			t.Errorf("record %d: duplicate mark %s", i, r.Mark)
		}
		marks[r.Mark] = true
		for j, v := range r.Verifs {
			if _, ok := registry.Methods[v.Method]; !ok || v.By == "" {
				t.Errorf("record %d: verification %+v", i, v)
			}
			if !v.At.After(r.CreatedAt) || v.At.After(testNow) {
				t.Errorf("record %d: verification at %v, created %v", i, v.At, r.CreatedAt)
			}
			if j > 0 && !v.At.After(r.Verifs[j-1].At) {
				t.Errorf("record %d: verifications out of order", i)
			}
			if v.Passed != !v.ValidUntil.IsZero() {
				t.Errorf("record %d: passed %v valid until %v", i, v.Passed, v.ValidUntil)
			}
		}
		state := registry.VerifyNone
		if len(r.Verifs) > 0 {
			last := r.Verifs[len(r.Verifs)-1]
			switch {
			case !last.Passed:
				state = registry.VerifyFailed
			case last.ValidUntil.After(testNow):
				state = registry.VerifyOK
			default:
				state = registry.VerifyExpired
			}
		}
		verify[state]++
		if r.Status == registry.StatusSuspended {
			suspended++
		}
		hasShops := r.Kind == registry.KindMerchant || r.Kind == registry.KindSeller
		if hasShops != (len(r.Shops) > 0) || len(r.Shops) > 3 {
			t.Errorf("record %d (%s): %d shops", i, r.Kind, len(r.Shops))
		}
		plats := map[int]bool{}
		for _, sp := range r.Shops {
			if plats[sp.Platform] {
				t.Errorf("record %d: two shops on platform %d", i, sp.Platform)
			}
			plats[sp.Platform] = true
			if _, ok := registry.Categories[sp.Category]; !ok || sp.Name == "" {
				t.Errorf("record %d: shop %+v", i, sp)
			}
			u, d, err := registry.ParseShopURL(sp.URL())
			if err != nil || u != sp.URL() || d != sp.Domain() {
				t.Errorf("record %d: shop URL %s: %v", i, sp.URL(), err)
			}
			if domains[d] {
				t.Errorf("record %d: duplicate shop domain %s", i, d)
			}
			domains[d] = true
		}
	}
	if got != want {
		t.Errorf("counts %+v, want %+v", got, want)
	}
	for i, p := range Platforms() {
		if recs[i].Kind != registry.KindPlatform || recs[i].Name != p.Name {
			t.Errorf("record %d is %s %s, want platform %s", i, recs[i].Kind, recs[i].Name, p.Name)
		}
	}
	// Shape of the city: every state present, most subjects verified.
	for _, s := range []registry.VerifyState{registry.VerifyNone, registry.VerifyOK, registry.VerifyExpired, registry.VerifyFailed} {
		if verify[s] == 0 {
			t.Errorf("no subject is %s", s)
		}
	}
	if verify[registry.VerifyOK] < n*7/10 {
		t.Errorf("only %d of %d verified", verify[registry.VerifyOK], n)
	}
	if suspended == 0 || suspended > n/20 {
		t.Errorf("%d suspended", suspended)
	}
	if forms["individual_business"] == 0 || forms["enterprise"] < 2*forms["individual_business"] {
		t.Errorf("merchant forms %v", forms)
	}
}

func TestMarksBijective(t *testing.T) {
	seen := map[uint64]bool{}
	for i := uint64(0); i < 100000; i++ {
		x := mix60(i)
		if x > mask60 || seen[x] {
			t.Fatalf("mix60(%d) = %d repeats or overflows", i, x)
		}
		seen[x] = true
	}
}
