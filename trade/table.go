package trade

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"ecredit/clock"
	"ecredit/errs"
	"ecredit/imports"
	"ecredit/registry"
)

// OrderFileColumns are the columns of an orders file (CSV or XLSX, the
// first row the header): one row per order item, the order's own columns
// repeated on each of its rows, the rows of one order next to each other
// — the shape of a platform's order export. Amounts and prices are in 元
// (two decimals at most) or, in the *_fen columns, in 分; times are
// "2006-01-02 15:04:05" in China Standard Time or RFC 3339.
var OrderFileColumns = imports.Columns{
	{Field: "order_no", Headers: []string{"order_no", "订单号", "订单编号"}, Required: true},
	{Field: "platform_shop_id", Headers: []string{"platform_shop_id", "店铺编号", "平台店铺编号", "店铺ID"}, Required: true},
	{Field: "buyer", Headers: []string{"buyer", "买家", "买家标识", "买家昵称"}, Required: true},
	{Field: "amount", Headers: []string{"amount", "订单金额", "订单金额（元）", "订单金额(元)", "实付金额"}},
	{Field: "amount_fen", Headers: []string{"amount_fen", "订单金额（分）", "订单金额(分)"}},
	{Field: "gtin", Headers: []string{"gtin", "商品条码", "条码", "GTIN"}, Required: true},
	{Field: "batch", Headers: []string{"batch", "批次", "批号", "生产批号"}},
	{Field: "name", Headers: []string{"name", "商品名称", "品名"}},
	{Field: "category", Headers: []string{"category", "商品类目", "类目"}},
	{Field: "quantity", Headers: []string{"quantity", "数量", "购买数量"}, Required: true},
	{Field: "price", Headers: []string{"price", "单价", "单价（元）", "单价(元)"}},
	{Field: "price_fen", Headers: []string{"price_fen", "单价（分）", "单价(分)"}},
	{Field: "paid_at", Headers: []string{"paid_at", "付款时间", "支付时间"}, Required: true},
	{Field: "shipped_at", Headers: []string{"shipped_at", "发货时间"}},
	{Field: "signed_at", Headers: []string{"signed_at", "签收时间", "确认收货时间"}},
	{Field: "region", Headers: []string{"region", "收货地区代码", "收货地区"}},
	{Field: "waybill", Headers: []string{"waybill", "运单号", "快递单号"}},
	{Field: "carrier_code", Headers: []string{"carrier_code", "物流企业统一社会信用代码", "物流企业代码"}},
	{Field: "status", Headers: []string{"status", "订单状态"}},
}

// orderLevel are the columns that belong to the order, not to an item:
// every row of an order must agree on them.
var orderLevel = []string{"platform_shop_id", "buyer", "amount", "amount_fen", "paid_at", "shipped_at", "signed_at", "region", "waybill", "carrier_code", "status"}

// statusNames accept the Chinese names of order statuses in files.
var statusNames = map[string]Status{"已付款": StatusPaid, "待发货": StatusPaid, "已发货": StatusShipped, "待收货": StatusShipped,
	"已签收": StatusSigned, "交易成功": StatusSigned, "已取消": StatusCancelled, "交易关闭": StatusCancelled, "已退款": StatusRefunded}

// FileOrder is an order read from a file: what to ingest, and the file
// rows it came from (the first row reports the order's fate). Err, when
// not nil, is what is wrong with the rows themselves (a number or a time
// that does not parse, rows of one order that disagree); Line is then the
// row at fault.
type FileOrder struct {
	Input OrderInput
	Line  int
	Err   error
}

// OrderFile groups the item rows of an orders file into orders.
type OrderFile struct {
	platformID int64
	fields     []string
	cur        *FileOrder
	first      map[string]string // order-level cells of cur's first row
	seen       map[string]int    // order number → its first row
}

// NewOrderFile maps the header of an orders file of the platform; a
// missing column is an error naming it.
func NewOrderFile(platformID int64, header []string) (*OrderFile, error) {
	fields, err := OrderFileColumns.Map(header)
	if err != nil {
		return nil, err
	}
	has := map[string]bool{}
	for _, f := range fields {
		has[f] = true
	}
	switch {
	case !has["amount"] && !has["amount_fen"]:
		return nil, errs.Field("file", "表头缺少必填列：订单金额（amount）或 订单金额（分）（amount_fen） (missing columns)")
	case !has["price"] && !has["price_fen"]:
		return nil, errs.Field("file", "表头缺少必填列：单价（price）或 单价（分）（price_fen） (missing columns)")
	}
	return &OrderFile{platformID: platformID, fields: fields, seen: map[string]int{}}, nil
}

// Row reads one item row (line is its row number in the file). When it
// starts a new order, the order before it is complete and returned.
func (f *OrderFile) Row(line int, cells []string) *FileOrder {
	m := imports.Cells(f.fields, cells)
	no := m["order_no"]
	if f.cur != nil && no == f.cur.Input.OrderNo && no != "" {
		f.addItem(line, m)
		return nil
	}
	done := f.cur
	f.cur = &FileOrder{Line: line, Input: OrderInput{OrderNo: no, PlatformID: f.platformID}}
	f.first = m
	if first, dup := f.seen[no]; dup && no != "" {
		f.cur.Err = errs.Field("order_no", "订单号「%s」已在第 %d 行出现：同一订单的商品行须相邻 (rows of one order must be adjacent)", clip(no, 64), first)
	} else {
		f.seen[no] = line
		f.orderFields(m)
	}
	f.addItem(line, m)
	return done
}

// Flush returns the last order of the file, if any.
func (f *OrderFile) Flush() *FileOrder {
	done := f.cur
	f.cur = nil
	return done
}

func (f *OrderFile) fail(line int, err error) {
	if f.cur.Err == nil {
		f.cur.Err, f.cur.Line = err, line
	}
}

func (f *OrderFile) orderFields(m map[string]string) {
	in := &f.cur.Input
	in.PlatformShopID, in.Buyer, in.Region, in.Waybill, in.CarrierCode = m["platform_shop_id"], m["buyer"], m["region"], m["waybill"], m["carrier_code"]
	line := f.cur.Line
	var err error
	if in.AmountFen, err = moneyCell(m, "amount", "订单金额"); err != nil {
		f.fail(line, err)
	}
	for _, t := range []struct {
		field string
		dst   *time.Time
	}{{"paid_at", &in.PaidAt}, {"shipped_at", &in.ShippedAt}, {"signed_at", &in.SignedAt}} {
		if *t.dst, err = timeCell(m[t.field], t.field); err != nil {
			f.fail(line, err)
		}
	}
	if s := m["status"]; s != "" {
		in.Status = Status(s)
		if st, ok := statusNames[s]; ok {
			in.Status = st
		}
	}
}

func (f *OrderFile) addItem(line int, m map[string]string) {
	if f.cur.Err != nil {
		return
	}
	for _, c := range orderLevel {
		if m[c] != "" && m[c] != f.first[c] {
			f.fail(line, errs.Field(c, "同一订单各行的「%s」不一致：第 %d 行为「%s」，本行为「%s」 (rows of one order disagree)",
				OrderFileColumns.Header(c), f.cur.Line, clip(f.first[c], 40), clip(m[c], 40)))
			return
		}
	}
	n := len(f.cur.Input.Items) + 1
	it := ItemInput{GTIN: m["gtin"], Batch: m["batch"], Name: m["name"], Category: m["category"]}
	for key, label := range registry.Categories {
		if it.Category == label {
			it.Category = key
		}
	}
	q, err := strconv.Atoi(m["quantity"])
	if err != nil {
		f.fail(line, errs.Field(fmt.Sprintf("items.%d.quantity", n), "数量「%s」不是整数 (quantity is not a whole number)", clip(m["quantity"], 20)))
		return
	}
	it.Quantity = q
	if it.PriceFen, err = moneyCell(m, "price", "单价"); err != nil {
		f.fail(line, errs.Field(fmt.Sprintf("items.%d.%s", n, errs.FieldOf(err)), "%s", errs.MessageOf(err)))
		return
	}
	f.cur.Input.Items = append(f.cur.Input.Items, it)
}

// moneyCell reads an amount in 元 from column field or in 分 from
// field_fen.
func moneyCell(m map[string]string, field, label string) (int64, error) {
	if s := m[field+"_fen"]; s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, errs.Field(field+"_fen", "%s（分）「%s」不是整数 (not a whole number of fen)", label, clip(s, 20))
		}
		return n, nil
	}
	s := strings.TrimPrefix(strings.TrimPrefix(strings.ReplaceAll(m[field], ",", ""), "¥"), "￥")
	if s == "" {
		return 0, errs.Field(field, "缺少%s (%s required)", label, field)
	}
	v, err := strconv.ParseFloat(s, 64)
	fen := math.Round(v * 100)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) || math.Abs(v*100-fen) > 1e-6 || math.Abs(fen) > maxAmount {
		return 0, errs.Field(field, "%s「%s」不是以元为单位、至多两位小数的金额 (not an amount in yuan)", label, clip(m[field], 20))
	}
	return int64(fen), nil
}

// fileTimeLayouts are the time formats an orders file may use; times
// without a zone are China Standard Time.
var fileTimeLayouts = []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006/01/02 15:04:05", "2006/1/2 15:04:05", "2006/1/2 15:04", "2006-01-02T15:04:05"}

func timeCell(s, field string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, l := range fileTimeLayouts {
		if t, err := time.ParseInLocation(l, s, clock.Shanghai); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errs.Field(field, "时间「%s」无法识别，应为 2026-06-01 10:30:00 或 RFC 3339 (unreadable time)", clip(s, 40))
}
