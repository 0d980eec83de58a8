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
	dir, ctx := t.TempDir(), context.Background()
	p := importCity(t, dir)

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
	a := runImports(t, dir, errFile, []importCase{
		{[]string{"--type", "orders", "--platform", platform, "--errors", errFile, orders}, 1, "共 8 行（6 笔订单）：新增 1，更新 0，未变 0，失败 5"},
		{[]string{"--type", "orders", "--platform", platform, orders}, 1, "新增 0，更新 0，未变 1，失败 5"},
		{[]string{"--type", "orders", "--platform", platform, shipped}, 0, "新增 1，更新 0，未变 0，失败 0"},
		{[]string{"--type", "orders", "--platform", platform, signed}, 0, "新增 0，更新 1，未变 0，失败 0"},
		{[]string{"--type", "orders", orders}, 2, "--platform"},
		{[]string{"--type", "orders", "--platform", "91130802MA0A1B2E9J", orders}, 2, "尚未登记"},
		{[]string{"--type", "orders", "--platform", platform, filepath.Join(dir, "x.csv")}, 2, "无法打开"},
	}, []string{"4,商品条码,", "5,订单金额,", "7,买家,", "8,店铺编号,", "9,订单号,"})
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

// TestImportReviews: a platform's reviews file (reviews, 追评, ratings of
// buyers, by its order numbers) imports as the platform; every bad row is
// reported on its line and column, the good ones stored; imported again,
// nothing is stored twice.
func TestImportReviews(t *testing.T) {
	dir, ctx := t.TempDir(), context.Background()
	p := importCity(t, dir)

	at := func(d time.Duration) string {
		return time.Now().Add(d).In(clock.Shanghai).Format("2006-01-02 15:04:05")
	}
	orders := filepath.Join(dir, "orders.csv")
	os.WriteFile(orders, []byte("订单号,店铺编号,买家,订单金额（元）,商品条码,数量,单价（元）,付款时间,发货时间,签收时间\n"+
		"O1,S01,tb_a1,10,6901234567892,1,10,"+at(-72*time.Hour)+","+at(-60*time.Hour)+","+at(-24*time.Hour)+"\n"+
		"O2,S01,tb_a2,10,6901234567892,1,10,"+at(-72*time.Hour)+","+at(-60*time.Hour)+","+at(-24*time.Hour)+"\n"), 0o600)
	reviews := filepath.Join(dir, "reviews.csv")
	os.WriteFile(reviews, []byte("\ufeff类型,订单号,买家,评价,描述相符,服务态度,物流服务,评价内容\n"+
		"评价,O1,tb_a1,好评,5,5,4,山货很新鲜\n"+
		"追评,O1,tb_a1,,,,,吃完又买了\n"+
		"评价买家,O1,,好评,,,,爽快的买家\n"+
		"评价,O2,tb_zz,好评,5,5,5,\n"+
		"点赞,O2,tb_a2,好评,5,5,5,\n"+
		"评价,O2,tb_a2,极好,5,5,5,\n"+
		"评价,O2,tb_a2,好评,五,5,5,\n"+
		"评价,O9,tb_a9,好评,5,5,5,\n"), 0o600)
	errFile := filepath.Join(dir, "errors.csv")
	a := runImports(t, dir, errFile, []importCase{
		{[]string{"--type", "orders", "--platform", platform, orders}, 0, "新增 2"},
		{[]string{"--type", "reviews", "--platform", platform, "--errors", errFile, reviews}, 1, "共 8 行：新增 3，更新 0，未变 0，失败 5"},
		{[]string{"--type", "reviews", "--platform", platform, reviews}, 1, "新增 0，更新 0，未变 3，失败 5"},
		{[]string{"--type", "reviews", reviews}, 2, "--platform"},
		{[]string{"--type", "reviews", "--platform", "91130802MA0A1B2D0R", reviews}, 2, "尚未登记"}, // a merchant, not a platform
	}, []string{"5,买家,", "6,类型,", "7,评价,", "8,描述相符,", "9,订单号,"})
	got, err := a.Store.OrdersByNos(ctx, p.ID, []string{"O1"})
	if err != nil || got["O1"] == nil {
		t.Fatal(err, got)
	}
	r, err := a.Store.ReviewOfOrder(ctx, got["O1"].ID)
	if err != nil || r.Rating != 1 || r.Logistics != 4 || r.Text != "山货很新鲜" || r.Followup != "吃完又买了" {
		t.Fatalf("O1's review: %v %+v", err, r)
	}
	if br, err := a.Store.BuyerRatingOfOrder(ctx, got["O1"].ID); err != nil || br.Rating != 1 || br.Text != "爽快的买家" {
		t.Fatalf("O1's buyer rating: %v %+v", err, br)
	}
}

// platform is the credit code of importCity's platform.
const platform = "91130802MA0A1B2C2Y"

// importCity is a store in dir with a platform and a merchant's shop S01
// on it (closed again); it returns the platform.
func importCity(t *testing.T, dir string) *registry.Subject {
	t.Helper()
	ctx := context.Background()
	a, err := app.OpenStore(ctx, app.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Store.Close()
	sys := account.With(ctx, account.System)
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
	return p
}

// importCase is an import's arguments, exit status and a line of its
// standard error.
type importCase struct {
	args []string
	code int
	has  string
}

// runImports runs the imports into the store in dir in turn, checks each
// one's exit status and message, and that the error report errFile has
// each of the lines begun by report; then it opens the store (closed when
// the test ends).
func runImports(t *testing.T, dir, errFile string, cases []importCase, report []string) *app.App {
	t.Helper()
	ctx := context.Background()
	for _, tt := range cases {
		var stdout, stderr bytes.Buffer
		code := runImport(ctx, append([]string{"--data", dir}, tt.args...), strings.NewReader(""), &stdout, &stderr)
		if code != tt.code || !strings.Contains(stderr.String(), tt.has) {
			t.Fatalf("%v: exit %d, want %d; stderr:\n%s\nstdout:\n%s", tt.args, code, tt.code, stderr.String(), stdout.String())
		}
	}
	b, _ := os.ReadFile(errFile)
	for _, want := range report {
		if !strings.Contains(string(b), want) {
			t.Errorf("error report lacks %q:\n%s", want, b)
		}
	}
	a, err := app.OpenStore(ctx, app.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Store.Close() })
	return a
}
