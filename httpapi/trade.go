package httpapi

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"ecredit/errs"
	"ecredit/httpx"
	"ecredit/registry"
	"ecredit/trade"
)

// The trade routes (M5): orders from platforms, reviews and their 追评,
// folding, the seller's rating of the buyer, agency evaluations, and the
// public reputation of a shop. The rules live in trade.Service.

// MaxOrderBatchBody bounds POST /api/v1/orders/batch (1000 orders of up to
// 100 items).
const MaxOrderBatchBody = 8 << 20

var tradeRoutes = []Route{
	{"POST", "/api/v1/orders", (*API).createOrder},
	{"GET", "/api/v1/orders", (*API).listOrders},
	{"POST", "/api/v1/orders/batch", (*API).batchOrders},
	{"GET", "/api/v1/orders/{id}", (*API).getOrder},
	{"POST", "/api/v1/orders/{id}/reviews", (*API).createReview},
	{"POST", "/api/v1/reviews/batch", (*API).batchReviews},
	{"POST", "/api/v1/orders/{id}/buyer-rating", (*API).rateBuyer},
	{"POST", "/api/v1/reviews/{id}/followup", (*API).followupReview},
	{"POST", "/api/v1/reviews/{id}/fold", (*API).foldReview},
	{"GET", "/api/v1/buyers/{buyer}", (*API).buyerCredit},
	{"GET", "/api/v1/shops/{id}/reviews", (*API).shopReviews},
	{"GET", "/api/v1/public/shops/{id}", (*API).publicShop},
	{"POST", "/api/v1/evaluations", (*API).createEvaluation},
	{"GET", "/api/v1/reviews/folded", (*API).foldedReviews},
	{"GET", "/api/v1/reviews/fold-stats", (*API).foldStats},
}

var errNoTrade = &errs.Error{Code: errs.Unavailable, Message: "交易评价服务未启用 (trade is not configured)"}

func (a *API) trade() (*trade.Service, error) {
	if a.d.Trade == nil {
		return nil, errNoTrade
	}
	return a.d.Trade, nil
}

// OrderResult is the answer to a reported order.
type OrderResult struct {
	Status string          `json:"status"` // created | unchanged | updated
	ID     int64           `json:"id"`
	Order  trade.OrderView `json:"order"`
}

func (a *API) createOrder(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.trade()
	if err != nil {
		return err
	}
	var in trade.OrderInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	res, err := svc.Ingest(r.Context(), in)
	if err != nil {
		return err
	}
	writeResult(w, res.Status == trade.ResultCreated, fmt.Sprintf("/api/v1/orders/%d", res.ID), OrderResult{Status: res.Status, ID: res.ID, Order: res.Order.View()})
	return nil
}

// OrderBatchLine is the result of one line of an order batch.
type OrderBatchLine struct {
	Line   int         `json:"line"`
	Status string      `json:"status"` // created | unchanged | updated | error
	ID     int64       `json:"id,omitempty"`
	Error  *BatchError `json:"error,omitempty"`
}

// OrderBatchResult is the answer to an order batch.
type OrderBatchResult struct {
	Created   int              `json:"created"`
	Unchanged int              `json:"unchanged"`
	Updated   int              `json:"updated"`
	Failed    int              `json:"failed"`
	Results   []OrderBatchLine `json:"results"`
}

// batchOrders reports up to 1000 orders: NDJSON (one OrderInput a line) or
// a JSON array. Every line gets its own result; good lines are stored even
// when others are bad.
func (a *API) batchOrders(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.trade()
	if err != nil {
		return err
	}
	return batchLines(a, w, r, svc.IngestBatch)
}

// batchReviews reports up to 1000 review lines of a platform (buyers'
// reviews, 追评, sellers' ratings of buyers, by the platform's order
// numbers): NDJSON (one trade.ReviewLine a line) or a JSON array, each
// line with its own result.
func (a *API) batchReviews(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.trade()
	if err != nil {
		return err
	}
	return batchLines(a, w, r, svc.IngestReviews)
}

// batchLines reads a batch body of T lines (NDJSON or a JSON array), has
// ingest store the lines that decode, and answers every line's result,
// in order, with the counts.
func batchLines[T any](a *API, w http.ResponseWriter, r *http.Request, ingest func(context.Context, []T) ([]trade.Result, error)) error {
	if err := newParams(r).err(); err != nil {
		return err
	}
	items, err := readBatch(r, MaxOrderBatchBody)
	if err != nil {
		return err
	}
	res := OrderBatchResult{Results: make([]OrderBatchLine, len(items))}
	var ins []T
	var at []int
	for i, it := range items {
		var in T
		if err := httpx.DecodeJSONBytes(it.raw, &in); err != nil {
			res.Results[i] = OrderBatchLine{Line: it.line, Status: trade.ResultError, Error: a.lineError(r, it.line, err)}
			continue
		}
		ins = append(ins, in)
		at = append(at, i)
	}
	if len(ins) > 0 {
		out, err := ingest(r.Context(), ins)
		if err != nil {
			return err
		}
		for k, o := range out {
			line := items[at[k]].line
			l := OrderBatchLine{Line: line, Status: o.Status, ID: o.ID}
			if o.Err != nil {
				l = OrderBatchLine{Line: line, Status: trade.ResultError, Error: a.lineError(r, line, o.Err)}
			}
			res.Results[at[k]] = l
		}
	}
	for _, l := range res.Results {
		switch l.Status {
		case trade.ResultCreated:
			res.Created++
		case trade.ResultUnchanged:
			res.Unchanged++
		case trade.ResultUpdated:
			res.Updated++
		default:
			res.Failed++
		}
	}
	httpx.WriteJSON(w, http.StatusOK, res)
	return nil
}

func (a *API) listOrders(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.trade()
	if err != nil {
		return err
	}
	p := newParams(r, "platform_id", "shop_id", "seller_id", "buyer", "limit", "cursor")
	f := trade.OrderFilter{PlatformID: p.id("platform_id"), ShopID: p.id("shop_id"), SellerID: p.id("seller_id"),
		Buyer: p.str("buyer", 64), Limit: p.limit(50, 500), After: p.cursor()}
	if err := p.err(); err != nil {
		return err
	}
	list, err := svc.ListOrders(r.Context(), f)
	if err != nil {
		return err
	}
	var last int64
	if len(list) > 0 {
		last = list[len(list)-1].ID
	}
	httpx.WriteJSON(w, http.StatusOK, Page[trade.OrderView]{Items: views(list, (*trade.Order).View), NextCursor: nextCursor(len(list), f.Limit, last)})
	return nil
}

// OrderDetail is an order with its review and the seller's rating of the
// buyer.
type OrderDetail struct {
	Order       trade.OrderView        `json:"order"`
	Review      *trade.ReviewView      `json:"review,omitempty"`
	BuyerRating *trade.BuyerRatingView `json:"buyer_rating,omitempty"`
}

func (a *API) getOrder(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.trade()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := newParams(r).err(); err != nil {
		return err
	}
	d, err := svc.GetOrder(r.Context(), id)
	if err != nil {
		return err
	}
	out := OrderDetail{Order: d.Order.View()}
	if d.Review != nil {
		v := d.Review.View()
		out.Review = &v
	}
	if d.BuyerRating != nil {
		v := d.BuyerRating.View()
		out.BuyerRating = &v
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// tradeWrite decodes the body into T, calls the service with the path id
// and answers with status and the view of what it returned.
func tradeWrite[T, R, V any](a *API, w http.ResponseWriter, r *http.Request, status int,
	call func(svc *trade.Service, r *http.Request, id int64, in T) (R, error), view func(R) V) error {
	svc, err := a.trade()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in T
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	res, err := call(svc, r, id, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, status, view(res))
	return nil
}

func (a *API) createReview(w http.ResponseWriter, r *http.Request) error {
	return tradeWrite(a, w, r, http.StatusCreated, func(svc *trade.Service, r *http.Request, id int64, in trade.ReviewInput) (*trade.Review, error) {
		return svc.Review(r.Context(), id, in)
	}, (*trade.Review).View)
}

func (a *API) followupReview(w http.ResponseWriter, r *http.Request) error {
	return tradeWrite(a, w, r, http.StatusOK, func(svc *trade.Service, r *http.Request, id int64, in trade.FollowupInput) (*trade.Review, error) {
		return svc.Followup(r.Context(), id, in)
	}, (*trade.Review).View)
}

func (a *API) foldReview(w http.ResponseWriter, r *http.Request) error {
	return tradeWrite(a, w, r, http.StatusOK, func(svc *trade.Service, r *http.Request, id int64, in trade.FoldInput) (*trade.Review, error) {
		return svc.Fold(r.Context(), id, in)
	}, (*trade.Review).View)
}

func (a *API) rateBuyer(w http.ResponseWriter, r *http.Request) error {
	return tradeWrite(a, w, r, http.StatusCreated, func(svc *trade.Service, r *http.Request, id int64, in trade.BuyerRatingInput) (*trade.BuyerRating, error) {
		return svc.RateBuyer(r.Context(), id, in)
	}, (*trade.BuyerRating).View)
}

// BuyerCredit is what a platform sees of one of its buyers: the ratings
// sellers gave them (互评).
type BuyerCredit struct {
	Buyer    string      `json:"buyer"`
	Positive int         `json:"positive"`
	Neutral  int         `json:"neutral"`
	Negative int         `json:"negative"`
	Points   int64       `json:"points"`
	Level    trade.Level `json:"level"`
}

func (a *API) buyerCredit(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.trade()
	if err != nil {
		return err
	}
	p := newParams(r, "platform_id")
	pid := p.id("platform_id")
	if err := p.err(); err != nil {
		return err
	}
	c, err := svc.BuyerCredit(r.Context(), pid, r.PathValue("buyer"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, BuyerCredit{Buyer: c.Buyer, Positive: c.Positive, Neutral: c.Neutral, Negative: c.Negative, Points: c.Points, Level: c.Level})
	return nil
}

func publicReviews(list []*trade.Review) []trade.ReviewView {
	return views(list, (*trade.Review).PublicView)
}

// shopReviews is GET /api/v1/shops/{id}/reviews: public, newest first,
// buyers masked, folded reviews with their reason.
func (a *API) shopReviews(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.PublicLimiter.Check(w, r); err != nil {
		return err
	}
	svc, err := a.trade()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p := newParams(r, "limit", "cursor")
	limit, before := p.limit(20, 100), p.cursor()
	if err := p.err(); err != nil {
		return err
	}
	list, err := svc.ShopReviews(r.Context(), id, before, limit)
	if err != nil {
		return err
	}
	var last int64
	if len(list) > 0 {
		last = list[len(list)-1].ID
	}
	httpx.WriteJSON(w, http.StatusOK, Page[trade.ReviewView]{Items: publicReviews(list), NextCursor: nextCursor(len(list), limit, last)})
	return nil
}

// PublicShop is a shop's public reputation.
type PublicShop struct {
	Shop          PublicShopInfo     `json:"shop"`
	Points        int64              `json:"points"`
	Level         trade.Level        `json:"level"`
	Ratings       trade.Ratings      `json:"ratings"`
	RecentReviews []trade.ReviewView `json:"recent_reviews"`
	// RatingWindows: the 信用评价 table and the six-month 好评率 and
	// detailed ratings of the shop.
	RatingWindows *trade.Windows `json:"rating_windows"`
}

// PublicShopInfo is what the public sees of a shop and its owner.
type PublicShopInfo struct {
	ID            int64           `json:"id"`
	Name          string          `json:"name"`
	Domain        string          `json:"domain"`
	Category      string          `json:"category,omitempty"`
	CategoryLabel string          `json:"category_label,omitempty"`
	Status        registry.Status `json:"status"`
	PlatformID    int64           `json:"platform_id"`
	OwnerID       int64           `json:"owner_id"`
	OwnerName     string          `json:"owner_name"`
	OwnerCode     string          `json:"owner_credit_code,omitempty"`
}

func (a *API) publicShop(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.PublicLimiter.Check(w, r); err != nil {
		return err
	}
	svc, err := a.trade()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := newParams(r).err(); err != nil {
		return err
	}
	sr, err := svc.ShopPublic(r.Context(), id)
	if err != nil {
		return err
	}
	sh := sr.Shop
	owner := sr.Owner.View() // masked
	httpx.WriteJSON(w, http.StatusOK, PublicShop{
		Shop: PublicShopInfo{ID: sh.ID, Name: sh.Name, Domain: sh.Domain, Category: sh.Category, CategoryLabel: registry.Categories[sh.Category],
			Status: sh.Status, PlatformID: sh.PlatformID, OwnerID: sh.OwnerID, OwnerName: owner.Name, OwnerCode: owner.CreditCode},
		Points: sr.Reputation.Points, Level: sr.Reputation.Level, Ratings: sr.Reputation.Ratings, RecentReviews: publicReviews(sr.Recent), RatingWindows: sr.Reputation.Windows})
	return nil
}

// EvaluationResult is the answer to a submitted evaluation.
type EvaluationResult struct {
	Status     string               `json:"status"` // created | unchanged
	Evaluation trade.EvaluationView `json:"evaluation"`
}

func (a *API) createEvaluation(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.trade()
	if err != nil {
		return err
	}
	var in trade.EvaluationInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	e, created, err := svc.SubmitEvaluation(r.Context(), in)
	if err != nil {
		return err
	}
	status, code := "unchanged", http.StatusOK
	if created {
		status, code = "created", http.StatusCreated
	}
	httpx.WriteJSON(w, code, EvaluationResult{Status: status, Evaluation: e.View()})
	return nil
}

// FoldedReview is a folded review with its platform.
type FoldedReview struct {
	trade.ReviewView
	PlatformID int64 `json:"platform_id"`
}

// foldedReviews is GET /api/v1/reviews/folded: folded reviews, the latest
// fold first; departments and the credit office any platform's
// (platform_id), a platform its own.
func (a *API) foldedReviews(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.trade()
	if err != nil {
		return err
	}
	p := newParams(r, "platform_id", "limit", "cursor")
	f := trade.FoldFilter{PlatformID: p.id("platform_id"), Limit: p.limit(50, 500)}
	if c := r.URL.Query().Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		at, id, ok := strings.Cut(string(b), ".")
		atN, err1 := strconv.ParseInt(at, 10, 64)
		idN, err2 := strconv.ParseInt(id, 10, 64)
		if err != nil || !ok || err1 != nil || err2 != nil || atN <= 0 || idN <= 0 {
			p.errs.Add("cursor", "参数 cursor 无效，请使用上一页返回的 next_cursor (invalid cursor)")
		}
		f.BeforeAt, f.BeforeID = time.UnixMicro(atN).UTC(), idN
	}
	if err := p.err(); err != nil {
		return err
	}
	list, err := svc.FoldedReviews(r.Context(), f)
	if err != nil {
		return err
	}
	page := Page[FoldedReview]{Items: make([]FoldedReview, 0, len(list))}
	for _, rv := range list {
		page.Items = append(page.Items, FoldedReview{ReviewView: rv.View(), PlatformID: rv.PlatformID})
	}
	if len(list) == f.Limit {
		last := list[len(list)-1]
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(last.FoldedAt.UnixMicro(), 10) + "." + strconv.FormatInt(last.ID, 10)))
	}
	httpx.WriteJSON(w, http.StatusOK, page)
	return nil
}

// foldStats is GET /api/v1/reviews/fold-stats: each platform's reviews and
// folds, the folds by rating (departments and the credit office).
func (a *API) foldStats(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.trade()
	if err != nil {
		return err
	}
	if err := newParams(r).err(); err != nil {
		return err
	}
	stats, err := svc.FoldStats(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, Page[trade.FoldStat]{Items: stats})
	return nil
}
