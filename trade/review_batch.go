package trade

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/errs"
)

// Reviews in bulk: a platform reports its buyers' reviews, 追评 and its
// sellers' ratings of buyers (互评) as lines that name the order by the
// platform's own order number, as orders are reported. Each line goes
// through the same rules as the single calls (Review, Followup, RateBuyer)
// and gets its own result; a bad line never stops the good ones. A line
// sent again is "unchanged" when what is stored says the same, and a
// Conflict naming the difference when it does not, so a platform may
// re-send a file after a failure. The batch's reviews and ratings are
// judged together and stored in one transaction (Store.CreateReviewBatch);
// 追评 follow one at a time.

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
	orders, err := s.Store.OrderHeadsByNos(ctx, a.SubjectID, nos)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	var batch []int // review and rating lines, stored together
	for i, in := range ins {
		if out[i].Err != nil {
			out[i].Status = ResultError
			continue
		}
		if orders[in.OrderNo] == nil {
			out[i].Status, out[i].Err = ResultError, &errs.Error{Code: errs.NotFound, Field: "order_no",
				Message: fmt.Sprintf("本平台没有报送过订单号为「%s」的订单 (no such order of this platform)", clip(in.OrderNo, 40))}
			continue
		}
		if in.Type != LineFollowup {
			batch = append(batch, i)
		}
	}
	// Reviews and sellers' ratings of buyers: judged together, stored in
	// one transaction; judged again when another writer rated one of the
	// orders meanwhile.
	for attempt := 0; len(batch) > 0; attempt++ {
		err := s.reviewBatch(ctx, a, ins, orders, out, batch)
		if err == nil {
			break
		}
		if !errs.Is(err, errs.Conflict) || attempt == 2 {
			return nil, errs.Wrap(op, err)
		}
	}
	// Follow-ups change a stored review: one at a time, after the batch's
	// reviews (so a batch may carry a review and its 追评).
	for i, in := range ins {
		if out[i].Status != "" || in.Type != LineFollowup {
			continue
		}
		out[i].Status, out[i].ID, out[i].Err = s.followupLine(ctx, orders[in.OrderNo], in)
		if out[i].Err != nil {
			out[i].Status, out[i].ID, out[i].Err = ResultError, 0, lineErr(out[i].Err)
		}
	}
	return out, nil
}

// lineErr names a line's order by its number: the single calls name it by
// its id.
func lineErr(err error) error {
	if f := errs.FieldOf(err); f == "id" || f == "order_id" {
		return &errs.Error{Code: errs.CodeOf(err), Field: "order_no", Message: errs.MessageOf(err), Err: err}
	}
	return err
}

// reviewBatch judges the review and rating lines at batch against the
// orders and what is stored, with the single calls' rules, and stores the
// new ones together: created (with the new id), unchanged (the same is
// stored, or comes earlier in the batch) or an error, each line.
func (s *Service) reviewBatch(ctx context.Context, a account.Actor, ins []ReviewLine, orders map[string]*Order, out []Result, batch []int) error {
	const op = "trade.IngestReviews"
	ids := make([]int64, 0, len(batch))
	for _, i := range batch {
		ids = append(ids, orders[ins[i].OrderNo].ID)
	}
	reviews, err := s.Store.ReviewsOfOrders(ctx, ids)
	if err != nil {
		return err
	}
	ratings, err := s.Store.BuyerRatingsOfOrders(ctx, ids)
	if err != nil {
		return err
	}
	now := s.now()
	var rs []*Review
	var brs []*BuyerRating
	newReview, newRating := map[int64]int{}, map[int64]int{} // order id → index in rs, brs
	created := map[int]func() int64{}                        // line → its id, once stored
	fail := func(i int, err error) {
		out[i].Status, out[i].ID, out[i].Err = ResultError, 0, lineErr(errs.Wrap(op, err))
	}
	for _, i := range batch {
		in, o := ins[i], orders[ins[i].OrderNo]
		out[i] = Result{Line: i + 1}
		// What the line would add (add: it, returning its id once stored),
		// and what is stored or comes earlier in the batch for its order
		// (found; same: says what the line says; id: its id once stored).
		var add func() func() int64
		var found, same bool
		var id func() int64
		var clash error
		if in.Type == LineBuyerRating {
			rating, text, err := checkBuyerRatingInput(BuyerRatingInput{Rating: in.Rating, Text: in.Text})
			if err != nil {
				fail(i, err)
				continue
			}
			br, err := s.newBuyerRating(o, rating, text, now)
			if err != nil {
				fail(i, err)
				continue
			}
			ex := ratings[o.ID]
			if j, ok := newRating[o.ID]; ok {
				ex = brs[j]
			}
			if found = ex != nil; found {
				same, id = sameRating(ex, in), func() int64 { return ex.ID }
				clash = &errs.Error{Code: errs.Conflict, Field: "order_id", Message: fmt.Sprintf("卖家已评价过订单 %d 的买家，只能评价一次 (buyer already rated for this order)", o.ID)}
			}
			add = func() func() int64 {
				newRating[o.ID] = len(brs)
				brs = append(brs, br)
				return func() int64 { return br.ID }
			}
		} else {
			ri := ReviewInput{Buyer: in.Buyer, Rating: in.Rating, Description: in.Description, Service: in.Service, Logistics: in.Logistics, Text: in.Text}
			rating, text, err := checkReviewInput(ri)
			if err != nil {
				fail(i, err)
				continue
			}
			r, err := s.newReview(o, ri, rating, text, now)
			if err != nil {
				fail(i, err)
				continue
			}
			ex := reviews[o.ID]
			if j, ok := newReview[o.ID]; ok {
				ex = rs[j]
			}
			if found = ex != nil; found {
				same, id, clash = sameReview(ex, in), func() int64 { return ex.ID }, alreadyReviewed(op, o.ID, ex.ID)
			}
			add = func() func() int64 {
				newReview[o.ID] = len(rs)
				rs = append(rs, r)
				return func() int64 { return r.ID }
			}
		}
		switch {
		case found && same:
			out[i].Status = ResultUnchanged
			created[i] = id // stored before: its id now; earlier in the batch: once stored
		case found:
			fail(i, clash)
		default:
			out[i].Status = ResultCreated
			created[i] = add()
		}
	}
	if len(rs)+len(brs) == 0 {
		return nil
	}
	c := s.cfg()
	entry := a.Audit(audit.ActCreate, "reviews:platform:"+strconv.FormatInt(a.SubjectID, 10),
		fmt.Sprintf("批量报送评价 %d 条、卖家对买家的评价 %d 条 (reviews in bulk)", len(rs), len(brs)))
	if err := s.Store.CreateReviewBatch(ctx, rs, brs, Bounds{Points: c.PairMonthlyPoints, DSR: c.PairMonthlyDSR}, entry); err != nil {
		return err
	}
	for i, id := range created {
		out[i].ID = id()
	}
	return nil
}

// sameReview reports whether a review line says what r says.
func sameReview(r *Review, in ReviewLine) bool {
	return in.Rating != nil && int(r.Rating) == *in.Rating && r.Description == in.Description && r.Service == in.Service &&
		r.Logistics == in.Logistics && r.Text == strings.TrimSpace(in.Text) && r.Buyer == strings.TrimSpace(in.Buyer)
}

// sameRating reports whether a rating line says what r says.
func sameRating(r *BuyerRating, in ReviewLine) bool {
	return in.Rating != nil && int(r.Rating) == *in.Rating && r.Text == strings.TrimSpace(in.Text)
}

// followupLine stores the 追评 of the review of order o: created, or
// unchanged when the same was stored before.
func (s *Service) followupLine(ctx context.Context, o *Order, in ReviewLine) (string, int64, error) {
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
}
