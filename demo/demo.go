// Package demo generates a deterministic demo city: Chengde's districts and
// counties, eight fictional e-commerce platforms, merchants (enterprises,
// farmers' cooperatives and 个体工商户), individual sellers, logistics firms,
// couriers and service organisations, all with valid credit codes or ID
// numbers, verification histories and shops. The same seed, size and clock
// give the same city.
//
// The generator writes straight to the store in batches (bypassing
// registry.Service for speed) and produces exactly what the service would:
// personal data sealed with the PII keys, persons' names masked, marks of
// the registry's format, verification state derived from the latest event,
// and audit entries (one summary entry per batch, object "demo:…").
//
// Each batch's credit records (commitments, licences, penalties and their
// withdrawals, objections and repairs; see records.go) go in through
// record.Service, so they are validated and appended to the ledger in the
// same transactions as any other record; Options.NoRecords leaves them out.
package demo

import (
	"context"
	"fmt"
	"io"
	"time"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/clock"
	"ecredit/errs"
	"ecredit/pii"
	"ecredit/record"
	"ecredit/registry"
	"ecredit/sqlstore"
)

// DefaultSubjects is the size of the demo city when none is given.
const DefaultSubjects = 5000

// DefaultBatch is how many subjects go into one transaction.
const DefaultBatch = 2000

// Options control a generation.
type Options struct {
	Seed     int64
	Subjects int       // total subjects, MinSubjects..MaxSubjects; 0 = DefaultSubjects
	Progress io.Writer // a progress line every second and a summary; nil = silent
	Clock    clock.Clock
	Batch    int // subjects per transaction; 0 = DefaultBatch
	// NoRecords leaves the credit records (commitments, licences,
	// penalties) out, and with them the orders and reviews.
	NoRecords bool
	// NoParcels skips the parcels and tracking events of the logistics
	// firms (logistics.go).
	NoParcels bool

	// NoTrade leaves the orders and reviews (trade, M5) out.
	NoTrade bool
}

// PlatformSubject is a demo platform as stored.
type PlatformSubject struct {
	ID int64
	Platform
	CreditCode string
}

// OrgSubject is a stored organisation of the demo (logistics firm, service
// organisation).
type OrgSubject struct {
	ID         int64
	Kind       registry.Kind
	Name       string
	CreditCode string
}

// Summary tells what a generation wrote.
type Summary struct {
	Seed          int64
	Counts        Counts
	Shops         int
	Verifications int
	Platforms     []PlatformSubject
	Logistics     []OrgSubject // up to the first ten
	Records       RecordCounts
	Trace         TraceCounts // traceability (M10)
	Elapsed       time.Duration
	// Parcels: the logistics firms' parcels and tracking (logistics.go).
	Parcels ParcelCounts

	Trade TradeCounts // orders and reviews (trade, M5)
}

// Rate is subjects per second.
func (s Summary) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Counts.Total()) / s.Elapsed.Seconds()
}

// Generate writes a demo city into an empty store. It refuses (Conflict)
// when the store already holds subjects.
func Generate(ctx context.Context, store *sqlstore.DB, keys *pii.Keys, o Options) (Summary, error) {
	const op = "demo.Generate"
	if o.Subjects == 0 {
		o.Subjects = DefaultSubjects
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	sum := Summary{Seed: o.Seed}
	n, err := store.CountSubjects(ctx)
	if err != nil {
		return sum, errs.Wrap(op, err)
	}
	if n > 0 {
		return sum, &errs.Error{Code: errs.Conflict, Op: op, Message: fmt.Sprintf(
			"数据库中已有 %d 个主体，演示数据只能载入空数据库 (the database already holds %d subjects; demo data loads only into an empty one)", n, n)}
	}
	g, err := newGenerator(o.Seed, o.Subjects, o.Clock.Now())
	if err != nil {
		return sum, &errs.Error{Code: errs.Invalid, Op: op, Field: "subjects", Message: err.Error()}
	}
	sum.Counts = g.counts
	actor := account.From(ctx)
	if actor.Role == account.RolePublic || actor.Role == "" {
		actor = account.System
	}
	start := time.Now()
	p := &progress{w: o.Progress, total: g.counts.Total(), start: start, last: start}
	platformIDs := make([]int64, len(platforms))
	rg := newRecordGen(o.Seed, g.now)
	svc := &record.Service{Store: store, Subjects: store, Keys: keys, Clock: o.Clock}
	recs := make([]Record, 0, o.Batch)
	subs := make([]*registry.Subject, 0, o.Batch)
	for batch := 1; !g.done(); batch++ {
		if err := ctx.Err(); err != nil {
			return sum, errs.Wrap(op, err)
		}
		recs, subs = recs[:0], subs[:0]
		for len(recs) < o.Batch && !g.done() {
			r := g.record()
			recs = append(recs, r)
			subs = append(subs, r.Subject(keys))
		}
		first, last := recs[0].Index+1, recs[len(recs)-1].Index+1
		lastSub := subs[len(subs)-1]
		ev := func(s *registry.Subject) *audit.Entry {
			if s != lastSub {
				return nil
			}
			return actor.Audit(audit.ActCreate, fmt.Sprintf("demo:seed=%d", o.Seed),
				fmt.Sprintf("演示数据第 %d 批：主体 %d–%d / %d", batch, first, last, g.counts.Total()))
		}
		if err := store.CreateSubjects(ctx, subs, ev); err != nil {
			return sum, errs.Wrap(op, err)
		}
		for i := range recs {
			r, s := &recs[i], subs[i]
			if r.Kind == registry.KindPlatform {
				platformIDs[r.Index] = s.ID
				sum.Platforms = append(sum.Platforms, PlatformSubject{ID: s.ID, Platform: platforms[r.Index], CreditCode: s.CreditCode})
			}
			if r.Kind == registry.KindLogistics && len(sum.Logistics) < 10 {
				sum.Logistics = append(sum.Logistics, OrgSubject{ID: s.ID, Kind: r.Kind, Name: s.Name, CreditCode: s.CreditCode})
			}
		}
		nv, ns, err := writeHistory(ctx, store, recs, subs, platformIDs)
		sum.Verifications += nv
		sum.Shops += ns
		if err != nil {
			return sum, errs.Wrap(op, err)
		}
		if !o.NoRecords {
			err := rg.writeRecords(ctx, svc, recs)
			sum.Records = rg.counts
			if err != nil {
				return sum, errs.Wrap(op, err)
			}
		}
		p.update(last)
	}
	// Orders and reviews over the whole city's shops (trade, M5).
	if !o.NoRecords && !o.NoTrade {
		var carriers []int64
		for _, l := range sum.Logistics {
			carriers = append(carriers, l.ID)
		}
		tc, err := writeTrade(ctx, store, o.Seed, g.now, g.counts.Total(), carriers, actor)
		sum.Trade = tc
		if err != nil {
			return sum, errs.Wrap(op, err)
		}
		// Third-party credit evaluations of merchants (evaluations.go).
		if sum.Trade.Evaluations, err = writeEvaluations(ctx, store, o.Seed, o.Clock); err != nil {
			return sum, errs.Wrap(op, err)
		}
	}
	// Logistics (M4): parcels and tracking events of the firms.
	if !o.NoParcels {
		if sum.Parcels, err = writeParcels(ctx, store, o.Seed, o.Subjects, g.now, o.Progress); err != nil {
			return sum, errs.Wrap(op, err)
		}
	}
	// Traceability (M10): products, batches, events and one recall, after
	// every subject, shop and record and the orders (whose busiest items
	// become the products).
	if !o.NoRecords {
		if sum.Trace, err = writeTrace(ctx, store, svc, o.Seed, o.Clock, o.Progress); err != nil {
			return sum, errs.Wrap(op, err)
		}
	}
	sum.Elapsed = time.Since(start)
	p.finish(sum)
	return sum, nil
}

// writeHistory stores the verification events and shops of a batch whose
// subjects have their ids.
func writeHistory(ctx context.Context, store *sqlstore.DB, recs []Record, subs []*registry.Subject, platformIDs []int64) (nv, ns int, err error) {
	var vs []*registry.Verification
	var shops []*registry.Shop
	for i := range recs {
		r, s := &recs[i], subs[i]
		for _, v := range r.Verifs {
			vs = append(vs, &registry.Verification{SubjectID: s.ID, Method: v.Method, Passed: v.Passed, VerifiedBy: v.By,
				At: v.At, ValidUntil: v.ValidUntil, Note: "演示数据"})
		}
		for j, sp := range r.Shops {
			st := registry.StatusActive
			if r.Status != registry.StatusActive {
				st = r.Status
			}
			at := r.CreatedAt.Add(time.Duration(j+1) * 7 * day)
			shops = append(shops, &registry.Shop{PlatformID: platformIDs[sp.Platform], OwnerID: s.ID, Name: sp.Name,
				URL: sp.URL(), Domain: sp.Domain(), Category: sp.Category, Status: st, PlatformShopID: sp.PlatformShopID(),
				CreatedAt: at, UpdatedAt: at})
		}
	}
	if err := addVerifications(ctx, store, vs); err != nil {
		return 0, 0, err
	}
	if err := createShops(ctx, store, shops); err != nil {
		return len(vs), 0, err
	}
	return len(vs), len(shops), nil
}

// progress prints at most one line a second.
type progress struct {
	w           io.Writer
	total       int
	start, last time.Time
	lastN       int
}

func (p *progress) update(n int) {
	if p.w == nil {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < time.Second && n < p.total {
		return
	}
	rate := float64(n-p.lastN) / now.Sub(p.last).Seconds()
	fmt.Fprintf(p.w, "已生成 %d/%d 主体 (%d%%)，每秒 %.0f\n", n, p.total, n*100/p.total, rate)
	p.last, p.lastN = now, n
}

func (p *progress) finish(s Summary) {
	if p.w == nil {
		return
	}
	fmt.Fprintf(p.w, "演示城市已生成：%d 个主体（平台 %d、经营者 %d、个人卖家 %d、物流企业 %d、快递员 %d、服务机构 %d），%d 个店铺，%d 条核验记录；用时 %.1f 秒，每秒 %.0f 主体\n",
		s.Counts.Total(), s.Counts.Platform, s.Counts.Merchant, s.Counts.Seller, s.Counts.Logistics, s.Counts.Courier, s.Counts.Service,
		s.Shops, s.Verifications, s.Elapsed.Seconds(), s.Rate())
	if r := s.Records; r.Total() > 0 {
		fmt.Fprintf(p.w, "信用记录 %d 条：信用承诺 %d、行政许可 %d、行政处罚 %d（撤回 %d、异议 %d 其中已答复 %d、信用修复申请 %d 其中准予修复 %d），均已记入账本\n",
			r.Total(), r.Commitment, r.Licence, r.Penalty, r.Withdrawn, r.Objections, r.Answered, r.Repairs, r.Repaired)
	}
	if t := s.Trade; t.Orders > 0 {
		fmt.Fprintf(p.w, "订单 %d 笔，买家评价 %d 条（追评 %d、折叠 %d），卖家评价买家 %d 条，第三方信用评价 %d 条\n", t.Orders, t.Reviews, t.Followups,
			t.Folded, t.BuyerRatings, t.Evaluations)
		if t.BatchReviews > 0 {
			fmt.Fprintf(p.w, "%s 今日批量报送评价 %d 条（POST /api/v1/reviews/batch，见控制台审计日志）\n", t.BatchPlatformName, t.BatchReviews)
		}
	}
}
