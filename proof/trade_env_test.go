package proof

import (
	"context"
	"fmt"
	"time"

	"ecredit/code"
	"ecredit/logistics"
	"ecredit/registry"
	"ecredit/trace"
	"ecredit/trade"
)

// Fixtures of trade (M5), logistics (M4) and traceability (M10), created
// through the real services: merchantA produces a product whose batch is
// sold in an order of platform A's shop, reviewed by its buyer; the
// logistics firm of the logistics account carries a parcel.
type tradeFixtures struct {
	gtin, batch string       // merchantA's product and its batch
	order       *trade.Order // platform A's order of shopA, signed, with the batch
	review      *trade.Review
	buyer       string // the order's buyer pseudonym
	waybill     string // a parcel of the logistics firm, shipping order
	waybill2    string // a parcel of the logistics firm on no order

	// Persons in trade data (privacy_test.go): the seller sellerA's shop
	// on platform A sold the batch in sellerOrder, reviewed, carried by
	// the courier (a person) under courierWaybill.
	sellerShop     *registry.Shop
	sellerOrder    *trade.Order
	courierWaybill string
}

// gtinOf is a valid GTIN-13 from twelve digits.
func gtinOf(digits12 string) string {
	c, err := code.GTINCheck(digits12)
	if err != nil {
		panic(err)
	}
	return digits12 + string(c)
}

func (e *env) seedTrade(ctx context.Context) error {
	f := &e.tr
	f.gtin, f.batch = gtinOf("690000218701"), "PF-1"
	if _, _, err := e.app.Trace.CreateProduct(e.ctx(rDept), trace.ProductInput{GTIN: f.gtin, Name: "承德山楂糕", Category: "食品",
		ProducerCode: e.merchantA.CreditCode}); err != nil {
		return fmt.Errorf("product: %w", err)
	}
	if _, _, err := e.app.Trace.CreateBatch(e.ctx(rDept), trace.BatchInput{GTIN: f.gtin, Batch: f.batch, ProducedOn: "2026-05-01", Quantity: 1000}); err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	if _, err := e.app.Trace.IngestEvent(e.ctx(rDept), trace.EventInput{EventID: "PROOF-P-1", Type: trace.EventProduced, GTIN: f.gtin, Batch: f.batch,
		Time: "2026-05-01T08:00:00+08:00", Region: "130821"}); err != nil {
		return fmt.Errorf("produced event: %w", err)
	}
	f.waybill, f.waybill2 = fmt.Sprintf("PF%010d", e.next()), fmt.Sprintf("PF%010d", e.next())
	res, err := e.app.Logistics.IngestParcels(e.ctx(rLogistics), "", []logistics.ParcelInput{
		{Waybill: f.waybill, WeightG: 500, Origin: "130802", Dest: "130821"},
		{Waybill: f.waybill2, WeightG: 700, Origin: "130802", Dest: "130803"}})
	if err != nil {
		return fmt.Errorf("parcel: %w", err)
	}
	for _, r := range res {
		if r.Err != nil {
			return fmt.Errorf("parcel: %w", r.Err)
		}
	}
	f.buyer = "proof-buyer-1"
	in := e.orderInput(f.buyer, time.Now().Add(-72*time.Hour).UTC().Truncate(time.Second))
	in.Waybill, in.CarrierCode = f.waybill, e.logiFirm.CreditCode
	r, err := e.app.Trade.Ingest(e.ctx(rPlatA), in)
	if err == nil {
		err = r.Err
	}
	if err != nil {
		return fmt.Errorf("order: %w", err)
	}
	f.order = r.Order
	if f.review, err = e.review(f.order, f.buyer); err != nil {
		return err
	}
	return e.seedTradePersons()
}

// seedTradePersons puts the seller sellerA and the courier into trade,
// logistics and trace data, for the privacy scan.
func (e *env) seedTradePersons() error {
	f := &e.tr
	f.courierWaybill = fmt.Sprintf("PF%010d", e.next())
	res, err := e.app.Logistics.IngestParcels(e.ctx(rLogistics), "", []logistics.ParcelInput{{Waybill: f.courierWaybill, WeightG: 300,
		Origin: "130802", Dest: "130821", Courier: "C-ZHAO", CourierIDNumber: idNumber(3)}})
	if err == nil {
		err = res[0].Err
	}
	if err != nil {
		return fmt.Errorf("courier's parcel: %w", err)
	}
	in := e.orderInput("proof-buyer-seller", time.Now().Add(-72*time.Hour).UTC().Truncate(time.Second))
	in.ShopID, in.Waybill, in.CarrierCode = f.sellerShop.ID, f.courierWaybill, e.logiFirm.CreditCode
	r, err := e.app.Trade.Ingest(e.ctx(rPlatA), in)
	if err == nil {
		err = r.Err
	}
	if err != nil {
		return fmt.Errorf("seller's order: %w", err)
	}
	f.sellerOrder = r.Order
	if _, err := e.review(f.sellerOrder, in.Buyer); err != nil {
		return err
	}
	if _, err := e.app.Trace.IngestEvent(e.ctx(rPlatA), trace.EventInput{EventID: "PROOF-L-1", Type: trace.EventListed, GTIN: f.gtin, Batch: f.batch,
		Time: "2026-05-03T08:00:00+08:00", ShopID: f.sellerShop.ID}); err != nil {
		return fmt.Errorf("listed event: %w", err)
	}
	return nil
}

// order has platform A report a fresh signed order of shopA with the
// fixture batch.
func (e *env) order(buyer string) (*trade.Order, error) {
	paid := time.Now().Add(-72 * time.Hour).UTC().Truncate(time.Second)
	r, err := e.app.Trade.Ingest(e.ctx(rPlatA), e.orderInput(buyer, paid))
	if err != nil {
		return nil, fmt.Errorf("order: %w", err)
	}
	if r.Err != nil {
		return nil, fmt.Errorf("order: %w", r.Err)
	}
	return r.Order, nil
}

func (e *env) orderInput(buyer string, paid time.Time) trade.OrderInput {
	return trade.OrderInput{OrderNo: fmt.Sprintf("PO-%d", e.next()), ShopID: e.shopA.ID, Buyer: buyer, AmountFen: 3180,
		Items:  []trade.ItemInput{{GTIN: e.tr.gtin, Batch: e.tr.batch, Name: "承德山楂糕", Category: "food", Quantity: 2, PriceFen: 1590}},
		PaidAt: paid, ShippedAt: paid.Add(6 * time.Hour), SignedAt: paid.Add(30 * time.Hour), Region: "130821"}
}

// review has platform A submit the buyer's review of order o.
func (e *env) review(o *trade.Order, buyer string) (*trade.Review, error) {
	good := 1
	r, err := e.app.Trade.Review(e.ctx(rPlatA), o.ID, trade.ReviewInput{Buyer: buyer, Rating: &good, Description: 5, Service: 5, Logistics: 4,
		Text: "山楂糕很新鲜"})
	if err != nil {
		return nil, fmt.Errorf("review: %w", err)
	}
	return r, nil
}
