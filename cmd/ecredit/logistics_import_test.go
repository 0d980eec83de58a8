package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ecredit/account"
	"ecredit/app"
	"ecredit/registry"
)

func TestImportLogistics(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a, err := app.OpenStore(ctx, app.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	const firm = "91130802MA0A1B2C2Y"
	if _, err := a.Registry.CreateSubject(account.With(ctx, account.System), registry.SubjectInput{Kind: registry.KindLogistics, Name: "承德快运有限公司", CreditCode: firm}); err != nil {
		t.Fatal(err)
	}
	a.Store.Close()
	parcels := filepath.Join(dir, "parcels.csv")
	os.WriteFile(parcels, []byte("\ufeff运单号,重量（克）,始发地,目的地,快递员编号,承诺送达时间\n"+
		"CD1,800,130802,110105,C1,2025-01-04 18:00\nCD2,abc,130802,110105,,\nCD3,500,130802,999999,,\n"), 0o600)
	tracking := filepath.Join(dir, "tracking.csv")
	os.WriteFile(tracking, []byte("运单号,事件,时间,地点,签收方式\n"+
		"CD1,揽收,2025-01-02 09:00,130802,\nCD1,派送中,2025-01-03 08:00,110105,\nCD1,签收,2025-01-03 10:00,110105,locker\n"+
		"CD9,揽收,2025-01-02 09:00,,\nCD1,签收,2025-01-01 10:00,,recipient\n"), 0o600)
	for _, tt := range []struct {
		args []string
		code int
		has  string
	}{
		{[]string{"--type", "parcels", "--firm", firm, parcels}, 1, "共 3 行：新增 1，更新 0，未变 0，失败 2"},
		{[]string{"--type", "tracking", "--firm", firm, tracking}, 1, "共 5 行：新增 3，更新 0，未变 0，失败 2"},
		{[]string{"--type", "tracking", "--firm", firm, tracking}, 1, "新增 0，更新 0，未变 3，失败 2"},
		{[]string{"--type", "tracking", tracking}, 2, "--firm"},
		{[]string{"--type", "tracking", "--firm", firm, parcels}, 2, "缺少必填列"},
	} {
		var stdout, stderr bytes.Buffer
		code := runImport(ctx, append([]string{"--data", dir}, tt.args...), strings.NewReader(""), &stdout, &stderr)
		if code != tt.code || !strings.Contains(stderr.String(), tt.has) {
			t.Fatalf("%v: exit %d, want %d; stderr:\n%s\nstdout:\n%s", tt.args, code, tt.code, stderr.String(), stdout.String())
		}
		if tt.code == 1 && !strings.Contains(stdout.String(), "行号") {
			t.Errorf("%v: no error report: %s", tt.args, stdout.String())
		}
	}
}
