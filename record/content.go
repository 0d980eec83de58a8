package record

import (
	"encoding/json"
	"fmt"

	"ecredit/ledger"
)

// LedgerKind is the ledger entry kind of record events.
const LedgerKind = "record"

type eventDoc struct {
	RecordID  int64     `json:"record_id"`
	Seq       int       `json:"seq"`
	Type      EventType `json:"type"`
	At        int64     `json:"at"` // unix microseconds
	ActorID   int64     `json:"actor_id"`
	ActorName string    `json:"actor_name"`
	Reason    string    `json:"reason"`
}

type contentDoc struct {
	Event  eventDoc `json:"event"`
	Record *Record  `json:"record"`
}

// Content returns the canonical JSON (ledger.Canonical) of an event and the
// record's state right after it: what the event's ledger entry commits to.
// A record never holds personal data in clear (only masks and HMAC
// indexes), so neither does its content.
func Content(r *Record, ev *Event) ([]byte, error) {
	c := *r
	if c.Fields == nil {
		c.Fields = map[string]string{}
	}
	if c.Personal == nil {
		c.Personal = map[string]string{}
	}
	return ledger.Canonical(contentDoc{
		Event: eventDoc{RecordID: ev.RecordID, Seq: ev.Seq, Type: ev.Type, At: ev.At.UnixMicro(),
			ActorID: ev.ActorID, ActorName: ev.ActorName, Reason: ev.Reason},
		Record: &c,
	})
}

// ContentWithState rebuilds content from a stored content's event part and
// a (current) record state: ledger verification uses it to check that the
// stored record row still equals the state its last event committed to.
func ContentWithState(stored []byte, r *Record) ([]byte, error) {
	var doc struct {
		Event eventDoc `json:"event"`
	}
	if err := json.Unmarshal(stored, &doc); err != nil {
		return nil, fmt.Errorf("record: stored event content is not valid JSON: %w", err)
	}
	c := *r
	if c.Fields == nil {
		c.Fields = map[string]string{}
	}
	if c.Personal == nil {
		c.Personal = map[string]string{}
	}
	return ledger.Canonical(contentDoc{Event: doc.Event, Record: &c})
}

// StateOf decodes the record state held in stored event content.
func StateOf(stored []byte) (*Record, error) {
	var doc contentDoc
	if err := json.Unmarshal(stored, &doc); err != nil {
		return nil, fmt.Errorf("record: stored event content is not valid JSON: %w", err)
	}
	if doc.Record == nil {
		return nil, fmt.Errorf("record: stored event content has no record")
	}
	return doc.Record, nil
}
