package trace

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/errs"
)

// Batch lineage: which batches a batch was made from (its inputs: the raw
// lots of a processed food, the ingredients of a drug) — GS1 EPCIS's
// TransformationEvent, inputs to outputs. A trace backward goes up the
// inputs to where the raw materials came from and who answered for them;
// a trace forward and a recall go down to every batch made from a batch,
// and from there to their orders.
//
// Inputs are recorded by the output batch's producer (or a department,
// the credit office) when the batch is registered or later, never changed
// or removed. An input must be a registered batch made no later than the
// output; a batch cannot be made from itself, directly or through others.

// Input is one input of a batch.
type Input struct {
	BatchID    int64   // the output batch
	InputID    int64   // the batch it was made from
	Quantity   float64 // how much of the input went in; 0 when not reported
	UOM        string  // the unit of Quantity (a code of Units)
	ActorID    int64
	ActorName  string
	RecordedAt time.Time
}

// Link is an input as read along the lineage, with the batch at its other
// end: the input batch going up, the output batch going down.
type Link struct {
	Input
	Other *Batch
}

// InputRef is an input batch as submitted.
type InputRef struct {
	GTIN     string  `json:"gtin"`
	Batch    string  `json:"batch"`
	Quantity float64 `json:"quantity,omitempty"` // how much of it went into the batch
	// UOM is the unit of Quantity, a UN/ECE Recommendation 20 code as in
	// EPCIS (KGM, GRM, TNE, LTR, MLT); empty: units (件).
	UOM string `json:"uom,omitempty"`
}

// Unit is a unit of a quantity: its UN/ECE Recommendation 20 code (as
// EPCIS writes it; "" for units), its Chinese name, and what it measures
// (dim) in multiples (scale) of that dimension's base unit.
type Unit struct {
	Code, Label string
	dim         string
	scale       float64
}

// Units are the accepted units, units first, then mass (base KGM) and
// volume (base LTR).
var Units = []Unit{{"", "件", "units", 1}, {"KGM", "千克", "mass", 1}, {"GRM", "克", "mass", 0.001}, {"TNE", "吨", "mass", 1000},
	{"LTR", "升", "volume", 1}, {"MLT", "毫升", "volume", 0.001}}

// unitAliases are other Rec. 20 codes EPCIS documents use for units:
// EA (each), H87 (piece), C62 (one).
var unitAliases = map[string]string{"EA": "", "H87": "", "C62": ""}

// unitOf finds a unit by its code, in any case, or an alias of it.
func unitOf(code string) (Unit, bool) {
	c := strings.ToUpper(strings.TrimSpace(code))
	if a, ok := unitAliases[c]; ok {
		c = a
	}
	for _, u := range Units {
		if u.Code == c {
			return u, true
		}
	}
	return Unit{}, false
}

// Limits of the lineage.
const (
	// MaxInputs is the most inputs one request records.
	MaxInputs = 100
	// lineageDepth is how many steps a lineage goes up or down.
	lineageDepth = 8
	// lineageNodes is the most batches a lineage lists in one direction.
	lineageNodes = 100
	// cycleNodes is the most batches the cycle check walks; a lineage
	// larger than that is refused rather than left unchecked.
	cycleNodes = 10000
	// lineageTries is how often a lineage write is checked again after
	// another write moved the lineage under it. Every move is another
	// write's success, so a writer is refused this way only after that
	// many other lineage writes landed while it tried; between tries it
	// waits a jittered, growing pause (lineagePause) so that writers
	// arriving together spread out.
	lineageTries = 20
	// lineagePause is the longest pause between two tries.
	lineagePause = 40 * time.Millisecond
)

// NoLineageCheck is the LineageGen of a write the lineage's checks do not
// depend on: it neither reads nor moves the generation.
const NoLineageCheck int64 = -1

// errLineageMoved marks LineageMoved's errors.
var errLineageMoved = errors.New("lineage generation moved")

// LineageMoved is the error of a store write whose LineageGen is no
// longer the stored one: another write changed the lineage after this
// one's checks read it. Nothing was stored; the service checks again.
func LineageMoved() error {
	return &errs.Error{Code: errs.Conflict, Field: "inputs", Err: errLineageMoved,
		Message: "原料关系正被同时登记或修改，请稍后重试 (the lineage changed while this request was checked; retry)"}
}

// guarded runs check-then-write under the lineage's generation: the
// generation is read, then attempt checks against the lineage and writes
// with it; when another write moved the lineage in between, attempt runs
// again (at most lineageTries times) against what that write stored. So
// no two writes checked against the same lineage are both stored: the
// cycle check and the mass balance hold under concurrent requests.
func (s *Service) guarded(ctx context.Context, attempt func(gen int64) error) error {
	var err error
	for try := range lineageTries {
		if try > 0 {
			if err := pause(ctx, try); err != nil {
				return err
			}
		}
		var gen int64
		if gen, err = s.Store.LineageGen(ctx); err != nil {
			return err
		}
		if err = attempt(gen); !errors.Is(err, errLineageMoved) {
			return err
		}
	}
	return err
}

// pause waits before the try-th try of a lineage write: a random share
// of a step that doubles from 1 ms up to lineagePause, or until ctx ends.
func pause(ctx context.Context, try int) error {
	step := pauseStep(try)
	t := time.NewTimer(step/2 + rand.N(step/2+1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// pauseStep is the step of the try-th try's pause.
func pauseStep(try int) time.Duration {
	return min(time.Millisecond<<min(try-1, 10), lineagePause)
}

// InputResult is the fate of one submitted input.
type InputResult struct {
	Line   int    `json:"line"`
	Status string `json:"status"` // created | unchanged
	GTIN   string `json:"gtin"`
	Batch  string `json:"batch"`
}

// AddInputs records the batches a registered batch was made from. The
// whole request is checked first and stored in one transaction: any bad
// input refuses all, each error naming its input (inputs[2].batch). An
// input already recorded with the same quantity is unchanged; with
// another quantity it is a Conflict (inputs are never changed).
func (s *Service) AddInputs(ctx context.Context, gtin, batch string, ins []InputRef) ([]InputResult, error) {
	const op = "trace.AddInputs"
	a := account.From(ctx)
	if anonymous(a) {
		return nil, errs.Wrap(op, errAuth)
	}
	if len(ins) == 0 {
		return nil, errs.Wrap(op, errs.Field("inputs", "至少给出一个原料批次 (no inputs)"))
	}
	b, _, _, err := s.batchAndProduct(ctx, s.lookups(), gtin, batch)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	if err := mayManage(a, b.ProducerID); err != nil {
		return nil, errs.Wrap(op, err)
	}
	res, _, err := s.addInputs(ctx, a, b, ins, s.now())
	return res, errs.Wrap(op, err)
}

// addInputs checks and stores the inputs of the stored batch b for a
// (who may manage it); created tells whether any was new.
func (s *Service) addInputs(ctx context.Context, a account.Actor, b *Batch, ins []InputRef, now time.Time) (res []InputResult, created bool, err error) {
	err = s.guarded(ctx, func(gen int64) error {
		var news []*Input
		news, res, err = s.checkInputs(ctx, a, b, ins, now)
		if err != nil || len(news) == 0 {
			created = false
			return err
		}
		created = true
		return s.Store.AddInputs(ctx, news, gen, a.Audit(audit.ActCreate, "trace_batch_inputs", b.GTIN+"/"+b.Batch))
	})
	if err != nil {
		return nil, false, err
	}
	return res, created, nil
}

// checkInputs checks the inputs of batch out (out.ID 0: not stored yet)
// and returns those not recorded yet, ready to store, and each input's
// result. Errors name the input: inputs[i].field.
func (s *Service) checkInputs(ctx context.Context, a account.Actor, out *Batch, ins []InputRef, now time.Time) ([]*Input, []InputResult, error) {
	if len(ins) > MaxInputs {
		return nil, nil, errs.Field("inputs", "一次最多登记 %d 个原料批次 (at most %d inputs)", MaxInputs, MaxInputs)
	}
	stored := map[int64]Input{}
	if out.ID != 0 {
		links, err := s.Store.Lineage(ctx, []int64{out.ID}, true)
		if err != nil {
			return nil, nil, err
		}
		for _, k := range links {
			stored[k.InputID] = k.Input
		}
	}
	var l errs.List
	var news []*Input
	res := make([]InputResult, len(ins))
	seen := map[int64]int{}
	var fresh []int64 // input ids not recorded yet: the cycle check walks up from them
	for i, in := range ins {
		f := fmt.Sprintf("inputs[%d].", i)
		res[i] = InputResult{Line: i + 1}
		n := len(l)
		g, err := ParseGTIN(f+"gtin", in.GTIN)
		if err != nil {
			l = append(l, errs.All(err)...)
		}
		bn, err := ParseBatch(f+"batch", in.Batch)
		if err != nil {
			l = append(l, errs.All(err)...)
		}
		if math.IsNaN(in.Quantity) || in.Quantity < 0 || in.Quantity > 1e12 {
			l.Add(f+"quantity", "用量必须是 0 到 10^12 之间的数 (quantity out of range)")
		}
		uom := checkUOM(&l, f+"uom", in.UOM, in.Quantity != 0)
		if len(l) > n {
			continue
		}
		res[i].GTIN, res[i].Batch = g, bn
		ib, err := s.findBatch(ctx, g, bn)
		if err != nil && !errs.Is(err, errs.NotFound) {
			return nil, nil, err
		}
		switch {
		case ib == nil:
			l.Add(f+"batch", "原料批次 %s/%s 未登记：请先由其生产者登记该批次 (input batch not registered)", g, bn)
		case ib.ID == out.ID || ib.GTIN == out.GTIN && ib.Batch == out.Batch:
			l.Add(f+"batch", "批次不能以自身为原料 (a batch cannot be its own input)")
		case seen[ib.ID] > 0:
			l.Add(f+"batch", "与第 %d 个原料批次重复 (duplicate input)", seen[ib.ID])
		case out.ProducedOn != "" && ib.ProducedOn > out.ProducedOn:
			l.Add(f+"batch", "原料批次 %s/%s 生产于 %s，晚于本批次的生产日期 %s，不可能用于本批次 (input made after the batch)", ib.GTIN, ib.Batch, ib.ProducedOn, out.ProducedOn)
		}
		if len(l) > n {
			continue
		}
		if q, ok := convert(in.Quantity, uom, ib.UOM); in.Quantity > 0 && ib.Quantity > 0 && ok {
			// Mass balance: what is recorded as made from the lot, in its
			// own unit, cannot exceed what the lot held.
			if _, ok := stored[ib.ID]; !ok {
				down, err := s.Store.Lineage(ctx, []int64{ib.ID}, false)
				if err != nil {
					return nil, nil, err
				}
				if used := usedOf(ib, down); used+q > float64(ib.Quantity)*(1+balanceSlack) {
					l.Add(f+"quantity", "原料批次 %s/%s 共 %s，已登记用于其他批次 %s，再用 %s 将超出其数量 (more than the input batch held)",
						ib.GTIN, ib.Batch, FormatQuantity(float64(ib.Quantity), ib.UOM), orNone(FormatQuantity(used, ib.UOM)), FormatQuantity(in.Quantity, uom))
				}
			}
		}
		if len(l) > n {
			continue
		}
		res[i].GTIN, res[i].Batch = ib.GTIN, ib.Batch
		seen[ib.ID] = i + 1
		if ex, ok := stored[ib.ID]; ok {
			if ex.Quantity != in.Quantity || ex.UOM != uom {
				l = append(l, &errs.Error{Code: errs.Conflict, Field: f + "quantity", Message: fmt.Sprintf(
					"该原料批次已登记，用量为 %s，原料记录不能更改 (input recorded already with another quantity)", FormatQuantity(ex.Quantity, ex.UOM))})
				continue
			}
			res[i].Status = ResultUnchanged
			continue
		}
		res[i].Status = ResultCreated
		news = append(news, &Input{BatchID: out.ID, InputID: ib.ID, Quantity: in.Quantity, UOM: uom, ActorID: a.AccountID, ActorName: a.Name, RecordedAt: now})
		fresh = append(fresh, ib.ID)
	}
	if len(l) == 1 {
		return nil, nil, l[0] // keeps its code: a lone Conflict stays one
	}
	if err := l.Err(); err != nil {
		return nil, nil, err
	}
	if out.ID != 0 && len(fresh) > 0 {
		// A new input that is out itself, or made from out (however far
		// down), would close a cycle: walk up from the new inputs.
		if via, err := s.reaches(ctx, fresh, out.ID); err != nil {
			return nil, nil, err
		} else if via != 0 {
			for i := range ins {
				if res[i].Status == ResultCreated && seen[via] == i+1 {
					return nil, nil, errs.Field(fmt.Sprintf("inputs[%d].batch", i), "原料批次 %s/%s 本身由本批次（直接或间接）制成，不能互为原料 (the input is made from this batch: a cycle)",
						res[i].GTIN, res[i].Batch)
				}
			}
			return nil, nil, errs.Field("inputs", "原料批次由本批次（直接或间接）制成，不能互为原料 (a cycle)")
		}
	}
	return news, res, nil
}

// reaches reports which of the batches from (if any) has target among its
// inputs, however far up; 0 when none. A lineage too large to walk is
// an error: a cycle is never let through unchecked.
func (s *Service) reaches(ctx context.Context, from []int64, target int64) (int64, error) {
	root := map[int64]int64{} // batch → the batch of from it was reached from
	for _, id := range from {
		if id == target {
			return id, nil
		}
		root[id] = id
	}
	var via int64
	tooLarge := false
	_, err := s.walkLineage(ctx, from, true, math.MaxInt, func(_ int, k Link) (bool, bool) {
		root[k.InputID] = root[k.BatchID]
		if k.InputID == target {
			via = root[k.InputID]
			return false, true
		}
		tooLarge = len(root) > cycleNodes
		return true, tooLarge
	})
	if err == nil && tooLarge {
		err = &errs.Error{Code: errs.Invalid, Field: "inputs", Message: fmt.Sprintf("原料链超过 %d 个批次，无法校验 (lineage too large to check)", cycleNodes)}
	}
	return via, err
}

// walkLineage visits the lineage of the batches from in one direction
// (up: their inputs), breadth first, one query a level, each batch once
// (by the first link that reaches it, at its nearest depth), at most
// maxDepth levels: visit says whether to go on past the link's far batch
// (follow) and whether to end the walk (stop). deeper reports that levels
// were left below maxDepth.
func (s *Service) walkLineage(ctx context.Context, from []int64, up bool, maxDepth int, visit func(depth int, k Link) (follow, stop bool)) (deeper bool, err error) {
	seen := map[int64]bool{}
	for _, id := range from {
		seen[id] = true
	}
	level := slices.Clone(from)
	for depth := 1; len(level) > 0; depth++ {
		if depth > maxDepth {
			return true, nil
		}
		links, err := s.Store.Lineage(ctx, level, up)
		if err != nil {
			return false, err
		}
		level = level[:0]
		for _, k := range links {
			if seen[k.Other.ID] {
				continue
			}
			seen[k.Other.ID] = true
			follow, stop := visit(depth, k)
			if stop {
				return false, nil
			}
			if follow {
				level = append(level, k.Other.ID)
			}
		}
	}
	return false, nil
}

// keepLineage checks a batch's new dates and quantity against its
// lineage: made no earlier than its inputs and no later than what was
// made from it (dated), and holding at least what is recorded as made
// from it (amount).
func (s *Service) keepLineage(ctx context.Context, b *Batch, dated, amount bool) error {
	if !dated && (!amount || b.Quantity == 0) {
		return nil
	}
	if dated {
		up, err := s.Store.Lineage(ctx, []int64{b.ID}, true)
		if err != nil {
			return err
		}
		for _, k := range up {
			if o := k.Other; o.ProducedOn > b.ProducedOn {
				return errs.Field("produced_on", "生产日期 %s 早于原料批次 %s/%s 的生产日期 %s (production before an input's)", b.ProducedOn, o.GTIN, o.Batch, o.ProducedOn)
			}
		}
	}
	down, err := s.Store.Lineage(ctx, []int64{b.ID}, false)
	if err != nil {
		return err
	}
	for _, k := range down {
		if o := k.Other; dated && o.ProducedOn < b.ProducedOn {
			return errs.Field("produced_on", "生产日期 %s 晚于以其为原料的批次 %s/%s 的生产日期 %s (production after a batch made from it)", b.ProducedOn, o.GTIN, o.Batch, o.ProducedOn)
		}
	}
	if amount && b.Quantity > 0 {
		if used := usedOf(b, down); used > float64(b.Quantity)*(1+balanceSlack) {
			return errs.Field("quantity", "已登记以该批次为原料的用量共 %s，超过新的数量 %s (less than recorded as made from it)",
				FormatQuantity(used, b.UOM), FormatQuantity(float64(b.Quantity), b.UOM))
		}
	}
	return nil
}

// convert turns q in unit from into unit to; ok false when they measure
// different things (kilograms and litres, pieces and kilograms).
func convert(q float64, from, to string) (float64, bool) {
	f, ok1 := unitOf(from)
	t, ok2 := unitOf(to)
	if !ok1 || !ok2 || f.dim != t.dim {
		return 0, false
	}
	return q * f.scale / t.scale, true
}

// balanceSlack is how much more than a lot held its recorded uses may add
// up to (weighing and rounding): 2%.
const balanceSlack = 0.02

// usedOf sums, in b's own unit, what the links down from b (the batches
// made from it) record as taken of it.
func usedOf(b *Batch, down []Link) float64 {
	used := 0.0
	for _, k := range down {
		if q, ok := convert(k.Quantity, k.UOM, b.UOM); ok {
			used += q
		}
	}
	return used
}

func orNone(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// checkUOM checks a unit (a key of UOMs, any case); given a unit needs a
// quantity (withQuantity).
func checkUOM(l *errs.List, field, v string, withQuantity bool) string {
	u, ok := unitOf(v)
	if !ok {
		var names []string
		for _, u := range Units[1:] {
			names = append(names, u.Code+"（"+u.Label+"）")
		}
		l.Add(field, "未知的计量单位「%s」，应为 %s 或空（件） (unknown unit)", clip(v, 20), strings.Join(names, "、"))
		return ""
	}
	if u.Code != "" && !withQuantity {
		l.Add(field, "给出计量单位时须给出数量或用量 (a unit needs a quantity)")
	}
	return u.Code
}

// FormatQuantity writes an input's quantity with its unit: "120.5 千克";
// "" when not reported.
func FormatQuantity(q float64, uom string) string {
	if q == 0 {
		return ""
	}
	u, _ := unitOf(uom)
	return strconv.FormatFloat(q, 'f', -1, 64) + " " + u.Label
}

// LineageNode is a batch of a lineage: an input (however far up) or a
// batch made from this one (however far down).
type LineageNode struct {
	// Depth is 1 for a direct input or output, 2 for one of theirs, …
	Depth int `json:"depth"`
	// Of is the batch one step nearer ("gtin/batch") that this one went
	// into (upstream) or was made from (downstream).
	Of            string      `json:"of"`
	GTIN          string      `json:"gtin"`
	Batch         string      `json:"batch"`
	ProductName   string      `json:"product_name"`
	Category      string      `json:"category"`
	CategoryLabel string      `json:"category_label"`
	Producer      *SubjectRef `json:"producer,omitempty"`
	ProducedOn    string      `json:"produced_on"`
	Status        string      `json:"status"`
	StatusLabel   string      `json:"status_label"`
	// Quantity and UOM: how much of the input went into Of (upstream), or
	// of Of into this one (downstream); 0 when not reported.
	Quantity      float64 `json:"quantity,omitempty"`
	UOM           string  `json:"uom,omitempty"`
	QuantityLabel string  `json:"quantity_label,omitempty"`
	// Inspections are the batch's inspection events, earliest first (at
	// most 20; upstream only).
	Inspections []EventView `json:"inspections,omitempty"`
	// Orders is how many orders hold the batch: downstream, in a forward
	// trace, within the caller's scope; absent elsewhere (and when none).
	Orders int64 `json:"orders,omitempty"`
}

// Lineage is both directions of a batch's lineage.
type Lineage struct {
	// Upstream: what the batch was made from, nearest first.
	Upstream []LineageNode `json:"upstream"`
	// Downstream: what was made from the batch, nearest first.
	Downstream []LineageNode `json:"downstream"`
	// Truncated: a direction had more than the listed batches (100 each)
	// or went deeper than 8 steps.
	Truncated bool `json:"truncated,omitempty"`
}

// RecalledSources are the upstream batches that were recalled: a batch
// made from one may carry what it was recalled for.
func (l *Lineage) RecalledSources() []LineageNode {
	if l == nil {
		return nil
	}
	var out []LineageNode
	for _, n := range l.Upstream {
		if n.Status == BatchRecalled {
			out = append(out, n)
		}
	}
	return out
}

// lineage walks one direction from b (walkLineage): each batch once, at
// its nearest depth. public drops the inspections' submitters and refs
// that name orders.
func (s *Service) lineage(ctx context.Context, l *subjects, b *Batch, up, public bool) ([]LineageNode, bool, error) {
	out := []LineageNode{}
	key := map[int64]string{b.ID: b.GTIN + "/" + b.Batch}
	full := false
	var nodeErr error
	deeper, err := s.walkLineage(ctx, []int64{b.ID}, up, lineageDepth, func(depth int, k Link) (bool, bool) {
		if full = len(out) == lineageNodes; full {
			return false, true
		}
		near := k.BatchID
		if !up {
			near = k.InputID
		}
		key[k.Other.ID] = k.Other.GTIN + "/" + k.Other.Batch
		n, err := s.lineageNode(ctx, l, k, key[near], depth, up, public)
		if err != nil {
			nodeErr = err
			return false, true
		}
		out = append(out, n)
		return true, false
	})
	if err == nil {
		err = nodeErr
	}
	if err == nil && up {
		err = s.nameNodeSites(ctx, l, out)
	}
	if err != nil {
		return nil, false, err
	}
	return out, deeper || full, nil
}

func (s *Service) lineageNode(ctx context.Context, l *subjects, k Link, of string, depth int, up, public bool) (LineageNode, error) {
	o := k.Other
	bv := o.View()
	n := LineageNode{Depth: depth, Of: of, GTIN: o.GTIN, Batch: o.Batch, ProducedOn: o.ProducedOn, Status: o.Status, StatusLabel: bv.StatusLabel,
		Quantity: k.Quantity, UOM: k.UOM, QuantityLabel: FormatQuantity(k.Quantity, k.UOM)}
	p, err := s.Store.GetProduct(ctx, o.GTIN)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return n, err
	}
	if p != nil {
		n.ProductName, n.Category, n.CategoryLabel = p.Name, p.Category, CategoryLabel(p.Category)
	}
	producer, err := l.get(ctx, o.ProducerID)
	if err != nil {
		return n, err
	}
	n.Producer = subjectRef(producer)
	if up {
		evs, err := s.Store.BatchEvents(ctx, o.GTIN, o.Batch, []EventType{EventInspected}, EventCursor{}, 20)
		if err != nil {
			return n, err
		}
		for _, e := range evs {
			sub, err := l.get(ctx, e.SubjectID)
			if err != nil {
				return n, err
			}
			n.Inspections = append(n.Inspections, eventView(e, sub, public))
		}
	}
	return n, nil
}

// nameNodeSites names the sites of every node's inspections with one
// lookup for all (nameSites), not one a node.
func (s *Service) nameNodeSites(ctx context.Context, l *subjects, nodes []LineageNode) error {
	var all []EventView
	for _, n := range nodes {
		all = append(all, n.Inspections...)
	}
	if len(all) == 0 {
		return nil
	}
	if err := s.nameSites(ctx, l, all); err != nil {
		return err
	}
	for i := range nodes {
		all = all[copy(nodes[i].Inspections, all):]
	}
	return nil
}

// batchLineage is both directions of b's lineage; public masks the
// inputs' inspections as the public trace does.
func (s *Service) batchLineage(ctx context.Context, l *subjects, b *Batch, public bool) (*Lineage, error) {
	lin := &Lineage{}
	var t1, t2 bool
	var err error
	if lin.Upstream, t1, err = s.lineage(ctx, l, b, true, public); err != nil {
		return nil, err
	}
	if lin.Downstream, t2, err = s.lineage(ctx, l, b, false, public); err != nil {
		return nil, err
	}
	lin.Truncated = t1 || t2
	return lin, nil
}

// downstreamReach fills the orders of each downstream batch (within the
// platform's orders when platform is not 0).
func (s *Service) downstreamReach(ctx context.Context, ns []LineageNode, platform int64) error {
	for i := range ns {
		r, err := s.reach(ctx, gtinForms(ns[i].GTIN), ns[i].Batch, platform)
		if err != nil {
			return err
		}
		ns[i].Orders = r.Orders
	}
	return nil
}
