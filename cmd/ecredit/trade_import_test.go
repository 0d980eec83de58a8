package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/app"
	"ecredit/clock"
	"ecredit/registry"
)

func TestImportOrders(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a, err := app.OpenStore(ctx, app.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	sys := account.With(ctx, account.System)
	const platform = "91130802MA0A1B2C2Y"
	p, err := a.Registry.CreateSubject(sys, registry.SubjectInput{Kind: registry.KindPlatform, Name: "承德优品商城", CreditCode: platform})
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.Registry.CreateSubject(sys, registry.SubjectInput{Kind: registry.KindMerchant, Name: "承德山货商行", CreditCode: "91130802MA0A1B2D0R"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Registry.CreateShop(sys, registry.ShopInput{PlatformID: p.ID, OwnerID: m.ID, Name: "山货旗舰店", URL: "https://s01.example.cn", PlatformShopID: "S01", Category: "food"}); err != nil {
		t.Fatal(err)
	}
	a.Store.Close()

	const head = "\ufeff订单号,店铺编号,买家,订单金额（元）,商品条码,批次,商品名称,商品类目,数量,单价（元）,付款时间,发货时间,签收时间,收货地区代码,运单号\n"
	orders := filepath.Join(dir, "orders.csv")
	os.WriteFile(orders, []byte(head+
		"O1,S01,tb_a1,59.90,6901234567892,L2026-05,蘑菇干,食品,2,19.95,2026-06-01 10:00:00,2026-06-01 15:00:00,2026-06-03 09:00:00,110105,SF001\n"+
		"O1,S01,tb_a1,59.90,6901234567892,L2026-06,蘑菇干,食品,1,20.00,2026-06-01 10:00:00,,,,\n"+
		"O2,S01,tb_a2,10,6901234567891,,,,1,10,2026-06-01 11:00:00,,,,\n"+
		"O3,S01,tb_a3,12.345,6901234567892,,,,1,10,2026-06-01 11:00:00,,,,\n"+
		"O4,S01,tb_a4,20,6901234567892,,,,1,10,2026-06-01 12:00:00,,,,\n"+
		"O4,S01,tb_zz,20,6901234567892,,,,1,10,2026-06-01 12:00:00,,,,\n"+
		"O5,S99,tb_a5,10,6901234567892,,,,1,10,2026-06-01 12:00:00,,,,\n"+
		"O1,S01,tb_a1,59.90,6901234567892,L2026-05,蘑菇干,食品,2,19.95,2026-06-01 10:00:00,,,,\n"), 0o600)
	shipped := filepath.Join(dir, "shipped.csv")
	os.WriteFile(shipped, []byte(head+
		"O6,S01,tb_a6,10,6901234567892,,,,1,10,2026-06-02 10:00:00,,,130802,\n"), 0o600)
	signed := filepath.Join(dir, "signed.csv")
	os.WriteFile(signed, []byte(head+
		"O6,S01,tb_a6,10,6901234567892,,,,1,10,2026-06-02 10:00:00,2026-06-02 18:00:00,2026-06-04 09:00:00,130802,YT9\n"), 0o600)

	errFile := filepath.Join(dir, "errors.csv")
	for _, tt := range []struct {
		args []string
		code int
		has  string
	}{
		{[]string{"--type", "orders", "--platform", platform, "--errors", errFile, orders}, 1, "共 8 行（6 笔订单）：新增 1，更新 0，未变 0，失败 5"},
		{[]string{"--type", "orders", "--platform", platform, orders}, 1, "新增 0，更新 0，未变 1，失败 5"},
		{[]string{"--type", "orders", "--platform", platform, shipped}, 0, "新增 1，更新 0，未变 0，失败 0"},
		{[]string{"--type", "orders", "--platform", platform, signed}, 0, "新增 0，更新 1，未变 0，失败 0"},
		{[]string{"--type", "orders", orders}, 2, "--platform"},
		{[]string{"--type", "orders", "--platform", "91130802MA0A1B2E9J", orders}, 2, "尚未登记"},
		{[]string{"--type", "orders", "--platform", platform, filepath.Join(dir, "x.csv")}, 2, "无法打开"},
	} {
		var stdout, stderr bytes.Buffer
		code := runImport(ctx, append([]string{"--data", dir}, tt.args...), strings.NewReader(""), &stdout, &stderr)
		if code != tt.code || !strings.Contains(stderr.String(), tt.has) {
			t.Fatalf("%v: exit %d, want %d; stderr:\n%s\nstdout:\n%s", tt.args, code, tt.code, stderr.String(), stdout.String())
		}
	}
	report, _ := os.ReadFile(errFile)
	for _, want := range []string{"4,商品条码,", "5,订单金额,", "7,买家,", "8,店铺编号,", "9,订单号,"} {
		if !strings.Contains(string(report), want) {
			t.Errorf("error report lacks %q:\n%s", want, report)
		}
	}

	a, err = app.OpenStore(ctx, app.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Store.Close()
	got, err := a.Store.OrdersByNos(ctx, p.ID, []string{"O1", "O6"})
	if err != nil {
		t.Fatal(err)
	}
	o1, o6 := got["O1"], got["O6"]
	if o1 == nil || o1.AmountFen != 5990 || len(o1.Items) != 2 || o1.Items[0].PriceFen != 1995 || o1.Items[1].Batch != "L2026-06" ||
		o1.Items[0].Category != "food" || o1.Waybill != "SF001" || !o1.PaidAt.Equal(time.Date(2026, 6, 1, 10, 0, 0, 0, clock.Shanghai)) {
		t.Fatalf("O1 as stored: %+v", o1)
	}
	if o6 == nil || o6.Status != "signed" || o6.Version != 2 || o6.Waybill != "YT9" {
		t.Fatalf("O6 after the update: %+v", o6)
	}
}
