package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"ecredit/app"
	"ecredit/errs"
	"ecredit/ledger"
)

// ledgerTestData is what the test kind's objects "contain": content hash
// by object id, changeable by the test to simulate edited data.
type ledgerTestData struct {
	mu sync.Mutex
	m  map[int64][32]byte
}

func (d *ledgerTestData) recompute(ctx context.Context, e ledger.Entry) ([32]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.m[e.ObjectID]
	if !ok {
		return [32]byte{}, errs.E(errs.NotFound, "对象 %d 不存在", e.ObjectID)
	}
	return c, nil
}

func runLedgerForTest(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runLedger(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestRunLedger(t *testing.T) {
	for _, k := range []string{"ECREDIT_DB", "ECREDIT_DATA", "ECREDIT_PII_KEY", "ECREDIT_PII_KEY_FILE", ledger.KeyFileEnv} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	ctx := context.Background()
	data := &ledgerTestData{m: map[int64][32]byte{}}
	saved := ledgerRecomputers
	ledgerRecomputers = func(*app.App) ledger.Recomputers {
		return ledger.Recomputers{"testkind": data.recompute}
	}
	t.Cleanup(func() { ledgerRecomputers = saved })

	a, err := app.OpenStore(ctx, app.Config{DataDir: dir, Logger: quietLogger(&bytes.Buffer{})})
	if err != nil {
		t.Fatal(err)
	}
	const n = 25
	for i := int64(1); i <= n; i++ {
		c, err := ledger.HashContent(map[string]any{"id": i, "名称": fmt.Sprintf("测试对象%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		data.m[i] = c
		e := &ledger.Entry{Kind: "testkind", ObjectID: i, Op: "create", Content: c, At: time.Date(2026, 5, 1, 0, 0, int(i), 0, time.UTC)}
		if err := a.Store.AppendLedger(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	a.Close()

	code, out, errOut := runLedgerForTest(t, "checkpoint", "--data", dir)
	if code != 0 || !strings.HasPrefix(out, ledger.DefaultOrigin+"\n25\n") {
		t.Fatalf("checkpoint: %d %q %q", code, out, errOut)
	}
	v, _, err := ledger.LoadVerifier(dir)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := ledger.VerifyCheckpoint(v, []byte(out))
	if err != nil || tree.N != n {
		t.Fatalf("printed checkpoint does not verify: %v", err)
	}

	code, out, errOut = runLedgerForTest(t, "verify", "--data", dir)
	if code != 0 || !strings.Contains(out, "已校验 25 条记录，0 处不一致") || !strings.Contains(errOut, "已校验 25 / 25 条") {
		t.Fatalf("verify clean: %d\n%s\n%s", code, out, errOut)
	}

	code, out, errOut = runLedgerForTest(t, "prove", "--data", dir, "--index", "7")
	if code != 0 {
		t.Fatalf("prove: %d %s", code, errOut)
	}
	var ip ledger.InclusionProof
	if err := json.Unmarshal([]byte(out), &ip); err != nil {
		t.Fatal(err)
	}
	if ip.Index != 7 || ip.Size != n || ip.Checkpoint == "" || !strings.Contains(ip.Leaf, "testkind\n8\ncreate\n") {
		t.Fatalf("inclusion proof: %+v", ip)
	}
	if err := ip.Check(v); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runLedgerForTest(t, "prove", "--data", dir, "--old", "10", "--size", "20")
	var cp ledger.ConsistencyProof
	if code != 0 || json.Unmarshal([]byte(out), &cp) != nil || cp.Old != 10 || cp.New != 20 || cp.Check() != nil {
		t.Fatalf("consistency: %d %s %s", code, out, errOut)
	}

	// Edited data behind object 13 and an entry of a kind nobody can
	// recompute: verify fails and names both.
	data.mu.Lock()
	data.m[13] = [32]byte{13}
	data.mu.Unlock()
	a, err = app.OpenStore(ctx, app.Config{DataDir: dir, Logger: quietLogger(&bytes.Buffer{})})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Store.AppendLedger(ctx, &ledger.Entry{Kind: "mystery", ObjectID: 5, Op: "create", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	code, out, _ = runLedgerForTest(t, "verify", "--data", dir)
	if code != 1 || !strings.Contains(out, "条目 #12（testkind 13，create）：对象数据与账本记录的内容哈希不一致") ||
		!strings.Contains(out, "条目 #25（mystery 5，create）：未知的条目类型") || !strings.Contains(out, "已校验 26 条记录，2 处不一致") {
		t.Fatalf("verify after tampering: %d\n%s", code, out)
	}
	code, out, _ = runLedgerForTest(t, "verify", "--data", dir, "--json")
	var rep ledger.Report
	if code != 1 || json.Unmarshal([]byte(out), &rep) != nil || rep.MismatchCount != 2 || rep.Mismatches[0].ObjectID != 13 {
		t.Fatalf("verify --json: %d %s", code, out)
	}
}

func TestRunLedgerUsage(t *testing.T) {
	for _, k := range []string{"ECREDIT_DB", "ECREDIT_PII_KEY", "ECREDIT_PII_KEY_FILE", ledger.KeyFileEnv} {
		t.Setenv(k, "")
	}
	t.Setenv("ECREDIT_DATA", t.TempDir())
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "用法"},
		{[]string{"frob"}, 2, "未知的 ledger 子命令"},
		{[]string{"prove"}, 2, "须给出 --index 或 --old 之一"},
		{[]string{"prove", "--index", "1", "--old", "2"}, 2, "须给出 --index 或 --old 之一"},
		{[]string{"prove", "--index", "1", "--size", "-3"}, 2, "--size 不能为负数"},
		{[]string{"verify", "extra"}, 2, "多余的参数"},
		{[]string{"verify", "--bogus"}, 2, "bogus"},
		{[]string{"prove", "--index", "5"}, 1, "[index]"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, _, errOut := runLedgerForTest(t, c.args...)
			if code != c.code || !strings.Contains(errOut, c.msg) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut, c.code, c.msg)
			}
		})
	}
	if code, out, _ := runLedgerForTest(t, "verify", "-h"); code != 0 || !strings.Contains(out, "用法 (usage): ecredit ledger verify") {
		t.Fatalf("verify -h: %d %q", code, out)
	}
}
