package ledger

import (
	"context"
	"errors"
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"ecredit/errs"
)

// RecomputeFunc rebuilds, from the stored data, the content hash an entry
// should carry: the ContentHash of the canonical content of the object
// e.ObjectID of kind e.Kind as it was right after event e. It returns an
// errs.NotFound error when the object no longer exists.
type RecomputeFunc func(ctx context.Context, e Entry) ([32]byte, error)

// ErrUnknownKind is returned by Recomputers for an entry whose kind has no
// recompute function; Verify reports such an entry as a mismatch, so that
// nothing is skipped silently.
var ErrUnknownKind = errors.New("ledger: unknown entry kind")

// Recomputers maps each entry kind to its RecomputeFunc. The program that
// runs Verify builds one with every kind it appends (records, lists,
// grades, …) and passes its Recompute method.
type Recomputers map[string]RecomputeFunc

// Recompute dispatches on e.Kind.
func (rs Recomputers) Recompute(ctx context.Context, e Entry) ([32]byte, error) {
	f := rs[e.Kind]
	if f == nil {
		return [32]byte{}, ErrUnknownKind
	}
	return f(ctx, e)
}

// Mismatch is one inconsistency Verify found.
type Mismatch struct {
	Index          int64  `json:"index"` // entry index; -1 for a checkpoint problem
	Kind           string `json:"kind,omitempty"`
	ObjectID       int64  `json:"object_id,omitempty"`
	Op             string `json:"op,omitempty"`
	CheckpointSize int64  `json:"checkpoint_size,omitempty"` // for checkpoint problems
	Problem        string `json:"problem"`                   // what differs, for people
}

func (m Mismatch) String() string {
	if m.Index < 0 {
		return fmt.Sprintf("检查点（大小 %d）：%s", m.CheckpointSize, m.Problem)
	}
	if m.Kind == "" {
		return fmt.Sprintf("条目 #%d：%s", m.Index, m.Problem)
	}
	return fmt.Sprintf("条目 #%d（%s %d，%s）：%s", m.Index, m.Kind, m.ObjectID, m.Op, m.Problem)
}

// MaxMismatches is how many mismatches a Report lists; MismatchCount
// counts all of them.
const MaxMismatches = 1000

// Report is the outcome of Verify.
type Report struct {
	Size               int64      `json:"size"`                // entries in the log
	Checked            int64      `json:"checked"`             // entries checked
	HashesChecked      int64      `json:"hashes_checked"`      // stored node hashes compared
	CheckpointsChecked int64      `json:"checkpoints_checked"` // checkpoints compared with the tree
	SignaturesChecked  bool       `json:"signatures_checked"`  // whether checkpoint signatures were verified
	Root               tlog.Hash  `json:"root"`                // recomputed root of the whole log
	MismatchCount      int64      `json:"mismatch_count"`
	Mismatches         []Mismatch `json:"mismatches"`
}

// OK reports whether nothing was found.
func (r *Report) OK() bool { return r.MismatchCount == 0 }

func (r *Report) add(m Mismatch) {
	r.MismatchCount++
	if len(r.Mismatches) < MaxMismatches {
		r.Mismatches = append(r.Mismatches, m)
	}
}

// verifyBatch is how many entries Verify reads at a time.
const verifyBatch = 1000

// Verify checks the whole log against the data it commits to:
//
//  1. it recomputes every leaf from its stored entry and every tree node
//     from the leaves (tlog.StoredHashes), and compares them with the stored
//     hashes — catching an edited entry row or an edited hash;
//  2. for every entry it calls recompute, which rebuilds the object's
//     canonical content from the stored data, and compares the result with
//     the entry's Content — catching edited data;
//  3. it checks every stored checkpoint: its signature (when v is not nil),
//     and that it signs the recomputed root at its size — catching a log
//     that was rewritten or truncated after it was published.
//
// Mismatches are collected in the report; Verify returns an error only
// when it cannot go on (database unavailable, cancelled). progress, when
// not nil, is called after each batch with entries done and the total.
// Memory stays O(batch + log n) however long the log is.
func Verify(ctx context.Context, st Store, v note.Verifier, recompute RecomputeFunc, progress func(done, total int64)) (*Report, error) {
	const op = "ledger.Verify"
	size, err := st.LedgerSize(ctx)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	rep := &Report{Size: size, SignaturesChecked: v != nil, Mismatches: []Mismatch{}}

	// frontier holds the roots of the maximal complete subtrees of the
	// entries processed so far, by storage index: all that StoredHashes
	// needs for the next leaf and all that TreeHash needs for the root.
	frontier := map[int64]tlog.Hash{}
	var consumed []int64
	appendReader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			h, ok := frontier[x]
			if !ok {
				return nil, fmt.Errorf("ledger: verify frontier lacks hash %d", x)
			}
			out[i] = h
			consumed = append(consumed, x)
		}
		return out, nil
	})
	rootReader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			h, ok := frontier[x]
			if !ok {
				return nil, fmt.Errorf("ledger: verify frontier lacks hash %d", x)
			}
			out[i] = h
		}
		return out, nil
	})

	// Checkpoints, read a page at a time in size order.
	var cps []Checkpoint
	cpAfter := int64(-1)
	cpDone := false
	nextCP := func() (*Checkpoint, error) {
		if len(cps) == 0 && !cpDone {
			page, err := st.Checkpoints(ctx, cpAfter, 500)
			if err != nil {
				return nil, err
			}
			if len(page) == 0 {
				cpDone = true
			} else {
				cps = page
				cpAfter = page[len(page)-1].Size
			}
		}
		if len(cps) == 0 {
			return nil, nil
		}
		return &cps[0], nil
	}
	// checkCheckpoints checks every checkpoint of size done (the number of
	// entries processed so far). broken means the tree could not be
	// recomputed up to done.
	checkCheckpoints := func(done int64, broken bool) error {
		for {
			cp, err := nextCP()
			if err != nil {
				return err
			}
			if cp == nil || cp.Size > done {
				return nil
			}
			// Sizes ascend and every size is visited, so cp.Size == done.
			cps = cps[1:]
			rep.CheckpointsChecked++
			bad := func(problem string) {
				rep.add(Mismatch{Index: -1, CheckpointSize: cp.Size, Problem: problem})
			}
			var t tlog.Tree
			if v != nil {
				t, err = VerifyCheckpoint(v, cp.Signed)
				if err != nil {
					bad("签名无效或格式错误：" + errs.MessageOf(err))
					continue
				}
			} else {
				n, err := note.Open(cp.Signed, note.VerifierList())
				var unverified *note.UnverifiedNoteError
				text := ""
				if errors.As(err, &unverified) {
					text = unverified.Note.Text
				} else if err == nil {
					text = n.Text
				}
				if _, t, err = ParseCheckpoint([]byte(text)); err != nil {
					bad("格式错误")
					continue
				}
			}
			if t.N != cp.Size {
				bad(fmt.Sprintf("签名内容中的大小为 %d，与存储的大小不符", t.N))
				continue
			}
			if broken {
				bad("树无法重算，无法核对根哈希")
				continue
			}
			root, err := tlog.TreeHash(done, rootReader)
			if err != nil {
				return err
			}
			if root != t.Hash {
				bad("已签名的根哈希与重算的根哈希不一致（账本被改写）")
			}
		}
	}
	if err := checkCheckpoints(0, false); err != nil {
		return nil, errs.Wrap(op, err)
	}

	broken := false // the tree could not be recomputed from some entry on
	for from := int64(0); from < size; from += verifyBatch {
		to := min(from+verifyBatch, size)
		es, err := st.Entries(ctx, from, to)
		if err != nil {
			return nil, errs.Wrap(op, err)
		}
		hs, err := st.HashRange(ctx, tlog.StoredHashIndex(0, from), tlog.StoredHashIndex(0, to))
		if err != nil {
			return nil, errs.Wrap(op, err)
		}
		stored := make(map[int64]tlog.Hash, len(hs))
		for _, h := range hs {
			stored[h.Index] = h.Hash
		}
		ei := 0
		for n := from; n < to; n++ {
			if err := ctx.Err(); err != nil {
				return nil, errs.Wrap(op, &errs.Error{Code: errs.Unavailable, Message: "校验已取消 (verification cancelled)", Err: err})
			}
			for ei < len(es) && es[ei].Index < n {
				ei++ // cannot happen with a well-behaved store
			}
			var e *Entry
			if ei < len(es) && es[ei].Index == n {
				e = &es[ei]
				ei++
			}
			base := tlog.StoredHashIndex(0, n)
			rep.Checked++

			// The leaf the tree is rebuilt from: the entry's own, unless the
			// stored leaf hash differs from it (reported) — then the stored
			// one, so that an edited entry row is reported once rather than
			// again at every node above it.
			var leafHash tlog.Hash
			storedLeaf, haveLeaf := stored[base]
			mm := Mismatch{Index: n}
			if e != nil {
				mm.Kind, mm.ObjectID, mm.Op = e.Kind, e.ObjectID, e.Op
			}
			switch {
			case e == nil && !haveLeaf:
				mm.Problem = "账本条目及其叶子哈希缺失（被删除），无法继续重算树"
				rep.add(mm)
				broken = true
			case e == nil:
				mm.Problem = "账本条目缺失（被删除）"
				rep.add(mm)
				leafHash = storedLeaf
			default:
				leafHash = tlog.RecordHash(Leaf(*e))
				if haveLeaf && storedLeaf != leafHash {
					mm.Problem = "叶子哈希与条目内容不一致（条目或哈希被改动）"
					rep.add(mm)
					leafHash = storedLeaf
				}
			}

			if !broken {
				consumed = consumed[:0]
				hashes, err := tlog.StoredHashesForRecordHash(n, leafHash, appendReader)
				if err != nil {
					return nil, errs.Wrap(op, err)
				}
				for _, x := range consumed {
					delete(frontier, x)
				}
				m := bits.TrailingZeros64(uint64(n + 1))
				frontier[tlog.StoredHashIndex(m, n>>uint(m))] = hashes[len(hashes)-1]
				for k, h := range hashes {
					rep.HashesChecked++
					got, ok := stored[base+int64(k)]
					switch {
					case !ok:
						mm.Problem = fmt.Sprintf("存储的第 %d 层哈希缺失", k)
					case got == h:
						continue
					default:
						// k > 0: level 0 is the stored leaf or was reported above.
						mm.Problem = fmt.Sprintf("存储的第 %d 层节点哈希与重算不一致（哈希被改动）", k)
					}
					rep.add(mm)
				}
			}

			if e != nil {
				if err := checkContent(ctx, rep, recompute, *e); err != nil {
					return nil, errs.Wrap(op, err)
				}
			}
			if err := checkCheckpoints(n+1, broken); err != nil {
				return nil, errs.Wrap(op, err)
			}
		}
		if progress != nil {
			progress(to, size)
		}
	}
	if !broken {
		root, err := tlog.TreeHash(size, rootReader)
		if err != nil {
			return nil, errs.Wrap(op, err)
		}
		rep.Root = root
	}
	// Checkpoints beyond the log mean entries were removed from its end,
	// unless the log grew while it was being verified and they were signed
	// meanwhile: those are left for the next run.
	cur, err := st.LedgerSize(ctx)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	for {
		cp, err := nextCP()
		if err != nil {
			return nil, errs.Wrap(op, err)
		}
		if cp == nil {
			break
		}
		cps = cps[1:]
		if cp.Size <= cur {
			continue
		}
		rep.CheckpointsChecked++
		rep.add(Mismatch{Index: -1, CheckpointSize: cp.Size,
			Problem: fmt.Sprintf("检查点大小超过账本现有的 %d 条（账本末尾的条目被删除）", size)})
	}
	return rep, nil
}

// checkContent compares e.Content with what recompute rebuilds. It returns
// an error only when verification cannot go on.
func checkContent(ctx context.Context, rep *Report, recompute RecomputeFunc, e Entry) error {
	mm := Mismatch{Index: e.Index, Kind: e.Kind, ObjectID: e.ObjectID, Op: e.Op}
	if recompute == nil {
		mm.Problem = "未知的条目类型，无法重算内容"
		rep.add(mm)
		return nil
	}
	c, err := recompute(ctx, e)
	switch {
	case err == nil:
		if c != e.Content {
			mm.Problem = "对象数据与账本记录的内容哈希不一致（数据被改动）"
			rep.add(mm)
		}
	case errors.Is(err, ErrUnknownKind):
		mm.Problem = "未知的条目类型，无法重算内容"
		rep.add(mm)
	case errs.Is(err, errs.NotFound):
		mm.Problem = "对象不存在（被删除）"
		rep.add(mm)
	case errs.Is(err, errs.Unavailable), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), ctx.Err() != nil:
		return err
	default:
		mm.Problem = "无法重算内容：" + errs.MessageOf(err)
		if errs.CodeOf(err) == errs.Internal {
			mm.Problem = "无法重算内容：" + err.Error()
		}
		rep.add(mm)
	}
	return nil
}
