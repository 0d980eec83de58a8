package trace

import (
	"slices"
	"testing"
)

func TestGTINLookupForms(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"6900002187850", []string{"6900002187850", "06900002187850"}},
		{"06900002187850", []string{"06900002187850", "6900002187850"}},
		{"00012345678905", []string{"00012345678905", "0012345678905", "012345678905"}},
		{"96385074", []string{"96385074", "00000096385074"}},
		{"16900002187857", []string{"16900002187857"}},
	}
	for _, tt := range tests {
		if got := gtinLookupForms(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("gtinLookupForms(%s) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
