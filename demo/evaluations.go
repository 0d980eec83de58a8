package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"ecredit/account"
	"ecredit/clock"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/trade"
)

// Third-party credit evaluations (M5): the city's credit service agencies
// (服务机构 of the credit_service form: 信用管理, 征信服务, 信用评估), at most
// three, each evaluate every eighth merchant in turn (at most
// maxAgencyEvaluations each), through trade.Service.SubmitEvaluation as
// the agency, each in its own way:
//
//   - the first scores 0–100 and grades AAA … C;
//   - the second grades only (A+ … C);
//   - the third scores on a 350–950 scale.
//
// A merchant's active penalties of the last three years lower its score.
// Each evaluation is valid for a year (two if it would already have
// expired) from a day in the last ten months, and states its method.

// evaluationSeedSalt separates the evaluation stream from the others.
const evaluationSeedSalt = 0x6576616c // "eval"

type agencyStyle struct {
	refPrefix string
	scale     string
	method    string
	score     func(base float64) (*float64, string) // base 0–100 → score, grade
}

var agencyStyles = []agencyStyle{
	{refPrefix: "XP", scale: "0-100", method: "评分卡模型。指标与权重：经营年限 15%、行政许可 15%、行政处罚（近三年）30%、网店信用评价（好评率、店铺动态评分）25%、消费投诉 15%。" +
		"数据来源：承德市电子商务信用信息平台公示信息、国家企业信用信息公示系统、电商平台公开评价。等级：90 分以上 AAA，80 分以上 AA，70 分以上 A，60 分以上 BBB，50 分以上 BB，以下 C。",
		score: func(b float64) (*float64, string) {
			s := float64(int(b*10)) / 10
			return &s, gradeOf(s, []float64{90, 80, 70, 60, 50}, []string{"AAA", "AA", "A", "BBB", "BB", "C"})
		}},
	{refPrefix: "ZX", method: "专家评审结合定量指标：合规经营（许可、处罚）、履约能力（订单签收率、退款率）、消费者评价、信用承诺履行。" +
		"数据来源：企业提供材料、公共信用信息、电商平台数据；两名评审员独立评分后合议定级（A+、A、B、C）。",
		score: func(b float64) (*float64, string) {
			return nil, gradeOf(b, []float64{88, 75, 60}, []string{"A+", "A", "B", "C"})
		}},
	{refPrefix: "PG", scale: "350-950", method: "机器学习模型（梯度提升树），特征：主体基本信息、行政许可与处罚、信用承诺、网店评价与评分、物流签收时效，共 46 项；" +
		"以近两年公共信用数据训练并按季度回测。分值 350–950，越高信用越好。",
		score: func(b float64) (*float64, string) {
			s := float64(int(350 + b*6))
			return &s, ""
		}},
}

// gradeOf is the grade of value v by descending thresholds.
func gradeOf(v float64, at []float64, grades []string) string {
	for i, t := range at {
		if v >= t {
			return grades[i]
		}
	}
	return grades[len(grades)-1]
}

// maxAgencyEvaluations bounds what one agency evaluates, so that a city
// of millions does not spend its start-up on evaluations one by one.
const maxAgencyEvaluations = 2000

// writeEvaluations stores the agencies' evaluations and returns how many.
func writeEvaluations(ctx context.Context, store *sqlstore.DB, seed int64, clk clock.Clock) (int, error) {
	now := clk.Now().UTC()
	var agencies []*registry.Subject
	err := eachSubject(ctx, store, registry.KindService, func(s *registry.Subject) error {
		if s.Form == "credit_service" && s.CreditCode != "" && len(agencies) < len(agencyStyles) {
			agencies = append(agencies, s)
		}
		return nil
	})
	if err != nil || len(agencies) == 0 {
		return 0, err
	}
	// Merchant i goes to agency i % 8, while that agency has room.
	type job struct {
		i        int
		merchant *registry.Subject
	}
	var jobs []job
	var ids []int64
	taken := make([]int, len(agencies))
	i := -1
	err = eachSubject(ctx, store, registry.KindMerchant, func(m *registry.Subject) error {
		i++
		j := i % 8
		if j >= len(agencies) || taken[j] >= maxAgencyEvaluations || m.CreditCode == "" || m.Status != registry.StatusActive {
			return nil
		}
		taken[j]++
		jobs = append(jobs, job{i, m})
		ids = append(ids, m.ID)
		return nil
	})
	if err != nil {
		return 0, err
	}
	penalties, err := store.CountPenalties(ctx, ids, now.AddDate(-3, 0, 0).In(clock.Shanghai).Format("2006-01-02"))
	if err != nil {
		return 0, err
	}
	svc := &trade.Service{Store: store, Clock: clk}
	rng := rand.New(rand.NewPCG(uint64(seed)^evaluationSeedSalt, 0x6576))
	n := 0
	for _, jb := range jobs {
		m := jb.merchant
		ag, style := agencies[jb.i%8], agencyStyles[jb.i%8]
		base := 68 + rng.Float64()*30 - 18*float64(penalties[m.ID])
		base = max(20, min(99.9, base))
		score, grade := style.score(base)
		from := now.Add(-time.Duration(10+rng.IntN(290)) * day)
		until := from.AddDate(1, 0, 0)
		if !until.After(now) {
			until = from.AddDate(2, 0, 0)
		}
		actx := account.With(ctx, account.Actor{Name: ag.Name, Role: account.RoleAgency, SubjectID: ag.ID, Via: "system"})
		_, created, err := svc.SubmitEvaluation(actx, trade.EvaluationInput{Ref: fmt.Sprintf("%s%d-%05d", style.refPrefix, from.Year(), jb.i+1),
			SubjectCode: m.CreditCode, Score: score, Scale: style.scale, Grade: grade, Method: style.method, ValidFrom: from, ValidUntil: until})
		if err != nil {
			return n, fmt.Errorf("demo evaluation of %s by %s: %w", m.CreditCode, ag.Name, err)
		}
		if created {
			n++
		}
	}
	return n, nil
}
