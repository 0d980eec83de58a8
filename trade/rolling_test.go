package trade

import (
	"testing"
	"time"

	"ecredit/clock"
)

func TestWindowEdges(t *testing.T) {
	sh := func(y int, m time.Month, d, h, mi int) time.Time {
		return time.Date(y, m, d, h, mi, 0, 0, clock.Shanghai)
	}
	for _, c := range []struct {
		at                time.Time
		half, month, week time.Time
	}{
		{sh(2026, 8, 31, 12, 0), sh(2026, 2, 28, 12, 0), sh(2026, 7, 31, 12, 0), sh(2026, 8, 24, 12, 0)},
		{sh(2028, 8, 31, 12, 0), sh(2028, 2, 29, 12, 0), sh(2028, 7, 31, 12, 0), sh(2028, 8, 24, 12, 0)}, // leap year
		{sh(2026, 3, 31, 0, 30), sh(2025, 9, 30, 0, 30), sh(2026, 2, 28, 0, 30), sh(2026, 3, 24, 0, 30)},
		// 1 January 07:00 in Shanghai is still 31 December in UTC: months
		// are counted on the Shanghai calendar.
		{sh(2026, 1, 1, 7, 0), sh(2025, 7, 1, 7, 0), sh(2025, 12, 1, 7, 0), sh(2025, 12, 25, 7, 0)},
	} {
		e := WindowEdges(c.at)
		if !e[0].Equal(c.half) || !e[1].Equal(c.month) || !e[2].Equal(c.week) || !e[3].Equal(c.at.Add(time.Microsecond)) {
			t.Errorf("WindowEdges(%v) = %v, want %v %v %v", c.at, e, c.half, c.month, c.week)
		}
		for i := 1; i < len(e); i++ {
			if !e[i].After(e[i-1]) || e[i].Location() != time.UTC {
				t.Errorf("WindowEdges(%v) not ascending UTC: %v", c.at, e)
			}
		}
	}
}

// TestWindowsOf checks the arithmetic from the store's buckets: the
// windows nest, 6个月前 is the lifetime tally less the six months, and
// reviews after the instant leave the total.
func TestWindowsOf(t *testing.T) {
	at := time.Date(2026, 8, 31, 4, 0, 0, 0, time.UTC)
	life := Tally{Reviews: 40, Folded: 2, Positive: 30, Neutral: 3, Negative: 5, DSRCount: 20, DescriptionSum: 90, ServiceSum: 80, LogisticsSum: 70}
	b := []Tally{
		{Positive: 10, Neutral: 1, Negative: 1, DSRCount: 6, DescriptionSum: 30, ServiceSum: 24, LogisticsSum: 18}, // [6 months, month)
		{Positive: 5, Negative: 1, DSRCount: 3, DescriptionSum: 12, ServiceSum: 12, LogisticsSum: 12},              // [month, week)
		{Positive: 2, Neutral: 1, DSRCount: 1, DescriptionSum: 5, ServiceSum: 5, LogisticsSum: 5},                  // [week, at]
		{Positive: 1, Negative: 1, DSRCount: 2, DescriptionSum: 6, ServiceSum: 6, LogisticsSum: 6},                 // after at
	}
	w := DefaultConfig().WindowsOf(at, life, b)
	want := map[string][3]int{
		WindowWeek: {2, 1, 0}, WindowMonth: {7, 1, 1}, WindowHalfYear: {17, 2, 2}, WindowOlder: {12, 1, 2}, WindowTotal: {29, 3, 4},
	}
	for _, r := range w.Rows {
		if got := [3]int{r.Positive, r.Neutral, r.Negative}; got != want[r.Key] {
			t.Errorf("%s: %v, want %v", r.Key, got, want[r.Key])
		}
	}
	if w.HalfYear.Counted != 21 || w.HalfYear.PositiveRate != 0.8095 || w.HalfYear.Description.Count != 10 ||
		w.HalfYear.Description.Mean != 4.7 || w.HalfYear.Description.Score != round2(Bayes(47, 10, 4.5, 30)) {
		t.Errorf("half year %+v", w.HalfYear)
	}
	// A 中评 lowers the rate (reference domain.md §5.1).
	if r := DefaultConfig().ReputationOf(Tally{Positive: 3, Neutral: 1}).Ratings.PositiveRate; r != 0.75 {
		t.Errorf("rate with a 中评 %v", r)
	}
	if !w.AsOf.Equal(at) || w.Row(WindowOlder).Until.IsZero() || !w.Row(WindowTotal).From.IsZero() {
		t.Errorf("bounds %+v", w.Rows)
	}
}
