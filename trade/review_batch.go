package trade

import (
	"context"
	"fmt"
	"strings"

	"ecredit/account"
	"ecredit/errs"
)

// Reviews in bulk: a platform reports its buyers' reviews, 追评 and its
// sellers' ratings of buyers (互评) as lines that name the order by the
// platform's own order number, as orders are reported. Each line goes
// through the same rules as the single calls (Review, Followup, RateBuyer)
// and gets its own result; a bad line never stops the good ones. A line
// sent again is "unchanged" when what is stored says the same, and a
// Conflict naming the difference when it does not, so a platform may
// re-send a file after a failure.

// Kinds of a review line.
const (
	LineReview      = "review"       // the buyer's review (default)
	LineFollowup    = "followup"     // the buyer's 追评 of that review
	LineBuyerRating = "buyer_rating" // the seller's rating of the buyer
)

// MaxReviewBatch is the most lines one review batch takes.
const MaxReviewBatch = 1000

// ReviewLine is one line of a review batch.
type ReviewLine struct {
	Type    string `json:"type,omitempty"` // review (default) | followup | buyer_rating
	OrderNo string `json:"order_no"`       // the platform's order number
	// Buyer is the order's buyer (review, followup).
	Buyer string `json:"buyer,omitempty"`
	// Rating is 1, 0 or −1 (review, buyer_rating).
	Rating *int `json:"rating,omitempty"`
	// The detailed ratings, 1–5 (review).
	Description int    `json:"description,omitempty"`
	Service     int    `json:"service,omitempty"`
	Logistics   int    `json:"logistics,omitempty"`
	Text        string `json:"text,omitempty"`
}

// IngestReviews stores a platform's review lines. Only a platform's
// account sends them: the order numbers are its own. The result of each
// line, in order: created (with the review's or rating's id), unchanged,
// or error with the reason.
func (s *Service) IngestReviews(ctx context.Context, ins []ReviewLine) ([]Result, error) {
	const op = "trade.IngestReviews"
	a := account.From(ctx)
	if err := require(a, ScopeReviewsWrite); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if !platformScoped(a) || a.SubjectID == 0 {
		return nil, &errs.Error{Code: errs.Forbidden, Op: op, Message: "批量评价按平台自己的订单号报送，须使用电子商务平台的账户 (review batches come from a platform's account)"}
	}
	if len(ins) > MaxReviewBatch {
		return nil, &errs.Error{Code: errs.TooLarge, Op: op, Message: fmt.Sprintf("一次最多 %d 行 (at most %d lines)", MaxReviewBatch, MaxReviewBatch)}
	}
	out := make([]Result, len(ins))
	var nos []string
	for i := range ins {
		out[i].Line = i + 1
		in := &ins[i]
		in.OrderNo, in.Type = strings.TrimSpace(in.OrderNo), strings.TrimSpace(in.Type)
		if in.Type == "" {
			in.Type = LineReview
		}
		switch {
		case in.Type != LineReview && in.Type != LineFollowup && in.Type != LineBuyerRating:
			out[i].Err = errs.Field("type", "行类型「%s」无效，应为 review、followup 或 buyer_rating (unknown line type)", clip(in.Type, 20))
		case in.OrderNo == "":
			out[i].Err = errs.Field("order_no", "必须给出平台订单号 (order_no required)")
		default:
			nos = append(nos, in.OrderNo)
		}
	}
	orders, err := s.Store.OrdersByNos(ctx, a.SubjectID, nos)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	for i, in := range ins {
		if out[i].Err != nil {
			out[i].Status = ResultError
			continue
		}
		o := orders[in.OrderNo]
		if o == nil {
			out[i].Status, out[i].Err = ResultError, &errs.Error{Code: errs.NotFound, Field: "order_no",
				Message: fmt.Sprintf("本平台没有报送过订单号为「%s」的订单 (no such order of this platform)", clip(in.OrderNo, 40))}
			continue
		}
		out[i].Status, out[i].ID, out[i].Err = s.reviewLine(ctx, o, in)
		if err := out[i].Err; err != nil {
			out[i].Status, out[i].ID = ResultError, 0
			if f := errs.FieldOf(err); f == "id" || f == "order_id" {
				// The single calls name the order by its id; a line names
				// it by its number.
				out[i].Err = &errs.Error{Code: errs.CodeOf(err), Field: "order_no", Message: errs.MessageOf(err), Err: err}
			}
		}
	}
	return out, nil
}

// reviewLine stores one line about order o: created, or unchanged when
// the same was stored before.
func (s *Service) reviewLine(ctx context.Context, o *Order, in ReviewLine) (string, int64, error) {
	switch in.Type {
	case LineFollowup:
		r, err := s.Store.ReviewOfOrder(ctx, o.ID)
		if errs.Is(err, errs.NotFound) {
			return "", 0, errs.Field("order_no", "订单「%s」尚无评价，不能追评 (no review to follow up)", clip(in.OrderNo, 40))
		} else if err != nil {
			return "", 0, err
		}
		if r.Followup != "" && r.Followup == strings.TrimSpace(in.Text) && r.Buyer == strings.TrimSpace(in.Buyer) {
			return ResultUnchanged, r.ID, nil
		}
		r, err = s.Followup(ctx, r.ID, FollowupInput{Buyer: in.Buyer, Text: in.Text})
		if err != nil {
			return "", 0, err
		}
		return ResultCreated, r.ID, nil
	case LineBuyerRating:
		br, err := s.RateBuyer(ctx, o.ID, BuyerRatingInput{Rating: in.Rating, Text: in.Text})
		if err == nil {
			return ResultCreated, br.ID, nil
		}
		if !errs.Is(err, errs.Conflict) || errs.FieldOf(err) != "order_id" {
			return "", 0, err
		}
		ex, ferr := s.Store.BuyerRatingOfOrder(ctx, o.ID)
		if ferr == nil && in.Rating != nil && int(ex.Rating) == *in.Rating && ex.Text == strings.TrimSpace(in.Text) {
			return ResultUnchanged, ex.ID, nil
		}
		return "", 0, err
	}
	r, err := s.Review(ctx, o.ID, ReviewInput{Buyer: in.Buyer, Rating: in.Rating, Description: in.Description, Service: in.Service,
		Logistics: in.Logistics, Text: in.Text})
	if err == nil {
		return ResultCreated, r.ID, nil
	}
	if !errs.Is(err, errs.Conflict) || errs.FieldOf(err) != "order_id" {
		return "", 0, err
	}
	ex, ferr := s.Store.ReviewOfOrder(ctx, o.ID)
	if ferr == nil && in.Rating != nil && int(ex.Rating) == *in.Rating && ex.Description == in.Description && ex.Service == in.Service &&
		ex.Logistics == in.Logistics && ex.Text == strings.TrimSpace(in.Text) && ex.Buyer == strings.TrimSpace(in.Buyer) {
		return ResultUnchanged, ex.ID, nil
	}
	return "", 0, err
}
