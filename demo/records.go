package demo

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"ecredit/account"
	"ecredit/clock"
	"ecredit/errs"
	"ecredit/record"
	"ecredit/registry"
)

// The demo city's credit records go in through record.Service (IngestBatch
// and the life-cycle methods), so they are validated, tied to their
// subjects, given their publicity windows and appended to the ledger
// exactly as the API or a file import would store them:
//
//   - credit commitments (信用承诺) for every platform and about 85 % of
//     merchants, received by 承德市商务局;
//   - administrative licences (行政许可) for merchants selling food,
//     agricultural goods, farm inputs or medical devices, from the county's
//     行政审批局 (食品经营许可证 JY…, 农药经营许可证, 第二类医疗器械经营备案);
//   - administrative penalties (行政处罚) for about 7 % of merchants and a
//     quarter of the platforms, from the city's or the county's market
//     regulator, decided over the last three years (some still public,
//     others expired);
//   - a few penalties withdrawn (revoked on review), objected to
//     (answered or pending) and credit-repaired;
//   - for logistics firms, the province's 快递业务经营许可证, a commitment
//     to the city's postal bureau and for about a quarter a penalty of it
//     (planLogistics), which the firms' grades count as violations.
//
// Everything follows from the seed and the subject's index, through a
// stream of its own, so adding records does not change the subjects.

// RecordCounts tells what credit records a generation wrote.
type RecordCounts struct {
	Commitment, Licence, Penalty int
	Withdrawn                    int // penalties withdrawn
	Objections                   int // objections filed (Answered of them answered)
	Answered                     int
	Repairs                      int // repair applications (Repaired of them approved)
	Repaired                     int
}

// Total is the number of records.
func (c RecordCounts) Total() int { return c.Commitment + c.Licence + c.Penalty }

// recordSeedSalt separates the record stream from the subject streams.
const recordSeedSalt = 0x7265636f7264 // "record"

// commerceBureau receives the e-commerce credit commitments.
const commerceBureau = "承德市商务局"

// cityMarket is the city's market regulator.
const cityMarket = "承德市市场监督管理局"

// countyAbbr is the county's abbreviation in document numbers (承双市监罚…).
var countyAbbr = map[string]string{
	"130802": "双", "130803": "双滦", "130804": "鹰", "130821": "承县", "130822": "兴",
	"130824": "滦平", "130825": "隆", "130826": "丰", "130827": "宽", "130828": "围", "130881": "平",
}

// countyOrg names a county-level authority: 承德市双桥区市场监督管理局,
// 兴隆县行政审批局.
func countyOrg(region, org string) string {
	p := regionPrefix[region]
	if p == "" {
		p = "承德市"
	}
	return p + org
}

// violation is a kind of penalised conduct with its legal basis and the
// usual penalty.
type violation struct {
	Type, Facts, Basis string
	Category           string   // category values joined by ";"
	FineMin, FineMax   float64  // 万元; 0 = no fine
	Platform           bool     // conduct of a platform operator
	Categories         []string // shop categories the conduct fits; none: any
}

var violations = []violation{
	{Type: "销售超过保质期的食品", Facts: "当事人在其网店销售的%s已超过标签标示的保质期，货值金额较小。", Basis: "《中华人民共和国食品安全法》第一百二十四条第一款第（五）项",
		Category: "warning;fine", FineMin: 0.5, FineMax: 5, Categories: []string{"food", "agricultural"}},
	{Type: "引人误解的商业宣传", Facts: "当事人在网店商品详情页宣称其%s“纯天然”“疗效显著”，无事实依据，构成引人误解的商业宣传。", Basis: "《中华人民共和国反不正当竞争法》第二十条第一款",
		Category: "fine", FineMin: 2, FineMax: 20},
	{Type: "未在首页显著位置公示营业执照信息", Facts: "当事人作为电子商务经营者，未在其网店首页显著位置持续公示营业执照信息。", Basis: "《中华人民共和国电子商务法》第七十六条第一款第（一）项",
		Category: "warning", FineMin: 0},
	{Type: "未明码标价", Facts: "当事人在网店销售%s未按规定明码标价，经责令改正。", Basis: "《明码标价和禁止价格欺诈规定》第二十一条、《中华人民共和国价格法》第四十二条",
		Category: "warning;fine", FineMin: 0.1, FineMax: 0.5},
	{Type: "销售不合格农资产品", Facts: "当事人销售的%s经抽样检验不合格，违法所得已没收。", Basis: "《中华人民共和国产品质量法》第四十九条",
		Category: "fine;confiscate_income", FineMin: 1, FineMax: 8, Categories: []string{"agri_inputs"}},
	{Type: "删除消费者评价", Facts: "当事人擅自删除消费者对其%s的差评共计 17 条。", Basis: "《中华人民共和国电子商务法》第八十一条第二款",
		Category: "fine", FineMin: 2, FineMax: 10},
	{Type: "销售侵犯注册商标专用权的商品", Facts: "当事人在网店销售侵犯他人注册商标专用权的%s，货值金额 1.2 万元。", Basis: "《中华人民共和国商标法》第六十条第二款",
		Category: "confiscate_property;fine", FineMin: 1, FineMax: 6},
	{Type: "未取得食品经营许可从事食品经营", Facts: "当事人未取得食品经营许可，通过网络销售自制%s。", Basis: "《中华人民共和国食品安全法》第一百二十二条第一款",
		Category: "confiscate_income;fine;suspend_business", FineMin: 5, FineMax: 10, Categories: []string{"food"}},
	{Type: "未对平台内经营者身份进行核验登记", Facts: "当事人作为电子商务平台经营者，未对平台内 23 家经营者的身份、地址等信息进行核验、登记，经责令限期改正逾期未改正。", Basis: "《中华人民共和国电子商务法》第八十条第一款第（一）项",
		Category: "fine", FineMin: 2, FineMax: 10, Platform: true},
	{Type: "未履行平台内商品信息审查义务", Facts: "当事人对平台内经营者发布的违法商品信息未采取必要处置措施。", Basis: "《网络交易监督管理办法》第五十条",
		Category: "warning;fine", FineMin: 1, FineMax: 3, Platform: true},
}

// recordGen plans the credit records of the city's subjects.
type recordGen struct {
	seed   uint64
	now    time.Time
	seqs   map[string]int // document-number sequence per authority and year
	counts RecordCounts
}

func newRecordGen(seed int64, now time.Time) *recordGen {
	return &recordGen{seed: uint64(seed) ^ recordSeedSalt, now: now, seqs: map[string]int{}}
}

// next returns the next document number sequence of an authority's year.
func (rg *recordGen) next(key string, year int) int {
	k := fmt.Sprintf("%s/%d", key, year)
	rg.seqs[k]++
	return rg.seqs[k]
}

// lifecycle is what happens to a record after it is stored.
type lifecycle int

const (
	lcNone lifecycle = iota
	lcWithdraw
	lcObjectionPending
	lcObjectionAnswered
	lcRepairApplied
	lcRepairApproved
)

// plannedRecord is one record to ingest under a source.
type plannedRecord struct {
	source string
	in     record.Input
	after  lifecycle
}

func (rg *recordGen) date(daysAgoMin, daysAgoMax int, r *rand.Rand) time.Time {
	return rg.now.Add(-time.Duration(daysAgoMin+r.IntN(daysAgoMax-daysAgoMin+1)) * day).In(clock.Shanghai)
}

func ymd(t time.Time) string { return t.Format("2006-01-02") }

// category of the subject in 双公示: 法人 or 个体工商户.
func subjectCategory(r *Record) string {
	if r.Form == "individual_business" {
		return "individual"
	}
	return "legal"
}

// plan returns the records of one subject.
func (rg *recordGen) plan(r *Record) []plannedRecord {
	if r.CreditCode != "" && r.Kind == registry.KindLogistics {
		return rg.planLogistics(r)
	}
	if r.IDNumber != "" && r.Kind == registry.KindCourier {
		return rg.planCourier(r)
	}
	if r.CreditCode == "" || (r.Kind != registry.KindPlatform && r.Kind != registry.KindMerchant) {
		return nil
	}
	rng := rand.New(rand.NewPCG(rg.seed, uint64(r.Index)))
	var out []plannedRecord
	goods := ""
	cats := map[string]bool{}
	for _, sp := range r.Shops {
		cats[sp.Category] = true
	}
	if len(r.Shops) > 0 {
		goods = goodsOf(r.Shops[0].Name)
	}
	if goods == "" {
		goods = "商品"
	}
	with := func(extra map[string]string) map[string]string { return orgFields(r, extra) }

	// Commitment.
	if r.Kind == registry.KindPlatform || rng.IntN(100) < 85 {
		d := rg.date(20, 700, rng)
		ctype, matter, content := "industry", "电子商务经营者信用承诺", "本单位承诺：遵守《中华人民共和国电子商务法》等法律法规，依法亮照经营，如实发布商品和服务信息，不销售假冒伪劣商品，不进行虚假宣传和刷单炒信，保护消费者个人信息，自觉接受政府部门、行业组织和社会公众监督；如有违反，愿意承担相应法律责任并依法接受失信惩戒。"
		if r.Kind == registry.KindPlatform {
			ctype, matter = "disclosure", "电子商务平台经营者信用承诺"
			content = "本平台承诺：依法对平台内经营者进行身份核验登记并定期核验更新，建立健全信用评价、消费者权益保护和知识产权保护制度，及时处置平台内违法违规信息，依法报送有关信息，配合市场监管等部门开展监督检查。"
		} else if cats["food"] || cats["agricultural"] {
			matter = "食品安全信用承诺"
		}
		year := d.Year()
		no := fmt.Sprintf("承商务诺〔%d〕%05d号", year, rg.next("commitment", year))
		out = append(out, plannedRecord{source: commerceBureau, in: record.Input{Type: record.TypeCommitment, Fields: with(map[string]string{
			"commitment_no": no, "commitment_type": ctype, "matter": matter, "content": content,
			"commitment_date": ymd(d), "term_until": ymd(d.AddDate(3, 0, -1)), "recipient": commerceBureau, "fulfilment": "performing",
		})}})
		rg.counts.Commitment++
	}

	// Licences for merchants in licensed trades.
	if r.Kind == registry.KindMerchant {
		approvals := countyOrg(r.Region, "行政审批局")
		abbr := countyAbbr[r.Region]
		lic := func(kind, certificate, licenceNo, content string, years int) {
			d := rg.date(30, 1500, rng)
			year := d.Year()
			doc := fmt.Sprintf("承%s审批%s〔%d〕%04d号", abbr, kind, year, rg.next(approvals+kind, year))
			out = append(out, plannedRecord{source: approvals, in: record.Input{Type: record.TypeLicence, Fields: with(map[string]string{
				"subject_category": subjectCategory(r), "legal_rep": r.LegalRep, "doc_name": certificate + "准予许可决定书",
				"doc_no": doc, "licence_category": "general", "certificate_name": certificate, "licence_no": licenceNo,
				"content": content, "decision_date": ymd(d), "valid_from": ymd(d), "valid_until": ymd(d.AddDate(years, 0, -1)),
				"authority": approvals, "source_unit": approvals,
			})}})
			rg.counts.Licence++
		}
		if (cats["food"] || cats["agricultural"]) && rng.IntN(100) < 80 {
			seq := rg.next("JY"+r.Region, 0)
			lic("食许", "食品经营许可证", fmt.Sprintf("JY1%s%06d%d", r.Region, seq, rng.IntN(10)),
				"经营项目：预包装食品（含冷藏冷冻食品）销售，散装食品（不含冷藏冷冻食品）销售；网络经营：是", 5)
		}
		if cats["agri_inputs"] && rng.IntN(100) < 85 {
			seq := rg.next("NY"+r.Region, 0)
			lic("农", "农药经营许可证", fmt.Sprintf("农药经许（冀）%s%04d%04d", r.Region, 2020+rng.IntN(6), seq),
				"经营范围：农药（不含限制使用农药）；经营方式：零售（含网络销售）", 5)
		}
		if cats["medical_devices"] && rng.IntN(100) < 85 {
			seq := rg.next("YX"+r.Region, 0)
			lic("械", "第二类医疗器械经营备案凭证", fmt.Sprintf("冀承药监械经营备%d%04d号", 2020+rng.IntN(6), seq),
				"经营范围：第二类医疗器械（不含体外诊断试剂）；经营方式：零售（含网络销售）", 20)
		}
	}

	// Penalties.
	chance := 7
	if r.Kind == registry.KindPlatform {
		chance = 25
	}
	n := 0
	if rng.IntN(100) < chance {
		n = 1
		if rng.IntN(8) == 0 {
			n = 2
		}
	}
	for i := 0; i < n; i++ {
		v := rg.violationFor(r, cats, rng)
		d := rg.date(5, 1095, rng)
		authority, abbr := cityMarket, "市"
		if r.Kind == registry.KindMerchant && rng.IntN(3) != 0 {
			authority = countyOrg(r.Region, "市场监督管理局")
			abbr = countyAbbr[r.Region] + "市"
		}
		year := d.Year()
		doc := fmt.Sprintf("承%s监罚〔%d〕%d号", abbr, year, rg.next(authority, year))
		fields := with(map[string]string{
			"subject_category": subjectCategory(r), "legal_rep": r.LegalRep, "doc_no": doc,
			"violation_type": v.Type, "facts": strings.ReplaceAll(v.Facts, "%s", goods), "basis": v.Basis,
			"category": v.Category, "decision_date": ymd(d), "authority": authority, "source_unit": authority,
		})
		content := "给予" + categoryText(v.Category)
		if v.FineMax > 0 {
			fine := v.FineMin + float64(rng.IntN(int((v.FineMax-v.FineMin)*100)+1))/100
			fields["fine"] = fmt.Sprintf("%.2f", fine)
			content += fmt.Sprintf("，罚款人民币 %.2f 万元", fine)
		}
		if strings.Contains(v.Category, "confiscate_income") {
			c := float64(10+rng.IntN(500)) / 100
			fields["confiscated"] = fmt.Sprintf("%.2f", c)
			content += fmt.Sprintf("，没收违法所得 %.2f 万元", c)
		}
		fields["content"] = content + "的行政处罚。"
		after := lcNone
		switch x := rng.IntN(100); {
		case x < 4:
			after = lcWithdraw
		case x < 7:
			after = lcObjectionPending
		case x < 11:
			after = lcObjectionAnswered
		case x < 15:
			after = lcRepairApplied
		case x < 22:
			after = lcRepairApproved
		}
		out = append(out, plannedRecord{source: authority, in: record.Input{Type: record.TypePenalty, Fields: fields}, after: after})
		rg.counts.Penalty++
	}
	return out
}

// orgFields are the fields of a record of the organisation r: its name
// and credit code, then extra.
func orgFields(r *Record, extra map[string]string) map[string]string {
	m := map[string]string{"subject_name": r.Name, "credit_code": r.CreditCode}
	maps.Copy(m, extra)
	return m
}

// Logistics firms answer to the postal administration (邮政管理局): the
// province licenses express delivery, the city's bureau receives their
// commitments and penalises them.
const (
	provincePost = "河北省邮政管理局"
	cityPost     = "承德市邮政管理局"
)

// postViolations are penalised conduct of express delivery firms.
var postViolations = []violation{
	{Type: "未执行收件验视制度", Facts: "当事人所属营业网点收寄快件时未当面验视内件，收寄内件不明的快件 3 件，经责令改正。",
		Basis: "《中华人民共和国邮政法》第七十五条", Category: "suspend_business"},
	{Type: "未对寄件人身份进行查验", Facts: "当事人所属营业网点收寄快件时未查验寄件人身份、未登记身份信息（未实名收寄），共计 12 件。",
		Basis: "《中华人民共和国反恐怖主义法》第八十五条第（一）项", Category: "fine", FineMin: 10, FineMax: 12},
}

// planLogistics returns the records of a logistics firm: its express
// delivery licence, most firms' commitment, and for every fourth firm a
// penalty of the city's postal bureau, many of them recent enough to count
// among the violations of the firm's grading window (logistics metrics).
func (rg *recordGen) planLogistics(r *Record) []plannedRecord {
	rng := rand.New(rand.NewPCG(rg.seed, uint64(r.Index)))
	with := func(extra map[string]string) map[string]string { return orgFields(r, extra) }
	var out []plannedRecord
	d := rg.date(60, 1500, rng)
	year := d.Year()
	seq := rg.next(provincePost, year)
	out = append(out, plannedRecord{source: provincePost, in: record.Input{Type: record.TypeLicence, Fields: with(map[string]string{
		"subject_category": "legal", "legal_rep": r.LegalRep, "doc_name": "快递业务经营许可决定书",
		"doc_no": fmt.Sprintf("冀邮管许〔%d〕%04d号", year, seq), "licence_category": "general", "certificate_name": "快递业务经营许可证",
		"licence_no": fmt.Sprintf("冀%d%04d", year, seq), "content": "经营范围：国内快递（省内异地、跨省）；经营地域：河北省承德市",
		"decision_date": ymd(d), "valid_from": ymd(d), "valid_until": ymd(d.AddDate(5, 0, -1)),
		"authority": provincePost, "source_unit": provincePost,
	})}})
	rg.counts.Licence++
	if rng.IntN(100) < 70 {
		d := rg.date(20, 700, rng)
		year := d.Year()
		out = append(out, plannedRecord{source: cityPost, in: record.Input{Type: record.TypeCommitment, Fields: with(map[string]string{
			"commitment_no": fmt.Sprintf("承邮诺〔%d〕%04d号", year, rg.next(cityPost+"诺", year)), "commitment_type": "industry",
			"matter":          "寄递企业安全生产和服务质量信用承诺",
			"content":         "本企业承诺：严格执行收寄验视、实名收寄和过机安检制度，不收寄禁寄物品；按承诺时限投递，不擅自将快件投放智能快件箱或快递服务站而不告知收件人；妥善处理用户投诉和快件延误、丢失、损毁赔偿；保护用户个人信息，自觉接受邮政管理部门和社会监督。",
			"commitment_date": ymd(d), "term_until": ymd(d.AddDate(3, 0, -1)), "recipient": cityPost, "fulfilment": "performing",
		})}})
		rg.counts.Commitment++
	}
	if rg.next("logistics firms", 0)%4 == 1 { // every fourth firm, the first included
		v := postViolations[rng.IntN(len(postViolations))]
		d := rg.date(3, 200, rng)
		year := d.Year()
		fields := with(map[string]string{
			"subject_category": "legal", "legal_rep": r.LegalRep, "doc_no": fmt.Sprintf("承邮管罚〔%d〕%d号", year, rg.next(cityPost, year)),
			"violation_type": v.Type, "facts": v.Facts, "basis": v.Basis, "category": v.Category,
			"decision_date": ymd(d), "authority": cityPost, "source_unit": cityPost,
		})
		content := "给予" + categoryText(v.Category)
		if v.Category == "suspend_business" {
			content = "责令停业整顿 7 日"
		}
		if v.FineMax > 0 {
			fine := v.FineMin + float64(rng.IntN(int((v.FineMax-v.FineMin)*100)+1))/100
			fields["fine"] = fmt.Sprintf("%.2f", fine)
			content += fmt.Sprintf("，罚款人民币 %.2f 万元", fine)
		}
		fields["content"] = content + "的行政处罚。"
		out = append(out, plannedRecord{source: cityPost, in: record.Input{Type: record.TypePenalty, Fields: fields}})
		rg.counts.Penalty++
	}
	return out
}

// planCourier gives every 23rd registered courier a recent penalty of
// the police for opening a parcel: a natural person's record, named by its
// ID number (kept sealed, shown masked), which the courier's grade in its
// firm's report counts as a violation.
func (rg *recordGen) planCourier(r *Record) []plannedRecord {
	if rg.next("couriers", 0)%23 != 3 { // 23: prime, so not all of one firm (firms take every len(firms)-th courier)
		return nil
	}
	rng := rand.New(rand.NewPCG(rg.seed, uint64(r.Index)))
	d := rg.date(5, 80, rng)
	authority := countyOrg(r.Region, "公安局")
	if strings.HasSuffix(authority, "区公安局") { // 承德市公安局双桥分局, …鹰手营子矿区分局
		district := strings.TrimPrefix(strings.TrimSuffix(authority, "公安局"), "承德市")
		if utf8.RuneCountInString(district) == 3 {
			district = strings.TrimSuffix(district, "区")
		}
		authority = "承德市公安局" + district + "分局"
	}
	year := d.Year()
	doc := fmt.Sprintf("承%s公（治）行罚决字〔%d〕%d号", countyAbbr[r.Region], year, rg.next(authority, year))
	rg.counts.Penalty++
	return []plannedRecord{{source: authority, in: record.Input{Type: record.TypePenalty, Fields: map[string]string{
		"subject_category": "person", "subject_name": r.Name, "id_type": "01", "id_number": r.IDNumber, "doc_no": doc,
		"violation_type": "私自开拆他人快件", "facts": "当事人在派送快件过程中私自开拆他人快件 1 件，尚不构成犯罪。",
		"basis": "《中华人民共和国邮政法》第七十一条、《中华人民共和国治安管理处罚法》", "category": "warning",
		"content": "给予警告的行政处罚。", "decision_date": ymd(d), "authority": authority, "source_unit": authority,
	}}}}
}

func (rg *recordGen) violationFor(r *Record, cats map[string]bool, rng *rand.Rand) violation {
	var fit []violation
	for _, v := range violations {
		if v.Platform != (r.Kind == registry.KindPlatform) {
			continue
		}
		ok := len(v.Categories) == 0
		for _, c := range v.Categories {
			ok = ok || cats[c]
		}
		if ok {
			fit = append(fit, v)
		}
	}
	return fit[rng.IntN(len(fit))]
}

// categoryText is the Chinese of a penalty's categories: 警告、罚款.
func categoryText(cats string) string {
	labels := map[string]string{"warning": "警告", "fine": "罚款", "confiscate_income": "没收违法所得",
		"confiscate_property": "没收非法财物", "suspend_business": "责令停产停业"}
	var out []string
	for _, c := range strings.Split(cats, ";") {
		out = append(out, labels[c])
	}
	return strings.Join(out, "、")
}

// goodsOf finds the goods in a shop name (the product list's words).
func goodsOf(shop string) string {
	for _, p := range products {
		if strings.Contains(shop, p.Goods) {
			return p.Goods
		}
	}
	return ""
}

// writeRecords plans and ingests the records of a batch of stored
// subjects, then applies the planned life-cycle events.
func (rg *recordGen) writeRecords(ctx context.Context, svc *record.Service, recs []Record) error {
	bySource := map[string][]plannedRecord{}
	for i := range recs {
		for _, p := range rg.plan(&recs[i]) {
			bySource[p.source] = append(bySource[p.source], p)
		}
	}
	sources := make([]string, 0, len(bySource))
	for s := range bySource {
		sources = append(sources, s)
	}
	sort.Strings(sources)
	for _, src := range sources {
		ps := bySource[src]
		actor := account.Actor{Name: src, Role: account.RoleDepartment, Department: src, Via: "system"}
		actx := account.With(ctx, actor)
		ins := make([]record.Input, len(ps))
		for i, p := range ps {
			ins[i] = p.in
		}
		for start := 0; start < len(ins); start += record.MaxBatch {
			chunk := ins[start:min(start+record.MaxBatch, len(ins))]
			res, err := svc.IngestBatch(actx, chunk)
			if err != nil {
				return err
			}
			for j, rs := range res {
				if rs.Err != nil {
					return fmt.Errorf("demo record %s %s: %w", chunk[j].Type, chunk[j].Fields["doc_no"]+chunk[j].Fields["commitment_no"], rs.Err)
				}
				if err := rg.after(actx, svc, rs.Record, ps[start+j].after); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// after applies a planned life-cycle to a stored record, as its source.
func (rg *recordGen) after(ctx context.Context, svc *record.Service, r *record.Record, lc lifecycle) error {
	if r == nil || lc == lcNone {
		return nil
	}
	today := record.DateOf(rg.now)
	var err error
	switch lc {
	case lcWithdraw:
		revoked := r.DecisionDate.AddDate(0, 0, 40)
		if revoked > today {
			revoked = today
		}
		_, err = svc.Withdraw(ctx, r.ID, record.WithdrawInput{Reason: "经行政复议，原处罚决定被撤销", RevokedOn: string(revoked)})
		if err == nil {
			rg.counts.Withdrawn++
		}
	case lcObjectionPending, lcObjectionAnswered:
		if _, err = svc.FileObjection(ctx, r.ID, "当事人提出异议：违法事实认定有误，申请核查。"); err != nil {
			break
		}
		rg.counts.Objections++
		if lc == lcObjectionAnswered {
			if _, err = svc.AnswerObjection(ctx, r.ID, false, "经核查，违法事实清楚、证据确凿，异议不成立。"); err == nil {
				rg.counts.Answered++
			}
		}
	case lcRepairApplied, lcRepairApproved:
		if record.DefaultPolicies().RepairableFrom(r) > today || !record.InPublicView(r, rg.now) {
			return nil // not yet repairable, or already out of public view
		}
		if _, err = svc.ApplyRepair(ctx, r.ID, "已按要求完成整改并缴清罚款，作出信用承诺，申请信用修复。"); err != nil {
			break
		}
		rg.counts.Repairs++
		if lc == lcRepairApproved {
			if _, err = svc.ReviewRepair(ctx, r.ID, "材料齐全，进入审核。"); err != nil {
				break
			}
			if _, err = svc.DecideRepair(ctx, r.ID, true, "符合信用修复条件，准予修复，终止公示。"); err == nil {
				rg.counts.Repaired++
			}
		}
	}
	if err != nil {
		return errs.Wrap("demo.records", err)
	}
	return nil
}
