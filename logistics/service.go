package logistics

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/clock"
	"ecredit/code"
	"ecredit/errs"
	"ecredit/par"
	"ecredit/pii"
	"ecredit/registry"
)

// Service holds every rule of parcels, tracking and grading.
type Service struct {
	Store    Store
	Subjects Subjects
	Keys     *pii.Keys
	Clock    clock.Clock
	Policy   *Policy // nil: DefaultPolicy()

	// counts keeps firms' parcel counts for a while (cache.go).
	counts countsCache
}

// MaxBatch is the most lines one ingest takes.
const MaxBatch = 1000

// Future is how far in the future an event time may lie (clock skew).
const Future = 10 * time.Minute

// Result statuses.
const (
	ResultCreated   = "created"
	ResultUpdated   = "updated"   // a parcel resubmitted with other data
	ResultUnchanged = "unchanged" // already stored as it is
	ResultError     = "error"
)

// Result is the fate of one ingested line.
type Result struct {
	Line   int    `json:"line"` // 1-based position in the batch
	Status string `json:"status"`
	ID     int64  `json:"id,omitempty"` // the parcel (of a parcel line, or the parcel an event line was stored on)
	Err    error  `json:"-"`
}

// ParcelInput is a parcel as a firm reports it.
type ParcelInput struct {
	Waybill string `json:"waybill"`
	WeightG int64  `json:"weight_g"`
	Origin  string `json:"origin"` // GB/T 2260
	Dest    string `json:"dest"`   // GB/T 2260
	// Courier is the firm's own code of the courier.
	Courier string `json:"courier,omitempty"`
	// CourierIDNumber is the resident ID number of a registered courier:
	// looked up by its HMAC index, never stored.
	CourierIDNumber string `json:"courier_id_number,omitempty"`
	PromisedAt      string `json:"promised_at,omitempty"` // RFC 3339, or "2006-01-02 15:04[:05]" in Asia/Shanghai
}

// EventInput is a tracking event as a firm (or, for complaints, a
// department) reports it.
type EventInput struct {
	Waybill   string `json:"waybill"`
	Type      string `json:"type"`
	At        string `json:"at"`
	Region    string `json:"region,omitempty"`
	SignedBy  string `json:"signed_by,omitempty"` // signed: recipient | locker | proxy
	Exception string `json:"exception,omitempty"` // exception: lost | damaged | delayed | …
	Courier   string `json:"courier,omitempty"`
	Note      string `json:"note,omitempty"`
}

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return time.Now().UTC().Truncate(time.Microsecond)
	}
	return s.Clock.Now().UTC().Truncate(time.Microsecond)
}

// policy returns the grading policy.
func (s *Service) policy() Policy {
	if s.Policy == nil {
		return DefaultPolicy()
	}
	return *s.Policy
}

// PolicyInUse returns the grading policy the service applies.
func (s *Service) PolicyInUse() Policy { return s.policy() }

// firmFor resolves the firm a call acts on: a logistics account's own
// firm (firm, when given, must be it), else the firm with the credit code
// firm (or the id "id:N").
func (s *Service) firmFor(ctx context.Context, a account.Actor, firm string) (*registry.Subject, error) {
	firm = strings.TrimSpace(firm)
	var sub *registry.Subject
	var err error
	if ownFirmOnly(a) {
		if a.SubjectID == 0 {
			return nil, &errs.Error{Code: errs.Forbidden, Message: "该物流企业账户未绑定企业主体，请联系市信用办 (the account is bound to no firm)"}
		}
		if sub, err = s.Subjects.GetSubject(ctx, a.SubjectID); err != nil {
			return nil, err
		}
		if firm != "" && !strings.EqualFold(firm, sub.CreditCode) && firm != fmt.Sprint("id:", sub.ID) {
			return nil, &errs.Error{Code: errs.Forbidden, Field: "firm", Message: "物流企业账户只能报送和查询本企业的运单 (a logistics account acts for its own firm only)"}
		}
	} else {
		if firm == "" {
			return nil, errs.Field("firm", "请用 firm 指明物流企业的统一社会信用代码 (firm is required)")
		}
		if id, ok := strings.CutPrefix(firm, "id:"); ok {
			var n int64
			if _, e := fmt.Sscan(id, &n); e != nil || n <= 0 {
				return nil, errs.Field("firm", "物流企业 id「%s」无效 (bad firm id)", clip(id))
			}
			sub, err = s.Subjects.GetSubject(ctx, n)
		} else {
			r := code.ParseUSCC(firm)
			if !r.Valid {
				return nil, errs.Field("firm", "物流企业的统一社会信用代码无效：%s (invalid credit code)", strings.Join(r.Errors, "；"))
			}
			sub, err = s.Subjects.FindSubjectByCode(ctx, r.Normalized)
		}
		if errs.Is(err, errs.NotFound) {
			return nil, &errs.Error{Code: errs.NotFound, Field: "firm", Message: "未找到该物流企业 (no such firm)"}
		}
		if err != nil {
			return nil, err
		}
	}
	if sub.Kind != registry.KindLogistics {
		return nil, errs.Field("firm", "主体「%s」不是寄递物流企业 (not a logistics firm)", sub.Name)
	}
	return sub, nil
}

func clip(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	return string([]rune(s)[:40]) + "…"
}

// ParseTime reads a time: RFC 3339, or "2006-01-02 15:04[:05]" (also with
// "/" or "T") in Asia/Shanghai.
func ParseTime(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC().Truncate(time.Microsecond), nil
	}
	n := strings.ReplaceAll(strings.Replace(v, "T", " ", 1), "/", "-")
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-1-2 15:04:05", "2006-1-2 15:04"} {
		if t, err := time.ParseInLocation(layout, n, clock.Shanghai); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("时间「%s」格式不对，应为 RFC 3339（如 2026-03-01T08:30:00+08:00）或「2026-03-01 08:30:00」(bad time)", clip(v))
}

// earliest is the earliest plausible time of a logistics event.
var earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func checkWaybill(l *errs.List, w string) {
	switch {
	case w == "":
		l.Add("waybill", "运单号不能为空 (waybill is required)")
	case len(w) > 40:
		l.Add("waybill", "运单号不能超过 40 个字符 (waybill too long)")
	default:
		for _, c := range w {
			if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-' || c == '_') {
				l.Add("waybill", "运单号「%s」只能包含字母、数字、- 和 _ (invalid waybill)", clip(w))
				return
			}
		}
	}
}

func checkRegion(l *errs.List, field, v string, required bool) string {
	v = strings.TrimSpace(v)
	if v == "" {
		if required {
			l.Add(field, "行政区划代码不能为空 (region code is required)")
		}
		return ""
	}
	r := code.ParseRegion(v)
	if !r.Valid {
		l.Add(field, "%s", strings.Join(r.Errors, "；"))
		return ""
	}
	return r.Normalized
}

func checkCourierCode(l *errs.List, field, v string) string {
	v = strings.TrimSpace(v)
	switch {
	case utf8.RuneCountInString(v) > 32:
		l.Add(field, "快递员编号不能超过 32 个字符 (courier code too long)")
	case strings.ContainsAny(v, "\x00\r\n\t"):
		l.Add(field, "快递员编号不能包含控制字符 (control characters)")
	}
	return v
}

// couriers resolves courier ID numbers by HMAC index within one batch.
type couriers struct {
	s    *Service
	byIx map[string]*registry.Subject // hex index → subject (nil: not a courier)
}

func (c *couriers) find(ctx context.Context, idNumber string, now time.Time) (int64, error) {
	r := code.ParseID(idNumber, now)
	if !r.Valid {
		return 0, errs.Field("courier_id_number", "快递员公民身份号码无效：%s (invalid ID number)", strings.Join(r.Errors, "；"))
	}
	if c.s.Keys == nil {
		return 0, &errs.Error{Code: errs.Unavailable, Message: "个人信息密钥未配置 (no PII key)"}
	}
	ix := c.s.Keys.Index(pii.KindIDNumber, r.Normalized)
	k := hex.EncodeToString(ix)
	sub, ok := c.byIx[k]
	if !ok {
		found, err := c.s.Subjects.FindSubjectByIDIndex(ctx, ix)
		switch {
		case errs.Is(err, errs.NotFound):
		case err != nil:
			return 0, err
		case found.Kind == registry.KindCourier:
			sub = found
		}
		c.byIx[k] = sub
	}
	if sub == nil {
		return 0, errs.Field("courier_id_number", "该身份号码未登记为快递员，请先在实名登记中登记 (no courier registered with this ID number)")
	}
	return sub.ID, nil
}

// IngestParcels stores the parcels of a firm (see firmFor). Each line gets
// its own result; good lines are stored even when others are bad. A
// waybill reported again with the same data is unchanged; with other data
// its parcel is updated.
func (s *Service) IngestParcels(ctx context.Context, firm string, ins []ParcelInput) ([]Result, error) {
	const op = "logistics.IngestParcels"
	a := account.From(ctx)
	if !Can(a, ScopeParcelsWrite) {
		return nil, errs.Wrap(op, denied(a, "报送运单"))
	}
	if len(ins) > MaxBatch {
		return nil, &errs.Error{Code: errs.TooLarge, Op: op, Message: fmt.Sprintf("一批最多 %d 条 (at most %d lines a batch)", MaxBatch, MaxBatch)}
	}
	f, err := s.firmFor(ctx, a, firm)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	defer s.counts.forget(f.ID) // its grade's counts are stale now
	now := s.now()
	out := make([]Result, len(ins))
	ps := make([]*Parcel, len(ins))
	first := map[string]int{}
	cs := &couriers{s: s, byIx: map[string]*registry.Subject{}}
	var waybills []string
	for i, in := range ins {
		out[i] = Result{Line: i + 1}
		p, err := s.checkParcel(ctx, cs, f.ID, in, now)
		if err == nil {
			if j, dup := first[p.Waybill]; dup {
				err = errs.Field("waybill", "运单号「%s」与第 %d 行重复 (duplicate waybill in the batch)", p.Waybill, j+1)
			} else {
				first[p.Waybill] = i
				waybills = append(waybills, p.Waybill)
			}
		}
		if err != nil {
			out[i].Status, out[i].Err = ResultError, errs.Wrap(op, err)
			continue
		}
		ps[i] = p
	}
	existing, err := s.Store.FindParcels(ctx, f.ID, waybills)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	var save []*Parcel
	var at []int
	for i, p := range ps {
		if p == nil {
			continue
		}
		if ex := existing[p.Waybill]; ex != nil {
			if sameParcel(ex, p) {
				out[i].Status, out[i].ID = ResultUnchanged, ex.ID
				continue
			}
			up := *ex
			up.WeightG, up.Origin, up.Dest, up.CourierID, up.CourierCode, up.PromisedAt = p.WeightG, p.Origin, p.Dest, p.CourierID, p.CourierCode, p.PromisedAt
			up.UpdatedAt = now
			ps[i] = &up
			out[i].Status = ResultUpdated
		} else {
			out[i].Status = ResultCreated
		}
		save = append(save, ps[i])
		at = append(at, i)
	}
	if len(save) == 0 {
		return out, nil
	}
	entry := func(n int) *audit.Entry {
		return a.Audit(audit.ActCreate, fmt.Sprintf("logistics:%d", f.ID), fmt.Sprintf("报送运单 %d 件 (parcels)", n))
	}
	if err := s.Store.SaveParcels(ctx, save, entry(len(save))); err != nil {
		// One line at a time, so that one failure does not take the
		// others down.
		for k, p := range save {
			if p.ID == 0 || out[at[k]].Status == ResultUpdated {
				if err := s.Store.SaveParcels(ctx, []*Parcel{p}, entry(1)); err != nil {
					out[at[k]].Status, out[at[k]].Err = ResultError, errs.Wrap(op, err)
					continue
				}
			}
			out[at[k]].ID = p.ID
		}
		return out, nil
	}
	for k, p := range save {
		out[at[k]].ID = p.ID
	}
	return out, nil
}

func sameParcel(a, b *Parcel) bool {
	return a.WeightG == b.WeightG && a.Origin == b.Origin && a.Dest == b.Dest && a.CourierID == b.CourierID &&
		a.CourierCode == b.CourierCode && a.PromisedAt.Equal(b.PromisedAt)
}

func (s *Service) checkParcel(ctx context.Context, cs *couriers, firmID int64, in ParcelInput, now time.Time) (*Parcel, error) {
	var l errs.List
	p := &Parcel{FirmID: firmID, Waybill: strings.TrimSpace(in.Waybill), WeightG: in.WeightG, Status: StatusCreated,
		CreatedAt: now, UpdatedAt: now, Version: 1}
	checkWaybill(&l, p.Waybill)
	if in.WeightG < 0 || in.WeightG > 100_000_000 {
		l.Add("weight_g", "重量应为 0 到 100000000 克 (weight must be 0–100 t in grams)")
	}
	p.Origin = checkRegion(&l, "origin", in.Origin, true)
	p.Dest = checkRegion(&l, "dest", in.Dest, true)
	p.CourierCode = checkCourierCode(&l, "courier", in.Courier)
	if v := strings.TrimSpace(in.PromisedAt); v != "" {
		t, err := ParseTime(v)
		switch {
		case err != nil:
			l.Add("promised_at", "%s", err.Error())
		case t.Before(earliest):
			l.Add("promised_at", "承诺送达时间 %s 早于 2000 年，不合理 (implausible time)", when(t))
		default:
			p.PromisedAt = t
		}
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	if v := strings.TrimSpace(in.CourierIDNumber); v != "" {
		id, err := cs.find(ctx, v, now)
		if err != nil {
			return nil, err
		}
		p.CourierID = id
	}
	derive(p)
	return p, nil
}

// checkEvent validates an event's own fields.
func checkEvent(in EventInput, now time.Time) (waybill string, ev *Event, err error) {
	c := eventChecker{now: now}
	ev = new(Event)
	waybill, err = c.check(in, ev)
	return waybill, ev, err
}

// eventChecker validates the events of one batch. It remembers the valid
// region codes it has parsed: a batch names few regions, each many times,
// and parsing one also builds its full name.
type eventChecker struct {
	now     time.Time
	regions map[string]string // as given → normalized; nil: remember none
}

// check validates in and fills ev with its fields.
func (c *eventChecker) check(in EventInput, ev *Event) (waybill string, err error) {
	now := c.now
	var l errs.List
	waybill = strings.TrimSpace(in.Waybill)
	checkWaybill(&l, waybill)
	*ev = Event{Type: EventType(strings.TrimSpace(in.Type)), Note: strings.TrimSpace(in.Note)}
	known := false
	for _, t := range EventTypes {
		known = known || t == ev.Type
	}
	if !known {
		var names []string
		for _, t := range EventTypes {
			names = append(names, string(t))
		}
		l.Add("type", "未知的事件类型「%s」，应为 %s 之一 (unknown event type)", clip(in.Type), strings.Join(names, "|"))
	}
	if strings.TrimSpace(in.At) == "" {
		l.Add("at", "事件时间不能为空 (at is required)")
	} else if t, err := ParseTime(in.At); err != nil {
		l.Add("at", "%s", err.Error())
	} else if t.After(now.Add(Future)) {
		l.Add("at", "事件时间 %s 晚于当前时间，不可能发生 (time in the future)", when(t))
	} else if t.Before(earliest) {
		l.Add("at", "事件时间 %s 早于 2000 年，不合理 (implausible time)", when(t))
	} else {
		ev.At = t
	}
	if r, ok := c.regions[in.Region]; ok {
		ev.Region = r
	} else {
		n := len(l)
		ev.Region = checkRegion(&l, "region", in.Region, false)
		if c.regions != nil && len(l) == n {
			c.regions[in.Region] = ev.Region
		}
	}
	ev.CourierCode = checkCourierCode(&l, "courier", in.Courier)
	signedBy, exc := strings.TrimSpace(in.SignedBy), strings.TrimSpace(in.Exception)
	switch ev.Type {
	case EventSigned:
		if _, ok := SignedBy[signedBy]; !ok {
			l.Add("signed_by", "签收事件须注明签收方式 signed_by：recipient（本人）、locker（快递柜/驿站）或 proxy（他人代收），而不是「%s」(signed_by required)", clip(signedBy))
		}
		ev.Detail = signedBy
	case EventException:
		if _, ok := Exceptions[exc]; !ok {
			l.Add("exception", "异常事件须注明异常类型 exception：%s，而不是「%s」(exception kind required)", exceptionNames(), clip(exc))
		}
		ev.Detail = exc
	}
	if ev.Type != EventSigned && signedBy != "" {
		l.Add("signed_by", "只有签收事件才有 signed_by (signed_by only on signed events)")
	}
	if ev.Type != EventException && exc != "" {
		l.Add("exception", "只有异常事件才有 exception (exception only on exception events)")
	}
	if utf8.RuneCountInString(ev.Note) > 500 || !utf8.ValidString(ev.Note) {
		l.Add("note", "备注不能超过 500 个字符 (note too long)")
	}
	return waybill, l.Err()
}

func exceptionNames() string {
	var ks []string
	for k := range Exceptions {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, "|")
}

// IngestEvents stores tracking events of a firm's parcels. Each line gets
// its own result; good lines are stored even when others are bad. An event
// already stored (same waybill, time and type) is unchanged. Lines are
// refused for unknown waybills, bad fields, and times that cannot be (see
// Apply); events of one parcel are judged in time order, so a batch may
// hold a parcel's whole journey in any order. Departments may report
// complaints only.
func (s *Service) IngestEvents(ctx context.Context, firm string, ins []EventInput) ([]Result, error) {
	const op = "logistics.IngestEvents"
	a := account.From(ctx)
	complaintsOnly := false
	switch {
	case Can(a, ScopeParcelsWrite):
	case Can(a, ScopeComplaints):
		complaintsOnly = true
	default:
		return nil, errs.Wrap(op, denied(a, "报送物流轨迹"))
	}
	if len(ins) > MaxBatch {
		return nil, &errs.Error{Code: errs.TooLarge, Op: op, Message: fmt.Sprintf("一批最多 %d 条 (at most %d lines a batch)", MaxBatch, MaxBatch)}
	}
	f, err := s.firmFor(ctx, a, firm)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	defer s.counts.forget(f.ID) // its grade's counts are stale now
	now := s.now()
	out := make([]Result, len(ins))
	evs := make([]*Event, len(ins))
	all := make([]Event, len(ins)) // one allocation for the batch's events
	wbs := make([]string, len(ins))
	// Each line is checked on its own (a big batch on several cores, each
	// chunk with its own checker and its lines' slots).
	par.Chunks(len(ins), func(lo, hi int) {
		check := eventChecker{now: now, regions: map[string]string{}}
		for i := lo; i < hi; i++ {
			out[i] = Result{Line: i + 1}
			ev := &all[i]
			wb, err := check.check(ins[i], ev)
			if err == nil && complaintsOnly && ev.Type != EventComplaint {
				err = &errs.Error{Code: errs.Forbidden, Field: "type", Message: "角色「" + a.Role.Label() + "」只能报送投诉事件 (complaint events only)"}
			}
			if err != nil {
				out[i].Status, out[i].Err = ResultError, errs.Wrap(op, err)
				continue
			}
			ev.AccountID, ev.RecordedAt = a.AccountID, now
			evs[i], wbs[i] = ev, wb
		}
	})
	if !slices.ContainsFunc(evs, func(ev *Event) bool { return ev != nil }) {
		return out, nil
	}
	entry := a.Audit(audit.ActCreate, fmt.Sprintf("logistics:%d", f.ID), "报送物流轨迹 (tracking events)")
	for attempt := 0; ; attempt++ {
		err := s.appendEvents(ctx, f, evs, wbs, out, entry, attempt > 0)
		if err == nil {
			return out, nil
		}
		if !errs.Is(err, errs.Conflict) || attempt == 2 {
			return nil, errs.Wrap(op, err)
		}
		// A concurrent batch changed one of the parcels: judge again.
		for i := range out {
			if evs[i] != nil {
				out[i] = Result{Line: i + 1}
			}
		}
	}
}

// mayClash reports whether an event of lines (p's) may have the key of a
// stored event of p, judging by p's row alone: with no stored events
// (their count) none can, nor can an event later than every stored one
// (LastEventAt is the latest time of p's events but complaints; a
// complaint can only clash with a stored complaint, which p's count of
// them rules out). The row is as read before the write: a concurrent
// batch changes p's version and the store refuses ours, and the retry
// looks every parcel up (see appendEvents' all).
func mayClash(p *Parcel, evs []*Event, lines []int) bool {
	if p.Events == 0 {
		return false
	}
	for _, i := range lines {
		if ev := evs[i]; ev.Type == EventComplaint && p.Complaints > 0 || ev.Type != EventComplaint && !ev.At.After(p.LastEventAt) {
			return true
		}
	}
	return false
}

// judgedBefore orders a parcel's events for judging: the pickup first
// (it anchors the chain: a signature before it is the wrong line, not the
// pickup), then by time.
func judgedBefore(a, b *Event) bool {
	if pa, pb := a.Type == EventPickedUp, b.Type == EventPickedUp; pa != pb {
		return pa
	}
	return a.At.Before(b.At)
}

// appendEvents judges the events against the parcels as stored now and
// stores the good ones. An event whose key (parcel, time, type) is stored
// already, or comes earlier in the batch, is unchanged; the others are
// judged per parcel in order (judgedBefore) on the parcel's state, and the
// state they leave is what the store writes, version-checked, with them.
// all: look up the stored events of every parcel, not only of those whose
// row says an event of the batch may be stored (mayClash; a retry after a
// conflict does).
func (s *Service) appendEvents(ctx context.Context, f *registry.Subject, evs []*Event, wbs []string, out []Result, entry *audit.Entry, all bool) error {
	var waybills []string
	seen := map[string]bool{}
	for i, ev := range evs {
		if ev != nil && !seen[wbs[i]] {
			seen[wbs[i]] = true
			waybills = append(waybills, wbs[i])
		}
	}
	parcels, err := s.Store.ParcelStates(ctx, f.ID, waybills)
	if err != nil {
		return err
	}
	// Each parcel's lines, the parcels in batch order of first appearance:
	// rank[i] is line i's parcel's place in order, lines the good lines
	// grouped by it (a counting sort: stable, no slice a parcel).
	rankOf := make(map[int64]int, len(waybills))
	rank := make([]int, len(evs)) // -1: a line not judged
	var order []*Parcel
	var withEvents []int64
	var count []int
	for i, ev := range evs {
		rank[i] = -1
		if ev == nil {
			continue
		}
		p := parcels[wbs[i]]
		if p == nil {
			out[i].Status, out[i].Err = ResultError, &errs.Error{Code: errs.NotFound, Op: "logistics.IngestEvents", Field: "waybill",
				Message: fmt.Sprintf("运单「%s」不存在：请先报送运单 (unknown waybill)", wbs[i])}
			continue
		}
		ev.ParcelID = p.ID
		r, ok := rankOf[p.ID]
		if !ok {
			r = len(order)
			rankOf[p.ID] = r
			order = append(order, p)
			count = append(count, 0)
		}
		rank[i] = r
		count[r]++
	}
	first := make([]int, len(order)+1) // parcel r's lines are lines[first[r]:first[r+1]]
	for r, n := range count {
		first[r+1] = first[r] + n
	}
	lines := make([]int, first[len(order)])
	next := append([]int(nil), first[:len(order)]...)
	for i, r := range rank {
		if r >= 0 {
			lines[next[r]] = i
			next[r]++
		}
	}
	for r, p := range order {
		if all || mayClash(p, evs, lines[first[r]:first[r+1]]) {
			withEvents = append(withEvents, p.ID)
		}
	}
	stored := map[EventKey]bool{}
	if len(withEvents) > 0 {
		if stored, err = s.Store.StoredEvents(ctx, withEvents); err != nil {
			return err
		}
	}
	keep := make([]int, 0, len(lines))        // lines whose events go to the store
	changed := make([]*Parcel, 0, len(order)) // the parcels' state after them
	works := make([]Parcel, len(order))
	batchKeys := make(map[EventKey]bool, len(lines))
	for r, p := range order {
		mine := lines[first[r]:first[r+1]]
		slices.SortStableFunc(mine, func(x, y int) int {
			switch {
			case judgedBefore(evs[x], evs[y]):
				return -1
			case judgedBefore(evs[y], evs[x]):
				return 1
			}
			return 0
		})
		work := &works[r]
		*work = *p
		n := 0
		for _, i := range mine {
			ev := evs[i]
			k := ev.Key()
			if stored[k] || batchKeys[k] {
				out[i].Status = ResultUnchanged
				continue
			}
			if err := Apply(work, ev); err != nil {
				out[i].Status, out[i].Err = ResultError, errs.Wrap("logistics.IngestEvents", err)
				continue
			}
			batchKeys[k] = true
			keep = append(keep, i)
			n++
		}
		if n > 0 {
			work.UpdatedAt = evs[mine[0]].RecordedAt
			changed = append(changed, work)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	sort.Ints(keep)
	batch := make([]*Event, len(keep))
	for k, i := range keep {
		batch[k] = evs[i]
	}
	if err := s.Store.AppendEvents(ctx, batch, changed, entry); err != nil {
		return err
	}
	for _, i := range keep {
		out[i].Status, out[i].ID = ResultCreated, evs[i].ParcelID
	}
	return nil
}

// ParcelView is a parcel with its tracking, as the API shows it.
type ParcelView struct {
	ID          int64       `json:"id"`
	FirmID      int64       `json:"firm_id"`
	FirmName    string      `json:"firm_name"`
	Waybill     string      `json:"waybill"`
	WeightG     int64       `json:"weight_g"`
	Origin      string      `json:"origin"`
	OriginName  string      `json:"origin_name,omitempty"`
	Dest        string      `json:"dest"`
	DestName    string      `json:"dest_name,omitempty"`
	CourierID   int64       `json:"courier_id,omitempty"`
	CourierCode string      `json:"courier_code,omitempty"`
	PromisedAt  *time.Time  `json:"promised_at,omitempty"`
	Status      EventType   `json:"status"`
	StatusLabel string      `json:"status_label"`
	SignedAt    *time.Time  `json:"signed_at,omitempty"`
	SignedBy    string      `json:"signed_by,omitempty"`
	OnTime      *bool       `json:"on_time,omitempty"` // delivered: signed no later than promised
	Lost        bool        `json:"lost"`
	Damaged     bool        `json:"damaged"`
	Complaints  int         `json:"complaints"`
	Complete    bool        `json:"complete"` // tracking complete and plausible so far
	Events      []EventView `json:"events"`
}

// EventView is one tracking event for display.
type EventView struct {
	Type        EventType `json:"type"`
	TypeLabel   string    `json:"type_label"`
	At          time.Time `json:"at"`
	Region      string    `json:"region,omitempty"`
	RegionName  string    `json:"region_name,omitempty"`
	Detail      string    `json:"detail,omitempty"`
	DetailLabel string    `json:"detail_label,omitempty"`
	CourierCode string    `json:"courier_code,omitempty"`
	Note        string    `json:"note,omitempty"`
}

func tp(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func regionName(c string) string {
	n, _ := code.RegionName(c)
	return n
}

// Parcel returns a parcel and its tracking. Logistics accounts see their
// own firm's parcels (firm may be empty); departments and the credit
// office any firm's (firm: its credit code); a platform the parcels of its
// own orders.
func (s *Service) Parcel(ctx context.Context, firm, waybill string) (*ParcelView, error) {
	const op = "logistics.Parcel"
	a := account.From(ctx)
	if !Can(a, ScopeParcelsRead) && !Can(a, ScopeParcelsOrders) {
		return nil, errs.Wrap(op, denied(a, "查询运单"))
	}
	var l errs.List
	waybill = strings.TrimSpace(waybill)
	checkWaybill(&l, waybill)
	if err := l.Err(); err != nil {
		return nil, errs.Wrap(op, err)
	}
	f, err := s.firmFor(ctx, a, firm)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	notFound := &errs.Error{Code: errs.NotFound, Op: op, Field: "waybill", Message: fmt.Sprintf("运单「%s」不存在 (no such waybill)", waybill)}
	if !Can(a, ScopeParcelsRead) {
		ok, err := s.Store.PlatformShipped(ctx, a.SubjectID, f.ID, waybill)
		if err != nil {
			return nil, errs.Wrap(op, err)
		}
		if !ok || a.SubjectID == 0 {
			return nil, notFound // not an order of this platform: as if absent
		}
	}
	ps, err := s.Store.FindParcels(ctx, f.ID, []string{waybill})
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	p := ps[waybill]
	if p == nil {
		return nil, notFound
	}
	evs, err := s.Store.ParcelEvents(ctx, p.ID)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	v := &ParcelView{ID: p.ID, FirmID: f.ID, FirmName: f.Name, Waybill: p.Waybill, WeightG: p.WeightG,
		Origin: p.Origin, OriginName: regionName(p.Origin), Dest: p.Dest, DestName: regionName(p.Dest),
		CourierID: p.CourierID, CourierCode: p.CourierCode, PromisedAt: tp(p.PromisedAt), Status: p.Status,
		StatusLabel: p.Status.Label(), SignedAt: tp(p.SignedAt), SignedBy: p.SignedBy, Lost: p.Lost, Damaged: p.Damaged,
		Complaints: p.Complaints, Complete: !p.PickedAt.IsZero() && !p.Gap, Events: []EventView{}}
	if !p.SignedAt.IsZero() && !p.PromisedAt.IsZero() {
		on := !p.SignedAt.After(p.PromisedAt)
		v.OnTime = &on
	}
	for _, e := range evs {
		ev := EventView{Type: e.Type, TypeLabel: e.Type.Label(), At: e.At, Region: e.Region, RegionName: regionName(e.Region),
			Detail: e.Detail, CourierCode: e.CourierCode, Note: e.Note}
		switch e.Type {
		case EventSigned:
			ev.DetailLabel = SignedBy[e.Detail]
		case EventException:
			ev.DetailLabel = Exceptions[e.Detail]
		}
		v.Events = append(v.Events, ev)
	}
	return v, nil
}
