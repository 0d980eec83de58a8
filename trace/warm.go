package trace

import (
	"context"
	"math"

	"ecredit/errs"
)

// Warming: the first trace of a hot batch reads every order that holds it
// (reach.go), seconds at ten million orders — and it is the trace a
// regulator runs when something is wrong with a selling batch. The server
// therefore follows the orders as they come in (WarmReach, a step every
// so often): each batch that gained order items is brought up to date in
// the kept reach when it holds at least cacheMinLines items, so its first
// trace (or recall) reads only the orders since. Every answer stays
// exact: a kept sum is checked by its count on every use, warmed or not.

// BatchLines is how many order items of a batch a range of orders holds.
type BatchLines struct {
	GTIN, Batch string
	Lines       int64
}

// WarmStep is how many order ids one warming step reads at most.
const WarmStep = 100_000

// WarmReach reads the order items of the orders after `after` (at most
// WarmStep order ids) and brings the kept reach of each registered batch
// among them that holds at least cacheMinLines items up to date. It
// returns the last order id read (the next step's after; after itself
// when there are no new orders) and how many batches it warmed. First it
// has the store index the orders not yet in batch order (Store.IndexOrders),
// so that traces read few of them one by one.
func (s *Service) WarmReach(ctx context.Context, after int64) (upto int64, warmed int, err error) {
	if _, err := s.Store.IndexOrders(ctx); err != nil {
		return after, 0, err
	}
	last, err := s.Store.LastOrderID(ctx)
	if err != nil || last <= after {
		return after, 0, err
	}
	upto = min(last, after+WarmStep)
	news, err := s.Store.BatchLinesSince(ctx, after, upto)
	if err != nil {
		return after, 0, err
	}
	seen := map[string]bool{}
	for _, n := range news {
		b, err := s.findBatch(ctx, n.GTIN, n.Batch)
		switch {
		case errs.Is(err, errs.NotFound):
			continue // orders of a batch nobody registered: no trace to warm
		case err != nil:
			return after, warmed, err
		}
		forms := gtinForms(b.GTIN)
		key := joinKey(forms, b.Batch)
		if seen[key] {
			continue // the same batch under another GTIN form
		}
		seen[key] = true
		if s.reachKept.get(key) == nil {
			total, err := s.Store.CountBatchLines(ctx, forms, b.Batch, math.MaxInt64)
			if err != nil {
				return after, warmed, err
			}
			if total < cacheMinLines {
				continue
			}
		}
		if _, err := s.reachGroups(ctx, forms, b.Batch); err != nil {
			return after, warmed, err
		}
		warmed++
	}
	return upto, warmed, nil
}
