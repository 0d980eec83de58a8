package trace

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/errs"
	"ecredit/record"
)

// RecallInput recalls a batch.
type RecallInput struct {
	// Reason is why the batch is recalled; required, except when a
	// cascade is sent again for a batch already recalled (its recall's
	// reason stands).
	Reason string `json:"reason"`
	// Cascade recalls, after the batch, every batch made from it however
	// far down that is not recalled yet and that the caller may recall
	// (Recall).
	Cascade bool `json:"cascade"`
}

// RecallSource is the name under which every recall's credit record is
// written (its source key "name:" + RecallSource).
const RecallSource = "产品追溯·召回"

// RecallRef is the source ref of a recall's credit record.
func RecallRef(gtin, batch string) string { return "召回-" + gtin + "-" + batch }

// Limits of a cascading recall.
const (
	// MaxCascade is the most downstream batches one cascade recalls (or
	// tries to); sent again, the cascade goes on with the rest.
	MaxCascade = 100
	// cascadeNodes is the most downstream batches one cascade walks and
	// lists, those recalled already included.
	cascadeNodes = 1000
)

// The fate of a downstream batch in a cascading recall.
const (
	CascadeRecalled        = "recalled"         // recalled now, with its own record
	CascadeAlreadyRecalled = "already_recalled" // recalled before: left as it is
	CascadeNotPermitted    = "not_permitted"    // another producer's batch: the caller may not recall it
	CascadeFailed          = "failed"           // its recall failed (Message); the cascade sent again tries it again
)

// cascadeLabels are the statuses' Chinese names.
var cascadeLabels = map[string]string{CascadeRecalled: "已召回", CascadeAlreadyRecalled: "此前已召回",
	CascadeNotPermitted: "无权召回", CascadeFailed: "召回失败"}

// CascadeResult is the fate of one downstream batch in a cascading recall.
type CascadeResult struct {
	GTIN        string `json:"gtin"`
	Batch       string `json:"batch"`
	ProductName string `json:"product_name,omitempty"`
	// Depth is 1 for a batch made from the recalled one, 2 for one made
	// from such a batch, …; Of is the batch one step nearer.
	Depth       int    `json:"depth"`
	Of          string `json:"of"`
	Status      string `json:"status"`
	StatusLabel string `json:"status_label"`
	// Message says why a batch was not recalled (not_permitted, failed).
	Message string `json:"message,omitempty"`
	// RecordID is the credit record of the batch's recall (recalled,
	// already_recalled).
	RecordID int64 `json:"record_id,omitempty"`
	// Err is the cause of a failure, for the log.
	Err error `json:"-"`
}

// RecallResult is what a recall did: the batch's recall and, when asked
// to cascade, the fate of every batch made from it.
type RecallResult struct {
	*Recall
	// Resumed: the batch was recalled before (Recall is that recall); the
	// cascade sent again only went on with its downstream batches.
	Resumed bool
	// Cascade is each downstream batch's fate, nearest first; nil when no
	// cascade was asked.
	Cascade []CascadeResult
	// CascadeTruncated: more batches were made from it than one cascade
	// handles (MaxCascade recalls, cascadeNodes listed); send it again.
	CascadeTruncated bool
	// CascadeErr: the walk down the lineage failed; the recalls listed
	// stand, and the cascade sent again goes on.
	CascadeErr error
}

// Count counts the downstream batches of a status.
func (r *RecallResult) Count(status string) int {
	n := 0
	for _, c := range r.Cascade {
		if c.Status == status {
			n++
		}
	}
	return n
}

// Internal returns the causes of the cascade's internal failures (the
// walk's, each batch's, naming it), for the log: the answer only says
// 内部错误 for them.
func (r *RecallResult) Internal() []error {
	var out []error
	if r.CascadeErr != nil && errs.CodeOf(r.CascadeErr) == errs.Internal {
		out = append(out, fmt.Errorf("lineage walk: %w", r.CascadeErr))
	}
	for _, c := range r.Cascade {
		if c.Err != nil && errs.CodeOf(c.Err) == errs.Internal {
			out = append(out, fmt.Errorf("%s/%s: %w", c.GTIN, c.Batch, c.Err))
		}
	}
	return out
}

// RecallResultView is a recall's answer in the API: the recall, and with
// a cascade its downstream batches.
type RecallResultView struct {
	RecallView
	Resumed          bool            `json:"resumed,omitempty"`
	Cascade          []CascadeResult `json:"cascade,omitzero"` // present (maybe empty) when a cascade was asked
	CascadeTruncated bool            `json:"cascade_truncated,omitempty"`
	CascadeError     string          `json:"cascade_error,omitempty"`
}

// View returns the result's API form.
func (r *RecallResult) View() RecallResultView {
	v := RecallResultView{RecallView: r.Recall.View(), Resumed: r.Resumed, Cascade: r.Cascade, CascadeTruncated: r.CascadeTruncated}
	if r.CascadeErr != nil {
		v.CascadeError = errs.MessageOf(r.CascadeErr)
	}
	return v
}

// Recall recalls a batch: departments and the credit office may recall
// any batch, a producer its own. It
//
//  1. sums the orders, quantity and platforms the batch reached;
//  2. writes a credit record of the open type (record.TypeOther, nature
//     negative, subject the producer, ref RecallRef) through the Recorder,
//     under one source for every recall (RecallSource; the department
//     field names the caller's department), so that one record per
//     batch can exist even when two callers recall it at once — so the
//     recall is in the
//     ledger and in the change feed /api/v1/changes, where platforms find
//     it by its custom fields x:gtin, x:batch and x:platforms (the credit
//     codes of the platforms whose orders hold the batch);
//  3. stores the recall row linking that record, a "recalled" event and
//     the batch's recalled status, with the audit entry, in one
//     transaction.
//
// Steps 2 and 3 are two transactions. A retry after a failure between
// them, or a concurrent recall of the batch, finds the record by its ref
// and completes step 3 (or finds the batch recalled: a Conflict); a
// batch already recalled is a Conflict.
//
// With in.Cascade, every batch made from it (however far down, nearest
// first) is then recalled the same way, each with its own record against
// its own producer, the reason "原料批次 GTIN/batch 已召回：…" and the
// custom field x:source_batch naming the lot — those the caller may
// recall: all for departments and the credit office, its own for a
// producer (others are not_permitted). Batches recalled already are
// left as they are; a batch whose recall fails is reported and does not
// undo the others. Sent again for a batch already recalled, the cascade
// goes on with what is left instead of a Conflict.
func (s *Service) Recall(ctx context.Context, gtin, batch string, in RecallInput) (*RecallResult, error) {
	const op = "trace.Recall"
	a := account.From(ctx)
	if anonymous(a) {
		return nil, errs.Wrap(op, errAuth)
	}
	var l errs.List
	reason := text(&l, "reason", in.Reason, 500, !in.Cascade)
	if err := l.Err(); err != nil {
		return nil, errs.Wrap(op, err)
	}
	lk := s.lookups()
	b, p, _, err := s.batchAndProduct(ctx, lk, gtin, batch)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	if !mayRecall(a, b.ProducerID) {
		return nil, errs.Wrap(op, forbidden(a, "只能召回本主体生产的批次 (only a department, the credit office or the producer may recall a batch)"))
	}
	res := &RecallResult{}
	switch {
	case b.Status == BatchRecalled && !in.Cascade:
		return nil, &errs.Error{Code: errs.Conflict, Op: op, Field: "batch", Message: "该批次已召回 (batch already recalled)"}
	case b.Status == BatchRecalled:
		if res.Recall, err = s.Store.GetRecall(ctx, b.GTIN, b.Batch); err != nil {
			return nil, errs.Wrap(op, err)
		}
		res.Resumed = true
	case reason == "":
		return nil, errs.Wrap(op, errs.Field("reason", "不能为空 (required)"))
	default:
		if res.Recall, err = s.recallBatch(ctx, a, lk, b, p, reason, in.Cascade, nil); err != nil {
			return nil, errs.Wrap(op, err)
		}
	}
	if in.Cascade {
		s.cascade(ctx, a, lk, b, res)
	}
	return res, nil
}

// mayRecall says whether the actor may recall a batch of producerID.
func mayRecall(a account.Actor, producerID int64) bool {
	return Can(a, ScopeTraceRecall) || isProducer(a, producerID)
}

// recallSource is the recalled lot a cascade recalls a batch for.
type recallSource struct {
	key    string // the lot, "gtin/batch"
	record int64  // its recall's credit record
	via    string // the batch one step nearer, when not the lot itself
}

// recallBatch recalls the stored batch b of product p for a (who may):
// steps 1 to 3 of Recall. cascade says the batches made from b are
// recalled with it; src names the lot b is recalled for (nil: b itself
// is the cause).
func (s *Service) recallBatch(ctx context.Context, a account.Actor, lk *subjects, b *Batch, p *Product, reason string, cascade bool, src *recallSource) (*Recall, error) {
	producer, err := lk.get(ctx, p.ProducerID)
	if err != nil {
		return nil, err
	}
	if producer == nil || producer.CreditCode == "" {
		return nil, &errs.Error{Code: errs.Invalid, Field: "gtin", Message: "该产品的生产者没有统一社会信用代码，无法记入信用记录 (producer has no credit code)"}
	}
	r, err := s.reach(ctx, gtinForms(b.GTIN), b.Batch, 0)
	if err != nil {
		return nil, err
	}
	ps, err := lk.platforms(ctx, r.Platforms)
	if err != nil {
		return nil, err
	}
	// The batches made from this one (however far down) are affected
	// too: they are named in the record, with the platforms whose orders
	// hold them, so those platforms find the recall in the change feed.
	down, _, err := s.lineage(ctx, lk, b, false, false)
	if err != nil {
		return nil, err
	}
	var downOrders int64
	downPlatforms := map[int64]int64{}
	var downNames []string
	for _, d := range down {
		dr, err := s.reach(ctx, gtinForms(d.GTIN), d.Batch, 0)
		if err != nil {
			return nil, err
		}
		downOrders += dr.Orders
		for _, x := range dr.Platforms {
			downPlatforms[x.PlatformID] += x.Orders
		}
		downNames = append(downNames, d.GTIN+"/"+d.Batch+":"+strconv.FormatInt(dr.Orders, 10))
	}
	var dps []PlatformReach
	for id, n := range downPlatforms {
		dps = append(dps, PlatformReach{PlatformID: id, Orders: n})
	}
	slices.SortFunc(dps, func(x, y PlatformReach) int {
		return cmp.Or(cmp.Compare(y.Orders, x.Orders), cmp.Compare(x.PlatformID, y.PlatformID))
	})
	if dps, err = lk.platforms(ctx, dps); err != nil {
		return nil, err
	}
	now := s.now()
	codes := platformCodes(ps)
	content := fmt.Sprintf("%s。召回时已售出订单 %d 笔、数量 %d，涉及电子商务平台 %d 个。", strings.TrimRight(reason, "。."), r.Orders, r.Quantity, len(ps))
	if len(down) > 0 {
		next := "请一并排查。"
		if cascade {
			next = "已同时召回其中可召回的批次（各有召回记录），其余请一并排查。"
		}
		content += fmt.Sprintf("以该批次为原料的下游批次 %d 个，已售出订单 %d 笔，涉及电子商务平台 %d 个，%s", len(down), downOrders, len(dps), next)
	}
	dept := a.Department
	if dept == "" {
		dept = a.Name
	}
	ref := RecallRef(b.GTIN, b.Batch)
	rin := record.Input{Type: record.TypeOther, Fields: map[string]string{
		"subject_name": producer.Name, "credit_code": producer.CreditCode, "record_no": ref,
		"title":      fmt.Sprintf("产品召回：%s（批次 %s）", p.Name, b.Batch),
		"department": dept, "record_date": string(record.DateOf(now)), "nature": "negative",
		"content": content,
		"gtin":    b.GTIN, "batch": b.Batch, "product": p.Name, "affected_orders": strconv.FormatInt(r.Orders, 10),
		"affected_quantity": strconv.FormatInt(r.Quantity, 10), "platforms": codes,
		"trace_url": "/trace/" + b.GTIN + "/" + b.Batch,
	}}
	if len(down) > 0 {
		rin.Fields["downstream_batches"] = clipList(downNames)
		rin.Fields["downstream_orders"] = strconv.FormatInt(downOrders, 10)
		rin.Fields["downstream_platforms"] = platformCodes(dps)
	}
	if src != nil {
		rin.Fields["source_batch"] = src.key
		rin.Fields["source_record"] = strconv.FormatInt(src.record, 10)
		if src.via != "" {
			rin.Fields["source_via"] = src.via
		}
	}
	// Every recall record is written under one source, whoever recalls
	// (the recall row, its event and audit entry name the caller; the
	// record's department field the department): the records' unique
	// (type, source, ref) then lets one record per batch exist, so two
	// recalls of a batch at once — two departments, or a department and
	// the producer — write one record, and the second links it and then
	// finds the batch recalled.
	rctx := account.With(ctx, account.Actor{Role: account.RoleAdmin, Name: RecallSource, Remote: a.Remote, RequestID: a.RequestID, Via: "trace"})
	var recordID int64
	res, err := s.Recorder.Ingest(rctx, rin)
	switch {
	case err == nil:
		recordID = res.ID
	case errs.Is(err, errs.Conflict):
		// A retry whose first record was written, or a concurrent
		// recall's: link that one.
		ex, ferr := s.Records.FindRecordByRef(ctx, record.TypeOther, record.SourceKey(account.From(rctx)), ref)
		if ferr != nil {
			return nil, err
		}
		recordID = ex.ID
	default:
		return nil, err
	}
	rc := &Recall{BatchID: b.ID, GTIN: b.GTIN, Batch: b.Batch, Reason: reason, RecordID: recordID, ActorID: a.AccountID,
		ActorName: a.Name, Role: string(a.Role), Orders: r.Orders, Quantity: r.Quantity, Platforms: ps, At: now}
	ev := &Event{SourceKey: "recall", EventID: b.GTIN + "/" + b.Batch, Type: EventRecalled, GTIN: b.GTIN, Batch: b.Batch, At: now,
		Region: producer.RegionCode, SubjectID: producer.ID, BizStep: defaultStep[EventRecalled], Disposition: defaultDisposition[EventRecalled],
		RefType: "record", Ref: strconv.FormatInt(recordID, 10), Quantity: r.Quantity, Note: reason, ActorID: a.AccountID, ActorName: a.Name, RecordedAt: now}
	if err := s.Store.CreateRecall(ctx, rc, ev, a.Audit(audit.ActCreate, "trace_recall", b.GTIN+"/"+b.Batch)); err != nil {
		return nil, err
	}
	return rc, nil
}

// cascadeTarget is a batch made from a recalled lot, as the cascade
// found it.
type cascadeTarget struct {
	b     *Batch
	depth int
	of    string // the batch one step nearer, "gtin/batch"
}

// cascade recalls the batches made from the recalled lot b (res.Recall)
// for a, nearest first, filling res.Cascade: Recall's cascade.
func (s *Service) cascade(ctx context.Context, a account.Actor, lk *subjects, b *Batch, res *RecallResult) {
	res.Cascade = []CascadeResult{}
	lot := b.GTIN + "/" + b.Batch
	// Walk down, nearest first, each batch once: those not recalled yet
	// count against MaxCascade, every one against cascadeNodes.
	key := map[int64]string{b.ID: lot}
	var targets []cascadeTarget
	pending := 0
	_, err := s.walkLineage(ctx, []int64{b.ID}, false, math.MaxInt, func(depth int, k Link) (bool, bool) {
		o := k.Other
		if o.Status != BatchRecalled && mayRecall(a, o.ProducerID) {
			pending++
		}
		if pending > MaxCascade || len(targets) == cascadeNodes {
			res.CascadeTruncated = true
			return false, true
		}
		key[o.ID] = o.GTIN + "/" + o.Batch
		targets = append(targets, cascadeTarget{b: o, depth: depth, of: key[k.InputID]})
		return true, false
	})
	if err != nil {
		res.CascadeErr = err
		return
	}
	// The lot's recall's reason, in every downstream record: the cause.
	reason := clip("原料批次 "+lot+" 已召回："+res.Reason, 500)
	products := map[string]*Product{}
	for _, t := range targets {
		c := CascadeResult{GTIN: t.b.GTIN, Batch: t.b.Batch, Depth: t.depth, Of: t.of}
		p, err := products[t.b.GTIN], error(nil)
		if p == nil {
			if p, err = s.Store.GetProduct(ctx, t.b.GTIN); err == nil {
				products[t.b.GTIN] = p
			}
		}
		if err == nil {
			c.ProductName = p.Name
		}
		switch {
		case err != nil:
			c.Status, c.Message, c.Err = CascadeFailed, errs.MessageOf(err), err
		case t.b.Status == BatchRecalled:
			c.Status = CascadeAlreadyRecalled
		case !mayRecall(a, t.b.ProducerID):
			c.Status, c.Message = CascadeNotPermitted, "该批次由其他主体生产，只能由其生产者或主管部门召回 (another producer's batch)"
		default:
			src := &recallSource{key: lot, record: res.RecordID}
			if t.of != lot {
				src.via = t.of
			}
			rc, err := s.recallBatch(ctx, a, lk, t.b, p, reason, true, src)
			switch {
			case err == nil:
				c.Status, c.RecordID = CascadeRecalled, rc.RecordID
			case errs.Is(err, errs.Conflict) && s.recalledNow(ctx, t.b):
				// Recalled by another request since the walk read it.
				c.Status = CascadeAlreadyRecalled
			default:
				c.Status, c.Message, c.Err = CascadeFailed, errs.MessageOf(err), err
			}
		}
		c.StatusLabel = cascadeLabels[c.Status]
		if c.Status == CascadeAlreadyRecalled {
			if rc, err := s.Store.GetRecall(ctx, t.b.GTIN, t.b.Batch); err == nil {
				c.RecordID = rc.RecordID
			}
		}
		res.Cascade = append(res.Cascade, c)
	}
}

// recalledNow reads again whether the batch is recalled.
func (s *Service) recalledNow(ctx context.Context, b *Batch) bool {
	now, err := s.Store.GetBatch(ctx, b.GTIN, b.Batch)
	return err == nil && now.Status == BatchRecalled
}

// RecallItem is a recall in the list of the latest ones.
type RecallItem struct {
	RecallView
	ProductName string `json:"product_name"`
}

// RecentRecalls lists the latest recalls, newest first, with their
// products' names: departments and the credit office.
func (s *Service) RecentRecalls(ctx context.Context, limit int) ([]RecallItem, error) {
	const op = "trace.RecentRecalls"
	a := account.From(ctx)
	if anonymous(a) {
		return nil, errs.Wrap(op, errAuth)
	}
	if !Can(a, ScopeTraceRead) {
		return nil, errs.Wrap(op, forbidden(a, "无权查看召回列表 (may not list recalls)"))
	}
	rcs, err := s.Store.RecentRecalls(ctx, 0, limit)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	out := make([]RecallItem, 0, len(rcs))
	names := map[string]string{}
	for _, rc := range rcs {
		name, ok := names[rc.GTIN]
		if !ok {
			if p, err := s.Store.GetProduct(ctx, rc.GTIN); err == nil {
				name = p.Name
			} else if !errs.Is(err, errs.NotFound) {
				return nil, errs.Wrap(op, err)
			}
			names[rc.GTIN] = name
		}
		out = append(out, RecallItem{RecallView: rc.View(), ProductName: name})
	}
	return out, nil
}

// platformCodes lists the platforms as "credit code:orders", joined by
// ";", within the open type's value limit (2000 characters).
func platformCodes(ps []PlatformReach) string {
	var codes []string
	for _, x := range ps {
		codes = append(codes, x.CreditCode+":"+strconv.FormatInt(x.Orders, 10))
	}
	return clipList(codes)
}

// clipList joins items by ";", as many as fit in 1900 characters.
func clipList(items []string) string {
	var out []string
	n := 0
	for _, c := range items {
		if n+len(c)+1 > 1900 { // the open type's value limit is 2000 characters
			break
		}
		out, n = append(out, c), n+len(c)+1
	}
	return strings.Join(out, ";")
}

// PublicRecall is a recall on the public notice board (产品召回公告): what
// the batch's public trace page says of it, with the product and its
// producer.
type PublicRecall struct {
	ID            int64       `json:"id"`
	GTIN          string      `json:"gtin"`
	Batch         string      `json:"batch"`
	ProductName   string      `json:"product_name"`
	Category      string      `json:"category"`
	CategoryLabel string      `json:"category_label"`
	Producer      *SubjectRef `json:"producer"`
	Reason        string      `json:"reason"`
	By            string      `json:"by"`
	Orders        int64       `json:"orders"`
	Quantity      int64       `json:"quantity"`
	At            time.Time   `json:"at"`
	TraceURL      string      `json:"trace_url"`
}

// MaxPublicRecalls is the most recalls one page of the notice board lists.
const MaxPublicRecalls = 100

// PublicRecalls lists the recalls for anyone, newest first: up to limit
// (1…MaxPublicRecalls) before the recall id before (0: the latest), and
// the cursor of the next page (0 on the last).
func (s *Service) PublicRecalls(ctx context.Context, before int64, limit int) ([]PublicRecall, int64, error) {
	const op = "trace.PublicRecalls"
	if before < 0 {
		return nil, 0, errs.Wrap(op, errs.Field("before", "before 应为召回编号（正整数）(before must be a recall id)"))
	}
	limit = max(1, min(limit, MaxPublicRecalls))
	rcs, err := s.Store.RecentRecalls(ctx, before, limit+1)
	if err != nil {
		return nil, 0, errs.Wrap(op, err)
	}
	var next int64
	if len(rcs) > limit {
		rcs, next = rcs[:limit], rcs[limit-1].ID
	}
	lk := s.lookups()
	products := map[string]*Product{}
	out := make([]PublicRecall, 0, len(rcs))
	for _, rc := range rcs {
		p, ok := products[rc.GTIN]
		if !ok {
			if p, err = s.Store.GetProduct(ctx, rc.GTIN); err != nil && !errs.Is(err, errs.NotFound) {
				return nil, 0, errs.Wrap(op, err)
			}
			products[rc.GTIN] = p
		}
		pr := PublicRecall{ID: rc.ID, GTIN: rc.GTIN, Batch: rc.Batch, Reason: rc.Reason, By: rc.ActorName, Orders: rc.Orders,
			Quantity: rc.Quantity, At: rc.At, TraceURL: "/trace/" + rc.GTIN + "/" + rc.Batch}
		if p != nil {
			producer, err := lk.get(ctx, p.ProducerID)
			if err != nil {
				return nil, 0, errs.Wrap(op, err)
			}
			pr.ProductName, pr.Category, pr.CategoryLabel, pr.Producer = p.Name, p.Category, CategoryLabel(p.Category), subjectRef(producer)
		}
		out = append(out, pr)
	}
	return out, next, nil
}
