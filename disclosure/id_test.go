package disclosure

import (
	"encoding/hex"
	"fmt"
	"testing"
	"time"
)

// Report ids round-trip whatever bytes the MAC has ('-' and '_' included).
func TestReportIDRoundTrip(t *testing.T) {
	s := &Service{Secret: []byte("0123456789abcdef")}
	at := time.Unix(1780279200, 0).UTC()
	for i := range 2000 {
		h := hex.EncodeToString([]byte(fmt.Sprintf("%032d", i)))
		id := s.reportID(int64(i+1), int64(i*7), at, h)
		p, ok := parseReportID(id)
		if !ok || p.subject != int64(i+1) || p.size != int64(i*7) || !p.at.Equal(at) || s.mac(p.base, h) != p.mac {
			t.Fatalf("id %q: parsed %+v ok=%v", id, p, ok)
		}
	}
	for _, bad := range []string{"", "R", "R1-2-3", "X1-2-3-abc", "R-1-2-3-abc", "R01-2-3-abc", "R1-2-x-abc"} {
		if _, ok := parseReportID(bad); ok {
			t.Errorf("parseReportID(%q) accepted", bad)
		}
	}
}

// FuzzParseReportID: any string parses or is refused without panicking,
// and what parses is in canonical form.
func FuzzParseReportID(f *testing.F) {
	s := &Service{Secret: []byte("0123456789abcdef")}
	f.Add(s.reportID(42, 1037, time.Unix(1780279200, 0), "00"))
	f.Add("R1-2-3-a-b-c")
	f.Add("R-1--2")
	f.Fuzz(func(t *testing.T, id string) {
		p, ok := parseReportID(id)
		if !ok {
			return
		}
		if got := fmt.Sprintf("R%d-%d-%d-%s", p.subject, p.size, p.at.Unix(), p.mac); got != id {
			t.Fatalf("parsed %q as %+v, which formats as %q", id, p, got)
		}
	})
}
