package record

import (
	"strings"
	"time"
)

// View is the form in which a record leaves the service for display (API,
// portal, reports): labels in Chinese, enum values resolved, personal data
// only masked, no HMAC indexes.
type View struct {
	ID              int64             `json:"id"`
	Type            Type              `json:"type"`
	TypeName        string            `json:"type_name"`
	SubjectID       int64             `json:"subject_id"`
	SubjectCode     string            `json:"subject_code,omitempty"`
	SubjectIDMasked string            `json:"subject_id_masked,omitempty"`
	SubjectName     string            `json:"subject_name"`
	Source          string            `json:"source"`
	SourceRef       string            `json:"source_ref"`
	Fields          map[string]string `json:"fields"`       // normalised values by field key
	FieldLabels     map[string]string `json:"field_labels"` // display values (enum labels) by field key
	DecisionDate    Date              `json:"decision_date,omitempty"`
	Severity        Severity          `json:"severity,omitempty"`
	SeverityLabel   string            `json:"severity_label,omitempty"`
	PublicFrom      Date              `json:"public_from,omitempty"`
	PublicUntil     Date              `json:"public_until,omitempty"`
	PublicState     string            `json:"public_state"` // public, scheduled, expired, hidden, withdrawn, repaired
	Status          Status            `json:"status"`
	StatusLabel     string            `json:"status_label"`
	Disputed        bool              `json:"disputed"`
	Withdrawal      *Withdrawal       `json:"withdrawal,omitempty"`
	Objection       *ObjectionView    `json:"objection,omitempty"`
	RepairStatus    string            `json:"repair_status,omitempty"`
	Version         int               `json:"version"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at"`
}

// ObjectionView is what is shown of an objection: its state and dates,
// not the objector's text (it may name people).
type ObjectionView struct {
	Status     string    `json:"status"`
	FiledAt    time.Time `json:"filed_at"`
	Due        Date      `json:"due"`
	AnsweredAt time.Time `json:"answered_at,omitempty"`
	Overdue    bool      `json:"overdue"`
}

// View returns the display form of r at now.
func (r *Record) View(now time.Time) View {
	v := View{ID: r.ID, Type: r.Type, TypeName: typeName(r.Type), SubjectID: r.SubjectID, SubjectCode: r.SubjectCode,
		SubjectIDMasked: r.SubjectIDMasked, SubjectName: r.SubjectName, Source: r.Source, SourceRef: r.SourceRef,
		Fields: map[string]string{}, FieldLabels: map[string]string{}, DecisionDate: r.DecisionDate, Severity: r.Severity,
		SeverityLabel: r.Severity.Label(), PublicFrom: r.PublicFrom, PublicUntil: r.PublicUntil, PublicState: PublicState(r, now),
		Status: r.Status, StatusLabel: r.Status.Label(), Disputed: r.Disputed, RepairStatus: r.Repair.Status,
		Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.Severity == "" {
		v.SeverityLabel = ""
	}
	def, _ := Lookup(r.Type)
	for k, val := range r.Fields {
		v.Fields[k] = val
		label := val
		if def != nil {
			if f, ok := def.Field(k); ok && f.Kind == KindEnum {
				var ls []string
				for _, x := range splitMulti(val) {
					ls = append(ls, f.EnumLabel(x))
				}
				label = strings.Join(ls, "、")
			}
		}
		v.FieldLabels[k] = label
	}
	if r.Status == StatusWithdrawn {
		w := r.Withdrawal
		v.Withdrawal = &w
	}
	if r.Objection.Status != "" {
		v.Objection = &ObjectionView{Status: r.Objection.Status, FiledAt: r.Objection.FiledAt, Due: r.Objection.Due,
			AnsweredAt: r.Objection.AnsweredAt, Overdue: r.Objection.Overdue || (r.Objection.Status == ObjectionFiled && DateOf(now) > r.Objection.Due)}
	}
	return v
}
