package logistics

import (
	"context"
	"strconv"
	"sync"
	"time"

	"ecredit/flight"
)

// CountsTTL is how long a firm's parcel counts over a window are kept. A
// grade over a window of weeks needs no fresher counts, and a big firm's
// take long to add up (1 M parcels in the window: about 1 s on SQLite,
// 0.5 s on PostgreSQL), while its profile and grade page are public. An
// ingest of the firm's parcels or events through the service drops them at
// once; another instance's ingest, and a new penalty, count within the TTL
// (the penalties themselves are counted afresh each time).
const CountsTTL = 5 * time.Minute

// countsCache keeps firms' counts by window. The zero value is ready.
type countsCache struct {
	mu  sync.Mutex
	m   map[countsKey]keptCounts
	gen map[int64]uint64 // a firm's ingests so far
	fl  flight.Group[keptCounts]
}

type countsKey struct {
	firm int64
	days int
}

type keptCounts struct {
	at time.Time // when they were added up (the service's clock)
	w  Window
	c  Counts
}

// firmCounts returns the firm's counts over the last days days (w, now),
// and the window they were added up over: kept ones younger than CountsTTL,
// else added up afresh — once for all the concurrent callers.
func (s *Service) firmCounts(ctx context.Context, firm int64, days int, w Window, now time.Time) (Counts, Window, error) {
	k := countsKey{firm, days}
	c := &s.counts
	fresh := func() (keptCounts, uint64, bool) {
		c.mu.Lock()
		defer c.mu.Unlock()
		kept, ok := c.m[k]
		return kept, c.gen[firm], ok && !now.Before(kept.at) && now.Sub(kept.at) < CountsTTL
	}
	kept, gen, ok := fresh()
	if ok {
		return kept.c, kept.w, nil
	}
	kept, err := c.fl.Do(ctx, "logistics.counts", strconv.FormatInt(firm, 10)+"/"+strconv.Itoa(days), func(ctx context.Context) (keptCounts, error) {
		// A caller that found them stale just as another's flight ended
		// starts a flight of its own: the counts that one kept serve it.
		kept, g, ok := fresh()
		if ok {
			return kept, nil
		}
		gen = g // the counts below are added up after any ingest before
		n, err := s.Store.Aggregate(ctx, firm, w)
		if err != nil {
			return keptCounts{}, err
		}
		kc := keptCounts{at: now, w: w, c: n}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.gen[firm] == gen { // no ingest of the firm since: keep them
			if c.m == nil {
				c.m = map[countsKey]keptCounts{}
			}
			c.m[k] = kc
		}
		return kc, nil
	})
	return kept.c, kept.w, err
}

// forget drops the firm's kept counts, and any being added up now, after
// an ingest of its parcels or events.
func (c *countsCache) forget(firm int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == nil {
		c.gen = map[int64]uint64{}
	}
	c.gen[firm]++
	for k := range c.m {
		if k.firm == firm {
			delete(c.m, k)
		}
	}
}
