package trace

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"ecredit/account"
	"ecredit/code"
	"ecredit/errs"
	"ecredit/record"
	"ecredit/registry"
)

// Limits of the queries.
const (
	// MaxPage is the most orders of a forward trace per page.
	MaxPage = 500
	// recentOrders is how many of a seller's latest orders give its
	// traded categories.
	recentOrders = 5000
	// publicShops is how many of the shops that sold a batch the public
	// page checks for licences.
	publicShops = 20
	// timelineLimit is the most events a trace shows.
	timelineLimit = 200
)

// subjects looks up subjects by id once per call.
type subjects struct {
	s    registry.Store
	m    map[int64]*registry.Subject
	shop map[int64]*registry.Shop
}

func (s *Service) lookups() *subjects {
	return &subjects{s: s.Subjects, m: map[int64]*registry.Subject{}, shop: map[int64]*registry.Shop{}}
}

func (l *subjects) get(ctx context.Context, id int64) (*registry.Subject, error) {
	if id == 0 {
		return nil, nil
	}
	if sub, ok := l.m[id]; ok {
		return sub, nil
	}
	sub, err := l.s.GetSubject(ctx, id)
	if errs.Is(err, errs.NotFound) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	l.m[id] = sub
	return sub, nil
}

func (l *subjects) shopName(ctx context.Context, id int64) (string, error) {
	if sh, ok := l.shop[id]; ok {
		return sh.Name, nil
	}
	sh, err := l.s.GetShop(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	l.shop[id] = sh
	return sh.Name, nil
}

// platforms fills the names and credit codes of the platforms.
func (l *subjects) platforms(ctx context.Context, ps []PlatformReach) ([]PlatformReach, error) {
	out := make([]PlatformReach, len(ps))
	for i, p := range ps {
		sub, err := l.get(ctx, p.PlatformID)
		if err != nil {
			return nil, err
		}
		if sub != nil {
			p.Name, p.CreditCode = sub.Name, sub.CreditCode
		}
		out[i] = p
	}
	return out, nil
}

// batchAndProduct loads a batch, its product and producer.
func (s *Service) batchAndProduct(ctx context.Context, l *subjects, gtin, batch string) (*Batch, *Product, ProductView, error) {
	g, bn, err := parseKey(gtin, batch)
	if err != nil {
		return nil, nil, ProductView{}, err
	}
	// The same GTIN may be given in another length (a GTIN-13 padded to
	// 14 digits, or the reverse).
	b, err := s.findBatch(ctx, g, bn)
	if err != nil {
		return nil, nil, ProductView{}, err
	}
	p, err := s.Store.GetProduct(ctx, b.GTIN)
	if err != nil {
		return nil, nil, ProductView{}, err
	}
	producer, err := l.get(ctx, p.ProducerID)
	if err != nil {
		return nil, nil, ProductView{}, err
	}
	return b, p, s.productView(p, producer), nil
}

func (s *Service) recallView(ctx context.Context, b *Batch) (*RecallView, error) {
	if b.Status != BatchRecalled {
		return nil, nil
	}
	rc, err := s.Store.GetRecall(ctx, b.GTIN, b.Batch)
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	v := rc.View()
	return &v, nil
}

// Forward traces a batch to the orders that hold it: totals, platforms and
// destination regions, and a page of orders after the cursor (an order
// id). Departments and the credit office see every order; a platform
// only its own; the producer only the totals.
func (s *Service) Forward(ctx context.Context, gtin, batch string, after int64, limit int) (*ForwardTrace, error) {
	const op = "trace.Forward"
	a := account.From(ctx)
	if anonymous(a) {
		return nil, errs.Wrap(op, errAuth)
	}
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, MaxPage)
	l := s.lookups()
	b, _, pv, err := s.batchAndProduct(ctx, l, gtin, batch)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	ft := &ForwardTrace{Product: pv, Batch: b.View(), Orders: []OrderLineView{}}
	var platform int64
	switch {
	case Can(a, ScopeTraceRead):
		ft.Scope = "all"
	case Can(a, ScopeTracePlatform) && a.SubjectID != 0:
		ft.Scope, platform = "platform", a.SubjectID
	case isProducer(a, b.ProducerID):
		ft.Scope = "producer"
	default:
		return nil, errs.Wrap(op, forbidden(a, "无权查看该批次的流向 (may not trace this batch)"))
	}
	if ft.Recall, err = s.recallView(ctx, b); err != nil {
		return nil, errs.Wrap(op, err)
	}
	forms := gtinForms(b.GTIN)
	r, err := s.reach(ctx, forms, b.Batch, platform)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	ps, err := l.platforms(ctx, r.Platforms)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	ft.Reach = ReachView{Orders: r.Orders, Quantity: r.Quantity, Shops: r.Shops, Sellers: r.Sellers, Platforms: ps, Regions: named(r.Regions)}
	if ft.Lineage, err = s.batchLineage(ctx, l, b, false); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if err := s.downstreamReach(ctx, ft.Lineage.Downstream, platform); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if ft.Scope == "producer" {
		return ft, nil
	}
	lines, err := s.Store.ReachOrders(ctx, forms, b.Batch, platform, after, limit)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	var shopIDs []int64
	for _, o := range lines {
		shopIDs = append(shopIDs, o.ShopID)
	}
	names, err := s.Store.ShopNames(ctx, shopIDs)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	for _, o := range lines {
		rn, _ := code.RegionName(o.Region)
		ft.Orders = append(ft.Orders, OrderLineView{OrderID: o.OrderID, OrderNo: o.OrderNo, PlatformID: o.PlatformID, ShopID: o.ShopID,
			ShopName: names[o.ShopID], SellerID: o.SellerID, Region: o.Region, RegionName: rn, Status: o.Status, PaidAt: o.PaidAt, Quantity: o.Quantity})
	}
	if len(lines) == limit {
		ft.NextCursor = lines[len(lines)-1].OrderID
	}
	return ft, nil
}

// named fills region names, never nil.
func named(rs []RegionReach) []RegionReach {
	out := make([]RegionReach, 0, len(rs))
	for _, r := range rs {
		r.Name, _ = code.RegionName(r.Region)
		if r.Region == "" {
			r.Name = "未知地区"
		}
		out = append(out, r)
	}
	return out
}

// cityOf is the prefecture-level code of a county-level region.
func cityOf(region string) string {
	if len(region) != 6 {
		return ""
	}
	if c := region[:4] + "00"; knownRegion(c) {
		return c
	}
	return region[:2] + "0000" // municipalities' counties: the province
}

func knownRegion(c string) bool { return code.KnownRegion(c) }

// Public is the public trace of a batch: product, batch, recall, the
// timeline of public events (production, inspections, listings, recall),
// counts of the others, the reach aggregated to cities, and the licence
// situation. No order, buyer or shop is named.
func (s *Service) Public(ctx context.Context, gtin, batch string) (*PublicTrace, error) {
	const op = "trace.Public"
	l := s.lookups()
	b, p, pv, err := s.batchAndProduct(ctx, l, gtin, batch)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	pt := &PublicTrace{Product: pv, Batch: b.View(), Timeline: []EventView{}, EventCounts: []EventCount{}}
	if pt.Recall, err = s.recallView(ctx, b); err != nil {
		return nil, errs.Wrap(op, err)
	}
	var pub []EventType
	for _, t := range EventTypes {
		if t.Public() {
			pub = append(pub, t)
		}
	}
	evs, err := s.Store.BatchEvents(ctx, b.GTIN, b.Batch, pub, EventCursor{}, timelineLimit)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	for _, e := range evs {
		sub, err := l.get(ctx, e.SubjectID)
		if err != nil {
			return nil, errs.Wrap(op, err)
		}
		pt.Timeline = append(pt.Timeline, eventView(e, sub, true))
	}
	if err := s.nameSites(ctx, l, pt.Timeline); err != nil {
		return nil, errs.Wrap(op, err)
	}
	counts, err := s.Store.CountBatchEvents(ctx, b.GTIN, b.Batch)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	for _, t := range EventTypes {
		if n := counts[t]; n > 0 {
			pt.EventCounts = append(pt.EventCounts, EventCount{Type: t, Label: t.Label(), Count: n})
		}
	}
	forms := gtinForms(b.GTIN)
	r, err := s.reach(ctx, forms, b.Batch, 0)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	ps, err := l.platforms(ctx, r.Platforms)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	for i := range ps {
		ps[i].PlatformID = 0 // names and codes of platforms are public; ids are not needed
	}
	cities := map[string]*RegionReach{}
	var order []string
	for _, x := range r.Regions {
		c := cityOf(x.Region)
		if cities[c] == nil {
			cities[c] = &RegionReach{Region: c}
			order = append(order, c)
		}
		cities[c].Orders += x.Orders
		cities[c].Quantity += x.Quantity
	}
	var regions []RegionReach
	for _, c := range order {
		regions = append(regions, *cities[c])
	}
	slices.SortStableFunc(regions, func(a, b RegionReach) int { return int(b.Orders - a.Orders) })
	pt.Reach = PublicReach{Orders: r.Orders, Quantity: r.Quantity, Shops: r.Shops, Platforms: ps, Regions: named(regions)}

	if pt.Lineage, err = s.batchLineage(ctx, l, b, true); err != nil {
		return nil, errs.Wrap(op, err)
	}
	rule, required := RuleFor(p.Category)
	pt.Licence = PublicLicence{Required: required, Category: p.Category, Label: CategoryLabel(p.Category)}
	if required {
		now := s.now()
		fs, err := s.licenceFlags(ctx, p.ProducerID, []string{rule.Category}, now)
		if err != nil {
			return nil, errs.Wrap(op, err)
		}
		if len(fs) == 1 {
			pt.Licence.Producer = &fs[0]
		}
		shops := r.TopShops[:min(len(r.TopShops), publicShops)]
		seen := map[int64]bool{} // seller → flagged
		for _, sh := range shops {
			flagged, ok := seen[sh.SellerID]
			if !ok {
				fs, err := s.licenceFlags(ctx, sh.SellerID, []string{rule.Category}, now)
				if err != nil {
					return nil, errs.Wrap(op, err)
				}
				flagged = len(fs) == 1 && fs[0].Flagged
				seen[sh.SellerID] = flagged
			}
			pt.Licence.CheckedShops++
			if flagged {
				pt.Licence.UnlicensedShops++
			}
		}
	}
	return pt, nil
}

// Backward traces an order to its items' batches, their producer, the
// batches' inspection events, the producer's licence and inspection
// records and the seller's licence for each item's category. A platform
// sees only its own orders; departments and the credit office any.
func (s *Service) Backward(ctx context.Context, orderID int64) (*BackwardTrace, error) {
	const op = "trace.Backward"
	a := account.From(ctx)
	if anonymous(a) {
		return nil, errs.Wrap(op, errAuth)
	}
	if !Can(a, ScopeTraceRead) && !Can(a, ScopeTracePlatform) {
		return nil, errs.Wrap(op, forbidden(a, "无权追溯订单 (may not trace orders)"))
	}
	o, err := s.Store.TraceOrder(ctx, orderID)
	if err == nil && !Can(a, ScopeTraceRead) && (a.SubjectID == 0 || o.PlatformID != a.SubjectID) {
		err = &errs.Error{Code: errs.NotFound, Message: fmt.Sprintf("订单 %d 不存在 (order not found)", orderID)}
	}
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	l := s.lookups()
	platform, err := l.get(ctx, o.PlatformID)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	seller, err := l.get(ctx, o.SellerID)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	shopName, err := l.shopName(ctx, o.ShopID)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	rn, _ := code.RegionName(o.Region)
	bt := &BackwardTrace{Order: OrderView{ID: o.ID, OrderNo: o.OrderNo, Platform: subjectRef(platform), ShopID: o.ShopID, ShopName: shopName,
		Seller: subjectRef(seller), AmountFen: o.AmountFen, Region: o.Region, RegionName: rn, Waybill: o.Waybill, Status: o.Status, PaidAt: o.PaidAt},
		Items: []TracedItem{}}
	now := s.now()
	var cats []string
	for _, it := range o.Items {
		if c := s.itemCategory(ctx, it); c != "" {
			cats = append(cats, c)
		}
	}
	sellerFlags, err := s.licenceFlags(ctx, o.SellerID, cats, now)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	records := map[int64][2][]RecordRef{} // producer → licences, inspections
	for _, it := range o.Items {
		ti := TracedItem{Line: it.Line, GTIN: it.GTIN, Batch: it.Batch, Name: it.Name, Category: it.Category, Quantity: it.Quantity,
			Inspections: []EventView{}, ProducerLicences: []RecordRef{}, ProducerInspections: []RecordRef{}, Sources: []LineageNode{}}
		if c := s.itemCategory(ctx, it); c != "" {
			for i := range sellerFlags {
				if sellerFlags[i].Category == c {
					ti.SellerLicence = &sellerFlags[i]
				}
			}
		}
		if err := s.traceItem(ctx, l, &ti, records); err != nil {
			return nil, errs.Wrap(op, err)
		}
		bt.Items = append(bt.Items, ti)
	}
	if bt.Lifecycle, err = s.lifecycle(ctx, o); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if bt.Lifecycle == nil {
		bt.Lifecycle = []LifeStep{}
	}
	return bt, nil
}

// itemCategory is the licensed-category key of an order item: its own
// category, else its product's; "" when unknown.
func (s *Service) itemCategory(ctx context.Context, it OrderItem) string {
	if c, ok := NormalizeCategory(it.Category); ok {
		return c
	}
	if g, err := ParseGTIN("gtin", it.GTIN); err == nil {
		for _, form := range storedForms(g) {
			if p, err := s.Store.GetProduct(ctx, form); err == nil {
				return p.Category
			}
		}
	}
	return ""
}

// storedForms are the forms under which a GTIN read from an order may be
// registered: as is, and without the leading zeros of a padded GTIN-14
// (as GTIN-13, -12 or -8).
func storedForms(g string) []string {
	out := []string{g}
	for _, n := range []int{13, 12, 8} {
		if len(g) > n && strings.Trim(g[:len(g)-n], "0") == "" {
			out = append(out, g[len(g)-n:])
		}
	}
	return out
}

// traceItem fills an item's batch, product, producer, inspections, recall
// and the producer's records.
func (s *Service) traceItem(ctx context.Context, l *subjects, ti *TracedItem, records map[int64][2][]RecordRef) error {
	g, err := ParseGTIN("gtin", ti.GTIN)
	if err != nil || ti.Batch == "" {
		return nil
	}
	b, err := s.findBatch(ctx, g, ti.Batch)
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	p, err := s.Store.GetProduct(ctx, b.GTIN)
	if err != nil {
		return err
	}
	producer, err := l.get(ctx, p.ProducerID)
	if err != nil {
		return err
	}
	pv, bv := s.productView(p, producer), b.View()
	ti.Found, ti.Product, ti.BatchInfo, ti.Producer = true, &pv, &bv, subjectRef(producer)
	evs, err := s.Store.BatchEvents(ctx, b.GTIN, b.Batch, []EventType{EventProduced, EventInspected}, EventCursor{}, timelineLimit)
	if err != nil {
		return err
	}
	for _, e := range evs {
		sub, err := l.get(ctx, e.SubjectID)
		if err != nil {
			return err
		}
		ti.Inspections = append(ti.Inspections, eventView(e, sub, false))
	}
	if err := s.nameSites(ctx, l, ti.Inspections); err != nil {
		return err
	}
	if ti.Recall, err = s.recallView(ctx, b); err != nil {
		return err
	}
	if ti.Sources, _, err = s.lineage(ctx, l, b, true, false); err != nil {
		return err
	}
	recs, ok := records[p.ProducerID]
	if !ok {
		for i, t := range []record.Type{record.TypeLicence, record.TypeInspection} {
			rs, err := s.Records.ListRecords(ctx, record.Filter{SubjectID: p.ProducerID, Type: t, Limit: 100})
			if err != nil {
				return err
			}
			recs[i] = []RecordRef{}
			for j := len(rs) - 1; j >= 0; j-- { // newest first
				if rs[j].Status != record.StatusWithdrawn {
					recs[i] = append(recs[i], recordRef(rs[j]))
				}
			}
		}
		records[p.ProducerID] = recs
	}
	ti.ProducerLicences, ti.ProducerInspections = recs[0], recs[1]
	return nil
}

// LicenceFlags tells, for a seller (by subject id, or the owner of a
// shop), which licensed categories it trades in — its shops' categories
// and the items of its latest orders — and whether a valid licence record
// covers each. Departments and the credit office ask about anyone; a
// platform about the owners of its own shops.
func (s *Service) LicenceFlags(ctx context.Context, sellerID, shopID int64) (*SellerFlags, error) {
	const op = "trace.LicenceFlags"
	a := account.From(ctx)
	if anonymous(a) {
		return nil, errs.Wrap(op, errAuth)
	}
	if !Can(a, ScopeTraceRead) && !Can(a, ScopeTracePlatform) {
		return nil, errs.Wrap(op, forbidden(a, "无权查询许可标记 (may not read licence flags)"))
	}
	if (sellerID == 0) == (shopID == 0) {
		return nil, errs.Wrap(op, errs.Field("seller", "请给出 seller（主体编号）或 shop（店铺编号）之一 (give seller or shop)"))
	}
	var cats []string
	if shopID != 0 {
		sh, err := s.Subjects.GetShop(ctx, shopID)
		if err != nil {
			return nil, errs.Wrap(op, err)
		}
		if !Can(a, ScopeTraceRead) && sh.PlatformID != a.SubjectID {
			return nil, &errs.Error{Code: errs.NotFound, Op: op, Field: "shop", Message: fmt.Sprintf("店铺 %d 不存在 (shop not found)", shopID)}
		}
		sellerID = sh.OwnerID
	}
	seller, err := s.Subjects.GetSubject(ctx, sellerID)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	f := registry.ShopFilter{OwnerID: sellerID, Limit: 500}
	if !Can(a, ScopeTraceRead) {
		f.PlatformID = a.SubjectID
	}
	shops, err := s.Subjects.ListShops(ctx, f)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	if !Can(a, ScopeTraceRead) && len(shops) == 0 {
		return nil, &errs.Error{Code: errs.NotFound, Op: op, Field: "seller", Message: "该主体在本平台没有店铺 (subject has no shop on your platform)"}
	}
	for _, sh := range shops {
		cats = append(cats, sh.Category)
	}
	sold, err := s.Store.SellerCategories(ctx, sellerID, recentOrders)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	cats = append(cats, sold...)
	keys := []string{}
	for _, c := range cats {
		if k, ok := NormalizeCategory(c); ok && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	flags, err := s.licenceFlags(ctx, sellerID, keys, s.now())
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	out := &SellerFlags{Seller: subjectRef(seller), Categories: keys, Flags: flags}
	for _, f := range flags {
		if f.Flagged {
			out.Flagged++
		}
	}
	return out, nil
}

// PublicProduct is a product as its public page shows it (the landing of
// a scanned barcode, which names no batch): the product with its
// producer, its latest batches with their status, and its batch counts.
type PublicProduct struct {
	Product         ProductView `json:"product"`
	Batches         []BatchView `json:"batches"`
	TotalBatches    int64       `json:"total_batches"`
	RecalledBatches int64       `json:"recalled_batches"`
}

// MaxProductBatches is the most batches a product's public page lists.
const MaxProductBatches = 100

// PublicProduct returns a registered product's public page, for anyone;
// the GTIN may be given in any of its lengths.
func (s *Service) PublicProduct(ctx context.Context, gtin string) (*PublicProduct, error) {
	const op = "trace.PublicProduct"
	g, err := ParseGTIN("gtin", gtin)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	var p *Product
	for _, form := range gtinLookupForms(g) {
		if p, err = s.Store.GetProduct(ctx, form); !errs.Is(err, errs.NotFound) {
			break
		}
	}
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	producer, err := s.lookups().get(ctx, p.ProducerID)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	bs, total, recalled, err := s.Store.ProductBatches(ctx, p.GTIN, MaxProductBatches)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	out := &PublicProduct{Product: s.productView(p, producer), Batches: make([]BatchView, len(bs)), TotalBatches: total, RecalledBatches: recalled}
	for i, b := range bs {
		out.Batches[i] = b.View()
	}
	return out, nil
}
