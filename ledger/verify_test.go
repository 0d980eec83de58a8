package ledger_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"ecredit/errs"
	"ecredit/ledger"
)

// verifyLog builds a log of n test entries with a checkpoint every step
// entries and returns the store, the verifier and a recompute function
// backed by the "data" map (what the test's objects currently contain).
func verifyLog(t *testing.T, n, step int) (*memStore, *ledger.Log, map[int64][32]byte) {
	t.Helper()
	ctx := context.Background()
	st := newMemStore()
	s, v := testKeys(t, ledger.DefaultOrigin)
	l := &ledger.Log{Store: st, Signer: s, Verifier: v, Origin: ledger.DefaultOrigin}
	data := map[int64][32]byte{} // by entry index: content the object has at that event
	for i := range n {
		e := st.append(testEntry(i))
		data[e.Index] = e.Content
		if (i+1)%step == 0 {
			if _, _, err := l.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	return st, l, data
}

func recomputeFrom(data map[int64][32]byte) ledger.Recomputers {
	f := func(ctx context.Context, e ledger.Entry) ([32]byte, error) {
		c, ok := data[e.Index]
		if !ok {
			return [32]byte{}, errs.E(errs.NotFound, "object %d not found", e.ObjectID)
		}
		return c, nil
	}
	return ledger.Recomputers{"record": f, "list": f, "grade": f}
}

func TestVerify(t *testing.T) {
	ctx := context.Background()
	const n = 2500 // spans three verify batches
	cases := []struct {
		name   string
		tamper func(st *memStore, data map[int64][32]byte, rs ledger.Recomputers)
		want   []string // substrings, each must appear in some mismatch
		index  int64    // an index some mismatch must name (-2: none)
	}{
		{"clean", func(*memStore, map[int64][32]byte, ledger.Recomputers) {}, nil, -2},
		{"edited data", func(st *memStore, data map[int64][32]byte, _ ledger.Recomputers) {
			data[1234] = [32]byte{1}
		}, []string{"数据被改动"}, 1234},
		{"edited entry row", func(st *memStore, _ map[int64][32]byte, _ ledger.Recomputers) {
			e := st.entries[77]
			e.ObjectID += 1000
			st.entries[77] = e
		}, []string{"叶子哈希与条目内容不一致"}, 77},
		{"edited inner hash", func(st *memStore, _ map[int64][32]byte, _ ledger.Recomputers) {
			// Node (level 3, 10) covers entries 80..87 and is written with 87.
			st.hashes[storedIndex(3, 10)] = tlog.Hash{9}
		}, []string{"第 3 层节点哈希"}, 87},
		{"rewritten log", func(st *memStore, data map[int64][32]byte, _ ledger.Recomputers) {
			// An attacker changes entry 5 and recomputes every hash; only
			// the signed checkpoints show it.
			old := st.entries
			st.entries, st.hashes, st.size = map[int64]ledger.Entry{}, map[int64]tlog.Hash{}, 0
			for i := int64(0); i < int64(len(old)); i++ {
				e := old[i]
				if i == 5 {
					e.Content = [32]byte{5}
					data[5] = e.Content
				}
				st.append(e)
			}
		}, []string{"已签名的根哈希与重算的根哈希不一致"}, -1},
		{"deleted entry", func(st *memStore, _ map[int64][32]byte, _ ledger.Recomputers) {
			delete(st.entries, 300)
		}, []string{"账本条目缺失"}, 300},
		{"deleted object", func(st *memStore, data map[int64][32]byte, _ ledger.Recomputers) {
			delete(data, 42)
		}, []string{"对象不存在"}, 42},
		{"unknown kind", func(st *memStore, _ map[int64][32]byte, rs ledger.Recomputers) {
			delete(rs, "grade")
		}, []string{"未知的条目类型"}, 2},
		{"truncated tail", func(st *memStore, _ map[int64][32]byte, _ ledger.Recomputers) {
			for i := int64(2400); i < n; i++ {
				delete(st.entries, i)
			}
			st.size = 2400
		}, []string{"检查点大小超过账本"}, -1},
		{"forged checkpoint", func(st *memStore, _ map[int64][32]byte, _ ledger.Recomputers) {
			cp := st.cps[1000]
			b := slices.Clone(cp.Signed)
			i := len(b) - 6 // inside the base64 signature
			b[i] ^= 'A' ^ 'B'
			cp.Signed = b
			st.cps[1000] = cp
		}, []string{"签名无效"}, -1},
		{"recompute failure", func(st *memStore, _ map[int64][32]byte, rs ledger.Recomputers) {
			ok := rs["list"]
			rs["list"] = func(ctx context.Context, e ledger.Entry) ([32]byte, error) {
				if e.ObjectID == 9 {
					return [32]byte{}, errs.Field("content", "无法解密")
				}
				return ok(ctx, e)
			}
		}, []string{"无法重算内容：无法解密"}, 25},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, l, data := verifyLog(t, n, 500)
			rs := recomputeFrom(data)
			c.tamper(st, data, rs)
			var calls int
			rep, err := ledger.Verify(ctx, st, l.Verifier, rs.Recompute, func(done, total int64) {
				calls++
				if total != st.size || done > total {
					t.Errorf("progress %d/%d", done, total)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Checked != st.size || calls == 0 || !rep.SignaturesChecked {
				t.Fatalf("report %+v, progress calls %d", rep, calls)
			}
			if c.want == nil {
				if !rep.OK() || rep.CheckpointsChecked != 5 || rep.HashesChecked == 0 {
					t.Fatalf("clean log reported %+v", rep)
				}
				_, tree, _ := l.Latest(ctx)
				if rep.Root != tree.Hash {
					t.Fatal("report root differs from the checkpoint")
				}
				return
			}
			if rep.OK() {
				t.Fatal("tampering not detected")
			}
			all := ""
			found := false
			for _, m := range rep.Mismatches {
				all += m.String() + "\n"
				if m.Index == c.index {
					found = true
				}
			}
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("mismatches lack %q:\n%s", w, all)
				}
			}
			if !found {
				t.Errorf("no mismatch names index %d:\n%s", c.index, all)
			}
		})
	}
}

func storedIndex(level int, n int64) int64 {
	// Same as tlog.StoredHashIndex, written out to keep the test honest
	// about which entry writes the node.
	for l := level; l > 0; l-- {
		n = 2*n + 1
	}
	i := int64(0)
	for ; n > 0; n >>= 1 {
		i += n
	}
	return i + int64(level)
}

func TestVerifyWithoutVerifierAndAbort(t *testing.T) {
	ctx := context.Background()
	st, _, data := verifyLog(t, 50, 10)
	rep, err := ledger.Verify(ctx, st, nil, recomputeFrom(data).Recompute, nil)
	if err != nil || !rep.OK() || rep.SignaturesChecked || rep.CheckpointsChecked != 5 {
		t.Fatalf("Verify without verifier = %+v, %v", rep, err)
	}
	// A database that goes away aborts with an error instead of a report.
	down := func(ctx context.Context, e ledger.Entry) ([32]byte, error) {
		return [32]byte{}, &errs.Error{Code: errs.Unavailable, Message: "down"}
	}
	if _, err := ledger.Verify(ctx, st, nil, down, nil); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("Verify with the database down = %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ledger.Verify(cctx, st, nil, recomputeFrom(data).Recompute, nil); !errs.Is(err, errs.Unavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Verify = %v", err)
	}
}

// TestVerifyWhileGrowing checks that checkpoints signed while Verify runs
// (the log grows under a live server) are not taken for a truncated log.
func TestVerifyWhileGrowing(t *testing.T) {
	ctx := context.Background()
	st, l, data := verifyLog(t, 1500, 500)
	grown := false
	rep, err := ledger.Verify(ctx, st, l.Verifier, recomputeFrom(data).Recompute, func(done, total int64) {
		if grown {
			return
		}
		grown = true
		for i := 1500; i < 1600; i++ {
			e := st.append(testEntry(i))
			data[e.Index] = e.Content
		}
		if _, _, err := l.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if err != nil || !rep.OK() || rep.Checked != 1500 {
		t.Fatalf("Verify of a growing log = %+v, %v", rep, err)
	}
	rep, err = ledger.Verify(ctx, st, l.Verifier, recomputeFrom(data).Recompute, nil)
	if err != nil || !rep.OK() || rep.Checked != 1600 || rep.CheckpointsChecked != 4 {
		t.Fatalf("second Verify = %+v, %v", rep, err)
	}
}
