package trace

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// ReachGroup is the orders holding a batch that share a platform, a
// destination region, a shop and a seller. An order has one of each, so
// the groups of a batch partition its orders and their sums add up
// exactly.
type ReachGroup struct {
	PlatformID int64
	Region     string
	ShopID     int64
	SellerID   int64
	Orders     int64
	Quantity   int64 // units of the batch
	Lines      int64 // order items of the batch
	MaxOrderID int64
}

// The forward reach of a batch is summed from its groups. Summing the
// groups needs every order of the batch joined to its platform, region
// and shop: one primary-key read per order, the whole cost of a hot
// batch's trace. Order items and those four columns of an order never
// change after the order is stored, so the groups of the orders up to an
// id stay right as more orders come in; the service keeps them per batch
// and reads only the orders after the last id it has seen.
//
// A kept entry is checked on every use: the items of the batch up to its
// last order id are counted (from the index alone) and must still be the
// number it was summed from. An order committed late with a lower id (on
// PostgreSQL ids are taken before commit) changes that number, and the
// groups are summed again from scratch. So every answer is exact; a kept
// entry only saves reading the orders it already summed.
//
// The entries live in process memory and, so that a restart or another
// instance does not read a hot batch's every order again, in the store
// (trace_reach, migration 00014): an entry is saved when it is first
// summed and again whenever it has grown by a tenth since it was saved.
// A saved entry is only a starting point, checked like a kept one.

const (
	// cacheMinLines is the fewest order items of a batch whose groups are
	// kept: smaller batches are summed afresh in a few milliseconds.
	cacheMinLines = 1000
	// cacheMaxGroups bounds the groups kept over all batches (about
	// 100 bytes each); the least recently used batches go first.
	cacheMaxGroups = 200_000
	// cacheMaxBatches bounds the batches kept.
	cacheMaxBatches = 1024
)

type reachEntry struct {
	groups []ReachGroup // never changed once stored: readers share it
	lines  int64        // order items of the batch summed in groups
	upto   int64        // the largest order id summed
	saved  atomic.Int64 // lines of the sum last saved in the store, 0 for none
	used   uint64
}

// KeptReach is a batch's reach as the store keeps it: the groups encoded
// by EncodeReach, the order items they were summed from and the largest
// order id summed.
type KeptReach struct {
	Upto, Lines int64
	Sums        []byte
}

// reachFormat is the first byte of an encoded reach.
const reachFormat = 1

// EncodeReach encodes groups compactly (unsigned varints; the region with
// its length): a hot batch's tens of thousands of groups stay a few
// hundred kilobytes.
func EncodeReach(gs []ReachGroup) []byte {
	b := make([]byte, 0, 1+len(gs)*24)
	b = append(b, reachFormat)
	b = binary.AppendUvarint(b, uint64(len(gs)))
	for _, g := range gs {
		b = binary.AppendUvarint(b, uint64(g.PlatformID))
		b = binary.AppendUvarint(b, uint64(len(g.Region)))
		b = append(b, g.Region...)
		for _, v := range []int64{g.ShopID, g.SellerID, g.Orders, g.Quantity, g.Lines, g.MaxOrderID} {
			b = binary.AppendUvarint(b, uint64(v))
		}
	}
	return b
}

// DecodeReach decodes what EncodeReach wrote, and checks it against the
// lines and largest order id it was kept with.
func DecodeReach(k *KeptReach) ([]ReachGroup, error) {
	b := k.Sums
	bad := func(what string) error { return fmt.Errorf("trace.DecodeReach: %s", what) }
	if len(b) == 0 || b[0] != reachFormat {
		return nil, bad("unknown format")
	}
	b = b[1:]
	next := func() (int64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 || v > math.MaxInt64 {
			return 0, false
		}
		b = b[n:]
		return int64(v), true
	}
	count, ok := next()
	if !ok || count > cacheMaxGroups {
		return nil, bad("group count")
	}
	gs := make([]ReachGroup, count)
	var lines, upto int64
	for i := range gs {
		g := &gs[i]
		var rl int64
		if g.PlatformID, ok = next(); !ok {
			return nil, bad("platform")
		}
		if rl, ok = next(); !ok || rl > int64(len(b)) {
			return nil, bad("region")
		}
		g.Region, b = string(b[:rl]), b[rl:]
		for _, v := range []*int64{&g.ShopID, &g.SellerID, &g.Orders, &g.Quantity, &g.Lines, &g.MaxOrderID} {
			if *v, ok = next(); !ok {
				return nil, bad("sums")
			}
		}
		lines += g.Lines
		upto = max(upto, g.MaxOrderID)
	}
	if len(b) != 0 || lines != k.Lines || upto != k.Upto {
		return nil, bad("does not add up")
	}
	return gs, nil
}

// keepable reports whether e is big enough to keep, and not too big.
func keepable(e *reachEntry) bool {
	return e.lines >= cacheMinLines && len(e.groups) <= cacheMaxGroups/4
}

// reachCache keeps the groups of big batches. The zero value is ready.
type reachCache struct {
	mu     sync.Mutex
	m      map[string]*reachEntry
	groups int
	tick   uint64
}

func (c *reachCache) get(key string) *reachEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[key]
	if e != nil {
		c.tick++
		e.used = c.tick
	}
	return e
}

func (c *reachCache) put(key string, e *reachEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*reachEntry{}
	}
	if old := c.m[key]; old != nil {
		if old.upto > e.upto && old.lines > e.lines {
			return // a concurrent call stored a later sum
		}
		c.groups -= len(old.groups)
		delete(c.m, key)
	}
	if !keepable(e) {
		return
	}
	for len(c.m) >= cacheMaxBatches || c.groups+len(e.groups) > cacheMaxGroups {
		var lk string
		var lu uint64
		for k, x := range c.m {
			if lk == "" || x.used < lu {
				lk, lu = k, x.used
			}
		}
		c.groups -= len(c.m[lk].groups)
		delete(c.m, lk)
	}
	c.tick++
	e.used = c.tick
	c.m[key] = e
	c.groups += len(e.groups)
}

// reachGroups returns the groups of the orders holding the batch (any of
// gtins, the forms of one GTIN), computed once for all the concurrent
// calls of the same batch (package flight). The groups are shared: callers
// must not change them.
func (s *Service) reachGroups(ctx context.Context, gtins []string, batch string) ([]ReachGroup, error) {
	key := joinKey(gtins, batch)
	return s.reachFlight.Do(ctx, "trace.reach", key, func(ctx context.Context) ([]ReachGroup, error) {
		return s.reachGroupsOnce(ctx, key, gtins, batch)
	})
}

// reachGroupsOnce computes reachGroups: the kept sum (in memory, else in
// the store) and the orders since when its count still holds, else a sum
// from scratch; the result is kept.
func (s *Service) reachGroupsOnce(ctx context.Context, key string, gtins []string, batch string) ([]ReachGroup, error) {
	e := s.reachKept.get(key)
	if e == nil {
		var err error
		if e, err = s.loadReach(ctx, key); err != nil {
			return nil, err
		}
	}
	if e != nil {
		n, err := s.Store.CountBatchLines(ctx, gtins, batch, e.upto)
		if err != nil {
			return nil, err
		}
		if n == e.lines {
			// Only the orders since: one query, no span count on the
			// path of every warm trace.
			delta, err := s.Store.ReachGroups(ctx, gtins, batch, e.upto, 0)
			if err != nil {
				return nil, err
			}
			if len(delta) == 0 {
				s.keepReach(ctx, key, e)
				return e.groups, nil
			}
			merged := entryOf(mergeGroups(e.groups, delta))
			merged.saved.Store(e.saved.Load())
			s.keepReach(ctx, key, merged)
			return merged.groups, nil
		}
	}
	gs, err := s.sumGroups(ctx, gtins, batch)
	if err != nil {
		return nil, err
	}
	s.keepReach(ctx, key, entryOf(gs))
	return gs, nil
}

// reachChunkLines is the fewest order items of a batch per parallel
// summing query (Service.ReachChunk overrides it).
const reachChunkLines = 5_000

// sumGroups sums the groups of all the batch's orders. A batch
// of many orders is summed in up to GOMAXPROCS (at most 8) queries at
// once, over equal ranges of its order ids, and the parts merged: the
// first trace of a hot batch reads every one of its orders, one
// primary-key read each, and the reads of different ranges run on
// different connections and cores. The parts need not be one snapshot:
// a kept sum is checked by its count before use, like any other.
func (s *Service) sumGroups(ctx context.Context, gtins []string, batch string) ([]ReachGroup, error) {
	chunk := int64(s.ReachChunk)
	if chunk <= 0 {
		chunk = reachChunkLines
	}
	k := int64(min(runtime.GOMAXPROCS(0), 8))
	if k < 2 {
		return s.Store.ReachGroups(ctx, gtins, batch, 0, 0)
	}
	lo, hi, lines, err := s.Store.BatchSpan(ctx, gtins, batch)
	if err != nil {
		return nil, err
	}
	k = min(k, lines/chunk, hi-lo+1)
	if k < 2 {
		return s.Store.ReachGroups(ctx, gtins, batch, 0, 0)
	}
	parts := make([][]ReachGroup, k)
	errs := make([]error, k)
	var wg sync.WaitGroup
	for i := range k {
		from := lo - 1 + (hi-lo+1)*i/k
		upto := lo - 1 + (hi-lo+1)*(i+1)/k
		if i == k-1 {
			upto = 0 // and whatever came in since the span was read
		}
		wg.Go(func() { parts[i], errs[i] = s.Store.ReachGroups(ctx, gtins, batch, from, upto) })
	}
	wg.Wait()
	var out []ReachGroup
	for i, p := range parts {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = mergeGroups(out, p)
	}
	if out == nil {
		out = []ReachGroup{}
	}
	return out, nil
}

// loadReach reads the entry the store keeps for key, nil when there is
// none or it does not decode (it is then summed again and replaced).
func (s *Service) loadReach(ctx context.Context, key string) (*reachEntry, error) {
	k, err := s.Store.LoadReach(ctx, key)
	if err != nil || k == nil {
		return nil, err
	}
	gs, err := DecodeReach(k)
	if err != nil {
		return nil, nil
	}
	e := &reachEntry{groups: gs, lines: k.Lines, upto: k.Upto}
	e.saved.Store(k.Lines)
	return e, nil
}

// keepReach keeps e in memory and, when it is big enough to keep and has
// grown by a tenth since it was last saved (or was never saved), in the
// store. Saving is best effort: the entry is a cache, and a trace must
// not fail because, say, SQLite's writer is busy with an ingest; the
// next trace of the batch tries again.
func (s *Service) keepReach(ctx context.Context, key string, e *reachEntry) {
	s.reachKept.put(key, e)
	saved := e.saved.Load()
	if !keepable(e) || (saved > 0 && e.lines-saved < saved/10) {
		return
	}
	if s.Store.SaveReach(ctx, key, &KeptReach{Upto: e.upto, Lines: e.lines, Sums: EncodeReach(e.groups)}) == nil {
		e.saved.Store(e.lines)
	}
}

func entryOf(gs []ReachGroup) *reachEntry {
	e := &reachEntry{groups: gs}
	for _, g := range gs {
		e.lines += g.Lines
		e.upto = max(e.upto, g.MaxOrderID)
	}
	return e
}

// mergeGroups adds the groups of later orders to kept ones, in a new
// slice.
func mergeGroups(kept, delta []ReachGroup) []ReachGroup {
	type k struct {
		p, shop, seller int64
		region          string
	}
	out := slices.Clone(kept)
	at := make(map[k]int, len(out))
	for i, g := range out {
		at[k{g.PlatformID, g.ShopID, g.SellerID, g.Region}] = i
	}
	for _, d := range delta {
		key := k{d.PlatformID, d.ShopID, d.SellerID, d.Region}
		i, ok := at[key]
		if !ok {
			at[key] = len(out)
			out = append(out, d)
			continue
		}
		g := &out[i]
		g.Orders += d.Orders
		g.Quantity += d.Quantity
		g.Lines += d.Lines
		g.MaxOrderID = max(g.MaxOrderID, d.MaxOrderID)
	}
	return out
}

// reach sums the orders holding the batch, only those of platformID when
// it is not 0, by platform, region and shop.
func (s *Service) reach(ctx context.Context, gtins []string, batch string, platformID int64) (*Reach, error) {
	gs, err := s.reachGroups(ctx, gtins, batch)
	if err != nil {
		return nil, err
	}
	return sumReach(gs, platformID), nil
}

// sumReach adds up groups into a Reach: platforms, regions (at most 500)
// and shops (at most MaxReachShops) by orders, descending.
func sumReach(gs []ReachGroup, platformID int64) *Reach {
	r := &Reach{Platforms: []PlatformReach{}, Regions: []RegionReach{}, TopShops: []ShopReach{}}
	platforms, regions, shops, sellers := map[int64]int{}, map[string]int{}, map[int64]int{}, map[int64]bool{}
	for _, g := range gs {
		if platformID != 0 && g.PlatformID != platformID {
			continue
		}
		n, q := g.Orders, g.Quantity
		r.Orders += n
		r.Quantity += q
		sellers[g.SellerID] = true
		if k, ok := platforms[g.PlatformID]; ok {
			r.Platforms[k].Orders += n
			r.Platforms[k].Quantity += q
		} else {
			platforms[g.PlatformID] = len(r.Platforms)
			r.Platforms = append(r.Platforms, PlatformReach{PlatformID: g.PlatformID, Orders: n, Quantity: q})
		}
		if k, ok := regions[g.Region]; ok {
			r.Regions[k].Orders += n
			r.Regions[k].Quantity += q
		} else {
			regions[g.Region] = len(r.Regions)
			r.Regions = append(r.Regions, RegionReach{Region: g.Region, Orders: n, Quantity: q})
		}
		if k, ok := shops[g.ShopID]; ok {
			r.TopShops[k].Orders += n
			r.TopShops[k].Quantity += q
		} else {
			shops[g.ShopID] = len(r.TopShops)
			r.TopShops = append(r.TopShops, ShopReach{ShopID: g.ShopID, SellerID: g.SellerID, Orders: n, Quantity: q})
		}
	}
	r.Shops, r.Sellers = int64(len(r.TopShops)), int64(len(sellers))
	slices.SortFunc(r.Platforms, func(a, b PlatformReach) int {
		return cmp.Or(cmp.Compare(b.Orders, a.Orders), cmp.Compare(a.PlatformID, b.PlatformID))
	})
	slices.SortFunc(r.Regions, func(a, b RegionReach) int {
		return cmp.Or(cmp.Compare(b.Orders, a.Orders), strings.Compare(a.Region, b.Region))
	})
	slices.SortFunc(r.TopShops, func(a, b ShopReach) int {
		return cmp.Or(cmp.Compare(b.Orders, a.Orders), cmp.Compare(a.ShopID, b.ShopID))
	})
	if len(r.Regions) > 500 {
		r.Regions = r.Regions[:500]
	}
	if len(r.TopShops) > MaxReachShops {
		r.TopShops = r.TopShops[:MaxReachShops]
	}
	return r
}

// joinKey is the key of a batch's kept reach: its GTIN forms and its lot.
func joinKey(gtins []string, batch string) string { return strings.Join(gtins, ",") + "/" + batch }
