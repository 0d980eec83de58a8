package trade_test

import (
	"strings"
	"testing"
	"time"

	"ecredit/clock"
	"ecredit/errs"
	"ecredit/trade"
)

func TestOrderFile(t *testing.T) {
	if _, err := trade.NewOrderFile(1, []string{"订单号", "店铺编号", "买家", "商品条码", "数量", "单价", "付款时间"}); errs.FieldOf(err) != "file" || !strings.Contains(errs.MessageOf(err), "订单金额") {
		t.Fatalf("no amount column: %v", err)
	}
	if _, err := trade.NewOrderFile(1, []string{"订单号", "买家"}); err == nil || !strings.Contains(errs.MessageOf(err), "店铺编号") {
		t.Fatalf("missing columns: %v", err)
	}
	f, err := trade.NewOrderFile(7, []string{"order_no", "platform_shop_id", "buyer", "amount", "gtin", "quantity", "price_fen", "paid_at", "订单状态", "商品类目"})
	if err != nil {
		t.Fatal(err)
	}
	row := func(line int, cells ...string) *trade.FileOrder { return f.Row(line, cells) }
	if o := row(2, "A", "S1", "b1", "¥1,234.50", "6901234567892", "1", "123450", "2026-06-01T02:00:00Z", "交易成功", "药品"); o != nil {
		t.Fatalf("first row completed %+v", o)
	}
	o := row(3, "B", "S1", "b2", "12.345", "6901234567892", "1", "1", "2026/6/1 10:00", "", "")
	if o == nil || o.Err != nil || o.Line != 2 || o.Input.AmountFen != 123450 || o.Input.PlatformID != 7 || o.Input.Status != trade.StatusSigned ||
		o.Input.Items[0].Category != "drugs" || !o.Input.PaidAt.Equal(time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC)) {
		t.Fatalf("order A: %+v", o)
	}
	o = row(4, "C", "S1", "b3", "1", "6901234567892", "x", "1", "2026-06-01", "", "")
	if o == nil || errs.FieldOf(o.Err) != "amount" || o.Line != 3 {
		t.Fatalf("order B (12.345 元): %+v", o)
	}
	o = f.Flush()
	if o == nil || o.Err == nil || o.Line != 4 || !strings.Contains(errs.MessageOf(o.Err), "时间") {
		t.Fatalf("order C (bad time, bad quantity): %+v", o)
	}
	g, _ := trade.NewOrderFile(7, []string{"order_no", "platform_shop_id", "buyer", "amount", "gtin", "quantity", "price", "paid_at"})
	g.Row(2, []string{"D", "S1", "b", "5", "6901234567892", "1", "5", "2026-06-01 10:00:00"})
	if o := g.Row(3, []string{"D", "S1", "b", "5", "6901234567892", "2", "2.5", "2026-06-01 10:00:00"}); o != nil {
		t.Fatalf("second item row completed an order: %+v", o)
	}
	o = g.Flush()
	if o.Err != nil || len(o.Input.Items) != 2 || o.Input.Items[1].PriceFen != 250 || !o.Input.PaidAt.Equal(time.Date(2026, 6, 1, 10, 0, 0, 0, clock.Shanghai)) {
		t.Fatalf("order D: %+v", o)
	}
}
