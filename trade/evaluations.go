package trade

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/code"
	"ecredit/errs"
)

// EvaluationInput is a third-party credit agency's evaluation of a subject.
type EvaluationInput struct {
	// Ref is the agency's own report number: resubmitting it with the same
	// content is "unchanged", with other content a Conflict.
	Ref         string   `json:"ref"`
	SubjectCode string   `json:"subject_code"` // credit code of the evaluated subject
	Score       *float64 `json:"score,omitempty"`
	Scale       string   `json:"scale,omitempty"` // what the score is out of, e.g. "0-100"; required with a score
	Grade       string   `json:"grade,omitempty"` // e.g. AAA, A+, 良好
	// Method describes how the agency evaluated: indicators, weights,
	// data sources, model. Required: an evaluation without its method is
	// not listed.
	Method     string    `json:"method"`
	ValidFrom  time.Time `json:"valid_from,omitzero"` // default now
	ValidUntil time.Time `json:"valid_until"`
}

// Evaluation limits.
const (
	maxMethod = 2000
	maxGrade  = 20
	maxRef    = 64
	// MaxEvaluationValidity is the longest an evaluation may stay valid.
	MaxEvaluationValidity = 3 * 366 * 24 * time.Hour
)

// SubmitEvaluation stores an agency's evaluation of a subject (agencies
// only). The subject must be registered.
func (s *Service) SubmitEvaluation(ctx context.Context, in EvaluationInput) (*Evaluation, bool, error) {
	const op = "trade.SubmitEvaluation"
	a := account.From(ctx)
	if err := require(a, ScopeEvaluationsWrite); err != nil {
		return nil, false, errs.Wrap(op, err)
	}
	now := s.now()
	var l errs.List
	e := &Evaluation{AccountID: a.AccountID, Agency: a.Name, Ref: strings.TrimSpace(in.Ref), Scale: strings.TrimSpace(in.Scale),
		Grade: strings.TrimSpace(in.Grade), Method: strings.TrimSpace(in.Method), ValidFrom: utcMicro(in.ValidFrom),
		ValidUntil: utcMicro(in.ValidUntil), CreatedAt: now}
	checkText(&l, "ref", e.Ref, maxRef, true)
	r := code.ParseUSCC(in.SubjectCode)
	if !r.Valid {
		l.Add("subject_code", "统一社会信用代码无效：%s (invalid credit code)", strings.Join(r.Errors, "；"))
	}
	e.SubjectCode = r.Normalized
	if in.Score == nil && e.Grade == "" {
		l.Add("score", "必须给出评分 score 或等级 grade (score or grade required)")
	}
	if in.Score != nil {
		v := *in.Score
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1000 {
			l.Add("score", "评分须在 0 到 1000 之间 (score must be 0–1000)")
		}
		if e.Scale == "" {
			l.Add("scale", "给出评分时须说明分制，例如 0-100 (scale required with a score)")
		}
		sc := v
		e.Score = &sc
	}
	checkText(&l, "scale", e.Scale, 20, false)
	checkText(&l, "grade", e.Grade, maxGrade, false)
	checkText(&l, "method", e.Method, maxMethod, true)
	if e.Method != "" && len([]rune(e.Method)) < 10 {
		l.Add("method", "请说明评价方法（指标、权重、数据来源），至少 10 个字 (describe the method: indicators, weights, data)")
	}
	if e.ValidFrom.IsZero() {
		e.ValidFrom = now
	}
	switch {
	case e.ValidUntil.IsZero():
		l.Add("valid_until", "必须给出有效期截止时间 (valid_until required)")
	case !e.ValidUntil.After(e.ValidFrom):
		l.Add("valid_until", "有效期截止时间须晚于开始时间 (valid_until must follow valid_from)")
	case !e.ValidUntil.After(now):
		l.Add("valid_until", "有效期已过，不能报送已失效的评价 (already expired)")
	case e.ValidUntil.Sub(e.ValidFrom) > MaxEvaluationValidity:
		l.Add("valid_until", "有效期不能超过 3 年 (at most 3 years)")
	}
	if err := l.Err(); err != nil {
		return nil, false, errs.Wrap(op, err)
	}
	subs, err := s.Store.FindSubjectsByCodes(ctx, []string{e.SubjectCode})
	if err != nil {
		return nil, false, errs.Wrap(op, err)
	}
	sub := subs[e.SubjectCode]
	if sub == nil {
		return nil, false, &errs.Error{Code: errs.NotFound, Op: op, Field: "subject_code", Message: fmt.Sprintf("统一社会信用代码 %s 尚未登记 (subject not registered)", e.SubjectCode)}
	}
	e.SubjectID = sub.ID
	if ex, err := s.Store.FindEvaluation(ctx, a.AccountID, e.Ref); err == nil {
		if sameEvaluation(ex, e) {
			return ex, false, nil
		}
		return nil, false, &errs.Error{Code: errs.Conflict, Op: op, Field: "ref", Message: fmt.Sprintf("报告编号「%s」已报送（评价 %d），内容不同；新的评价请使用新的报告编号 (ref already used with other content)", e.Ref, ex.ID)}
	} else if !errs.Is(err, errs.NotFound) {
		return nil, false, errs.Wrap(op, err)
	}
	ev := a.Audit(audit.ActCreate, "evaluation", e.SubjectCode+" "+e.Ref)
	if err := s.Store.CreateEvaluation(ctx, e, ev); err != nil {
		return nil, false, errs.Wrap(op, err)
	}
	return e, true, nil
}

func sameEvaluation(a, b *Evaluation) bool {
	sameScore := (a.Score == nil) == (b.Score == nil) && (a.Score == nil || *a.Score == *b.Score)
	return sameScore && a.SubjectID == b.SubjectID && a.Scale == b.Scale && a.Grade == b.Grade && a.Method == b.Method &&
		a.ValidUntil.Equal(b.ValidUntil)
}

// Evaluations lists the evaluations of a subject still valid now, newest
// first. Anyone may call it.
func (s *Service) Evaluations(ctx context.Context, subjectID int64) ([]*Evaluation, error) {
	list, err := s.Store.ListEvaluations(ctx, subjectID, s.now(), 50)
	return list, errs.Wrap("trade.Evaluations", err)
}
