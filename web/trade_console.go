package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"ecredit/errs"
	"ecredit/httpx"
	"ecredit/trade"
)

// The console's trade pages (M5), for departments and the credit office:
//   - the orders platforms reported, of one shop, seller or platform (or
//     all), oldest first a page at a time, each leading to its backward
//     trace (/console/orders/{id}, trace_console.go);
//   - the reviews platforms folded, the latest first, with each
//     platform's fold rate and what it folded by rating: a review may be
//     folded with a reason, never deleted, and the authorities watch
//     whether a platform folds bad reviews away.

// tradeConsoleRoutes are the console's trade pages.
var tradeConsoleRoutes = []Route{
	{"GET", "/console/orders", true, staffOnly((*Site).conOrders)},
	{"GET", "/console/reviews/folded", true, staffOnly((*Site).conFolds)},
}

// ordersPage is how many orders a page of the list shows.
const ordersPage = 50

type conOrderRow struct {
	*trade.Order
	PlatformName, ShopName, SellerName string
}

type conOrdersData struct {
	Form   *form
	Orders []conOrderRow
	Next   string // the query of the next page, "" at the end
	Filter string // what the list is of, in words
}

// conOrders is GET /console/orders[?shop=|seller=|platform=][&after=].
func (s *Site) conOrders(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	if !s.ready(w, r, s.d.Trade != nil, "交易服务未启用 (trade is not configured)") {
		return
	}
	q := r.URL.Query()
	f := newForm(q)
	filter := trade.OrderFilter{
		ShopID:     f.int64Field("shop", "店铺编号"),
		SellerID:   f.int64Field("seller", "经营者编号"),
		PlatformID: f.int64Field("platform", "平台编号"),
		After:      f.int64Field("after", "翻页位置"),
		Limit:      ordersPage,
	}
	d := &conOrdersData{Form: f}
	if f.HasErrors() {
		s.render(w, r, http.StatusBadRequest, "console_orders", c.page("订单", "trace", d))
		return
	}
	ctx := r.Context()
	list, err := s.d.Trade.ListOrders(ctx, filter)
	if err != nil {
		if errs.Is(err, errs.Invalid) || errs.Is(err, errs.NotFound) {
			f.fail(err, "shop", "seller", "platform")
			s.render(w, r, httpx.Status(errs.CodeOf(err)), "console_orders", c.page("订单", "trace", d))
			return
		}
		s.fail(w, r, err)
		return
	}
	name := s.subjectNames(ctx)
	shop := s.shopNames(ctx)
	for _, o := range list {
		d.Orders = append(d.Orders, conOrderRow{Order: o, PlatformName: name(o.PlatformID), SellerName: name(o.SellerID), ShopName: shop(o.ShopID)})
	}
	switch {
	case filter.ShopID != 0 && len(d.Orders) > 0:
		d.Filter = "店铺「" + d.Orders[0].ShopName + "」"
	case filter.SellerID != 0:
		d.Filter = "经营者「" + name(filter.SellerID) + "」"
	case filter.PlatformID != 0:
		d.Filter = "平台「" + name(filter.PlatformID) + "」"
	}
	if len(list) == ordersPage {
		next := url.Values{"after": {strconv.FormatInt(list[len(list)-1].ID, 10)}}
		for _, k := range []string{"shop", "seller", "platform"} {
			if v := q.Get(k); v != "" {
				next.Set(k, v)
			}
		}
		d.Next = "?" + next.Encode()
	}
	s.render(w, r, http.StatusOK, "console_orders", c.page("订单", "trace", d))
}

// foldsPage is how many folded reviews a page lists.
const foldsPage = 50

type conFoldStat struct {
	trade.FoldStat
	Name string
}

// FoldRate is the share of the platform's reviews it folded.
func (f conFoldStat) FoldRate() float64 {
	if f.Reviews == 0 {
		return 0
	}
	return float64(f.Folded) / float64(f.Reviews)
}

// NegativeShare is the share of the platform's folds that were 差评.
func (f conFoldStat) NegativeShare() float64 {
	n := f.FoldedNegative + f.FoldedNeutral + f.FoldedPositive
	if n == 0 {
		return 0
	}
	return float64(f.FoldedNegative) / float64(n)
}

type conFold struct {
	trade.ReviewView
	PlatformID   int64
	PlatformName string
	ShopName     string
}

type conFoldsData struct {
	Form     *form
	Stats    []conFoldStat
	Folds    []conFold
	Platform int64
	Next     string
}

// conFolds is GET /console/reviews/folded[?platform=ID][&before=AT.ID].
func (s *Site) conFolds(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	if !s.ready(w, r, s.d.Trade != nil, "交易服务未启用 (trade is not configured)") {
		return
	}
	q := r.URL.Query()
	f := newForm(q)
	d := &conFoldsData{Form: f, Platform: f.int64Field("platform", "平台编号")}
	filter := trade.FoldFilter{PlatformID: d.Platform, Limit: foldsPage}
	if b := q.Get("before"); b != "" {
		at, id, ok := strings.Cut(b, ".")
		atN, err1 := strconv.ParseInt(at, 10, 64)
		idN, err2 := strconv.ParseInt(id, 10, 64)
		if !ok || err1 != nil || err2 != nil || atN <= 0 || idN <= 0 {
			f.Errors["before"] = "翻页位置无效 (bad cursor)"
		}
		filter.BeforeAt, filter.BeforeID = time.UnixMicro(atN).UTC(), idN
	}
	if f.HasErrors() {
		f.General = append(f.General, f.Errors["before"])
		s.render(w, r, http.StatusBadRequest, "console_folds", c.page("评价折叠监测", "folds", d))
		return
	}
	ctx := r.Context()
	stats, err := s.d.Trade.FoldStats(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	names := s.subjectNames(ctx)
	for _, st := range stats {
		d.Stats = append(d.Stats, conFoldStat{FoldStat: st, Name: names(st.PlatformID)})
	}
	list, err := s.d.Trade.FoldedReviews(ctx, filter)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	shop := s.shopNames(ctx)
	for _, rv := range list {
		d.Folds = append(d.Folds, conFold{ReviewView: rv.View(), PlatformID: rv.PlatformID, PlatformName: names(rv.PlatformID), ShopName: shop(rv.ShopID)})
	}
	if len(list) == foldsPage {
		last := list[len(list)-1]
		next := url.Values{"before": {strconv.FormatInt(last.FoldedAt.UnixMicro(), 10) + "." + strconv.FormatInt(last.ID, 10)}}
		if d.Platform != 0 {
			next.Set("platform", strconv.FormatInt(d.Platform, 10))
		}
		d.Next = "?" + next.Encode()
	}
	s.render(w, r, http.StatusOK, "console_folds", c.page("评价折叠监测", "folds", d))
}

// subjectNames returns a lookup of subjects' console names by id, each
// read once.
func (s *Site) subjectNames(ctx context.Context) func(int64) string {
	names := map[int64]string{}
	return func(id int64) string {
		if n, ok := names[id]; ok || id == 0 {
			return n
		}
		if sub, err := s.d.Registry.Store.GetSubject(ctx, id); err == nil {
			names[id] = sub.View().Name
		} else {
			names[id] = "#" + strconv.FormatInt(id, 10)
		}
		return names[id]
	}
}

// shopNames returns a lookup of shops' names by id, each read once ("" for
// a shop that cannot be read).
func (s *Site) shopNames(ctx context.Context) func(int64) string {
	names := map[int64]string{}
	return func(id int64) string {
		n, ok := names[id]
		if !ok {
			if sh, err := s.d.Registry.Store.GetShop(ctx, id); err == nil {
				n = sh.Name
			}
			names[id] = n
		}
		return n
	}
}
