package trade

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/clock"
	"ecredit/errs"
	"ecredit/registry"
)

// Text limits.
const (
	MaxReviewText = 500
	MaxFoldReason = 200
)

// ReviewInput is a buyer's review of an order, submitted by the platform.
type ReviewInput struct {
	// Buyer must be the order's buyer.
	Buyer string `json:"buyer"`
	// Rating is 1 (好评), 0 (中评) or −1 (差评); required.
	Rating *int `json:"rating"`
	// The detailed ratings, 1–5 stars each; required.
	Description int    `json:"description"` // 宝贝与描述相符
	Service     int    `json:"service"`     // 卖家服务态度
	Logistics   int    `json:"logistics"`   // 物流服务质量
	Text        string `json:"text,omitempty"`
}

// FollowupInput is a buyer's 追评.
type FollowupInput struct {
	Buyer string `json:"buyer"`
	Text  string `json:"text"`
}

// FoldInput folds a review.
type FoldInput struct {
	Reason string `json:"reason"`
}

// BuyerRatingInput is the seller's rating of the buyer of an order.
type BuyerRatingInput struct {
	Rating *int   `json:"rating"`
	Text   string `json:"text,omitempty"`
}

func checkRating(l *errs.List, r *int) Rating {
	switch {
	case r == nil:
		l.Add("rating", "必须给出总体评价：1 好评、0 中评、-1 差评 (rating required: 1, 0 or -1)")
	case *r < -1 || *r > 1:
		l.Add("rating", "总体评价只能是 1（好评）、0（中评）或 -1（差评），而不是 %d (rating must be 1, 0 or -1)", *r)
	default:
		return Rating(*r)
	}
	return 0
}

func checkStars(l *errs.List, field, name string, v int) {
	if v < 1 || v > 5 {
		l.Add(field, "%s评分必须是 1 到 5 星 (rating must be 1–5)", name)
	}
}

// MonthOf is the calendar month (YYYYMM, Asia/Shanghai) of an instant: the
// period of the buyer–seller bound.
func MonthOf(t time.Time) int {
	s := t.In(clock.Shanghai)
	return s.Year()*100 + int(s.Month())
}

// Review stores the buyer's review of an order. Only the platform of the
// order submits it, only for the order's buyer, only once the order is
// signed (交易成功) and within Config.ReviewWindow, and only once.
func (s *Service) Review(ctx context.Context, orderID int64, in ReviewInput) (*Review, error) {
	const op = "trade.Review"
	a := account.From(ctx)
	if err := require(a, ScopeReviewsWrite); err != nil {
		return nil, errs.Wrap(op, err)
	}
	rating, text, err := checkReviewInput(in)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	o, err := s.orderFor(ctx, a, orderID, true)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	now := s.now()
	r, err := s.newReview(o, in, rating, text, now)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	if ex, err := s.Store.ReviewOfOrder(ctx, o.ID); err == nil {
		return nil, alreadyReviewed(op, o.ID, ex.ID)
	} else if !errs.Is(err, errs.NotFound) {
		return nil, errs.Wrap(op, err)
	}
	c := s.cfg()
	ev := a.Audit(audit.ActCreate, "review", "order:"+strconv.FormatInt(o.ID, 10)+" "+rating.Label())
	if err := s.Store.CreateReview(ctx, r, Bounds{Points: c.PairMonthlyPoints, DSR: c.PairMonthlyDSR}, ev); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, alreadyReviewed(op, o.ID, 0)
		}
		return nil, errs.Wrap(op, err)
	}
	return r, nil
}

// checkReviewInput checks a review's fields: its rating, the three
// detailed ratings, its text and its buyer.
func checkReviewInput(in ReviewInput) (Rating, string, error) {
	var l errs.List
	rating := checkRating(&l, in.Rating)
	checkStars(&l, "description", "描述相符", in.Description)
	checkStars(&l, "service", "服务态度", in.Service)
	checkStars(&l, "logistics", "物流服务", in.Logistics)
	text := strings.TrimSpace(in.Text)
	checkText(&l, "text", text, MaxReviewText, false)
	if strings.TrimSpace(in.Buyer) == "" {
		l.Add("buyer", "必须给出评价人（订单买家代号）(buyer required)")
	}
	return rating, text, l.Err()
}

// newReview is the review of o by in's buyer, checked against the order:
// only its buyer, only once signed and within the window.
func (s *Service) newReview(o *Order, in ReviewInput, rating Rating, text string, now time.Time) (*Review, error) {
	if strings.TrimSpace(in.Buyer) != o.Buyer {
		return nil, &errs.Error{Code: errs.Forbidden, Field: "buyer", Message: fmt.Sprintf("只有订单 %d 的买家才能评价该订单 (only the order's buyer may review it)", o.ID)}
	}
	if err := s.reviewable(o, now); err != nil {
		return nil, err
	}
	return &Review{OrderID: o.ID, PlatformID: o.PlatformID, ShopID: o.ShopID, SellerID: o.SellerID, Buyer: o.Buyer,
		Month: MonthOf(o.PaidAt), Rating: rating, Description: in.Description, Service: in.Service, Logistics: in.Logistics,
		Text: text, CreatedAt: now}, nil
}

func alreadyReviewed(op string, orderID, reviewID int64) error {
	msg := fmt.Sprintf("订单 %d 已评价，每笔订单只能评价一次；如需补充请追评 (order already reviewed; add a follow-up instead)", orderID)
	if reviewID != 0 {
		msg = fmt.Sprintf("订单 %d 已评价（评价 %d），每笔订单只能评价一次；如需补充请追评 (order already reviewed; add a follow-up instead)", orderID, reviewID)
	}
	return &errs.Error{Code: errs.Conflict, Op: op, Field: "order_id", Message: msg}
}

// reviewable says whether a buyer or seller may rate the order now.
func (s *Service) reviewable(o *Order, now time.Time) error {
	if o.Status != StatusSigned || o.SignedAt.IsZero() {
		return &errs.Error{Code: errs.Conflict, Field: "id", Message: fmt.Sprintf("订单 %d 状态为「%s」，交易成功（签收）后才能评价 (only signed orders can be rated)", o.ID, o.Status.Label())}
	}
	if w := s.cfg().ReviewWindow; now.Sub(o.SignedAt) > w {
		return &errs.Error{Code: errs.Conflict, Field: "id", Message: fmt.Sprintf("订单 %d 签收已超过 %d 天，不能再评价 (rating period over)", o.ID, int(w.Hours()/24))}
	}
	return nil
}

// reviewFor loads a review the actor may act on (write) or see.
func (s *Service) reviewFor(ctx context.Context, a account.Actor, id int64) (*Review, error) {
	if id <= 0 {
		return nil, &errs.Error{Code: errs.NotFound, Field: "id", Message: "评价不存在 (review does not exist)"}
	}
	r, err := s.Store.GetReview(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return nil, &errs.Error{Code: errs.NotFound, Field: "id", Message: fmt.Sprintf("评价 %d 不存在 (review does not exist)", id), Err: err}
	}
	if err != nil {
		return nil, err
	}
	if platformScoped(a) && r.PlatformID != a.SubjectID {
		return nil, &errs.Error{Code: errs.Forbidden, Field: "id", Message: fmt.Sprintf("评价 %d 属于其他平台的订单 (review belongs to another platform)", id)}
	}
	return r, nil
}

// Followup adds the buyer's one 追评 to a review, within
// Config.FollowupWindow of the review.
func (s *Service) Followup(ctx context.Context, reviewID int64, in FollowupInput) (*Review, error) {
	const op = "trade.Followup"
	a := account.From(ctx)
	if err := require(a, ScopeReviewsWrite); err != nil {
		return nil, errs.Wrap(op, err)
	}
	var l errs.List
	text := strings.TrimSpace(in.Text)
	checkText(&l, "text", text, MaxReviewText, true)
	if strings.TrimSpace(in.Buyer) == "" {
		l.Add("buyer", "必须给出追评人（订单买家代号）(buyer required)")
	}
	if err := l.Err(); err != nil {
		return nil, errs.Wrap(op, err)
	}
	r, err := s.reviewFor(ctx, a, reviewID)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	if strings.TrimSpace(in.Buyer) != r.Buyer {
		return nil, &errs.Error{Code: errs.Forbidden, Op: op, Field: "buyer", Message: "只有写下该评价的买家才能追评 (only the reviewer may add a follow-up)"}
	}
	if r.Followup != "" {
		return nil, &errs.Error{Code: errs.Conflict, Op: op, Field: "followup", Message: fmt.Sprintf("评价 %d 已有追评，只能追评一次 (a review takes one follow-up)", r.ID)}
	}
	now := s.now()
	if w := s.cfg().FollowupWindow; now.Sub(r.CreatedAt) > w {
		return nil, &errs.Error{Code: errs.Conflict, Op: op, Field: "followup", Message: fmt.Sprintf("评价后 %d 天内才能追评 (follow-up period over)", int(w.Hours()/24))}
	}
	ev := a.Audit(audit.ActUpdate, "review:"+strconv.FormatInt(r.ID, 10), "追评")
	if err := s.Store.AddFollowup(ctx, r.ID, text, now, ev); err != nil {
		return nil, errs.Wrap(op, err)
	}
	r.Followup, r.FollowupAt = text, now
	return r, nil
}

// Fold folds a review with a stated reason. The review stays, visible with
// the reason, but no longer counts (see the package comment).
func (s *Service) Fold(ctx context.Context, reviewID int64, in FoldInput) (*Review, error) {
	const op = "trade.Fold"
	a := account.From(ctx)
	if err := require(a, ScopeReviewsFold); err != nil {
		return nil, errs.Wrap(op, err)
	}
	var l errs.List
	reason := strings.TrimSpace(in.Reason)
	checkText(&l, "reason", reason, MaxFoldReason, true)
	if err := l.Err(); err != nil {
		return nil, errs.Wrap(op, err)
	}
	r, err := s.reviewFor(ctx, a, reviewID)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	if r.Folded() {
		return nil, &errs.Error{Code: errs.Conflict, Op: op, Field: "id", Message: fmt.Sprintf("评价 %d 已于 %s 折叠 (already folded)", r.ID, r.FoldedAt.In(clock.Shanghai).Format("2006-01-02 15:04"))}
	}
	now := s.now()
	ev := a.Audit(audit.ActUpdate, "review:"+strconv.FormatInt(r.ID, 10), "折叠："+clip(reason, 100))
	if err := s.Store.FoldReview(ctx, r.ID, reason, a.Name, now, ev); err != nil {
		return nil, errs.Wrap(op, err)
	}
	r.FoldedAt, r.FoldReason, r.FoldedBy = now, reason, a.Name
	return r, nil
}

// RateBuyer stores the seller's rating of the order's buyer (互评), once,
// for a signed order, submitted by the order's platform.
func (s *Service) RateBuyer(ctx context.Context, orderID int64, in BuyerRatingInput) (*BuyerRating, error) {
	const op = "trade.RateBuyer"
	a := account.From(ctx)
	if err := require(a, ScopeReviewsWrite); err != nil {
		return nil, errs.Wrap(op, err)
	}
	rating, text, err := checkBuyerRatingInput(in)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	o, err := s.orderFor(ctx, a, orderID, true)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	br, err := s.newBuyerRating(o, rating, text, s.now())
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	ev := a.Audit(audit.ActCreate, "buyer_rating", "order:"+strconv.FormatInt(o.ID, 10)+" "+rating.Label())
	if err := s.Store.CreateBuyerRating(ctx, br, ev); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, &errs.Error{Code: errs.Conflict, Op: op, Field: "order_id", Message: fmt.Sprintf("卖家已评价过订单 %d 的买家，只能评价一次 (buyer already rated for this order)", o.ID)}
		}
		return nil, errs.Wrap(op, err)
	}
	return br, nil
}

// checkBuyerRatingInput checks a seller's rating of a buyer: its rating
// and text.
func checkBuyerRatingInput(in BuyerRatingInput) (Rating, string, error) {
	var l errs.List
	rating := checkRating(&l, in.Rating)
	text := strings.TrimSpace(in.Text)
	checkText(&l, "text", text, MaxReviewText, false)
	return rating, text, l.Err()
}

// newBuyerRating is the seller's rating of o's buyer, once o is signed
// and within the window.
func (s *Service) newBuyerRating(o *Order, rating Rating, text string, now time.Time) (*BuyerRating, error) {
	if err := s.reviewable(o, now); err != nil {
		return nil, err
	}
	return &BuyerRating{OrderID: o.ID, PlatformID: o.PlatformID, SellerID: o.SellerID, Buyer: o.Buyer, Rating: rating, Text: text, CreatedAt: now}, nil
}

// BuyerCredit is what a platform learns of one of its buyers: the ratings
// sellers gave them.
type BuyerCredit struct {
	Buyer    string
	Positive int
	Neutral  int
	Negative int
	Points   int64
	Level    Level
}

// BuyerCredit returns the seller ratings a buyer of the actor's platform
// received (platforms: their own buyers only).
func (s *Service) BuyerCredit(ctx context.Context, platformID int64, buyer string) (*BuyerCredit, error) {
	const op = "trade.BuyerCredit"
	a := account.From(ctx)
	if err := require(a, ScopeOrdersRead); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if platformScoped(a) {
		if platformID != 0 && platformID != a.SubjectID {
			return nil, &errs.Error{Code: errs.Forbidden, Op: op, Field: "platform_id", Message: "平台只能查看本平台买家 (you may only see your own buyers)"}
		}
		platformID = a.SubjectID
	}
	if platformID == 0 {
		return nil, errs.Wrap(op, errs.Field("platform_id", "必须指定平台 (platform_id required)"))
	}
	if err := CheckPseudonym(buyer); err != nil {
		return nil, errs.Wrap(op, errs.Field("buyer", "%s", err.Error()))
	}
	pos, neu, neg, err := s.Store.BuyerTally(ctx, platformID, buyer)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	p := int64(pos - neg)
	return &BuyerCredit{Buyer: buyer, Positive: pos, Neutral: neu, Negative: neg, Points: p, Level: LevelOf(p)}, nil
}

// ShopReputation is a shop's public page: the shop, its reputation and its
// recent reviews (folded ones included, with the reason).
type ShopReputation struct {
	Shop       *registry.Shop
	Owner      *registry.Subject
	Reputation Reputation
	Recent     []*Review
}

// RecentReviews is how many reviews ShopPublic includes.
const RecentReviews = 10

// ShopPublic returns a shop's public reputation. Anyone may call it.
func (s *Service) ShopPublic(ctx context.Context, shopID int64) (*ShopReputation, error) {
	const op = "trade.ShopPublic"
	if shopID <= 0 {
		return nil, &errs.Error{Code: errs.NotFound, Op: op, Field: "id", Message: "店铺不存在 (shop does not exist)"}
	}
	sh, err := s.Store.GetShop(ctx, shopID)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	owner, err := s.Store.GetSubject(ctx, sh.OwnerID)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	rep, err := s.reputationAt(ctx, op, 0, []int64{shopID})
	if err != nil {
		return nil, err
	}
	recent, err := s.Store.ListReviews(ctx, ReviewFilter{ShopID: shopID, Limit: RecentReviews})
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	return &ShopReputation{Shop: sh, Owner: owner, Reputation: rep, Recent: recent}, nil
}

// ShopReviews lists a shop's reviews, newest first, before the cursor.
// Anyone may call it.
func (s *Service) ShopReviews(ctx context.Context, shopID, before int64, limit int) ([]*Review, error) {
	const op = "trade.ShopReviews"
	if _, err := s.Store.GetShop(ctx, shopID); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	return s.Store.ListReviews(ctx, ReviewFilter{ShopID: shopID, Before: before, Limit: limit})
}

// SubjectReputation is a shop owner's reputation over all its shops.
type SubjectReputation struct {
	Reputation
	Shops int // shops the subject runs
}

// SubjectReputation returns the reputation of a subject over all its shops,
// or nil when it runs no shop. Anyone may call it (disclosure does).
func (s *Service) SubjectReputation(ctx context.Context, subjectID int64) (*SubjectReputation, error) {
	const op = "trade.SubjectReputation"
	shops, err := s.Store.ListShops(ctx, registry.ShopFilter{OwnerID: subjectID, Limit: 10000})
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	if len(shops) == 0 {
		return nil, nil
	}
	rep, err := s.reputationAt(ctx, op, subjectID, nil)
	if err != nil {
		return nil, err
	}
	return &SubjectReputation{Reputation: rep, Shops: len(shops)}, nil
}

// FoldedReviews lists folded reviews, the latest fold first: departments
// and the credit office any platform's (platformID, or 0 for all), a
// platform its own.
func (s *Service) FoldedReviews(ctx context.Context, f FoldFilter) ([]*Review, error) {
	const op = "trade.FoldedReviews"
	a := account.From(ctx)
	if err := require(a, ScopeOrdersRead); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if err := ownPlatform(a, &f.PlatformID, "平台只能查看本平台折叠的评价 (you may only list your own folds)"); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	out, err := s.Store.FoldedReviews(ctx, f)
	return out, errs.Wrap(op, err)
}

// FoldStats counts each platform's reviews and folds, the folds by rating:
// departments and the credit office, who watch whether a platform folds
// bad reviews away.
func (s *Service) FoldStats(ctx context.Context) ([]FoldStat, error) {
	const op = "trade.FoldStats"
	a := account.From(ctx)
	if err := require(a, ScopeOrdersRead); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if platformScoped(a) {
		return nil, &errs.Error{Code: errs.Forbidden, Op: op, Message: "只有主管部门可以查看各平台的折叠统计 (departments only)"}
	}
	out, err := s.Store.FoldStats(ctx)
	return out, errs.Wrap(op, err)
}
