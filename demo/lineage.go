package demo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"ecredit/clock"
	"ecredit/code"
	"ecredit/record"
	"ecredit/trace"
)

// Batch lineage of the demo city (trace.Service.AddInputs): the processed
// foods of Chengde made from raw agricultural lots.
//
//   - each food batch whose product name says what it is made of (山楂 →
//     鲜山楂 + 白砂糖, 杏仁露 → 山杏仁 + 白砂糖, 荞麦挂面 → 荞麦 + 小麦粉,
//     老酒 → 高粱 + 小麦 …; at most maxLineageBatches of them, spread over
//     the products) gets one lot of each of its raw materials, in
//     kilograms proportional to the batch's quantity;
//   - a raw material is grown (or made) by up to three subjects of the
//     city: cooperatives and farms whose name says they grow it first,
//     then farm producers (shop category agricultural), else anyone; each
//     (material, farm) pair is a product of its own with a GTIN of the
//     rawGTINPrefix range;
//   - a raw lot is made 3 to 14 days before the first batch it goes into
//     and often goes into the next one or two batches made within 40 days
//     of it (of the same food or another: sugar goes into hawthorn cakes
//     and almond drinks), so that forward traces from a lot reach several
//     batches; it has a produced event by its farm and a conformant
//     inspection by the testing centre (pesticide or veterinary drug
//     residues) a day or two after it was made, before it was used.
//
// Raw products and lots go in with the others as multi-row INSERTs; the
// inputs through trace.Service.AddInputs, one request per food batch, so
// the service's rules (registered input, made no later than the output,
// no cycle) are exercised.

const (
	// maxLineageBatches bounds the food batches given inputs.
	maxLineageBatches = 300
	// farmsPerMaterial is how many subjects grow each raw material.
	farmsPerMaterial = 3
	// rawGTINPrefix starts the raw materials' GTIN-13s: the demo's other
	// GTINs start with 690 (trade.go) and 694 (trace.go).
	rawGTINPrefix = "6958"
	// lineageSeedSalt gives the lineage its own random stream, so that
	// the rest of the trace data is drawn as before.
	lineageSeedSalt = 0x6c696e65616765 // "lineage"
)

// rawMaterial is a raw material of the demo's foods.
type rawMaterial struct {
	name     string   // 鲜山楂
	category string   // trace category: agricultural (farm produce) or food
	keys     []string // words in a subject's name that say it grows or makes it
	near     []string // words that say it grows or trades something alike
	test     string   // what the testing centre inspects it for
	shelf    int      // months it keeps
}

// rawMaterials: farm produce grown in the city, and sugar and flour
// bought from trading and food companies.
var rawMaterials = []rawMaterial{
	{"鲜山楂", "agricultural", []string{"山楂"}, []string{"苹果", "果"}, "农药残留检测（有机磷、拟除虫菊酯类）", 2},
	{"白砂糖", "food", []string{"白砂糖", "制糖", "糖业"}, []string{"商贸", "供销"}, "食品安全指标检验（蔗糖分、二氧化硫残留）", 24},
	{"山杏仁", "agricultural", []string{"杏仁", "山杏"}, []string{"核桃"}, "农药残留及黄曲霉毒素B1检测", 12},
	{"鲜板栗", "agricultural", []string{"板栗"}, []string{"核桃"}, "农药残留检测（多菌灵、毒死蜱）", 3},
	{"鲜香菇", "agricultural", []string{"香菇", "蘑菇", "食用菌"}, []string{"木耳"}, "农药残留及重金属检测", 1},
	{"荞麦", "agricultural", []string{"荞麦"}, []string{"莜面", "小米", "杂粮"}, "农药残留及重金属检测", 12},
	{"小麦粉", "food", []string{"面粉", "小麦粉", "粮油"}, []string{"莜面", "荞麦", "小米"}, "食品安全指标检验（灰分、过氧化苯甲酰）", 12},
	{"莜麦", "agricultural", []string{"莜麦", "莜面"}, []string{"荞麦", "小米", "杂粮"}, "农药残留及重金属检测", 12},
	{"高粱", "agricultural", []string{"高粱"}, []string{"小米", "荞麦", "杂粮"}, "农药残留及真菌毒素检测", 12},
	{"小麦", "agricultural", []string{"小麦"}, []string{"小米", "莜面", "杂粮"}, "农药残留及真菌毒素检测", 12},
	{"鲜榛子", "agricultural", []string{"榛子"}, []string{"核桃", "板栗"}, "农药残留及黄曲霉毒素B1检测", 6},
	{"原蜜", "agricultural", []string{"蜂蜜", "养蜂", "蜂业"}, nil, "兽药残留检测（氯霉素、硝基呋喃类）", 24},
	{"鲜牛肉", "agricultural", []string{"牛肉", "肉牛", "养牛"}, []string{"羊肉", "牧业"}, "兽药残留及瘦肉精检测", 1},
	{"鲜羊肉", "agricultural", []string{"羊肉", "肉羊", "养羊"}, []string{"牛肉", "牧业"}, "兽药残留及瘦肉精检测", 1},
}

// materialIndex is the index of a raw material in rawMaterials.
func materialIndex(name string) int {
	return slices.IndexFunc(rawMaterials, func(m rawMaterial) bool { return m.name == name })
}

// recipePart is a raw material of a food: kilograms per unit made.
type recipePart struct {
	material string
	perUnit  float64
}

// recipes are the raw materials of the foods; a food takes the first
// recipe whose word its name contains (挂面 before 荞麦). A food no recipe
// names gets no inputs.
var recipes = []struct {
	word  string
	parts []recipePart
}{
	{"山楂", []recipePart{{"鲜山楂", 0.6}, {"白砂糖", 0.15}}},
	{"杏仁", []recipePart{{"山杏仁", 0.03}, {"白砂糖", 0.012}}},
	{"板栗", []recipePart{{"鲜板栗", 0.5}}},
	{"蘑菇", []recipePart{{"鲜香菇", 2}}},
	{"香菇", []recipePart{{"鲜香菇", 2}}},
	{"挂面", []recipePart{{"荞麦", 0.3}, {"小麦粉", 0.75}}},
	{"莜面", []recipePart{{"莜麦", 1.1}}},
	{"酒", []recipePart{{"高粱", 1}, {"小麦", 0.25}}},
	{"榛子", []recipePart{{"鲜榛子", 0.55}}},
	{"蜂蜜", []recipePart{{"原蜜", 0.52}}},
	{"牛肉", []recipePart{{"鲜牛肉", 0.9}}},
	{"羊肉", []recipePart{{"鲜羊肉", 0.9}}},
}

// recipeOf returns the raw materials of a food by its name; nil when none
// fits.
func recipeOf(name string) []recipePart {
	for _, r := range recipes {
		if strings.Contains(name, r.word) {
			return r.parts
		}
	}
	return nil
}

// farmWords say a subject farms: cooperatives, farms, growers, breeders.
var farmWords = []string{"合作社", "农场", "种植", "养殖", "牧业", "农业"}

// farmPick is a candidate grower of a raw material with its score.
type farmPick struct {
	p     demoProducer
	score int
}

// farmFinder keeps, per raw material, the farmsPerMaterial subjects that
// fit it best, seen one at a time (in id order: ties go to the first).
type farmFinder struct {
	top [][]farmPick // by index in rawMaterials
}

func newFarmFinder() *farmFinder {
	return &farmFinder{top: make([][]farmPick, len(rawMaterials))}
}

// consider scores a subject for each raw material: its name naming the
// material most, then naming something alike, then a farm's name for farm
// produce (a company's for sugar and flour), then a shop of the
// material's category.
func (f *farmFinder) consider(p demoProducer) {
	farmish := false
	for _, w := range farmWords {
		farmish = farmish || strings.Contains(p.name, w)
	}
	for i, m := range rawMaterials {
		s := 0
		switch {
		case slices.ContainsFunc(m.keys, func(k string) bool { return strings.Contains(p.name, k) }):
			s += 8
		case slices.ContainsFunc(m.near, func(k string) bool { return strings.Contains(p.name, k) }):
			s += 4
		}
		switch {
		case m.category == "agricultural" && farmish:
			s += 2
		case m.category != "agricultural" && !farmish && strings.Contains(p.name, "公司"):
			s += 2
		}
		if p.shopCategory == m.category {
			s++
		}
		top := f.top[i]
		pos := len(top)
		for pos > 0 && top[pos-1].score < s {
			pos--
		}
		if pos < farmsPerMaterial {
			f.top[i] = slices.Insert(top, pos, farmPick{p, s})[:min(len(top)+1, farmsPerMaterial)]
		}
	}
}

// foodBatch is a food batch that may be given inputs.
type foodBatch struct {
	gtin, batch, name string
	producer          int64
	made              record.Date
	quantity          int64 // units made
}

// rawProduct is a raw material as grown by one farm.
type rawProduct struct {
	gtin string
	m    *rawMaterial
	farm demoProducer
	lots int // lots numbered so far
}

// rawLot is a lot of a raw product.
type rawLot struct {
	prod     *rawProduct
	batch    string
	made     record.Date
	quantity int64 // kilograms
}

// rawInput is a raw lot as it went into a food batch.
type rawInput struct {
	lot *rawLot
	kg  float64
}

// lineagePlan is the raw materials of the food batches.
type lineagePlan struct {
	products []*rawProduct
	lots     []*rawLot
	outputs  []foodBatch           // the food batches given inputs
	inputs   map[string][]rawInput // by output "gtin/batch"
}

// lineageFoods picks the food batches to give inputs: those of products
// with a recipe, round robin over the products (first batches first), at
// most maxLineageBatches.
func lineageFoods(products [][]foodBatch) []foodBatch {
	var out []foodBatch
	for j := 0; len(out) < maxLineageBatches; j++ {
		more := false
		for _, bs := range products {
			if j >= len(bs) || recipeOf(bs[j].name) == nil {
				continue
			}
			more = true
			if len(out) < maxLineageBatches {
				out = append(out, bs[j])
			}
		}
		if !more {
			break
		}
	}
	return out
}

// planLineage plans the raw products and lots of the food batches and
// how much of which lot went into each.
func planLineage(rng *rand.Rand, foods []foodBatch, farms *farmFinder) *lineagePlan {
	pl := &lineagePlan{inputs: map[string][]rawInput{}}
	type use struct {
		food int // index in foods
		kg   float64
	}
	uses := make([][]use, len(rawMaterials))
	for i, f := range foods {
		for _, part := range recipeOf(f.name) {
			m := materialIndex(part.material)
			kg := math.Round(float64(f.quantity)*part.perUnit*(0.95+0.1*rng.Float64())*10) / 10
			uses[m] = append(uses[m], use{i, max(kg, 0.1)})
		}
	}
	products := map[[2]int64]*rawProduct{} // (material, farm) → product
	given := map[int]bool{}
	for mi, us := range uses {
		farmsOf := farms.top[mi]
		if len(us) == 0 || len(farmsOf) == 0 {
			continue
		}
		slices.SortStableFunc(us, func(a, b use) int { return strings.Compare(string(foods[a.food].made), string(foods[b.food].made)) })
		for i := 0; i < len(us); {
			first := foods[us[i].food]
			var choices []demoProducer
			for _, fp := range farmsOf {
				if fp.p.id != first.producer {
					choices = append(choices, fp.p)
				}
			}
			if len(choices) == 0 {
				choices = []demoProducer{farmsOf[0].p}
			}
			farm := choices[rng.IntN(len(choices))]
			rp := products[[2]int64{int64(mi), farm.id}]
			if rp == nil {
				body := fmt.Sprintf("%s%08d", rawGTINPrefix, len(pl.products)+1)
				ck, _ := code.GTINCheck(body)
				rp = &rawProduct{gtin: body + string(ck), m: &rawMaterials[mi], farm: farm}
				products[[2]int64{int64(mi), farm.id}] = rp
				pl.products = append(pl.products, rp)
			}
			made := first.made.AddDate(0, 0, -(3 + rng.IntN(12)))
			rp.lots++
			lot := &rawLot{prod: rp, made: made, batch: fmt.Sprintf("YL%s%02d", strings.ReplaceAll(string(made), "-", ""), rp.lots)}
			pl.lots = append(pl.lots, lot)
			total := 0.0
			add := func(u use) {
				f := foods[u.food]
				k := f.gtin + "/" + f.batch
				pl.inputs[k] = append(pl.inputs[k], rawInput{lot, u.kg})
				given[u.food] = true
				total += u.kg
			}
			add(us[i])
			i++
			// The rest of the lot goes into the next batches made within
			// 40 days of it (not by its own grower).
			for more := rng.IntN(3); more > 0 && i < len(us); more-- {
				next := foods[us[i].food]
				if next.made > made.AddDate(0, 0, 40) || next.producer == farm.id {
					break
				}
				add(us[i])
				i++
			}
			lot.quantity = int64(math.Ceil(total * (1.05 + 0.25*rng.Float64())))
		}
	}
	for i, f := range foods {
		if given[i] {
			pl.outputs = append(pl.outputs, f)
		}
	}
	return pl
}

// events are the raw lots' produced events, by their growers, and the
// testing centre's inspections of them a day or two after (and before
// they were used); seq numbers the inspection reports on from the others.
func (pl *lineagePlan) events(rng *rand.Rand, now time.Time, seq int) ([]trace.EventInput, []epcisInspection) {
	var evs []trace.EventInput
	var ins []epcisInspection
	for _, l := range pl.lots {
		made := l.made.Time().Add(8 * time.Hour)
		g := l.prod.gtin
		evs = append(evs, trace.EventInput{EventID: "P-" + g + "-" + l.batch, Type: trace.EventProduced, GTIN: g, Batch: l.batch,
			Time: made.In(clock.Shanghai).Format(time.RFC3339), SubjectCode: l.prod.farm.code, Quantity: l.quantity,
			ReadPoint: plantLocation(l.prod.farm, 3), BizLocation: plantLocation(l.prod.farm, 4)})
		seq++
		inspected := made.Add(day + time.Duration(2+rng.IntN(20))*time.Hour)
		if inspected.After(now) {
			inspected = now
		}
		ins = append(ins, epcisInspection{gtin: g, batch: l.batch, at: inspected, disposition: "conformant",
			report: fmt.Sprintf("CDJC%s%05d", made.Format("2006"), seq), note: l.prod.m.test + "：合格"})
	}
	return evs, ins
}

// record records each food batch's inputs through the service as ctx's
// actor; it returns the input links written.
func (pl *lineagePlan) record(ctx context.Context, svc *trace.Service) (int, error) {
	n := 0
	for _, f := range pl.outputs {
		var refs []trace.InputRef
		for _, in := range pl.inputs[f.gtin+"/"+f.batch] {
			refs = append(refs, trace.InputRef{GTIN: in.lot.prod.gtin, Batch: in.lot.batch, Quantity: in.kg, UOM: "KGM"})
		}
		res, err := svc.AddInputs(ctx, f.gtin, f.batch, refs)
		if err != nil {
			return n, fmt.Errorf("inputs of %s/%s: %w", f.gtin, f.batch, err)
		}
		for _, r := range res {
			if r.Status == trace.ResultCreated {
				n++
			}
		}
	}
	return n, nil
}

// recallLot picks the raw lot the demo recalls, with the food batches
// made from it (a cascade): of those that went into the most food
// batches (at least two), a hawthorn lot if any (Chengde's signature
// fruit), else the first; nil when no lot went into two.
func (pl *lineagePlan) recallLot() *rawLot {
	uses := map[*rawLot]int{}
	for _, f := range pl.outputs {
		for _, in := range pl.inputs[f.gtin+"/"+f.batch] {
			uses[in.lot]++
		}
	}
	var best *rawLot
	better := func(l *rawLot) bool {
		if best == nil || uses[l] != uses[best] {
			return best == nil || uses[l] > uses[best]
		}
		return l.prod.m.name == "鲜山楂" && best.prod.m.name != "鲜山楂"
	}
	for _, l := range pl.lots {
		if uses[l] >= 2 && better(l) {
			best = l
		}
	}
	return best
}
