// Package ledger is ecredit's tamper-evident log: a Merkle tree (RFC 6962,
// SHA-256, golang.org/x/mod/sumdb/tlog) over every accepted credit record
// and every later change to it, with Ed25519-signed checkpoints in the C2SP
// signed-note format (golang.org/x/mod/sumdb/note).
//
// Each change appends one Entry. Its leaf (see Leaf) commits to the kind of
// object, its id, the operation, the time and Content: the SHA-256 of the
// object's canonical JSON at that event (see Canonical). The hashes of the
// tree are stored next to the data by the Store (package sqlstore writes an
// entry and its hashes in the same database transaction as the change
// itself), so an object is either stored together with its ledger entry or
// not at all.
//
// Personal data never enters the ledger. A leaf holds only a kind, a
// numeric id, an operation, a time and a hash; and callers must build the
// canonical content of an object with personal values (ID numbers, phone
// numbers, names of natural persons) replaced by their keyed HMAC index
// (pii.Keys.Index), never the clear values, so that neither a published
// proof nor a leaked hash can be tested against a guessed identity.
//
// This package is the domain side: no database/sql, no net/http.
package ledger

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"ecredit/errs"
)

// Entry is one event in the log.
type Entry struct {
	Index    int64     // position in the log, assigned by the store on append
	Kind     string    // kind of object: "record", later "list", "grade", …
	ObjectID int64     // the object's id within its kind
	Op       string    // create, correct, withdraw, objection, objection_answer, repair, …
	Content  [32]byte  // SHA-256 of the object's canonical content after the event
	At       time.Time // when the event happened; kept to the microsecond, UTC
}

// LeafVersion is the first line of every leaf. A future incompatible leaf
// layout gets a new version line; old leaves keep theirs.
const LeafVersion = "ecredit-leaf/1"

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// Validate checks that e can be appended: kind and op are short lower-case
// ASCII words ([a-z][a-z0-9_]*, at most 32 characters), the object id is
// positive and the time is set.
func (e *Entry) Validate() error {
	var l errs.List
	if !nameRE.MatchString(e.Kind) {
		l.Add("kind", "账本条目类型「%s」无效，须为小写字母、数字或下划线 (invalid ledger kind)", e.Kind)
	}
	if e.ObjectID <= 0 {
		l.Add("object_id", "账本条目对象编号须为正整数 (object id must be positive)")
	}
	if !nameRE.MatchString(e.Op) {
		l.Add("op", "账本条目操作「%s」无效，须为小写字母、数字或下划线 (invalid ledger op)", e.Op)
	}
	if e.At.IsZero() {
		l.Add("at", "账本条目缺少时间 (ledger entry time missing)")
	}
	return l.Err()
}

// Leaf returns the canonical leaf bytes of e, the data whose RFC 6962
// record hash is the tree's leaf. The layout is six lines, each ending in
// "\n":
//
//	ecredit-leaf/1
//	<kind>
//	<object id, decimal>
//	<op>
//	<time, unix microseconds, decimal>
//	<content, 64 lower-case hex digits>
//
// The index is not part of the leaf: the tree position already fixes it.
func Leaf(e Entry) []byte {
	var b strings.Builder
	b.Grow(len(LeafVersion) + len(e.Kind) + len(e.Op) + 20 + 20 + 64 + 6)
	b.WriteString(LeafVersion)
	b.WriteByte('\n')
	b.WriteString(e.Kind)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatInt(e.ObjectID, 10))
	b.WriteByte('\n')
	b.WriteString(e.Op)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatInt(atMicros(e.At), 10))
	b.WriteByte('\n')
	b.WriteString(hex.EncodeToString(e.Content[:]))
	b.WriteByte('\n')
	return []byte(b.String())
}

// ParseLeaf is the inverse of Leaf (the index is left zero). It lets a
// verifier who was handed leaf bytes read what they commit to.
func ParseLeaf(leaf []byte) (Entry, error) {
	bad := func(format string, args ...any) (Entry, error) {
		return Entry{}, errs.Field("leaf", "账本叶子格式错误："+format+" (malformed leaf)", args...)
	}
	s := string(leaf)
	if !strings.HasSuffix(s, "\n") {
		return bad("缺少结尾换行")
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) != 6 {
		return bad("应为 6 行，实为 %d 行", len(lines))
	}
	if lines[0] != LeafVersion {
		return bad("未知版本「%s」", lines[0])
	}
	e := Entry{Kind: lines[1], Op: lines[3]}
	var err error
	if e.ObjectID, err = strconv.ParseInt(lines[2], 10, 64); err != nil || strconv.FormatInt(e.ObjectID, 10) != lines[2] {
		return bad("对象编号「%s」无效", lines[2])
	}
	at, err := strconv.ParseInt(lines[4], 10, 64)
	if err != nil || strconv.FormatInt(at, 10) != lines[4] {
		return bad("时间「%s」无效", lines[4])
	}
	if at != 0 {
		e.At = time.UnixMicro(at).UTC()
	}
	c, err := hex.DecodeString(lines[5])
	if err != nil || len(c) != 32 || hex.EncodeToString(c) != lines[5] {
		return bad("内容哈希「%s」无效", lines[5])
	}
	copy(e.Content[:], c)
	if err := e.Validate(); err != nil {
		return bad("%s", errs.MessageOf(err))
	}
	return e, nil
}

// String is a short description for logs and reports.
func (e Entry) String() string {
	return fmt.Sprintf("#%d %s/%d %s", e.Index, e.Kind, e.ObjectID, e.Op)
}

func atMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}
