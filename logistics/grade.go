package logistics

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"ecredit/errs"
)

// Grade is a logistics credit grade: A (best) to D, or "" (not graded:
// too few parcels in the window).
type Grade string

const (
	GradeA    Grade = "A"
	GradeB    Grade = "B"
	GradeC    Grade = "C"
	GradeD    Grade = "D"
	GradeNone Grade = ""
)

// Grades lists the grades best first.
var Grades = []Grade{GradeA, GradeB, GradeC, GradeD}

// Label is the Chinese name of the grade.
func (g Grade) Label() string {
	switch g {
	case GradeA:
		return "A 级（诚信）"
	case GradeB:
		return "B 级（良好）"
	case GradeC:
		return "C 级（警示）"
	case GradeD:
		return "D 级（失信）"
	}
	return "暂不评级"
}

// Rule is what a grade demands. A firm gets the best grade whose every
// condition its metrics meet; D is what is left and has no conditions.
type Rule struct {
	Grade         Grade    `json:"grade"`
	MinOnTime     float64  `json:"min_on_time"`     // on-time delivery rate ≥
	MaxLossDamage float64  `json:"max_loss_damage"` // loss and damage rate ≤
	MaxComplaint  float64  `json:"max_complaint"`   // complaints per parcel ≤
	MinValidity   float64  `json:"min_validity"`    // tracking validity ≥
	MaxViolations int      `json:"max_violations"`  // penalty records in the window ≤
	Treatment     []string `json:"treatment"`       // the differentiated treatment of the grade
}

// Policy is how firms and couriers are graded.
type Policy struct {
	// WindowDays is the metrics window: parcels picked up in the last
	// WindowDays days.
	WindowDays int `json:"window_days"`
	// MinParcels: with fewer due parcels in the window a firm (or
	// courier) is not graded.
	MinParcels int `json:"min_parcels"`
	// StaleHours: an unfinished parcel without an event for this long has
	// invalid tracking.
	StaleHours int `json:"stale_hours"`
	// Rules for A, B and C, best first; Treatment for D in DTreatment.
	Rules      []Rule   `json:"rules"`
	DTreatment []string `json:"d_treatment"`
}

// DefaultPolicy is the documented default grading:
//
//	grade  on-time ≥  loss+damage ≤  complaints ≤  tracking valid ≥  violations ≤
//	A      95%        0.1%           0.2%          98%               0
//	B      90%        0.3%           0.5%          95%               1
//	C      80%        1%             1%            90%               3
//	D      otherwise
//
// over the last 90 days, graded from 30 due parcels, tracking stale after
// 72 hours without an event.
func DefaultPolicy() Policy {
	return Policy{WindowDays: 90, MinParcels: 30, StaleHours: 72,
		Rules: []Rule{
			{Grade: GradeA, MinOnTime: 0.95, MaxLossDamage: 0.001, MaxComplaint: 0.002, MinValidity: 0.98, MaxViolations: 0,
				Treatment: []string{"优先推荐（平台与政府采购优先合作）", "减少抽查频次", "行政审批“绿色通道”、容缺受理"}},
			{Grade: GradeB, MinOnTime: 0.90, MaxLossDamage: 0.003, MaxComplaint: 0.005, MinValidity: 0.95, MaxViolations: 1,
				Treatment: []string{"常规监管", "正常抽查频次"}},
			{Grade: GradeC, MinOnTime: 0.80, MaxLossDamage: 0.01, MaxComplaint: 0.01, MinValidity: 0.90, MaxViolations: 3,
				Treatment: []string{"警示提醒", "适当提高抽查频次", "限期整改并报送整改情况"}},
		},
		DTreatment: []string{"重点监管", "增加抽查频次", "约谈企业负责人", "不予评优评先，限制参与政府采购"},
	}
}

// Check reports what is wrong with a policy.
func (p Policy) Check() error {
	var l errs.List
	if p.WindowDays < 1 || p.WindowDays > 730 {
		l.Add("window_days", "统计窗口应为 1 到 730 天 (window_days must be 1–730)")
	}
	if p.MinParcels < 1 {
		l.Add("min_parcels", "最少运单数应至少为 1 (min_parcels must be ≥ 1)")
	}
	if p.StaleHours < 1 {
		l.Add("stale_hours", "轨迹停滞小时数应至少为 1 (stale_hours must be ≥ 1)")
	}
	if len(p.Rules) != 3 {
		l.Add("rules", "应依次给出 A、B、C 三级的条件 (rules must hold A, B and C)")
		return l.Err()
	}
	for i, r := range p.Rules {
		f := fmt.Sprintf("rules[%d]", i)
		if r.Grade != Grades[i] {
			l.Add(f+".grade", "第 %d 条规则应为 %s 级 (rules must be A, B, C in order)", i+1, Grades[i])
		}
		for _, v := range []float64{r.MinOnTime, r.MaxLossDamage, r.MaxComplaint, r.MinValidity} {
			if v < 0 || v > 1 || math.IsNaN(v) {
				l.Add(f, "比率应在 0 到 1 之间 (rates are between 0 and 1)")
				break
			}
		}
		if r.MaxViolations < 0 {
			l.Add(f+".max_violations", "违法次数上限不能为负 (max_violations must be ≥ 0)")
		}
		if i > 0 {
			b := p.Rules[i-1]
			if r.MinOnTime > b.MinOnTime || r.MaxLossDamage < b.MaxLossDamage || r.MaxComplaint < b.MaxComplaint ||
				r.MinValidity > b.MinValidity || r.MaxViolations < b.MaxViolations {
				l.Add(f, "%s 级的条件不能比 %s 级更严 (a lower grade cannot demand more)", r.Grade, b.Grade)
			}
		}
	}
	return l.Err()
}

// LoadPolicy reads a policy as JSON (the fields of Policy); absent fields
// keep their defaults.
func LoadPolicy(r io.Reader) (Policy, error) {
	p := DefaultPolicy()
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, &errs.Error{Code: errs.Invalid, Field: "policy", Message: "物流信用评级配置不是有效的 JSON：" + err.Error() + " (bad grading policy)"}
	}
	return p, p.Check()
}

// Treatment returns the treatment of a grade under the policy.
func (p Policy) Treatment(g Grade) []string {
	for _, r := range p.Rules {
		if r.Grade == g {
			return r.Treatment
		}
	}
	if g == GradeD {
		return p.DTreatment
	}
	return nil
}

// Metrics are the rates of a firm or courier over a window.
type Metrics struct {
	Parcels        int     `json:"parcels"`          // parcels started in the window
	Due            int     `json:"due"`              // parcels due (promised time past, or delivered), returns excluded
	Delivered      int     `json:"delivered"`        // signed for
	OnTimeRate     float64 `json:"on_time_rate"`     // of due: signed no later than promised
	LossDamageRate float64 `json:"loss_damage_rate"` // lost or damaged, per parcel
	ComplaintRate  float64 `json:"complaint_rate"`   // complaints per parcel
	ValidityRate   float64 `json:"validity_rate"`    // parcels with a complete, plausible event chain
	Violations     int     `json:"violations"`       // active penalty records of the firm or courier decided in the window
}

// MetricsOf turns counts into rates.
func MetricsOf(c Counts, violations int) Metrics {
	rate := func(n, d int) float64 {
		if d == 0 {
			return 0
		}
		return math.Round(float64(n)/float64(d)*1e6) / 1e6
	}
	return Metrics{Parcels: c.Parcels, Due: c.Due, Delivered: c.Delivered, OnTimeRate: rate(c.OnTime, c.Due),
		LossDamageRate: rate(c.LostOrDam, c.Parcels), ComplaintRate: rate(c.Complaint, c.Parcels),
		ValidityRate: rate(c.Valid, c.Parcels), Violations: violations}
}

// Grading is a grade with its reasons.
type Grading struct {
	Grade      Grade    `json:"grade"`
	GradeLabel string   `json:"grade_label"`
	Treatment  []string `json:"treatment"`
	// Reasons say why the grade is not better (or why there is none).
	Reasons []string `json:"reasons"`
}

func pct(v float64) string {
	s := fmt.Sprintf("%.2f", v*100)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + "%"
}

// Grade grades metrics under the policy.
func (p Policy) Grade(m Metrics) Grading {
	if m.Due < p.MinParcels {
		return Grading{Grade: GradeNone, GradeLabel: GradeNone.Label(), Treatment: []string{},
			Reasons: []string{fmt.Sprintf("统计期内应送达运单 %d 件，少于评级所需的 %d 件 (too few parcels to grade)", m.Due, p.MinParcels)}}
	}
	var reasons []string
	for _, r := range p.Rules {
		var miss []string
		if m.OnTimeRate < r.MinOnTime {
			miss = append(miss, fmt.Sprintf("准时送达率 %s 低于 %s", pct(m.OnTimeRate), pct(r.MinOnTime)))
		}
		if m.LossDamageRate > r.MaxLossDamage {
			miss = append(miss, fmt.Sprintf("丢失破损率 %s 高于 %s", pct(m.LossDamageRate), pct(r.MaxLossDamage)))
		}
		if m.ComplaintRate > r.MaxComplaint {
			miss = append(miss, fmt.Sprintf("投诉率 %s 高于 %s", pct(m.ComplaintRate), pct(r.MaxComplaint)))
		}
		if m.ValidityRate < r.MinValidity {
			miss = append(miss, fmt.Sprintf("轨迹有效率 %s 低于 %s", pct(m.ValidityRate), pct(r.MinValidity)))
		}
		if m.Violations > r.MaxViolations {
			miss = append(miss, fmt.Sprintf("行政处罚 %d 次，多于 %d 次", m.Violations, r.MaxViolations))
		}
		if len(miss) == 0 {
			return Grading{Grade: r.Grade, GradeLabel: r.Grade.Label(), Treatment: slices.Clone(r.Treatment), Reasons: orEmpty(reasons)}
		}
		reasons = append(reasons, fmt.Sprintf("未达 %s 级：%s", r.Grade, strings.Join(miss, "，")))
	}
	return Grading{Grade: GradeD, GradeLabel: GradeD.Label(), Treatment: slices.Clone(p.DTreatment), Reasons: reasons}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// window is the policy's window ending at now.
func (p Policy) window(now time.Time) Window {
	return Window{From: now.AddDate(0, 0, -p.WindowDays), To: now.Add(time.Microsecond),
		StaleBefore: now.Add(-time.Duration(p.StaleHours) * time.Hour)}
}
