package sqlstore

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"ecredit/logistics"
)

func cachedParcel(firm int64, wb string, version int) *logistics.Parcel {
	at := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	return &logistics.Parcel{ID: int64(len(wb)) + firm, FirmID: firm, Waybill: wb, WeightG: 800, Origin: "130802", Dest: "110105",
		CourierID: 9, CourierCode: "C7", PromisedAt: at.Add(48 * time.Hour), Status: logistics.EventInTransit, PickedAt: at,
		Events: version, LastEventAt: at, StartedAt: at, CreatedAt: at, UpdatedAt: at, Version: version}
}

// The cache holds at most its capacity in two generations, moves what it
// finds in the old one back, never replaces a later version by an earlier
// one, forgets what it is told to, hands out copies of the state only, and
// when off holds nothing.
func TestParcelStateCache(t *testing.T) {
	c := newParcelStateCache(4) // two generations of 2
	get := func(firm int64, wbs ...string) (map[string]*logistics.Parcel, []string) {
		out := map[string]*logistics.Parcel{}
		return out, c.get(firm, wbs, out)
	}
	c.put([]*logistics.Parcel{cachedParcel(1, "A", 1), cachedParcel(1, "B", 1)})
	c.put([]*logistics.Parcel{cachedParcel(1, "C", 1)}) // the first generation is full: A and B become the old one
	if n := c.len(); n != 3 {
		t.Fatalf("%d cached, want 3", n)
	}
	if _, miss := get(1, "A"); len(miss) != 0 { // A moves back to the current generation, with C
		t.Fatalf("A missing")
	}
	c.put([]*logistics.Parcel{cachedParcel(1, "D", 1)}) // full again: C and A old, B dropped
	out, miss := get(1, "A", "B", "C", "D")
	if fmt.Sprint(miss) != "[B]" || len(out) != 3 {
		t.Fatalf("missing %v, found %d", miss, len(out))
	}
	if n := c.len(); n > 4 {
		t.Fatalf("%d cached, capacity 4", n)
	}
	// Another firm's waybill is another parcel.
	if _, miss := get(2, "A"); fmt.Sprint(miss) != "[A]" {
		t.Fatalf("firm 2: missing %v", miss)
	}
	// A later version stays; an earlier one does not replace it.
	c.put([]*logistics.Parcel{cachedParcel(1, "A", 5)})
	c.put([]*logistics.Parcel{cachedParcel(1, "A", 4)})
	out, _ = get(1, "A")
	if out["A"].Version != 5 {
		t.Fatalf("version %d, want 5", out["A"].Version)
	}
	// The state only, as ParcelStates reads it, and a copy.
	if p := out["A"]; p.WeightG != 0 || p.Origin != "" || p.Dest != "" || p.CourierID != 0 || p.CourierCode != "" || !p.PromisedAt.IsZero() ||
		p.Events != 5 || p.Status != logistics.EventInTransit || p.PickedAt.IsZero() {
		t.Fatalf("cached %+v", p)
	}
	out["A"].Events = 99
	if again, _ := get(1, "A"); again["A"].Events != 5 {
		t.Fatal("the cache handed out its own entry")
	}
	// Dropped parcels are read again; a parcel without an id is not cached.
	c.drop([]*logistics.Parcel{cachedParcel(1, "A", 5), cachedParcel(1, "D", 1)})
	c.put([]*logistics.Parcel{{FirmID: 1, Waybill: "E"}})
	if _, miss := get(1, "A", "C", "D", "E"); fmt.Sprint(miss) != "[A D E]" {
		t.Fatalf("after drop: missing %v", miss)
	}
	// Off: nothing cached, everything missing.
	off := newParcelStateCache(0)
	off.put([]*logistics.Parcel{cachedParcel(1, "A", 1)})
	if miss := off.get(1, []string{"A"}, map[string]*logistics.Parcel{}); off.len() != 0 || len(miss) != 1 {
		t.Fatalf("off: %d cached, missing %v", off.len(), miss)
	}
}

// TestParcelStateCacheMemory measures what an entry costs (logged), and
// holds the default capacity's estimate in parcelStateEntries' comment
// to within its bound: under 600 bytes an entry.
func TestParcelStateCacheMemory(t *testing.T) {
	const n = 20_000
	ps := make([]*logistics.Parcel, n)
	for i := range ps {
		ps[i] = cachedParcel(7, fmt.Sprintf("SF%010d", i), 3)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c := newParcelStateCache(2 * n)
	c.put(ps)
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.0f bytes a cached parcel (%d parcels)", per, c.len())
	if c.len() != n || per > 600 {
		t.Fatalf("%d cached, %.0f bytes each", c.len(), per)
	}
	runtime.KeepAlive(c)
	runtime.KeepAlive(ps) // not counted: the parcels are the callers'
}
