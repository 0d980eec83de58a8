package trace

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"ecredit/code"
	"ecredit/logistics"
	"ecredit/trade"
)

// An order's lifecycle (全过程留痕, M10): every step of it that the
// platform, the logistics firm, the buyer, the seller and the trace events
// left on record, in time order — listing in the shop, payment, pickup
// and each tracking event of the parcel (or the order's own shipping and
// signing times when the carrier reported no parcel), signing and by
// whom, the buyer's review and 追评 (and a fold, with its reason), the
// seller's rating of the buyer, and the events that name the order
// (complaints, reviews, sales reported as trace events).

// LifeStep is one step of an order's lifecycle.
type LifeStep struct {
	At     time.Time `json:"at"`
	Stage  string    `json:"stage"` // listed, paid, shipped, parcel:<type>, signed, reviewed, followup, folded, buyer_rated, event:<type>
	Label  string    `json:"label"`
	Detail string    `json:"detail,omitempty"`
	// Source is who recorded it: platform (the order), logistics (the
	// carrier's tracking), review (the buyer or the seller), trace (a
	// trace event).
	Source string `json:"source"`
}

// lifecycle gathers the order's steps.
func (s *Service) lifecycle(ctx context.Context, o *Order) ([]LifeStep, error) {
	var keys []BatchKey
	seen := map[string]bool{}
	for _, it := range o.Items {
		g, err := ParseGTIN("gtin", it.GTIN)
		if err != nil || it.Batch == "" || seen[g+"\x00"+it.Batch] {
			continue
		}
		seen[g+"\x00"+it.Batch] = true
		keys = append(keys, BatchKey{GTINs: gtinLookupForms(g), Batch: it.Batch})
	}
	f, err := s.Store.OrderFacts(ctx, o, keys)
	if err != nil {
		return nil, err
	}
	var out []LifeStep
	add := func(at time.Time, stage, label, detail, source string) {
		if !at.IsZero() {
			out = append(out, LifeStep{At: at, Stage: stage, Label: label, Detail: detail, Source: source})
		}
	}
	add(o.PaidAt, "paid", "付款下单", fmt.Sprintf("订单 %s，金额 %s 元", o.OrderNo, trade.Yuan(o.AmountFen)), "platform")
	if p := f.Parcel; p != nil && len(p.Events) > 0 {
		for _, e := range p.Events {
			t := logistics.EventType(e.Type)
			label, detail := t.Label(), ""
			switch t {
			case logistics.EventPickedUp:
				label, detail = "揽收发货", "运单号 "+p.Waybill
			case logistics.EventSigned:
				detail = logistics.SignedBy[e.Detail]
			case logistics.EventException:
				detail = logistics.Exceptions[e.Detail]
			}
			if e.Note != "" {
				detail = strings.TrimPrefix(detail+"；"+e.Note, "；")
			}
			if name, ok := code.RegionName(e.Region); ok {
				if detail == "" {
					detail = name
				} else {
					detail += "（" + name + "）"
				}
			}
			add(e.At, "parcel:"+e.Type, label, detail, "logistics")
		}
	} else {
		detail := ""
		if o.Waybill != "" {
			detail = "运单号 " + o.Waybill + "（物流企业未报送轨迹）"
		}
		add(o.ShippedAt, "shipped", "发货", detail, "platform")
		add(o.SignedAt, "signed", "签收", "", "platform")
	}
	if r := f.Review; r != nil {
		add(r.At, "reviewed", "买家评价："+trade.Rating(r.Rating).Label(),
			strings.TrimSuffix(fmt.Sprintf("描述相符 %d、服务态度 %d、物流服务 %d。%s", r.Description, r.Service, r.Logistics, r.Body), "。"), "review")
		add(r.FollowupAt, "followup", "买家追评", r.Followup, "review")
		add(r.FoldedAt, "folded", "平台折叠评价", strings.TrimSuffix(r.FoldReason+"（"+r.FoldedBy+"）", "（）"), "review")
	}
	if br := f.BuyerRating; br != nil {
		add(br.At, "buyer_rated", "卖家评价买家："+trade.Rating(br.Rating).Label(), br.Body, "review")
	}
	for _, e := range f.Events {
		stage, label := "event:"+string(e.Type), e.Type.Label()
		if e.Type == EventListed {
			stage, label = "listed", "上架销售"
		}
		detail := "商品条码 " + e.GTIN + " 批次 " + e.Batch
		if e.Note != "" {
			detail += "；" + e.Note
		}
		if e.Ref != "" && e.RefType != "order" {
			detail += "；" + RefTypes[e.RefType] + " " + e.Ref
		}
		add(e.At, stage, label, detail, "trace")
	}
	slices.SortStableFunc(out, func(a, b LifeStep) int { return a.At.Compare(b.At) })
	return out, nil
}
