package trade

import (
	"strconv"
	"time"
)

// OrderView is the JSON form of an order.
type OrderView struct {
	ID          int64     `json:"id"`
	PlatformID  int64     `json:"platform_id"`
	ShopID      int64     `json:"shop_id"`
	SellerID    int64     `json:"seller_id"`
	OrderNo     string    `json:"order_no"`
	Buyer       string    `json:"buyer"`
	AmountFen   int64     `json:"amount_fen"`
	Region      string    `json:"region,omitempty"`
	Waybill     string    `json:"waybill,omitempty"`
	CarrierID   int64     `json:"carrier_id,omitempty"`
	Status      Status    `json:"status"`
	StatusLabel string    `json:"status_label"`
	PaidAt      time.Time `json:"paid_at"`
	ShippedAt   time.Time `json:"shipped_at,omitzero"`
	SignedAt    time.Time `json:"signed_at,omitzero"`
	Items       []Item    `json:"items"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Version     int       `json:"version"`
}

// View is the JSON form of the order.
func (o *Order) View() OrderView {
	items := o.Items
	if items == nil {
		items = []Item{}
	}
	return OrderView{ID: o.ID, PlatformID: o.PlatformID, ShopID: o.ShopID, SellerID: o.SellerID, OrderNo: o.OrderNo,
		Buyer: o.Buyer, AmountFen: o.AmountFen, Region: o.Region, Waybill: o.Waybill, CarrierID: o.CarrierID,
		Status: o.Status, StatusLabel: o.Status.Label(), PaidAt: o.PaidAt, ShippedAt: o.ShippedAt, SignedAt: o.SignedAt,
		Items: items, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, Version: o.Version}
}

// ReviewView is the JSON form of a review. Public views carry the buyer
// masked (MaskBuyer) and no order id.
type ReviewView struct {
	ID          int64     `json:"id"`
	OrderID     int64     `json:"order_id,omitempty"`
	ShopID      int64     `json:"shop_id"`
	Buyer       string    `json:"buyer"`
	Rating      Rating    `json:"rating"`
	RatingLabel string    `json:"rating_label"`
	Description int       `json:"description"`
	Service     int       `json:"service"`
	Logistics   int       `json:"logistics"`
	Text        string    `json:"text"`
	Counted     bool      `json:"counted"`     // the +1/0/−1 counts towards points
	DSRCounted  bool      `json:"dsr_counted"` // the detailed ratings count
	CreatedAt   time.Time `json:"created_at"`
	Followup    string    `json:"followup,omitempty"`
	FollowupAt  time.Time `json:"followup_at,omitzero"`
	Folded      bool      `json:"folded"`
	FoldedAt    time.Time `json:"folded_at,omitzero"`
	FoldReason  string    `json:"fold_reason,omitempty"`
	FoldedBy    string    `json:"folded_by,omitempty"`
}

// View is the JSON form of the review for the platform and staff.
func (r *Review) View() ReviewView {
	return ReviewView{ID: r.ID, OrderID: r.OrderID, ShopID: r.ShopID, Buyer: r.Buyer, Rating: r.Rating,
		RatingLabel: r.Rating.Label(), Description: r.Description, Service: r.Service, Logistics: r.Logistics, Text: r.Text,
		Counted: r.Counted, DSRCounted: r.DSRCounted, CreatedAt: r.CreatedAt, Followup: r.Followup, FollowupAt: r.FollowupAt,
		Folded: r.Folded(), FoldedAt: r.FoldedAt, FoldReason: r.FoldReason, FoldedBy: r.FoldedBy}
}

// PublicView is what anyone may see of a review: the buyer masked, no
// order id; who folded it is shown (the platform), and why.
func (r *Review) PublicView() ReviewView {
	v := r.View()
	v.Buyer, v.OrderID = MaskBuyer(r.Buyer), 0
	return v
}

// BuyerRatingView is the JSON form of a seller's rating of a buyer.
type BuyerRatingView struct {
	ID          int64     `json:"id"`
	OrderID     int64     `json:"order_id"`
	Buyer       string    `json:"buyer"`
	Rating      Rating    `json:"rating"`
	RatingLabel string    `json:"rating_label"`
	Text        string    `json:"text"`
	CreatedAt   time.Time `json:"created_at"`
}

// View is the JSON form of the rating.
func (b *BuyerRating) View() BuyerRatingView {
	return BuyerRatingView{ID: b.ID, OrderID: b.OrderID, Buyer: b.Buyer, Rating: b.Rating, RatingLabel: b.Rating.Label(),
		Text: b.Text, CreatedAt: b.CreatedAt}
}

// EvaluationView is the JSON form of an agency's evaluation.
type EvaluationView struct {
	ID          int64     `json:"id"`
	Agency      string    `json:"agency"`
	Ref         string    `json:"ref"`
	SubjectCode string    `json:"subject_code"`
	Score       *float64  `json:"score,omitempty"`
	Scale       string    `json:"scale,omitempty"`
	Grade       string    `json:"grade,omitempty"`
	Method      string    `json:"method"`
	ValidFrom   time.Time `json:"valid_from"`
	ValidUntil  time.Time `json:"valid_until"`
	CreatedAt   time.Time `json:"created_at"`
}

// ScoreText is the score as the pages show it ("87.5", "912"), "" for an
// evaluation that only grades.
func (v EvaluationView) ScoreText() string {
	if v.Score == nil {
		return ""
	}
	return strconv.FormatFloat(*v.Score, 'f', -1, 64)
}

// View is the JSON form of the evaluation.
func (e *Evaluation) View() EvaluationView {
	return EvaluationView{ID: e.ID, Agency: e.Agency, Ref: e.Ref, SubjectCode: e.SubjectCode, Score: e.Score, Scale: e.Scale,
		Grade: e.Grade, Method: e.Method, ValidFrom: e.ValidFrom, ValidUntil: e.ValidUntil, CreatedAt: e.CreatedAt}
}
