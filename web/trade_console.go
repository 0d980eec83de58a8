package web

import (
	"net/http"
	"net/url"
	"strconv"

	"ecredit/errs"
	"ecredit/httpx"
	"ecredit/trade"
)

// The console's order list (M5), for departments and the credit office:
// the orders platforms reported, of one shop, seller or platform (or all),
// oldest first a page at a time, each leading to its backward trace
// (/console/orders/{id}, trace_console.go).

// tradeConsoleRoutes are the console's trade pages.
var tradeConsoleRoutes = []Route{
	{"GET", "/console/orders", true, staffOnly((*Site).conOrders)},
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
	names := map[int64]string{}
	name := func(id int64) string {
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
	shops := map[int64]string{}
	for _, o := range list {
		row := conOrderRow{Order: o, PlatformName: name(o.PlatformID), SellerName: name(o.SellerID)}
		n, ok := shops[o.ShopID]
		if !ok {
			if sh, err := s.d.Registry.Store.GetShop(ctx, o.ShopID); err == nil {
				n = sh.Name
			}
			shops[o.ShopID] = n
		}
		row.ShopName = n
		d.Orders = append(d.Orders, row)
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
