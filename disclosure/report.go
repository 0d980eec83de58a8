package disclosure

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"ecredit/errs"
	"ecredit/ledger"
	"ecredit/record"
)

// A credit report is a subject's public profile at one moment, each record
// tied to its latest ledger entry with an inclusion proof against one
// signed checkpoint.
//
// The report's content hash (Hash) is the SHA-256 of the canonical JSON of
// what the report asserts (see dataDoc): the subject's public identity and,
// for every record shown, its id, version, status and the ledger entry
// (index and content hash) that commits to its state. The report id carries
// the subject id, the checkpoint's tree size and the issue time, and a MAC
// (HMAC-SHA256 under Service.Secret) over those and the content hash, so
// ids cannot be forged and no table of issued reports is needed. The
// verification link is /verify/{id}?h={hash}.
//
// Verify checks, in order: the MAC (else 无法验证); that the signed
// checkpoint the report was issued against exists and that the current
// tree extends it (a consistency proof: nothing in the ledger up to that
// size was changed); that every record now in public view still matches
// its latest ledger entry and is included in the current signed tree; and
// finally whether the content hash recomputed from the current data equals
// the report's (内容为最新) or not (信息已有更新).

// ReportItem is one record of a report with its ledger proof.
type ReportItem struct {
	Record   record.View            `json:"record"`
	Entry    EntryView              `json:"ledger_entry"`
	Proof    *ledger.InclusionProof `json:"inclusion_proof"`
	LeafHash string                 `json:"leaf_hash_hex"`
	Path     []string               `json:"proof_hex"` // the proof's hashes in hex
}

// EntryView is a ledger entry for display.
type EntryView struct {
	Index   int64     `json:"index"`
	Op      string    `json:"op"`
	OpLabel string    `json:"op_label"`
	At      time.Time `json:"at"`
	Content string    `json:"content_hex"`
}

// Report is a credit report.
type Report struct {
	ID         string       `json:"id"`
	Hash       string       `json:"hash"` // content hash, hex
	IssuedAt   time.Time    `json:"issued_at"`
	Profile    *Profile     `json:"profile"`
	Items      []ReportItem `json:"items"`      // ascending record id
	Checkpoint string       `json:"checkpoint"` // the signed note every proof is against
	TreeSize   int64        `json:"tree_size"`
	Root       string       `json:"root_hex"`
	VerifyPath string       `json:"verify_path"` // /verify/{id}?h={hash}
}

// dataDoc is what a report's content hash covers.
type dataDoc struct {
	V       int        `json:"v"`
	Subject subjectDoc `json:"subject"`
	Records []recDoc   `json:"records"`
}

type subjectDoc struct {
	ID         int64  `json:"id"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	CreditCode string `json:"credit_code"`
	IDMasked   string `json:"id_masked"`
	RegionCode string `json:"region_code"`
	Status     string `json:"status"`
	Verify     string `json:"verify"`
	Mark       string `json:"mark"`
}

type recDoc struct {
	ID          int64  `json:"id"`
	Type        string `json:"type"`
	Version     int    `json:"version"`
	Status      string `json:"status"`
	Disputed    bool   `json:"disputed"`
	LedgerIndex int64  `json:"ledger_index"`
	Content     string `json:"content"`
}

// snapshot is the current state a report is built from or checked against.
type snapshot struct {
	profile *Profile
	entries []ledger.Entry // latest entry of profile.records[i]
	hash    string
}

// snapshot reads the profile, each record's latest ledger entry, checks
// that the stored record still matches that entry, and computes the
// content hash. A mismatch is errs.Conflict naming the record.
func (s *Service) snapshot(ctx context.Context, op string, subjectID int64, now time.Time) (*snapshot, error) {
	sub, err := s.Store.GetSubject(ctx, subjectID)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	p, err := s.profile(ctx, op, sub, now)
	if err != nil {
		return nil, err
	}
	sn := &snapshot{profile: p}
	doc := dataDoc{V: 1, Subject: subjectDoc{ID: p.Subject.ID, Kind: string(p.Subject.Kind), Name: p.Subject.Name,
		CreditCode: p.Subject.CreditCode, IDMasked: p.Subject.IDNumber, RegionCode: p.Subject.RegionCode,
		Status: string(p.Subject.Status), Verify: string(p.Subject.Verify), Mark: p.Subject.Mark}, Records: []recDoc{}}
	for _, r := range p.records {
		es, err := s.Store.LedgerEntriesFor(ctx, record.LedgerKind, r.ID)
		if err != nil {
			return nil, errs.Wrap(op, err)
		}
		if len(es) == 0 {
			return nil, &errs.Error{Code: errs.Conflict, Op: op, Field: "record",
				Message: fmt.Sprintf("记录 %d 没有账本条目，数据与账本不一致 (record has no ledger entry)", r.ID)}
		}
		e := es[len(es)-1]
		sum, err := s.Store.RecomputeRecordEntry(ctx, e)
		if err != nil || sum != e.Content {
			return nil, &errs.Error{Code: errs.Conflict, Op: op, Field: "record",
				Message: fmt.Sprintf("记录 %d 的存储数据与其账本条目 #%d 不一致，可能被改动 (record does not match its ledger entry)", r.ID, e.Index), Err: err}
		}
		sn.entries = append(sn.entries, e)
		doc.Records = append(doc.Records, recDoc{ID: r.ID, Type: string(r.Type), Version: r.Version, Status: string(r.Status),
			Disputed: r.Disputed, LedgerIndex: e.Index, Content: hex.EncodeToString(e.Content[:])})
	}
	h, err := ledger.HashContent(doc)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	sn.hash = hex.EncodeToString(h[:])
	return sn, nil
}

func (s *Service) ready(op string) error {
	if s.Log == nil || s.Log.Verifier == nil || len(s.Secret) < 16 {
		return &errs.Error{Code: errs.Unavailable, Op: op, Message: "信用报告服务未配置账本或密钥 (reports are not configured)"}
	}
	return nil
}

// Report issues the credit report of the subject with id.
func (s *Service) Report(ctx context.Context, id int64) (*Report, error) {
	const op = "disclosure.Report"
	if err := s.ready(op); err != nil {
		return nil, err
	}
	if id <= 0 {
		return nil, &errs.Error{Code: errs.NotFound, Op: op, Field: "id", Message: "主体不存在 (subject not found)"}
	}
	now := s.now().Truncate(time.Second)
	sn, err := s.snapshot(ctx, op, id, now)
	if err != nil {
		return nil, err
	}
	// The checkpoint is taken after the entries were read, so it covers
	// every one of them.
	signed, tree, err := s.Log.Checkpoint(ctx)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	rep := &Report{IssuedAt: now, Profile: sn.profile, Hash: sn.hash, Checkpoint: string(signed), TreeSize: tree.N,
		Root: hex.EncodeToString(tree.Hash[:]), Items: []ReportItem{}}
	for i, r := range sn.profile.records {
		e := sn.entries[i]
		if e.Index >= tree.N {
			return nil, &errs.Error{Code: errs.Unavailable, Op: op, Message: "账本正在更新，请稍后重试 (ledger moved on; retry)"}
		}
		proof, root, err := s.Log.ProveInclusion(ctx, e.Index, tree.N)
		if err != nil {
			return nil, errs.Wrap(op, err)
		}
		leaf := ledger.Leaf(e)
		ip := &ledger.InclusionProof{Index: e.Index, Size: tree.N, Leaf: string(leaf), LeafHash: tlog.RecordHash(leaf), Proof: proof, Root: root}
		if root != tree.Hash {
			return nil, &errs.Error{Code: errs.Internal, Op: op, Message: "包含证明的根哈希与检查点不符 (proof root differs from the checkpoint)"}
		}
		if err := ip.Check(nil); err != nil {
			return nil, errs.Wrap(op, err)
		}
		item := ReportItem{Record: PublicRecordView(r, now), Proof: ip, LeafHash: hex.EncodeToString(ip.LeafHash[:]),
			Entry: EntryView{Index: e.Index, Op: e.Op, OpLabel: record.EventType(e.Op).Label(), At: e.At, Content: hex.EncodeToString(e.Content[:])}}
		for _, h := range proof {
			item.Path = append(item.Path, hex.EncodeToString(h[:]))
		}
		rep.Items = append(rep.Items, item)
	}
	rep.ID = s.reportID(id, tree.N, now, sn.hash)
	rep.VerifyPath = "/verify/" + rep.ID + "?h=" + rep.Hash
	return rep, nil
}

// reportID is R{subject}-{size}-{unix seconds}-{mac}.
func (s *Service) reportID(subject, size int64, at time.Time, hash string) string {
	base := fmt.Sprintf("R%d-%d-%d", subject, size, at.Unix())
	return base + "-" + s.mac(base, hash)
}

func (s *Service) mac(base, hash string) string {
	m := hmac.New(sha256.New, s.Secret)
	m.Write([]byte("ecredit-report/1\n" + base + "\n" + hash))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// Verdict statuses.
const (
	VerdictCurrent = "current" // 报告真实有效，内容为最新
	VerdictUpdated = "updated" // 报告真实，但信息已有更新
	VerdictInvalid = "invalid" // 无法验证，可能被篡改
)

// Verdict is the outcome of checking a report.
type Verdict struct {
	Status      string    `json:"status"`
	Title       string    `json:"title"`
	Reasons     []string  `json:"reasons,omitempty"`
	ReportID    string    `json:"report_id"`
	IssuedAt    time.Time `json:"issued_at,omitzero"`
	TreeSize    int64     `json:"tree_size,omitempty"`    // the report's checkpoint
	CurrentSize int64     `json:"current_size,omitempty"` // the current checkpoint
	Profile     *Profile  `json:"profile,omitempty"`      // current public profile of the subject
}

func invalid(id string, reasons ...string) *Verdict {
	return &Verdict{Status: VerdictInvalid, Title: "无法验证，可能被篡改", ReportID: id, Reasons: reasons}
}

type parsedID struct {
	subject, size int64
	at            time.Time
	base, mac     string
}

func parseReportID(id string) (parsedID, bool) {
	if !strings.HasPrefix(id, "R") || len(id) > 120 {
		return parsedID{}, false
	}
	parts := strings.SplitN(id[1:], "-", 4) // the MAC (base64url) may hold '-'
	if len(parts) != 4 {
		return parsedID{}, false
	}
	var n [3]int64
	for i := 0; i < 3; i++ {
		v, err := strconv.ParseInt(parts[i], 10, 64)
		if err != nil || v < 0 || strconv.FormatInt(v, 10) != parts[i] {
			return parsedID{}, false
		}
		n[i] = v
	}
	return parsedID{subject: n[0], size: n[1], at: time.Unix(n[2], 0).UTC(),
		base: "R" + strings.Join(parts[:3], "-"), mac: parts[3]}, true
}

// Verify checks a report id and content hash (the h of its verification
// link) against the ledger and the current data. A forged or altered id or
// hash, or a ledger that no longer extends the report's checkpoint, gives
// VerdictInvalid; errors are returned only for failures of the service
// itself (database unavailable).
func (s *Service) Verify(ctx context.Context, id, hash string) (*Verdict, error) {
	const op = "disclosure.Verify"
	if err := s.ready(op); err != nil {
		return nil, err
	}
	id, hash = strings.TrimSpace(id), strings.ToLower(strings.TrimSpace(hash))
	p, ok := parseReportID(id)
	if !ok {
		return invalid(id, "报告编号格式不正确。"), nil
	}
	if b, err := hex.DecodeString(hash); err != nil || len(b) != sha256.Size {
		return invalid(id, "缺少或无法识别报告校验码（链接中的 h 参数）。"), nil
	}
	want := s.mac(p.base, hash)
	if !hmac.Equal([]byte(want), []byte(p.mac)) {
		return invalid(id, "报告编号与校验码不匹配：报告编号是伪造的，或报告内容被改动过。"), nil
	}
	now := s.now()
	v := &Verdict{ReportID: id, IssuedAt: p.at, TreeSize: p.size}
	if p.at.After(now.Add(5 * time.Minute)) {
		return invalid(id, "报告出具时间晚于当前时间。"), nil
	}
	// The checkpoint the report was issued against, and the current tree
	// extending it.
	cps, err := s.Store.Checkpoints(ctx, p.size-1, 1)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	if len(cps) == 0 || cps[0].Size != p.size {
		return invalid(id, fmt.Sprintf("账本中找不到报告所依据的大小为 %d 的签名检查点。", p.size)), nil
	}
	old, err := ledger.VerifyCheckpoint(s.Log.Verifier, cps[0].Signed)
	if err != nil {
		return invalid(id, "报告所依据的检查点签名无效。"), nil
	}
	_, cur, err := s.Log.Checkpoint(ctx)
	if err != nil {
		if errs.Is(err, errs.Internal) {
			return invalid(id, "账本当前状态无法验证："+errs.MessageOf(err)), nil
		}
		return nil, errs.Wrap(op, err)
	}
	v.CurrentSize = cur.N
	if cur.N < old.N {
		return invalid(id, "当前账本比报告签发时更短：账本条目被删除。"), nil
	}
	proof, err := s.Log.ProveConsistency(ctx, old.N, cur.N)
	if err != nil {
		return invalid(id, "无法生成一致性证明："+errs.MessageOf(err)), nil
	}
	if err := ledger.CheckConsistency(proof, old.N, old.Hash, cur.N, cur.Hash); err != nil {
		return invalid(id, "当前账本与报告签发时的签名检查点不一致：账本被改动过。"), nil
	}
	sn, err := s.snapshot(ctx, op, p.subject, now)
	if err != nil {
		if errs.Is(err, errs.Conflict) || errs.Is(err, errs.NotFound) {
			return invalid(id, errs.MessageOf(err)), nil
		}
		return nil, err
	}
	for i, e := range sn.entries {
		if e.Index >= cur.N {
			continue // appended after the current checkpoint: newer than any report
		}
		pr, root, err := s.Log.ProveInclusion(ctx, e.Index, cur.N)
		if err != nil || root != cur.Hash {
			return invalid(id, fmt.Sprintf("记录 %d 的账本条目无法证明包含在当前检查点中。", sn.profile.records[i].ID)), nil
		}
		if err := ledger.CheckInclusion(pr, cur.N, cur.Hash, ledger.Leaf(e), e.Index); err != nil {
			return invalid(id, fmt.Sprintf("记录 %d 的账本条目包含证明不成立。", sn.profile.records[i].ID)), nil
		}
	}
	v.Profile = sn.profile
	if sn.hash == hash {
		v.Status, v.Title = VerdictCurrent, "报告真实有效，内容为最新"
		return v, nil
	}
	v.Status, v.Title = VerdictUpdated, "报告真实，但信息已有更新"
	v.Reasons = []string{"该报告确由本平台出具，但出具后主体信息或信用记录已有变化，请以下方最新信息为准或重新获取报告。"}
	return v, nil
}
