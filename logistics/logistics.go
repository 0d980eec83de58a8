// Package logistics is the credit of logistics firms and their couriers
// (M4): parcels and their tracking events, reported in bulk by the firms;
// the metrics of a firm and of each courier over a window (on-time
// delivery, loss and damage, complaints, tracking validity, violations);
// and the grade A/B/C/D those metrics earn under a configurable Policy,
// with the differentiated treatment each grade gets.
//
// A parcel belongs to one logistics firm (the registry subject of kind
// logistics the reporting account is bound to); its waybill number is
// unique within the firm. Its courier is a courier subject found by the
// HMAC index of the ID number (never stored in clear) and/or the firm's own
// courier code. Tracking events are checked against the parcel's state:
// events of unknown waybills, times in the future, a signature before the
// pickup, transport after delivery are refused line by line; events that
// leave a step out are stored but make the parcel's tracking incomplete.
//
// This is a domain package: no net/http, no database/sql. Package sqlstore
// implements Store.
package logistics

import (
	"context"
	"time"

	"ecredit/audit"
	"ecredit/registry"
)

// EventType is what happened to a parcel.
type EventType string

const (
	EventPickedUp       EventType = "picked_up"        // 揽收
	EventInTransit      EventType = "in_transit"       // 运输中
	EventOutForDelivery EventType = "out_for_delivery" // 派送中
	EventSigned         EventType = "signed"           // 签收
	EventReturned       EventType = "returned"         // 退回
	EventException      EventType = "exception"        // 异常（丢失、破损、延误…）
	EventComplaint      EventType = "complaint"        // 用户投诉（申诉）
)

// EventTypes lists the event types in the order of a parcel's life.
var EventTypes = []EventType{EventPickedUp, EventInTransit, EventOutForDelivery, EventSigned, EventReturned, EventException, EventComplaint}

// Label is the Chinese name of the event type.
func (t EventType) Label() string {
	switch t {
	case EventPickedUp:
		return "已揽收"
	case EventInTransit:
		return "运输中"
	case EventOutForDelivery:
		return "派送中"
	case EventSigned:
		return "已签收"
	case EventReturned:
		return "已退回"
	case EventException:
		return "异常"
	case EventComplaint:
		return "投诉"
	case StatusCreated:
		return "已下单"
	}
	return string(t)
}

// StatusCreated is the status of a parcel without events yet.
const StatusCreated EventType = "created"

// Who signed for a parcel (the detail of a signed event).
var SignedBy = map[string]string{
	"recipient": "本人签收",
	"locker":    "快递柜/驿站代收",
	"proxy":     "他人代收",
}

// Exception kinds (the detail of an exception event).
var Exceptions = map[string]string{
	"lost":      "丢失",
	"damaged":   "破损",
	"delayed":   "延误",
	"refused":   "拒收",
	"address":   "地址错误",
	"detained":  "海关/安检扣留",
	"other":     "其他异常",
	"mis_sort":  "错分",
	"unreached": "联系不上收件人",
}

// Parcel is one shipment of a logistics firm.
type Parcel struct {
	ID          int64
	FirmID      int64 // the logistics firm (registry subject)
	Waybill     string
	WeightG     int64  // grams
	Origin      string // GB/T 2260
	Dest        string // GB/T 2260
	CourierID   int64  // courier subject (a person); 0 when unknown
	CourierCode string // the firm's own code of the courier
	PromisedAt  time.Time

	// State derived from the events (Fold).
	Status      EventType // the latest step; StatusCreated before any event
	PickedAt    time.Time
	OutAt       time.Time
	SignedAt    time.Time
	SignedBy    string
	ReturnedAt  time.Time
	Lost        bool
	Damaged     bool
	Exceptions  int
	Complaints  int
	Events      int
	Gap         bool // an event came without the step before it (tracking incomplete)
	LastEventAt time.Time
	StartedAt   time.Time // PickedAt, or CreatedAt before the pickup

	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int
}

// Terminal reports whether the parcel's journey has ended.
func (p *Parcel) Terminal() bool { return !p.SignedAt.IsZero() || !p.ReturnedAt.IsZero() || p.Lost }

// Event is one tracking event.
type Event struct {
	ParcelID    int64
	Type        EventType
	At          time.Time
	Region      string // where, GB/T 2260; "" when not given
	Detail      string // signed: SignedBy key; exception: Exceptions key; complaint: the matter
	CourierCode string
	Note        string
	AccountID   int64 // who reported it
	RecordedAt  time.Time
}

// EventKey identifies an event of a parcel: no two stored events of a
// parcel have the same time and type.
type EventKey struct {
	ParcelID int64
	At       int64 // unix microseconds
	Type     EventType
}

// Key returns the event's key.
func (e *Event) Key() EventKey {
	return EventKey{ParcelID: e.ParcelID, At: e.At.UnixMicro(), Type: e.Type}
}

// Counts are the aggregates of a set of parcels as the store computes
// them (see Store.Aggregate).
type Counts struct {
	Parcels   int // parcels started in the window
	Due       int // parcels with a promised time that is past or met (returned ones excluded)
	OnTime    int // of Due: signed no later than promised
	Delivered int // signed
	LostOrDam int // lost or damaged
	Complaint int // complaints (events)
	Valid     int // complete, plausible tracking (see Store.Aggregate)
}

// Add adds o's counts to c's (every count is a sum over parcels).
func (c *Counts) Add(o Counts) {
	c.Parcels += o.Parcels
	c.Due += o.Due
	c.OnTime += o.OnTime
	c.Delivered += o.Delivered
	c.LostOrDam += o.LostOrDam
	c.Complaint += o.Complaint
	c.Valid += o.Valid
}

// CourierCounts are the counts of one courier of a firm.
type CourierCounts struct {
	CourierID   int64
	CourierCode string
	Counts
}

// Window is a span of parcel start times [From, To), and Now, the moment
// "stale" is judged from.
type Window struct {
	From, To time.Time
	// StaleBefore: a parcel whose journey has not ended and whose last
	// event is before this has invalid tracking.
	StaleBefore time.Time
}

// Store persists parcels and events. Package sqlstore implements it.
type Store interface {
	// FindParcels returns the firm's parcels with the given waybills, by
	// waybill; unknown waybills are missing from the map.
	FindParcels(ctx context.Context, firmID int64, waybills []string) (map[string]*Parcel, error)
	// ParcelStates is FindParcels with what judging events needs and
	// AppendEvents writes: ID, FirmID, Waybill, the state (Status, the
	// times, the counts, StartedAt, UpdatedAt), CreatedAt and Version;
	// WeightG, Origin, Dest, the courier and PromisedAt are left zero.
	ParcelStates(ctx context.Context, firmID int64, waybills []string) (map[string]*Parcel, error)
	// SaveParcels inserts the parcels with ID 0 and updates the others
	// (when their stored version is Version; then Version is incremented),
	// with the audit entry, in one transaction: all or none.
	SaveParcels(ctx context.Context, ps []*Parcel, a *audit.Entry) error
	// StoredEvents returns the keys of the stored events of the parcels.
	StoredEvents(ctx context.Context, parcelIDs []int64) (map[EventKey]bool, error)
	// AppendEvents stores the events (each ParcelID set, its parcel among
	// ps; none stored yet, as judged against the parcel's stored events at
	// its Version) and writes the state the events gave the parcels (the
	// columns Apply and derive set, and UpdatedAt) when their stored
	// version is Version (then Version is incremented), with the audit
	// entry, in one transaction. A parcel of another version is
	// errs.Conflict, and nothing is written: the caller judges again (see
	// Service.IngestEvents). An event whose parcel is not among ps, two
	// events of one key, or a parcel whose Events does not count its new
	// ones is errs.Invalid. Since every append moves its parcel's version,
	// judging at a version and storing at it keeps (parcel, time, type)
	// unique.
	AppendEvents(ctx context.Context, evs []*Event, ps []*Parcel, a *audit.Entry) error
	// ParcelEvents returns a parcel's events in time order.
	ParcelEvents(ctx context.Context, parcelID int64) ([]*Event, error)
	// Aggregate counts the firm's parcels started in w: Valid counts those
	// picked up, without a gap, whose journey has ended or whose last
	// event is not before w.StaleBefore.
	Aggregate(ctx context.Context, firmID int64, w Window) (Counts, error)
	// AggregateCouriers is Aggregate in one pass over the parcels, with
	// the same counts per courier (CourierID, CourierCode): couriers with
	// the most parcels first, at most limit.
	AggregateCouriers(ctx context.Context, firmID int64, w Window, limit int) (Counts, []CourierCounts, error)
	// CountPenalties counts the active penalty records of each subject
	// (a firm, or a courier: a person subject, whose records name it by
	// the HMAC index of the ID number) decided on or after the date
	// (YYYY-MM-DD); subjects without any are missing from the map.
	CountPenalties(ctx context.Context, subjectIDs []int64, since string) (map[int64]int, error)
	// PlatformShipped reports whether the platform has an order with the
	// waybill carried by the firm (orders of migration 00005).
	PlatformShipped(ctx context.Context, platformID, firmID int64, waybill string) (bool, error)
}

// Subjects is what the service reads of the registry.
type Subjects interface {
	GetSubject(ctx context.Context, id int64) (*registry.Subject, error)
	FindSubjectByCode(ctx context.Context, creditCode string) (*registry.Subject, error)
	FindSubjectByIDIndex(ctx context.Context, index []byte) (*registry.Subject, error)
}
