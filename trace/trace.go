// Package trace is product traceability (M10): products by GTIN, their
// batches (lots), and trace events modelled on GS1 EPCIS — what (GTIN and
// batch), when (the instant), where (region, subject, shop) and why (the
// business step and disposition) — with a reference such as an inspection
// report number, an order number or a waybill.
//
// It traces a batch forward to every order, shop, platform and destination
// region it reached (reading the orders of package trade), and an order
// backward to its batches, their producer, the batch's inspection events
// and the producer's licence and inspection records (package record). A
// recall of a batch is a credit record of the open type written through
// record.Service — so it is in the ledger and in the change feed that
// platforms poll — and a recall row here that links to it, lists the
// affected orders and platforms, and marks the batch recalled.
//
// Licensed categories (food, drugs, medical devices, agricultural inputs,
// special equipment, hazardous chemicals) are flagged when the seller
// lacks a valid licence record for them.
//
// Like the other domain packages it imports neither net/http nor
// database/sql: Service holds every rule, Store is implemented by
// sqlstore.
package trace

import (
	"context"
	"time"

	"ecredit/audit"
)

// EventType is what happened to a batch (EPCIS: the event's business
// meaning).
type EventType string

const (
	EventProduced   EventType = "produced"   // 生产
	EventInspected  EventType = "inspected"  // 检验
	EventListed     EventType = "listed"     // 上架
	EventSold       EventType = "sold"       // 售出
	EventShipped    EventType = "shipped"    // 发货
	EventSigned     EventType = "signed"     // 签收
	EventReviewed   EventType = "reviewed"   // 评价
	EventComplained EventType = "complained" // 投诉
	EventRecalled   EventType = "recalled"   // 召回
)

// EventTypes lists every event type in the order of a product's life.
var EventTypes = []EventType{EventProduced, EventInspected, EventListed, EventSold, EventShipped, EventSigned,
	EventReviewed, EventComplained, EventRecalled}

// Label is the Chinese name of the event type.
func (t EventType) Label() string {
	switch t {
	case EventProduced:
		return "生产"
	case EventInspected:
		return "检验"
	case EventListed:
		return "上架销售"
	case EventSold:
		return "售出"
	case EventShipped:
		return "发货"
	case EventSigned:
		return "签收"
	case EventReviewed:
		return "评价"
	case EventComplained:
		return "投诉"
	case EventRecalled:
		return "召回"
	}
	return string(t)
}

// Valid reports whether t is a known event type.
func (t EventType) Valid() bool {
	for _, x := range EventTypes {
		if x == t {
			return true
		}
	}
	return false
}

// Public reports whether events of this type are shown one by one on the
// public trace page. The others (sold, shipped, signed, reviewed,
// complained) refer to orders and buyers and are shown only as counts.
func (t EventType) Public() bool {
	switch t {
	case EventProduced, EventInspected, EventListed, EventRecalled:
		return true
	}
	return false
}

// Business steps and dispositions follow the GS1 Core Business Vocabulary
// (CBV 2.0) where it has a term; reviewing and complaining are ecredit's.
var (
	// defaultStep is the business step of each event type.
	defaultStep = map[EventType]string{
		EventProduced: "commissioning", EventInspected: "inspecting", EventListed: "stocking",
		EventSold: "retail_selling", EventShipped: "shipping", EventSigned: "receiving",
		EventReviewed: "reviewing", EventComplained: "complaining", EventRecalled: "holding",
	}
	// defaultDisposition is the disposition of each event type; an
	// inspection's comes from its result.
	defaultDisposition = map[EventType]string{
		EventProduced: "active", EventListed: "sellable_accessible", EventSold: "retail_sold",
		EventShipped: "in_transit", EventSigned: "completeness_verified", EventRecalled: "recalled",
	}
	// Steps are the accepted business steps with their Chinese names.
	Steps = map[string]string{
		"commissioning": "赋码生产", "inspecting": "检验检测", "stocking": "上架备货", "retail_selling": "零售",
		"shipping": "发运", "receiving": "收货签收", "reviewing": "评价", "complaining": "投诉",
		"holding": "封存召回", "packing": "包装", "storing": "仓储", "accepting": "验收", "returning": "退货",
	}
	// Dispositions are the accepted dispositions with their Chinese names.
	Dispositions = map[string]string{
		"active": "已赋码", "conformant": "合格", "non_conformant": "不合格", "sellable_accessible": "可售",
		"retail_sold": "已售", "in_transit": "在途", "completeness_verified": "已签收", "recalled": "已召回",
		"returned": "已退回", "damaged": "破损", "expired": "已过期", "in_progress": "处理中", "": "",
	}
)

// RefTypes are the kinds of reference an event may carry.
var RefTypes = map[string]string{
	"inspection_report": "检验报告编号", "order": "订单号", "waybill": "运单号", "record": "信用记录编号",
	"complaint": "投诉编号", "review": "评价编号", "recall": "召回编号", "production": "生产记录编号", "other": "其他",
}

// Batch statuses.
const (
	BatchNormal   = "normal"   // 正常
	BatchRecalled = "recalled" // 已召回
)

// Product is a trade item, identified by its GTIN.
type Product struct {
	ID       int64
	GTIN     string // code.ParseGTIN(…).Normalized: 8, 12, 13 or 14 digits
	Name     string
	Category string // a key of Categories
	Brand    string
	Spec     string // 规格
	// ProducerID is the registry subject that makes (or imports) it.
	ProducerID int64
	CreatedBy  int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Version    int // optimistic lock; bumped by every update
}

// Batch is a production lot of a product (GS1 AI 10).
type Batch struct {
	ID         int64
	ProductID  int64
	GTIN       string
	Batch      string
	ProducedOn string // YYYY-MM-DD, Asia/Shanghai
	ExpiresOn  string // "" when none
	Quantity   int64  // how much was made; 0 when not reported
	UOM        string // the unit of Quantity (a code of Units; "": units)
	ProducerID int64
	Status     string // BatchNormal, BatchRecalled
	CreatedBy  int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Version    int // optimistic lock; bumped by every update and the recall
}

// Event is one trace event. Events are never changed or deleted.
type Event struct {
	ID int64
	// SourceKey and EventID make the event's identity: the submitting
	// account ("account:12") and its own id for the event.
	SourceKey   string
	EventID     string
	Type        EventType
	GTIN        string
	Batch       string
	At          time.Time
	Region      string // GB/T 2260 code where it happened; "" unknown
	ReadPoint   string // EPCIS readPoint: the GS1 location where it was observed (ParseLocation); "" none
	BizLocation string // EPCIS bizLocation: the GS1 location of the goods after it; "" none
	SubjectID   int64  // the subject where it happened (producer, inspector, warehouse); 0 none
	ShopID      int64  // the shop (listed, sold, reviewed, complained); 0 none
	BizStep     string
	Disposition string
	RefType     string
	Ref         string
	Quantity    int64
	Note        string
	ActorID     int64
	ActorName   string
	RecordedAt  time.Time
}

// Recall is the recall of a batch.
type Recall struct {
	ID        int64
	BatchID   int64
	GTIN      string
	Batch     string
	Reason    string
	RecordID  int64 // the credit record (type other) in the ledger and the change feed
	ActorID   int64
	ActorName string
	Role      string
	// What the batch had reached when it was recalled.
	Orders    int64
	Quantity  int64
	Platforms []PlatformReach
	At        time.Time
}

// PlatformReach is how far a batch reached on one platform.
type PlatformReach struct {
	PlatformID int64  `json:"platform_id"`
	Name       string `json:"name"`
	CreditCode string `json:"credit_code"`
	Orders     int64  `json:"orders"`
	Quantity   int64  `json:"quantity"`
}

// RegionReach is how many orders of a batch went to one region.
type RegionReach struct {
	Region   string `json:"region"`
	Name     string `json:"name"`
	Orders   int64  `json:"orders"`
	Quantity int64  `json:"quantity"`
}

// Reach is the forward trace of a batch over the orders: totals and the
// breakdown by platform, destination region (county level) and shop.
type Reach struct {
	Orders    int64
	Quantity  int64
	Shops     int64
	Sellers   int64
	Platforms []PlatformReach // by orders, descending
	Regions   []RegionReach   // by orders, descending; at most 500
	// TopShops are the shops that sold the most, by orders, descending;
	// at most MaxReachShops.
	TopShops []ShopReach
}

// MaxReachShops is the most shops Reach lists.
const MaxReachShops = 100

// OrderLine is one order that holds a batch.
type OrderLine struct {
	OrderID    int64
	OrderNo    string
	PlatformID int64
	ShopID     int64
	SellerID   int64
	Region     string
	Status     string
	PaidAt     time.Time
	Quantity   int64 // units of the batch in the order
}

// ShopReach is a shop that sold a batch.
type ShopReach struct {
	ShopID   int64
	SellerID int64
	Orders   int64
	Quantity int64
}

// Order is an order as traced backward (no buyer data).
type Order struct {
	ID         int64
	PlatformID int64
	ShopID     int64
	SellerID   int64
	OrderNo    string
	AmountFen  int64
	Region     string
	Waybill    string
	Status     string
	PaidAt     time.Time
	ShippedAt  time.Time
	SignedAt   time.Time
	CarrierID  int64 // the logistics firm of the waybill; 0 unknown
	Items      []OrderItem
}

// OrderFacts are what was recorded about an order after its sale, for its
// lifecycle (全过程留痕): the tracking of its parcel, the buyer's review,
// the seller's rating of the buyer, and the trace events that name the
// order or list its batches in its shop.
type OrderFacts struct {
	Parcel      *ParcelFacts // nil when the carrier reported no parcel of the waybill
	Review      *ReviewFacts // nil when not reviewed
	BuyerRating *RatingFacts // nil when the seller did not rate the buyer
	Events      []*Event
}

// BatchKey names a batch by every form its GTIN may be stored in.
type BatchKey struct {
	GTINs []string
	Batch string
}

// ParcelFacts are the order's parcel at its logistics firm.
type ParcelFacts struct {
	FirmID  int64
	Waybill string
	Status  string // logistics.Status
	Events  []ParcelStep
}

// ParcelStep is one tracking event of the parcel.
type ParcelStep struct {
	Type   string // logistics.EventType
	At     time.Time
	Region string
	Detail string // signed: by whom; exception: what
	Note   string
}

// ReviewFacts are the buyer's review of the order.
type ReviewFacts struct {
	Rating                          int // +1, 0, −1
	Description, Service, Logistics int // 1–5
	Body                            string
	At                              time.Time
	Followup                        string
	FollowupAt                      time.Time
	FoldedAt                        time.Time // zero when not folded
	FoldReason, FoldedBy            string
}

// RatingFacts are the seller's rating of the buyer (互评).
type RatingFacts struct {
	Rating int
	Body   string
	At     time.Time
}

// OrderItem is one line of an order.
type OrderItem struct {
	Line     int
	GTIN     string
	Batch    string
	Name     string
	Category string
	Quantity int64
	PriceFen int64
}

// Store persists products, batches, events and recalls, and reads the
// orders of package trade. Writes commit with their audit entry in one
// transaction. Errors: errs.NotFound, errs.Conflict (an existing GTIN,
// batch, (source, event id) or recall).
type Store interface {
	CreateProduct(ctx context.Context, p *Product, a *audit.Entry) error // sets ID
	GetProduct(ctx context.Context, gtin string) (*Product, error)
	// LineageGen returns the lineage's generation: every write that
	// passes a LineageGen other than NoLineageCheck moves it on by one,
	// in its transaction, and only if it still equals the one passed
	// (else the write fails with LineageMoved and nothing is stored).
	LineageGen(ctx context.Context) (int64, error)
	// CreateBatch inserts the batch and sets its ID, then its inputs
	// (their BatchID set to it), with the audit entry, in one transaction.
	CreateBatch(ctx context.Context, b *Batch, inputs []*Input, gen int64, a *audit.Entry) error
	// AddInputs stores inputs of a batch (none stored yet) with the audit
	// entry, in one transaction; Conflict when one is stored already.
	AddInputs(ctx context.Context, inputs []*Input, gen int64, a *audit.Entry) error
	// Lineage returns the links of the batches ids: up, their inputs
	// (BatchID among ids), else the batches made from them (InputID among
	// ids); each with the batch at the other end, ordered by the id
	// among ids, then the other end's.
	Lineage(ctx context.Context, ids []int64, up bool) ([]Link, error)
	GetBatch(ctx context.Context, gtin, batch string) (*Batch, error)
	// SitesByKeys returns the registered sites among keys, by key.
	SitesByKeys(ctx context.Context, keys []SiteKey) (map[SiteKey]*Site, error)
	// SaveSites inserts the new sites and updates the changed ones (when
	// the stored version is Version, which it then increments; else
	// Conflict), with the audit entry, in one transaction.
	SaveSites(ctx context.Context, news, changed []*Site, a *audit.Entry) error
	// SubjectSites returns the subject's sites by GLN and extension.
	SubjectSites(ctx context.Context, subjectID int64) ([]*Site, error)
	// ProductBatches returns up to limit batches of the GTIN (as stored),
	// the latest production first, with how many it has and how many of
	// them are recalled.
	ProductBatches(ctx context.Context, gtin string, limit int) (bs []*Batch, total, recalled int64, err error)
	// UpdateProduct writes the product's name, category, brand and spec
	// if the stored version equals p.Version, then bumps it (p.Version
	// too); Conflict on field version when it does not.
	UpdateProduct(ctx context.Context, p *Product, a *audit.Entry) error
	// UpdateBatch writes the batch's dates and quantity likewise, only
	// while it is not recalled.
	UpdateBatch(ctx context.Context, b *Batch, gen int64, a *audit.Entry) error
	// FindEvents returns the stored events of a source among ids, by id.
	FindEvents(ctx context.Context, sourceKey string, ids []string) (map[string]*Event, error)
	// CreateEvents inserts events (all or nothing) with one audit entry;
	// it sets their IDs.
	CreateEvents(ctx context.Context, evs []*Event, a *audit.Entry) error
	// CreateEventsWithInputs stores events (none, or all; their IDs set)
	// and inputs of batches (none stored yet) in one transaction, with an
	// audit entry each, moving the lineage generation from gen when there
	// are inputs: a TransformationEvent's produced event with its inputs.
	CreateEventsWithInputs(ctx context.Context, evs []*Event, ins []*Input, gen int64, inputsEntry, eventsEntry *audit.Entry) error
	// BatchEvents returns up to limit events of a batch of the given
	// types (all when empty), in (time, id) order, after the cursor (from
	// the first when it is zero).
	BatchEvents(ctx context.Context, gtin, batch string, types []EventType, after EventCursor, limit int) ([]*Event, error)
	// CountBatchEvents counts a batch's events by type.
	CountBatchEvents(ctx context.Context, gtin, batch string) (map[EventType]int64, error)
	// CreateRecall stores the recall, its "recalled" event and the
	// batch's new status in one transaction; Conflict when the batch is
	// already recalled.
	CreateRecall(ctx context.Context, rc *Recall, ev *Event, a *audit.Entry) error
	GetRecall(ctx context.Context, gtin, batch string) (*Recall, error)
	// RecentRecalls returns up to limit recalls before the recall id
	// (0: the latest), newest first.
	RecentRecalls(ctx context.Context, before int64, limit int) ([]*Recall, error)

	// ReachGroups sums the orders holding the batch (any of gtins, the
	// forms of one GTIN) with an id above after and, unless upto is 0, at
	// most upto, by platform, region, shop and seller, in one pass over
	// the batch's order items.
	ReachGroups(ctx context.Context, gtins []string, batch string, after, upto int64) ([]ReachGroup, error)
	// BatchSpan returns the smallest and largest order id of the batch's
	// order items, and how many there are.
	BatchSpan(ctx context.Context, gtins []string, batch string) (lo, hi, lines int64, err error)
	// CountBatchLines counts the order items of the batch whose order id
	// is at most upto.
	CountBatchLines(ctx context.Context, gtins []string, batch string, upto int64) (int64, error)
	// BatchLinesSince counts the order items of the orders with an id
	// above after and at most upto, by batch (the GTIN as the order gives
	// it), over the order items' primary key.
	BatchLinesSince(ctx context.Context, after, upto int64) ([]BatchLines, error)
	// LastOrderID returns the largest order id (0: no order).
	LastOrderID(ctx context.Context) (int64, error)
	// IndexOrders puts the orders stored since it last ran into the
	// store's batch order (the others are read one by one by the calls
	// above) and returns how many order ids it covered.
	IndexOrders(ctx context.Context) (int64, error)
	// ReachOrders pages through those orders by ascending order id,
	// reading no more of the batch than the page needs.
	ReachOrders(ctx context.Context, gtins []string, batch string, platformID, after int64, limit int) ([]OrderLine, error)
	// LoadReach returns the reach kept for a batch key (see reach.go),
	// or nil when none is kept.
	LoadReach(ctx context.Context, key string) (*KeptReach, error)
	// SaveReach keeps a batch's reach unless a sum over more orders (a
	// larger Upto) is kept already.
	SaveReach(ctx context.Context, key string, k *KeptReach) error
	// ShopNames returns the names of the shops among ids, by id.
	ShopNames(ctx context.Context, ids []int64) (map[int64]string, error)
	// TraceOrder returns an order with its items.
	TraceOrder(ctx context.Context, id int64) (*Order, error)
	// OrderFacts returns what was recorded about the order after its sale
	// (OrderFacts): its carrier's parcel of its waybill with the tracking
	// events, its review, the seller's rating of the buyer, and the trace
	// events of its items' batches (batches) that name the order (ref) or
	// are listings in its shop.
	OrderFacts(ctx context.Context, o *Order, batches []BatchKey) (*OrderFacts, error)
	// SellerCategories returns the distinct item categories of the
	// seller's latest `recent` orders (an item without a category takes
	// its product's).
	SellerCategories(ctx context.Context, sellerID int64, recent int) ([]string, error)
}
