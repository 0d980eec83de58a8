package logistics

import (
	"context"
	"fmt"
	"time"

	"ecredit/account"
	"ecredit/clock"
	"ecredit/errs"
	"ecredit/registry"
)

// Public is a firm's grade and metrics as everyone may see them (the
// public profile, GET /api/v1/public/logistics/{code}).
type Public struct {
	Grade      Grade     `json:"grade"` // A–D, "" when not graded
	GradeLabel string    `json:"grade_label"`
	WindowDays int       `json:"window_days"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Metrics    Metrics   `json:"metrics"`
	Treatment  []string  `json:"treatment"` // what the grade brings (优先推荐 … 重点监管)
	Reasons    []string  `json:"reasons"`   // why the grade is not better
}

// CourierReport is one courier's metrics and grade. Violations are the
// penalty records of the courier's subject (a registered courier, named in
// the records by its ID number) graded as a firm's are; a courier the firm
// names only by its own code has no subject and so no violations.
type CourierReport struct {
	CourierID   int64   `json:"courier_id,omitempty"`
	CourierName string  `json:"courier_name,omitempty"` // masked
	CourierCode string  `json:"courier_code,omitempty"`
	Metrics     Metrics `json:"metrics"`
	Grading
}

// Report is a firm's metrics with its couriers, for the firm itself and
// the authorities.
type Report struct {
	FirmID     int64  `json:"firm_id"`
	FirmName   string `json:"firm_name"`
	CreditCode string `json:"credit_code"`
	Public
	Couriers []CourierReport `json:"couriers"`
	// Rules are the grading thresholds in force, best grade first; D has
	// none.
	Rules      []Rule   `json:"rules"`
	DTreatment []string `json:"d_treatment"`
}

// MaxCouriers is the most couriers a report lists.
const MaxCouriers = 200

func (s *Service) windowOf(days int) (Policy, Window, error) {
	p := s.policy()
	if days != 0 {
		if days < 1 || days > 730 {
			return p, Window{}, errs.Field("days", "统计天数应为 1 到 730 (days must be 1–730)")
		}
		p.WindowDays = days
	}
	return p, p.window(s.now()), nil
}

// windowSince is the first day of the window in Asia/Shanghai: penalty
// records decided on or after it count.
func windowSince(w Window) string { return w.From.In(clock.Shanghai).Format("2006-01-02") }

// grade computes the public grading of a firm over the window: from the
// counts given (fresh), or else those kept a while (firmCounts).
func (s *Service) grade(ctx context.Context, f *registry.Subject, p Policy, w Window, fresh *Counts) (*Public, error) {
	var c Counts
	var err error
	if fresh != nil {
		c = *fresh
	} else if c, w, err = s.firmCounts(ctx, f.ID, p.WindowDays, w, s.now()); err != nil {
		return nil, err
	}
	v, err := s.Store.CountPenalties(ctx, []int64{f.ID}, windowSince(w))
	if err != nil {
		return nil, err
	}
	m := MetricsOf(c, v[f.ID])
	g := p.Grade(m)
	return &Public{Grade: g.Grade, GradeLabel: g.GradeLabel, WindowDays: p.WindowDays, From: w.From,
		To: w.To.Add(-time.Microsecond), Metrics: m, Treatment: g.Treatment, Reasons: g.Reasons}, nil
}

// PublicGrade returns the public grading of a logistics firm; nil for
// other subjects. It needs no scope.
func (s *Service) PublicGrade(ctx context.Context, sub *registry.Subject) (*Public, error) {
	if sub == nil || sub.Kind != registry.KindLogistics {
		return nil, nil
	}
	p, w, _ := s.windowOf(0)
	out, err := s.grade(ctx, sub, p, w, nil)
	return out, errs.Wrap("logistics.PublicGrade", err)
}

// PublicGradeByCode is PublicGrade for the firm with a credit code.
func (s *Service) PublicGradeByCode(ctx context.Context, creditCode string) (*registry.Subject, *Public, error) {
	const op = "logistics.PublicGradeByCode"
	sub, err := s.firmFor(ctx, account.Actor{Role: account.RolePublic}, creditCode)
	if err != nil {
		if e := errs.FieldOf(err); e == "firm" {
			err = &errs.Error{Code: errs.CodeOf(err), Field: "code", Message: errs.MessageOf(err)}
		}
		return nil, nil, errs.Wrap(op, err)
	}
	pub, err := s.PublicGrade(ctx, sub)
	return sub, pub, errs.Wrap(op, err)
}

// Metrics returns the report of firm id over the last days days (0: the
// policy's window): its grade and metrics and those of its couriers.
// Logistics accounts see their own firm; departments and the credit office
// every firm.
func (s *Service) Metrics(ctx context.Context, id int64, days int) (*Report, error) {
	const op = "logistics.Metrics"
	a := account.From(ctx)
	if !Can(a, ScopeParcelsRead) {
		return nil, errs.Wrap(op, denied(a, "查看物流企业的信用指标"))
	}
	p, w, err := s.windowOf(days)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	f, err := s.firmFor(ctx, a, fmt.Sprint("id:", id))
	if err != nil {
		if errs.Is(err, errs.Forbidden) {
			err = &errs.Error{Code: errs.Forbidden, Field: "id", Message: "物流企业账户只能查看本企业的指标 (a logistics account sees its own firm only)"}
		}
		return nil, errs.Wrap(op, err)
	}
	// Fresh: the firm itself and the authorities read the report, over
	// any window, next to its couriers' counts of the same moment (one
	// pass over the parcels gives both).
	total, cs, err := s.Store.AggregateCouriers(ctx, f.ID, w, MaxCouriers)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	pub, err := s.grade(ctx, f, p, w, &total)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	r := &Report{FirmID: f.ID, FirmName: f.Name, CreditCode: f.CreditCode, Public: *pub, Couriers: []CourierReport{},
		Rules: p.Rules, DTreatment: p.DTreatment}
	var ids []int64
	for _, c := range cs {
		if c.CourierID != 0 {
			ids = append(ids, c.CourierID)
		}
	}
	penalties := map[int64]int{}
	if len(ids) > 0 {
		if penalties, err = s.Store.CountPenalties(ctx, ids, windowSince(w)); err != nil {
			return nil, errs.Wrap(op, err)
		}
	}
	for _, c := range cs {
		m := MetricsOf(c.Counts, penalties[c.CourierID])
		cr := CourierReport{CourierID: c.CourierID, CourierCode: c.CourierCode, Metrics: m, Grading: p.Grade(m)}
		if c.CourierID != 0 {
			if sub, err := s.Subjects.GetSubject(ctx, c.CourierID); err == nil {
				cr.CourierName = sub.Name // persons' names are stored masked
			}
		}
		r.Couriers = append(r.Couriers, cr)
	}
	return r, nil
}
