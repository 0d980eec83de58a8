package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"ecredit/code"
	"ecredit/pii"
	"ecredit/registry"
)

// Counts is how many subjects of each kind a demo city of n subjects has.
type Counts struct {
	Platform, Logistics, Service, Merchant, Seller, Courier int
}

// Total is the number of subjects.
func (c Counts) Total() int {
	return c.Platform + c.Logistics + c.Service + c.Merchant + c.Seller + c.Courier
}

// Of returns the count of one kind.
func (c Counts) Of(k registry.Kind) int {
	switch k {
	case registry.KindPlatform:
		return c.Platform
	case registry.KindLogistics:
		return c.Logistics
	case registry.KindService:
		return c.Service
	case registry.KindMerchant:
		return c.Merchant
	case registry.KindSeller:
		return c.Seller
	case registry.KindCourier:
		return c.Courier
	}
	return 0
}

// MinSubjects is the smallest demo city.
const MinSubjects = 50

// MaxSubjects bounds --subjects: the person ID space (birth day × sequence)
// and the organisation code space stay far from exhaustion below it.
const MaxSubjects = 20_000_000

// Plan splits n subjects into kinds: the eight platforms, then about 0.5 %
// logistics firms, 1 % service organisations, 8 % couriers, 50 % merchants
// and the rest individual sellers.
func Plan(n int) (Counts, error) {
	if n < MinSubjects || n > MaxSubjects {
		return Counts{}, fmt.Errorf("主体数量须在 %d 到 %d 之间 (subjects must be %d..%d), 实际 %d", MinSubjects, MaxSubjects, MinSubjects, MaxSubjects, n)
	}
	c := Counts{Platform: len(platforms)}
	c.Logistics = max(3, n/200)
	c.Service = max(3, n/100)
	c.Courier = n * 8 / 100
	c.Merchant = n / 2
	c.Seller = n - c.Platform - c.Logistics - c.Service - c.Courier - c.Merchant
	return c, nil
}

// Record is one generated subject with its personal data in clear, its
// verification history (oldest first) and its shops. Records are what the
// generator decides; Subject turns one into what the registry stores.
type Record struct {
	Index      int // 0-based position in the city
	Kind       registry.Kind
	Form       string
	Name       string // persons: the real name (stored sealed, shown masked)
	CreditCode string
	IDNumber   string
	Phone      string // normalised
	LegalRep   string
	Region     string
	Address    string
	Status     registry.Status
	Mark       string
	CreatedAt  time.Time
	Verifs     []Verif
	Shops      []ShopPlan
}

// Verif is one planned verification event.
type Verif struct {
	Method     string
	Passed     bool
	By         string
	At         time.Time
	ValidUntil time.Time
}

// ShopPlan is one planned shop; Seq is unique in the city and makes the
// shop's host name shopSEQ.platform-domain.
type ShopPlan struct {
	Platform int // index into Platforms()
	Seq      int
	Name     string
	Category string
}

// URL is the shop's address.
func (sp ShopPlan) URL() string { return "https://" + sp.Domain() + "/" }

// Domain is the shop's host name.
func (sp ShopPlan) Domain() string {
	return fmt.Sprintf("shop%d.%s", sp.Seq, platforms[sp.Platform].Domain)
}

// PlatformShopID is the platform's own id of the shop.
func (sp ShopPlan) PlatformShopID() string {
	return fmt.Sprintf("%s%08d", platforms[sp.Platform].Prefix, sp.Seq)
}

const (
	reverify     = 365 * 24 * time.Hour
	day          = 24 * time.Hour
	orgSpace     = 31 * 31 * 31 * 31 * 31 * 31 // six characters of the USCC alphabet
	seqPerDay    = 1000                        // sequence codes of an ID number
	mask60       = 1<<60 - 1
	markAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ" // Crockford base32, as registry marks
	usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
)

// birthFirst is the first birth date of generated persons; persons are born
// in the 42 years from it.
var birthFirst = time.Date(1962, 1, 1, 0, 0, 0, 0, time.UTC)

var birthDays = int(time.Date(2004, 1, 1, 0, 0, 0, 0, time.UTC).Sub(birthFirst) / day)

// generator produces the records of one city in order. Everything it makes
// follows from the seed, the size and the clock's time: the same three give
// the same city.
type generator struct {
	rng    *rand.Rand
	counts Counts
	left   Counts // still to generate among merchants, sellers and couriers
	now    time.Time
	next   int // index of the next record

	chengde []string // district and county codes of Chengde
	hebei   []string // county-level codes of the rest of Hebei

	orgSeq, personSeq, shopSeq uint64
	orgA, orgB                 uint64 // organisation body permutation
	idA, idB                   uint64 // (birth day, sequence) permutation
	markKey                    uint64
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// coprime returns the first number from x up that is coprime with m.
func coprime(x, m uint64) uint64 {
	x = x%m | 1
	for gcd(x, m) != 1 {
		x += 2
	}
	return x
}

func newGenerator(seed int64, n int, now time.Time) (*generator, error) {
	c, err := Plan(n)
	if err != nil {
		return nil, err
	}
	s := uint64(seed)
	g := &generator{
		rng:    rand.New(rand.NewPCG(s, 0x9e3779b97f4a7c15^s)),
		counts: c,
		left:   Counts{Merchant: c.Merchant, Seller: c.Seller, Courier: c.Courier},
		now:    now.UTC().Truncate(time.Second),
	}
	for _, r := range code.Regions("1308") {
		if r.Code != "130800" {
			g.chengde = append(g.chengde, r.Code)
		}
	}
	for _, r := range code.Regions("13") {
		if !strings.HasSuffix(r.Code, "00") && !strings.HasPrefix(r.Code, "1308") {
			g.hebei = append(g.hebei, r.Code)
		}
	}
	if len(g.chengde) == 0 || len(g.hebei) == 0 {
		return nil, fmt.Errorf("demo: region table has no Hebei counties")
	}
	// The permutations and the mark key come from their own stream so that
	// they do not shift the main one.
	p := rand.New(rand.NewPCG(s^0x5bd1e995, 0x2545f4914f6cdd1d))
	idSpace := uint64(birthDays * seqPerDay)
	g.orgA = coprime(p.Uint64N(orgSpace-1000)+1000, orgSpace)
	g.orgB = p.Uint64N(orgSpace)
	g.idA = coprime(p.Uint64N(idSpace-1000)+1000, idSpace)
	g.idB = p.Uint64N(idSpace)
	g.markKey = p.Uint64() & mask60
	return g, nil
}

// done reports whether every record has been generated.
func (g *generator) done() bool { return g.next >= g.counts.Total() }

// kindAt decides the kind of the next record: platforms, logistics firms and
// service organisations first, then merchants, sellers and couriers mixed
// at random in their exact proportions.
func (g *generator) kindAt(i int) registry.Kind {
	c := g.counts
	switch {
	case i < c.Platform:
		return registry.KindPlatform
	case i < c.Platform+c.Logistics:
		return registry.KindLogistics
	case i < c.Platform+c.Logistics+c.Service:
		return registry.KindService
	}
	rest := g.left.Merchant + g.left.Seller + g.left.Courier
	x := g.rng.IntN(rest)
	switch {
	case x < g.left.Merchant:
		g.left.Merchant--
		return registry.KindMerchant
	case x < g.left.Merchant+g.left.Seller:
		g.left.Seller--
		return registry.KindSeller
	default:
		g.left.Courier--
		return registry.KindCourier
	}
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// region picks a Chengde district or county; the city districts are the
// most populous.
func (g *generator) region() string {
	if g.rng.IntN(4) == 0 {
		return "130802"
	}
	return pick(g.rng, g.chengde)
}

// orgBody returns the next unique eight-character organisation code body:
// "MA" and six characters of a permutation of the organisation's number.
func (g *generator) orgBody() string {
	x := (g.orgA*g.orgSeq + g.orgB) % orgSpace
	g.orgSeq++
	b := []byte("MA000000")
	for i := 7; i >= 2; i-- {
		b[i] = usccAlphabet[x%31]
		x /= 31
	}
	return string(b)
}

// creditCode makes a valid code for category ('1' enterprise, '2'
// 个体工商户, '3' 农民专业合作社) in region.
func (g *generator) creditCode(category byte, region string) string {
	c, err := code.MakeUSCC('9', category, region, g.orgBody())
	if err != nil {
		panic("demo: " + err.Error()) // inputs are built valid above
	}
	return c
}

// person returns a unique ID number (its birth day and sequence from a
// permutation of the person's number), the name matching its sex and a
// mobile number. Most persons are registered in Chengde, some elsewhere in
// Hebei.
func (g *generator) person() (id, name, phone string) {
	x := (g.idA*g.personSeq + g.idB) % uint64(birthDays*seqPerDay)
	g.personSeq++
	birth := birthFirst.Add(time.Duration(x/seqPerDay) * day)
	seq := int(x % seqPerDay)
	region := g.region()
	if g.rng.IntN(10) == 0 {
		region = pick(g.rng, g.hebei)
	}
	id, err := code.MakeID(region, birth, seq)
	if err != nil {
		panic("demo: " + err.Error())
	}
	return id, g.fullName(seq%2 == 1), g.mobile()
}

func (g *generator) fullName(male bool) string {
	if male {
		return pick(g.rng, surnames) + pick(g.rng, givenMale)
	}
	return pick(g.rng, surnames) + pick(g.rng, givenFemale)
}

// surnameOf returns the surname of a generated full name.
func surnameOf(name string) string {
	for _, s := range surnames {
		if len([]rune(s)) == 2 && strings.HasPrefix(name, s) {
			return s
		}
	}
	return string([]rune(name)[:1])
}

func (g *generator) mobile() string {
	return fmt.Sprintf("%s%08d", pick(g.rng, mobilePrefixes), g.rng.IntN(100_000_000))
}

// landline is a Chengde fixed-line number (area code 0314), normalised.
func (g *generator) landline() string {
	return fmt.Sprintf("0314%d%06d", 2+g.rng.IntN(7), g.rng.IntN(1_000_000))
}

func (g *generator) address(region string) string {
	full, _ := code.RegionName(region)
	return fmt.Sprintf("%s%s%d号", full, pick(g.rng, roads), 1+g.rng.IntN(300))
}

func (g *generator) tradeName() string {
	if g.rng.IntN(2) == 0 {
		return pick(g.rng, places)
	}
	a, b := pick(g.rng, brands), pick(g.rng, brands)
	for b == a {
		b = pick(g.rng, brands)
	}
	return a + b
}

// mark is the subject's identity verification mark, of the registry's
// format "ECM-XXXX-XXXX-XXXX": 60 bits of a bijection of the record's index,
// so marks in one city never repeat.
func (g *generator) mark(i int) string {
	x := mix60((g.markKey + uint64(i)) & mask60)
	var b [12]byte
	for j := range b {
		b[j] = markAlphabet[(x>>(55-5*uint(j)))&31]
	}
	return "ECM-" + string(b[:4]) + "-" + string(b[4:8]) + "-" + string(b[8:])
}

// mix60 is a bijection of 60-bit numbers (xor-shifts and odd multipliers
// modulo 2^60 are each invertible).
func mix60(x uint64) uint64 {
	x ^= x >> 31
	x = (x * 0x7fb5d329728ea185) & mask60
	x ^= x >> 27
	x = (x * 0x81dadef4bc2dd44d) & mask60
	x ^= x >> 33
	return x
}

func (g *generator) ago(minDays, maxDays int) time.Time {
	return g.now.Add(-time.Duration(minDays+g.rng.IntN(maxDays-minDays+1))*day - time.Duration(g.rng.IntN(86400))*time.Second)
}

// verifs plans a verification history: about 6 % of subjects never
// verified, 4 % failed, 10 % passed more than a year ago (re-verification
// overdue) and the rest passed within the year, some after an earlier event.
func (g *generator) verifs(k registry.Kind, by string) []Verif {
	methods := []string{"license_check", "license_check", "document", "onsite"}
	if k.Person() {
		methods = []string{"id_check", "face", "face", "bank4"}
	}
	ev := func(at time.Time, passed bool) Verif {
		v := Verif{Method: pick(g.rng, methods), Passed: passed, By: by, At: at}
		if passed {
			v.ValidUntil = at.Add(reverify)
		}
		return v
	}
	r := g.rng.IntN(100)
	if k == registry.KindPlatform {
		r = 50 // platforms are all verified
	}
	switch {
	case r < 6:
		return nil
	case r < 10:
		return []Verif{ev(g.ago(1, 300), false)}
	case r < 20:
		return []Verif{ev(g.ago(366, 900), true)}
	}
	last := ev(g.ago(1, 360), true)
	switch g.rng.IntN(8) {
	case 0: // a failed attempt shortly before
		return []Verif{ev(last.At.Add(-time.Duration(1+g.rng.IntN(20))*day), false), last}
	case 1: // the previous year's verification
		return []Verif{ev(last.At.Add(-reverify-time.Duration(g.rng.IntN(30))*day), true), last}
	}
	return []Verif{last}
}

// shops plans 1–3 shops (merchants) or 1–2 (sellers) on distinct platforms.
func (g *generator) shops(k registry.Kind, names func() (string, string)) []ShopPlan {
	n := 1
	switch r := g.rng.IntN(10); {
	case k == registry.KindMerchant && r == 0:
		n = 3
	case k == registry.KindMerchant && r < 4, k == registry.KindSeller && r < 2:
		n = 2
	}
	used := map[int]bool{}
	var out []ShopPlan
	for len(out) < n {
		p := g.rng.IntN(len(platforms))
		if used[p] {
			continue
		}
		used[p] = true
		name, cat := names()
		g.shopSeq++
		out = append(out, ShopPlan{Platform: p, Seq: int(g.shopSeq), Name: name, Category: cat})
	}
	return out
}

// record generates the next record.
func (g *generator) record() Record {
	i := g.next
	g.next++
	k := g.kindAt(i)
	r := Record{Index: i, Kind: k, Status: registry.StatusActive, Mark: g.mark(i)}
	market := "承德市市场监督管理局"
	switch k {
	case registry.KindPlatform:
		p := platforms[i]
		r.Name, r.Region = p.Name, p.Region
		r.CreditCode = g.creditCode('1', r.Region)
		r.LegalRep = g.fullName(g.rng.IntN(2) == 0)
		r.Address, r.Phone = g.address(r.Region), g.landline()
		r.Verifs = g.verifs(k, market)
	case registry.KindLogistics:
		r.Region = g.region()
		r.Name = "承德" + g.tradeName() + pick(g.rng, logisticsWords) + "有限公司"
		r.CreditCode = g.creditCode('1', r.Region)
		r.LegalRep = g.fullName(g.rng.IntN(3) != 0)
		r.Address, r.Phone = g.address(r.Region), g.landline()
		r.Verifs = g.verifs(k, "承德市邮政管理局")
	case registry.KindService:
		sf := pick(g.rng, serviceForms)
		r.Form, r.Region = sf.Form, g.region()
		r.Name = "承德" + g.tradeName() + pick(g.rng, sf.Words) + "有限公司"
		r.CreditCode = g.creditCode('1', r.Region)
		r.LegalRep = g.fullName(g.rng.IntN(2) == 0)
		r.Address, r.Phone = g.address(r.Region), g.landline()
		r.Verifs = g.verifs(k, market)
	case registry.KindMerchant:
		g.merchant(&r, market)
	case registry.KindSeller:
		id, name, phone := g.person()
		r.IDNumber, r.Name, r.Phone, r.Region = id, name, phone, id[:6]
		surname := surnameOf(name)
		r.Shops = g.shops(k, func() (string, string) {
			p := pick(g.rng, products)
			if g.rng.IntN(2) == 0 {
				return surname + "家" + p.Goods + "小店", p.Category
			}
			return pick(g.rng, places) + p.Goods + "好物铺子", p.Category
		})
		r.Verifs = g.verifs(k, platforms[r.Shops[0].Platform].Short)
	case registry.KindCourier:
		id, name, phone := g.person()
		r.IDNumber, r.Name, r.Phone, r.Region = id, name, phone, id[:6]
		r.Verifs = g.verifs(k, "承德市邮政管理局")
	}
	if (k == registry.KindMerchant || k == registry.KindSeller) && g.rng.IntN(50) == 0 {
		r.Status = registry.StatusSuspended
	}
	r.CreatedAt = g.now.Add(-time.Duration(30+g.rng.IntN(1000)) * day)
	if len(r.Verifs) > 0 && !r.CreatedAt.Before(r.Verifs[0].At) {
		r.CreatedAt = r.Verifs[0].At.Add(-time.Duration(1+g.rng.IntN(30)) * day)
	}
	return r
}

// merchant fills a merchant: 70 % enterprises (some of them farmers'
// cooperatives), 30 % 个体工商户.
func (g *generator) merchant(r *Record, market string) {
	r.Region = g.region()
	p := pick(g.rng, products)
	trade := g.tradeName()
	owner := g.fullName(g.rng.IntN(3) != 0)
	r.LegalRep, r.Address = owner, g.address(r.Region)
	if g.rng.IntN(3) == 0 {
		r.Phone = g.landline()
	} else {
		r.Phone = g.mobile()
	}
	switch x := g.rng.IntN(100); {
	case x < 30:
		r.Form = "individual_business"
		trade = regionShort[r.Region] + surnameOf(owner) + "记"
		r.Name = trade + p.Goods + pick(g.rng, shopSigns)
		r.CreditCode = g.creditCode('2', r.Region)
	case x < 37 && (p.Category == "agricultural" || p.Category == "food"):
		r.Form = "enterprise"
		r.Name = regionPrefix[r.Region] + pick(g.rng, places) + p.Goods + "专业合作社"
		r.CreditCode = g.creditCode('3', r.Region)
	default:
		r.Form = "enterprise"
		r.Name = regionPrefix[r.Region] + trade + p.Goods + p.Trade + pick(g.rng, companySuffixes)
		r.CreditCode = g.creditCode('1', r.Region)
	}
	r.Shops = g.shops(registry.KindMerchant, func() (string, string) {
		if g.rng.IntN(4) == 0 {
			q := pick(g.rng, products)
			return trade + q.Goods + pick(g.rng, shopKinds), q.Category
		}
		return trade + p.Goods + pick(g.rng, shopKinds), p.Category
	})
	r.Verifs = g.verifs(registry.KindMerchant, market)
}

// Subject turns a record into the registry's stored form, exactly as
// registry.Service would store it: personal data sealed, a person's name
// masked, verification state from the latest event.
func (r *Record) Subject(keys *pii.Keys) *registry.Subject {
	s := &registry.Subject{
		Kind: r.Kind, Form: r.Form, Name: r.Name, CreditCode: r.CreditCode, LegalRep: r.LegalRep,
		RegionCode: r.Region, Address: r.Address, Status: r.Status, Verify: registry.VerifyNone, Mark: r.Mark,
		CreatedAt: r.CreatedAt, UpdatedAt: r.CreatedAt,
	}
	if r.Kind.Person() {
		s.IDNumber = keys.Seal(pii.KindIDNumber, r.IDNumber)
		s.NameSeal = keys.Seal(pii.KindName, r.Name)
		s.Name = pii.MaskName(r.Name)
	}
	s.Phone = keys.Seal(pii.KindPhone, r.Phone)
	if n := len(r.Verifs); n > 0 {
		last := r.Verifs[n-1]
		s.VerifiedAt, s.VerifiedBy, s.UpdatedAt = last.At, last.By, last.At
		if last.Passed {
			s.Verify, s.ReverifyDue = registry.VerifyOK, last.ValidUntil
		} else {
			s.Verify = registry.VerifyFailed
		}
	}
	return s
}
