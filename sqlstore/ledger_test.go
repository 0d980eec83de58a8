package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"ecredit/errs"
	"ecredit/ledger"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// ledgerFixture is a log written through the real store, with the content
// of every object at every event kept in a map the test can change (the
// "data" a RecomputeFunc rebuilds from).
type ledgerFixture struct {
	db   *sqlstore.DB
	log  *ledger.Log
	mu   sync.Mutex
	data map[int64][32]byte // by entry index
}

func newLedgerFixture(t testing.TB, db *sqlstore.DB) *ledgerFixture {
	t.Helper()
	t.Setenv(ledger.KeyFileEnv, "")
	s, v, err := ledger.LoadOrCreateKey(t.TempDir(), ledger.DefaultOrigin)
	if err != nil {
		t.Fatal(err)
	}
	return &ledgerFixture{db: db, data: map[int64][32]byte{},
		log: &ledger.Log{Store: db, Signer: s, Verifier: v, Origin: ledger.DefaultOrigin}}
}

var ledgerKinds = []string{"record", "list", "grade"}
var ledgerOps = []string{"create", "correct", "withdraw", "objection", "objection_answer", "repair"}

func randomEntry(r *rand.Rand, object int64) *ledger.Entry {
	c, err := ledger.HashContent(map[string]any{"object": object, "v": r.Int64(), "名称": "承德测试"})
	if err != nil {
		panic(err)
	}
	return &ledger.Entry{
		Kind:     ledgerKinds[r.IntN(len(ledgerKinds))],
		ObjectID: object,
		Op:       ledgerOps[r.IntN(len(ledgerOps))],
		Content:  c,
		At:       time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(1e9)) * time.Millisecond),
	}
}

func (f *ledgerFixture) remember(es ...*ledger.Entry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range es {
		f.data[e.Index] = e.Content
	}
}

func (f *ledgerFixture) recompute() ledger.RecomputeFunc {
	fn := func(ctx context.Context, e ledger.Entry) ([32]byte, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		c, ok := f.data[e.Index]
		if !ok {
			return [32]byte{}, errs.E(errs.NotFound, "对象 %d 不存在", e.ObjectID)
		}
		return c, nil
	}
	return ledger.Recomputers{"record": fn, "list": fn, "grade": fn}.Recompute
}

func (f *ledgerFixture) verify(t *testing.T) *ledger.Report {
	t.Helper()
	rep, err := ledger.Verify(context.Background(), f.db, f.log.Verifier, f.recompute(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestLedgerStore appends 1000 entries, in single and batched transactions,
// and checks checkpoints, every 7th inclusion proof and consistency proofs
// against the signed roots, and a clean Verify.
func TestLedgerStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		f := newLedgerFixture(t, db)
		r := rand.New(rand.NewPCG(1, 2))
		const n = 1000
		type head struct {
			tree   tlog.Tree
			signed []byte
		}
		var heads []head
		var leaves [][]byte
		for len(leaves) < n {
			batch := 1 + r.IntN(40)
			if r.IntN(3) == 0 {
				batch = 1
			}
			batch = min(batch, n-len(leaves))
			es := make([]*ledger.Entry, batch)
			for i := range es {
				es[i] = randomEntry(r, int64(len(leaves)+i+1))
			}
			if err := db.AppendLedger(ctx, es...); err != nil {
				t.Fatal(err)
			}
			for i, e := range es {
				if e.Index != int64(len(leaves)) {
					t.Fatalf("entry %d got index %d", len(leaves), e.Index)
				}
				_ = i
				leaves = append(leaves, ledger.Leaf(*e))
			}
			f.remember(es...)
			if r.IntN(4) == 0 || len(leaves) == n {
				signed, tree, err := f.log.Checkpoint(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if tree.N != int64(len(leaves)) {
					t.Fatalf("checkpoint of size %d, log has %d", tree.N, len(leaves))
				}
				heads = append(heads, head{tree, signed})
			}
		}
		if size, err := db.LedgerSize(ctx); err != nil || size != n {
			t.Fatalf("LedgerSize = %d, %v", size, err)
		}
		// What was written reads back exactly.
		es, err := db.Entries(ctx, 0, n)
		if err != nil || len(es) != n {
			t.Fatalf("Entries = %d, %v", len(es), err)
		}
		for i, e := range es {
			if string(ledger.Leaf(e)) != string(leaves[i]) || e.Index != int64(i) {
				t.Fatalf("entry %d reads back as %+v", i, e)
			}
		}
		last := heads[len(heads)-1]
		for i := int64(0); i < n; i += 7 {
			p, root, err := f.log.ProveInclusion(ctx, i, last.tree.N)
			if err != nil {
				t.Fatal(err)
			}
			tree, err := ledger.VerifyCheckpoint(f.log.Verifier, last.signed)
			if err != nil || tree.Hash != root {
				t.Fatalf("proof root differs from the signed root: %v", err)
			}
			if err := ledger.CheckInclusion(p, tree.N, tree.Hash, leaves[i], i); err != nil {
				t.Fatalf("inclusion of %d: %v", i, err)
			}
		}
		for _, old := range heads {
			p, err := f.log.ProveConsistency(ctx, old.tree.N, last.tree.N)
			if err != nil {
				t.Fatal(err)
			}
			if err := ledger.CheckConsistency(p, old.tree.N, old.tree.Hash, last.tree.N, last.tree.Hash); err != nil {
				t.Fatalf("consistency %d→%d: %v", old.tree.N, last.tree.N, err)
			}
		}
		// An entry's own history is findable by object.
		byObj, err := db.LedgerEntriesFor(ctx, es[500].Kind, es[500].ObjectID)
		if err != nil || len(byObj) != 1 || byObj[0] != es[500] {
			t.Fatalf("LedgerEntriesFor = %v, %v", byObj, err)
		}
		rep := f.verify(t)
		if !rep.OK() || rep.Checked != n || rep.CheckpointsChecked != int64(len(heads)) || rep.Root != last.tree.Hash {
			t.Fatalf("clean log: %+v", rep)
		}
	})
}

func TestLedgerAppendValidation(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		r := rand.New(rand.NewPCG(3, 4))
		good, bad := randomEntry(r, 1), randomEntry(r, 2)
		bad.Kind = "Bad Kind"
		err := db.AppendLedger(ctx, good, bad)
		if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != "ledger[1].kind" {
			t.Fatalf("AppendLedger with a bad entry = %v", err)
		}
		if size, _ := db.LedgerSize(ctx); size != 0 || good.Index != 0 {
			t.Fatalf("a rejected batch left size %d", size)
		}
		// A zero time is filled from the store's clock.
		e := randomEntry(r, 3)
		e.At = time.Time{}
		if err := db.AppendLedger(ctx, e); err != nil || e.At.IsZero() {
			t.Fatalf("zero time: %v %v", e.At, err)
		}
	})
}

// TestLedgerInCallerTx checks that entries commit and roll back with the
// caller's transaction.
func TestLedgerInCallerTx(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		f := newLedgerFixture(t, db)
		r := rand.New(rand.NewPCG(5, 6))
		boom := errors.New("the change itself failed")
		err := db.WriteTx(ctx, "test", func(tx *sql.Tx) error {
			if err := db.AppendLedgerTx(ctx, tx, randomEntry(r, 1), randomEntry(r, 2)); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("WriteTx = %v", err)
		}
		if size, _ := db.LedgerSize(ctx); size != 0 {
			t.Fatalf("rolled back append left %d entries", size)
		}
		if hs, _ := db.HashRange(ctx, 0, 100); len(hs) != 0 {
			t.Fatalf("rolled back append left %d hashes", len(hs))
		}
		// Two appends in one transaction continue each other.
		a, b := randomEntry(r, 1), randomEntry(r, 2)
		err = db.WriteTx(ctx, "test", func(tx *sql.Tx) error {
			if err := db.AppendLedgerTx(ctx, tx, a); err != nil {
				return err
			}
			return db.AppendLedgerTx(ctx, tx, b)
		})
		if err != nil || a.Index != 0 || b.Index != 1 {
			t.Fatalf("two appends: %d %d %v", a.Index, b.Index, err)
		}
		f.remember(a, b)
		if rep := f.verify(t); !rep.OK() {
			t.Fatalf("%+v", rep)
		}
	})
}

// dropLedgerTriggers plays an attacker with database access who removes
// the append-only triggers first.
func dropLedgerTriggers(t *testing.T, db *sqlstore.DB) {
	t.Helper()
	ctx := context.Background()
	var stmts []string
	if db.Engine() == sqlstore.EnginePostgres {
		for _, tbl := range []string{"ledger_entries", "ledger_hashes", "ledger_checkpoints"} {
			stmts = append(stmts, "ALTER TABLE "+tbl+" DISABLE TRIGGER USER")
		}
	} else {
		for _, tbl := range []string{"ledger_entries", "ledger_hashes", "ledger_checkpoints"} {
			stmts = append(stmts, "DROP TRIGGER "+tbl+"_no_update", "DROP TRIGGER "+tbl+"_no_delete")
		}
	}
	for _, s := range stmts {
		if _, err := db.WriterDB().ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func rawExec(t *testing.T, db *sqlstore.DB, q string, args ...any) error {
	t.Helper()
	_, err := db.WriterDB().ExecContext(context.Background(), db.Dialect().Rebind(q), args...)
	return err
}

func TestLedgerTamper(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		f := newLedgerFixture(t, db)
		r := rand.New(rand.NewPCG(7, 8))
		var es []*ledger.Entry
		for i := range 300 {
			es = append(es, randomEntry(r, int64(i+1)))
		}
		if err := db.AppendLedger(ctx, es...); err != nil {
			t.Fatal(err)
		}
		f.remember(es...)
		if _, _, err := f.log.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}

		// The triggers refuse every change.
		for _, q := range []string{
			"UPDATE ledger_hashes SET hash = hash WHERE idx = 3",
			"DELETE FROM ledger_hashes WHERE idx = 3",
			"UPDATE ledger_entries SET op = 'repair' WHERE idx = 3",
			"DELETE FROM ledger_entries WHERE idx = 299",
			"UPDATE ledger_checkpoints SET signed = 'x'",
			"DELETE FROM ledger_checkpoints",
		} {
			if err := rawExec(t, db, q); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: %v, want append-only refusal", q, err)
			}
		}
		if db.Engine() == sqlstore.EnginePostgres {
			if err := rawExec(t, db, "TRUNCATE ledger_hashes"); err == nil {
				t.Error("TRUNCATE allowed")
			}
		}
		if rep := f.verify(t); !rep.OK() {
			t.Fatalf("untouched log: %+v", rep)
		}

		dropLedgerTriggers(t, db)
		// (a) an edited inner node: level 2 node 25 covers entries 100..103
		// and is written with entry 103.
		if err := rawExec(t, db, "UPDATE ledger_hashes SET hash = ? WHERE idx = ?", make([]byte, 32), tlog.StoredHashIndex(2, 25)); err != nil {
			t.Fatal(err)
		}
		// (b) data behind object of entry 200 changed.
		f.mu.Lock()
		f.data[200] = [32]byte{1, 2, 3}
		f.mu.Unlock()
		// (c) an edited entry row.
		if err := rawExec(t, db, "UPDATE ledger_entries SET object_id = 999999 WHERE idx = 50"); err != nil {
			t.Fatal(err)
		}
		rep := f.verify(t)
		want := map[int64]string{
			103: "第 2 层节点哈希",
			200: "数据被改动",
			50:  "叶子哈希与条目内容不一致",
		}
		got := map[int64]string{}
		for _, m := range rep.Mismatches {
			got[m.Index] += m.String() + "\n"
		}
		for idx, w := range want {
			if !strings.Contains(got[idx], w) {
				t.Errorf("entry %d: want %q, got %q (all: %v)", idx, w, got[idx], rep.Mismatches)
			}
		}
		if !strings.Contains(got[200], fmt.Sprintf("%d", es[200].ObjectID)) {
			t.Errorf("mismatch does not name object %d: %q", es[200].ObjectID, got[200])
		}
		// The mismatching entries are named, and nothing else.
		for idx := range got {
			if _, ok := want[idx]; !ok {
				t.Errorf("unexpected mismatch at %d: %s", idx, got[idx])
			}
		}

		// Removing the tail of the log is caught by the checkpoint.
		if err := rawExec(t, db, "DELETE FROM ledger_entries WHERE idx >= 290"); err != nil {
			t.Fatal(err)
		}
		rep = f.verify(t)
		found := false
		for _, m := range rep.Mismatches {
			found = found || (m.Index == -1 && m.CheckpointSize == 300 && strings.Contains(m.Problem, "末尾的条目被删除"))
		}
		if !found {
			t.Fatalf("truncated log not reported: %v", rep.Mismatches)
		}
		if _, _, err := f.log.Checkpoint(ctx); err == nil {
			t.Fatal("Checkpoint signed a log that shrank")
		}
	})
}

// TestLedgerConcurrentAppends appends from several goroutines at once; the
// tree must stay one consistent sequence.
func TestLedgerConcurrentAppends(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		f := newLedgerFixture(t, db)
		const workers, per = 8, 40
		var wg sync.WaitGroup
		errc := make(chan error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(w), 9))
				for i := range per {
					batch := []*ledger.Entry{randomEntry(r, int64(w*1000+i*2+1))}
					if i%3 == 0 {
						batch = append(batch, randomEntry(r, int64(w*1000+i*2+2)))
					}
					if err := db.AppendLedger(ctx, batch...); err != nil {
						errc <- err
						return
					}
					f.remember(batch...)
					if i%10 == 0 {
						if _, _, err := f.log.Checkpoint(ctx); err != nil {
							errc <- err
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		size, err := db.LedgerSize(ctx)
		want := int64(workers * (per + (per+2)/3))
		if err != nil || size != want {
			t.Fatalf("size %d, want %d (%v)", size, want, err)
		}
		if len(f.data) != int(want) {
			t.Fatalf("%d distinct indexes assigned, want %d", len(f.data), want)
		}
		rep := f.verify(t)
		if !rep.OK() || rep.CheckpointsChecked == 0 {
			t.Fatalf("concurrent log: %+v", rep)
		}
	})
}

// BenchmarkAppendLedger measures ledger appends per second: one entry per
// transaction, and 100 entries per transaction (batch ingest).
func BenchmarkAppendLedger(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
				ctx := context.Background()
				r := rand.New(rand.NewPCG(1, 1))
				es := make([]*ledger.Entry, batch)
				var n int64
				for b.Loop() {
					for i := range es {
						n++
						es[i] = randomEntry(r, n)
					}
					if err := db.AppendLedger(ctx, es...); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "appends/s")
			})
		})
	}
}
