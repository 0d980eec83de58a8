package trade

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/clock"
	"ecredit/code"
	"ecredit/errs"
	"ecredit/par"
	"ecredit/registry"
)

// Service applies the rules of orders, reviews and evaluations.
type Service struct {
	Store  Store
	Clock  clock.Clock
	Config Config // zero: DefaultConfig()
}

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return time.Now().UTC().Truncate(time.Microsecond)
	}
	return s.Clock.Now().UTC().Truncate(time.Microsecond)
}

func (s *Service) cfg() Config { return s.Config.withDefaults() }

// Limits of an order.
const (
	MaxBatch    = 1000 // orders in one batch
	MaxItems    = 100  // items in one order
	maxOrderNo  = 64
	maxBuyer    = 64
	maxWaybill  = 40
	maxBatchNo  = 40
	maxItemName = 200
	maxAmount   = 1_000_000_000_00 // ¥1e9 in fen
	maxQuantity = 1_000_000
)

// ItemInput is one line of a reported order.
type ItemInput struct {
	GTIN     string `json:"gtin"`
	Batch    string `json:"batch,omitempty"`
	Name     string `json:"name,omitempty"`
	Category string `json:"category,omitempty"`
	Quantity int    `json:"quantity"`
	PriceFen int64  `json:"price_fen"`
}

// OrderInput is an order as a platform reports it. Amounts are in fen (分);
// times are RFC 3339 instants, absent for "not yet".
type OrderInput struct {
	OrderNo string `json:"order_no"`
	// The shop: its id, or the platform's own shop id.
	ShopID         int64  `json:"shop_id,omitempty"`
	PlatformShopID string `json:"platform_shop_id,omitempty"`
	// PlatformID names the platform when the credit office reports with a
	// platform_shop_id; a platform's own id is implied.
	PlatformID  int64       `json:"platform_id,omitempty"`
	Buyer       string      `json:"buyer"`
	AmountFen   int64       `json:"amount_fen"`
	Items       []ItemInput `json:"items"`
	Status      Status      `json:"status,omitempty"` // derived from the times when absent
	PaidAt      time.Time   `json:"paid_at"`
	ShippedAt   time.Time   `json:"shipped_at,omitzero"`
	SignedAt    time.Time   `json:"signed_at,omitzero"`
	Region      string      `json:"region,omitempty"`       // destination, GB/T 2260
	Waybill     string      `json:"waybill,omitempty"`      // parcel number
	CarrierCode string      `json:"carrier_code,omitempty"` // logistics firm's credit code
}

// Result statuses of an ingest.
const (
	ResultCreated   = "created"
	ResultUnchanged = "unchanged" // same platform and order_no, same content
	ResultUpdated   = "updated"   // same order, later status or times
	ResultError     = "error"
)

// Result is the outcome of one reported order.
type Result struct {
	Line   int    // 1-based position in the batch
	Status string // created | unchanged | updated | error
	ID     int64
	Order  *Order
	Err    error
}

// checkText validates a free text field.
func checkText(l *errs.List, field, v string, max int, required bool) {
	if plainText(v, max) && (!required || strings.TrimSpace(v) != "") {
		return
	}
	// One pass over the runes for the three checks of the text itself.
	runes, invalid, control := 0, false, false
	for i := 0; i < len(v); {
		r, n := utf8.DecodeRuneInString(v[i:])
		invalid = invalid || (r == utf8.RuneError && n == 1)
		control = control || (unicode.IsControl(r) && r != '\n')
		runes++
		i += n
	}
	switch {
	case required && strings.TrimSpace(v) == "":
		l.Add(field, "不能为空 (required)")
	case invalid:
		l.Add(field, "不是有效的 UTF-8 文本 (invalid UTF-8)")
	case runes > max:
		l.Add(field, "不能超过 %d 个字符 (too long)", max)
	case control:
		l.Add(field, "不能包含控制字符 (control characters)")
	}
}

// plainText reports whether v is printable ASCII (spaces and newlines
// allowed) of at most max bytes: then none of checkText's refusals but
// "required" can apply, and the rune-by-rune checks are skipped.
func plainText(v string, max int) bool {
	if len(v) > max {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\n') || c >= 0x7f {
			return false
		}
	}
	return true
}

// CheckPseudonym refuses a buyer pseudonym that is empty, too long, or
// looks like personal data: a run of 15 or 18 digits (an ID number; the
// last may be X), an 11-digit mobile number (1[3-9]…), or an e-mail
// address. Buyers are platform-scoped pseudonyms; ecredit never needs to
// know who they are.
func CheckPseudonym(p string) error {
	switch {
	case strings.TrimSpace(p) == "":
		return fmt.Errorf("买家代号不能为空 (buyer pseudonym required)")
	case !utf8.ValidString(p) || utf8.RuneCountInString(p) > maxBuyer:
		return fmt.Errorf("买家代号须为不超过 %d 个字符的有效文本 (buyer pseudonym too long or invalid)", maxBuyer)
	case strings.ContainsFunc(p, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }):
		return fmt.Errorf("买家代号不能包含空白或控制字符 (no spaces or control characters)")
	case strings.Contains(p, "@"):
		return fmt.Errorf("买家代号不能是电子邮箱地址：请报送平台内的匿名代号，不要报送个人信息 (looks like an e-mail address: send a pseudonym, not personal data)")
	}
	// Runs of digits (an ID number may end in X).
	for i := 0; i < len(p); {
		if p[i] < '0' || p[i] > '9' {
			i++
			continue
		}
		j := i
		for j < len(p) && p[j] >= '0' && p[j] <= '9' {
			j++
		}
		run := p[i:j]
		x := j < len(p) && (p[j] == 'X' || p[j] == 'x')
		switch {
		case len(run) == 18 || len(run) == 15 || (len(run) == 17 && x):
			return fmt.Errorf("买家代号疑似公民身份号码：请报送平台内的匿名代号，不要报送个人信息 (looks like an ID number: send a pseudonym, not personal data)")
		case len(run) == 11 && run[0] == '1' && run[1] >= '3':
			return fmt.Errorf("买家代号疑似手机号码：请报送平台内的匿名代号，不要报送个人信息 (looks like a mobile number: send a pseudonym, not personal data)")
		}
		i = j
	}
	return nil
}

// MaskBuyer is how the public sees a buyer pseudonym: its first and last
// character around three stars (as Taobao shows nicknames).
func MaskBuyer(p string) string {
	r := []rune(p)
	switch len(r) {
	case 0:
		return ""
	case 1, 2:
		return string(r[0]) + "***"
	}
	return string(r[0]) + "***" + string(r[len(r)-1])
}

func checkWaybill(l *errs.List, w string) {
	if w == "" {
		return
	}
	if len(w) > maxWaybill {
		l.Add("waybill", "运单号不能超过 %d 个字符 (waybill too long)", maxWaybill)
		return
	}
	for _, c := range w {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-') {
			l.Add("waybill", "运单号只能包含字母、数字和 - (waybill may use letters, digits and -)")
			return
		}
	}
}

// pending is a validated input before its shop is resolved.
type pending struct {
	o       *Order
	in      *OrderInput
	carrier string // normalised credit code, "" when none
}

// itemFields are the field prefixes of the first items ("items.1." …),
// made once instead of for every item of every order.
var itemFields = func() []string {
	out := make([]string, MaxItems)
	for i := range out {
		out[i] = "items." + strconv.Itoa(i+1) + "."
	}
	return out
}()

func itemField(i int) string {
	if i < len(itemFields) {
		return itemFields[i]
	}
	return "items." + strconv.Itoa(i+1) + "."
}

// normalize validates every field of in that needs no lookup.
func (s *Service) normalize(in *OrderInput, now time.Time) (*pending, error) {
	c := s.cfg()
	var l errs.List
	o := &Order{OrderNo: strings.TrimSpace(in.OrderNo), Buyer: strings.TrimSpace(in.Buyer), AmountFen: in.AmountFen,
		Region: strings.TrimSpace(in.Region), Waybill: strings.TrimSpace(in.Waybill), Status: in.Status}
	checkText(&l, "order_no", o.OrderNo, maxOrderNo, true)
	if in.ShopID < 0 {
		l.Add("shop_id", "店铺 id 必须是正整数 (shop_id must be positive)")
	}
	if in.ShopID == 0 && strings.TrimSpace(in.PlatformShopID) == "" {
		l.Add("shop_id", "必须指定店铺 shop_id 或 platform_shop_id (shop required)")
	}
	checkText(&l, "platform_shop_id", in.PlatformShopID, 64, false)
	if err := CheckPseudonym(o.Buyer); err != nil {
		l.Add("buyer", "%s", err.Error())
	}
	if o.AmountFen < 0 || o.AmountFen > maxAmount {
		l.Add("amount_fen", "订单金额（分）须在 0 到 %d 之间 (amount_fen out of range)", int64(maxAmount))
	}
	switch {
	case len(in.Items) == 0:
		l.Add("items", "订单至少要有一件商品 (at least one item)")
	case len(in.Items) > MaxItems:
		l.Add("items", "一笔订单最多 %d 件商品 (at most %d items)", MaxItems, MaxItems)
	}
	o.Items = make([]Item, 0, min(len(in.Items), MaxItems))
	for i, it := range in.Items {
		if i >= MaxItems {
			break
		}
		f := itemField(i)
		item := Item{Line: i + 1, Batch: strings.TrimSpace(it.Batch), Name: strings.TrimSpace(it.Name), Category: it.Category,
			Quantity: it.Quantity, PriceFen: it.PriceFen}
		if code.ValidGTIN(it.GTIN) {
			item.GTIN = it.GTIN
		} else if r := code.ParseGTIN(it.GTIN); !r.Valid {
			l.Add(f+"gtin", "商品条码「%s」无效：%s (invalid GTIN)", clip(it.GTIN, 20), strings.Join(r.Errors, "；"))
		} else {
			item.GTIN = r.Normalized
		}
		if !plainText(item.Batch, maxBatchNo) { // the field's name made only for a refusal
			checkText(&l, f+"batch", item.Batch, maxBatchNo, false)
		}
		if !plainText(item.Name, maxItemName) {
			checkText(&l, f+"name", item.Name, maxItemName, false)
		}
		if _, ok := registry.Categories[item.Category]; item.Category != "" && !ok {
			l.Add(f+"category", "商品类目「%s」未知，可用：%s (unknown category)", clip(item.Category, 20), categoryList())
		}
		if item.Quantity < 1 || item.Quantity > maxQuantity {
			l.Add(f+"quantity", "数量须在 1 到 %d 之间 (quantity out of range)", maxQuantity)
		}
		if item.PriceFen < 0 || item.PriceFen > maxAmount {
			l.Add(f+"price_fen", "单价（分）须在 0 到 %d 之间 (price_fen out of range)", int64(maxAmount))
		}
		o.Items = append(o.Items, item)
	}
	// Times: paid ≤ shipped ≤ signed ≤ now (+ skew).
	o.PaidAt, o.ShippedAt, o.SignedAt = utcMicro(in.PaidAt), utcMicro(in.ShippedAt), utcMicro(in.SignedAt)
	limit := now.Add(c.FutureSkew)
	for _, t := range []struct {
		field string
		at    time.Time
	}{{"paid_at", o.PaidAt}, {"shipped_at", o.ShippedAt}, {"signed_at", o.SignedAt}} {
		if t.at.After(limit) {
			l.Add(t.field, "时间 %s 晚于当前时间，不可能发生 (time in the future)", t.at.In(clock.Shanghai).Format("2006-01-02 15:04:05"))
		}
	}
	switch {
	case o.PaidAt.IsZero():
		l.Add("paid_at", "必须提供付款时间 (paid_at required)")
	case !o.ShippedAt.IsZero() && o.ShippedAt.Before(o.PaidAt):
		l.Add("shipped_at", "发货时间早于付款时间，不可能发生 (shipped before paid)")
	}
	switch {
	case !o.SignedAt.IsZero() && o.ShippedAt.IsZero():
		l.Add("signed_at", "有签收时间却没有发货时间 (signed but never shipped)")
	case !o.SignedAt.IsZero() && o.SignedAt.Before(o.ShippedAt):
		l.Add("signed_at", "签收时间早于发货时间，不可能发生 (signed before shipped)")
	}
	if o.Status == "" {
		switch {
		case !o.SignedAt.IsZero():
			o.Status = StatusSigned
		case !o.ShippedAt.IsZero():
			o.Status = StatusShipped
		default:
			o.Status = StatusPaid
		}
	}
	switch {
	case !o.Status.Valid():
		l.Add("status", "订单状态「%s」未知，可用：paid, shipped, signed, cancelled, refunded (unknown status)", clip(string(o.Status), 20))
	case o.Status == StatusShipped && o.ShippedAt.IsZero():
		l.Add("status", "状态为已发货，但没有发货时间 shipped_at (shipped needs shipped_at)")
	case o.Status == StatusSigned && o.SignedAt.IsZero():
		l.Add("status", "状态为已签收，但没有签收时间 signed_at (signed needs signed_at)")
	case o.Status == StatusPaid && (!o.ShippedAt.IsZero() || !o.SignedAt.IsZero()):
		l.Add("status", "状态为已付款，却有发货或签收时间 (paid contradicts the times)")
	case o.Status == StatusShipped && !o.SignedAt.IsZero():
		l.Add("status", "状态为已发货，却有签收时间 (shipped contradicts signed_at)")
	}
	if o.Region != "" {
		if !code.KnownRegion(o.Region) || len(o.Region) != 6 {
			l.Add("region", "「%s」不是已知的 GB/T 2260 行政区划代码 (unknown region code)", clip(o.Region, 12))
		}
	}
	checkWaybill(&l, o.Waybill)
	p := &pending{o: o, in: in}
	if cc := strings.TrimSpace(in.CarrierCode); cc != "" {
		if r := code.ParseUSCC(cc); !r.Valid {
			l.Add("carrier_code", "物流企业统一社会信用代码无效：%s (invalid credit code)", strings.Join(r.Errors, "；"))
		} else {
			p.carrier = r.Normalized
		}
	}
	return p, l.Err()
}

func utcMicro(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func categoryList() string {
	var cs []string
	for k := range registry.Categories {
		cs = append(cs, k)
	}
	slices.Sort(cs)
	return strings.Join(cs, ", ")
}

// Ingest validates and stores one order (see IngestBatch).
func (s *Service) Ingest(ctx context.Context, in OrderInput) (*Result, error) {
	res, err := s.IngestBatch(ctx, []OrderInput{in})
	if err != nil {
		return nil, err
	}
	if res[0].Err != nil {
		return nil, res[0].Err
	}
	return &res[0], nil
}

// IngestBatch validates and stores up to MaxBatch orders. Every input gets
// its own result; good ones are stored even when others are bad. New orders
// go in with one multi-row insert per table in one transaction, updates in
// another, each with one audit entry for the batch; should a transaction
// fail, its orders are retried one by one so that one bad order cannot take
// the others down. Resubmitting an order (same platform and order_no) with
// the same content is "unchanged", with a later status or newly known
// times, waybill or carrier an update; any other difference is a Conflict
// naming the field.
func (s *Service) IngestBatch(ctx context.Context, ins []OrderInput) ([]Result, error) {
	const op = "trade.IngestBatch"
	a := account.From(ctx)
	if err := require(a, ScopeOrdersWrite); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if len(ins) > MaxBatch {
		return nil, &errs.Error{Code: errs.TooLarge, Op: op, Message: fmt.Sprintf("一批最多 %d 笔订单 (at most %d orders a batch)", MaxBatch, MaxBatch)}
	}
	now := s.now()
	out := make([]Result, len(ins))
	ps := make([]*pending, len(ins))
	fail := func(i int, err error) {
		out[i].Status, out[i].Err, ps[i] = ResultError, errs.Wrap(op, err), nil
	}
	// Validation needs no lookup and touches only its own line: a big
	// batch is validated on several cores (each line's result in its own
	// slot).
	par.Chunks(len(ins), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i].Line = i + 1
			p, err := s.normalize(&ins[i], now)
			if err != nil {
				fail(i, err)
				continue
			}
			ps[i] = p
		}
	})
	if err := s.resolveShops(ctx, a, ps, fail); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if err := s.resolveCarriers(ctx, ps, fail); err != nil {
		return nil, errs.Wrap(op, err)
	}
	// An order number twice in one batch is an error on the later line.
	seen := map[string]int{}
	var creates []*Order
	var createAt []int
	for i, p := range ps {
		if p == nil {
			continue
		}
		k := strconv.FormatInt(p.o.PlatformID, 10) + "\x00" + p.o.OrderNo
		if j, dup := seen[k]; dup {
			fail(i, errs.Field("order_no", "订单号「%s」在本批第 %d 笔已出现 (order_no repeated in the batch)", clip(p.o.OrderNo, 64), j+1))
			continue
		}
		seen[k] = i
		o := p.o
		o.CreatedAt, o.UpdatedAt, o.Version = now, now, 1
		creates, createAt = append(creates, o), append(createAt, i)
	}
	// Insert first: the store skips the orders the platform already
	// reported and hands them back, so a batch of new orders costs no
	// lookup; only the resubmitted ones are read and merged.
	entry := func(verb string) func([]*Order) *audit.Entry {
		return func(list []*Order) *audit.Entry { return batchEntry(a, verb, list) }
	}
	lineOf := make(map[*Order]int, len(creates))
	for k, o := range creates {
		lineOf[o] = createAt[k]
	}
	taken, err := s.Store.CreateOrders(ctx, creates, entry("新增"))
	if err != nil {
		if errs.CodeOf(err) == errs.Unavailable || ctx.Err() != nil {
			return nil, errs.Wrap(op, err)
		}
		// One by one, so that the bad order names itself.
		taken = taken[:0]
		for _, o := range creates {
			t, err := s.Store.CreateOrders(ctx, []*Order{o}, entry("新增"))
			switch {
			case err != nil:
				fail(lineOf[o], err)
			case len(t) > 0:
				taken = append(taken, o)
			}
		}
	}
	isTaken := make(map[*Order]bool, len(taken))
	for _, o := range taken {
		isTaken[o] = true
	}
	for _, o := range creates {
		if i := lineOf[o]; !isTaken[o] && out[i].Status != ResultError {
			out[i].Status, out[i].ID, out[i].Order = ResultCreated, o.ID, o
		}
	}
	if len(taken) == 0 {
		return out, nil
	}
	// Resubmissions: compare with what is stored.
	byPlatform := map[int64][]string{}
	for _, o := range taken {
		byPlatform[o.PlatformID] = append(byPlatform[o.PlatformID], o.OrderNo)
	}
	existing := map[int64]map[string]*Order{}
	for pid, nos := range byPlatform {
		m, err := s.Store.OrdersByNos(ctx, pid, nos)
		if err != nil {
			return nil, errs.Wrap(op, err)
		}
		existing[pid] = m
	}
	var updates []*Order
	var updateAt []int
	for _, o := range taken {
		i := lineOf[o]
		ex := existing[o.PlatformID][o.OrderNo]
		if ex == nil {
			// Gone between the insert and the read: orders are never
			// deleted, so only a concurrent failure gets here.
			fail(i, &errs.Error{Code: errs.Conflict, Field: "order_no", Message: "该订单号已被同时报送，请重新提交 (order reported concurrently; resubmit)"})
			continue
		}
		changed, err := merge(ex, o)
		if err != nil {
			fail(i, err)
			continue
		}
		if !changed {
			out[i].Status, out[i].ID, out[i].Order = ResultUnchanged, ex.ID, ex
			continue
		}
		ex.UpdatedAt = now
		updates, updateAt = append(updates, ex), append(updateAt, i)
	}
	if len(updates) == 0 {
		return out, nil
	}
	if err := s.Store.UpdateOrders(ctx, updates, batchEntry(a, "更新", updates)); err == nil {
		for k, o := range updates {
			out[updateAt[k]].Status, out[updateAt[k]].ID, out[updateAt[k]].Order = ResultUpdated, o.ID, o
		}
		return out, nil
	} else if errs.CodeOf(err) == errs.Unavailable || ctx.Err() != nil || len(updates) == 1 {
		if len(updates) > 1 {
			return nil, errs.Wrap(op, err)
		}
		fail(updateAt[0], err)
		return out, nil
	}
	// One by one, so that the stale or bad order names itself.
	for k, o := range updates {
		if err := s.Store.UpdateOrders(ctx, []*Order{o}, batchEntry(a, "更新", []*Order{o})); err != nil {
			fail(updateAt[k], err)
			continue
		}
		out[updateAt[k]].Status, out[updateAt[k]].ID, out[updateAt[k]].Order = ResultUpdated, o.ID, o
	}
	return out, nil
}

// batchEntry is the one audit entry of a batch write.
func batchEntry(a account.Actor, verb string, os []*Order) *audit.Entry {
	act := audit.ActCreate
	if verb == "更新" {
		act = audit.ActUpdate
	}
	detail := fmt.Sprintf("%s订单 %d 笔：%s", verb, len(os), os[0].OrderNo)
	if len(os) > 1 {
		detail += " … " + os[len(os)-1].OrderNo
	}
	return a.Audit(act, "orders:platform:"+strconv.FormatInt(os[0].PlatformID, 10), clip(detail, 300))
}

// resolveShops sets each pending order's shop, platform and seller, and
// applies tenancy: a platform reports only orders of its own shops.
func (s *Service) resolveShops(ctx context.Context, a account.Actor, ps []*pending, fail func(int, error)) error {
	var ids []int64
	psids := map[int64][]string{}
	platformOf := func(p *pending) int64 {
		if platformScoped(a) {
			return a.SubjectID
		}
		return p.in.PlatformID
	}
	for i, p := range ps {
		if p == nil {
			continue
		}
		if platformScoped(a) && p.in.PlatformID != 0 && p.in.PlatformID != a.SubjectID {
			fail(i, &errs.Error{Code: errs.Forbidden, Field: "platform_id", Message: "平台只能报送本平台的订单 (you may only report your own platform's orders)"})
			continue
		}
		if p.in.ShopID != 0 {
			ids = append(ids, p.in.ShopID)
			continue
		}
		pid := platformOf(p)
		if pid == 0 {
			fail(i, errs.Field("platform_id", "按 platform_shop_id 报送时必须指定 platform_id (platform_id required with platform_shop_id)"))
			continue
		}
		psids[pid] = append(psids[pid], strings.TrimSpace(p.in.PlatformShopID))
	}
	byID, err := s.Store.ShopsByIDs(ctx, ids)
	if err != nil {
		return err
	}
	byPSID := map[int64]map[string]*registry.Shop{}
	for pid, list := range psids {
		m, err := s.Store.ShopsByPlatformShopIDs(ctx, pid, list)
		if err != nil {
			return err
		}
		byPSID[pid] = m
	}
	for i, p := range ps {
		if p == nil {
			continue
		}
		var sh *registry.Shop
		if p.in.ShopID != 0 {
			sh = byID[p.in.ShopID]
			if sh == nil || (platformScoped(a) && sh.PlatformID != a.SubjectID) {
				// Another platform's shop is "not found", so that its
				// existence does not leak.
				fail(i, &errs.Error{Code: errs.NotFound, Field: "shop_id", Message: fmt.Sprintf("店铺 %d 不存在或不属于本平台 (no such shop on your platform)", p.in.ShopID)})
				continue
			}
			if p.in.PlatformID != 0 && sh.PlatformID != p.in.PlatformID {
				fail(i, errs.Field("platform_id", "店铺 %d 不在平台 %d 上 (shop is on another platform)", sh.ID, p.in.PlatformID))
				continue
			}
		} else {
			psid := strings.TrimSpace(p.in.PlatformShopID)
			sh = byPSID[platformOf(p)][psid]
			if sh == nil {
				fail(i, &errs.Error{Code: errs.NotFound, Field: "platform_shop_id", Message: fmt.Sprintf("本平台没有平台店铺编号为「%s」的店铺 (no such shop on the platform)", clip(psid, 64))})
				continue
			}
		}
		p.o.ShopID, p.o.PlatformID, p.o.SellerID = sh.ID, sh.PlatformID, sh.OwnerID
	}
	return nil
}

// resolveCarriers sets the carrier of orders that name one; it must be a
// registered logistics firm.
func (s *Service) resolveCarriers(ctx context.Context, ps []*pending, fail func(int, error)) error {
	var codes []string
	for _, p := range ps {
		if p != nil && p.carrier != "" {
			codes = append(codes, p.carrier)
		}
	}
	if len(codes) == 0 {
		return nil
	}
	subs, err := s.Store.FindSubjectsByCodes(ctx, codes)
	if err != nil {
		return err
	}
	for i, p := range ps {
		if p == nil || p.carrier == "" {
			continue
		}
		sub := subs[p.carrier]
		switch {
		case sub == nil:
			fail(i, errs.Field("carrier_code", "物流企业 %s 尚未登记 (carrier not registered)", p.carrier))
		case sub.Kind != registry.KindLogistics:
			fail(i, errs.Field("carrier_code", "%s 登记为「%s」，不是寄递物流企业 (not a logistics firm)", p.carrier, sub.Kind.Label()))
		default:
			p.o.CarrierID = sub.ID
		}
	}
	return nil
}

// merge applies a resubmission n to the stored order ex: it reports
// whether anything moved forward, or a Conflict naming the first field
// that differs in a way no later state explains.
func merge(ex, n *Order) (bool, error) {
	conflict := func(field, what string) error {
		return &errs.Error{Code: errs.Conflict, Field: field, Message: fmt.Sprintf(
			"订单号「%s」已报送（订单 %d），%s与已保存的不同；订单内容不能更改，只能推进状态和补充时间、运单 (order already reported with different content)", clip(ex.OrderNo, 64), ex.ID, what)}
	}
	switch {
	case ex.ShopID != n.ShopID:
		return false, conflict("shop_id", "店铺")
	case ex.Buyer != n.Buyer:
		return false, conflict("buyer", "买家")
	case ex.AmountFen != n.AmountFen:
		return false, conflict("amount_fen", "金额")
	case ex.Region != n.Region:
		return false, conflict("region", "收货地区")
	case !slices.Equal(ex.Items, n.Items):
		return false, conflict("items", "商品明细")
	case !ex.PaidAt.Equal(n.PaidAt):
		return false, conflict("paid_at", "付款时间")
	}
	changed := false
	for _, f := range []struct {
		field, what string
		old, new    *time.Time
	}{{"shipped_at", "发货时间", &ex.ShippedAt, &n.ShippedAt}, {"signed_at", "签收时间", &ex.SignedAt, &n.SignedAt}} {
		switch {
		case f.new.IsZero() && !f.old.IsZero():
			return false, &errs.Error{Code: errs.Conflict, Field: f.field, Message: fmt.Sprintf("订单 %d 已有%s，重新报送时不能缺少 (the stored order already has %s)", ex.ID, f.what, f.field)}
		case f.old.IsZero() && !f.new.IsZero():
			*f.old, changed = *f.new, true
		case !f.old.Equal(*f.new):
			return false, conflict(f.field, f.what)
		}
	}
	for _, f := range []struct {
		field, what string
		old, new    *string
	}{{"waybill", "运单号", &ex.Waybill, &n.Waybill}} {
		switch {
		case *f.new == "" && *f.old != "":
			return false, &errs.Error{Code: errs.Conflict, Field: f.field, Message: fmt.Sprintf("订单 %d 已有运单号，重新报送时不能缺少 (the stored order already has a waybill)", ex.ID)}
		case *f.old == "" && *f.new != "":
			*f.old, changed = *f.new, true
		case *f.old != *f.new:
			return false, conflict(f.field, f.what)
		}
	}
	switch {
	case n.CarrierID == 0 && ex.CarrierID != 0:
		return false, &errs.Error{Code: errs.Conflict, Field: "carrier_code", Message: fmt.Sprintf("订单 %d 已有物流企业，重新报送时不能缺少 (the stored order already has a carrier)", ex.ID)}
	case ex.CarrierID == 0 && n.CarrierID != 0:
		ex.CarrierID, changed = n.CarrierID, true
	case ex.CarrierID != n.CarrierID:
		return false, conflict("carrier_code", "物流企业")
	}
	if n.Status != ex.Status {
		if n.Status.rank() < ex.Status.rank() {
			return false, &errs.Error{Code: errs.Conflict, Field: "status", Message: fmt.Sprintf("订单 %d 已是「%s」，状态不能退回「%s」(status cannot go back)", ex.ID, ex.Status.Label(), n.Status.Label())}
		}
		ex.Status, changed = n.Status, true
	}
	return changed, nil
}

// orderFor loads an order the actor may see: another platform's order is
// "belongs to another platform" for writes (forbidden) and NotFound for
// reads.
func (s *Service) orderFor(ctx context.Context, a account.Actor, id int64, write bool) (*Order, error) {
	if id <= 0 {
		return nil, &errs.Error{Code: errs.NotFound, Field: "id", Message: "订单不存在 (order does not exist)"}
	}
	o, err := s.Store.GetOrder(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return nil, &errs.Error{Code: errs.NotFound, Field: "id", Message: fmt.Sprintf("订单 %d 不存在 (order does not exist)", id), Err: err}
	}
	if err != nil {
		return nil, err
	}
	if platformScoped(a) && o.PlatformID != a.SubjectID {
		if write {
			return nil, &errs.Error{Code: errs.Forbidden, Field: "id", Message: fmt.Sprintf("订单 %d 属于其他平台 (order belongs to another platform)", id)}
		}
		return nil, &errs.Error{Code: errs.NotFound, Field: "id", Message: fmt.Sprintf("订单 %d 不存在 (order does not exist)", id)}
	}
	return o, nil
}

// OrderDetail is an order with its review and the seller's rating of the
// buyer, when they exist.
type OrderDetail struct {
	Order       *Order
	Review      *Review
	BuyerRating *BuyerRating
}

// GetOrder returns an order with its review and buyer rating.
func (s *Service) GetOrder(ctx context.Context, id int64) (*OrderDetail, error) {
	const op = "trade.GetOrder"
	a := account.From(ctx)
	if err := require(a, ScopeOrdersRead); err != nil {
		return nil, errs.Wrap(op, err)
	}
	o, err := s.orderFor(ctx, a, id, false)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	d := &OrderDetail{Order: o}
	if d.Review, err = s.Store.ReviewOfOrder(ctx, id); err != nil && !errs.Is(err, errs.NotFound) {
		return nil, errs.Wrap(op, err)
	}
	if d.BuyerRating, err = s.Store.BuyerRatingOfOrder(ctx, id); err != nil && !errs.Is(err, errs.NotFound) {
		return nil, errs.Wrap(op, err)
	}
	return d, nil
}

// ListOrders lists orders a page at a time; a platform sees only its own.
func (s *Service) ListOrders(ctx context.Context, f OrderFilter) ([]*Order, error) {
	const op = "trade.ListOrders"
	a := account.From(ctx)
	if err := require(a, ScopeOrdersRead); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if err := ownPlatform(a, &f.PlatformID, "平台只能查看本平台的订单 (you may only list your own orders)"); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	return s.Store.ListOrders(ctx, f)
}
