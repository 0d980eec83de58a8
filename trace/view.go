package trace

import (
	"context"
	"time"

	"ecredit/code"
	"ecredit/record"
	"ecredit/registry"
)

// SubjectRef names a subject in a trace: its public name (masked for
// persons) and, for organisations, its credit code.
type SubjectRef struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	CreditCode string `json:"credit_code,omitempty"`
	Kind       string `json:"kind"`
	KindLabel  string `json:"kind_label"`
}

func subjectRef(s *registry.Subject) *SubjectRef {
	if s == nil {
		return nil
	}
	return &SubjectRef{ID: s.ID, Name: s.Name, CreditCode: s.CreditCode, Kind: string(s.Kind), KindLabel: s.Kind.Label()}
}

// ProductView is a product as the API shows it.
type ProductView struct {
	GTIN            string      `json:"gtin"`
	Name            string      `json:"name"`
	Category        string      `json:"category"`
	CategoryLabel   string      `json:"category_label"`
	LicenceRequired bool        `json:"licence_required"`
	Brand           string      `json:"brand,omitempty"`
	Spec            string      `json:"spec,omitempty"`
	Producer        *SubjectRef `json:"producer"`
	CreatedAt       time.Time   `json:"created_at"`
	UpdatedAt       time.Time   `json:"updated_at"`
	Version         int         `json:"version"`
}

// ProductView returns a product's API form with its producer.
func (s *Service) ProductView(ctx context.Context, p *Product) (ProductView, error) {
	producer, err := s.lookups().get(ctx, p.ProducerID)
	if err != nil {
		return ProductView{}, err
	}
	return s.productView(p, producer), nil
}

func (s *Service) productView(p *Product, producer *registry.Subject) ProductView {
	_, lic := RuleFor(p.Category)
	ref := subjectRef(producer)
	if ref == nil {
		ref = &SubjectRef{ID: p.ProducerID}
	}
	return ProductView{GTIN: p.GTIN, Name: p.Name, Category: p.Category, CategoryLabel: CategoryLabel(p.Category), LicenceRequired: lic,
		Brand: p.Brand, Spec: p.Spec, Producer: ref, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, Version: p.Version}
}

// BatchView is a batch as the API shows it.
type BatchView struct {
	GTIN       string `json:"gtin"`
	Batch      string `json:"batch"`
	ProducedOn string `json:"produced_on"`
	ExpiresOn  string `json:"expires_on,omitempty"`
	Quantity   int64  `json:"quantity"`
	UOM        string `json:"uom,omitempty"`
	// QuantityLabel is the quantity with its unit ("1800 件", "1200 千克");
	// "" when not reported.
	QuantityLabel string    `json:"quantity_label,omitempty"`
	Status        string    `json:"status"`
	StatusLabel   string    `json:"status_label"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	Version       int       `json:"version"`
}

// View returns the batch's API form.
func (b *Batch) View() BatchView {
	label := "正常"
	if b.Status == BatchRecalled {
		label = "已召回"
	}
	return BatchView{GTIN: b.GTIN, Batch: b.Batch, ProducedOn: b.ProducedOn, ExpiresOn: b.ExpiresOn, Quantity: b.Quantity,
		UOM: b.UOM, QuantityLabel: FormatQuantity(float64(b.Quantity), b.UOM), Status: b.Status, StatusLabel: label, CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt, Version: b.Version}
}

// EventView is an event as the API shows it. The public sees no event id,
// submitter or shop.
type EventView struct {
	ID               int64       `json:"id"`
	EventID          string      `json:"event_id,omitempty"`
	Type             EventType   `json:"type"`
	TypeLabel        string      `json:"type_label"`
	Time             time.Time   `json:"time"`
	Region           string      `json:"region,omitempty"`
	RegionName       string      `json:"region_name,omitempty"`
	ReadPoint        string      `json:"read_point,omitempty"`
	BizLocation      string      `json:"biz_location,omitempty"`
	ReadPointSite    *SiteView   `json:"read_point_site,omitempty"`   // the registered site of ReadPoint
	BizLocationSite  *SiteView   `json:"biz_location_site,omitempty"` // the registered site of BizLocation
	Subject          *SubjectRef `json:"subject,omitempty"`
	ShopID           int64       `json:"shop_id,omitempty"`
	BizStep          string      `json:"biz_step"`
	BizStepLabel     string      `json:"biz_step_label"`
	Disposition      string      `json:"disposition,omitempty"`
	DispositionLabel string      `json:"disposition_label,omitempty"`
	RefType          string      `json:"ref_type,omitempty"`
	Ref              string      `json:"ref,omitempty"`
	Quantity         int64       `json:"quantity,omitempty"`
	Note             string      `json:"note,omitempty"`
	SubmittedBy      string      `json:"submitted_by,omitempty"`
}

func eventView(e *Event, sub *registry.Subject, public bool) EventView {
	v := EventView{ID: e.ID, EventID: e.EventID, Type: e.Type, TypeLabel: e.Type.Label(), Time: e.At, Region: e.Region,
		ReadPoint: e.ReadPoint, BizLocation: e.BizLocation,
		Subject: subjectRef(sub), ShopID: e.ShopID, BizStep: e.BizStep, BizStepLabel: Steps[e.BizStep], Disposition: e.Disposition,
		DispositionLabel: Dispositions[e.Disposition], RefType: e.RefType, Ref: e.Ref, Quantity: e.Quantity, Note: e.Note, SubmittedBy: e.ActorName}
	v.RegionName, _ = code.RegionName(e.Region)
	if public {
		v.EventID, v.ShopID, v.SubmittedBy = "", 0, ""
		if e.RefType == "order" || e.RefType == "waybill" || e.RefType == "review" || e.RefType == "complaint" {
			v.RefType, v.Ref = "", ""
		}
	}
	return v
}

// RecallView is a recall as the API shows it.
type RecallView struct {
	ID        int64           `json:"id"`
	GTIN      string          `json:"gtin"`
	Batch     string          `json:"batch"`
	Reason    string          `json:"reason"`
	RecordID  int64           `json:"record_id"`
	By        string          `json:"by"`
	Orders    int64           `json:"orders"`
	Quantity  int64           `json:"quantity"`
	Platforms []PlatformReach `json:"platforms"`
	At        time.Time       `json:"at"`
}

// View returns the recall's API form.
func (r *Recall) View() RecallView {
	ps := r.Platforms
	if ps == nil {
		ps = []PlatformReach{}
	}
	return RecallView{ID: r.ID, GTIN: r.GTIN, Batch: r.Batch, Reason: r.Reason, RecordID: r.RecordID, By: r.ActorName,
		Orders: r.Orders, Quantity: r.Quantity, Platforms: ps, At: r.At}
}

// ReachView is a batch's forward reach.
type ReachView struct {
	Orders    int64           `json:"orders"`
	Quantity  int64           `json:"quantity"`
	Shops     int64           `json:"shops"`
	Sellers   int64           `json:"sellers"`
	Platforms []PlatformReach `json:"platforms"`
	Regions   []RegionReach   `json:"regions"`
}

// OrderLineView is an order that holds a batch (no buyer data).
type OrderLineView struct {
	OrderID    int64     `json:"order_id"`
	OrderNo    string    `json:"order_no"`
	PlatformID int64     `json:"platform_id"`
	ShopID     int64     `json:"shop_id"`
	ShopName   string    `json:"shop_name"`
	SellerID   int64     `json:"seller_id"`
	Region     string    `json:"region"`
	RegionName string    `json:"region_name,omitempty"`
	Status     string    `json:"status"`
	PaidAt     time.Time `json:"paid_at"`
	Quantity   int64     `json:"quantity"`
}

// ForwardTrace is where a batch went.
type ForwardTrace struct {
	Product ProductView `json:"product"`
	Batch   BatchView   `json:"batch"`
	Recall  *RecallView `json:"recall,omitempty"`
	// Scope is "all" (departments), "platform" (the caller's own orders
	// only) or "producer" (totals only, no orders).
	Scope      string          `json:"scope"`
	Reach      ReachView       `json:"reach"`
	Orders     []OrderLineView `json:"orders"`
	NextCursor int64           `json:"-"` // the last order id of a full page; 0 at the end
	// Lineage is what the batch was made from and what was made from it,
	// each batch made from it with the orders holding it (in scope).
	Lineage *Lineage `json:"lineage"`
}

// EventCount is how many events of a type a batch has.
type EventCount struct {
	Type  EventType `json:"type"`
	Label string    `json:"label"`
	Count int64     `json:"count"`
}

// PublicReach is the public's view of a batch's reach: totals, platforms
// by name and destination regions aggregated to the city (prefecture).
type PublicReach struct {
	Orders    int64           `json:"orders"`
	Quantity  int64           `json:"quantity"`
	Shops     int64           `json:"shops"`
	Platforms []PlatformReach `json:"platforms"`
	Regions   []RegionReach   `json:"regions"`
}

// PublicLicence is the licence situation of a batch on the public page.
type PublicLicence struct {
	Required bool   `json:"required"`
	Category string `json:"category"`
	Label    string `json:"label"`
	// Producer is the producer's flag for the category.
	Producer *LicenceFlag `json:"producer,omitempty"`
	// Of the CheckedShops shops that sold the most of the batch,
	// UnlicensedShops are run by a seller without a valid licence.
	CheckedShops    int `json:"checked_shops"`
	UnlicensedShops int `json:"unlicensed_shops"`
}

// PublicTrace is GET /api/v1/public/trace/{gtin}/{batch}: everything the
// public may know of a batch, with no buyer data.
type PublicTrace struct {
	Product     ProductView   `json:"product"`
	Batch       BatchView     `json:"batch"`
	Recall      *RecallView   `json:"recall,omitempty"`
	Timeline    []EventView   `json:"timeline"`
	EventCounts []EventCount  `json:"event_counts"`
	Reach       PublicReach   `json:"reach"`
	Licence     PublicLicence `json:"licence"`
	// Lineage is what the batch was made from (with the inputs'
	// producers and inspections) and what was made from it.
	Lineage *Lineage `json:"lineage"`
}

// RecordRef is a credit record named in a backward trace.
type RecordRef struct {
	ID         int64  `json:"id"`
	Type       string `json:"type"`
	TypeLabel  string `json:"type_label"`
	Ref        string `json:"ref"`
	Title      string `json:"title"`
	Date       string `json:"date"`
	ValidUntil string `json:"valid_until,omitempty"`
	Result     string `json:"result,omitempty"`
	Status     string `json:"status"`
}

func recordRef(r *record.Record) RecordRef {
	ref := RecordRef{ID: r.ID, Type: string(r.Type), Ref: r.SourceRef, Date: string(r.DecisionDate), Status: string(r.Status)}
	if d, ok := record.Lookup(r.Type); ok {
		ref.TypeLabel = d.Name
		if f, ok := d.Field("result"); ok {
			ref.Result = f.EnumLabel(r.Fields["result"])
		}
	}
	switch r.Type {
	case record.TypeLicence:
		ref.Title, ref.ValidUntil = r.Fields["certificate_name"], r.Fields["valid_until"]
		if ref.Title == "" {
			ref.Title = r.Fields["doc_name"]
		}
	case record.TypeInspection:
		ref.Title = r.Fields["inspector"]
	default:
		ref.Title = r.Fields["title"]
	}
	return ref
}

// OrderView is an order in a backward trace (no buyer data).
type OrderView struct {
	ID         int64       `json:"id"`
	OrderNo    string      `json:"order_no"`
	Platform   *SubjectRef `json:"platform"`
	ShopID     int64       `json:"shop_id"`
	ShopName   string      `json:"shop_name"`
	Seller     *SubjectRef `json:"seller"`
	AmountFen  int64       `json:"amount_fen"`
	Region     string      `json:"region"`
	RegionName string      `json:"region_name,omitempty"`
	Waybill    string      `json:"waybill,omitempty"`
	Status     string      `json:"status"`
	PaidAt     time.Time   `json:"paid_at"`
}

// TracedItem is one order line traced back to its batch and producer.
type TracedItem struct {
	Line     int    `json:"line"`
	GTIN     string `json:"gtin"`
	Batch    string `json:"batch"`
	Name     string `json:"name"`
	Category string `json:"category"`
	Quantity int64  `json:"quantity"`
	// Found: the batch is registered; else Product, BatchInfo, Producer
	// and the records are absent.
	Found               bool         `json:"found"`
	Product             *ProductView `json:"product,omitempty"`
	BatchInfo           *BatchView   `json:"batch_info,omitempty"`
	Producer            *SubjectRef  `json:"producer,omitempty"`
	Inspections         []EventView  `json:"inspections"`
	Recall              *RecallView  `json:"recall,omitempty"`
	ProducerLicences    []RecordRef  `json:"producer_licences"`
	ProducerInspections []RecordRef  `json:"producer_inspections"`
	// SellerLicence is the seller's licence flag for the item's
	// category, when the category needs a licence.
	SellerLicence *LicenceFlag `json:"seller_licence,omitempty"`
	// Sources are the batches the item's batch was made from, however
	// far up (lineage.go), with their producers and inspections.
	Sources []LineageNode `json:"sources"`
}

// BackwardTrace is GET /api/v1/orders/{id}/trace.
type BackwardTrace struct {
	Order OrderView    `json:"order"`
	Items []TracedItem `json:"items"`
	// Lifecycle is every step of the order on record, in time order
	// (lifecycle.go).
	Lifecycle []LifeStep `json:"lifecycle"`
}

// SellerFlags is GET /api/v1/licence-flags: the licensed categories a
// seller trades in and whether it holds a valid licence for each.
type SellerFlags struct {
	Seller *SubjectRef `json:"seller"`
	// Categories are those of the seller's shops and of the items of its
	// latest orders.
	Categories []string      `json:"categories"`
	Flags      []LicenceFlag `json:"flags"`
	Flagged    int           `json:"flagged"`
}
