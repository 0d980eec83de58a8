package trade

import (
	"testing"
	"time"
)

func TestLevelOf(t *testing.T) {
	for _, c := range []struct {
		points int64
		rank   int
		name   string
		next   int64
	}{
		{-5, 0, "无等级", 4}, {0, 0, "无等级", 4}, {3, 0, "无等级", 4},
		{4, 1, "一心", 11}, {10, 1, "一心", 11}, {11, 2, "二心", 41}, {150, 4, "四心", 151}, {151, 5, "五心", 251},
		{251, 6, "一钻", 501}, {10000, 10, "五钻", 10001}, {10001, 11, "一冠", 20001}, {200001, 15, "五冠", 500001},
		{500001, 16, "一金冠", 1000001}, {10000001, 20, "五金冠", 0}, {1 << 40, 20, "五金冠", 0},
	} {
		l := LevelOf(c.points)
		if l.Rank != c.rank || l.Name != c.name || l.NextAt != c.next {
			t.Errorf("LevelOf(%d) = %+v, want rank %d %s next %d", c.points, l, c.rank, c.name, c.next)
		}
	}
}

func TestCheckPseudonym(t *testing.T) {
	for _, p := range []string{"tb_8f3a", "买家小王", "u1234567890", "12345678901234567890", "b-20260101-001", "1234567890123456"} {
		if err := CheckPseudonym(p); err != nil {
			t.Errorf("%q refused: %v", p, err)
		}
	}
	for _, p := range []string{"", " ", "11010519491231002X", "id110105194912310021", "130802198001010011", "13912345678",
		"m18612345678x", "a@b.cn", "has space", "123456789012345", "11010519491231002x"} {
		if err := CheckPseudonym(p); err == nil {
			t.Errorf("%q accepted", p)
		}
	}
}

func TestBayesOrdersByEvidence(t *testing.T) {
	c := DefaultConfig()
	few := c.ReputationOf(Tally{Positive: 3, DSRCount: 3, DescriptionSum: 15, ServiceSum: 15, LogisticsSum: 15})
	many := c.ReputationOf(Tally{Positive: 3000, DSRCount: 3000, DescriptionSum: 3000 * 49 / 10, ServiceSum: 14700, LogisticsSum: 14700})
	if few.Ratings.Description.Score >= many.Ratings.Description.Score {
		t.Fatalf("3 five-star reviews (%v) outweigh 3000 at 4.9 (%v)", few.Ratings.Description.Score, many.Ratings.Description.Score)
	}
	if few.Ratings.Description.Mean != 5 || many.Ratings.Description.Score < 4.88 {
		t.Fatalf("means %+v %+v", few.Ratings.Description, many.Ratings.Description)
	}
	none := c.ReputationOf(Tally{})
	if none.Ratings.Service.Score != c.PriorMean || none.Ratings.PositiveRate != 0 || none.Level.Rank != 0 {
		t.Fatalf("empty tally %+v", none)
	}
	mixed := c.ReputationOf(Tally{Positive: 2, Neutral: 1, Negative: 1})
	if mixed.Points != 1 || mixed.Ratings.PositiveRate != 0.5 {
		t.Fatalf("mixed %+v", mixed)
	}
}

func TestMonthOfShanghai(t *testing.T) {
	if m := MonthOf(time.Date(2026, 6, 30, 16, 30, 0, 0, time.UTC)); m != 202607 {
		t.Fatalf("MonthOf = %d", m)
	}
	if m := MonthOf(time.Date(2026, 6, 30, 15, 30, 0, 0, time.UTC)); m != 202606 {
		t.Fatalf("MonthOf = %d", m)
	}
}

func TestMaskBuyer(t *testing.T) {
	for in, want := range map[string]string{"tb_8f3a": "t***a", "王": "王***", "买家小王": "买***王", "": ""} {
		if got := MaskBuyer(in); got != want {
			t.Errorf("MaskBuyer(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{PairMonthlyPoints: 2, PairMonthlyDSR: 5}.withDefaults()
	if c.PairMonthlyDSR != 2 || c.PriorWeight != 30 || c.PriorMean != 4.5 {
		t.Fatalf("%+v", c)
	}
}
