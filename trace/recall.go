package trace

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/errs"
	"ecredit/record"
)

// RecallInput recalls a batch.
type RecallInput struct {
	Reason string `json:"reason"`
}

// RecallRef is the source ref of a recall's credit record.
func RecallRef(gtin, batch string) string { return "召回-" + gtin + "-" + batch }

// Recall recalls a batch: departments and the credit office may recall
// any batch, a producer its own. It
//
//  1. sums the orders, quantity and platforms the batch reached;
//  2. writes a credit record of the open type (record.TypeOther, nature
//     negative, subject the producer, ref RecallRef) through the Recorder,
//     under the caller — or, for a producer, which may not write records,
//     under a delegated actor named after it — so the recall is in the
//     ledger and in the change feed /api/v1/changes, where platforms find
//     it by its custom fields x:gtin, x:batch and x:platforms (the credit
//     codes of the platforms whose orders hold the batch);
//  3. stores the recall row linking that record, a "recalled" event and
//     the batch's recalled status, with the audit entry, in one
//     transaction.
//
// Steps 2 and 3 are two transactions. A retry after a failure between
// them finds the record by its ref and completes step 3; a batch already
// recalled is a Conflict.
func (s *Service) Recall(ctx context.Context, gtin, batch string, in RecallInput) (*Recall, error) {
	const op = "trace.Recall"
	a := account.From(ctx)
	if anonymous(a) {
		return nil, errs.Wrap(op, errAuth)
	}
	var l errs.List
	reason := text(&l, "reason", in.Reason, 500, true)
	if err := l.Err(); err != nil {
		return nil, errs.Wrap(op, err)
	}
	lk := s.lookups()
	b, p, _, err := s.batchAndProduct(ctx, lk, gtin, batch)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	if !Can(a, ScopeTraceRecall) && !isProducer(a, b.ProducerID) {
		return nil, errs.Wrap(op, forbidden(a, "只能召回本主体生产的批次 (only a department, the credit office or the producer may recall a batch)"))
	}
	if b.Status == BatchRecalled {
		return nil, &errs.Error{Code: errs.Conflict, Op: op, Field: "batch", Message: "该批次已召回 (batch already recalled)"}
	}
	producer, err := lk.get(ctx, p.ProducerID)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	if producer == nil || producer.CreditCode == "" {
		return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "gtin", Message: "该产品的生产者没有统一社会信用代码，无法记入信用记录 (producer has no credit code)"}
	}
	r, err := s.reach(ctx, gtinForms(b.GTIN), b.Batch, 0)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	ps, err := lk.platforms(ctx, r.Platforms)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	// The batches made from this one (however far down) are affected
	// too: they are named in the record, with the platforms whose orders
	// hold them, so those platforms find the recall in the change feed.
	down, _, err := s.lineage(ctx, lk, b, false, false)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	var downOrders int64
	downPlatforms := map[int64]int64{}
	var downNames []string
	for _, d := range down {
		dr, err := s.reach(ctx, gtinForms(d.GTIN), d.Batch, 0)
		if err != nil {
			return nil, errs.Wrap(op, err)
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
		return nil, errs.Wrap(op, err)
	}
	now := s.now()
	codes := platformCodes(ps)
	content := fmt.Sprintf("%s。召回时已售出订单 %d 笔、数量 %d，涉及电子商务平台 %d 个。", strings.TrimRight(reason, "。."), r.Orders, r.Quantity, len(ps))
	if len(down) > 0 {
		content += fmt.Sprintf("以该批次为原料的下游批次 %d 个，已售出订单 %d 笔，涉及电子商务平台 %d 个，请一并排查。", len(down), downOrders, len(dps))
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
	rctx := ctx
	if !record.Can(a, record.ScopeRecordsWrite) {
		d := account.Actor{Role: account.RoleAdmin, Name: "产品追溯·" + a.Name + "主动召回", Remote: a.Remote, RequestID: a.RequestID, Via: "trace"}
		rctx = account.With(ctx, d)
	}
	var recordID int64
	res, err := s.Recorder.Ingest(rctx, rin)
	switch {
	case err == nil:
		recordID = res.ID
	case errs.Is(err, errs.Conflict):
		// A retry whose first record was written: link that one.
		ex, ferr := s.Records.FindRecordByRef(ctx, record.TypeOther, record.SourceKey(account.From(rctx)), ref)
		if ferr != nil {
			return nil, errs.Wrap(op, err)
		}
		recordID = ex.ID
	default:
		return nil, errs.Wrap(op, err)
	}
	rc := &Recall{BatchID: b.ID, GTIN: b.GTIN, Batch: b.Batch, Reason: reason, RecordID: recordID, ActorID: a.AccountID,
		ActorName: a.Name, Role: string(a.Role), Orders: r.Orders, Quantity: r.Quantity, Platforms: ps, At: now}
	ev := &Event{SourceKey: "recall", EventID: b.GTIN + "/" + b.Batch, Type: EventRecalled, GTIN: b.GTIN, Batch: b.Batch, At: now,
		Region: producer.RegionCode, SubjectID: producer.ID, BizStep: defaultStep[EventRecalled], Disposition: defaultDisposition[EventRecalled],
		RefType: "record", Ref: strconv.FormatInt(recordID, 10), Quantity: r.Quantity, Note: reason, ActorID: a.AccountID, ActorName: a.Name, RecordedAt: now}
	if err := s.Store.CreateRecall(ctx, rc, ev, a.Audit(audit.ActCreate, "trace_recall", b.GTIN+"/"+b.Batch)); err != nil {
		return nil, errs.Wrap(op, err)
	}
	return rc, nil
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
	rcs, err := s.Store.RecentRecalls(ctx, limit)
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
