package web

import (
	"net/http"

	"ecredit/httpx"
	"ecredit/logistics"
	"ecredit/registry"
)

// logisticsData is the page of a logistics firm's grade.
type logisticsData struct {
	ID         int64
	Name       string
	CreditCode string
	Grade      *logistics.Public
	logistics.Policy
}

// logisticsPage is GET /logistics/{id}: a logistics firm's grade, metrics,
// treatment and the grading rules (public).
func (s *Site) logisticsPage(w http.ResponseWriter, r *http.Request) {
	httpx.NoteRoute(r)
	id, ok := pathID(r.PathValue("id"))
	if !ok || s.d.Logistics == nil {
		s.notFound(w, r)
		return
	}
	sub, err := s.d.Registry.Store.GetSubject(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if sub.Kind != registry.KindLogistics {
		s.notFound(w, r)
		return
	}
	g, err := s.d.Logistics.PublicGrade(publicCtx(r), sub)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := s.publicView(sub)
	s.render(w, r, http.StatusOK, "logistics", &page{Title: v.Name + " 物流信用评级", Section: "search",
		Data: logisticsData{ID: sub.ID, Name: v.Name, CreditCode: v.CreditCode, Grade: g, Policy: s.d.Logistics.PolicyInUse()}})
}
