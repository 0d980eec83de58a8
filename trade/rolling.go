package trade

import (
	"context"
	"math"
	"time"

	"ecredit/clock"
	"ecredit/errs"
)

// Rolling windows of the reviews, as Taobao's 信用评价 page shows them: next
// to the lifetime points, a table of 好评 / 中评 / 差评 over 最近1周,
// 最近1个月, 最近6个月, 6个月前 and 总计, and the 好评率 and the detailed
// ratings over the last six months.
//
// What the reference says (/work/shared/reference/domain.md §5, "Reputation
// systems used as references"):
//   - 好评率: Taobao "Good review +1, neutral 0 (but it lowers the 好评率)"
//     (§5.1) and eBay "neutrals count as not positive" (§5.2): a 中评 is in
//     the denominator, so 好评率 = 好评 / (好评 + 中评 + 差评) of the counted
//     reviews — the rule Ratings.PositiveRate already follows, kept here.
//   - Six months: AliExpress shows the positive rate and the DSR over the
//     past 6 months [V] (§5.4); for Taobao's DSR "a 6-month rolling average
//     is commonly cited" [U] (§5.1), and its lesson is that trust comes from
//     the rate plus DSR, not from lifetime points. So the shop's headline
//     好评率 and detailed ratings are the six-month ones (HalfYear), shown
//     next to the lifetime ones (Ratings), each labelled.
//
// A window counts the same reviews as the lifetime tally: counted (within
// the monthly buyer–seller bounds, decided when the review was written)
// and not folded; the detailed ratings only of the reviews whose DSR
// counts. A review belongs to the window by the instant it was written
// (Review.CreatedAt). Windows end at the instant asked for (inclusive) and
// begin at the same wall-clock time in Asia/Shanghai 7 days, 1 calendar
// month and 6 calendar months earlier (inclusive; a day the shorter month
// lacks becomes its last day: 31 August − 6 months = 28/29 February).

// Window keys, in the order of the 信用评价 table.
const (
	WindowWeek     = "week"      // 最近1周
	WindowMonth    = "month"     // 最近1个月
	WindowHalfYear = "half_year" // 最近6个月
	WindowOlder    = "older"     // 6个月前
	WindowTotal    = "total"     // 总计
)

// WindowCount is one column of the 信用评价 table: the counted, unfolded
// reviews written in [From, Until) by rating.
type WindowCount struct {
	Key   string `json:"key"`
	Label string `json:"label"` // 最近1周 …
	// From is the window's first instant (inclusive); absent: since the
	// first review.
	From time.Time `json:"from,omitzero"`
	// Until is the instant the window ends before (exclusive); absent: up
	// to and including Windows.AsOf.
	Until    time.Time `json:"until,omitzero"`
	Positive int       `json:"positive"` // 好评
	Neutral  int       `json:"neutral"`  // 中评
	Negative int       `json:"negative"` // 差评
}

// Counted is 好评 + 中评 + 差评.
func (w WindowCount) Counted() int { return w.Positive + w.Neutral + w.Negative }

// HalfYear is the 好评率 and the detailed ratings over the last six months.
type HalfYear struct {
	Counted int `json:"counted"` // counted reviews in the six months
	// PositiveRate is 好评 / (好评 + 中评 + 差评) of them, 0–1, four
	// decimals; 0 when none.
	PositiveRate float64 `json:"positive_rate"`
	// The detailed ratings of the six months, Bayesian with the same
	// prior as the lifetime ones (Ratings.PriorMean, PriorWeight).
	Description DetailScore `json:"description"` // 宝贝与描述相符
	Service     DetailScore `json:"service"`     // 卖家服务态度
	Logistics   DetailScore `json:"logistics"`   // 物流服务质量
}

// Windows is the rolling-window summary of a shop (or of all the shops of
// a seller) at an instant.
type Windows struct {
	AsOf time.Time `json:"as_of"`
	// Rows: week, month, half_year, older, total, in this order. older +
	// half_year = total; total equals the lifetime counts (Ratings)
	// unless reviews were written after AsOf.
	Rows     []WindowCount `json:"rows"`
	HalfYear HalfYear      `json:"half_year"`
}

// Row returns the row with the key (zero when missing).
func (w *Windows) Row(key string) WindowCount {
	for _, r := range w.Rows {
		if r.Key == key {
			return r
		}
	}
	return WindowCount{}
}

// addMonths moves t by n calendar months in its location, keeping the
// wall-clock time; a day the target month lacks becomes its last day.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, t.Location())
	d = min(d, first.AddDate(0, 1, -1).Day())
	h, mi, s := t.Clock()
	return time.Date(first.Year(), first.Month(), d, h, mi, s, t.Nanosecond(), t.Location())
}

// WindowEdges are the instants the store splits the reviews at, for the
// windows ending at at: the start of the last six months, of the last
// month, of the last week, and the instant just after at (reviews from
// there on were written after at and belong to no window), ascending, UTC
// microseconds.
func WindowEdges(at time.Time) []time.Time {
	at = at.UTC().Truncate(time.Microsecond)
	local := at.In(clock.Shanghai)
	return []time.Time{addMonths(local, -6).UTC(), addMonths(local, -1).UTC(), local.AddDate(0, 0, -7).UTC(), at.Add(time.Microsecond)}
}

// sub subtracts t2's counted reviews and detailed ratings from t.
func (t *Tally) sub(t2 Tally) {
	t.Positive -= t2.Positive
	t.Neutral -= t2.Neutral
	t.Negative -= t2.Negative
	t.DSRCount -= t2.DSRCount
	t.DescriptionSum -= t2.DescriptionSum
	t.ServiceSum -= t2.ServiceSum
	t.LogisticsSum -= t2.LogisticsSum
}

func windowCount(key, label string, from, until time.Time, t Tally) WindowCount {
	return WindowCount{Key: key, Label: label, From: from, Until: until, Positive: t.Positive, Neutral: t.Neutral, Negative: t.Negative}
}

// positiveRate is 好评 / (好评 + 中评 + 差评), four decimals, 0 when none.
func positiveRate(pos, counted int) float64 {
	if counted == 0 {
		return 0
	}
	return math.Round(float64(pos)/float64(counted)*10000) / 10000
}

// WindowsOf builds the windows at at from the lifetime tally and the
// buckets the store split at WindowEdges(at): [six months, month), [month,
// week), [week, at], after at.
func (c Config) WindowsOf(at time.Time, lifetime Tally, buckets []Tally) *Windows {
	c = c.withDefaults()
	at = at.UTC().Truncate(time.Microsecond)
	e := WindowEdges(at)
	b := make([]Tally, len(e))
	copy(b, buckets)
	week := b[2]
	month := week
	month.Add(b[1])
	half := month
	half.Add(b[0])
	total := lifetime
	total.sub(b[3])
	older := total
	older.sub(half)
	hy := HalfYear{Counted: half.Positive + half.Neutral + half.Negative,
		Description: c.detail(half.DescriptionSum, half.DSRCount), Service: c.detail(half.ServiceSum, half.DSRCount),
		Logistics: c.detail(half.LogisticsSum, half.DSRCount)}
	hy.PositiveRate = positiveRate(half.Positive, hy.Counted)
	return &Windows{AsOf: at, HalfYear: hy, Rows: []WindowCount{
		windowCount(WindowWeek, "最近1周", e[2], time.Time{}, week),
		windowCount(WindowMonth, "最近1个月", e[1], time.Time{}, month),
		windowCount(WindowHalfYear, "最近6个月", e[0], time.Time{}, half),
		windowCount(WindowOlder, "6个月前", time.Time{}, e[0], older),
		windowCount(WindowTotal, "总计", time.Time{}, time.Time{}, total),
	}}
}

// reputationAt reads the lifetime tally and the windows of the shops (or,
// with shopIDs nil, of every shop of seller) at the clock's now, in one
// snapshot, and turns them into points, level, ratings and windows.
func (s *Service) reputationAt(ctx context.Context, op string, sellerID int64, shopIDs []int64) (Reputation, error) {
	at := s.now()
	life, buckets, err := s.Store.ReviewWindows(ctx, sellerID, shopIDs, WindowEdges(at))
	if err != nil {
		return Reputation{}, errs.Wrap(op, err)
	}
	c := s.cfg()
	rep := c.ReputationOf(life)
	rep.Windows = c.WindowsOf(at, life, buckets)
	return rep, nil
}
