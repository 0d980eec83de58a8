// Package record holds the credit records of M7/M8: every department's and
// platform's information about a subject (licences and penalties in the
// national 双公示 layout, commitments, inspections, honours, judgement
// debtors, payment-fraud reports, tax grades and an open type), the rules
// for their publicity, and their life cycle as an append-only list of
// events: create, correct, withdraw (Art. 48 deadline), objection (异议)
// and credit repair (信用修复).
//
// Every event carries the full state of the record after it, and the
// store appends a ledger entry committing to that state in the same
// transaction, so any later direct edit of the data is caught by
// `ecredit ledger verify`.
//
// Personal data (ID numbers of persons and of legal representatives) is
// never kept in clear: a record holds its mask for display and its keyed
// HMAC index (pii.Keys.Index, hex) for matching, nothing else.
package record

import (
	"context"
	"time"

	"ecredit/audit"
)

// Status of a record.
type Status string

const (
	StatusActive    Status = "active"    // 有效
	StatusWithdrawn Status = "withdrawn" // 已撤回（撤销、变更、确认违法或无效）
	StatusRepaired  Status = "repaired"  // 已信用修复
)

// Label is the Chinese name of the status.
func (s Status) Label() string {
	switch s {
	case StatusActive:
		return "有效"
	case StatusWithdrawn:
		return "已撤回"
	case StatusRepaired:
		return "已修复"
	}
	return string(s)
}

// Severity of a penalty (失信严重程度), which sets its publicity period.
type Severity string

const (
	SeverityLight   Severity = "light"   // 轻微
	SeverityGeneral Severity = "general" // 一般
	SeveritySevere  Severity = "severe"  // 严重
)

// Label is the Chinese name of the severity.
func (s Severity) Label() string {
	switch s {
	case SeverityLight:
		return "轻微"
	case SeverityGeneral:
		return "一般"
	case SeveritySevere:
		return "严重"
	}
	return string(s)
}

// Record is one credit record in its current state.
type Record struct {
	ID        int64 `json:"id"`
	Type      Type  `json:"type"`
	SubjectID int64 `json:"subject_id"`
	// SubjectCode is the unified social credit code; "" for a natural
	// person, who is referenced by SubjectIDIndex (hex HMAC of the ID
	// number) and shown by SubjectIDMasked.
	SubjectCode     string `json:"subject_code"`
	SubjectIDIndex  string `json:"subject_id_index"`
	SubjectIDMasked string `json:"subject_id_masked"`
	SubjectName     string `json:"subject_name"`

	// Source is who submitted the record: the account's name and id, and
	// SourceKey, the key idempotency is scoped to ("account:12", or
	// "name:<source name>" for file imports run without an account).
	Source        string `json:"source"`
	SourceAccount int64  `json:"source_account"`
	SourceKey     string `json:"source_key"`
	// SourceRef is the source's own id of the record: the 文书号 for
	// licences and penalties.
	SourceRef string `json:"source_ref"`

	// Fields are the normalised values per the type's schema. Personal ID
	// fields hold the mask; their HMAC index is in Personal.
	Fields   map[string]string `json:"fields"`
	Personal map[string]string `json:"personal"` // field key → hex HMAC index

	DecisionDate Date     `json:"decision_date"`
	Severity     Severity `json:"severity"`    // penalties
	PublicFrom   Date     `json:"public_from"` // "" with PublicUntil "" and Public false: never public
	PublicUntil  Date     `json:"public_until"`
	Public       bool     `json:"public"` // the type and policy disclose it at all

	Status   Status `json:"status"`
	Disputed bool   `json:"disputed"`

	Withdrawal Withdrawal `json:"withdrawal"`
	Objection  Objection  `json:"objection"`
	Repair     Repair     `json:"repair"`

	Version   int       `json:"version"` // number of events
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Withdrawal tracks Art. 48 of the Administrative Penalty Law: a published
// decision that is changed, revoked or confirmed illegal or void is
// withdrawn within 3 working days of that decision, with the reason.
type Withdrawal struct {
	Reason    string `json:"reason"`
	RevokedOn Date   `json:"revoked_on"` // the revocation / change decision
	Due       Date   `json:"due"`        // RevokedOn + 3 working days
	Done      Date   `json:"done"`       // the date it was withdrawn
	Overdue   bool   `json:"overdue"`    // Done after Due
}

// Objection states.
const (
	ObjectionFiled    = "filed"    // 已受理，待答复
	ObjectionUpheld   = "upheld"   // 异议成立
	ObjectionRejected = "rejected" // 异议不成立
)

// Objection is the latest 异议 against the record.
type Objection struct {
	Status     string    `json:"status"` // "", filed, upheld, rejected
	Count      int       `json:"count"`  // objections filed so far
	Reason     string    `json:"reason"`
	FiledAt    time.Time `json:"filed_at"`
	Due        Date      `json:"due"` // answer due
	Answer     string    `json:"answer"`
	AnsweredAt time.Time `json:"answered_at"`
	Overdue    bool      `json:"overdue"` // answered after Due
}

// Repair states.
const (
	RepairApplied   = "applied"   // 已申请
	RepairReviewing = "reviewing" // 审核中
	RepairApproved  = "approved"  // 准予修复
	RepairRejected  = "rejected"  // 不予修复
)

// Repair is the latest 信用修复 application for the record.
type Repair struct {
	Status    string    `json:"status"` // "", applied, reviewing, approved, rejected
	Reason    string    `json:"reason"` // the application: corrections made, commitment
	AppliedAt time.Time `json:"applied_at"`
	Note      string    `json:"note"` // review note / decision reason
	DecidedAt time.Time `json:"decided_at"`
}

// EventType is what happened to a record. They are also the ledger ops.
type EventType string

const (
	EventCreate          EventType = "create"
	EventCorrect         EventType = "correct"
	EventWithdraw        EventType = "withdraw"
	EventObjection       EventType = "objection"
	EventObjectionAnswer EventType = "objection_answer"
	EventRepairApply     EventType = "repair_apply"
	EventRepairReview    EventType = "repair_review"
	EventRepairDecide    EventType = "repair_decide"
)

// Label is the Chinese name of the event type.
func (e EventType) Label() string {
	switch e {
	case EventCreate:
		return "新增"
	case EventCorrect:
		return "更正"
	case EventWithdraw:
		return "撤回"
	case EventObjection:
		return "提出异议"
	case EventObjectionAnswer:
		return "异议答复"
	case EventRepairApply:
		return "申请信用修复"
	case EventRepairReview:
		return "修复审核"
	case EventRepairDecide:
		return "修复决定"
	}
	return string(e)
}

// Event is one change to a record. Events are never changed or deleted.
type Event struct {
	ID        int64     `json:"id"` // also the change-feed cursor
	RecordID  int64     `json:"record_id"`
	Seq       int       `json:"seq"` // 1 for create; the record's Version after the event
	Type      EventType `json:"type"`
	At        time.Time `json:"at"`
	ActorID   int64     `json:"actor_id"`
	ActorName string    `json:"actor_name"`
	Reason    string    `json:"reason"`
	// LedgerIndex is the ledger entry appended with the event.
	LedgerIndex int64 `json:"ledger_index"`
	// State is the record after the event (set on writes); Content is
	// the canonical form of the event and that state (see Content), set
	// by the store, stored verbatim and hashed into the ledger entry.
	State   *Record `json:"-"`
	Content []byte  `json:"-"`
}

// Filter selects records.
type Filter struct {
	SubjectID int64
	Type      Type
	Status    Status
	After     int64 // id cursor
	Limit     int
}

// Store persists records. Each write stores the record, its event (with
// ev.Content verbatim) and a ledger entry of kind "record", op ev.Type,
// object id the record id and content hash ContentHash(ev.Content), and
// the audit entry, all in one transaction. Errors: errs.NotFound,
// errs.Conflict (an existing (type, source key, source ref), or a stale
// version).
type Store interface {
	// CreateRecord inserts r with its first event. It sets r.ID,
	// ev.ID, ev.RecordID and ev.LedgerIndex, and ev.Content to
	// Content(r, ev) once the id is known.
	CreateRecord(ctx context.Context, r *Record, ev *Event, a *audit.Entry) error
	// CreateRecords is CreateRecord for several new records in one
	// transaction (all or nothing); a[i] may be nil.
	CreateRecords(ctx context.Context, rs []*Record, evs []*Event, a []*audit.Entry) error
	// UpdateRecord writes r if the stored version is r.Version-1 and
	// appends ev (whose Seq is r.Version), setting ev.ID, ev.LedgerIndex
	// and ev.Content = Content(r, ev).
	UpdateRecord(ctx context.Context, r *Record, ev *Event, a *audit.Entry) error
	GetRecord(ctx context.Context, id int64) (*Record, error)
	FindRecordByRef(ctx context.Context, typ Type, sourceKey, ref string) (*Record, error)
	// FindRecordsByRefs returns the records of the given refs that exist,
	// by ref (at most 1000 refs).
	FindRecordsByRefs(ctx context.Context, typ Type, sourceKey string, refs []string) (map[string]*Record, error)
	ListRecords(ctx context.Context, f Filter) ([]*Record, error)
	ListEvents(ctx context.Context, recordID int64) ([]*Event, error)
	// EventsAfter returns up to limit events with id > after, ascending:
	// the change feed.
	EventsAfter(ctx context.Context, after int64, limit int) ([]*Event, error)
}
