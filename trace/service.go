package trace

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/clock"
	"ecredit/code"
	"ecredit/errs"
	"ecredit/flight"
	"ecredit/record"
	"ecredit/registry"
)

// Recorder writes credit records: *record.Service. A recall goes in
// through it so that it is validated, put in the ledger and fed to
// platforms like any other record.
type Recorder interface {
	Ingest(ctx context.Context, in record.Input) (*record.Result, error)
}

// Service holds the rules of traceability.
type Service struct {
	Store    Store
	Subjects registry.Store
	// Records reads licence and inspection records (licence flags,
	// backward traces) and finds a recall's record again after a retry.
	Records record.Store
	// Recorder writes a recall's credit record.
	Recorder Recorder
	Clock    clock.Clock

	// ReachChunk is the fewest order items of a batch per parallel query
	// when its reach is summed (reach.go); 0 means 5,000.
	ReachChunk int

	// reachKept keeps the reach groups of big batches (reach.go).
	reachKept reachCache
	// reachFlight shares one reach computation among concurrent traces
	// of the same batch (package flight).
	reachFlight flight.Group[[]ReachGroup]
}

// Result statuses.
const (
	ResultCreated   = "created"
	ResultUnchanged = "unchanged" // the same content again: nothing written
	ResultUpdated   = "updated"   // a registered batch given again with new inputs; a site renamed
	ResultError     = "error"
)

// Tally counts the results of an ingest by status.
type Tally struct {
	Created   int `json:"created"`
	Unchanged int `json:"unchanged"`
	Failed    int `json:"failed"`
}

// Count adds a result of the status; it reports whether it failed.
func (t *Tally) Count(status string) (failed bool) {
	switch status {
	case ResultCreated:
		t.Created++
	case ResultUnchanged:
		t.Unchanged++
	default:
		t.Failed++
		return true
	}
	return false
}

// MaxBatch is the most events IngestEvents takes at once.
const MaxBatch = 1000

// MaxEventID is the longest event id (characters): an EPCIS event hash
// ("ni:///sha-256;…?ver=CBV2.0", 87) with a batch suffix fits.
const MaxEventID = 200

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return time.Now().UTC().Truncate(time.Microsecond)
	}
	return s.Clock.Now().UTC().Truncate(time.Microsecond)
}

// ParseGTIN checks a GTIN (GTIN-8/12/13/14 with its check digit) and
// returns its normalised form; field names the input.
func ParseGTIN(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errs.Field(field, "必须填写商品条码 GTIN (required)")
	}
	r := code.ParseGTIN(s)
	if !r.Valid {
		msg := "商品条码无效"
		if len(r.Errors) > 0 {
			msg += "：" + r.Errors[0]
		}
		return "", errs.Field(field, "%s (invalid GTIN)", msg)
	}
	return r.Normalized, nil
}

// gtinForms are the forms a GTIN may be stored in by other packages: as
// given (normalised) and padded to 14 digits.
func gtinForms(g string) []string {
	if len(g) < 14 {
		return []string{g, strings.Repeat("0", 14-len(g)) + g}
	}
	return []string{g}
}

// gtinLookupForms returns g first, then the other lengths the same GTIN
// can be written in: padded with zeros to 14 digits, and with leading
// zeros dropped down to GTIN-13, GTIN-12 and GTIN-8 (the check digit is
// unchanged by leading zeros).
func gtinLookupForms(g string) []string {
	out := []string{g}
	add := func(x string) {
		for _, y := range out {
			if y == x {
				return
			}
		}
		out = append(out, x)
	}
	if len(g) < 14 {
		add(strings.Repeat("0", 14-len(g)) + g)
	}
	for _, n := range []int{13, 12, 8} {
		if len(g) > n && strings.Trim(g[:len(g)-n], "0") == "" {
			add(g[len(g)-n:])
		}
	}
	return out
}

// ParseBatch checks a batch (lot) number: 1–20 characters of letters,
// digits, '-', '_' and '.' (GS1 AI 10 allows 20 characters; slashes and
// spaces are refused so that a batch fits a URL path segment).
func ParseBatch(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errs.Field(field, "必须填写批次号 (required)")
	}
	if len(s) > 20 {
		return "", errs.Field(field, "批次号最多 20 个字符 (at most 20 characters)")
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-' || c == '_' || c == '.') {
			return "", errs.Field(field, "批次号只能包含字母、数字和 - _ . (letters, digits, - _ . only)")
		}
	}
	return s, nil
}

// text checks a free-text field.
func text(l *errs.List, field, v string, max int, required bool) string {
	v = strings.TrimSpace(v)
	switch {
	case required && v == "":
		l.Add(field, "不能为空 (required)")
	case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
		l.Add(field, "不是有效的文本 (invalid text)")
	case utf8.RuneCountInString(v) > max:
		l.Add(field, "不能超过 %d 个字符 (too long)", max)
	default:
		return v
	}
	return ""
}

// ProductInput registers a product.
type ProductInput struct {
	GTIN     string `json:"gtin"`
	Name     string `json:"name"`
	Category string `json:"category"` // a category key or its Chinese name
	Brand    string `json:"brand,omitempty"`
	Spec     string `json:"spec,omitempty"`
	// ProducerCode is the unified social credit code of the producer, a
	// registered subject.
	ProducerCode string `json:"producer_code"`
}

// CreateProduct registers a product. The same content again is
// "unchanged"; a GTIN registered with other content is a Conflict.
func (s *Service) CreateProduct(ctx context.Context, in ProductInput) (*Product, string, error) {
	const op = "trace.CreateProduct"
	a := account.From(ctx)
	if anonymous(a) {
		return nil, "", errs.Wrap(op, errAuth)
	}
	var l errs.List
	g, err := ParseGTIN("gtin", in.GTIN)
	if err != nil {
		l = append(l, errs.All(err)...)
	}
	name := text(&l, "name", in.Name, 200, true)
	cat, ok := NormalizeCategory(in.Category)
	if !ok {
		l.Add("category", "未知的类别「%s」(unknown category)", clip(in.Category, 40))
	}
	brand := text(&l, "brand", in.Brand, 100, false)
	spec := text(&l, "spec", in.Spec, 100, false)
	producer, perr := s.subjectByCode(ctx, "producer_code", in.ProducerCode)
	if perr != nil {
		l = append(l, errs.All(perr)...)
	}
	if err := l.Err(); err != nil {
		return nil, "", errs.Wrap(op, err)
	}
	if err := mayManage(a, producer.ID); err != nil {
		return nil, "", errs.Wrap(op, err)
	}
	now := s.now()
	p := &Product{GTIN: g, Name: name, Category: cat, Brand: brand, Spec: spec, ProducerID: producer.ID, CreatedBy: a.AccountID, CreatedAt: now, UpdatedAt: now}
	same := func(x *Product) bool {
		return x.Name == p.Name && x.Category == p.Category && x.Brand == p.Brand && x.Spec == p.Spec && x.ProducerID == p.ProducerID
	}
	if ex, err := s.Store.GetProduct(ctx, g); err == nil {
		if same(ex) {
			return ex, ResultUnchanged, nil
		}
		return nil, "", &errs.Error{Code: errs.Conflict, Op: op, Field: "gtin", Message: "该商品条码已登记为其他产品 (GTIN already registered with other content)"}
	} else if !errs.Is(err, errs.NotFound) {
		return nil, "", errs.Wrap(op, err)
	}
	if err := s.Store.CreateProduct(ctx, p, a.Audit(audit.ActCreate, "trace_product", g+" "+name)); err != nil {
		return nil, "", errs.Wrap(op, err)
	}
	return p, ResultCreated, nil
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// subjectByCode finds a registered organisation by its credit code.
func (s *Service) subjectByCode(ctx context.Context, field, c string) (*registry.Subject, error) {
	c = strings.TrimSpace(c)
	if c == "" {
		return nil, errs.Field(field, "必须填写统一社会信用代码 (required)")
	}
	r := code.ParseUSCC(c)
	if !r.Valid {
		return nil, errs.Field(field, "统一社会信用代码「%s」无效 (invalid credit code)", clip(c, 30))
	}
	sub, err := s.Subjects.FindSubjectByCode(ctx, r.Normalized)
	if errs.Is(err, errs.NotFound) {
		return nil, errs.Field(field, "统一社会信用代码 %s 的主体未登记 (subject not registered)", r.Normalized)
	}
	return sub, err
}

// GetProduct returns a registered product (public data).
func (s *Service) GetProduct(ctx context.Context, gtin string) (*Product, error) {
	const op = "trace.GetProduct"
	g, err := ParseGTIN("gtin", gtin)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	p, err := s.Store.GetProduct(ctx, g)
	return p, errs.Wrap(op, err)
}

// BatchInput registers a batch of a registered product.
type BatchInput struct {
	GTIN       string `json:"gtin"`
	Batch      string `json:"batch"`
	ProducedOn string `json:"produced_on"`          // production date
	ExpiresOn  string `json:"expires_on,omitempty"` // expiry date
	Quantity   int64  `json:"quantity,omitempty"`   // how much was made
	// UOM is the unit of Quantity, as an input's (Units): "" (units) for a
	// product, KGM for a raw lot weighed in kilograms.
	UOM string `json:"uom,omitempty"`
	// Inputs are the batches it was made from (lineage.go), recorded with
	// it in one transaction.
	Inputs []InputRef `json:"inputs,omitempty"`
}

// CreateBatch registers a batch with its inputs. The same content again
// is "unchanged" — inputs not recorded yet are then added (AddInputs'
// rules), and the status is "updated" if any was; the batch registered
// with other dates or quantity is a Conflict.
func (s *Service) CreateBatch(ctx context.Context, in BatchInput) (*Batch, string, error) {
	const op = "trace.CreateBatch"
	a := account.From(ctx)
	if anonymous(a) {
		return nil, "", errs.Wrap(op, errAuth)
	}
	var l errs.List
	g, err := ParseGTIN("gtin", in.GTIN)
	if err != nil {
		l = append(l, errs.All(err)...)
	}
	bn, err := ParseBatch("batch", in.Batch)
	if err != nil {
		l = append(l, errs.All(err)...)
	}
	now := s.now()
	today := record.DateOf(now)
	var produced, expires record.Date
	if strings.TrimSpace(in.ProducedOn) == "" {
		l.Add("produced_on", "必须填写生产日期 (required)")
	} else if d, err := record.ParseDate(in.ProducedOn); err != nil {
		l.Add("produced_on", "生产日期%s", err.Error())
	} else if d > today {
		l.Add("produced_on", "生产日期 %s 晚于今天 (date in the future)", d)
	} else {
		produced = d
	}
	if strings.TrimSpace(in.ExpiresOn) != "" {
		if d, err := record.ParseDate(in.ExpiresOn); err != nil {
			l.Add("expires_on", "有效期至%s", err.Error())
		} else if produced != "" && d < produced {
			l.Add("expires_on", "有效期至 %s 早于生产日期 %s (expiry before production)", d, produced)
		} else {
			expires = d
		}
	}
	if in.Quantity < 0 || in.Quantity > 1e12 {
		l.Add("quantity", "数量必须是 0 到 10^12 之间的整数 (quantity out of range)")
	}
	uom := checkUOM(&l, "uom", in.UOM, in.Quantity != 0)
	if err := l.Err(); err != nil {
		return nil, "", errs.Wrap(op, err)
	}
	p, err := s.Store.GetProduct(ctx, g)
	if errs.Is(err, errs.NotFound) {
		return nil, "", errs.Wrap(op, errs.Field("gtin", "商品条码 %s 的产品未登记，请先登记产品 (product not registered)", g))
	} else if err != nil {
		return nil, "", errs.Wrap(op, err)
	}
	if err := mayManage(a, p.ProducerID); err != nil {
		return nil, "", errs.Wrap(op, err)
	}
	b := &Batch{ProductID: p.ID, GTIN: g, Batch: bn, ProducedOn: string(produced), ExpiresOn: string(expires), Quantity: in.Quantity, UOM: uom,
		ProducerID: p.ProducerID, Status: BatchNormal, CreatedBy: a.AccountID, CreatedAt: now, UpdatedAt: now}
	if ex, err := s.Store.GetBatch(ctx, g, bn); err == nil {
		if ex.ProducedOn != b.ProducedOn || ex.ExpiresOn != b.ExpiresOn || ex.Quantity != b.Quantity || ex.UOM != b.UOM {
			return nil, "", &errs.Error{Code: errs.Conflict, Op: op, Field: "batch", Message: "该批次已登记且内容不同 (batch already registered with other content)"}
		}
		if len(in.Inputs) == 0 {
			return ex, ResultUnchanged, nil
		}
		_, created, err := s.addInputs(ctx, a, ex, in.Inputs, now)
		switch {
		case err != nil:
			return nil, "", errs.Wrap(op, err)
		case !created:
			return ex, ResultUnchanged, nil
		}
		return ex, ResultUpdated, nil
	} else if !errs.Is(err, errs.NotFound) {
		return nil, "", errs.Wrap(op, err)
	}
	err = s.guarded(ctx, func(gen int64) error {
		news, _, err := s.checkInputs(ctx, a, b, in.Inputs, now)
		if err != nil {
			return err
		}
		if len(news) == 0 {
			gen = NoLineageCheck // a batch made from nothing recorded checks nothing
		}
		return s.Store.CreateBatch(ctx, b, news, gen, a.Audit(audit.ActCreate, "trace_batch", g+"/"+bn))
	})
	if err != nil {
		return nil, "", errs.Wrap(op, err)
	}
	return b, ResultCreated, nil
}

// GetBatch returns a batch with its product.
func (s *Service) GetBatch(ctx context.Context, gtin, batch string) (*Batch, *Product, error) {
	const op = "trace.GetBatch"
	g, bn, err := parseKey(gtin, batch)
	if err != nil {
		return nil, nil, errs.Wrap(op, err)
	}
	b, err := s.Store.GetBatch(ctx, g, bn)
	if err != nil {
		return nil, nil, errs.Wrap(op, err)
	}
	p, err := s.Store.GetProduct(ctx, g)
	if err != nil {
		return nil, nil, errs.Wrap(op, err)
	}
	return b, p, nil
}

func parseKey(gtin, batch string) (string, string, error) {
	var l errs.List
	g, err := ParseGTIN("gtin", gtin)
	if err != nil {
		l = append(l, errs.All(err)...)
	}
	bn, err := ParseBatch("batch", batch)
	if err != nil {
		l = append(l, errs.All(err)...)
	}
	return g, bn, l.Err()
}

// EventInput is one trace event as submitted.
type EventInput struct {
	// EventID is the submitter's own id for the event: a resubmission
	// with the same id is recognised (idempotent).
	EventID string    `json:"event_id"`
	Type    EventType `json:"type"`
	GTIN    string    `json:"gtin"`
	Batch   string    `json:"batch"`
	// Time is when it happened, RFC 3339 ("2026-05-01T10:00:00+08:00").
	Time   string `json:"time"`
	Region string `json:"region,omitempty"` // GB/T 2260 code of the place
	// ReadPoint and BizLocation are GS1 locations (EPCIS readPoint and
	// bizLocation): an SGLN URI or a Digital Link of a GLN (ParseLocation).
	ReadPoint   string `json:"read_point,omitempty"`
	BizLocation string `json:"biz_location,omitempty"`
	// SubjectCode is the credit code of the subject where it happened
	// (a producer, an inspection body, a warehouse); it must be
	// registered.
	SubjectCode string `json:"subject_code,omitempty"`
	ShopID      int64  `json:"shop_id,omitempty"` // the shop (listed, sold, reviewed, complained)
	BizStep     string `json:"biz_step,omitempty"`
	// Disposition: for inspected events conformant or non_conformant
	// (required).
	Disposition string `json:"disposition,omitempty"`
	RefType     string `json:"ref_type,omitempty"`
	Ref         string `json:"ref,omitempty"` // required for inspected events: the report number
	Quantity    int64  `json:"quantity,omitempty"`
	Note        string `json:"note,omitempty"`
}

// EventResult is the fate of one submitted event.
type EventResult struct {
	Line   int    `json:"line"`
	Status string `json:"status"` // created | unchanged | error
	ID     int64  `json:"id,omitempty"`
	Event  *Event `json:"-"`
	Err    error  `json:"-"`
}

// IngestEvent stores one event (see IngestEvents); a bad event is an error.
func (s *Service) IngestEvent(ctx context.Context, in EventInput) (*EventResult, error) {
	res, err := s.IngestEvents(ctx, []EventInput{in})
	if err != nil {
		return nil, err
	}
	if res[0].Err != nil {
		return nil, res[0].Err
	}
	return &res[0], nil
}

// batchCache remembers the batches, subjects and shops a call has looked up.
type batchCache struct {
	batches  map[string]*Batch
	subjects map[string]*registry.Subject
	shops    map[int64]*registry.Shop
}

// IngestEvents validates and stores up to MaxBatch events. Every input
// gets a result in order; good events are stored (in one transaction) even
// when others are bad. An event id the source already used is "unchanged"
// when the content is the same and an error otherwise.
func (s *Service) IngestEvents(ctx context.Context, ins []EventInput) ([]EventResult, error) {
	const op = "trace.IngestEvents"
	a := account.From(ctx)
	if anonymous(a) {
		return nil, errs.Wrap(op, errAuth)
	}
	if len(ins) > MaxBatch {
		return nil, &errs.Error{Code: errs.TooLarge, Op: op, Message: fmt.Sprintf("一次最多提交 %d 条事件 (at most %d events per batch)", MaxBatch, MaxBatch)}
	}
	now := s.now()
	key := SourceKey(a)
	out := make([]EventResult, len(ins))
	c := &batchCache{batches: map[string]*Batch{}, subjects: map[string]*registry.Subject{}, shops: map[int64]*registry.Shop{}}
	var ids []string
	for i, in := range ins {
		out[i].Line = i + 1
		ev, err := s.checkEvent(ctx, a, in, now, c)
		if err != nil {
			if c := errs.CodeOf(err); c == errs.Internal || c == errs.Unavailable {
				return nil, errs.Wrap(op, err)
			}
			out[i].Status, out[i].Err = ResultError, errs.Wrap(op, err)
			continue
		}
		ev.SourceKey, ev.ActorID, ev.ActorName, ev.RecordedAt = key, a.AccountID, a.Name, now
		out[i].Event = ev
		ids = append(ids, ev.EventID)
	}
	existing := map[string]*Event{}
	if len(ids) > 0 {
		var err error
		if existing, err = s.Store.FindEvents(ctx, key, ids); err != nil {
			return nil, errs.Wrap(op, err)
		}
	}
	var fresh []*Event
	var freshAt []int
	for i := range out {
		ev := out[i].Event
		if ev == nil {
			continue
		}
		if ex, ok := existing[ev.EventID]; ok {
			if sameEvent(ex, ev) {
				if ex.ID != 0 {
					out[i].Status, out[i].ID, out[i].Event = ResultUnchanged, ex.ID, ex
				} // else a repeat within this batch: settled below
				continue
			}
			out[i].Status, out[i].Event = ResultError, nil
			out[i].Err = &errs.Error{Code: errs.Conflict, Op: op, Field: "event_id", Message: fmt.Sprintf("事件编号「%s」已用于内容不同的事件 (event id already used for another event)", ev.EventID)}
			continue
		}
		existing[ev.EventID] = ev
		fresh = append(fresh, ev)
		freshAt = append(freshAt, i)
	}
	if len(fresh) > 0 {
		entry := a.Audit(audit.ActCreate, "trace_events", fmt.Sprintf("%d events", len(fresh)))
		if err := s.Store.CreateEvents(ctx, fresh, entry); err != nil {
			if !errs.Is(err, errs.Conflict) {
				return nil, errs.Wrap(op, err)
			}
			// A concurrent submission of one of the ids: store one by one.
			for k, ev := range fresh {
				ev.ID = 0
				if err := s.Store.CreateEvents(ctx, []*Event{ev}, a.Audit(audit.ActCreate, "trace_events", "1 event")); err != nil {
					if !errs.Is(err, errs.Conflict) {
						return nil, errs.Wrap(op, err)
					}
					out[freshAt[k]].Status, out[freshAt[k]].Event = ResultError, nil
					out[freshAt[k]].Err = &errs.Error{Code: errs.Conflict, Op: op, Field: "event_id", Message: fmt.Sprintf("事件编号「%s」已被同时提交 (event id submitted concurrently)", ev.EventID)}
				}
			}
		}
		for k, ev := range fresh {
			if out[freshAt[k]].Err == nil {
				out[freshAt[k]].Status, out[freshAt[k]].ID = ResultCreated, ev.ID
			}
		}
	}
	for i := range out {
		if out[i].Status == "" { // a repeat of an id earlier in this batch
			ev := out[i].Event
			first := existing[ev.EventID]
			if first.ID == 0 {
				out[i].Status, out[i].Event = ResultError, nil
				out[i].Err = &errs.Error{Code: errs.Conflict, Op: op, Field: "event_id", Message: fmt.Sprintf("事件编号「%s」已被同时提交 (event id submitted concurrently)", ev.EventID)}
				continue
			}
			out[i].Status, out[i].ID, out[i].Event = ResultUnchanged, first.ID, first
		}
	}
	return out, nil
}

// sameEvent reports whether b, sent with the event id of a (stored, or
// earlier in the request), is the same event. A location a lacks does not
// tell them apart: every event stored before 00026 lacks both, and a
// source sending its documents again, now with their readPoint, repeats
// those events (stored events are never changed).
func sameEvent(a, b *Event) bool {
	sameAt := func(x, y string) bool { return x == y || x == "" }
	return a.Type == b.Type && a.GTIN == b.GTIN && a.Batch == b.Batch && a.At.Equal(b.At) && a.Region == b.Region &&
		sameAt(a.ReadPoint, b.ReadPoint) && sameAt(a.BizLocation, b.BizLocation) &&
		a.SubjectID == b.SubjectID && a.ShopID == b.ShopID && a.BizStep == b.BizStep && a.Disposition == b.Disposition &&
		a.RefType == b.RefType && a.Ref == b.Ref && a.Quantity == b.Quantity && a.Note == b.Note
}

// checkEvent validates one event input and checks the actor may submit it.
func (s *Service) checkEvent(ctx context.Context, a account.Actor, in EventInput, now time.Time, c *batchCache) (*Event, error) {
	var l errs.List
	ev := &Event{Type: in.Type}
	ev.EventID = text(&l, "event_id", in.EventID, MaxEventID, true)
	if !in.Type.Valid() {
		var ts []string
		for _, t := range EventTypes {
			ts = append(ts, string(t))
		}
		l.Add("type", "未知的事件类型「%s」，可用：%s (unknown event type)", clip(string(in.Type), 30), strings.Join(ts, "、"))
	}
	g, err := ParseGTIN("gtin", in.GTIN)
	if err != nil {
		l = append(l, errs.All(err)...)
	}
	bn, err := ParseBatch("batch", in.Batch)
	if err != nil {
		l = append(l, errs.All(err)...)
	}
	ev.GTIN, ev.Batch = g, bn
	if strings.TrimSpace(in.Time) == "" {
		l.Add("time", "必须填写发生时间 (required)")
	} else if t, err := time.Parse(time.RFC3339, strings.TrimSpace(in.Time)); err != nil {
		l.Add("time", "时间「%s」应为 RFC 3339 格式，如 2026-05-01T10:00:00+08:00 (time must be RFC 3339)", clip(in.Time, 40))
	} else if t = t.UTC().Truncate(time.Microsecond); t.After(now.Add(10 * time.Minute)) {
		l.Add("time", "发生时间 %s 晚于当前时间 (time in the future)", t.In(clock.Shanghai).Format("2006-01-02 15:04"))
	} else {
		ev.At = t
	}
	if r := strings.TrimSpace(in.Region); r != "" {
		if !code.KnownRegion(r) {
			l.Add("region", "行政区划代码「%s」无效 (unknown GB/T 2260 region)", clip(r, 20))
		}
		ev.Region = r
	}
	for _, f := range []struct {
		field, in string
		out       *string
	}{{"read_point", in.ReadPoint, &ev.ReadPoint}, {"biz_location", in.BizLocation, &ev.BizLocation}} {
		loc, err := ParseLocation(f.field, f.in)
		if err != nil {
			l = append(l, errs.All(err)...)
		}
		*f.out = loc
	}
	ev.BizStep = strings.TrimSpace(in.BizStep)
	if ev.BizStep == "" {
		ev.BizStep = defaultStep[in.Type]
	} else if _, ok := Steps[ev.BizStep]; !ok {
		l.Add("biz_step", "未知的业务步骤「%s」(unknown business step)", clip(ev.BizStep, 30))
	}
	ev.Disposition = strings.TrimSpace(in.Disposition)
	switch {
	case in.Type == EventInspected && ev.Disposition != "conformant" && ev.Disposition != "non_conformant":
		l.Add("disposition", "检验事件的 disposition 必须是 conformant（合格）或 non_conformant（不合格）(inspection result required)")
	case ev.Disposition == "":
		ev.Disposition = defaultDisposition[in.Type]
	default:
		if _, ok := Dispositions[ev.Disposition]; !ok {
			l.Add("disposition", "未知的处置状态「%s」(unknown disposition)", clip(ev.Disposition, 30))
		}
	}
	ev.RefType = strings.TrimSpace(in.RefType)
	ev.Ref = text(&l, "ref", in.Ref, 100, in.Type == EventInspected)
	if ev.RefType == "" && in.Type == EventInspected {
		ev.RefType = "inspection_report"
	}
	if _, ok := RefTypes[ev.RefType]; ev.RefType != "" && !ok {
		l.Add("ref_type", "未知的引用类型「%s」(unknown reference type)", clip(ev.RefType, 30))
	}
	if ev.Ref != "" && ev.RefType == "" {
		l.Add("ref_type", "填写 ref 时必须填写 ref_type (ref needs its type)")
	}
	if in.Quantity < 0 || in.Quantity > 1e12 {
		l.Add("quantity", "数量必须是 0 到 10^12 之间的整数 (quantity out of range)")
	}
	ev.Quantity = in.Quantity
	ev.Note = text(&l, "note", in.Note, 500, false)
	if in.ShopID < 0 {
		l.Add("shop_id", "店铺编号必须是正整数 (must be positive)")
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	b, err := s.cachedBatch(ctx, c, g, bn)
	if err != nil {
		return nil, err
	}
	ev.GTIN = b.GTIN // as registered
	if ev.At.Before(record.Date(b.ProducedOn).Time()) {
		return nil, errs.Field("time", "发生时间早于该批次的生产日期 %s (before the batch was produced)", b.ProducedOn)
	}
	shopOwned, err := mayPost(a, in.Type, b.ProducerID)
	if err != nil {
		return nil, err
	}
	if in.SubjectCode != "" {
		sub, ok := c.subjects[in.SubjectCode]
		if !ok {
			if sub, err = s.subjectByCode(ctx, "subject_code", in.SubjectCode); err != nil {
				return nil, err
			}
			c.subjects[in.SubjectCode] = sub
		}
		ev.SubjectID = sub.ID
		if ev.Region == "" {
			ev.Region = sub.RegionCode
		}
	}
	if in.ShopID > 0 {
		sh, ok := c.shops[in.ShopID]
		if !ok {
			sh, err = s.Subjects.GetShop(ctx, in.ShopID)
			if errs.Is(err, errs.NotFound) {
				return nil, errs.Field("shop_id", "店铺 %d 不存在 (shop not found)", in.ShopID)
			} else if err != nil {
				return nil, err
			}
			c.shops[in.ShopID] = sh
		}
		ev.ShopID = sh.ID
	}
	if shopOwned {
		if in.ShopID == 0 {
			return nil, errs.Field("shop_id", "平台报送「%s」事件必须填写本平台的店铺编号 (shop_id required)", in.Type.Label())
		}
		if c.shops[in.ShopID].PlatformID != a.SubjectID || a.SubjectID == 0 {
			return nil, &errs.Error{Code: errs.Forbidden, Field: "shop_id", Message: fmt.Sprintf("店铺 %d 不在本平台 (shop is not on your platform)", in.ShopID)}
		}
	}
	return ev, nil
}

func (s *Service) cachedBatch(ctx context.Context, c *batchCache, g, bn string) (*Batch, error) {
	k := g + "\x00" + bn
	if b, ok := c.batches[k]; ok {
		if b == nil {
			return nil, errs.Field("batch", "批次 %s/%s 未登记 (batch not registered)", g, bn)
		}
		return b, nil
	}
	b, err := s.findBatch(ctx, g, bn)
	if errs.Is(err, errs.NotFound) {
		c.batches[k] = nil
		return nil, errs.Field("batch", "批次 %s/%s 未登记 (batch not registered)", g, bn)
	}
	if err != nil {
		return nil, err
	}
	c.batches[k] = b
	return b, nil
}

// findBatch finds a batch by a GTIN written with any number of leading
// zeros (gtinLookupForms: a GS1 Digital Link or an order may pad it to
// 14 digits, or the batch may have been registered so); NotFound when
// none of its forms is registered.
func (s *Service) findBatch(ctx context.Context, g, bn string) (*Batch, error) {
	var err error
	for _, form := range gtinLookupForms(g) {
		var b *Batch
		if b, err = s.Store.GetBatch(ctx, form, bn); !errs.Is(err, errs.NotFound) {
			return b, err
		}
	}
	return nil, err
}
