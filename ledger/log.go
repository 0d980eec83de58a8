package ledger

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"ecredit/errs"
)

// DefaultOrigin is the checkpoint origin (and signing key name) of the
// Chengde deployment.
const DefaultOrigin = "ecredit.chengde.gov.cn/ledger"

// Checkpoint is a signed tree head as stored.
type Checkpoint struct {
	Size   int64     // tree size the note signs
	Signed []byte    // the signed note (C2SP checkpoint body plus signature lines)
	At     time.Time // when it was stored
}

// StoredHash is one row of the hash table: a tree node at its storage
// index (tlog.StoredHashIndex).
type StoredHash struct {
	Index int64
	Hash  tlog.Hash
}

// Store keeps the log. Package sqlstore implements it (appends happen there,
// inside the transaction of the change they record). Every method returns
// *errs.Error values.
type Store interface {
	// LedgerSize is the number of entries.
	LedgerSize(ctx context.Context) (int64, error)
	// ReadHashes returns the hashes at the given storage indexes, in the
	// same order; a missing hash is an error.
	ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)
	// HashRange returns the stored hashes with storage index in [from, to),
	// ascending; missing rows are simply absent (Verify reports them).
	HashRange(ctx context.Context, from, to int64) ([]StoredHash, error)
	// Entries returns the entries with index in [from, to), ascending;
	// missing rows are simply absent.
	Entries(ctx context.Context, from, to int64) ([]Entry, error)
	// LatestCheckpoint returns the checkpoint with the largest size, or an
	// errs.NotFound error when none has been saved.
	LatestCheckpoint(ctx context.Context) (Checkpoint, error)
	// Checkpoints returns up to limit checkpoints with size > after,
	// ascending by size.
	Checkpoints(ctx context.Context, after int64, limit int) ([]Checkpoint, error)
	// SaveCheckpoint stores a signed checkpoint for size. Saving a second
	// one for a size already stored keeps the first and is not an error.
	SaveCheckpoint(ctx context.Context, size int64, signed []byte) error
}

// hashReader adapts a Store to tlog.HashReader for one call.
func hashReader(ctx context.Context, st Store) tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		if len(idx) == 0 {
			return nil, nil
		}
		return st.ReadHashes(ctx, idx)
	})
}

// FormatCheckpoint is the body of a C2SP checkpoint
// (https://c2sp.org/tlog-checkpoint): the origin, the tree size in decimal
// and the root hash in base64, each on its own line. tlog.FormatTree writes
// the same three lines with the fixed origin "go.sum database tree"; ours
// names this log instead.
func FormatCheckpoint(origin string, t tlog.Tree) []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", origin, t.N, base64.StdEncoding.EncodeToString(t.Hash[:]))
}

// ParseCheckpoint reads a checkpoint body (not the signatures). Extension
// lines after the hash are allowed, as the format says.
func ParseCheckpoint(text []byte) (origin string, t tlog.Tree, err error) {
	bad := &errs.Error{Code: errs.Invalid, Op: "ledger.ParseCheckpoint", Field: "checkpoint", Message: "检查点格式错误 (malformed checkpoint)"}
	if len(text) > 1<<16 || !bytes.HasSuffix(text, []byte("\n")) {
		return "", tlog.Tree{}, bad
	}
	lines := strings.Split(string(text), "\n")
	if len(lines) < 4 || lines[0] == "" {
		return "", tlog.Tree{}, bad
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return "", tlog.Tree{}, bad
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return "", tlog.Tree{}, bad
	}
	t.N = n
	copy(t.Hash[:], h)
	return lines[0], t, nil
}

// VerifyCheckpoint checks the signature on a signed checkpoint with v, and
// that its origin is v's name (ecredit names its key after the log's
// origin), and returns the tree it signs.
func VerifyCheckpoint(v note.Verifier, signed []byte) (tlog.Tree, error) {
	const op = "ledger.VerifyCheckpoint"
	if v == nil {
		return tlog.Tree{}, &errs.Error{Code: errs.Invalid, Op: op, Message: "缺少验证公钥 (no verifier key)"}
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return tlog.Tree{}, &errs.Error{Code: errs.Invalid, Op: op, Field: "checkpoint", Message: "检查点签名无效 (checkpoint signature does not verify)", Err: err}
	}
	origin, t, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return tlog.Tree{}, errs.Wrap(op, err)
	}
	if origin != v.Name() {
		return tlog.Tree{}, &errs.Error{Code: errs.Invalid, Op: op, Field: "checkpoint",
			Message: fmt.Sprintf("检查点来源「%s」与公钥名称「%s」不符 (checkpoint origin does not match the key)", origin, v.Name())}
	}
	return t, nil
}

// CheckInclusion checks that leaf is entry index of the tree of size size
// with root hash root.
func CheckInclusion(proof tlog.RecordProof, size int64, root tlog.Hash, leaf []byte, index int64) error {
	if index < 0 || index >= size {
		return &errs.Error{Code: errs.Invalid, Op: "ledger.CheckInclusion", Field: "index", Message: "条目序号不在树的范围内 (index outside the tree)"}
	}
	if err := tlog.CheckRecord(proof, size, root, index, tlog.RecordHash(leaf)); err != nil {
		return &errs.Error{Code: errs.Invalid, Op: "ledger.CheckInclusion", Field: "proof", Message: "包含证明不成立 (inclusion proof does not verify)", Err: err}
	}
	return nil
}

// CheckConsistency checks that the tree (newSize, newRoot) extends the tree
// (oldSize, oldRoot): nothing in the first oldSize entries changed.
func CheckConsistency(proof tlog.TreeProof, oldSize int64, oldRoot tlog.Hash, newSize int64, newRoot tlog.Hash) error {
	if oldSize < 0 || oldSize > newSize {
		return &errs.Error{Code: errs.Invalid, Op: "ledger.CheckConsistency", Field: "old", Message: "旧树大小须在 0 与新树大小之间 (old size must be between 0 and the new size)"}
	}
	if oldSize == 0 {
		// Every tree extends the empty one; the proof is empty.
		if empty, _ := tlog.TreeHash(0, nil); len(proof) != 0 || oldRoot != empty {
			return &errs.Error{Code: errs.Invalid, Op: "ledger.CheckConsistency", Field: "proof", Message: "一致性证明不成立 (consistency proof does not verify)"}
		}
		return nil
	}
	if err := tlog.CheckTree(proof, newSize, newRoot, oldSize, oldRoot); err != nil {
		return &errs.Error{Code: errs.Invalid, Op: "ledger.CheckConsistency", Field: "proof", Message: "一致性证明不成立 (consistency proof does not verify)", Err: err}
	}
	return nil
}

// Log is the ledger service: checkpoints and proofs over a Store.
type Log struct {
	Store    Store
	Signer   note.Signer
	Verifier note.Verifier
	Origin   string // checkpoint origin; must equal the key's name
}

// Latest returns the latest stored signed checkpoint without signing a new
// one (errs.NotFound when none exists).
func (l *Log) Latest(ctx context.Context) ([]byte, tlog.Tree, error) {
	cp, err := l.Store.LatestCheckpoint(ctx)
	if err != nil {
		return nil, tlog.Tree{}, err
	}
	t, err := l.verifyStored(cp)
	if err != nil {
		return nil, tlog.Tree{}, err
	}
	return cp.Signed, t, nil
}

func (l *Log) verifyStored(cp Checkpoint) (tlog.Tree, error) {
	t, err := VerifyCheckpoint(l.Verifier, cp.Signed)
	if err != nil || t.N != cp.Size {
		return tlog.Tree{}, &errs.Error{Code: errs.Internal, Op: "ledger.Log",
			Message: fmt.Sprintf("已存储的大小为 %d 的检查点无法验证 (stored checkpoint does not verify)", cp.Size), Err: err}
	}
	return t, nil
}

// Checkpoint returns a signed checkpoint of the current tree: the stored one
// when the log has not grown since, else a freshly signed one, which is
// saved.
func (l *Log) Checkpoint(ctx context.Context) ([]byte, tlog.Tree, error) {
	const op = "ledger.Checkpoint"
	if l.Signer == nil || l.Origin == "" {
		return nil, tlog.Tree{}, &errs.Error{Code: errs.Internal, Op: op, Message: "账本未配置签名密钥 (ledger signing key not configured)"}
	}
	if l.Signer.Name() != l.Origin {
		return nil, tlog.Tree{}, &errs.Error{Code: errs.Internal, Op: op,
			Message: fmt.Sprintf("签名密钥名称「%s」与账本来源「%s」不符 (key name differs from origin)", l.Signer.Name(), l.Origin)}
	}
	// The latest checkpoint first, then the size: sizes only grow, so a
	// size smaller than a checkpoint read before it means entries were
	// deleted, not that another process checkpointed in between.
	latest, err := l.Store.LatestCheckpoint(ctx)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return nil, tlog.Tree{}, errs.Wrap(op, err)
	}
	hasLatest := err == nil
	size, err := l.Store.LedgerSize(ctx)
	if err != nil {
		return nil, tlog.Tree{}, errs.Wrap(op, err)
	}
	switch {
	case hasLatest:
		if latest.Size == size {
			t, err := l.verifyStored(latest)
			if err != nil {
				return nil, tlog.Tree{}, err
			}
			return latest.Signed, t, nil
		}
		if latest.Size > size {
			return nil, tlog.Tree{}, &errs.Error{Code: errs.Internal, Op: op,
				Message: fmt.Sprintf("账本只有 %d 条，却已有大小为 %d 的检查点：账本条目被删除 (ledger shrank)", size, latest.Size)}
		}
	}
	root, err := tlog.TreeHash(size, hashReader(ctx, l.Store))
	if err != nil {
		return nil, tlog.Tree{}, errs.Wrap(op, err)
	}
	t := tlog.Tree{N: size, Hash: root}
	signed, err := note.Sign(&note.Note{Text: string(FormatCheckpoint(l.Origin, t))}, l.Signer)
	if err != nil {
		return nil, tlog.Tree{}, errs.Wrap(op, err)
	}
	if err := l.Store.SaveCheckpoint(ctx, size, signed); err != nil {
		return nil, tlog.Tree{}, errs.Wrap(op, err)
	}
	return signed, t, nil
}

// checkSize validates a tree size against the current log.
func (l *Log) checkSize(ctx context.Context, op, field string, size int64) error {
	cur, err := l.Store.LedgerSize(ctx)
	if err != nil {
		return errs.Wrap(op, err)
	}
	if size < 0 || size > cur {
		return &errs.Error{Code: errs.Invalid, Op: op, Field: field,
			Message: fmt.Sprintf("树大小 %d 无效，账本当前有 %d 条 (size out of range)", size, cur)}
	}
	return nil
}

// ProveInclusion returns the proof that entry index is in the tree of
// treeSize entries, and that tree's root hash.
func (l *Log) ProveInclusion(ctx context.Context, index, treeSize int64) (tlog.RecordProof, tlog.Hash, error) {
	const op = "ledger.ProveInclusion"
	if err := l.checkSize(ctx, op, "size", treeSize); err != nil {
		return nil, tlog.Hash{}, err
	}
	if index < 0 || index >= treeSize {
		return nil, tlog.Hash{}, &errs.Error{Code: errs.Invalid, Op: op, Field: "index",
			Message: fmt.Sprintf("条目序号 %d 不在大小为 %d 的树中 (index outside the tree)", index, treeSize)}
	}
	r := hashReader(ctx, l.Store)
	p, err := tlog.ProveRecord(treeSize, index, r)
	if err != nil {
		return nil, tlog.Hash{}, errs.Wrap(op, err)
	}
	root, err := tlog.TreeHash(treeSize, r)
	if err != nil {
		return nil, tlog.Hash{}, errs.Wrap(op, err)
	}
	return p, root, nil
}

// ProveConsistency returns the proof that the tree of newSize entries
// extends the tree of oldSize entries.
func (l *Log) ProveConsistency(ctx context.Context, oldSize, newSize int64) (tlog.TreeProof, error) {
	const op = "ledger.ProveConsistency"
	if err := l.checkSize(ctx, op, "new", newSize); err != nil {
		return nil, err
	}
	if oldSize < 0 || oldSize > newSize {
		return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "old",
			Message: fmt.Sprintf("旧树大小 %d 须在 0 与 %d 之间 (old size out of range)", oldSize, newSize)}
	}
	if oldSize == 0 {
		return tlog.TreeProof{}, nil // the empty tree is a prefix of every tree
	}
	p, err := tlog.ProveTree(newSize, oldSize, hashReader(ctx, l.Store))
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	return p, nil
}

// InclusionProof is everything a third party needs to check that an entry
// is in the signed log, ready for JSON (hashes are base64).
type InclusionProof struct {
	Index      int64            `json:"index"`
	Size       int64            `json:"size"`
	Leaf       string           `json:"leaf"` // the leaf bytes (see Leaf)
	LeafHash   tlog.Hash        `json:"leaf_hash"`
	Proof      tlog.RecordProof `json:"proof"`
	Root       tlog.Hash        `json:"root"`
	Checkpoint string           `json:"checkpoint,omitempty"` // signed note for (Size, Root) when known
}

// Inclusion builds the inclusion proof of entry index. With size 0 it proves
// against the current signed checkpoint (signing one if the log grew) and
// carries it; with an explicit size the checkpoint is included only when
// the latest stored one has that size.
func (l *Log) Inclusion(ctx context.Context, index, size int64) (*InclusionProof, error) {
	const op = "ledger.Inclusion"
	var signed []byte
	if size == 0 {
		s, t, err := l.Checkpoint(ctx)
		if err != nil {
			return nil, err
		}
		signed, size = s, t.N
	} else if s, t, err := l.Latest(ctx); err == nil && t.N == size {
		signed = s
	}
	p, root, err := l.ProveInclusion(ctx, index, size)
	if err != nil {
		return nil, err
	}
	es, err := l.Store.Entries(ctx, index, index+1)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	if len(es) != 1 {
		return nil, &errs.Error{Code: errs.Internal, Op: op, Message: fmt.Sprintf("账本条目 %d 缺失 (ledger entry missing)", index)}
	}
	leaf := Leaf(es[0])
	return &InclusionProof{Index: index, Size: size, Leaf: string(leaf), LeafHash: tlog.RecordHash(leaf),
		Proof: p, Root: root, Checkpoint: string(signed)}, nil
}

// Check verifies the proof: the leaf hash, the path to the root and, when a
// checkpoint is carried and v is given, its signature and that it signs
// (Size, Root).
func (p *InclusionProof) Check(v note.Verifier) error {
	if tlog.RecordHash([]byte(p.Leaf)) != p.LeafHash {
		return &errs.Error{Code: errs.Invalid, Op: "ledger.InclusionProof.Check", Field: "leaf_hash", Message: "叶子哈希与叶子内容不符 (leaf hash does not match the leaf)"}
	}
	if err := CheckInclusion(p.Proof, p.Size, p.Root, []byte(p.Leaf), p.Index); err != nil {
		return err
	}
	if p.Checkpoint != "" && v != nil {
		t, err := VerifyCheckpoint(v, []byte(p.Checkpoint))
		if err != nil {
			return err
		}
		if t.N != p.Size || t.Hash != p.Root {
			return &errs.Error{Code: errs.Invalid, Op: "ledger.InclusionProof.Check", Field: "checkpoint", Message: "检查点与证明的树不符 (checkpoint does not sign this tree)"}
		}
	}
	return nil
}

// ConsistencyProof is a consistency proof with both tree heads, for JSON.
type ConsistencyProof struct {
	Old     int64          `json:"old"`
	New     int64          `json:"new"`
	OldRoot tlog.Hash      `json:"old_root"`
	NewRoot tlog.Hash      `json:"new_root"`
	Proof   tlog.TreeProof `json:"proof"`
}

// Consistency builds the consistency proof between sizes old and new; new
// 0 means the current signed checkpoint.
func (l *Log) Consistency(ctx context.Context, oldSize, newSize int64) (*ConsistencyProof, error) {
	const op = "ledger.Consistency"
	if newSize == 0 {
		_, t, err := l.Checkpoint(ctx)
		if err != nil {
			return nil, err
		}
		newSize = t.N
	}
	p, err := l.ProveConsistency(ctx, oldSize, newSize)
	if err != nil {
		return nil, err
	}
	r := hashReader(ctx, l.Store)
	oldRoot, err := tlog.TreeHash(oldSize, r)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	newRoot, err := tlog.TreeHash(newSize, r)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	return &ConsistencyProof{Old: oldSize, New: newSize, OldRoot: oldRoot, NewRoot: newRoot, Proof: p}, nil
}

// Check verifies the proof.
func (p *ConsistencyProof) Check() error {
	return CheckConsistency(p.Proof, p.Old, p.OldRoot, p.New, p.NewRoot)
}
