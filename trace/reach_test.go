package trace

import (
	"slices"
	"testing"
)

func TestEncodeReach(t *testing.T) {
	gs := []ReachGroup{
		{PlatformID: 7, Region: "130802", ShopID: 1 << 40, SellerID: 3, Orders: 12000, Quantity: 30001, Lines: 12001, MaxOrderID: 9_999_999},
		{PlatformID: 8, Region: "", ShopID: 2, SellerID: 4, Orders: 1, Quantity: 1, Lines: 1, MaxOrderID: 5},
	}
	k := &KeptReach{Upto: 9_999_999, Lines: 12002, Sums: EncodeReach(gs)}
	got, err := DecodeReach(k)
	if err != nil || !slices.Equal(got, gs) {
		t.Fatalf("round trip: %v %+v", err, got)
	}
	for name, bad := range map[string]*KeptReach{
		"lines":     {Upto: k.Upto, Lines: k.Lines + 1, Sums: k.Sums},
		"upto":      {Upto: k.Upto - 1, Lines: k.Lines, Sums: k.Sums},
		"truncated": {Upto: k.Upto, Lines: k.Lines, Sums: k.Sums[:len(k.Sums)-1]},
		"trailing":  {Upto: k.Upto, Lines: k.Lines, Sums: append(slices.Clone(k.Sums), 0)},
		"format":    {Upto: k.Upto, Lines: k.Lines, Sums: append([]byte{2}, k.Sums[1:]...)},
		"empty":     {Upto: k.Upto, Lines: k.Lines},
	} {
		if _, err := DecodeReach(bad); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	if e, err := DecodeReach(&KeptReach{Sums: EncodeReach(nil)}); err != nil || len(e) != 0 {
		t.Errorf("no groups: %v %v", err, e)
	}
}
