package web

import (
	"net/http"
	"sort"
	"strings"

	"ecredit/disclosure"
	"ecredit/httpx"
	"ecredit/record"
)

// fieldKV is one field of a record for display.
type fieldKV struct {
	Key   string
	Name  string
	Value string
}

// recordRow is a record as the profile and the report show it.
type recordRow struct {
	record.View
	Title     string // what the record is about (licence name, violation, matter …)
	Authority string // who decided
	Fields    []fieldKV
	// Details are the fields not already shown as the title, the 文书号,
	// the decision date or the authority (the report's compact rows).
	Details []fieldKV
}

// identityFields are shown in the subject's header, not per record.
var identityFields = map[string]bool{
	"subject_name": true, "subject_category": true, "credit_code": true, "reg_no": true, "org_code": true,
	"tax_no": true, "inst_no": true, "social_org_no": true, "legal_rep_id_type": true,
	"legal_rep_id_number": true, "id_type": true, "id_number": true,
}

var titleFields = []string{"certificate_name", "item_name", "doc_name", "violation_type", "matter", "commitment_type",
	"title", "honour_name", "inspection_type", "grade", "case_no", "content"}

var authorityFields = []string{"authority", "recipient", "awarding_unit", "court", "department", "evaluator", "institution", "source_unit"}

func firstField(v record.View, keys []string) string {
	for _, k := range keys {
		if s := strings.TrimSpace(v.FieldLabels[k]); s != "" {
			return s
		}
	}
	return ""
}

// rowOf builds the display row of a record: its fields in the order of the
// type's data dictionary, with Chinese names and enum labels.
func rowOf(v record.View) recordRow {
	row := recordRow{View: v, Title: firstField(v, titleFields), Authority: firstField(v, authorityFields)}
	if row.Title == "" {
		row.Title = v.TypeName
	}
	def, ok := record.Lookup(v.Type)
	shown := map[string]bool{}
	if ok {
		for _, f := range def.Fields {
			val := strings.TrimSpace(v.FieldLabels[f.Key])
			if val == "" || identityFields[f.Key] || shown[f.Key] {
				continue
			}
			shown[f.Key] = true
			row.Fields = append(row.Fields, fieldKV{Key: f.Key, Name: f.Name, Value: val})
		}
	}
	// Fields of open types not in the schema, in key order.
	var rest []string
	for k := range v.FieldLabels {
		if !shown[k] && !identityFields[k] && strings.TrimSpace(v.FieldLabels[k]) != "" {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		row.Fields = append(row.Fields, fieldKV{Key: k, Name: k, Value: v.FieldLabels[k]})
	}
	for _, f := range row.Fields {
		if f.Value == row.Title || f.Value == v.SourceRef || f.Value == row.Authority || f.Value == string(v.DecisionDate) {
			continue
		}
		row.Details = append(row.Details, f)
	}
	return row
}

// groupRows is a profile group for display.
type groupRows struct {
	Key   string
	Title string
	Rows  []recordRow
}

func groupsOf(p *disclosure.Profile) []groupRows {
	out := make([]groupRows, 0, len(p.Groups))
	for _, g := range p.Groups {
		gr := groupRows{Key: g.Key, Title: g.Title}
		for _, v := range g.Records {
			gr.Rows = append(gr.Rows, rowOf(v))
		}
		out = append(out, gr)
	}
	return out
}

// subjectByCode shows the profile of the organisation with a credit code:
// /subjects/code/{code}.
func (s *Site) subjectByCode(w http.ResponseWriter, r *http.Request, c string) {
	if s.d.Disclosure == nil {
		s.notFound(w, r)
		return
	}
	p, err := s.d.Disclosure.ProfileByCode(publicCtx(r), c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderProfile(w, r, p)
}

// subjectSub dispatches /subjects/{id}/{rest}: /subjects/code/{code},
// /subjects/{id}/report and /subjects/{id}/report.pdf (one pattern, since
// /subjects/code/{code} and /subjects/{id}/report would overlap).
func (s *Site) subjectSub(w http.ResponseWriter, r *http.Request) {
	httpx.NoteRoute(r)
	if s.limited(w, r) {
		return
	}
	id, rest := r.PathValue("id"), r.PathValue("rest")
	if id == "code" {
		s.subjectByCode(w, r, rest)
		return
	}
	n, ok := pathID(id)
	if !ok {
		s.notFound(w, r)
		return
	}
	switch rest {
	case "report":
		s.report(w, r, n)
	case "report.pdf":
		s.reportPDF(w, r, n)
	default:
		s.notFound(w, r)
	}
}
