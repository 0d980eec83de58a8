package trace

// EPCIS 2.0 documents in and out (GS1 EPCIS 2.0 and CBV 2.0, published as
// ISO/IEC 19987:2024 and 19988:2024): the exchange format of trace events
// between traceability systems, in its JSON / JSON-LD binding (and, out,
// its XML binding: epcis_xml_write.go).
//
// In: CaptureEPCIS takes an EPCISDocument, an EPCISQueryDocument (another
// repository's query result) or a single ObjectEvent or
// TransformationEvent. Each ObjectEvent becomes one trace event per batch
// it names (what: an LGTIN class or a GS1 Digital Link with AI 10; why:
// bizStep and disposition in any of the three CBV spellings; when:
// eventTime), and goes through IngestEvents with its rules, access checks
// and idempotency (the eventID is the event id). What EPCIS cannot say in
// ecredit's terms (the credit code of the subject where it happened, the
// GB/T 2260 region, the shop, the event type when the business step does
// not tell it) travels in extension fields of the namespace
// EPCISNamespace ("ecredit:region" …).
//
// A TransformationEvent (EPCIS 2.0 §7.4.6) is a batch lineage (lineage.go):
// each output batch (outputQuantityList, outputEPCList; registered
// already) is recorded as made from every input batch (inputQuantityList
// with quantity and uom, inputEPCList) with AddInputs' rules and access
// checks, and gets a "produced" trace event as an ObjectEvent with action
// ADD and bizStep commissioning would give it (same eventID identity,
// idempotency, eventTime and extension fields; the event's bizStep and
// disposition when given; ecredit:eventType may only be produced). Each
// output is one result line, handled on its own (captureTransform): its
// produced event is checked first (its fields, and its event id against
// the events stored and those earlier in the document: an id used for
// another event is a Conflict, as IngestEvents would say), then its
// inputs, and then the new inputs and the event are written in one
// transaction, so that an output refused at either check, or a write
// that fails, stores nothing of it. Input instances (Digital Links with
// AI 10 and a serial) of one lot are one input counting them; an input SGTIN is
// refused, as the event's ilmd describes its outputs, not its inputs.
// Other event types, error declarations and DELETE actions are refused
// per event with the reason; other vendors' extensions are ignored.
//
// Out: ExportEPCIS writes a batch's events, oldest first, a page at a
// time, as an EPCISDocument: quantityList with the batch's Digital Link,
// CBV bizStep and disposition, the order, waybill and production
// references as bizTransactions, and every ecredit field as an extension,
// so that a document exported here is captured unchanged elsewhere. A
// batch with inputs gives them in a TransformationEvent naming every
// input by its Digital Link with the quantity and uom when reported, and
// the batch as its output: its produced event on the first page goes out
// as that TransformationEvent (the same eventID, time and fields), so a
// capture elsewhere records the same inputs and the one produced event.
// A batch whose first page has no produced event starts that page with a
// TransformationEvent of its own (eventID urn:ecredit:batch-inputs:{batch
// id}, eventTime the production date at 00:00 +08:00, no event being
// earlier), which a capture elsewhere takes as the batch's produced
// event. The public gets the public events with the public masking
// (eventView), and the inputs as the public lineage shows them.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/clock"
	"ecredit/code"
	"ecredit/errs"
	"ecredit/record"
	"ecredit/registry"
)

// EPCISContext is the JSON-LD context of EPCIS 2.0 documents.
const EPCISContext = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"

// EPCISNamespace is the IRI of ecredit's EPCIS extension fields. Exports
// bind it to the prefix "ecredit"; a captured document may bind it to any
// prefix in its @context, and "ecredit:" is understood without a binding.
const EPCISNamespace = "urn:ecredit:epcis:"

// MaxEPCISDocument is the largest EPCIS document captured (bytes): EPCIS
// events are verbose (0.5–2 KiB each), and a document holds up to
// MaxBatch of them.
const MaxEPCISDocument = 4 << 20

// epcisPrefix is the prefix exports use for EPCISNamespace.
const epcisPrefix = "ecredit"

// digitalLinkBase is the GS1 resolver exports name batches under.
const digitalLinkBase = "https://id.gs1.org"

// EPCISLine is the fate of one trace event of a captured document. An
// ObjectEvent that names several batches gives one line per batch, a
// TransformationEvent one per output batch, all with the event's
// position. An output is created when its produced event or any of its
// inputs was stored now, unchanged when both were on record already.
type EPCISLine struct {
	Line    int    // the event's position in the eventList, from 1
	EventID string // the stored event id: the eventID, with "#GTIN/batch" when split
	Status  string // created | unchanged | error
	ID      int64
	Err     error
}

// epcisIn is a document or a single event as captured.
type epcisIn struct {
	Context       json.RawMessage `json:"@context"`
	Type          string          `json:"type"`
	IsA           string          `json:"isA"` // drafts of EPCIS 2.0 named "type" so
	SchemaVersion json.RawMessage `json:"schemaVersion"`
	Body          *struct {
		EventList    *[]json.RawMessage `json:"eventList"`
		QueryResults *struct {
			ResultsBody *struct {
				EventList *[]json.RawMessage `json:"eventList"`
			} `json:"resultsBody"`
		} `json:"queryResults"`
	} `json:"epcisBody"`
}

// CaptureEPCIS validates an EPCIS 2.0 document and stores its events like
// IngestEvents (at most MaxBatch after splitting; good events stored even
// when others are bad). A body that is not an EPCIS 2.0 document, holds no
// event or too many is refused whole, naming what is wrong.
func (s *Service) CaptureEPCIS(ctx context.Context, doc []byte) ([]EPCISLine, error) {
	return s.captureEPCIS(ctx, doc, MaxBatch)
}

// CaptureEPCISFile is CaptureEPCIS for a file of any number of events
// (the command line's import): they are stored MaxBatch at a time, each
// batch in its own transaction.
func (s *Service) CaptureEPCISFile(ctx context.Context, doc []byte) ([]EPCISLine, error) {
	return s.captureEPCIS(ctx, doc, 0)
}

// captureEPCIS captures a document of at most maxEvents events (after
// splitting by batch) in one call of IngestEvents, or, with maxEvents 0,
// of any number in calls of up to MaxBatch. The inputs of the outputs of
// TransformationEvents are recorded just before each call, so that a
// document refused whole records none.
func (s *Service) captureEPCIS(ctx context.Context, doc []byte, maxEvents int) ([]EPCISLine, error) {
	const op = "trace.CaptureEPCIS"
	a := account.From(ctx)
	if anonymous(a) {
		return nil, errs.Wrap(op, errAuth)
	}
	raw, prefixes, err := epcisEvents(doc, maxEvents)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	var out []EPCISLine
	var ins []EventInput
	var at []int                  // index in out of each input
	var tfs []*epcisTransform     // the TransformationEvent of each input; nil for an ObjectEvent's
	var names []map[string]string // the EPCIS names of each input's fields where not epcisFieldNames'
	flush := func() error {
		if len(ins) == 0 {
			return nil
		}
		c := &batchCache{batches: map[string]*Batch{}, subjects: map[string]*registry.Subject{}, shops: map[int64]*registry.Shop{}}
		now := s.now()
		var send []EventInput
		var sendAt []int
		var sendNames []map[string]string
		produced, refused, err := s.checkOutputs(ctx, a, now, c, ins, tfs)
		if err != nil {
			return errs.Wrap(op, err)
		}
		for k, in := range ins {
			l := &out[at[k]]
			if refused[k] != nil {
				l.Status, l.Err = ResultError, epcisErr(errs.Wrap(op, refused[k]), names[k])
				continue
			}
			if tfs[k] != nil {
				status, id, err := s.captureTransform(ctx, a, now, produced[k], tfs[k])
				if err != nil {
					if code := errs.CodeOf(err); code == errs.Internal || code == errs.Unavailable {
						return errs.Wrap(op, err)
					}
					l.Status, l.Err = ResultError, epcisErr(errs.Wrap(op, err), names[k])
					continue
				}
				l.Status, l.ID = status, id
				continue
			}
			send, sendAt, sendNames = append(send, in), append(sendAt, at[k]), append(sendNames, names[k])
		}
		if len(send) > 0 {
			res, err := s.IngestEvents(ctx, send)
			if err != nil {
				return errs.Wrap(op, err)
			}
			for k, r := range res {
				l := &out[sendAt[k]]
				l.Status, l.ID, l.Err = r.Status, r.ID, epcisErr(r.Err, sendNames[k])
			}
		}
		ins, at, tfs, names = ins[:0], at[:0], tfs[:0], names[:0]
		return nil
	}
	for i, r := range raw {
		evs, tf, err := fromEPCIS(r, prefixes)
		if err != nil {
			out = append(out, EPCISLine{Line: i + 1, EventID: rawEventID(r), Status: ResultError, Err: errs.Wrap(op, err)})
			continue
		}
		if maxEvents == 0 && len(ins)+len(evs) > MaxBatch {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		for j, in := range evs {
			var rn map[string]string
			if tf != nil {
				rn = tf.outputNames(j)
			}
			out = append(out, EPCISLine{Line: i + 1, EventID: in.EventID})
			ins, at, tfs, names = append(ins, in), append(at, len(out)-1), append(tfs, tf), append(names, rn)
		}
	}
	if maxEvents > 0 && len(ins) > maxEvents {
		return nil, &errs.Error{Code: errs.TooLarge, Op: op, Field: "epcisBody.eventList",
			Message: fmt.Sprintf("文档按批次拆分后共 %d 条事件，一次最多 %d 条，未保存任何事件 (at most %d events per document after splitting by batch; nothing stored)", len(ins), maxEvents, maxEvents)}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// checkOutputs checks the produced events of the TransformationEvents'
// outputs (tfs[k] not nil) as IngestEvents checks an event, and their
// event ids against the events the source stored and those earlier among
// ins (the first of an id is the one kept): an id used for another event
// is a Conflict. It returns each output's event, or why it is refused, by
// index in ins, so that a refused output records none of its inputs.
// Other events are checked here only when an output shares their id;
// IngestEvents checks them when it stores them.
func (s *Service) checkOutputs(ctx context.Context, a account.Actor, now time.Time, c *batchCache, ins []EventInput, tfs []*epcisTransform) (map[int]*Event, map[int]error, error) {
	ids := map[string]bool{}
	for k, in := range ins {
		if tfs[k] != nil {
			ids[strings.TrimSpace(in.EventID)] = true
		}
	}
	if len(ids) == 0 {
		return nil, nil, nil
	}
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	slices.Sort(list)
	first, err := s.Store.FindEvents(ctx, SourceKey(a), list)
	if err != nil {
		return nil, nil, err
	}
	produced, refused := map[int]*Event{}, map[int]error{}
	for k, in := range ins {
		if !ids[strings.TrimSpace(in.EventID)] {
			continue
		}
		ev, err := s.checkEvent(ctx, a, in, now, c)
		if err != nil {
			if code := errs.CodeOf(err); code == errs.Internal || code == errs.Unavailable {
				return nil, nil, err
			}
			if tfs[k] != nil {
				refused[k] = err
			}
			continue
		}
		if f, ok := first[ev.EventID]; ok && !sameEvent(f, ev) {
			if tfs[k] != nil {
				refused[k] = eventIDUsed(ev.EventID)
			}
			continue
		} else if !ok {
			first[ev.EventID] = ev
		}
		if tfs[k] != nil {
			produced[k] = ev
		}
	}
	return produced, refused, nil
}

// eventIDUsed is the Conflict of an output whose event id the source used
// for another event.
func eventIDUsed(id string) error {
	return &errs.Error{Code: errs.Conflict, Field: "event_id",
		Message: fmt.Sprintf("事件编号「%s」已用于内容不同的事件，原料未登记 (event id already used for another event; no input recorded)", id)}
}

// captureTransform stores the output of TransformationEvent tf whose
// produced event ev checkOutputs passed: the caller must be allowed to
// manage its batch, and the inputs are checked as AddInputs checks them
// (against the lineage's generation); then the inputs not recorded yet
// and the event, unless stored already, are written in one transaction,
// so that a refused or failed write leaves neither. A write that finds
// the lineage moved, or the event id stored meanwhile, checks again. It
// returns the line's status (created when anything was new) and the
// event's id; errors name the inputs' EPCIS fields (the caller names the
// rest).
func (s *Service) captureTransform(ctx context.Context, a account.Actor, now time.Time, ev *Event, tf *epcisTransform) (string, int64, error) {
	ev.SourceKey, ev.ActorID, ev.ActorName, ev.RecordedAt = SourceKey(a), a.AccountID, a.Name, now
	b, _, _, err := s.batchAndProduct(ctx, s.lookups(), ev.GTIN, ev.Batch)
	if err == nil {
		err = mayManage(a, b.ProducerID)
	}
	if err != nil {
		return "", 0, err
	}
	var status string
	var id int64
	err = s.guarded(ctx, func(gen int64) error {
		news, _, err := s.checkInputs(ctx, a, b, tf.inputs, now)
		if err != nil {
			return renameFields(err, tf.inputName)
		}
		stored, err := s.Store.FindEvents(ctx, ev.SourceKey, []string{ev.EventID})
		if err != nil {
			return err
		}
		var evs []*Event
		if ex, ok := stored[ev.EventID]; !ok {
			evs = []*Event{ev}
		} else if !sameEvent(ex, ev) {
			return eventIDUsed(ev.EventID)
		} else {
			id = ex.ID
		}
		if len(news) == 0 && len(evs) == 0 {
			status = ResultUnchanged
			return nil
		}
		err = s.Store.CreateEventsWithInputs(ctx, evs, news, gen,
			a.Audit(audit.ActCreate, "trace_batch_inputs", b.GTIN+"/"+b.Batch), a.Audit(audit.ActCreate, "trace_events", "1 event"))
		if err != nil {
			if len(evs) > 0 && errs.Is(err, errs.Conflict) && !errors.Is(err, errLineageMoved) {
				return LineageMoved() // the event id stored meanwhile: check again
			}
			return err
		}
		if len(evs) > 0 {
			id = ev.ID
		}
		status = ResultCreated
		return nil
	})
	if err != nil {
		return "", 0, err
	}
	return status, id, nil
}

// epcisEvents returns the raw events of a document (at most maxEvents,
// unless it is 0) and the prefixes bound to EPCISNamespace.
func epcisEvents(doc []byte, maxEvents int) ([]json.RawMessage, []string, error) {
	doc = bytes.TrimSpace(bytes.TrimPrefix(doc, []byte("\xef\xbb\xbf")))
	if len(doc) > 0 && doc[0] == '<' {
		evs, err := epcisXMLEvents(doc, maxEvents)
		return evs, []string{epcisPrefix}, err
	}
	if len(doc) == 0 || doc[0] != '{' {
		return nil, nil, errs.Field("body", "请求体应为 EPCIS 文档：2.0 的 JSON / JSON-LD，或 1.x、2.0 的 XML (body must be an EPCIS document)")
	}
	var d epcisIn
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, nil, errs.Field("body", "EPCIS 文档不是有效的 JSON：%s (invalid JSON)", clip(err.Error(), 120))
	}
	typ := d.Type
	if typ == "" {
		typ = d.IsA
	}
	if len(d.SchemaVersion) > 0 {
		var v any
		_ = json.Unmarshal(d.SchemaVersion, &v)
		if sv := fmt.Sprint(v); sv != "2.0" && sv != "2" {
			return nil, nil, errs.Field("schemaVersion", "仅支持 EPCIS 2.0，收到 schemaVersion「%s」(only EPCIS 2.0 is supported)", clip(sv, 20))
		}
	}
	prefixes := contextPrefixes(d.Context)
	var list *[]json.RawMessage
	switch typ {
	case "ObjectEvent", "TransformationEvent":
		return []json.RawMessage{doc}, prefixes, nil
	case "EPCISDocument":
		if d.Body != nil {
			list = d.Body.EventList
		}
	case "EPCISQueryDocument":
		if d.Body != nil && d.Body.QueryResults != nil && d.Body.QueryResults.ResultsBody != nil {
			list = d.Body.QueryResults.ResultsBody.EventList
		}
	case "":
		return nil, nil, errs.Field("type", "缺少 type：应为 EPCISDocument (document type required)")
	default:
		return nil, nil, errs.Field("type", "不支持的文档类型「%s」，应为 EPCISDocument、EPCISQueryDocument，或单个 ObjectEvent、TransformationEvent (unsupported document type)", clip(typ, 40))
	}
	if list == nil {
		return nil, nil, errs.Field("epcisBody.eventList", "文档缺少 epcisBody.eventList (event list required)")
	}
	if len(*list) == 0 {
		return nil, nil, errs.Field("epcisBody.eventList", "文档不含任何事件 (no events)")
	}
	if maxEvents > 0 && len(*list) > maxEvents {
		return nil, nil, &errs.Error{Code: errs.TooLarge, Field: "epcisBody.eventList",
			Message: fmt.Sprintf("文档含 %d 个事件，一次最多 %d 个，未保存任何事件；更大的文件请用命令行 ecredit import --type epcis 导入 (at most %d events per document; nothing stored)", len(*list), maxEvents, maxEvents)}
	}
	return *list, prefixes, nil
}

// contextPrefixes returns the terms of a JSON-LD @context (a string, an
// object or an array of both) bound to EPCISNamespace, and "ecredit".
func contextPrefixes(ctx json.RawMessage) []string {
	out := []string{epcisPrefix}
	var items []json.RawMessage
	if err := json.Unmarshal(ctx, &items); err != nil {
		items = []json.RawMessage{ctx}
	}
	for _, it := range items {
		var m map[string]any
		if json.Unmarshal(it, &m) != nil {
			continue
		}
		for k, v := range m {
			if iri, ok := v.(string); ok && iri == EPCISNamespace && !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// rawEventID is the eventID of an event that could not be read, if any.
func rawEventID(r json.RawMessage) string {
	var x struct {
		EventID any `json:"eventID"`
	}
	_ = json.Unmarshal(r, &x)
	if s, ok := x.EventID.(string); ok {
		return clip(s, MaxEventID)
	}
	return ""
}

// epcisEvent is the part of an ObjectEvent or a TransformationEvent
// ecredit reads; the rest of the standard fields (sourceList, destinationList, sensorElementList, persistentDisposition,
// transformationID …) and other vendors' extensions are accepted and not
// kept.
type epcisEvent struct {
	Type                string          `json:"type"`
	IsA                 string          `json:"isA"`
	EventID             string          `json:"eventID"`
	EventTime           string          `json:"eventTime"`
	EventTimeZoneOffset string          `json:"eventTimeZoneOffset"`
	Action              string          `json:"action"`
	BizStep             string          `json:"bizStep"`
	Disposition         string          `json:"disposition"`
	ReadPoint           *EPCISLocation  `json:"readPoint"`
	BizLocation         *EPCISLocation  `json:"bizLocation"`
	EPCList             []string        `json:"epcList"`
	QuantityList        []epcisQuantity `json:"quantityList"`
	// A TransformationEvent's inputs and outputs.
	InputEPCList       []string        `json:"inputEPCList"`
	InputQuantityList  []epcisQuantity `json:"inputQuantityList"`
	OutputEPCList      []string        `json:"outputEPCList"`
	OutputQuantityList []epcisQuantity `json:"outputQuantityList"`
	BizTransactionList []struct {
		Type           string `json:"type"`
		BizTransaction string `json:"bizTransaction"`
	} `json:"bizTransactionList"`
	CertificationInfo json.RawMessage `json:"certificationInfo"`
	ErrorDeclaration  json.RawMessage `json:"errorDeclaration"`
	ILMD              map[string]any  `json:"ilmd"`
}

// epcisQuantity is a quantity element as captured.
type epcisQuantity struct {
	EPCClass string   `json:"epcClass"`
	Quantity *float64 `json:"quantity"`
	UOM      string   `json:"uom"`
}

// epcisTransform is what a TransformationEvent says beyond the produced
// events of its outputs: the inputs, and the EPCIS fields that name them
// and the outputs, for errors.
type epcisTransform struct {
	inputs []InputRef
	// inFields is the field naming each input: "inputQuantityList[2]"
	// (an element: its epcClass, quantity and uom) or "inputEPCList[0]"
	// (the first instance of the lot).
	inFields []string
	// outFields is the field naming each output (its produced event):
	// "outputQuantityList[0].epcClass" or "outputEPCList[1]".
	outFields []string
}

// outputNames are the EPCIS names of the fields of output j's produced
// event that differ from an ObjectEvent's (epcisFieldNames).
func (t *epcisTransform) outputNames(j int) map[string]string {
	return map[string]string{"gtin": t.outFields[j], "batch": t.outFields[j], "quantity": "outputQuantityList"}
}

// inputName is the EPCIS name of a field of AddInputs' request
// ("inputs[1].uom" → "inputQuantityList[1].uom").
func (t *epcisTransform) inputName(f string) string {
	if f == "inputs" {
		return "inputQuantityList"
	}
	rest, ok := strings.CutPrefix(f, "inputs[")
	if !ok {
		return f
	}
	n, sub, ok := strings.Cut(rest, "]")
	i, err := strconv.Atoi(n)
	if !ok || err != nil || i < 0 || i >= len(t.inFields) {
		return f
	}
	base := t.inFields[i]
	if !strings.HasPrefix(base, "inputQuantityList[") {
		return base // an instance names the lot, its count and its unit at once
	}
	switch sub {
	case ".gtin", ".batch":
		return base + ".epcClass"
	case ".quantity", ".uom":
		return base + sub
	}
	return base
}

// contentID is the id of an event without eventID: the SHA-256 of its
// JSON form with keys sorted (the same event, however spaced or ordered,
// has the same id).
func contentID(raw json.RawMessage) string {
	var v any
	_ = json.Unmarshal(raw, &v)
	b, _ := json.Marshal(v)
	h := sha256.Sum256(b)
	return "urn:ecredit:epcis-hash:" + hex.EncodeToString(h[:])
}

// extFields are ecredit's extension fields of an ObjectEvent (after the
// prefix) with the JSON type each takes.
var extFields = map[string]string{
	"eventType": "string", "region": "string", "subjectCode": "string", "shopId": "number", "refType": "string",
	"ref": "string", "note": "string",
	// Written by exports and ignored when captured: the stored event's
	// submitter, its own id and the subject's name.
	"submittedBy": "string", "sourceEventID": "string", "subjectName": "string",
}

// stepTypes are the event types business steps imply (the inverse of
// defaultStep); other steps need ecredit:eventType.
var stepTypes = func() map[string]EventType {
	m := map[string]EventType{}
	for t, s := range defaultStep {
		if t != EventRecalled {
			m[s] = t
		}
	}
	return m
}()

// cbvTerm reduces a CBV value in any of its spellings — the bare word
// ("shipping"), the URN ("urn:epcglobal:cbv:bizstep:shipping") or the Web
// URI ("https://ref.gs1.org/cbv/BizStep-shipping") — and ecredit's own
// terms ("urn:ecredit:epcis:bizstep:reviewing") to the word.
func cbvTerm(v, urn, web string) string {
	v = strings.TrimSpace(v)
	for _, p := range []string{"urn:epcglobal:cbv:" + urn + ":", "https://ref.gs1.org/cbv/" + web + "-", "http://ref.gs1.org/cbv/" + web + "-",
		"https://gs1.org/voc/" + web + "-", EPCISNamespace + urn + ":"} {
		if strings.HasPrefix(v, p) {
			return v[len(p):]
		}
	}
	return v
}

// tzOffset is an eventTimeZoneOffset: ±hh:mm.
var tzOffset = regexp.MustCompile(`^[+-](0\d|1[0-4]):[0-5]\d$`)

// lot is one batch an event names, with the units of it.
type lot struct {
	gtin, batch string
	quantity    float64
	units       bool // the quantity counts units (no uom, or EA, H87, C62)
	uoms        []string
	field       string // the EPCIS field that first names it
}

// fromEPCIS converts one ObjectEvent into trace event inputs, one per
// batch it names, or one TransformationEvent into the produced events of
// its outputs, one per output batch, and its inputs (tf); the checks of
// IngestEvents and AddInputs follow.
func fromEPCIS(raw json.RawMessage, prefixes []string) ([]EventInput, *epcisTransform, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, nil, errs.Field("event", "事件不是 JSON 对象 (event must be a JSON object)")
	}
	// The fields ecredit reads, each decoded from its own raw value (one
	// pass over the event, not two).
	var e epcisEvent
	for _, f := range []struct {
		name string
		dst  any
	}{{"type", &e.Type}, {"isA", &e.IsA}, {"eventID", &e.EventID}, {"eventTime", &e.EventTime},
		{"eventTimeZoneOffset", &e.EventTimeZoneOffset}, {"action", &e.Action}, {"bizStep", &e.BizStep}, {"disposition", &e.Disposition},
		{"readPoint", &e.ReadPoint}, {"bizLocation", &e.BizLocation},
		{"epcList", &e.EPCList}, {"quantityList", &e.QuantityList}, {"inputEPCList", &e.InputEPCList}, {"inputQuantityList", &e.InputQuantityList},
		{"outputEPCList", &e.OutputEPCList}, {"outputQuantityList", &e.OutputQuantityList}, {"bizTransactionList", &e.BizTransactionList},
		{"certificationInfo", &e.CertificationInfo}, {"errorDeclaration", &e.ErrorDeclaration}, {"ilmd", &e.ILMD}} {
		name, dst := f.name, f.dst
		v, ok := fields[name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(v, dst); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				f := name
				if te.Field != "" {
					f += "." + te.Field
				}
				return nil, nil, errs.Field(f, "字段 %s 的类型不对，应为%s (wrong type)", f, jsonKind(te.Type.String()))
			}
			return nil, nil, errs.Field(name, "字段 %s 无法读取 (unreadable)", name)
		}
	}
	typ := e.Type
	if typ == "" {
		typ = e.IsA
	}
	transform := typ == "TransformationEvent"
	switch typ {
	case "ObjectEvent", "TransformationEvent":
	case "":
		return nil, nil, errs.Field("type", "缺少事件类型 type (event type required)")
	default:
		return nil, nil, errs.Field("type", "仅支持 ObjectEvent 和 TransformationEvent，收到「%s」；聚合、交易与关联事件请拆为各批次的 ObjectEvent (only ObjectEvent and TransformationEvent are supported)", clip(typ, 40))
	}
	if len(e.ErrorDeclaration) > 0 && string(e.ErrorDeclaration) != "null" {
		return nil, nil, errs.Field("errorDeclaration", "追溯事件一经记录不可更正或撤销，请提交说明情况的新事件 (error declarations are not accepted: events are never changed)")
	}
	var l errs.List
	if strings.TrimSpace(e.EventID) == "" {
		// No eventID (optional in EPCIS, often absent in 1.x): the event
		// is known by a hash of its content, so that sending it again
		// stores nothing twice.
		e.EventID = contentID(raw)
	}
	if !transform { // a TransformationEvent has no action: it only adds
		switch e.Action {
		case "ADD", "OBSERVE":
		case "DELETE":
			l.Add("action", "不支持 DELETE：追溯事件只增不删 (DELETE is not supported)")
		case "":
			l.Add("action", "必须填写 action：ADD 或 OBSERVE (action required)")
		default:
			l.Add("action", "action「%s」无效，应为 ADD 或 OBSERVE (invalid action)", clip(e.Action, 20))
		}
	}
	if e.EventTimeZoneOffset == "" {
		l.Add("eventTimeZoneOffset", "必须填写 eventTimeZoneOffset，如 +08:00 (required)")
	} else if !tzOffset.MatchString(e.EventTimeZoneOffset) {
		l.Add("eventTimeZoneOffset", "eventTimeZoneOffset「%s」应为 ±hh:mm，如 +08:00 (invalid offset)", clip(e.EventTimeZoneOffset, 20))
	}

	ext := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(fields)) { // errors in a stable order
		v := fields[k]
		name, ok := extName(k, prefixes)
		if !ok {
			continue
		}
		want, known := extFields[name]
		if !known {
			l.Add(k, "未知的扩展字段「%s」(unknown ecredit extension field)", clip(k, 40))
			continue
		}
		var x any
		_ = json.Unmarshal(v, &x)
		switch x.(type) {
		case string:
			if want != "string" {
				l.Add(k, "%s 应为数字 (must be a number)", k)
				continue
			}
		case float64:
			if want != "number" {
				l.Add(k, "%s 应为字符串 (must be a string)", k)
				continue
			}
		default:
			l.Add(k, "%s 应为%s (wrong type)", k, map[string]string{"string": "字符串", "number": "数字"}[want])
			continue
		}
		ext[name] = x
	}
	str := func(name string) string { s, _ := ext[name].(string); return s }

	in := EventInput{Time: e.EventTime, Region: str("region"), SubjectCode: str("subjectCode"), Note: str("note")}
	if strings.TrimSpace(e.EventTime) == "" {
		l.Add("eventTime", "必须填写 eventTime (required)")
	}
	if e.ReadPoint != nil {
		in.ReadPoint = e.ReadPoint.ID
	}
	if e.BizLocation != nil {
		in.BizLocation = e.BizLocation.ID
	}
	in.BizStep = cbvTerm(e.BizStep, "bizstep", "BizStep")
	in.Disposition = cbvTerm(e.Disposition, "disp", "Disp")
	switch t := str("eventType"); {
	case transform:
		// The outputs come into being: a produced event each, whatever the
		// business step (commissioning when none).
		if t != "" && t != string(EventProduced) {
			l.Add(epcisPrefix+":eventType", "转换事件记为产出批次的「生产」事件，%s:eventType 只能为 produced 或不填，收到「%s」(a TransformationEvent is a produced event)",
				epcisPrefix, clip(t, 30))
		}
		in.Type = EventProduced
	case t != "":
		in.Type = EventType(t)
	default:
		if st, ok := stepTypes[in.BizStep]; ok {
			in.Type = st
		} else if in.BizStep == "holding" && in.Disposition == "recalled" {
			in.Type = EventRecalled
		} else if in.BizStep == "" {
			l.Add("bizStep", "必须填写 bizStep（CBV 业务步骤），或用 %s:eventType 指明事件类型 (bizStep or ecredit:eventType required)", epcisPrefix)
		} else {
			l.Add("bizStep", "业务步骤「%s」不对应追溯事件类型，请用 %s:eventType 指明（%s）(bizStep implies no event type)",
				clip(in.BizStep, 40), epcisPrefix, strings.Join(typeNames(), "、"))
		}
	}
	if n, ok := ext["shopId"].(float64); ok {
		if n != math.Trunc(n) || n < 1 || n > 1e15 {
			l.Add(epcisPrefix+":shopId", "店铺编号应为正整数 (must be a positive integer)")
		}
		in.ShopID = int64(n)
	}

	// Why: the reference.
	in.RefType, in.Ref = str("refType"), str("ref")
	if in.Ref == "" && in.RefType == "" {
		var cert string
		if len(e.CertificationInfo) > 0 && json.Unmarshal(e.CertificationInfo, &cert) != nil {
			l.Add("certificationInfo", "certificationInfo 应为字符串 (must be a string)")
		}
		switch {
		case strings.TrimSpace(cert) != "":
			in.Ref, in.RefType = cert, "other"
			if in.Type == EventInspected {
				in.RefType = "inspection_report"
			}
		case len(e.BizTransactionList) > 0:
			bt := e.BizTransactionList[0]
			in.Ref, in.RefType = bt.BizTransaction, refTypeOf(cbvTerm(bt.Type, "btt", "BTT"))
		}
	}

	// What: the batches (a TransformationEvent's outputs), and its inputs.
	ilmdLot, _ := e.ILMD["cbvmda:lotNumber"].(string)
	var lots []*lot
	var tf *epcisTransform
	var err error
	if transform {
		tf = &epcisTransform{}
		if tf.inputs, tf.inFields, err = epcisInputs(e.InputQuantityList, e.InputEPCList); err != nil {
			l = append(l, errs.All(err)...)
		} else if len(tf.inputs) == 0 {
			l.Add("inputQuantityList", "转换事件未指明原料批次：需要 inputQuantityList 中的 LGTIN（urn:epc:class:lgtin:…）或含批号（AI 10）的 GS1 数字链接，或 inputEPCList 中含批号的 GS1 数字链接 (no inputs)")
		}
		if lots, err = epcisLots(e.OutputQuantityList, e.OutputEPCList, ilmdLot, "outputQuantityList", "outputEPCList"); err != nil {
			l = append(l, errs.All(err)...)
		} else if len(lots) == 0 {
			l.Add("outputQuantityList", "转换事件未指明产出批次：需要 outputQuantityList 中的 LGTIN 或含批号（AI 10）的 GS1 数字链接，或 outputEPCList 中的产品实例 (no outputs)")
		}
	} else {
		if lots, err = epcisLots(e.QuantityList, e.EPCList, ilmdLot, "quantityList", "epcList"); err != nil {
			l = append(l, errs.All(err)...)
		} else if len(lots) == 0 {
			l.Add("quantityList", "事件未指明批次：需要 quantityList 中的 LGTIN（urn:epc:class:lgtin:…）或含批号（AI 10）的 GS1 数字链接 (no batch: give an LGTIN or a Digital Link with AI 10)")
		}
	}
	if err := l.Err(); err != nil {
		return nil, nil, err
	}
	out := make([]EventInput, 0, len(lots))
	for _, x := range lots {
		ev := in
		ev.GTIN, ev.Batch, ev.EventID = x.gtin, x.batch, strings.TrimSpace(e.EventID)
		if len(lots) > 1 {
			ev.EventID += "#" + x.gtin + "/" + x.batch
		}
		switch {
		case x.units:
			ev.Quantity = int64(math.Round(x.quantity))
		case len(x.uoms) > 0:
			// A quantity in kilograms, litres …: kept in the note, as the
			// event's quantity counts units.
			q := "数量 " + strconv.FormatFloat(x.quantity, 'f', -1, 64) + " " + strings.Join(x.uoms, "+")
			if ev.Note == "" {
				ev.Note = q
			} else {
				ev.Note += "；" + q
			}
		}
		out = append(out, ev)
		if tf != nil {
			tf.outFields = append(tf.outFields, x.field)
		}
	}
	return out, tf, nil
}

// epcisInputs reads a TransformationEvent's inputs: each element of
// inputQuantityList (an LGTIN or a Digital Link with AI 10, its quantity
// and uom; EA, H87 and C62 count units, as no uom does) is an input, and
// the instances of inputEPCList (Digital Links with AI 10) of one lot are
// one, counting them — unless an element names the lot, whose quantity
// stands. The quantities and units are checked by AddInputs.
func epcisInputs(qs []epcisQuantity, epcs []string) ([]InputRef, []string, error) {
	var l errs.List
	var ins []InputRef
	var fields []string
	at := map[[2]string]int{} // lot → its input
	for i, q := range qs {
		f := fmt.Sprintf("inputQuantityList[%d]", i)
		g, b, err := classLot(f+".epcClass", q.EPCClass)
		if err != nil {
			l = append(l, errs.All(err)...)
			continue
		}
		in := InputRef{GTIN: g, Batch: b, UOM: strings.TrimSpace(q.UOM)}
		if u, ok := unitOf(in.UOM); ok {
			in.UOM = u.Code // EA, H87 and C62 are units
		}
		if q.Quantity != nil {
			in.Quantity = *q.Quantity
		}
		if _, ok := at[[2]string{g, b}]; !ok {
			at[[2]string{g, b}] = len(ins)
		} // else named twice: AddInputs refuses the duplicate
		ins, fields = append(ins, in), append(fields, f)
	}
	for i, epc := range epcs {
		f := fmt.Sprintf("inputEPCList[%d]", i)
		if strings.HasPrefix(strings.TrimSpace(epc), "urn:epc:id:sgtin:") {
			// The event's ilmd describes its outputs: an input SGTIN's lot
			// is not in it.
			l.Add(f, "原料 SGTIN「%s」不含批号（ilmd 只描述产出）：请改用含批号（AI 10）的 GS1 数字链接，或在 inputQuantityList 中给出原料批次 (an input SGTIN names no lot: ilmd describes the outputs)", clip(epc, 60))
			continue
		}
		g, b, err := instanceLot(f, epc, "")
		if err != nil {
			l = append(l, errs.All(err)...)
			continue
		}
		if k, ok := at[[2]string{g, b}]; ok {
			if strings.HasPrefix(fields[k], "inputEPCList[") {
				ins[k].Quantity++
			}
			continue
		}
		at[[2]string{g, b}] = len(ins)
		ins, fields = append(ins, InputRef{GTIN: g, Batch: b, Quantity: 1}), append(fields, f)
	}
	if err := l.Err(); err != nil {
		return nil, nil, err
	}
	return ins, fields, nil
}

// jsonKind names a Go type in JSON terms.
func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "数组 (array)"
	case strings.HasPrefix(goType, "map") || strings.HasPrefix(goType, "struct"):
		return "对象 (object)"
	case strings.Contains(goType, "float") || strings.Contains(goType, "int"):
		return "数字 (number)"
	}
	return "字符串 (string)"
}

// extName returns the name after a prefix bound to EPCISNamespace, or the
// name of a full IRI in it.
func extName(key string, prefixes []string) (string, bool) {
	if strings.HasPrefix(key, EPCISNamespace) {
		return key[len(EPCISNamespace):], true
	}
	p, name, ok := strings.Cut(key, ":")
	if !ok || !slices.Contains(prefixes, p) {
		return "", false
	}
	return name, true
}

func typeNames() []string {
	var out []string
	for _, t := range EventTypes {
		if t != EventRecalled {
			out = append(out, string(t))
		}
	}
	return out
}

// refTypes are the reference types of CBV business transaction types;
// the others are "other".
var btRefTypes = map[string]string{"po": "order", "bol": "waybill", "desadv": "waybill", "prodorder": "production"}

func refTypeOf(btt string) string {
	if rt, ok := btRefTypes[btt]; ok {
		return rt
	}
	return "other"
}

// epcisLots reads the batches an event names (or a TransformationEvent
// outputs): LGTIN classes and Digital Links (with AI 10) in the quantity
// list qName, and instances in the EPC list eName (Digital Links with AI
// 10, or SGTINs with the lot in ilmd cbvmda:lotNumber). None is no error:
// the caller says what is missing.
func epcisLots(qs []epcisQuantity, epcs []string, ilmdLot, qName, eName string) ([]*lot, error) {
	var l errs.List
	var out []*lot
	add := func(gtin, batch string, q float64, uom, field string) {
		units := uom == "" || uom == "EA" || uom == "H87" || uom == "C62"
		for _, x := range out {
			if x.gtin == gtin && x.batch == batch {
				x.quantity += q
				x.units = x.units && units
				if !units && !slices.Contains(x.uoms, uom) {
					x.uoms = append(x.uoms, uom)
				}
				return
			}
		}
		x := &lot{gtin: gtin, batch: batch, quantity: q, units: units, field: field}
		if !units {
			x.uoms = []string{uom}
		}
		out = append(out, x)
	}
	for i, q := range qs {
		field := fmt.Sprintf("%s[%d].epcClass", qName, i)
		g, b, err := classLot(field, q.EPCClass)
		if err != nil {
			l = append(l, errs.All(err)...)
			continue
		}
		n := 0.0
		if q.Quantity != nil {
			n = *q.Quantity
			if n < 0 || math.IsInf(n, 0) || n > 1e12 {
				l.Add(fmt.Sprintf("%s[%d].quantity", qName, i), "数量应在 0 到 10^12 之间 (quantity out of range)")
				continue
			}
		}
		add(g, b, n, strings.TrimSpace(q.UOM), field)
	}
	for i, epc := range epcs {
		field := fmt.Sprintf("%s[%d]", eName, i)
		g, b, err := instanceLot(field, epc, ilmdLot)
		if err != nil {
			l = append(l, errs.All(err)...)
			continue
		}
		add(g, b, 1, "", field)
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// classLot reads an epcClass: "urn:epc:class:lgtin:CompanyPrefix.IndicatorItemRef.Lot"
// or a Digital Link "https://…/01/{gtin}/10/{lot}".
func classLot(field, v string) (string, string, error) {
	v = strings.TrimSpace(v)
	switch {
	case strings.HasPrefix(v, "urn:epc:class:lgtin:"):
		parts := strings.SplitN(v[len("urn:epc:class:lgtin:"):], ".", 3)
		if len(parts) != 3 || len(parts[0])+len(parts[1]) != 13 || len(parts[1]) < 1 || !digits(parts[0]+parts[1]) {
			return "", "", errs.Field(field, "LGTIN「%s」格式不对，应为 urn:epc:class:lgtin:厂商识别代码.指示符与商品项目代码.批号 (malformed LGTIN)", clip(v, 60))
		}
		lotNo, err := url.PathUnescape(parts[2])
		if err != nil {
			return "", "", errs.Field(field, "LGTIN 的批号编码有误 (malformed lot)")
		}
		if strings.TrimSpace(lotNo) == "" {
			return "", "", errs.Field(field, "LGTIN「%s」不含批号 (LGTIN without a lot)", clip(v, 60))
		}
		body := parts[1][:1] + parts[0] + parts[1][1:]
		return withCheck(field, body, lotNo)
	case strings.HasPrefix(v, "urn:epc:idpat:sgtin:") || strings.HasPrefix(v, "urn:epc:class:"):
		return "", "", errs.Field(field, "epcClass「%s」不含批号，请使用 LGTIN 或含 AI 10 的 GS1 数字链接 (class names no lot)", clip(v, 60))
	case strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://"):
		g, b, _, err := digitalLink(field, v)
		return g, b, err
	case v == "":
		return "", "", errs.Field(field, "必须填写 epcClass (required)")
	}
	return "", "", errs.Field(field, "无法识别的 epcClass「%s」(unknown class identifier)", clip(v, 60))
}

// instanceLot reads an instance-level EPC: a Digital Link with AI 10, or an
// SGTIN URN whose lot is the event's ilmd cbvmda:lotNumber.
func instanceLot(field, v, ilmdLot string) (string, string, error) {
	v = strings.TrimSpace(v)
	switch {
	case strings.HasPrefix(v, "urn:epc:id:sgtin:"):
		parts := strings.SplitN(v[len("urn:epc:id:sgtin:"):], ".", 3)
		if len(parts) != 3 || len(parts[0])+len(parts[1]) != 13 || len(parts[1]) < 1 || !digits(parts[0]+parts[1]) {
			return "", "", errs.Field(field, "SGTIN「%s」格式不对 (malformed SGTIN)", clip(v, 60))
		}
		if strings.TrimSpace(ilmdLot) == "" {
			return "", "", errs.Field(field, "SGTIN 不含批号：请在 ilmd 中给出 cbvmda:lotNumber，或改用含 AI 10 的 GS1 数字链接 (an SGTIN names no lot)")
		}
		return withCheck(field, parts[1][:1]+parts[0]+parts[1][1:], ilmdLot)
	case strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://"):
		g, b, _, err := digitalLink(field, v)
		return g, b, err
	}
	return "", "", errs.Field(field, "无法识别的 EPC「%s」，请使用 GS1 数字链接或 SGTIN (unknown EPC)", clip(v, 60))
}

// digitalLink reads the GTIN (AI 01), the lot (AI 10) and the serial
// (AI 21, "" when none) of a GS1 Digital Link URI on any domain.
func digitalLink(field, v string) (gtin, batch, serial string, err error) {
	u, perr := url.Parse(v)
	if perr != nil {
		return "", "", "", errs.Field(field, "GS1 数字链接「%s」不是有效的网址 (invalid URI)", clip(v, 60))
	}
	segs := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	i := slices.Index(segs, "01")
	if i < 0 || i+1 >= len(segs) {
		return "", "", "", errs.Field(field, "GS1 数字链接「%s」缺少商品条码（AI 01）(Digital Link without AI 01)", clip(v, 60))
	}
	ais := map[string]string{}
	for j := i; j+1 < len(segs); j += 2 {
		val, uerr := url.PathUnescape(segs[j+1])
		if uerr != nil {
			return "", "", "", errs.Field(field, "GS1 数字链接的 AI %s 编码有误 (malformed value)", segs[j])
		}
		ais[segs[j]] = val
	}
	g := ais["01"]
	if len(g) != 14 || !digits(g) {
		return "", "", "", errs.Field(field, "GS1 数字链接中的商品条码应为 14 位数字 (AI 01 must be 14 digits)")
	}
	if ais["10"] == "" {
		return "", "", "", errs.Field(field, "GS1 数字链接「%s」不含批号（AI 10）(Digital Link without AI 10)", clip(v, 60))
	}
	gtin, batch, err = withCheck(field, g[:13], ais["10"])
	if err == nil && gtin != trimGTIN(g) {
		err = errs.Field(field, "GS1 数字链接中的商品条码 %s 校验位错误 (wrong check digit)", g)
	}
	return gtin, batch, ais["21"], err
}

// withCheck appends the check digit to a GTIN-14 body of 13 digits and
// returns the GTIN in its shortest standard form (see trimGTIN).
func withCheck(field, body, batch string) (string, string, error) {
	// The body of 13 digits is the indicator and the GTIN-13 body; the
	// check digit is computed over them.
	c, err := code.GTINCheck(body)
	if err != nil {
		return "", "", errs.Field(field, "商品条码无效 (invalid GTIN)")
	}
	return trimGTIN(body + string(c)), batch, nil
}

// trimGTIN writes a GTIN-14 with leading zeros as the GTIN-13 it is.
func trimGTIN(g string) string {
	if len(g) == 14 && g[0] == '0' {
		return g[1:]
	}
	return g
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// EventCursor is where a page of a batch's events ends: events are in
// (time, id) order.
type EventCursor struct {
	At time.Time
	ID int64
}

// Token is the cursor as an opaque page token ("" for the start).
func (c EventCursor) Token() string {
	if c.ID == 0 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.At.UnixMicro(), 10) + "." + strconv.FormatInt(c.ID, 10)))
}

// ParseEventCursor reads a page token of Token; "" is the start.
func ParseEventCursor(field, tok string) (EventCursor, error) {
	if tok == "" {
		return EventCursor{}, nil
	}
	bad := errs.Field(field, "翻页标记无效，请使用上一页返回的值 (invalid page token)")
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return EventCursor{}, bad
	}
	us, id, ok := strings.Cut(string(b), ".")
	if !ok {
		return EventCursor{}, bad
	}
	at, err1 := strconv.ParseInt(us, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n < 1 {
		return EventCursor{}, bad
	}
	return EventCursor{At: time.UnixMicro(at).UTC(), ID: n}, nil
}

// EPCISDocument is an EPCIS 2.0 document as exported.
type EPCISDocument struct {
	Context       []any     `json:"@context"`
	Type          string    `json:"type"`
	SchemaVersion string    `json:"schemaVersion"`
	CreationDate  string    `json:"creationDate"`
	Body          EPCISBody `json:"epcisBody"`
}

// EPCISBody holds the events of a document.
type EPCISBody struct {
	EventList []EPCISEvent `json:"eventList"`
}

// EPCISEvent is one exported event: an ObjectEvent (a stored trace
// event; action and quantityList) or the TransformationEvent of a batch's
// inputs (no action; inputQuantityList and outputQuantityList).
type EPCISEvent struct {
	Type                string                `json:"type"`
	EventID             string                `json:"eventID"`
	EventTime           string                `json:"eventTime"`
	EventTimeZoneOffset string                `json:"eventTimeZoneOffset"`
	RecordTime          string                `json:"recordTime"`
	Action              string                `json:"action,omitempty"`
	BizStep             string                `json:"bizStep"`
	Disposition         string                `json:"disposition,omitempty"`
	ReadPoint           *EPCISLocation        `json:"readPoint,omitempty"`
	BizLocation         *EPCISLocation        `json:"bizLocation,omitempty"`
	QuantityList        []EPCISQuantity       `json:"quantityList,omitempty"`
	InputQuantityList   []EPCISQuantity       `json:"inputQuantityList,omitempty"`
	OutputQuantityList  []EPCISQuantity       `json:"outputQuantityList,omitempty"`
	BizTransactionList  []EPCISBizTransaction `json:"bizTransactionList,omitempty"`
	EventType           EventType             `json:"ecredit:eventType"`
	Region              string                `json:"ecredit:region,omitempty"`
	SubjectCode         string                `json:"ecredit:subjectCode,omitempty"`
	SubjectName         string                `json:"ecredit:subjectName,omitempty"`
	ShopID              int64                 `json:"ecredit:shopId,omitempty"`
	RefType             string                `json:"ecredit:refType,omitempty"`
	Ref                 string                `json:"ecredit:ref,omitempty"`
	Note                string                `json:"ecredit:note,omitempty"`
	SourceEventID       string                `json:"ecredit:sourceEventID,omitempty"`
	SubmittedBy         string                `json:"ecredit:submittedBy,omitempty"`
}

// EPCISLocation is a readPoint or a bizLocation: a GS1 location.
type EPCISLocation struct {
	ID string `json:"id"`
}

// epcisLocation is the element of a location, nil for none.
func epcisLocation(id string) *EPCISLocation {
	if id == "" {
		return nil
	}
	return &EPCISLocation{ID: id}
}

// EPCISQuantity is a quantity element: the batch's class and how much of
// it: units (an ObjectEvent's), or an input's quantity in its uom.
type EPCISQuantity struct {
	EPCClass string  `json:"epcClass"`
	Quantity float64 `json:"quantity,omitempty"`
	UOM      string  `json:"uom,omitempty"` // UN/ECE Rec 20 (KGM …); none: units
}

// EPCISBizTransaction is a business transaction an event refers to.
type EPCISBizTransaction struct {
	Type           string `json:"type"`
	BizTransaction string `json:"bizTransaction"`
}

// MaxEPCISPage is the most events one exported page holds.
const MaxEPCISPage = 1000

// BatchLink is the GS1 Digital Link of a batch: the GTIN as 14 digits
// (AI 01) and the lot (AI 10) on GS1's resolver.
func BatchLink(gtin, batch string) string {
	return digitalLinkBase + DigitalLinkPath(gtin, batch)
}

// EventPage is a page of a batch's events, oldest first.
type EventPage struct {
	GTIN, Batch string // as registered
	Events      []EventView
	// Next is the cursor of the next page; nil on the last.
	Next *EventCursor
	// stored are the events of the views, for the EPCIS export.
	stored []*Event
	// batch is the batch; inputs its inputs when the EPCIS export wants
	// them (the first page: pageInputs).
	batch  *Batch
	inputs []Link
}

// Events returns a page of a batch's events after the cursor, oldest
// first. With public true, the public event types with the public page's
// masking, for anyone; else every event, for those who read whole traces
// (departments, the credit office) and the batch's producer.
func (s *Service) Events(ctx context.Context, gtin, batch string, public bool, after EventCursor, limit int) (*EventPage, error) {
	return s.eventPage(ctx, gtin, batch, public, after, limit, true)
}

// eventPage is Events; with named false the events' places are left
// unnamed (an EPCIS export carries the locations' identifiers only).
func (s *Service) eventPage(ctx context.Context, gtin, batch string, public bool, after EventCursor, limit int, named bool) (*EventPage, error) {
	const op = "trace.Events"
	a := account.From(ctx)
	if !public && anonymous(a) {
		return nil, errs.Wrap(op, errAuth)
	}
	l := s.lookups()
	b, _, _, err := s.batchAndProduct(ctx, l, gtin, batch)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	if !public && !Can(a, ScopeTraceRead) && !isProducer(a, b.ProducerID) {
		return nil, errs.Wrap(op, forbidden(a, "不能查看该批次的全部追溯事件，公开事件见 /api/v1/public/trace/{gtin}/{batch}/epcis (only departments, the credit office and the producer see every event)"))
	}
	var types []EventType
	if public {
		for _, t := range EventTypes {
			if t.Public() {
				types = append(types, t)
			}
		}
	}
	limit = max(1, min(limit, MaxEPCISPage))
	evs, err := s.Store.BatchEvents(ctx, b.GTIN, b.Batch, types, after, limit)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	p := &EventPage{GTIN: b.GTIN, Batch: b.Batch, Events: make([]EventView, 0, len(evs)), stored: evs, batch: b}
	for _, e := range evs {
		sub, err := l.get(ctx, e.SubjectID)
		if err != nil {
			return nil, errs.Wrap(op, err)
		}
		p.Events = append(p.Events, eventView(e, sub, public))
	}
	if named {
		if err := s.nameSites(ctx, l, p.Events); err != nil {
			return nil, errs.Wrap(op, err)
		}
	}
	if len(evs) == limit {
		last := evs[len(evs)-1]
		p.Next = &EventCursor{At: last.At, ID: last.ID}
	}
	return p, nil
}

// ExportEPCIS returns a page of a batch's events (see Events: public or
// whole) as an EPCIS 2.0 document, and the cursor of the next page (nil
// on the last). The first page (after is zero) of a batch with inputs
// starts with their TransformationEvent, besides up to limit events; the
// cursor counts stored events only, so later pages are as before.
func (s *Service) ExportEPCIS(ctx context.Context, gtin, batch string, public bool, after EventCursor, limit int) (*EPCISDocument, *EventCursor, error) {
	const op = "trace.ExportEPCIS"
	p, err := s.eventPage(ctx, gtin, batch, public, after, limit, false)
	if err != nil {
		return nil, nil, errs.Wrap(op, err)
	}
	if after.ID == 0 {
		if err := s.pageInputs(ctx, p); err != nil {
			return nil, nil, errs.Wrap(op, err)
		}
	}
	return s.EPCIS(p), p.Next, nil
}

// pageInputs reads the inputs of the page's batch into it.
func (s *Service) pageInputs(ctx context.Context, p *EventPage) error {
	if p.batch == nil {
		return nil
	}
	links, err := s.Store.Lineage(ctx, []int64{p.batch.ID}, true)
	p.inputs = links
	return err
}

// EPCIS writes pages of a batch's events as one EPCIS 2.0 document; a
// page with the batch's inputs (the first) starts with their
// TransformationEvent.
func (s *Service) EPCIS(pages ...*EventPage) *EPCISDocument {
	doc := &EPCISDocument{
		Context:       []any{EPCISContext, map[string]string{epcisPrefix: EPCISNamespace}},
		Type:          "EPCISDocument",
		SchemaVersion: "2.0",
		CreationDate:  s.now().In(clock.Shanghai).Format(time.RFC3339),
		Body:          EPCISBody{EventList: []EPCISEvent{}},
	}
	for _, p := range pages {
		produced := -1 // the page's event that carries the inputs
		if len(p.inputs) > 0 {
			produced = slices.IndexFunc(p.Events, func(v EventView) bool { return v.Type == EventProduced })
			if produced < 0 {
				doc.Body.EventList = append(doc.Body.EventList, inputsEPCIS(p.batch, p.inputs))
			}
		}
		link := BatchLink(p.GTIN, p.Batch)
		for i, v := range p.Events {
			x := toEPCIS(v, p.stored[i], link)
			if i == produced {
				x = transformEPCIS(x, p.inputs)
			}
			doc.Body.EventList = append(doc.Body.EventList, x)
		}
	}
	return doc
}

// WriteEPCIS writes every event of a batch (see Events: public or whole)
// to w as one EPCIS 2.0 document, compact, a page at a time, so that
// memory holds one page whatever the batch holds; a batch with inputs
// starts with their TransformationEvent. The first page and the inputs
// are read before anything is written: a batch that does not exist, bad
// input or a caller who may not see it is an error with nothing written.
// An error after that leaves the document unfinished (invalid JSON),
// never short.
func (s *Service) WriteEPCIS(ctx context.Context, w io.Writer, gtin, batch string, public bool) error {
	const op = "trace.WriteEPCIS"
	first := true
	err := s.epcisPages(ctx, gtin, batch, public, func(doc *EPCISDocument) error {
		if first {
			events := doc.Body.EventList
			doc.Body.EventList = []EPCISEvent{}
			head, err := json.Marshal(doc)
			if err != nil {
				return err
			}
			// The document with an empty event list, opened where the
			// events go.
			const empty = `"eventList":[]}}`
			if !bytes.HasSuffix(head, []byte(empty)) {
				return fmt.Errorf("unexpected EPCIS document layout")
			}
			if _, err := w.Write(head[:len(head)-len(empty)+len(`"eventList":[`)]); err != nil {
				return err
			}
			doc.Body.EventList = events
		}
		for _, x := range doc.Body.EventList {
			b, err := json.Marshal(x)
			if err != nil {
				return err
			}
			if !first {
				b = append([]byte{','}, b...)
			}
			first = false
			if _, err = w.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		_, err = w.Write([]byte("]}}\n"))
	}
	return errs.Wrap(op, err)
}

// epcisPages calls page with each page of the batch's export in turn
// (ExportEPCIS, MaxEPCISPage events a page): memory holds one page, and
// the first call comes before anything is written, so an unknown batch or
// a caller without access is still an error of its own.
func (s *Service) epcisPages(ctx context.Context, gtin, batch string, public bool, page func(doc *EPCISDocument) error) error {
	for after := (EventCursor{}); ; {
		doc, next, err := s.ExportEPCIS(ctx, gtin, batch, public, after, MaxEPCISPage)
		if err != nil {
			return err
		}
		if err := page(doc); err != nil {
			return err
		}
		if next == nil {
			return nil
		}
		after = *next
	}
}

// inputsEPCIS writes the inputs of batch b as one TransformationEvent:
// every input by its Digital Link in inputQuantityList, with its quantity
// and uom when reported (EPCIS 2.0 allows a quantity element of a class
// alone), and the batch in outputQuantityList. Its eventID is the
// batch's, stable across exports, and its eventTime the production date
// at 00:00 in Asia/Shanghai, which no event of the batch precedes; its
// recordTime is when the last input was recorded. It carries no
// submitter: the public lineage shows the same.
func inputsEPCIS(b *Batch, links []Link) EPCISEvent {
	var rec time.Time
	x := EPCISEvent{
		Type: "TransformationEvent", EventID: "urn:ecredit:batch-inputs:" + strconv.FormatInt(b.ID, 10),
		BizStep: defaultStep[EventProduced], Disposition: defaultDisposition[EventProduced], EventType: EventProduced,
		OutputQuantityList: []EPCISQuantity{{EPCClass: BatchLink(b.GTIN, b.Batch)}}, InputQuantityList: inputQuantities(links),
	}
	for _, k := range links {
		if k.RecordedAt.After(rec) {
			rec = k.RecordedAt
		}
	}
	at := record.Date(b.ProducedOn).Time()
	if at.IsZero() {
		at = rec
	}
	at = at.In(clock.Shanghai)
	x.EventTime, x.EventTimeZoneOffset = at.Format(time.RFC3339Nano), at.Format("-07:00")
	x.RecordTime = rec.In(clock.Shanghai).Format(time.RFC3339Nano)
	return x
}

// inputQuantities are a batch's inputs as an inputQuantityList: each by
// its Digital Link, with its quantity and uom when reported (EPCIS 2.0
// allows a quantity element of a class alone).
func inputQuantities(links []Link) []EPCISQuantity {
	qs := make([]EPCISQuantity, len(links))
	for i, k := range links {
		qs[i] = EPCISQuantity{EPCClass: BatchLink(k.Other.GTIN, k.Other.Batch)}
		if k.Quantity > 0 {
			qs[i].Quantity, qs[i].UOM = k.Quantity, k.UOM
		}
	}
	return qs
}

// transformEPCIS turns the ObjectEvent of a batch's produced event into
// the TransformationEvent of its inputs: the same event (eventID, time,
// fields and extensions), its batch and quantity as the output, and no
// action (a TransformationEvent has none). Captured elsewhere it gives
// the batch its inputs and this one produced event, as here.
func transformEPCIS(x EPCISEvent, links []Link) EPCISEvent {
	x.Type, x.Action = "TransformationEvent", ""
	x.OutputQuantityList, x.QuantityList = x.QuantityList, nil
	x.InputQuantityList = inputQuantities(links)
	return x
}

// epcisBTT are the CBV business transaction types of reference types.
var epcisBTT = map[string]string{"order": "po", "waybill": "bol", "production": "prodorder"}

// toEPCIS writes an event (through its view, which masks for the public)
// as an ObjectEvent.
func toEPCIS(v EventView, e *Event, link string) EPCISEvent {
	at := v.Time.In(clock.Shanghai)
	x := EPCISEvent{
		Type: "ObjectEvent", EventID: "urn:ecredit:trace-event:" + strconv.FormatInt(e.ID, 10),
		EventTime: at.Format(time.RFC3339Nano), EventTimeZoneOffset: at.Format("-07:00"),
		RecordTime: e.RecordedAt.In(clock.Shanghai).Format(time.RFC3339Nano),
		Action:     "OBSERVE", BizStep: v.BizStep, Disposition: v.Disposition,
		ReadPoint: epcisLocation(v.ReadPoint), BizLocation: epcisLocation(v.BizLocation),
		QuantityList: []EPCISQuantity{{EPCClass: link, Quantity: float64(v.Quantity)}},
		EventType:    v.Type, Region: v.Region, ShopID: v.ShopID, RefType: v.RefType, Ref: v.Ref, Note: v.Note,
		SourceEventID: v.EventID, SubmittedBy: v.SubmittedBy,
	}
	if v.Type == EventProduced {
		x.Action = "ADD" // commissioning brings the batch into being
	}
	if v.BizStep == "reviewing" || v.BizStep == "complaining" {
		x.BizStep = EPCISNamespace + "bizstep:" + v.BizStep // ecredit's steps, not CBV terms
	}
	if btt, ok := epcisBTT[v.RefType]; ok && v.Ref != "" {
		x.BizTransactionList = []EPCISBizTransaction{{Type: btt, BizTransaction: v.Ref}}
	}
	if v.Subject != nil {
		x.SubjectCode, x.SubjectName = v.Subject.CreditCode, v.Subject.Name
	}
	return x
}

// epcisFieldNames are the EPCIS names of the fields of EventInput, for
// the errors IngestEvents gives about a captured event.
var epcisFieldNames = map[string]string{
	"event_id": "eventID", "type": "ecredit:eventType", "gtin": "quantityList", "batch": "quantityList", "time": "eventTime",
	"region": "ecredit:region", "read_point": "readPoint.id", "biz_location": "bizLocation.id", "subject_code": "ecredit:subjectCode", "shop_id": "ecredit:shopId", "biz_step": "bizStep",
	"disposition": "disposition", "ref_type": "ecredit:refType", "ref": "ecredit:ref", "quantity": "quantityList", "note": "ecredit:note",
}

// epcisErr renames the fields of an IngestEvents error to the EPCIS ones:
// those of names (a TransformationEvent's output), else epcisFieldNames.
func epcisErr(err error, names map[string]string) error {
	return renameFields(err, func(f string) string {
		if n, ok := names[f]; ok {
			return n
		}
		if n, ok := epcisFieldNames[f]; ok {
			return n
		}
		return f
	})
}

// renameFields returns err with the field of each of its errors renamed.
func renameFields(err error, name func(string) string) error {
	var top *errs.Error
	if err == nil || !errors.As(err, &top) {
		return err
	}
	rename := func(e *errs.Error) *errs.Error {
		c := *e
		if c.Field != "" {
			c.Field = name(c.Field)
		}
		return &c
	}
	out := rename(top)
	if all := errs.All(err); len(all) > 1 {
		l := make(errs.List, len(all))
		for i, e := range all {
			l[i] = rename(e)
		}
		out.Err = l
	}
	return out
}
