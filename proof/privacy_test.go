package proof

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/code"
	"ecredit/pii"
	"ecredit/record"
	"ecredit/registry"
)

func regexpMust(s string) *regexp.Regexp { return regexp.MustCompile(s) }

// personCount is how many synthetic persons the privacy scan seeds
// (PROOF_PERSONS raises it).
func personCount() int {
	if n, err := strconv.Atoi(os.Getenv("PROOF_PERSONS")); err == nil && n > 0 {
		return n
	}
	return 2000
}

var (
	surnames = []rune("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭")
	given    = []string{"伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "晓东"}
)

// seedPersons registers personCount sellers and couriers with ID and
// mobile numbers (registry.Service.CreateSubjects, in batches), gives one
// in five a shop on platform A or B, and has the department record
// penalties naming persons: as the party (id_number) and as the legal
// representative of a merchant (legal_rep_id_number).
func (e *env) seedPersons(ctx context.Context) error {
	n := personCount()
	const base = 100 // numbers below are the named fixtures'
	var sellers, couriers []registry.SubjectInput
	var ps []person
	for i := 0; i < n; i++ {
		k := int64(base + i)
		name := string(surnames[i%len(surnames)]) + given[(i/len(surnames))%len(given)]
		p := person{id: k, name: name, idNumber: idNumber(k), phone: phone(k), kind: registry.KindSeller}
		in := registry.SubjectInput{Kind: p.kind, Name: name, IDNumber: p.idNumber, Phone: p.phone}
		if i%10 == 9 {
			p.kind, in.Kind = registry.KindCourier, registry.KindCourier
			couriers = append(couriers, in)
		} else {
			sellers = append(sellers, in)
		}
		ps = append(ps, p)
	}
	created := map[string]int64{} // ID number → subject
	for _, b := range []struct {
		ctx context.Context
		ins []registry.SubjectInput
	}{{system, sellers}, {e.ctx(rLogistics), couriers}} {
		for start := 0; start < len(b.ins); start += 1000 {
			chunk := b.ins[start:min(start+1000, len(b.ins))]
			items, err := e.app.Registry.CreateSubjects(b.ctx, chunk)
			if err != nil {
				return err
			}
			for j, it := range items {
				if it.Err != nil {
					return fmt.Errorf("person %s: %w", chunk[j].Name, it.Err)
				}
				created[chunk[j].IDNumber] = it.Subject.ID
			}
		}
	}
	var penalties []record.Input
	for i := range ps {
		p := &ps[i]
		p.subjectID = created[p.idNumber]
		if p.kind != registry.KindSeller {
			continue
		}
		switch i % 5 {
		case 0, 1:
			p.platform = rPlatA
			if i%5 == 1 {
				p.platform = rPlatB
			}
			if i%25 < 10 { // a shop for some
				if _, err := e.shop(p.platform, p.subjectID); err != nil {
					return err
				}
			}
		}
		if i%7 == 0 {
			penalties = append(penalties, record.Input{Type: record.TypePenalty, Fields: map[string]string{
				"行政相对人名称": p.name, "证件类型": "身份证", "证件号码": p.idNumber,
				"doc_no": fmt.Sprintf("承市监罚〔2026〕P%d号", p.id), "违法行为类型": "销售不合格商品", "违法事实": "网店销售不合格食品",
				"处罚依据": "《中华人民共和国食品安全法》第一百二十四条", "处罚类别": "罚款", "处罚内容": "罚款人民币5000元",
				"罚款金额（万元）": "0.5", "处罚决定日期": "2026-09-15", "处罚机关": "承德市双桥区市场监督管理局", "处罚机关统一社会信用代码": "11130800000001257M"}})
		}
	}
	// Merchants whose legal representative is a seeded person.
	for i := 0; i < 100 && i < len(ps); i++ {
		p := ps[i*len(ps)/100]
		m, err := e.app.Registry.CreateSubject(system, registry.SubjectInput{Kind: registry.KindMerchant,
			Name: fmt.Sprintf("承德%s商贸有限公司", p.name), CreditCode: e.uscc(), LegalRep: p.name})
		if err != nil {
			return err
		}
		in := e.penaltyInput(m, "2026-09-20")
		in.Fields["法定代表人"] = p.name
		in.Fields["法定代表人证件类型"] = "身份证"
		in.Fields["法定代表人证件号码"] = p.idNumber
		penalties = append(penalties, in)
	}
	res, err := e.app.Records.IngestBatch(e.ctx(rDept), penalties)
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Err != nil {
			return fmt.Errorf("penalty line %d: %w", r.Line, r.Err)
		}
	}
	e.persons = append(e.persons, ps...)
	return nil
}

// leakScanner finds the seeded persons' numbers, and any valid 18-digit
// resident ID number or 11-digit mobile number, in text.
type leakScanner struct {
	exact map[string]string // number → what it is
}

func (e *env) scanner() *leakScanner {
	s := &leakScanner{exact: map[string]string{}}
	for _, p := range e.persons {
		s.exact[p.idNumber] = fmt.Sprintf("ID number of person %d", p.id)
		s.exact[p.phone] = fmt.Sprintf("phone of person %d", p.id)
	}
	return s
}

var (
	alnumRun = regexp.MustCompile(`[0-9A-Za-z]+`)
	mobileRe = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	idRe     = regexp.MustCompile(`^[0-9]{17}[0-9Xx]$`)
)

// scan returns a description of every unmasked number in text. Tokens are
// runs of ASCII letters and digits, so a number inside a longer token (a
// hash, a request id) is not one.
func (s *leakScanner) scan(text string) []string {
	var out []string
	for _, loc := range alnumRun.FindAllStringIndex(text, -1) {
		tok := text[loc[0]:loc[1]]
		what, ok := s.exact[strings.ToUpper(tok)]
		switch {
		case ok:
		case len(tok) == 11 && mobileRe.MatchString(tok):
			what = "a mobile number"
		case len(tok) == 18 && idRe.MatchString(tok) && code.ParseID(tok, clockNow()).Valid:
			what = "a resident ID number"
		default:
			continue
		}
		lo, hi := max(0, loc[0]-60), min(len(text), loc[1]+60)
		out = append(out, fmt.Sprintf("%s %q in …%s…", what, tok, text[lo:hi]))
	}
	return out
}

// page is one response the crawl scans.
type crawled struct {
	who  role
	path string
}

// TestPrivacyScan crawls every public response, export, report, list and
// the change feed as every role, plus the server log, for unmasked ID and
// mobile numbers of the seeded persons.
func TestPrivacyScan(t *testing.T) {
	e := setup(t)
	sc := e.scanner()
	// The scanner finds what it looks for.
	p0 := e.persons[len(e.persons)-1]
	for _, s := range []string{"证件号码：" + p0.idNumber + "。", "tel:" + p0.phone, `"x":"13800138000"`, "身份证 " + idNumber(5_000_000) + " 号"} {
		if len(sc.scan(s)) != 1 {
			t.Fatalf("the scanner misses the number in %q", s)
		}
	}
	for _, s := range []string{pii.MaskID(p0.idNumber), pii.MaskPhone(p0.phone), "1732528800123456", "req-a13912345678b", "9113080200001005"} {
		if l := sc.scan(s); len(l) != 0 {
			t.Fatalf("the scanner flags %q: %v", s, l)
		}
	}
	masks := map[string]bool{}
	for _, p := range e.persons {
		masks[pii.MaskID(p.idNumber)] = true
	}
	scanned, bytesScanned, leaks, withMasked := 0, 0, 0, 0
	report := func(who role, what string, body []byte) {
		scanned++
		bytesScanned += len(body)
		for _, m := range maskedID.FindAllString(string(body), -1) {
			if masks[m] {
				withMasked++
				break
			}
		}
		for _, l := range sc.scan(string(body)) {
			leaks++
			if leaks <= 20 {
				t.Errorf("%s as %s: %s", what, who, l)
			}
		}
	}
	fetch := func(who role, path string) resp {
		r := e.do(t, who, get(path))
		report(who, "GET "+path, r.body)
		return r
	}

	// The public: search by every surname (2-character bigrams too),
	// the portal's search and result pages, profiles and reports of
	// persons and organisations, mark checks.
	var subjectIDs []int64
	for _, p := range e.persons {
		subjectIDs = append(subjectIDs, p.subjectID)
	}
	queries := []string{}
	for _, s := range surnames[:20] {
		queries = append(queries, string(s))
	}
	for _, g := range given[:8] {
		queries = append(queries, string(surnames[0])+g, string(surnames[1])+g)
	}
	queries = append(queries, "商贸", "承德", "快递")
	for _, q := range queries {
		for _, who := range []role{rPublic, rPlatA} {
			fetch(who, "/api/v1/public/subjects?limit=100&q="+url.QueryEscape(q))
			fetch(who, "/search?q="+url.QueryEscape(q))
		}
	}
	// Profiles, reports, verification pages: every 10th person, every
	// person with records, and the organisations naming persons.
	step := max(1, len(subjectIDs)/200)
	for i := 0; i < len(subjectIDs); i += step {
		sid := id(subjectIDs[i])
		fetch(rPublic, "/subjects/"+sid)
		fetch(rPublic, "/subjects/"+sid+"/report")
	}
	orgs := must(e.app.Registry.ListSubjects(system, registry.Filter{Kind: registry.KindMerchant, Limit: 500}))
	for _, o := range orgs {
		fetch(rPublic, "/api/v1/public/subjects/"+o.CreditCode)
		fetch(rPublic, "/subjects/"+id(o.ID))
		if o.LegalRep != "" {
			r := fetch(rPublic, "/subjects/"+id(o.ID)+"/report")
			if m := verifyLink.FindSubmatch(r.body); m != nil {
				fetch(rPublic, strings.ReplaceAll(string(m[1]), "&amp;", "&"))
			}
		}
		fetch(rPublic, "/api/v1/public/marks/"+o.Mark)
	}
	for _, p := range e.persons[:50] {
		sub := must(e.app.Registry.GetSubject(system, p.subjectID))
		fetch(rPublic, "/api/v1/public/marks/"+sub.Mark)
		fetch(rPublic, "/marks/"+sub.Mark)
	}

	// Every role's lists, exports and the change feed, paged to the end.
	for _, who := range roles[1:] {
		for _, list := range []string{"/api/v1/subjects?limit=500", "/api/v1/shops?limit=500"} {
			e.crawlPages(t, who, list, report)
		}
		e.crawlFeed(t, who, report)
		for _, f := range []string{"penalty.csv", "licence.csv", "penalty.xlsx"} {
			r := e.do(t, who, get("/api/v1/exports/"+f))
			if f == "penalty.xlsx" {
				report(who, "export "+f, xlsxText(t, r.body))
			} else {
				report(who, "export "+f, r.body)
			}
		}
		for _, p := range e.persons[:40] {
			fetch(who, "/api/v1/subjects/"+id(p.subjectID))
			fetch(who, "/api/v1/subjects/"+id(p.subjectID)+"/records")
			fetch(who, "/api/v1/subjects/"+id(p.subjectID)+"/verifications")
		}
		fetch(who, "/api/v1/audit?limit=500")
		fetch(who, "/api/v1/me")
	}
	// Staff pages list subjects and records masked.
	for _, who := range []role{rDept, rAdmin} {
		fetch(who, "/console/subjects")
		fetch(who, "/console/records")
		fetch(who, "/console/audit")
		for _, p := range e.persons[:30] {
			fetch(who, "/console/subjects/"+id(p.subjectID))
		}
		fetch(who, "/console/subjects?name="+url.QueryEscape(e.persons[5].name))
	}
	// Lookups by number answer masked.
	for _, p := range e.persons[:20] {
		r := e.do(t, rDept, jsonReq("POST", "/api/v1/subjects/lookup", map[string]string{"id_number": p.idNumber}))
		report(rDept, "lookup", r.body)
		r = e.do(t, rDept, jsonReq("POST", "/api/v1/subjects/lookup", map[string]string{"phone": p.phone}))
		report(rDept, "lookup by phone", r.body)
	}
	// Trade, logistics and trace (seller and courier are persons, buyers
	// pseudonyms): the public shop, reviews, logistics and trace pages,
	// and every role's orders, parcels, metrics and traces.
	tr := e.tr
	for _, who := range roles {
		for _, p := range []string{
			"/api/v1/public/shops/" + id(tr.sellerShop.ID), "/shops/" + id(tr.sellerShop.ID), "/api/v1/shops/" + id(tr.sellerShop.ID) + "/reviews",
			"/api/v1/public/logistics/" + e.logiFirm.CreditCode, "/logistics/" + id(e.logiFirm.ID),
			"/api/v1/public/trace/" + tr.gtin + "/" + tr.batch, "/api/v1/public/trace/" + tr.gtin + "/" + tr.batch + "/epcis",
			"/api/v1/batches/" + tr.gtin + "/" + tr.batch + "/epcis", "/trace/" + tr.gtin + "/" + tr.batch, "/api/v1/products/" + tr.gtin,
			"/api/v1/orders?limit=500", "/api/v1/orders/" + id(tr.sellerOrder.ID), "/api/v1/orders/" + id(tr.sellerOrder.ID) + "/trace",
			"/api/v1/batches/" + tr.gtin + "/" + tr.batch + "/trace", "/api/v1/licence-flags?seller=" + id(e.sellerA.ID),
			"/api/v1/parcels/" + tr.courierWaybill + "?firm=" + e.logiFirm.CreditCode, "/api/v1/logistics/" + id(e.logiFirm.ID) + "/metrics",
		} {
			r := fetch(who, p)
			if who != rPublic {
				continue
			}
			// In public, the seller and the courier show masked names, the
			// buyers masked pseudonyms.
			for _, full := range []string{e.persons[0].name, e.persons[2].name, "proof-buyer-seller", tr.buyer} {
				if strings.Contains(string(r.body), full) {
					t.Errorf("GET %s in public shows %q unmasked", p, full)
				}
			}
		}
	}
	// Finally the server's own log, which has seen all of the above
	// (and the ID numbers typed into /api/v1/codes/…).
	for _, p := range e.persons[:20] {
		e.do(t, rPublic, get("/api/v1/codes/"+p.idNumber))
		e.do(t, rPublic, get("/codes?code="+p.idNumber))
	}
	report("server", "server log", []byte(e.log.String()))
	if leaks > 20 {
		t.Errorf("… %d leaks in all", leaks)
	}
	t.Logf("privacy scan: %d persons seeded, %d responses and the server log (%d bytes) scanned, %d unmasked numbers", len(e.persons), scanned, bytesScanned, leaks)
	// The crawl did see the persons, masked.
	if withMasked < 100 {
		t.Errorf("only %d responses show a seeded person's masked ID number: the crawl misses them", withMasked)
	}
	t.Logf("%d responses show seeded persons' masked ID numbers", withMasked)
	if scanned < 1000 {
		t.Errorf("only %d responses scanned", scanned)
	}
}

var maskedID = regexp.MustCompile(`[0-9]{3,6}\*+[0-9Xx]{1,4}`)

var verifyLink = regexp.MustCompile(`href="(/verify/[^"]+)"`)

// crawlPages follows next_cursor through a list.
func (e *env) crawlPages(t *testing.T, who role, path string, report func(role, string, []byte)) {
	t.Helper()
	cursor := ""
	for pages := 0; pages < 50; pages++ {
		p := path
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		r := e.do(t, who, get(p))
		report(who, "GET "+p, r.body)
		var pg struct {
			NextCursor string `json:"next_cursor"`
		}
		json.Unmarshal(r.body, &pg)
		if r.status != 200 || pg.NextCursor == "" {
			return
		}
		cursor = pg.NextCursor
	}
}

// crawlFeed reads the change feed to its end.
func (e *env) crawlFeed(t *testing.T, who role, report func(role, string, []byte)) {
	t.Helper()
	after := "0"
	for pages := 0; pages < 100; pages++ {
		r := e.do(t, who, get("/api/v1/changes?limit=1000&after="+after))
		report(who, "change feed", r.body)
		var f struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		json.Unmarshal(r.body, &f)
		if r.status != 200 || len(f.Items) == 0 || f.NextCursor == after {
			return
		}
		after = f.NextCursor
	}
}

// TestRevealsAudited: every reveal of personal data, through the API and
// the console, is in the audit log with its actor and reason; a refused
// reveal answers nothing personal.
func TestRevealsAudited(t *testing.T) {
	e := setup(t)
	p := e.persons[0] // platform A's seller
	type reveal struct {
		who    role
		via    string
		reason string
	}
	var done []reveal
	for i, who := range []role{rPlatA, rDept, rAdmin} {
		reason := fmt.Sprintf("审计检查 API %d", i)
		r := e.do(t, who, jsonReq("POST", "/api/v1/subjects/"+id(p.subjectID)+"/personal", map[string]string{"reason": reason}))
		if r.status != 200 || !strings.Contains(string(r.body), p.idNumber) {
			t.Fatalf("reveal as %s: %s", who, r)
		}
		done = append(done, reveal{who, "api", reason})
	}
	for i, who := range []role{rDept, rAdmin} {
		reason := fmt.Sprintf("审计检查 控制台 %d", i)
		r := e.do(t, who, formReq("/console/subjects/"+id(p.subjectID)+"/reveal", "reason", reason))
		if r.status != 200 || !strings.Contains(string(r.body), p.idNumber) {
			t.Fatalf("console reveal as %s: %s", who, r)
		}
		done = append(done, reveal{who, "console", reason})
	}
	// Refused reveals show nothing and need no entry.
	for _, who := range []role{rPublic, rPlatB, rLogistics, rAgency} {
		r := e.do(t, who, jsonReq("POST", "/api/v1/subjects/"+id(p.subjectID)+"/personal", map[string]string{"reason": "越权"}))
		if r.status < 400 || strings.Contains(string(r.body), p.idNumber) || strings.Contains(string(r.body), p.phone) {
			t.Errorf("reveal as %s: %s", who, r)
		}
	}
	entries := must(e.app.Store.List(context.Background(), audit.Filter{Action: audit.ActReadPersonal, Limit: 10000}))
	for _, d := range done {
		found := false
		for _, en := range entries {
			if en.Object == "subject:"+id(p.subjectID) && en.Detail == d.reason && en.ActorID == e.actors[d.who].AccountID &&
				en.ActorName == e.actors[d.who].Name && en.Role == string(e.actors[d.who].Role) && en.Via == d.via {
				found = true
			}
		}
		if !found {
			t.Errorf("reveal by %s via %s (%q) is not in the audit log", d.who, d.via, d.reason)
		}
	}
	// The audit log as the API serves it names the same.
	r := e.do(t, rAdmin, get("/api/v1/audit?action="+audit.ActReadPersonal+"&limit=500"))
	for _, d := range done {
		if !strings.Contains(string(r.body), d.reason) {
			t.Errorf("GET /api/v1/audit lacks %q", d.reason)
		}
	}
	_ = account.RoleAdmin
}

func clockNow() time.Time { return time.Now() }

// xlsxText is every cell of every sheet of an XLSX file, one per line.
func xlsxText(t *testing.T, b []byte) []byte {
	t.Helper()
	if len(b) == 0 || b[0] != 'P' {
		return b // an error answer, scanned as is
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("export xlsx: %v", err)
	}
	defer f.Close()
	var out strings.Builder
	for _, sh := range f.GetSheetList() {
		rows, err := f.GetRows(sh)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			out.WriteString(strings.Join(r, "\t") + "\n")
		}
	}
	return []byte(out.String())
}
