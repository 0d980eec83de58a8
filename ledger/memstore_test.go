package ledger_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"ecredit/errs"
	"ecredit/ledger"
)

// memStore is an in-memory ledger.Store for the pure algorithm tests; the
// real one (package sqlstore) is tested on both engines there.
type memStore struct {
	mu      sync.Mutex
	entries map[int64]ledger.Entry
	size    int64
	hashes  map[int64]tlog.Hash
	cps     map[int64]ledger.Checkpoint
}

func newMemStore() *memStore {
	return &memStore{entries: map[int64]ledger.Entry{}, hashes: map[int64]tlog.Hash{}, cps: map[int64]ledger.Checkpoint{}}
}

func (m *memStore) append(e ledger.Entry) ledger.Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	e.Index = m.size
	hs, err := tlog.StoredHashes(e.Index, ledger.Leaf(e), tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = m.hashes[x]
		}
		return out, nil
	}))
	if err != nil {
		panic(err)
	}
	base := tlog.StoredHashIndex(0, e.Index)
	for i, h := range hs {
		m.hashes[base+int64(i)] = h
	}
	m.entries[e.Index] = e
	m.size++
	return e
}

func (m *memStore) LedgerSize(ctx context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.size, nil
}

func (m *memStore) ReadHashes(ctx context.Context, idx []int64) ([]tlog.Hash, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		h, ok := m.hashes[x]
		if !ok {
			return nil, errs.E(errs.Internal, "hash %d missing", x)
		}
		out[i] = h
	}
	return out, nil
}

func (m *memStore) HashRange(ctx context.Context, from, to int64) ([]ledger.StoredHash, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ledger.StoredHash
	for i := from; i < to; i++ {
		if h, ok := m.hashes[i]; ok {
			out = append(out, ledger.StoredHash{Index: i, Hash: h})
		}
	}
	return out, nil
}

func (m *memStore) Entries(ctx context.Context, from, to int64) ([]ledger.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ledger.Entry
	for i := from; i < to; i++ {
		if e, ok := m.entries[i]; ok {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *memStore) sortedCPs() []ledger.Checkpoint {
	var out []ledger.Checkpoint
	for _, c := range m.cps {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b ledger.Checkpoint) int { return int(a.Size - b.Size) })
	return out
}

func (m *memStore) LatestCheckpoint(ctx context.Context) (ledger.Checkpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cps := m.sortedCPs()
	if len(cps) == 0 {
		return ledger.Checkpoint{}, errs.E(errs.NotFound, "no checkpoint")
	}
	return cps[len(cps)-1], nil
}

func (m *memStore) Checkpoints(ctx context.Context, after int64, limit int) ([]ledger.Checkpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ledger.Checkpoint
	for _, c := range m.sortedCPs() {
		if c.Size > after && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memStore) SaveCheckpoint(ctx context.Context, size int64, signed []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.cps[size]; !ok {
		m.cps[size] = ledger.Checkpoint{Size: size, Signed: slices.Clone(signed), At: time.Now()}
	}
	return nil
}

var _ ledger.Store = (*memStore)(nil)

// testEntry is entry i of a deterministic test log: content is the hash of
// the canonical JSON of a small object, as a real kind would do.
func testEntry(i int) ledger.Entry {
	kinds := []string{"record", "list", "grade"}
	ops := []string{"create", "correct", "withdraw", "objection", "repair"}
	content, err := ledger.HashContent(map[string]any{"object": i/3 + 1, "rev": i % 3, "name": fmt.Sprintf("对象%d", i)})
	if err != nil {
		panic(err)
	}
	return ledger.Entry{
		Kind:     kinds[i%len(kinds)],
		ObjectID: int64(i/3 + 1),
		Op:       ops[i%len(ops)],
		Content:  content,
		At:       time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
	}
}
