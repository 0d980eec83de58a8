package disclosure

import (
	"context"
	"fmt"
	"sort"
	"time"

	"ecredit/code"
	"ecredit/errs"
	"ecredit/logistics"
	"ecredit/record"
	"ecredit/registry"
	"ecredit/trade"
)

// Group is one section of a profile: the records of some types.
type Group struct {
	Key     string        `json:"key"`   // licences, penalties, commitments, others
	Title   string        `json:"title"` // 中文
	Records []record.View `json:"records"`
}

// Profile is a subject's public credit profile.
type Profile struct {
	Subject  registry.SubjectView `json:"subject"`
	Groups   []Group              `json:"groups"`   // always the four groups, in order
	Disputed int                  `json:"disputed"` // records with an objection being handled
	Total    int                  `json:"total"`    // records in public view
	AsOf     time.Time            `json:"as_of"`

	// Trade (M5), filled through Service.Trade: a shop owner's credit
	// points, level and ratings over all its shops (absent for subjects
	// that run no shop), and third-party agencies' evaluations still valid.
	Points      *int64                 `json:"points,omitempty"`
	Level       *trade.Level           `json:"level,omitempty"`
	Ratings     *trade.Ratings         `json:"ratings,omitempty"`
	Evaluations []trade.EvaluationView `json:"evaluations,omitempty"`
	// RatingWindows (M5, rolling windows): the 信用评价 table (好评 / 中评
	// / 差评 over 最近1周, 最近1个月, 最近6个月, 6个月前, 总计) and the
	// six-month 好评率 and detailed ratings, over all the owner's shops.
	RatingWindows *trade.Windows `json:"rating_windows,omitempty"`

	records []*record.Record // in public view, ascending id

	// Logistics credit (M4), logistics firms only, when the service has
	// a LogisticsGrader: the grade ("" when there are too few parcels to
	// grade) and its metrics, treatment and reasons.
	Grade     logistics.Grade   `json:"grade,omitempty"`
	Logistics *logistics.Public `json:"logistics,omitempty"`
}

// LogisticsGrader grades logistics firms for their profile
// (logistics.Service); it returns nil for other subjects.
type LogisticsGrader interface {
	PublicGrade(ctx context.Context, sub *registry.Subject) (*logistics.Public, error)
}

// TradeSource is what the profile needs of package trade (*trade.Service).
type TradeSource interface {
	// SubjectReputation is nil for a subject that runs no shop.
	SubjectReputation(ctx context.Context, subjectID int64) (*trade.SubjectReputation, error)
	Evaluations(ctx context.Context, subjectID int64) ([]*trade.Evaluation, error)
}

// addTrade fills the trade fields of p (Service.Trade set).
func (s *Service) addTrade(ctx context.Context, p *Profile, subjectID int64) error {
	rep, err := s.Trade.SubjectReputation(ctx, subjectID)
	if err != nil {
		return err
	}
	if rep != nil {
		pts, lvl, rt := rep.Points, rep.Level, rep.Ratings
		p.Points, p.Level, p.Ratings = &pts, &lvl, &rt
		p.RatingWindows = rep.Windows // rolling windows (M5)
	}
	evs, err := s.Trade.Evaluations(ctx, subjectID)
	if err != nil {
		return err
	}
	for _, e := range evs {
		p.Evaluations = append(p.Evaluations, e.View())
	}
	return nil
}

// Group keys.
const (
	GroupLicences    = "licences"
	GroupPenalties   = "penalties"
	GroupCommitments = "commitments"
	GroupOthers      = "others"
)

func groupOf(t record.Type) string {
	switch t {
	case record.TypeLicence:
		return GroupLicences
	case record.TypePenalty:
		return GroupPenalties
	case record.TypeCommitment:
		return GroupCommitments
	}
	return GroupOthers
}

func emptyGroups() []Group {
	return []Group{
		{Key: GroupLicences, Title: "行政许可", Records: []record.View{}},
		{Key: GroupPenalties, Title: "行政处罚（公示期内）", Records: []record.View{}},
		{Key: GroupCommitments, Title: "信用承诺", Records: []record.View{}},
		{Key: GroupOthers, Title: "其他信用信息", Records: []record.View{}},
	}
}

// maxProfileRecords bounds the records read for one profile.
const maxProfileRecords = 5000

// publicRecords returns a subject's records in public view at now,
// ascending by id.
func (s *Service) publicRecords(ctx context.Context, subjectID int64, now time.Time) ([]*record.Record, error) {
	var out []*record.Record
	after, seen := int64(0), 0
	for {
		rs, err := s.Store.ListRecords(ctx, record.Filter{SubjectID: subjectID, After: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if record.InPublicView(r, now) {
				out = append(out, r)
			}
		}
		seen += len(rs)
		if len(rs) < 1000 || seen >= maxProfileRecords {
			break
		}
		after = rs[len(rs)-1].ID
	}
	return out, nil
}

// Profile returns the public profile of the subject with id.
func (s *Service) Profile(ctx context.Context, id int64) (*Profile, error) {
	const op = "disclosure.Profile"
	if id <= 0 {
		return nil, &errs.Error{Code: errs.NotFound, Op: op, Field: "id", Message: "主体不存在 (subject not found)"}
	}
	sub, err := s.Store.GetSubject(ctx, id)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	return s.profile(ctx, op, sub, s.now())
}

// ProfileByCode returns the public profile of the organisation with the
// credit code (any case; spaces ignored). A malformed code is errs.Invalid
// on field "code".
func (s *Service) ProfileByCode(ctx context.Context, creditCode string) (*Profile, error) {
	const op = "disclosure.ProfileByCode"
	r := code.ParseUSCC(creditCode)
	if !r.Valid {
		return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "code", Message: fmt.Sprintf("统一社会信用代码无效：%s (invalid credit code)", joinErrs(r.Errors))}
	}
	sub, err := s.Store.FindSubjectByCode(ctx, r.Normalized)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, &errs.Error{Code: errs.NotFound, Op: op, Field: "code", Message: "未找到使用该统一社会信用代码登记的主体 (no subject with this code)"}
		}
		return nil, errs.Wrap(op, err)
	}
	return s.profile(ctx, op, sub, s.now())
}

func joinErrs(es []string) string {
	out := ""
	for i, e := range es {
		if i > 0 {
			out += "；"
		}
		out += e
	}
	return out
}

func (s *Service) profile(ctx context.Context, op string, sub *registry.Subject, now time.Time) (*Profile, error) {
	rs, err := s.publicRecords(ctx, sub.ID, now)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	p := &Profile{Subject: PublicView(sub, now), Groups: emptyGroups(), AsOf: now, records: rs}
	idx := map[string]int{}
	for i, g := range p.Groups {
		idx[g.Key] = i
	}
	// Newest decision first within a group.
	sorted := append([]*record.Record(nil), rs...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].DecisionDate != sorted[j].DecisionDate {
			return sorted[i].DecisionDate > sorted[j].DecisionDate
		}
		return sorted[i].ID > sorted[j].ID
	})
	for _, r := range sorted {
		v := PublicRecordView(r, now)
		g := &p.Groups[idx[groupOf(r.Type)]]
		g.Records = append(g.Records, v)
		if v.Disputed {
			p.Disputed++
		}
	}
	p.Total = len(rs)
	if s.Logistics != nil {
		lg, err := s.Logistics.PublicGrade(ctx, sub)
		if err != nil {
			return nil, errs.Wrap(op, err)
		}
		if lg != nil {
			p.Grade, p.Logistics = lg.Grade, lg
		}
	}
	if s.Trade != nil {
		if err := s.addTrade(ctx, p, sub.ID); err != nil {
			return nil, errs.Wrap(op, err)
		}
	}
	return p, nil
}

// PublicRecordView is the display form of a record for the public: the
// record view (personal data only masked, no HMAC indexes, no objection
// text) without the name of the account that submitted it.
func PublicRecordView(r *record.Record, now time.Time) record.View {
	v := r.View(now)
	v.Source = ""
	return v
}
