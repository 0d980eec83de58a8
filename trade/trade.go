// Package trade is the behavioural half of a shop's credit (M5): the orders
// platforms report, the reviews their buyers write (overall +1/0/−1 and the
// three detailed ratings 描述相符, 服务态度, 物流服务, one follow-up 追评), the
// seller's rating of the buyer (互评), credit points and levels the way
// Taobao computes them, Bayesian detailed ratings, and the evaluations that
// third-party credit agencies submit with their method.
//
// Rules (see Service and Config for the numbers):
//   - A platform reports and reads only orders of its own shops; an order is
//     keyed by (platform, order_no): the same content again is "unchanged",
//     later status or times are an update, anything else a conflict.
//   - Buyers are platform-scoped pseudonyms, never personal data: anything
//     that looks like an ID number, a mobile number or an e-mail address is
//     refused.
//   - Only the buyer of a signed order of the platform reviews it, once;
//     one 追评 follows within FollowupWindow. Reviews are never deleted: a
//     platform folds one with a reason, which stays visible. A folded review
//     no longer counts towards points, 好评率 or the detailed ratings (as
//     Taobao keeps folded reviews out of a shop's scores) but is listed, with
//     the reason, and counted as folded on every public summary.
//   - Points: +1/0/−1 per review, but per calendar month of payment
//     (Asia/Shanghai) only the first PairMonthlyPoints reviews between the
//     same buyer and seller on a platform count (Taobao: ≤ 6 a month), and
//     only the first PairMonthlyDSR of them count towards the detailed
//     ratings (Taobao DSR: ≤ 3 a month). Whether a review counts is decided
//     once, when it is written.
//   - Detailed ratings are Bayesian averages (PriorWeight·PriorMean + Σ) /
//     (PriorWeight + n), so that three reviews do not outweigh three
//     thousand.
//
// This is a domain package: no net/http, no database/sql. Package sqlstore
// implements Store.
package trade

import (
	"context"
	"fmt"
	"time"

	"ecredit/audit"
	"ecredit/registry"
)

// Status of an order.
type Status string

const (
	StatusPaid      Status = "paid"      // 已付款
	StatusShipped   Status = "shipped"   // 已发货
	StatusSigned    Status = "signed"    // 已签收（交易成功）
	StatusCancelled Status = "cancelled" // 已取消
	StatusRefunded  Status = "refunded"  // 已退款
)

// Statuses lists every status, in the order an order moves through them.
var Statuses = []Status{StatusPaid, StatusShipped, StatusSigned, StatusCancelled, StatusRefunded}

// Label is the Chinese name of the status.
func (s Status) Label() string {
	switch s {
	case StatusPaid:
		return "已付款"
	case StatusShipped:
		return "已发货"
	case StatusSigned:
		return "已签收"
	case StatusCancelled:
		return "已取消"
	case StatusRefunded:
		return "已退款"
	}
	return string(s)
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	for _, x := range Statuses {
		if x == s {
			return true
		}
	}
	return false
}

// rank orders statuses: an update may only move forward.
func (s Status) rank() int {
	switch s {
	case StatusPaid:
		return 1
	case StatusShipped:
		return 2
	case StatusSigned:
		return 3
	case StatusCancelled, StatusRefunded:
		return 4
	}
	return 0
}

// Order is one order a platform reported.
type Order struct {
	ID         int64
	PlatformID int64
	ShopID     int64
	SellerID   int64 // the shop's owner
	OrderNo    string
	Buyer      string // platform-scoped pseudonym
	AmountFen  int64
	Region     string // destination, GB/T 2260
	Waybill    string
	CarrierID  int64 // logistics firm subject; 0 when not given
	Status     Status
	PaidAt     time.Time
	ShippedAt  time.Time
	SignedAt   time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Version    int
	Items      []Item
}

// Item is one line of an order.
type Item struct {
	Line     int    `json:"line"`
	GTIN     string `json:"gtin"`
	Batch    string `json:"batch,omitempty"`
	Name     string `json:"name,omitempty"`
	Category string `json:"category,omitempty"`
	Quantity int    `json:"quantity"`
	PriceFen int64  `json:"price_fen"`
}

// Rating is the overall rating of a review: 好评, 中评, 差评.
type Rating int

const (
	Negative Rating = -1 // 差评
	Neutral  Rating = 0  // 中评
	Positive Rating = 1  // 好评
)

// Yuan writes an amount in fen as yuan with two decimals ("59.90").
func Yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// Label is the Chinese name of the rating.
func (r Rating) Label() string {
	switch r {
	case Positive:
		return "好评"
	case Neutral:
		return "中评"
	case Negative:
		return "差评"
	}
	return "?"
}

// Review is a buyer's review of an order.
type Review struct {
	ID          int64
	OrderID     int64
	PlatformID  int64
	ShopID      int64
	SellerID    int64
	Buyer       string
	Month       int // YYYYMM of the order's payment, Asia/Shanghai
	Rating      Rating
	Description int // 描述相符 1–5
	Service     int // 服务态度 1–5
	Logistics   int // 物流服务 1–5
	Text        string
	// Counted: the +1/0/−1 counts towards points and 好评率; DSRCounted:
	// the three detailed ratings count. Decided by the store when the
	// review is written (see Bounds).
	Counted    bool
	DSRCounted bool
	CreatedAt  time.Time
	Followup   string
	FollowupAt time.Time
	FoldedAt   time.Time
	FoldReason string
	FoldedBy   string
}

// Folded reports whether a platform folded the review.
func (r *Review) Folded() bool { return !r.FoldedAt.IsZero() }

// BuyerRating is the seller's rating of the buyer of an order (互评).
type BuyerRating struct {
	ID         int64
	OrderID    int64
	PlatformID int64
	SellerID   int64
	Buyer      string
	Rating     Rating
	Text       string
	CreatedAt  time.Time
}

// Evaluation is a third-party credit agency's evaluation of a subject.
type Evaluation struct {
	ID          int64
	AccountID   int64
	Agency      string // the agency account's name
	Ref         string // the agency's own report number
	SubjectID   int64
	SubjectCode string
	Score       *float64
	Scale       string // what the score is out of, e.g. "0-100"
	Grade       string // e.g. AAA, A+, 良好
	Method      string
	ValidFrom   time.Time
	ValidUntil  time.Time
	CreatedAt   time.Time
}

// Tally is the running sum of one shop's reviews (or of all the shops of a
// seller).
type Tally struct {
	ShopID   int64
	SellerID int64
	Reviews  int // every review, counted or not, folded or not
	Folded   int
	// The counted, unfolded reviews by rating.
	Positive, Neutral, Negative int
	// The counted, unfolded detailed ratings: how many and their sums.
	DSRCount                                 int
	DescriptionSum, ServiceSum, LogisticsSum int64
}

// Add adds t2 into t.
func (t *Tally) Add(t2 Tally) {
	t.Reviews += t2.Reviews
	t.Folded += t2.Folded
	t.Positive += t2.Positive
	t.Neutral += t2.Neutral
	t.Negative += t2.Negative
	t.DSRCount += t2.DSRCount
	t.DescriptionSum += t2.DescriptionSum
	t.ServiceSum += t2.ServiceSum
	t.LogisticsSum += t2.LogisticsSum
}

// Points are the credit points: positives minus negatives.
func (t Tally) Points() int64 { return int64(t.Positive) - int64(t.Negative) }

// Bounds are the per buyer–seller, per calendar month caps the store
// applies when it writes a review.
type Bounds struct {
	Points int // reviews whose +1/0/−1 counts
	DSR    int // reviews whose detailed ratings count
}

// OrderFilter selects orders, ascending by id after the cursor.
type OrderFilter struct {
	PlatformID int64
	ShopID     int64
	SellerID   int64
	Buyer      string
	After      int64
	Limit      int
}

// ReviewFilter selects reviews, newest first before the cursor.
type ReviewFilter struct {
	ShopID   int64
	SellerID int64
	Before   int64 // id cursor; 0 = from the newest
	Limit    int
}

// FoldFilter selects folded reviews, the latest fold first, before the
// cursor (the fold time and review id of the last one seen).
type FoldFilter struct {
	PlatformID int64 // 0: every platform
	BeforeAt   time.Time
	BeforeID   int64
	Limit      int
}

// FoldStat is what one platform folded: its reviews and folds in all
// (from the shops' tallies) and the folds by rating.
type FoldStat struct {
	PlatformID     int64     `json:"platform_id"`
	Reviews        int64     `json:"reviews"`
	Folded         int64     `json:"folded"`
	FoldedNegative int64     `json:"folded_negative"`
	FoldedNeutral  int64     `json:"folded_neutral"`
	FoldedPositive int64     `json:"folded_positive"`
	LastFold       time.Time `json:"last_fold,omitzero"`
}

// Store persists orders, reviews and evaluations. Every write appends its
// audit entry in the same transaction. Errors: errs.NotFound, errs.Conflict.
type Store interface {
	// Shops and subjects the rules need.
	GetShop(ctx context.Context, id int64) (*registry.Shop, error)
	ShopsByIDs(ctx context.Context, ids []int64) (map[int64]*registry.Shop, error)
	// ShopsByPlatformShopIDs maps the platform's own shop ids to shops.
	ShopsByPlatformShopIDs(ctx context.Context, platformID int64, psids []string) (map[string]*registry.Shop, error)
	ListShops(ctx context.Context, f registry.ShopFilter) ([]*registry.Shop, error)
	GetSubject(ctx context.Context, id int64) (*registry.Subject, error)
	FindSubjectsByCodes(ctx context.Context, codes []string) (map[string]*registry.Subject, error)

	// OrdersByNos returns the stored orders of a platform by order number,
	// with their items.
	OrdersByNos(ctx context.Context, platformID int64, nos []string) (map[string]*Order, error)
	// OrderHeadsByNos is OrdersByNos without the orders' items.
	OrderHeadsByNos(ctx context.Context, platformID int64, nos []string) (map[string]*Order, error)
	// CreateOrders inserts those of os whose (platform, order number) is
	// not stored yet, with their items, in one transaction with one audit
	// entry: entry (may be nil) builds it from the inserted orders, and none
	// is written when nothing was inserted. It sets ID and Version of the
	// inserted orders and returns, in input order, those it skipped because
	// the platform has already reported their number (ID left 0): the
	// caller compares them with the stored ones. Ingest therefore needs no
	// lookup before the insert, and two concurrent reports of one order
	// cannot both insert it.
	CreateOrders(ctx context.Context, os []*Order, entry func(created []*Order) *audit.Entry) (taken []*Order, err error)
	// UpdateOrders writes the status, times, waybill and carrier of each
	// order whose stored version equals its Version, then increments it, in
	// one transaction with one audit entry.
	UpdateOrders(ctx context.Context, os []*Order, ev *audit.Entry) error
	GetOrder(ctx context.Context, id int64) (*Order, error)
	ListOrders(ctx context.Context, f OrderFilter) ([]*Order, error)

	// CreateReview stores r, deciding r.Counted and r.DSRCounted from the
	// bounds and the counted, unfolded reviews of the same platform, buyer,
	// seller and month, and adds it to the shop's tally. A second review of
	// the order is Conflict on field "order_id".
	CreateReview(ctx context.Context, r *Review, b Bounds, ev *audit.Entry) error
	// CreateReviewBatch stores reviews (deciding each one's Counted and
	// DSRCounted as CreateReview does, the batch's earlier reviews of its
	// pair and month included) and sellers' ratings of buyers, with the
	// audit entry, in one transaction, and sets their IDs. A review or
	// rating of an order that has one is errs.Conflict, and nothing is
	// written.
	CreateReviewBatch(ctx context.Context, rs []*Review, brs []*BuyerRating, b Bounds, ev *audit.Entry) error
	// ReviewsOfOrders returns the reviews of those orders that have one,
	// by order id.
	ReviewsOfOrders(ctx context.Context, orderIDs []int64) (map[int64]*Review, error)
	GetReview(ctx context.Context, id int64) (*Review, error)
	ReviewOfOrder(ctx context.Context, orderID int64) (*Review, error)
	// AddFollowup sets the follow-up of a review that has none (else
	// Conflict on field "followup").
	AddFollowup(ctx context.Context, id int64, text string, at time.Time, ev *audit.Entry) error
	// FoldReview folds an unfolded review (else Conflict) and takes it out
	// of its shop's tally.
	FoldReview(ctx context.Context, id int64, reason, by string, at time.Time, ev *audit.Entry) error
	ListReviews(ctx context.Context, f ReviewFilter) ([]*Review, error)
	// FoldedReviews lists folded reviews, the latest fold first.
	FoldedReviews(ctx context.Context, f FoldFilter) ([]*Review, error)
	// FoldStats counts the reviews and folds of each platform that has
	// reviews, by platform id.
	FoldStats(ctx context.Context) ([]FoldStat, error)
	// Tallies returns the tallies of the given shops (shops without
	// reviews are missing) or, with shopIDs nil, of every shop of seller.
	Tallies(ctx context.Context, sellerID int64, shopIDs []int64) ([]Tally, error)

	// CreateBuyerRating stores the seller's rating of a buyer; a second
	// one for the order is Conflict on field "order_id".
	CreateBuyerRating(ctx context.Context, r *BuyerRating, ev *audit.Entry) error
	BuyerRatingOfOrder(ctx context.Context, orderID int64) (*BuyerRating, error)
	// BuyerRatingsOfOrders returns the sellers' ratings of the buyers of
	// those orders that have one, by order id.
	BuyerRatingsOfOrders(ctx context.Context, orderIDs []int64) (map[int64]*BuyerRating, error)
	// BuyerTally counts the ratings a buyer of a platform received.
	BuyerTally(ctx context.Context, platformID int64, buyer string) (pos, neu, neg int, err error)

	// CreateEvaluation stores an agency's evaluation; the same (account,
	// ref) again is Conflict on field "ref".
	CreateEvaluation(ctx context.Context, e *Evaluation, ev *audit.Entry) error
	FindEvaluation(ctx context.Context, accountID int64, ref string) (*Evaluation, error)
	// ListEvaluations returns a subject's evaluations valid at or after
	// validAt (zero: all), newest first.
	ListEvaluations(ctx context.Context, subjectID int64, validAt time.Time, limit int) ([]*Evaluation, error)

	// Rolling windows (rolling.go). ReviewWindows reads in one snapshot
	// the sum of the tallies of the given shops (or, with shopIDs nil, of
	// every shop of seller) and their counted, unfolded reviews split by
	// the instant they were written at the ascending edges: buckets[i]
	// sums those with edges[i] ≤ created_at < edges[i+1], the last bucket
	// those from the last edge on; reviews before edges[0] are only in
	// lifetime. Buckets set only the rating counts and the detailed
	// ratings' count and sums. Its cost grows with the days after
	// edges[0] and the reviews of the edges' own days, not with all the
	// reviews (sqlstore: day sums plus the edge days read exactly).
	ReviewWindows(ctx context.Context, sellerID int64, shopIDs []int64, edges []time.Time) (lifetime Tally, buckets []Tally, err error)
}
