package trade

import (
	"math"
	"time"
)

// Config holds the numbers of the reputation rules. The zero value means
// the defaults (DefaultConfig).
type Config struct {
	// PairMonthlyPoints: per platform, buyer, seller and calendar month of
	// payment, only this many reviews count towards points and 好评率
	// (Taobao 评价须知 2009: ≤ 6 points a month between the same buyer and
	// seller). Default 6.
	PairMonthlyPoints int
	// PairMonthlyDSR: of those, only this many count towards the detailed
	// ratings (Taobao DSR: ≤ 3 a month per pair). Default 3.
	PairMonthlyDSR int
	// PriorMean and PriorWeight make the detailed ratings Bayesian
	// averages: (PriorWeight·PriorMean + Σ ratings) / (PriorWeight + n). A
	// shop with few reviews sits near PriorMean; PriorWeight is how many
	// reviews it takes to move halfway from it. Defaults 4.5 and 30.
	PriorMean   float64
	PriorWeight float64
	// FollowupWindow is how long after the review a 追评 may come
	// (Taobao: 180 days). Default 180 days.
	FollowupWindow time.Duration
	// ReviewWindow is how long after signing an order may be reviewed
	// (Taobao: 15 days after 确认收货 for the rating; we accept late
	// reports from platforms). Default 180 days.
	ReviewWindow time.Duration
	// FutureSkew is how far in the future a reported time may lie (clock
	// differences). Default 5 minutes.
	FutureSkew time.Duration
}

// DefaultConfig returns the default rule numbers.
func DefaultConfig() Config {
	return Config{PairMonthlyPoints: 6, PairMonthlyDSR: 3, PriorMean: 4.5, PriorWeight: 30,
		FollowupWindow: 180 * 24 * time.Hour, ReviewWindow: 180 * 24 * time.Hour, FutureSkew: 5 * time.Minute}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.PairMonthlyPoints <= 0 {
		c.PairMonthlyPoints = d.PairMonthlyPoints
	}
	if c.PairMonthlyDSR <= 0 {
		c.PairMonthlyDSR = d.PairMonthlyDSR
	}
	if c.PairMonthlyDSR > c.PairMonthlyPoints {
		c.PairMonthlyDSR = c.PairMonthlyPoints
	}
	if c.PriorMean < 1 || c.PriorMean > 5 {
		c.PriorMean = d.PriorMean
	}
	if c.PriorWeight <= 0 {
		c.PriorWeight = d.PriorWeight
	}
	if c.FollowupWindow <= 0 {
		c.FollowupWindow = d.FollowupWindow
	}
	if c.ReviewWindow <= 0 {
		c.ReviewWindow = d.ReviewWindow
	}
	if c.FutureSkew <= 0 {
		c.FutureSkew = d.FutureSkew
	}
	return c
}

// Level is a credit level derived from points.
type Level struct {
	Rank      int    `json:"rank"`       // 0 (no level) … 20
	Name      string `json:"name"`       // 一心 … 五金冠; 无等级 below the first
	Tier      string `json:"tier"`       // none, heart, diamond, crown, gold_crown
	Count     int    `json:"count"`      // symbols shown: 1–5 (0 for none)
	MinPoints int64  `json:"min_points"` // the level's lower bound
	// NextAt is the points of the next level (0 at the top).
	NextAt int64 `json:"next_at,omitempty"`
}

// LevelThresholds are Taobao's lower bounds of levels 1–20: five hearts,
// five diamonds, five crowns, five gold crowns.
var LevelThresholds = []int64{4, 11, 41, 91, 151, 251, 501, 1001, 2001, 5001, 10001, 20001, 50001, 100001, 200001,
	500001, 1000001, 2000001, 5000001, 10000001}

var (
	tiers      = []string{"heart", "diamond", "crown", "gold_crown"}
	tierNames  = []string{"心", "钻", "冠", "金冠"}
	countNames = []string{"一", "二", "三", "四", "五"}
)

// LevelOf returns the level of a number of points.
func LevelOf(points int64) Level {
	rank := 0
	for i, t := range LevelThresholds {
		if points >= t {
			rank = i + 1
		}
	}
	if rank == 0 {
		return Level{Name: "无等级", Tier: "none", NextAt: LevelThresholds[0]}
	}
	l := Level{Rank: rank, Tier: tiers[(rank-1)/5], Count: (rank-1)%5 + 1, MinPoints: LevelThresholds[rank-1]}
	l.Name = countNames[l.Count-1] + tierNames[(rank-1)/5]
	if rank < len(LevelThresholds) {
		l.NextAt = LevelThresholds[rank]
	}
	return l
}

// DetailScore is one detailed rating (描述相符, 服务态度 or 物流服务).
type DetailScore struct {
	// Score is the Bayesian average, rounded to two decimals: what is
	// shown and compared.
	Score float64 `json:"score"`
	// Mean is the plain average of the counted ratings (0 when none).
	Mean  float64 `json:"mean"`
	Count int     `json:"count"`
}

// Bayes is the Bayesian average of n ratings summing to sum, with the
// prior mean m weighted as w ratings.
func Bayes(sum int64, n int, m, w float64) float64 {
	return (w*m + float64(sum)) / (w + float64(n))
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

func (c Config) detail(sum int64, n int) DetailScore {
	d := DetailScore{Score: round2(Bayes(sum, n, c.PriorMean, c.PriorWeight)), Count: n}
	if n > 0 {
		d.Mean = round2(float64(sum) / float64(n))
	}
	return d
}

// Ratings is a shop's (or a seller's) rating summary.
type Ratings struct {
	Reviews  int `json:"reviews"`  // every review, counted or not
	Counted  int `json:"counted"`  // reviews whose +1/0/−1 counts
	Folded   int `json:"folded"`   // folded by the platform (not counted)
	Positive int `json:"positive"` // 好评
	Neutral  int `json:"neutral"`  // 中评
	Negative int `json:"negative"` // 差评
	// PositiveRate is 好评 / (好评 + 中评 + 差评) of the counted reviews,
	// 0–1, four decimals; 0 when none counted. A 中评 lowers it (reference
	// domain.md §5.1, see rolling.go). Lifetime; HalfYear has the
	// six-month rate shown as a shop's headline.
	PositiveRate float64     `json:"positive_rate"`
	Description  DetailScore `json:"description"` // 宝贝与描述相符
	Service      DetailScore `json:"service"`     // 卖家服务态度
	Logistics    DetailScore `json:"logistics"`   // 物流服务质量
	// Prior is the Bayesian prior the detailed scores use.
	PriorMean   float64 `json:"prior_mean"`
	PriorWeight float64 `json:"prior_weight"`
}

// Reputation is points, level and ratings together.
type Reputation struct {
	Points  int64   `json:"points"`
	Level   Level   `json:"level"`
	Ratings Ratings `json:"ratings"`
	// Windows: the 信用评价 table and the six-month 好评率 and detailed
	// ratings (rolling.go); nil when not read.
	Windows *Windows `json:"rating_windows,omitempty"`
}

// ReputationOf turns a tally into points, level and ratings with the
// configured prior.
func (c Config) ReputationOf(t Tally) Reputation {
	c = c.withDefaults()
	counted := t.Positive + t.Neutral + t.Negative
	r := Ratings{Reviews: t.Reviews, Counted: counted, Folded: t.Folded, Positive: t.Positive, Neutral: t.Neutral,
		Negative: t.Negative, PriorMean: c.PriorMean, PriorWeight: c.PriorWeight,
		Description: c.detail(t.DescriptionSum, t.DSRCount), Service: c.detail(t.ServiceSum, t.DSRCount),
		Logistics: c.detail(t.LogisticsSum, t.DSRCount)}
	r.PositiveRate = positiveRate(t.Positive, counted)
	p := t.Points()
	return Reputation{Points: p, Level: LevelOf(p), Ratings: r}
}
