package web

import (
	"context"
	"net/http"
	"strconv"

	"ecredit/httpx"
	"ecredit/registry"
	"ecredit/trade"
)

// A shop's public ratings page (/shops/{id}) and the profile's ratings
// section, from package trade (M5).

// shopData is what templates/shop.html shows.
type shopData struct {
	Shop         registry.ShopView
	Owner        registry.SubjectView
	PlatformName string
	Rep          trade.Reputation
	Reviews      []trade.ReviewView
	Next         string // URL of the older reviews, "" when none
	Older        bool   // this page starts below the newest
}

// shopReviewPage is how many reviews the shop page lists at a time.
const shopReviewPage = 20

func (s *Site) publicShop(w http.ResponseWriter, r *http.Request) {
	httpx.NoteRoute(r)
	id, ok := pathID(r.PathValue("id"))
	if !ok || s.d.Trade == nil {
		s.notFound(w, r)
		return
	}
	ctx := publicCtx(r)
	var before int64
	if c := r.URL.Query().Get("before"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n <= 0 {
			s.errorPage(w, r, nil, http.StatusBadRequest, "参数 before 应为正整数 (before must be a positive integer)")
			return
		}
		before = n
	}
	sr, err := s.d.Trade.ShopPublic(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list, err := s.d.Trade.ShopReviews(ctx, id, before, shopReviewPage)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := shopData{Shop: sr.Shop.View(), Owner: s.publicView(sr.Owner), Rep: sr.Reputation, Older: before > 0}
	if p, err := s.d.Registry.Store.GetSubject(ctx, sr.Shop.PlatformID); err == nil {
		d.PlatformName = p.Name
	}
	for _, rv := range list {
		d.Reviews = append(d.Reviews, rv.PublicView())
	}
	if len(list) == shopReviewPage {
		d.Next = "/shops/" + strconv.FormatInt(id, 10) + "?before=" + strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	s.render(w, r, http.StatusOK, "shop", &page{Title: sr.Shop.Name + " 的信用评价", Section: "search", Data: d})
}

// profileTrade is the ratings section of a subject's profile page.
type profileTrade struct {
	Rep         *trade.SubjectReputation // nil: the subject runs no shop
	Evaluations []trade.EvaluationView
}

func (s *Site) profileTrade(ctx context.Context, subjectID int64) (*profileTrade, error) {
	if s.d.Trade == nil {
		return nil, nil
	}
	rep, err := s.d.Trade.SubjectReputation(ctx, subjectID)
	if err != nil {
		return nil, err
	}
	evs, err := s.d.Trade.Evaluations(ctx, subjectID)
	if err != nil {
		return nil, err
	}
	pt := &profileTrade{Rep: rep}
	for _, e := range evs {
		pt.Evaluations = append(pt.Evaluations, e.View())
	}
	return pt, nil
}
