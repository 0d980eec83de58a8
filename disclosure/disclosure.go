// Package disclosure is the public side of the credit system (M14): search
// by name or credit code over a bigram full-text index, a subject's public
// profile (identity, verification mark, licences, penalties within their
// publicity window, commitments, objections shown as disputed, personal
// data masked), and the credit report — the profile's records with their
// ledger entries and inclusion proofs against one signed checkpoint — with
// the public check that a report is genuine and current.
//
// Everything here is read-only and public: the caller needs no scope, and
// nothing unmasked leaves the package. Lists (red/black) and grades are not
// part of the profile until those capabilities exist.
//
// This is a domain package: no net/http, no database/sql. Package sqlstore
// implements Store.
package disclosure

import (
	"context"
	"strings"
	"time"

	"ecredit/clock"
	"ecredit/code"
	"ecredit/errs"
	"ecredit/ledger"
	"ecredit/record"
	"ecredit/registry"
)

// SearchSpec is a tokenised search as the store runs it.
type SearchSpec struct {
	Tokens []string // every token must match (AND)
	// Name is the normalised query (NormalizeQuery): results whose name
	// equals it rank first after a code match, then names starting with it.
	Name string
	// Code is the query as a normalised credit code ("" when it is not
	// one): its subject ranks first.
	Code   string
	Kind   registry.Kind
	Region string // prefix of the region code
	Limit  int
	Offset int
}

// Store is what disclosure reads. Package sqlstore implements it.
type Store interface {
	// SearchSubjects returns the subjects matching every token of s,
	// ranked: exact credit code, exact name, name prefix, then by id;
	// filtered by kind and region; s.Limit rows after s.Offset.
	SearchSubjects(ctx context.Context, s SearchSpec) ([]*registry.Subject, error)
	GetSubject(ctx context.Context, id int64) (*registry.Subject, error)
	FindSubjectByCode(ctx context.Context, creditCode string) (*registry.Subject, error)
	ListRecords(ctx context.Context, f record.Filter) ([]*record.Record, error)
	// LedgerEntriesFor returns the ledger entries of one object, oldest
	// first.
	LedgerEntriesFor(ctx context.Context, kind string, objectID int64) ([]ledger.Entry, error)
	// RecomputeRecordEntry rebuilds the content hash of a record's ledger
	// entry from the stored data; an error or a different hash means the
	// stored data no longer matches the ledger.
	RecomputeRecordEntry(ctx context.Context, e ledger.Entry) ([32]byte, error)
	// Checkpoints returns up to limit signed checkpoints with size >
	// after, ascending.
	Checkpoints(ctx context.Context, after int64, limit int) ([]ledger.Checkpoint, error)
}

// Service answers the public.
type Service struct {
	Store Store
	Log   *ledger.Log // checkpoints and proofs; required for reports
	Clock clock.Clock
	// Secret keys the MAC in report ids (at least 16 bytes); required for
	// reports. app derives it from the PII master key.
	Secret []byte

	// Logistics grades logistics firms on their profile (M4); nil: no
	// grade block.
	Logistics LogisticsGrader
	// Trade (M5) adds points, level, ratings and agency evaluations to
	// profiles; nil leaves them out.
	Trade TradeSource
}

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return time.Now().UTC()
	}
	return s.Clock.Now().UTC()
}

// PublicView is what the public may see of a subject: the masked view
// without any phone number or a person's address, with the verification
// state as of now.
func PublicView(sub *registry.Subject, now time.Time) registry.SubjectView {
	c := *sub
	if c.Verify == registry.VerifyOK && !c.ReverifyDue.IsZero() && !now.Before(c.ReverifyDue) {
		c.Verify = registry.VerifyExpired
	}
	v := c.View()
	v.Phone = ""
	if c.Kind.Person() {
		v.Address = ""
	}
	return v
}

// SearchQuery is a public search.
type SearchQuery struct {
	Q      string        `json:"q"`
	Kind   registry.Kind `json:"kind,omitempty"`
	Region string        `json:"region,omitempty"`
	Limit  int           `json:"limit,omitempty"`  // default 20, at most 100
	Offset int           `json:"offset,omitempty"` // at most 1000
}

// SearchPage is one page of results.
type SearchPage struct {
	Q       string                 `json:"q"`
	ByCode  bool                   `json:"by_code"` // the query was a credit code
	Results []registry.SubjectView `json:"results"`
	Offset  int                    `json:"offset"`
	Limit   int                    `json:"limit"`
	More    bool                   `json:"more"` // another page follows
}

// Search limits.
const (
	DefaultSearchLimit = 20
	MaxSearchLimit     = 100
	MaxSearchOffset    = 1000
)

// LooksLikeCode reports whether a query is meant as a credit code: 18
// characters of the code alphabet once spaces and dashes are gone.
func LooksLikeCode(q string) bool {
	n := strings.ToUpper(strings.NewReplacer(" ", "", "-", "", "\u3000", "").Replace(normalize(q)))
	if len(n) != 18 {
		return false
	}
	for _, c := range n {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// Search finds subjects by name (all bigrams of the query must match) or by
// credit code. Bad input is an errs.Invalid naming the field.
func (s *Service) Search(ctx context.Context, q SearchQuery) (*SearchPage, error) {
	const op = "disclosure.Search"
	var l errs.List
	if q.Kind != "" && !q.Kind.Valid() {
		l.Add("kind", "未知的主体类型「%s」(unknown kind)", q.Kind)
	}
	if q.Region != "" {
		if len(q.Region) > 6 || strings.Trim(q.Region, "0123456789") != "" {
			l.Add("region", "地区代码应为 1 至 6 位数字，例如 1308 (region must be 1-6 digits)")
		}
	}
	if q.Limit < 0 || q.Limit > MaxSearchLimit {
		l.Add("limit", "每页条数应在 1 至 %d 之间 (limit out of range)", MaxSearchLimit)
	}
	if q.Offset < 0 || q.Offset > MaxSearchOffset {
		l.Add("offset", "偏移量应在 0 至 %d 之间，请缩小查询范围 (offset out of range)", MaxSearchOffset)
	}
	if q.Limit == 0 {
		q.Limit = DefaultSearchLimit
	}
	spec := SearchSpec{Kind: q.Kind, Region: q.Region, Limit: q.Limit + 1, Offset: q.Offset}
	page := &SearchPage{Q: strings.TrimSpace(q.Q), Offset: q.Offset, Limit: q.Limit, Results: []registry.SubjectView{}}
	if LooksLikeCode(q.Q) {
		r := code.ParseUSCC(q.Q)
		if !r.Valid {
			l.Add("q", "统一社会信用代码无效：%s (invalid credit code)", strings.Join(r.Errors, "；"))
		}
		spec.Code, page.ByCode = r.Normalized, true
		spec.Tokens = []string{strings.ToLower(r.Normalized)}
	} else {
		toks, err := QueryTokens(q.Q)
		if err != nil {
			l.Add("q", "%s", errs.MessageOf(err))
		}
		spec.Tokens, spec.Name = toks, NormalizeQuery(q.Q)
	}
	if err := l.Err(); err != nil {
		return nil, errs.Wrap(op, err)
	}
	subs, err := s.Store.SearchSubjects(ctx, spec)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	if len(subs) > q.Limit {
		subs, page.More = subs[:q.Limit], true
	}
	now := s.now()
	for _, sub := range subs {
		page.Results = append(page.Results, PublicView(sub, now))
	}
	return page, nil
}
