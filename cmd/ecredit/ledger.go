package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"ecredit/app"
	"ecredit/ledger"
	"ecredit/record"
)

// ledgerRecomputers returns the recompute function of every kind of object
// appended to the ledger, bound to the opened store. Each package that
// appends a kind (records, lists, grades, …) adds its entry here; an entry
// of a kind missing from this map is reported by `ledger verify` as a
// mismatch, never skipped. Tests replace it.
var ledgerRecomputers = func(a *app.App) ledger.Recomputers {
	return ledger.Recomputers{
		record.LedgerKind: a.Store.RecomputeRecordEntry,
	}
}

func ledgerUsage(w io.Writer) {
	fmt.Fprint(w, `用法 (usage): ecredit ledger <verify|checkpoint|prove> [参数 flags]

  verify      从存储的数据重算整个账本并核对哈希、内容与已签名检查点；有不一致则以非零状态退出并列出每一处
              (recompute the whole ledger from the stored data; exit non-zero naming every mismatch)
  checkpoint  打印当前的已签名检查点 (print the current signed checkpoint)
  prove       打印一个条目的包含证明，或两个大小之间的一致性证明 (print an inclusion or consistency proof)

每个子命令的参数见 ecredit ledger <子命令> -h
`)
}

// runLedger is `ecredit ledger …`.
func runLedger(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		ledgerUsage(stderr)
		return 2
	}
	switch args[0] {
	case "verify":
		return ledgerVerify(ctx, args[1:], stdout, stderr)
	case "checkpoint":
		return ledgerCheckpoint(ctx, args[1:], stdout, stderr)
	case "prove":
		return ledgerProve(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		ledgerUsage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "未知的 ledger 子命令「%s」(unknown ledger subcommand)\n\n", args[0])
	ledgerUsage(stderr)
	return 2
}

func ledgerVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("ledger verify", "[--data DIR] [--db URL] [--json]",
		"从存储的数据重算整个账本：每个叶子与节点哈希、每个对象在每次变更时的内容哈希，以及每个已签名检查点的根哈希与签名。\n"+
			"发现任何不一致时以状态 1 退出，并逐条列出（条目序号、对象类型与编号、操作、不一致之处）。\n"+
			"Recomputes the whole ledger from the stored data — every leaf and node hash, every object's content hash at\n"+
			"every change, every signed checkpoint's root and signature — and exits 1 naming each mismatch.",
		stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	asJSON := fs.Bool("json", false, "以 JSON 输出校验报告 (print the report as JSON)")
	if c := parse(fs, args, stdout); c >= 0 {
		return c
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "多余的参数 (unexpected arguments): %v\n", fs.Args())
		return 2
	}
	a, ctx, err := openStore(ctx, &sf, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	defer a.Close()

	v, _, err := ledger.LoadVerifier(sf.data)
	switch {
	case err == nil:
	case errors.Is(err, os.ErrNotExist):
		fmt.Fprintf(stderr, "警告：数据目录中没有账本公钥 %s，检查点签名未校验，仅核对根哈希 (warning: no ledger public key; checkpoint signatures not checked)\n", ledger.PubFile)
		v = nil
	default:
		return fail(stderr, err)
	}

	start := time.Now()
	var last time.Time
	progress := func(done, total int64) {
		if now := time.Now(); done == total || now.Sub(last) >= time.Second {
			last = now
			fmt.Fprintf(stderr, "已校验 %d / %d 条 (%d%%) (checked)\n", done, total, done*100/max(total, 1))
		}
	}
	rep, err := ledger.Verify(ctx, a.Store, v, ledgerRecomputers(a).Recompute, progress)
	if err != nil {
		return fail(stderr, err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fail(stderr, err)
		}
	} else {
		for _, m := range rep.Mismatches {
			fmt.Fprintf(stdout, "不一致 (mismatch): %s\n", m)
		}
		if rep.MismatchCount > int64(len(rep.Mismatches)) {
			fmt.Fprintf(stdout, "……另有 %d 处不一致未列出 (and %d more)\n", rep.MismatchCount-int64(len(rep.Mismatches)), rep.MismatchCount-int64(len(rep.Mismatches)))
		}
		sig := "已校验签名"
		if !rep.SignaturesChecked {
			sig = "未校验签名"
		}
		fmt.Fprintf(stdout, "已校验 %d 条记录，%d 处不一致；%d 个检查点（%s），%d 个哈希；根哈希 %s；用时 %s\n",
			rep.Checked, rep.MismatchCount, rep.CheckpointsChecked, sig, rep.HashesChecked, rep.Root, time.Since(start).Round(time.Millisecond))
		fmt.Fprintf(stdout, "(checked %d entries, %d mismatches, %d checkpoints, %d hashes)\n",
			rep.Checked, rep.MismatchCount, rep.CheckpointsChecked, rep.HashesChecked)
	}
	if !rep.OK() {
		return 1
	}
	return 0
}

// openLedger opens the store and the signed log.
func openLedger(ctx context.Context, sf *storeFlags, stderr io.Writer) (*app.App, *ledger.Log, context.Context, error) {
	a, ctx, err := openStore(ctx, sf, stderr)
	if err != nil {
		return nil, nil, ctx, err
	}
	l, _, err := ledger.OpenLog(ctx, a.Store, sf.data, "")
	if err != nil {
		a.Close()
		return nil, nil, ctx, err
	}
	return a, l, ctx, nil
}

func ledgerCheckpoint(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("ledger checkpoint", "[--data DIR] [--db URL]",
		"打印账本当前的已签名检查点（C2SP 签名注记格式）；账本自上一个检查点以来有增长时先签署并保存新的检查点。\n"+
			"Prints the ledger's current signed checkpoint (C2SP signed note), signing and saving a new one if the log grew.",
		stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	if c := parse(fs, args, stdout); c >= 0 {
		return c
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "多余的参数 (unexpected arguments): %v\n", fs.Args())
		return 2
	}
	a, l, ctx, err := openLedger(ctx, &sf, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	defer a.Close()
	signed, _, err := l.Checkpoint(ctx)
	if err != nil {
		return fail(stderr, err)
	}
	stdout.Write(signed)
	return 0
}

func ledgerProve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("ledger prove", "--index I [--size N] | --old M [--size N]   [--data DIR] [--db URL]",
		"以 JSON 打印条目 I 在大小为 N 的树中的包含证明，或大小 M 与 N 之间的一致性证明；不给 --size 时针对当前已签名检查点。\n"+
			"Prints, as JSON, the inclusion proof of entry I in the tree of size N, or the consistency proof between sizes M\n"+
			"and N; without --size, against the current signed checkpoint.",
		stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	index := fs.Int64("index", -1, "条目序号，从 0 开始 (entry index, from 0)")
	old := fs.Int64("old", -1, "一致性证明的旧树大小 (old tree size for a consistency proof)")
	size := fs.Int64("size", 0, "树大小；0 为当前已签名检查点 (tree size; 0 = the current signed checkpoint)")
	if c := parse(fs, args, stdout); c >= 0 {
		return c
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "多余的参数 (unexpected arguments): %v\n", fs.Args())
		return 2
	}
	if (*index < 0) == (*old < 0) {
		fmt.Fprintln(stderr, "须给出 --index 或 --old 之一 (give exactly one of --index and --old)")
		return 2
	}
	if *size < 0 {
		fmt.Fprintln(stderr, "--size 不能为负数 (--size must not be negative)")
		return 2
	}
	a, l, ctx, err := openLedger(ctx, &sf, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	defer a.Close()
	var out any
	if *index >= 0 {
		p, err := l.Inclusion(ctx, *index, *size)
		if err != nil {
			return fail(stderr, err)
		}
		out = p
	} else {
		p, err := l.Consistency(ctx, *old, *size)
		if err != nil {
			return fail(stderr, err)
		}
		out = p
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fail(stderr, err)
	}
	return 0
}
