package sqlstore

import (
	"sync"
	"time"

	"ecredit/logistics"
)

// parcelStateCache holds, in this process, the state of parcels as
// ParcelStates reads it, so that judging a firm's tracking events need not
// read again the parcels this process has just written or read. It is
// filled by every committed write of parcels in this process (SaveParcels,
// AppendEvents) and by ParcelStates' reads of the parcels it misses.
//
// It is advisory, never the authority: every write of a parcel's state
// checks the stored version (AppendEvents, SaveParcels), so an entry that
// is stale — another process, or another store on the same database, wrote
// the parcel since — makes the write that judged on it a Conflict with
// nothing written. A failed write drops its parcels from the cache, and
// the service judges again on what a fresh read returns. What it relies on:
// every change of a parcels row increments its version (the only
// statements that change one are those of SaveParcels and AppendEvents),
// and rows are never deleted. Only ParcelStates reads it; FindParcels and
// every page and report read the store.
//
// Two generations bound it: entries go into the current map; when that
// holds half the capacity it becomes the old one (the old one is
// dropped), and an entry found in the old one moves back to the current.
type parcelStateCache struct {
	mu       sync.Mutex
	cur, old map[parcelKey]logistics.Parcel
	half     int // entries a generation holds; 0: the cache is off
}

// parcelKey names a parcel as ParcelStates is asked for it.
type parcelKey struct {
	firm    int64
	waybill string
}

// parcelStateEntries is the capacity: at about 480 bytes an entry
// (measured in TestParcelStateCacheMemory), at most some 50 MB.
const parcelStateEntries = 100_000

func newParcelStateCache(entries int) *parcelStateCache {
	return &parcelStateCache{half: entries / 2}
}

// stateOf is p with only what ParcelStates reads (see logistics.Store).
func stateOf(p *logistics.Parcel) logistics.Parcel {
	s := *p
	s.WeightG, s.Origin, s.Dest, s.CourierID, s.CourierCode = 0, "", "", 0, ""
	s.PromisedAt = time.Time{}
	return s
}

// get puts copies of the cached parcels of firm among waybills into out and
// returns the waybills it does not hold.
func (c *parcelStateCache) get(firm int64, waybills []string, out map[string]*logistics.Parcel) (missing []string) {
	if c.half == 0 {
		return waybills
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, wb := range waybills {
		k := parcelKey{firm, wb}
		p, ok := c.cur[k]
		if !ok {
			if p, ok = c.old[k]; ok {
				delete(c.old, k)
				c.putLocked(k, p)
			}
		}
		if !ok {
			missing = append(missing, wb)
			continue
		}
		cp := p
		out[wb] = &cp
	}
	return missing
}

// put caches the state of parcels as committed (or read), unless a later
// version of one is cached already (a write that committed after it and
// reached the cache first).
func (c *parcelStateCache) put(ps []*logistics.Parcel) {
	if c.half == 0 || len(ps) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range ps {
		if p.ID == 0 {
			continue
		}
		k := parcelKey{p.FirmID, p.Waybill}
		if have, ok := c.cur[k]; ok && have.Version > p.Version {
			continue
		}
		if have, ok := c.old[k]; ok {
			if have.Version > p.Version {
				continue
			}
			delete(c.old, k)
		}
		c.putLocked(k, stateOf(p))
	}
}

func (c *parcelStateCache) putLocked(k parcelKey, p logistics.Parcel) {
	if c.cur == nil || len(c.cur) >= c.half {
		if _, ok := c.cur[k]; !ok {
			c.old, c.cur = c.cur, make(map[parcelKey]logistics.Parcel, c.half)
		}
	}
	c.cur[k] = p
}

// drop forgets the parcels (after a write of them failed: one may be
// stale).
func (c *parcelStateCache) drop(ps []*logistics.Parcel) {
	if c.half == 0 || len(ps) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range ps {
		k := parcelKey{p.FirmID, p.Waybill}
		delete(c.cur, k)
		delete(c.old, k)
	}
}

// len is the number of cached parcels.
func (c *parcelStateCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.old)
}
