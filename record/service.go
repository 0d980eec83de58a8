package record

import (
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/clock"
	"ecredit/code"
	"ecredit/errs"
	"ecredit/pii"
	"ecredit/registry"
)

// Service applies the rules of records: validation against the catalog,
// access, subject resolution (creating pending subjects), publicity, the
// life-cycle events and their ledger entries (through the Store).
type Service struct {
	Store    Store
	Subjects registry.Store
	Keys     *pii.Keys
	Clock    clock.Clock
	Policies Policies  // nil: DefaultPolicies()
	Calendar *Calendar // nil: DefaultCalendar()
}

// Result statuses of an ingest.
const (
	ResultCreated   = "created"
	ResultUnchanged = "unchanged" // same source ref, same content: nothing written
	ResultCorrected = "corrected" // same source ref, Correct set: a correction event
	ResultError     = "error"
)

// Result is the outcome of one ingested input.
type Result struct {
	Line     int      `json:"line"` // 1-based position in a batch
	Status   string   `json:"status"`
	ID       int64    `json:"id,omitempty"`
	Record   *Record  `json:"-"`
	Warnings []string `json:"warnings,omitempty"`
	Err      error    `json:"-"`
}

// MaxBatch is the most inputs IngestBatch takes at once.
const MaxBatch = 10000

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return time.Now().UTC().Truncate(time.Microsecond)
	}
	return s.Clock.Now().UTC().Truncate(time.Microsecond)
}

func (s *Service) policies() Policies {
	if len(s.Policies) == 0 {
		return DefaultPolicies()
	}
	return s.Policies
}

func (s *Service) calendar() *Calendar {
	if s.Calendar == nil {
		return DefaultCalendar()
	}
	return s.Calendar
}

// Ingest validates and stores one record. It is idempotent by (source,
// source ref): the same content again returns the stored record with
// status "unchanged"; different content under the same ref is a Conflict
// unless in.Correct is set, in which case it is stored as a correction.
// An unknown but valid credit code (or ID number) creates a pending
// subject.
func (s *Service) Ingest(ctx context.Context, in Input) (*Result, error) {
	const op = "record.Ingest"
	a := account.From(ctx)
	now := s.now()
	res, nr, err := s.prepare(ctx, a, in, now)
	if err != nil || res != nil {
		return res, err
	}
	if err := s.Store.CreateRecord(ctx, nr.r, nr.ev, nr.audit); err != nil {
		if errs.Is(err, errs.Conflict) {
			// A concurrent ingest of the same ref won the race.
			if ex, ferr := s.Store.FindRecordByRef(ctx, in.Type, nr.r.SourceKey, nr.r.SourceRef); ferr == nil {
				return s.reingest(ctx, a, ex, nr.n, in, now)
			}
		}
		return nil, errs.Wrap(op, err)
	}
	return &Result{Status: ResultCreated, ID: nr.r.ID, Record: nr.r, Warnings: nr.n.warnings}, nil
}

// newRecord is a validated record not stored yet.
type newRecord struct {
	n     *normalized
	r     *Record
	ev    *Event
	audit *audit.Entry
}

// lookups hold what a batch already knows: the existing records of the
// refs of the current chunk (prefetched in one query; nil value = known
// absent) and the subjects resolved so far, by credit code or "id:" +
// ID-number index.
type lookups struct {
	refs     map[string]*Record
	subjects map[string]*registry.Subject
}

func refKey(t Type, ref string) string { return string(t) + "\x00" + ref }

// prepare validates in and resolves its subject. It returns either a final
// result (unchanged, corrected) or a new record to store.
func (s *Service) prepare(ctx context.Context, a account.Actor, in Input, now time.Time) (*Result, *newRecord, error) {
	n, err := s.check(a, in, now)
	if err != nil {
		return nil, nil, err
	}
	return s.prepareNormalized(ctx, a, in, n, now, nil)
}

// check applies the access rule of the type and validates in.
func (s *Service) check(a account.Actor, in Input, now time.Time) (*normalized, error) {
	const op = "record.Ingest"
	if _, ok := Lookup(in.Type); ok {
		if _, err := mayWrite(a, in.Type); err != nil {
			return nil, errs.Wrap(op, err)
		}
	}
	n, err := s.normalize(in, now)
	return n, errs.Wrap(op, err)
}

func (s *Service) prepareNormalized(ctx context.Context, a account.Actor, in Input, n *normalized, now time.Time, lk *lookups) (*Result, *newRecord, error) {
	const op = "record.Ingest"
	ownShop, _ := mayWrite(a, in.Type)
	key := SourceKey(a)
	var existing *Record
	var err error
	if ex, ok := lk.ref(in.Type, n.ref); ok {
		if ex == nil {
			err = &errs.Error{Code: errs.NotFound}
		}
		existing = ex
	} else {
		existing, err = s.Store.FindRecordByRef(ctx, in.Type, key, n.ref)
	}
	switch {
	case err == nil:
		res, err := s.reingest(ctx, a, existing, n, in, now)
		return res, nil, err
	case !errs.Is(err, errs.NotFound):
		return nil, nil, errs.Wrap(op, err)
	}
	sub, err := s.subjectFor(ctx, a, n, ownShop, now, lk)
	if err != nil {
		return nil, nil, errs.Wrap(op, err)
	}
	r := &Record{Type: in.Type, SubjectID: sub.ID, SubjectCode: n.code, SubjectIDIndex: n.idIndex, SubjectIDMasked: n.idMasked,
		SubjectName: n.fields["subject_name"], Source: a.Name, SourceAccount: a.AccountID, SourceKey: key, SourceRef: n.ref,
		Fields: n.fields, Personal: n.personal, DecisionDate: n.decision, Status: StatusActive,
		Version: 1, CreatedAt: now, UpdatedAt: now}
	s.derive(n, r)
	ev := &Event{Seq: 1, Type: EventCreate, At: now, ActorID: a.AccountID, ActorName: a.Name, Reason: strings.TrimSpace(in.Reason), State: r}
	return nil, &newRecord{n: n, r: r, ev: ev, audit: a.Audit(audit.ActCreate, "record", string(r.Type)+" "+r.SourceRef)}, nil
}

func (lk *lookups) ref(t Type, ref string) (*Record, bool) {
	if lk == nil {
		return nil, false
	}
	r, ok := lk.refs[refKey(t, ref)]
	return r, ok
}

// batchChunk is how many new records IngestBatch stores per transaction.
const batchChunk = 500

// IngestBatch ingests many inputs with the rules of Ingest: every line gets
// its own result, and good lines are stored even when others are bad. New
// records are stored batchChunk at a time in one transaction (with one
// ledger append); should such a transaction fail, its records are retried
// one by one so that one bad line cannot take others down with it.
func (s *Service) IngestBatch(ctx context.Context, ins []Input) ([]Result, error) {
	if len(ins) > MaxBatch {
		return nil, &errs.Error{Code: errs.TooLarge, Op: "record.IngestBatch", Message: fmt.Sprintf("一批最多 %d 条记录 (batch too large)", MaxBatch)}
	}
	a := account.From(ctx)
	out := make([]Result, len(ins))
	type item struct {
		i  int
		nr *newRecord
	}
	var pending []item
	var later []int // inputs whose ref repeats one pending in this batch
	refs := map[string]bool{}
	single := func(i int) {
		res, err := s.Ingest(ctx, ins[i])
		if err != nil {
			out[i] = Result{Line: i + 1, Status: ResultError, Err: err}
			return
		}
		res.Line = i + 1
		out[i] = *res
	}
	flush := func() {
		if len(pending) == 0 {
			return
		}
		rs := make([]*Record, len(pending))
		evs := make([]*Event, len(pending))
		as := make([]*audit.Entry, len(pending))
		for j, p := range pending {
			rs[j], evs[j], as[j] = p.nr.r, p.nr.ev, p.nr.audit
		}
		if err := s.Store.CreateRecords(ctx, rs, evs, as); err != nil {
			for _, p := range pending {
				single(p.i)
			}
		} else {
			for _, p := range pending {
				out[p.i] = Result{Line: p.i + 1, Status: ResultCreated, ID: p.nr.r.ID, Record: p.nr.r, Warnings: p.nr.n.warnings}
			}
		}
		pending = pending[:0]
		clear(refs)
	}
	lk := &lookups{subjects: map[string]*registry.Subject{}}
	key := SourceKey(a)
	for w := 0; w < len(ins); w += batchChunk {
		window := ins[w:min(w+batchChunk, len(ins))]
		now := s.now()
		ns := make([]*normalized, len(window))
		errsOf := make([]error, len(window))
		byType := map[Type][]string{}
		for j, in := range window {
			ns[j], errsOf[j] = s.check(a, in, now)
			if errsOf[j] == nil {
				byType[in.Type] = append(byType[in.Type], ns[j].ref)
			}
		}
		lk.refs = map[string]*Record{}
		for t, tr := range byType {
			found, err := s.Store.FindRecordsByRefs(ctx, t, key, tr)
			if err != nil {
				return nil, errs.Wrap("record.IngestBatch", err)
			}
			for _, ref := range tr {
				lk.refs[refKey(t, ref)] = found[ref] // nil when absent
			}
		}
		if err := s.prefetchSubjects(ctx, ns, lk); err != nil {
			return nil, errs.Wrap("record.IngestBatch", err)
		}
		s.createPendingSubjects(ctx, a, window, ns, now, lk)
		for j, in := range window {
			i := w + j
			if err := ctx.Err(); err != nil {
				out[i] = Result{Line: i + 1, Status: ResultError, Err: &errs.Error{Code: errs.Unavailable, Message: "请求已取消 (cancelled)", Err: err}}
				continue
			}
			if errsOf[j] != nil {
				out[i] = Result{Line: i + 1, Status: ResultError, Err: errsOf[j]}
				continue
			}
			res, nr, err := s.prepareNormalized(ctx, a, in, ns[j], now, lk)
			switch {
			case err != nil:
				out[i] = Result{Line: i + 1, Status: ResultError, Err: err}
			case res != nil:
				res.Line = i + 1
				out[i] = *res
			default:
				k := refKey(nr.r.Type, nr.r.SourceRef)
				if refs[k] {
					later = append(later, i)
					continue
				}
				refs[k] = true
				pending = append(pending, item{i, nr})
			}
		}
		// The window's records are stored before the next window's refs
		// are looked up.
		flush()
	}
	flush()
	for _, i := range later {
		single(i)
	}
	return out, nil
}

// sameContent reports whether a stored record holds what n would store.
func sameContent(r *Record, n *normalized) bool {
	return r.SubjectCode == n.code && r.SubjectIDIndex == n.idIndex &&
		maps.Equal(r.Fields, n.fields) && maps.Equal(r.Personal, n.personal)
}

func (s *Service) reingest(ctx context.Context, a account.Actor, ex *Record, n *normalized, in Input, now time.Time) (*Result, error) {
	const op = "record.Ingest"
	if sameContent(ex, n) {
		return &Result{Status: ResultUnchanged, ID: ex.ID, Record: ex, Warnings: n.warnings}, nil
	}
	refField := "source_ref"
	if len(n.def.RefFields) == 1 {
		refField = fieldName(n.def.RefFields[0])
	}
	if !in.Correct {
		return nil, &errs.Error{Code: errs.Conflict, Op: op, Field: refField,
			Message: fmt.Sprintf("%s「%s」已报送过且内容不同；如需更正请注明更正 (correct) (same source id, different content)", refNames(n.def), n.ref)}
	}
	if ex.Status != StatusActive {
		return nil, &errs.Error{Code: errs.Conflict, Op: op, Field: refField,
			Message: fmt.Sprintf("记录已%s，不能更正 (record is %s)", ex.Status.Label(), ex.Status)}
	}
	if strings.TrimSpace(in.Reason) == "" {
		return nil, errs.Wrap(op, errs.Field("reason", "更正必须说明原因 (a correction needs a reason)"))
	}
	ownShop, _ := mayWrite(a, in.Type)
	sub, err := s.subjectFor(ctx, a, n, ownShop, now, nil)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	r := clone(ex)
	r.SubjectID, r.SubjectCode, r.SubjectIDIndex, r.SubjectIDMasked = sub.ID, n.code, n.idIndex, n.idMasked
	r.SubjectName, r.Fields, r.Personal, r.DecisionDate = n.fields["subject_name"], n.fields, n.personal, n.decision
	r.Disputed = r.Objection.Status == ObjectionFiled // a correction settles an upheld objection
	s.derive(n, r)
	if err := s.apply(ctx, a, r, EventCorrect, in.Reason, now); err != nil {
		return nil, errs.Wrap(op, err)
	}
	return &Result{Status: ResultCorrected, ID: r.ID, Record: r, Warnings: n.warnings}, nil
}

// derive sets the severity (penalties) and the publicity window.
func (s *Service) derive(n *normalized, r *Record) {
	r.Severity = ""
	if r.Type == TypePenalty {
		if sv := n.fields["severity"]; sv != "" {
			r.Severity = Severity(sv)
		} else {
			person := n.person || n.fields["subject_category"] == "person"
			r.Severity = s.policies().At(r.DecisionDate).DeriveSeverity(n.fields["category"], n.fields["fine"], person)
		}
	}
	s.policies().publicity(n.def, r)
}

func clone(r *Record) *Record {
	c := *r
	c.Fields = maps.Clone(r.Fields)
	c.Personal = maps.Clone(r.Personal)
	return &c
}

// subjectsByCodes is what a registry store may offer beyond registry.Store
// to resolve many credit codes in one query (sqlstore.DB does).
type subjectsByCodes interface {
	FindSubjectsByCodes(ctx context.Context, codes []string) (map[string]*registry.Subject, error)
}

// prefetchSubjects puts into lk the known subjects of the credit codes of
// ns (nil entries are skipped) that lk does not hold yet, in one store call
// when the store can; subjectFor then finds them there. Unknown codes are
// left out, so subjectFor looks them up (and creates them) as before.
func (s *Service) prefetchSubjects(ctx context.Context, ns []*normalized, lk *lookups) error {
	bc, ok := s.Subjects.(subjectsByCodes)
	if !ok {
		return nil
	}
	var codes []string
	for _, n := range ns {
		if n == nil || n.person || n.code == "" {
			continue
		}
		if _, ok := lk.subjects[n.code]; !ok {
			codes = append(codes, n.code)
		}
	}
	if len(codes) == 0 {
		return nil
	}
	found, err := bc.FindSubjectsByCodes(ctx, codes)
	if err != nil {
		return err
	}
	for c, sub := range found {
		lk.subjects[c] = sub
	}
	return nil
}

// createPendingSubjects creates, in one store call, the pending subjects
// that subjectFor would create one transaction each for the new records of
// a window: those with a credit code unknown to lk (after
// prefetchSubjects), a ref known to be absent, and a writer who need not
// own a shop of the subject. Each code is created once, in order of first
// appearance. Should the batch fail (a subject created concurrently, say),
// nothing is written and subjectFor handles each record as before.
func (s *Service) createPendingSubjects(ctx context.Context, a account.Actor, window []Input, ns []*normalized, now time.Time, lk *lookups) {
	if _, ok := s.Subjects.(subjectsByCodes); !ok {
		return // without the prefetch lk does not know which codes are new
	}
	var subs []*registry.Subject
	entries := map[*registry.Subject]*audit.Entry{}
	seen := map[string]bool{}
	for j, in := range window {
		n := ns[j]
		if n == nil || n.person || n.code == "" || seen[n.code] {
			continue
		}
		if _, ok := lk.subjects[n.code]; ok {
			continue
		}
		if ex, ok := lk.ref(in.Type, n.ref); !ok || ex != nil {
			continue
		}
		if ownShop, err := mayWrite(a, in.Type); err != nil || ownShop {
			continue
		}
		sub, ev, err := s.pendingSubject(a, n, now)
		if err != nil {
			continue
		}
		seen[n.code] = true
		subs = append(subs, sub)
		entries[sub] = ev
	}
	if len(subs) == 0 || ctx.Err() != nil {
		return
	}
	if err := s.Subjects.CreateSubjects(ctx, subs, func(sub *registry.Subject) *audit.Entry { return entries[sub] }); err != nil {
		for _, sub := range subs {
			sub.ID = 0
		}
		return
	}
	for _, sub := range subs {
		lk.subjects[sub.CreditCode] = sub
	}
}

// subjectFor finds the record's subject by credit code (or ID number
// index), creating a pending subject when it is unknown.
func (s *Service) subjectFor(ctx context.Context, a account.Actor, n *normalized, ownShop bool, now time.Time, lk *lookups) (*registry.Subject, error) {
	cacheKey := n.code
	if n.person {
		cacheKey = "id:" + n.idIndex
	}
	find := func() (*registry.Subject, error) {
		if lk != nil {
			if sub, ok := lk.subjects[cacheKey]; ok {
				return sub, nil
			}
		}
		var sub *registry.Subject
		var err error
		if n.person {
			idx, _ := hex.DecodeString(n.idIndex)
			sub, err = s.Subjects.FindSubjectByIDIndex(ctx, idx)
		} else {
			sub, err = s.Subjects.FindSubjectByCode(ctx, n.code)
		}
		if err == nil && lk != nil {
			lk.subjects[cacheKey] = sub
		}
		return sub, err
	}
	sub, err := find()
	if err == nil {
		if ownShop {
			if err := s.ownsShop(ctx, a, sub); err != nil {
				return nil, err
			}
		}
		return sub, nil
	}
	if !errs.Is(err, errs.NotFound) {
		return nil, err
	}
	if ownShop {
		return nil, &errs.Error{Code: errs.Forbidden, Field: fieldName("credit_code"), Message: "该主体在本平台没有店铺，平台只能报送本平台店铺经营者的记录 (subject has no shop on your platform)"}
	}
	sub, ev, err := s.pendingSubject(a, n, now)
	if err != nil {
		return nil, err
	}
	if err := s.Subjects.CreateSubject(ctx, sub, ev); err != nil {
		if errs.Is(err, errs.Conflict) { // created concurrently
			if found, ferr := find(); ferr == nil {
				return found, nil
			}
		}
		return nil, err
	}
	if lk != nil {
		lk.subjects[cacheKey] = sub
	}
	return sub, nil
}

// pendingSubject builds the pending subject (and its audit entry) that a
// record with an unknown subject creates.
func (s *Service) pendingSubject(a account.Actor, n *normalized, now time.Time) (*registry.Subject, *audit.Entry, error) {
	sub := &registry.Subject{Kind: registry.KindMerchant, Form: "enterprise", Name: n.name, Status: registry.StatusPending,
		Verify: registry.VerifyNone, CreatedBy: a.AccountID, CreatedAt: now, UpdatedAt: now}
	if n.person {
		if n.idClear == "" || s.Keys == nil {
			return nil, nil, errs.Field(fieldName("id_number"), "无法登记自然人主体：缺少证件号码 (missing ID number)")
		}
		sub.Kind, sub.Form = registry.KindSeller, ""
		sub.IDNumber = s.Keys.Seal(pii.KindIDNumber, n.idClear)
		sub.NameSeal = s.Keys.Seal(pii.KindName, n.name)
		sub.Name = pii.MaskName(n.name)
		if r := code.ParseID(n.idClear, now); r.Valid {
			if code.KnownRegion(r.Region) {
				sub.RegionCode = r.Region
			}
		}
	} else {
		sub.CreditCode = n.code
		r := code.ParseUSCC(n.code)
		if r.Authority == "9" && r.Category == "2" {
			sub.Form = "individual_business"
		}
		sub.CodeWarning = strings.Join(r.Warnings, "；")
		if code.KnownRegion(r.Region) {
			sub.RegionCode = r.Region
		}
	}
	if utf8.RuneCountInString(sub.Name) > 200 {
		sub.Name = string([]rune(sub.Name)[:200])
	}
	return sub, a.Audit(audit.ActCreate, "subject", "pending subject from a "+string(n.def.Type)+" record"), nil
}

func (s *Service) ownsShop(ctx context.Context, a account.Actor, sub *registry.Subject) error {
	shops, err := s.Subjects.ListShops(ctx, registry.ShopFilter{PlatformID: a.SubjectID, OwnerID: sub.ID, Limit: 1})
	if err != nil {
		return err
	}
	if a.SubjectID == 0 || len(shops) == 0 {
		return &errs.Error{Code: errs.Forbidden, Field: fieldName("credit_code"), Message: "该主体在本平台没有店铺，平台只能报送本平台店铺经营者的记录 (subject has no shop on your platform)"}
	}
	return nil
}

// apply bumps the version, stamps the change and stores it with its event.
func (s *Service) apply(ctx context.Context, a account.Actor, r *Record, t EventType, reason string, now time.Time) error {
	r.Version++
	r.UpdatedAt = now
	ev := &Event{RecordID: r.ID, Seq: r.Version, Type: t, At: now, ActorID: a.AccountID, ActorName: a.Name, Reason: strings.TrimSpace(reason), State: r}
	return s.Store.UpdateRecord(ctx, r, ev, a.Audit(audit.ActUpdate, "record:"+strconv.FormatInt(r.ID, 10), string(t)))
}

func checkReason(field, v string, required bool) error {
	v = strings.TrimSpace(v)
	switch {
	case required && v == "":
		return errs.Field(field, "必须填写原因 (required)")
	case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
		return errs.Field(field, "不是有效的文本 (invalid text)")
	case utf8.RuneCountInString(v) > 2000:
		return errs.Field(field, "不能超过 2000 个字符 (too long)")
	}
	return nil
}

// change loads a record, checks access, mutates and stores it with an
// event of type t.
func (s *Service) change(ctx context.Context, op string, id int64, t EventType, reason string, needReason bool,
	access func(a account.Actor, r *Record) error, mutate func(r *Record, now time.Time) error) (*Record, error) {
	a := account.From(ctx)
	if err := checkReason("reason", reason, needReason); err != nil {
		return nil, errs.Wrap(op, err)
	}
	cur, err := s.Store.GetRecord(ctx, id)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	if err := access(a, cur); err != nil {
		return nil, errs.Wrap(op, err)
	}
	now := s.now()
	r := clone(cur)
	if err := mutate(r, now); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if err := s.apply(ctx, a, r, t, reason, now); err != nil {
		return nil, errs.Wrap(op, err)
	}
	return r, nil
}

func sourceOnly(a account.Actor, r *Record) error {
	if isSourceOrAdmin(a, r) {
		return nil
	}
	if err := require(a, ScopeRecordsWrite); err != nil && (a.Role == account.RolePublic || a.Role == "") {
		return err
	}
	return &errs.Error{Code: errs.Forbidden, Message: "只有报送单位或市信用办可以操作该记录 (only the record's source or the credit office)"}
}

func mustBeActive(r *Record) error {
	if r.Status != StatusActive {
		return &errs.Error{Code: errs.Conflict, Field: "status", Message: fmt.Sprintf("记录已%s (record is %s)", r.Status.Label(), r.Status)}
	}
	return nil
}

// WithdrawInput is a withdrawal under Art. 48.
type WithdrawInput struct {
	Reason string `json:"reason"`
	// RevokedOn is the date the decision was changed, revoked or
	// confirmed illegal or void; the withdrawal is due 3 working days
	// later. Default: today.
	RevokedOn string `json:"revoked_on,omitempty"`
}

// Withdraw takes a record out of public view for good (a revoked or
// changed decision, a fulfilled judgement), recording the reason, the
// Art. 48 due date (working days after the revocation) and whether the
// withdrawal came late.
func (s *Service) Withdraw(ctx context.Context, id int64, in WithdrawInput) (*Record, error) {
	const op = "record.Withdraw"
	var revoked Date
	if strings.TrimSpace(in.RevokedOn) != "" {
		d, err := ParseDate(in.RevokedOn)
		if err != nil {
			return nil, errs.Wrap(op, errs.Field("revoked_on", "撤销日期%s", err.Error()))
		}
		revoked = d
	}
	return s.change(ctx, op, id, EventWithdraw, in.Reason, true, sourceOnly, func(r *Record, now time.Time) error {
		if err := mustBeActive(r); err != nil {
			return err
		}
		today := DateOf(now)
		if revoked == "" {
			revoked = today
		}
		if revoked > today {
			return errs.Field("revoked_on", "撤销日期 %s 晚于今天 (date in the future)", revoked)
		}
		if r.DecisionDate != "" && revoked < r.DecisionDate {
			return errs.Field("revoked_on", "撤销日期 %s 早于决定日期 %s (revocation before the decision)", revoked, r.DecisionDate)
		}
		p := s.policies().At(r.DecisionDate)
		due := s.calendar().AddWorkingDays(revoked, p.WithdrawWorkingDays)
		r.Status = StatusWithdrawn
		r.Disputed = false
		r.Withdrawal = Withdrawal{Reason: strings.TrimSpace(in.Reason), RevokedOn: revoked, Due: due, Done: today, Overdue: today > due}
		return nil
	})
}

// FileObjection records an objection (异议) to a record: the record is
// marked disputed in public view until the objection is answered, which
// is due within the policy's objection period (20 days by default).
func (s *Service) FileObjection(ctx context.Context, id int64, reason string) (*Record, error) {
	const op = "record.FileObjection"
	return s.change(ctx, op, id, EventObjection, reason, true, func(a account.Actor, r *Record) error {
		if Can(a, ScopeRecordsReview) {
			return nil
		}
		if a.Role == account.RolePlatform {
			sub, err := s.Subjects.GetSubject(ctx, r.SubjectID)
			if err != nil {
				return err
			}
			return s.ownsShop(ctx, a, sub)
		}
		return require(a, ScopeRecordsReview)
	}, func(r *Record, now time.Time) error {
		if err := mustBeActive(r); err != nil {
			return err
		}
		if r.Objection.Status == ObjectionFiled {
			return &errs.Error{Code: errs.Conflict, Field: "objection", Message: "该记录已有待答复的异议 (an objection is already pending)"}
		}
		p := s.policies().At(r.DecisionDate)
		r.Disputed = true
		r.Objection = Objection{Status: ObjectionFiled, Count: r.Objection.Count + 1, Reason: strings.TrimSpace(reason), FiledAt: now,
			Due: s.calendar().AddDays(DateOf(now), p.ObjectionDays, p.ObjectionWorkingDays)}
		return nil
	})
}

// AnswerObjection answers the pending objection. A rejected objection
// clears the disputed mark; an upheld one keeps it until the source
// corrects or withdraws the record.
func (s *Service) AnswerObjection(ctx context.Context, id int64, upheld bool, answer string) (*Record, error) {
	const op = "record.AnswerObjection"
	return s.change(ctx, op, id, EventObjectionAnswer, answer, true, sourceOnly, func(r *Record, now time.Time) error {
		if r.Objection.Status != ObjectionFiled {
			return &errs.Error{Code: errs.Conflict, Field: "objection", Message: "该记录没有待答复的异议 (no pending objection)"}
		}
		o := r.Objection
		o.Answer, o.AnsweredAt, o.Overdue = strings.TrimSpace(answer), now, DateOf(now) > o.Due
		if upheld {
			o.Status = ObjectionUpheld
		} else {
			o.Status = ObjectionRejected
			r.Disputed = false
		}
		r.Objection = o
		return nil
	})
}

// Repairable types: records of misconduct.
func repairable(r *Record) bool {
	return r.Type == TypePenalty || (r.Type == TypeOther && r.Fields["nature"] == "negative")
}

// ApplyRepair records a credit repair application (信用修复申请). The
// minimum publicity of the record's tier must have passed.
func (s *Service) ApplyRepair(ctx context.Context, id int64, reason string) (*Record, error) {
	const op = "record.ApplyRepair"
	return s.change(ctx, op, id, EventRepairApply, reason, true, func(a account.Actor, r *Record) error {
		if Can(a, ScopeRecordsReview) {
			return nil
		}
		if a.Role == account.RolePlatform {
			sub, err := s.Subjects.GetSubject(ctx, r.SubjectID)
			if err != nil {
				return err
			}
			return s.ownsShop(ctx, a, sub)
		}
		return require(a, ScopeRecordsReview)
	}, func(r *Record, now time.Time) error {
		if err := mustBeActive(r); err != nil {
			return err
		}
		if !repairable(r) {
			return errs.Field("type", "「%s」记录不适用信用修复 (record type is not repairable)", typeName(r.Type))
		}
		if st := r.Repair.Status; st == RepairApplied || st == RepairReviewing {
			return &errs.Error{Code: errs.Conflict, Field: "repair", Message: "该记录已有处理中的修复申请 (a repair application is pending)"}
		}
		if r.Type == TypePenalty {
			if from := s.policies().RepairableFrom(r); DateOf(now) < from {
				return errs.Field("repair", "未满最短公示期，%s 起方可申请信用修复 (minimum publicity not reached)", from)
			}
		}
		r.Repair = Repair{Status: RepairApplied, Reason: strings.TrimSpace(reason), AppliedAt: now}
		return nil
	})
}

// ReviewRepair moves a repair application into review.
func (s *Service) ReviewRepair(ctx context.Context, id int64, note string) (*Record, error) {
	const op = "record.ReviewRepair"
	return s.change(ctx, op, id, EventRepairReview, note, false, sourceOnly, func(r *Record, now time.Time) error {
		if r.Repair.Status != RepairApplied {
			return &errs.Error{Code: errs.Conflict, Field: "repair", Message: "没有待审核的修复申请 (no repair application to review)"}
		}
		r.Repair.Status, r.Repair.Note = RepairReviewing, strings.TrimSpace(note)
		return nil
	})
}

// DecideRepair approves or rejects a repair application. An approved
// repair ends publicity and sharing: the record leaves public view and
// stops counting (终止公示、停止共享).
func (s *Service) DecideRepair(ctx context.Context, id int64, approve bool, note string) (*Record, error) {
	const op = "record.DecideRepair"
	return s.change(ctx, op, id, EventRepairDecide, note, true, sourceOnly, func(r *Record, now time.Time) error {
		if st := r.Repair.Status; st != RepairApplied && st != RepairReviewing {
			return &errs.Error{Code: errs.Conflict, Field: "repair", Message: "没有待决定的修复申请 (no repair application to decide)"}
		}
		if err := mustBeActive(r); err != nil {
			return err
		}
		r.Repair.Note, r.Repair.DecidedAt = strings.TrimSpace(note), now
		if approve {
			r.Repair.Status = RepairApproved
			r.Status = StatusRepaired
			r.Disputed = false
		} else {
			r.Repair.Status = RepairRejected
		}
		return nil
	})
}

func typeName(t Type) string {
	if d, ok := Lookup(t); ok {
		return d.Name
	}
	return string(t)
}

// Get returns a record. The public sees only records in public view;
// others with the read scope see the archive too (hidden types need the
// fraud scope).
func (s *Service) Get(ctx context.Context, id int64) (*Record, error) {
	const op = "record.Get"
	r, err := s.Store.GetRecord(ctx, id)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	if !s.visible(account.From(ctx), r, false) {
		return nil, &errs.Error{Code: errs.NotFound, Op: op, Message: fmt.Sprintf("记录 %d 不存在 (record not found)", id)}
	}
	return r, nil
}

func (s *Service) visible(a account.Actor, r *Record, publicOnly bool) bool {
	def, ok := Lookup(r.Type)
	if !ok {
		return false
	}
	if !publicOnly && mayReadHidden(a, def) {
		return true
	}
	return InPublicView(r, s.now())
}

// ListBySubject returns a subject's records, newest first by id. With
// publicOnly (always for the public) only records in public view.
func (s *Service) ListBySubject(ctx context.Context, subjectID int64, t Type, publicOnly bool) ([]*Record, error) {
	const op = "record.ListBySubject"
	a := account.From(ctx)
	if !Can(a, ScopeRecordsRead) {
		publicOnly = true
	}
	var out []*Record
	after := int64(0)
	for {
		rs, err := s.Store.ListRecords(ctx, Filter{SubjectID: subjectID, Type: t, After: after, Limit: 500})
		if err != nil {
			return nil, errs.Wrap(op, err)
		}
		for _, r := range rs {
			if s.visible(a, r, publicOnly) {
				out = append(out, r)
			}
		}
		if len(rs) < 500 {
			break
		}
		after = rs[len(rs)-1].ID
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// Events returns the history of a record (read scope).
func (s *Service) Events(ctx context.Context, id int64) ([]*Event, error) {
	const op = "record.Events"
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	if err := require(account.From(ctx), ScopeRecordsRead); err != nil {
		return nil, errs.Wrap(op, err)
	}
	evs, err := s.Store.ListEvents(ctx, id)
	return evs, errs.Wrap(op, err)
}

// Change is one entry of the change feed.
type Change struct {
	Cursor string  `json:"cursor"` // pass as ?after= to continue
	Event  *Event  `json:"event"`
	Record *Record `json:"record"` // state after the event
}

// Changes returns up to limit (default 100, at most 1000) record events
// after the cursor ("" or "0" from the start), oldest first, with the
// record state after each, and the cursor to continue from.
func (s *Service) Changes(ctx context.Context, after string, limit int) ([]Change, string, error) {
	const op = "record.Changes"
	a := account.From(ctx)
	if err := require(a, ScopeRecordsRead); err != nil {
		return nil, "", errs.Wrap(op, err)
	}
	cur := int64(0)
	if strings.TrimSpace(after) != "" {
		v, err := strconv.ParseInt(strings.TrimSpace(after), 10, 64)
		if err != nil || v < 0 {
			return nil, "", errs.Wrap(op, errs.Field("after", "游标「%s」无效 (invalid cursor)", after))
		}
		cur = v
	}
	if limit <= 0 {
		limit = 100
	}
	if limit > 1000 {
		limit = 1000
	}
	evs, err := s.Store.EventsAfter(ctx, cur, limit)
	if err != nil {
		return nil, "", errs.Wrap(op, err)
	}
	out := make([]Change, 0, len(evs))
	next := cur
	for _, ev := range evs {
		next = ev.ID
		st, err := StateOf(ev.Content)
		if err != nil {
			return nil, "", errs.Wrap(op, err)
		}
		def, ok := Lookup(st.Type)
		if !ok || !mayReadHidden(a, def) {
			continue
		}
		out = append(out, Change{Cursor: strconv.FormatInt(ev.ID, 10), Event: ev, Record: st})
	}
	return out, strconv.FormatInt(next, 10), nil
}
