package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"ecredit/account"
	"ecredit/app"
	"ecredit/clock"
	"ecredit/demo"
	"ecredit/record"
)

// subject is an organisation of the city as the load phase needs it.
type subject struct {
	ID                    int64
	Name, Code, Form, Rep string
}

// City is what the benchmark runs against.
type City struct {
	Subjects int64     // all subjects in the store
	Orgs     []subject // subjects with a credit code, by id
	Records  int64     // credit records in the store
	Built    bool      // generated (or completed) by this run
	// Generation figures when Built.
	SubjectTime, RecordTime time.Duration
	SubjectsMade            int
	RecordsMade             int64
}

// The three sources of the generated records. Each ingests as a department
// account of that name, as a provincial exchange would.
const (
	srcCommerce  = "承德市商务局"
	srcApprovals = "承德市行政审批局"
	srcMarket    = "承德市市场监督管理局"
)

// buildCity generates the city into an empty store, or reuses the one there
// (never regenerating subjects); records missing from an interrupted build
// (fewer than subjects × perSubject) are completed idempotently.
func buildCity(ctx context.Context, a *app.App, seed int64, subjects, perSubject int, progress io.Writer) (*City, error) {
	c := &City{}
	n, err := a.Store.CountSubjects(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		fmt.Fprintf(progress, "空数据库：生成 %d 个主体 (empty store: generating %d subjects)\n", subjects, subjects)
		start := time.Now()
		sum, err := demo.Generate(ctx, a.Store, a.Keys, demo.Options{Seed: seed, Subjects: subjects, NoRecords: true, Progress: progress})
		if err != nil {
			return nil, err
		}
		c.Built, c.SubjectTime, c.SubjectsMade = true, time.Since(start), sum.Counts.Total()
		n = int64(sum.Counts.Total())
	} else {
		fmt.Fprintf(progress, "复用已有城市：%d 个主体，不再重新生成 (reusing the store's %d subjects; not regenerating)\n", n, n)
	}
	c.Subjects = n
	if c.Orgs, err = loadOrgs(ctx, a); err != nil {
		return nil, err
	}
	if len(c.Orgs) == 0 {
		return nil, fmt.Errorf("数据库中没有带统一社会信用代码的主体 (no subject with a credit code in the store)")
	}
	if c.Records, err = countRecords(ctx, a); err != nil {
		return nil, err
	}
	want := n * int64(perSubject)
	if c.Records < want {
		// Records are numbered 0..want-1 and ingested in chunks of
		// record.MaxBatch; a chunk ingested before is "unchanged" when
		// ingested again, so restarting at the chunk of the first missing
		// record completes an interrupted build exactly.
		from := c.Records / record.MaxBatch * record.MaxBatch
		if c.Records > 0 {
			fmt.Fprintf(progress, "补齐信用记录：已有 %d 条，目标 %d 条 (completing records: %d of %d stored)\n", c.Records, want, c.Records, want)
		}
		start := time.Now()
		made, err := ingestRecords(ctx, a, c.Orgs, seed, from, want, progress)
		c.RecordTime, c.RecordsMade, c.Built = time.Since(start), made, true
		if err != nil {
			return nil, err
		}
		if c.Records, err = countRecords(ctx, a); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func loadOrgs(ctx context.Context, a *app.App) ([]subject, error) {
	rows, err := a.Store.ReaderDB().QueryContext(ctx,
		`SELECT id, name, credit_code, form, legal_rep FROM subjects WHERE credit_code IS NOT NULL AND credit_code <> '' AND status = 'active' ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []subject
	for rows.Next() {
		var s subject
		if err := rows.Scan(&s.ID, &s.Name, &s.Code, &s.Form, &s.Rep); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func countRecords(ctx context.Context, a *app.App) (int64, error) {
	var n int64
	err := a.Store.ReaderDB().QueryRowContext(ctx, `SELECT COUNT(*) FROM records`).Scan(&n)
	return n, err
}

// planned is one generated record and the source that sends it.
type planned struct {
	source string
	in     record.Input
}

// ingestRecords ingests records from..want-1 through record.Service
// (IngestBatch, record.MaxBatch inputs a chunk, split by source) and
// returns how many were created.
func ingestRecords(ctx context.Context, a *app.App, orgs []subject, seed, from, want int64, progress io.Writer) (int64, error) {
	now := time.Now().In(clock.Shanghai)
	start, last := time.Now(), time.Now()
	var created, lastDone int64
	for lo := from; lo < want; lo += record.MaxBatch {
		if err := ctx.Err(); err != nil {
			return created, err
		}
		hi := min(lo+record.MaxBatch, want)
		bySource := map[string][]record.Input{}
		for i := lo; i < hi; i++ {
			p := plan(orgs, seed, i, now)
			bySource[p.source] = append(bySource[p.source], p.in)
		}
		for _, src := range []string{srcCommerce, srcApprovals, srcMarket} {
			ins := bySource[src]
			if len(ins) == 0 {
				continue
			}
			actx := account.With(ctx, account.Actor{Name: src, Role: account.RoleDepartment, Department: src, Via: "system"})
			res, err := a.Records.IngestBatch(actx, ins)
			if err != nil {
				return created, fmt.Errorf("ingest %s: %w", src, err)
			}
			for j, r := range res {
				switch {
				case r.Err != nil:
					return created, fmt.Errorf("record %s (line %d of chunk %d): %w", ins[j].Fields["doc_no"]+ins[j].Fields["commitment_no"], j+1, lo/record.MaxBatch, r.Err)
				case r.Status == record.ResultCreated:
					created++
				}
			}
		}
		if t := time.Now(); t.Sub(last) >= time.Second || hi == want {
			fmt.Fprintf(progress, "已写入信用记录 %d/%d (%d%%)，每秒 %.0f 条\n", hi, want, hi*100/want, float64(hi-lo+(lo-lastDone))/t.Sub(last).Seconds())
			last, lastDone = t, hi
		}
	}
	el := time.Since(start)
	fmt.Fprintf(progress, "信用记录写入完成：新增 %d 条，用时 %.1f 秒，每秒 %.0f 条\n", created, el.Seconds(), float64(created)/el.Seconds())
	return created, nil
}

var (
	penaltyKinds = []struct{ typ, facts, basis, cat string }{
		{"引人误解的商业宣传", "当事人在网店商品详情页宣称其商品“纯天然”“疗效显著”，无事实依据，构成引人误解的商业宣传。", "《中华人民共和国反不正当竞争法》第二十条第一款", "fine"},
		{"未在首页显著位置公示营业执照信息", "当事人作为电子商务经营者，未在其网店首页显著位置持续公示营业执照信息。", "《中华人民共和国电子商务法》第七十六条第一款第（一）项", "warning"},
		{"未明码标价", "当事人在网店销售商品未按规定明码标价，经责令改正。", "《明码标价和禁止价格欺诈规定》第二十一条、《中华人民共和国价格法》第四十二条", "warning;fine"},
		{"删除消费者评价", "当事人擅自删除消费者对其商品的差评共计 17 条。", "《中华人民共和国电子商务法》第八十一条第二款", "fine"},
		{"销售超过保质期的食品", "当事人在其网店销售的食品已超过标签标示的保质期，货值金额较小。", "《中华人民共和国食品安全法》第一百二十四条第一款第（五）项", "warning;fine"},
	}
	licenceKinds = []struct{ cert, no, content string }{
		{"食品经营许可证", "JY1130802%08d", "经营项目：预包装食品（含冷藏冷冻食品）销售，散装食品（不含冷藏冷冻食品）销售；网络经营：是"},
		{"农药经营许可证", "农药经许（冀）130802%08d", "经营范围：农药（不含限制使用农药）；经营方式：零售（含网络销售）"},
		{"第二类医疗器械经营备案凭证", "冀承药监械经营备%08d号", "经营范围：第二类医疗器械（不含体外诊断试剂）；经营方式：零售（含网络销售）"},
	}
)

// plan returns record i of the city: a commitment, licence or penalty (in
// turn) of organisation i mod len(orgs), decided on a day of the last three
// years. It depends only on the seed, i and the organisations, so a build
// can be resumed.
func plan(orgs []subject, seed, i int64, now time.Time) planned {
	rng := rand.New(rand.NewPCG(uint64(seed)^0x7363616c65, uint64(i)))
	s := orgs[i%int64(len(orgs))]
	d := now.AddDate(0, 0, -(2 + rng.IntN(3*365-2)))
	ymd := d.Format("2006-01-02")
	category := "legal"
	if s.Form == "individual_business" {
		category = "individual"
	}
	rep := s.Rep
	if rep == "" {
		rep = "张伟"
	}
	f := map[string]string{"subject_name": s.Name, "credit_code": s.Code}
	switch i % 3 {
	case 0:
		f["commitment_no"] = fmt.Sprintf("承商务诺〔%d〕%08d号", d.Year(), i)
		f["commitment_type"] = "industry"
		f["matter"] = "电子商务经营者信用承诺"
		f["content"] = "本单位承诺：遵守《中华人民共和国电子商务法》等法律法规，依法亮照经营，如实发布商品和服务信息，不销售假冒伪劣商品，不进行虚假宣传和刷单炒信，保护消费者个人信息，自觉接受政府部门、行业组织和社会公众监督。"
		f["commitment_date"] = ymd
		f["term_until"] = d.AddDate(3, 0, -1).Format("2006-01-02")
		f["recipient"] = srcCommerce
		f["fulfilment"] = "performing"
		return planned{srcCommerce, record.Input{Type: record.TypeCommitment, Fields: f}}
	case 1:
		k := licenceKinds[rng.IntN(len(licenceKinds))]
		f["subject_category"] = category
		f["legal_rep"] = rep
		f["doc_name"] = k.cert + "准予许可决定书"
		f["doc_no"] = fmt.Sprintf("承审批许〔%d〕%08d号", d.Year(), i)
		f["licence_category"] = "general"
		f["certificate_name"] = k.cert
		f["licence_no"] = fmt.Sprintf(k.no, i)
		f["content"] = k.content
		f["decision_date"] = ymd
		f["valid_from"] = ymd
		f["valid_until"] = d.AddDate(5, 0, -1).Format("2006-01-02")
		f["authority"] = srcApprovals
		f["source_unit"] = srcApprovals
		return planned{srcApprovals, record.Input{Type: record.TypeLicence, Fields: f}}
	default:
		k := penaltyKinds[rng.IntN(len(penaltyKinds))]
		f["subject_category"] = category
		f["legal_rep"] = rep
		f["doc_no"] = fmt.Sprintf("承市监罚〔%d〕%08d号", d.Year(), i)
		f["violation_type"] = k.typ
		f["facts"] = k.facts
		f["basis"] = k.basis
		f["category"] = k.cat
		f["decision_date"] = ymd
		f["authority"] = srcMarket
		f["source_unit"] = srcMarket
		content := "给予警告的行政处罚。"
		if k.cat != "warning" {
			fine := 0.5 + float64(rng.IntN(1000))/100
			f["fine"] = fmt.Sprintf("%.2f", fine)
			content = fmt.Sprintf("给予罚款人民币 %.2f 万元的行政处罚。", fine)
		}
		f["content"] = content
		return planned{srcMarket, record.Input{Type: record.TypePenalty, Fields: f}}
	}
}
