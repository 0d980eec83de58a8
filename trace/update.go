package trace

import (
	"context"
	"fmt"
	"strings"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/errs"
	"ecredit/record"
)

// ProductPatch changes some fields of a product. Nil fields are kept. The
// GTIN never changes (another GTIN is another product), nor does the
// producer: its batches, events and recalls are the producer's.
type ProductPatch struct {
	Name     *string `json:"name,omitempty"`
	Category *string `json:"category,omitempty"` // a category key or its Chinese name
	Brand    *string `json:"brand,omitempty"`
	Spec     *string `json:"spec,omitempty"`
	// Version, when not 0, must equal the stored version (optimistic lock).
	Version int `json:"version,omitempty"`
}

// UpdateProduct applies a patch: the producer itself, departments and the
// credit office may change a product. The write and its audit entry
// commit together, and only over the version that was read.
func (s *Service) UpdateProduct(ctx context.Context, gtin string, in ProductPatch) (*Product, error) {
	const op = "trace.UpdateProduct"
	a := account.From(ctx)
	if anonymous(a) {
		return nil, errs.Wrap(op, errAuth)
	}
	g, err := ParseGTIN("gtin", gtin)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	p, err := s.Store.GetProduct(ctx, g)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	if err := mayManage(a, p.ProducerID); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if err := sameVersion("产品", in.Version, p.Version); err != nil {
		return nil, errs.Wrap(op, err)
	}
	var l errs.List
	var changed []string
	if in.Name != nil {
		p.Name = text(&l, "name", *in.Name, 200, true)
		changed = append(changed, "name")
	}
	if in.Category != nil {
		if c, ok := NormalizeCategory(*in.Category); ok {
			p.Category = c
		} else {
			l.Add("category", "未知的类别「%s」(unknown category)", clip(*in.Category, 40))
		}
		changed = append(changed, "category")
	}
	if in.Brand != nil {
		p.Brand = text(&l, "brand", *in.Brand, 100, false)
		changed = append(changed, "brand")
	}
	if in.Spec != nil {
		p.Spec = text(&l, "spec", *in.Spec, 100, false)
		changed = append(changed, "spec")
	}
	if err := l.Err(); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if len(changed) == 0 {
		return nil, errs.Wrap(op, errs.Field("", "没有要修改的字段 (nothing to change)"))
	}
	p.UpdatedAt = s.now()
	if err := s.Store.UpdateProduct(ctx, p, a.Audit(audit.ActUpdate, "trace_product", g+" "+strings.Join(changed, ","))); err != nil {
		return nil, errs.Wrap(op, err)
	}
	return p, nil
}

// BatchPatch changes some fields of a batch. Nil fields are kept; an empty
// expires_on clears the expiry date. The status changes only by a recall.
type BatchPatch struct {
	ProducedOn *string `json:"produced_on,omitempty"`
	ExpiresOn  *string `json:"expires_on,omitempty"`
	Quantity   *int64  `json:"quantity,omitempty"`
	UOM        *string `json:"uom,omitempty"` // the unit of the quantity (Units)
	// Version, when not 0, must equal the stored version (optimistic lock).
	Version int `json:"version,omitempty"`
}

// UpdateBatch applies a patch to a batch that is not recalled (a recall
// records what the batch was): the producer itself, departments and the
// credit office may change it. The production date may not move past the
// batch's first trace event, nor the expiry date before production.
func (s *Service) UpdateBatch(ctx context.Context, gtin, batch string, in BatchPatch) (*Batch, error) {
	const op = "trace.UpdateBatch"
	a := account.From(ctx)
	if anonymous(a) {
		return nil, errs.Wrap(op, errAuth)
	}
	g, bn, err := parseKey(gtin, batch)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	b, err := s.Store.GetBatch(ctx, g, bn)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	if err := mayManage(a, b.ProducerID); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if err := sameVersion("批次", in.Version, b.Version); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if b.Status == BatchRecalled {
		return nil, &errs.Error{Code: errs.Conflict, Op: op, Field: "batch", Message: "已召回的批次不能修改 (a recalled batch cannot be changed)"}
	}
	var l errs.List
	var changed []string
	now := s.now()
	if in.ProducedOn != nil {
		changed = append(changed, "produced_on")
		if strings.TrimSpace(*in.ProducedOn) == "" {
			l.Add("produced_on", "必须填写生产日期 (required)")
		} else if d, err := record.ParseDate(*in.ProducedOn); err != nil {
			l.Add("produced_on", "生产日期%s", err.Error())
		} else if d > record.DateOf(now) {
			l.Add("produced_on", "生产日期 %s 晚于今天 (date in the future)", d)
		} else {
			b.ProducedOn = string(d)
		}
	}
	if in.ExpiresOn != nil {
		changed = append(changed, "expires_on")
		if strings.TrimSpace(*in.ExpiresOn) == "" {
			b.ExpiresOn = ""
		} else if d, err := record.ParseDate(*in.ExpiresOn); err != nil {
			l.Add("expires_on", "有效期至%s", err.Error())
		} else {
			b.ExpiresOn = string(d)
		}
	}
	if in.Quantity != nil {
		changed = append(changed, "quantity")
		if *in.Quantity < 0 || *in.Quantity > 1e12 {
			l.Add("quantity", "数量必须是 0 到 10^12 之间的整数 (quantity out of range)")
		} else {
			b.Quantity = *in.Quantity
		}
	}
	if in.UOM != nil {
		changed = append(changed, "uom")
		b.UOM = *in.UOM
	}
	b.UOM = checkUOM(&l, "uom", b.UOM, b.Quantity != 0)
	if err := l.Err(); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if len(changed) == 0 {
		return nil, errs.Wrap(op, errs.Field("", "没有要修改的字段 (nothing to change)"))
	}
	if b.ExpiresOn != "" && b.ExpiresOn < b.ProducedOn {
		field := "expires_on"
		if in.ExpiresOn == nil {
			field = "produced_on"
		}
		return nil, errs.Wrap(op, errs.Field(field, "有效期至 %s 早于生产日期 %s (expiry before production)", b.ExpiresOn, b.ProducedOn))
	}
	if in.ProducedOn != nil {
		first, err := s.Store.BatchEvents(ctx, g, bn, nil, EventCursor{}, 1)
		if err != nil {
			return nil, errs.Wrap(op, err)
		}
		if len(first) == 1 && first[0].At.Before(record.Date(b.ProducedOn).Time()) {
			return nil, errs.Wrap(op, errs.Field("produced_on", "生产日期 %s 晚于该批次最早的追溯事件（%s）(production after the batch's first event)",
				b.ProducedOn, record.DateOf(first[0].At)))
		}
	}
	b.UpdatedAt = now
	dated, amount := in.ProducedOn != nil, in.Quantity != nil || in.UOM != nil
	err = s.guarded(ctx, func(gen int64) error {
		if !dated && !amount {
			gen = NoLineageCheck // the expiry date: no lineage check reads it
		}
		if err := s.keepLineage(ctx, b, dated, amount); err != nil {
			return err
		}
		return s.Store.UpdateBatch(ctx, b, gen, a.Audit(audit.ActUpdate, "trace_batch", g+"/"+bn+" "+strings.Join(changed, ",")))
	})
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	return b, nil
}

// sameVersion checks a patch's version (0: not given) against the stored one.
func sameVersion(what string, given, stored int) error {
	if given != 0 && given != stored {
		return &errs.Error{Code: errs.Conflict, Field: "version", Message: fmt.Sprintf("%s已被他人修改（当前版本 %d），请刷新后重试 (stale version)", what, stored)}
	}
	return nil
}
