package trade

import (
	"strconv"
	"strings"

	"ecredit/errs"
	"ecredit/imports"
)

// ReviewFileColumns are the columns of a reviews file (CSV or XLSX, the
// first row the header): one line of a review batch a row (ReviewLine),
// the shape of a platform's review export. 类型 is 评价 (the default),
// 追评 or 评价买家 (or review, followup, buyer_rating); 评价 is 好评, 中评,
// 差评 (or 1, 0, −1); the detailed ratings are 1–5.
var ReviewFileColumns = imports.Columns{
	{Field: "type", Headers: []string{"type", "类型", "评价类型"}},
	{Field: "order_no", Headers: []string{"order_no", "订单号", "订单编号"}, Required: true},
	{Field: "buyer", Headers: []string{"buyer", "买家", "买家标识", "买家昵称"}},
	{Field: "rating", Headers: []string{"rating", "评价", "总体评价", "评价结果"}},
	{Field: "description", Headers: []string{"description", "描述相符", "宝贝与描述相符"}},
	{Field: "service", Headers: []string{"service", "服务态度", "卖家服务态度"}},
	{Field: "logistics", Headers: []string{"logistics", "物流服务", "物流服务质量"}},
	{Field: "text", Headers: []string{"text", "评价内容", "内容"}},
}

// ReviewFile reads the rows of a reviews file into review lines.
type ReviewFile struct{ fields []string }

// NewReviewFile maps a reviews file's header (ReviewFileColumns).
func NewReviewFile(header []string) (*ReviewFile, error) {
	fields, err := ReviewFileColumns.Map(header)
	if err != nil {
		return nil, err
	}
	return &ReviewFile{fields: fields}, nil
}

// lineTypes are the spellings of the line types a file may use.
var lineTypes = map[string]string{
	"": LineReview, "评价": LineReview, "买家评价": LineReview, LineReview: LineReview,
	"追评": LineFollowup, "追加评价": LineFollowup, LineFollowup: LineFollowup,
	"评价买家": LineBuyerRating, "卖家评价买家": LineBuyerRating, "互评": LineBuyerRating, LineBuyerRating: LineBuyerRating,
}

// ratingWords are the spellings of a rating.
var ratingWords = map[string]int{"好评": 1, "中评": 0, "差评": -1, "1": 1, "+1": 1, "0": 0, "-1": -1, "−1": -1}

// Row reads one row into a review line; a cell that cannot be read is an
// error naming its column's field.
func (f *ReviewFile) Row(cells []string) (ReviewLine, error) {
	m := imports.Cells(f.fields, cells)
	in := ReviewLine{OrderNo: m["order_no"], Buyer: m["buyer"], Text: m["text"]}
	typ, ok := lineTypes[strings.ToLower(strings.TrimSpace(m["type"]))]
	if !ok {
		return in, errs.Field("type", "类型「%s」无效，应为 评价、追评 或 评价买家 (unknown line type)", clip(m["type"], 20))
	}
	in.Type = typ
	if s := strings.TrimSpace(m["rating"]); s != "" {
		r, ok := ratingWords[s]
		if !ok {
			return in, errs.Field("rating", "评价「%s」无效，应为 好评、中评 或 差评 (rating must be 好评, 中评 or 差评)", clip(s, 20))
		}
		in.Rating = &r
	}
	for _, c := range []struct {
		field string
		to    *int
	}{{"description", &in.Description}, {"service", &in.Service}, {"logistics", &in.Logistics}} {
		if s := strings.TrimSpace(m[c.field]); s != "" {
			n, err := strconv.Atoi(strings.TrimSuffix(s, "星"))
			if err != nil {
				return in, errs.Field(c.field, "「%s」不是 1 到 5 的整数 (stars must be a whole number 1–5)", clip(s, 20))
			}
			*c.to = n
		}
	}
	return in, nil
}
