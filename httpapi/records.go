package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"ecredit/account"
	"ecredit/clock"
	"ecredit/errs"
	"ecredit/httpx"
	"ecredit/imports"
	"ecredit/ledger"
	"ecredit/record"
)

// Limits of record batches.
const (
	MaxRecordBatchBody = 32 << 20        // POST /api/v1/records/batch
	MaxRecordBatchRows = record.MaxBatch // non-blank NDJSON lines in one batch
)

// LedgerEntries lists the ledger entries of one object (sqlstore.DB).
type LedgerEntries interface {
	LedgerEntriesFor(ctx context.Context, kind string, objectID int64) ([]ledger.Entry, error)
}

// errNoRecords answers the record and ledger routes of an API built without
// them.
var errNoRecords = &errs.Error{Code: errs.Unavailable, Message: "信用记录服务未启用 (records are not configured)"}

func (a *API) records() (*record.Service, error) {
	if a.d.Records == nil {
		return nil, errNoRecords
	}
	return a.d.Records, nil
}

func (a *API) ledger() (*ledger.Log, error) {
	if a.d.Ledger == nil {
		return nil, errNoRecords
	}
	return a.d.Ledger, nil
}

// RecordTypes is the data dictionary: every record type with its fields
// (Chinese and English names, national field codes, accepted headers).
type RecordTypes struct {
	Types []*record.TypeDef `json:"types"`
}

func (a *API) recordTypes(w http.ResponseWriter, r *http.Request) error {
	if err := newParams(r).err(); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, RecordTypes{Types: record.Types()})
	return nil
}

// RecordResult is the answer to an ingested record.
type RecordResult struct {
	Status   string       `json:"status"` // created | unchanged | corrected
	ID       int64        `json:"id"`
	Warnings []string     `json:"warnings,omitempty"`
	Record   *record.View `json:"record,omitempty"`
}

func (a *API) createRecord(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.records()
	if err != nil {
		return err
	}
	var in record.Input
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	res, err := svc.Ingest(r.Context(), in)
	if err != nil {
		return err
	}
	out := RecordResult{Status: res.Status, ID: res.ID, Warnings: res.Warnings}
	if res.Record != nil {
		v := res.Record.View(a.d.Clock.Now())
		out.Record = &v
	}
	writeResult(w, res.Status == record.ResultCreated, fmt.Sprintf("/api/v1/records/%d", res.ID), out)
	return nil
}

// RecordBatchLine is the result of one NDJSON line of a record batch.
type RecordBatchLine struct {
	Line     int         `json:"line"`
	Status   string      `json:"status"` // created | unchanged | corrected | error
	ID       int64       `json:"id,omitempty"`
	Warnings []string    `json:"warnings,omitempty"`
	Error    *BatchError `json:"error,omitempty"`
}

// RecordBatchResult is the answer to a record batch: counts and every
// line's result, in line order.
type RecordBatchResult struct {
	Created   int               `json:"created"`
	Unchanged int               `json:"unchanged"`
	Corrected int               `json:"corrected"`
	Failed    int               `json:"failed"`
	Results   []RecordBatchLine `json:"results"`
}

// batchRecords ingests NDJSON, one record.Input a line (?type= fills a
// missing "type"). Every non-blank line gets its own result, numbered by
// its line in the body; good lines are stored even when others are bad.
func (a *API) batchRecords(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.records()
	if err != nil {
		return err
	}
	if ac := account.From(r.Context()); ac.Role == account.RolePublic {
		return &errs.Error{Code: errs.Unauthorized, Message: "需要 API 密钥 (authentication required)"}
	}
	p := newParams(r, "type")
	def := record.Type(p.str("type", 40))
	if def != "" {
		if _, ok := record.Lookup(def); !ok {
			p.errs.Add("type", "未知的记录类型「%s」，可用：%s (unknown record type)", clip(string(def), 40), record.TypeNames())
		}
	}
	if err := p.err(); err != nil {
		return err
	}
	lines, err := imports.ReadNDJSON(r.Body, def, MaxRecordBatchRows)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &errs.Error{Code: errs.TooLarge, Field: "body", Message: fmt.Sprintf("批量请求体超过 %d MiB 上限，未保存任何数据 (batch body over %d bytes; nothing stored)", MaxRecordBatchBody>>20, MaxRecordBatchBody)}
		}
		return err
	}
	if len(lines) == 0 {
		return &errs.Error{Code: errs.Invalid, Field: "body", Message: "批量请求体为空，应为每行一个 JSON 对象 (empty batch: one JSON object a line)"}
	}
	var ins []record.Input
	var lineOf []int // ins index → position in lines
	for i, l := range lines {
		if l.Err == nil {
			ins = append(ins, l.Input)
			lineOf = append(lineOf, i)
		}
	}
	out := make([]RecordBatchLine, len(lines))
	for i, l := range lines {
		out[i] = RecordBatchLine{Line: l.Line}
		if l.Err != nil {
			out[i].Status, out[i].Error = record.ResultError, a.lineError(r, l.Line, l.Err)
		}
	}
	if len(ins) > 0 {
		results, err := svc.IngestBatch(r.Context(), ins)
		if err != nil {
			return err
		}
		for _, res := range results {
			if res.Line < 1 || res.Line > len(lineOf) {
				return &errs.Error{Code: errs.Internal, Op: "httpapi.batchRecords", Message: fmt.Sprintf("batch result for line %d of %d", res.Line, len(lineOf))}
			}
			o := &out[lineOf[res.Line-1]]
			o.Status, o.ID, o.Warnings = res.Status, res.ID, res.Warnings
			if res.Err != nil || res.Status == record.ResultError {
				o.Status, o.ID, o.Error = record.ResultError, 0, a.lineError(r, o.Line, res.Err)
			}
		}
	}
	res := RecordBatchResult{Results: out}
	for _, o := range out {
		switch o.Status {
		case record.ResultCreated:
			res.Created++
		case record.ResultUnchanged:
			res.Unchanged++
		case record.ResultCorrected:
			res.Corrected++
		default:
			res.Failed++
		}
	}
	httpx.WriteJSON(w, http.StatusOK, res)
	return nil
}

func (a *API) recordView(rec *record.Record) record.View { return rec.View(a.d.Clock.Now()) }

func (a *API) getRecord(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.records()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := newParams(r).err(); err != nil {
		return err
	}
	rec, err := svc.Get(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, a.recordView(rec))
	return nil
}

// EventView is one event of a record's history.
type EventView struct {
	ID          int64            `json:"id"`
	RecordID    int64            `json:"record_id"`
	Seq         int              `json:"seq"`
	Type        record.EventType `json:"type"`
	TypeLabel   string           `json:"type_label"`
	At          time.Time        `json:"at"`
	ActorID     int64            `json:"actor_id,omitempty"`
	ActorName   string           `json:"actor_name,omitempty"`
	Reason      string           `json:"reason,omitempty"`
	LedgerIndex int64            `json:"ledger_index"`
}

func eventView(ev *record.Event) EventView {
	return EventView{ID: ev.ID, RecordID: ev.RecordID, Seq: ev.Seq, Type: ev.Type, TypeLabel: ev.Type.Label(), At: ev.At,
		ActorID: ev.ActorID, ActorName: ev.ActorName, Reason: ev.Reason, LedgerIndex: ev.LedgerIndex}
}

func (a *API) recordEvents(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.records()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := newParams(r).err(); err != nil {
		return err
	}
	evs, err := svc.Events(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, Page[EventView]{Items: views(evs, eventView)})
	return nil
}

// recordChange decodes the body into in, applies change to the record of
// the path and answers the record after it.
func recordChange[T any](a *API, w http.ResponseWriter, r *http.Request, change func(ctx context.Context, svc *record.Service, id int64, in T) (*record.Record, error)) error {
	svc, err := a.records()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in T
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	rec, err := change(r.Context(), svc, id, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, a.recordView(rec))
	return nil
}

// ObjectionInput files an objection (异议).
type ObjectionInput struct {
	Reason string `json:"reason"`
}

// ObjectionAnswer answers the pending objection.
type ObjectionAnswer struct {
	Upheld bool   `json:"upheld"`
	Answer string `json:"answer"`
}

// RepairInput applies for credit repair (信用修复).
type RepairInput struct {
	Reason string `json:"reason"`
}

// RepairReview moves an application into review.
type RepairReview struct {
	Note string `json:"note,omitempty"`
}

// RepairDecision approves or rejects an application.
type RepairDecision struct {
	Approve bool   `json:"approve"`
	Note    string `json:"note"`
}

func (a *API) withdrawRecord(w http.ResponseWriter, r *http.Request) error {
	return recordChange(a, w, r, func(ctx context.Context, s *record.Service, id int64, in record.WithdrawInput) (*record.Record, error) {
		return s.Withdraw(ctx, id, in)
	})
}

func (a *API) fileObjection(w http.ResponseWriter, r *http.Request) error {
	return recordChange(a, w, r, func(ctx context.Context, s *record.Service, id int64, in ObjectionInput) (*record.Record, error) {
		return s.FileObjection(ctx, id, in.Reason)
	})
}

func (a *API) answerObjection(w http.ResponseWriter, r *http.Request) error {
	return recordChange(a, w, r, func(ctx context.Context, s *record.Service, id int64, in ObjectionAnswer) (*record.Record, error) {
		return s.AnswerObjection(ctx, id, in.Upheld, in.Answer)
	})
}

func (a *API) applyRepair(w http.ResponseWriter, r *http.Request) error {
	return recordChange(a, w, r, func(ctx context.Context, s *record.Service, id int64, in RepairInput) (*record.Record, error) {
		return s.ApplyRepair(ctx, id, in.Reason)
	})
}

func (a *API) reviewRepair(w http.ResponseWriter, r *http.Request) error {
	return recordChange(a, w, r, func(ctx context.Context, s *record.Service, id int64, in RepairReview) (*record.Record, error) {
		return s.ReviewRepair(ctx, id, in.Note)
	})
}

func (a *API) decideRepair(w http.ResponseWriter, r *http.Request) error {
	return recordChange(a, w, r, func(ctx context.Context, s *record.Service, id int64, in RepairDecision) (*record.Record, error) {
		return s.DecideRepair(ctx, id, in.Approve, in.Note)
	})
}

// subjectRecords lists a subject's records, newest first. The public (and
// anyone asking public=true) sees only records in public view.
func (a *API) subjectRecords(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.records()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p := newParams(r, "type", "public")
	t := record.Type(p.str("type", 40))
	if t != "" {
		if _, ok := record.Lookup(t); !ok {
			p.errs.Add("type", "未知的记录类型「%s」，可用：%s (unknown record type)", clip(string(t), 40), record.TypeNames())
		}
	}
	publicOnly := false
	if s := p.v.Get("public"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			p.errs.Add("public", "参数 public 必须是 true 或 false (public must be true or false)")
		}
		publicOnly = b
	}
	if err := p.err(); err != nil {
		return err
	}
	list, err := svc.ListBySubject(r.Context(), id, t, publicOnly)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, Page[record.View]{Items: views(list, a.recordView)})
	return nil
}

// ChangeView is one entry of the change feed: an event and the record's
// state right after it.
type ChangeView struct {
	Cursor string      `json:"cursor"`
	Event  EventView   `json:"event"`
	Record record.View `json:"record"`
}

// ChangeFeed is a page of the change feed. Pass next_cursor as after to
// continue; the feed is caught up when next_cursor equals the after sent.
type ChangeFeed struct {
	Items      []ChangeView `json:"items"`
	NextCursor string       `json:"next_cursor"`
}

func (a *API) changes(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.records()
	if err != nil {
		return err
	}
	p := newParams(r, "after", "limit")
	after := p.str("after", 20)
	if after != "" {
		if n, err := strconv.ParseInt(after, 10, 64); err != nil || n < 0 {
			p.errs.Add("after", "参数 after 必须是上一页返回的 next_cursor（非负整数）(after must be a cursor from next_cursor)")
		}
	}
	limit := p.limit(100, 1000)
	if err := p.err(); err != nil {
		return err
	}
	chs, next, err := svc.Changes(r.Context(), after, limit)
	if err != nil {
		return err
	}
	now := a.d.Clock.Now()
	feed := ChangeFeed{Items: make([]ChangeView, 0, len(chs)), NextCursor: next}
	for _, c := range chs {
		feed.Items = append(feed.Items, ChangeView{Cursor: c.Cursor, Event: eventView(c.Event), Record: c.Record.View(now)})
	}
	httpx.WriteJSON(w, http.StatusOK, feed)
	return nil
}

var exportTypes = map[record.Type]bool{record.TypeLicence: true, record.TypePenalty: true}

// exportRecords streams the active licences or penalties (双公示) in the
// national layout, as CSV (UTF-8 with BOM) or XLSX, optionally limited to
// decision dates in [from, to]. ?codes=true writes the 2.0 field codes as
// headers instead of the Chinese names.
func (a *API) exportRecords(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.records()
	if err != nil {
		return err
	}
	ac := account.From(r.Context())
	if !record.Can(ac, record.ScopeRecordsRead) {
		if ac.Role == account.RolePublic {
			return &errs.Error{Code: errs.Unauthorized, Message: "导出需要 API 密钥 (authentication required)"}
		}
		return &errs.Error{Code: errs.Forbidden, Message: "当前角色无权导出信用记录 (missing scope records:read)"}
	}
	file := r.PathValue("file")
	name, format, _ := strings.Cut(file, ".")
	typ := record.Type(name)
	if !exportTypes[typ] {
		return errs.Field("type", "只能导出双公示记录：licence.csv、licence.xlsx、penalty.csv、penalty.xlsx，而不是「%s」(only licence and penalty exports)", clip(file, 40))
	}
	if format != "csv" && format != "xlsx" {
		return errs.Field("format", "导出格式必须是 csv 或 xlsx，而不是「%s」(format must be csv or xlsx)", clip(format, 20))
	}
	p := newParams(r, "from", "to", "codes")
	var from, to record.Date
	for _, f := range []struct {
		name string
		d    *record.Date
	}{{"from", &from}, {"to", &to}} {
		if s := p.str(f.name, 40); s != "" {
			d, err := record.ParseDate(s)
			if err != nil {
				p.errs.Add(f.name, "参数 %s 日期无效：%s (invalid date)", f.name, err.Error())
				continue
			}
			*f.d = d
		}
	}
	if from != "" && to != "" && from > to {
		p.errs.Add("to", "参数 to（%s）早于 from（%s）(to before from)", to, from)
	}
	codes := false
	if s := p.v.Get("codes"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			p.errs.Add("codes", "参数 codes 必须是 true 或 false (codes must be true or false)")
		}
		codes = b
	}
	if err := p.err(); err != nil {
		return err
	}
	ctx := r.Context()
	// The first page is read before anything is written, so that a
	// failing store still gets a JSON error.
	f := record.Filter{Type: typ, Status: record.StatusActive, Limit: 1000}
	page, err := svc.Store.ListRecords(ctx, f)
	if err != nil {
		return errs.Wrap("httpapi.exportRecords", err)
	}
	ct := "text/csv; charset=utf-8"
	if format == "xlsx" {
		ct = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.%s"`, typ, a.d.Clock.Now().In(clock.Shanghai).Format("20060102"), format))
	w.Header().Set("Cache-Control", "no-store")
	ex, err := imports.NewExporter(w, typ, imports.ExportOptions{Format: format, Codes: codes})
	if err != nil {
		return a.exportFailed(r, err)
	}
	for {
		for _, rec := range page {
			if (from != "" && rec.DecisionDate < from) || (to != "" && rec.DecisionDate > to) {
				continue
			}
			if err := ex.Write(rec); err != nil {
				return a.exportFailed(r, err)
			}
		}
		if len(page) < f.Limit {
			break
		}
		f.After = page[len(page)-1].ID
		if page, err = svc.Store.ListRecords(ctx, f); err != nil {
			return a.exportFailed(r, err)
		}
	}
	if err := ex.Close(); err != nil {
		return a.exportFailed(r, err)
	}
	return nil
}

// exportFailed ends an export whose body has begun: the status line is
// sent, so the error is logged and the connection aborted, leaving the
// client a truncated transfer rather than a complete-looking partial file.
func (a *API) exportFailed(r *http.Request, err error) error {
	a.log.ErrorContext(r.Context(), "export failed", "request_id", httpx.RequestID(r), "path", r.URL.Path, "err", err.Error())
	panic(http.ErrAbortHandler)
}

// ---- the ledger ----

func writeText(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// ledgerCheckpoint serves the current signed checkpoint (a C2SP signed
// note), signing a new one when the ledger has grown.
func (a *API) ledgerCheckpoint(w http.ResponseWriter, r *http.Request) error {
	lg, err := a.ledger()
	if err != nil {
		return err
	}
	if err := newParams(r).err(); err != nil {
		return err
	}
	signed, _, err := lg.Checkpoint(r.Context())
	if err != nil {
		return err
	}
	writeText(w, signed)
	return nil
}

// ledgerKey serves the verifier key of the checkpoints (note format).
func (a *API) ledgerKey(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.ledger(); err != nil {
		return err
	}
	if err := newParams(r).err(); err != nil {
		return err
	}
	if a.d.LedgerKey == "" {
		return errNoRecords
	}
	writeText(w, []byte(a.d.LedgerKey+"\n"))
	return nil
}

// size reads a non-negative tree size or index; required says whether it
// must be given (else 0).
func (p *params) size(name string, required bool) int64 {
	s := p.v.Get(name)
	if s == "" {
		if required {
			p.errs.Add(name, "缺少参数 %s (missing %s)", name, name)
		}
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		p.errs.Add(name, "参数 %s 必须是非负整数 (must be a non-negative integer)", name)
		return 0
	}
	return n
}

// inclusionProof proves entry index in the tree of size entries (size
// omitted: the current signed checkpoint, which the answer carries).
func (a *API) inclusionProof(w http.ResponseWriter, r *http.Request) error {
	return a.proof(w, r, "index", "size", func(ctx context.Context, lg *ledger.Log, index, size int64) (any, error) {
		return lg.Inclusion(ctx, index, size)
	})
}

// consistencyProof proves that the tree of new entries (omitted: the
// current signed checkpoint) extends the tree of old entries.
func (a *API) consistencyProof(w http.ResponseWriter, r *http.Request) error {
	return a.proof(w, r, "old", "new", func(ctx context.Context, lg *ledger.Log, oldSize, newSize int64) (any, error) {
		return lg.Consistency(ctx, oldSize, newSize)
	})
}

// proof serves a ledger proof taking a required position parameter and an
// optional tree size (0: the current signed checkpoint).
func (a *API) proof(w http.ResponseWriter, r *http.Request, pos, size string,
	prove func(ctx context.Context, lg *ledger.Log, pos, size int64) (any, error)) error {
	lg, err := a.ledger()
	if err != nil {
		return err
	}
	if err := a.d.PublicLimiter.Check(w, r); err != nil {
		return err
	}
	p := newParams(r, pos, size)
	n, m := p.size(pos, true), p.size(size, false)
	if p.v.Get(size) != "" && m == 0 {
		p.errs.Add(size, "参数 %s 必须是正整数 (%s must be positive)", size, size)
	}
	if err := p.err(); err != nil {
		return err
	}
	pr, err := prove(r.Context(), lg, n, m)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, pr)
	return nil
}

// RecordProof is every ledger entry of a record with its inclusion proof
// against one signed checkpoint.
type RecordProof struct {
	RecordID   int64                    `json:"record_id"`
	Size       int64                    `json:"size"`
	Checkpoint string                   `json:"checkpoint"`
	Entries    []*ledger.InclusionProof `json:"entries"`
}

func (a *API) recordProof(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.records()
	if err != nil {
		return err
	}
	lg, err := a.ledger()
	if err != nil {
		return err
	}
	if a.d.LedgerEntries == nil {
		return errNoRecords
	}
	if err := a.d.PublicLimiter.Check(w, r); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := newParams(r).err(); err != nil {
		return err
	}
	ctx := r.Context()
	if _, err := svc.Get(ctx, id); err != nil { // visibility as for the record
		return err
	}
	es, err := a.d.LedgerEntries.LedgerEntriesFor(ctx, record.LedgerKind, id)
	if err != nil {
		return errs.Wrap("httpapi.recordProof", err)
	}
	signed, t, err := lg.Checkpoint(ctx)
	if err != nil {
		return err
	}
	out := RecordProof{RecordID: id, Size: t.N, Checkpoint: string(signed), Entries: make([]*ledger.InclusionProof, 0, len(es))}
	for _, e := range es {
		if e.Index >= t.N {
			continue // appended after the checkpoint was read
		}
		pr, err := lg.Inclusion(ctx, e.Index, t.N)
		if err != nil {
			return err
		}
		pr.Checkpoint = "" // carried once, above
		out.Entries = append(out.Entries, pr)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}
