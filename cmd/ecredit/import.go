package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"ecredit/account"
	"ecredit/imports"
	"ecredit/record"
)

// runImport imports a 双公示 (or other record type) file: CSV in UTF-8
// (with or without BOM), UTF-16 or GB18030, or XLSX. Exit status: 0 all
// rows stored, 1 some rows failed (the good rows are stored), 2 the file
// could not be imported at all (unreadable, missing required columns,
// database unavailable, bad usage).
func runImport(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var types []string
	for _, d := range record.Types() {
		types = append(types, string(d.Type))
	}
	fs := newFlags("import", "--type TYPE [--source 单位名称] [--errors FILE] FILE",
		"导入信用记录文件（CSV：UTF-8、带 BOM 的 UTF-8、GB18030/GBK；或 XLSX）。表头可用国家 2.0 字段代码（如 CF_WSH）、中文列名或 1.0 旧版列名。\n"+
			"每行单独校验：有错误的行写入错误报告（行号、列、错误信息），其余行照常入库；重复导入同一文件不会重复入库。\n"+
			"退出码：0 全部成功；1 部分行失败（其余已入库）；2 文件无法导入。\n"+
			"Import a credit-record file (CSV in UTF-8, UTF-8 with BOM or GB18030; or XLSX). Headers may be 2.0 codes, Chinese or legacy 1.0 names.\n"+
			"Each row is validated on its own: bad rows go to the error report (row, column, message), good rows are stored; re-importing stores nothing twice.\n"+
			"Exit status: 0 all rows stored, 1 some rows failed, 2 the file cannot be imported.", stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	typ := fs.String("type", "", "记录类型 (record type): "+strings.Join(types, "|")+"；或物流文件 parcels|tracking（需 --firm）；或订单文件 orders、评价文件 reviews（需 --platform）；或 GS1 EPCIS 追溯事件文件 epcis（2.0 的 JSON / JSON-LD，或 1.x、2.0 的 XML）")
	source := fs.String("source", "", "报送单位名称，作为来源与去重范围，例如 承德市市场监督管理局；默认为操作系统用户名 (submitting unit: the source and the scope of idempotency)")
	errFile := fs.String("errors", "", "错误报告写入此 CSV 文件（UTF-8 带 BOM）；默认写到标准输出 (write the error report CSV here instead of stdout)")
	correct := fs.Bool("correct", false, "文书号已存在但内容不同时作为更正入库（需 --reason）(store changed rows as corrections; needs --reason)")
	reason := fs.String("reason", "", "更正原因 (reason for corrections)")
	every := fs.Int("progress", 5000, "每处理多少行输出一次进度 (progress line every N rows)")
	firm := fs.String("firm", "", "--type parcels|tracking：物流企业的统一社会信用代码 (the logistics firm of a parcels or tracking file)")
	platform := fs.String("platform", "", "--type orders|reviews：电商平台的统一社会信用代码；订单文件每行一件商品，同一订单的行须相邻；评价文件每行一条评价、追评或评价买家 (the platform of an orders or reviews file)")
	var files []string
	for rest := args; ; {
		if rc := parse(fs, rest, stdout); rc >= 0 {
			return rc
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
		if len(rest) == 0 {
			break
		}
	}
	switch {
	case len(files) != 1:
		fmt.Fprintln(stderr, "错误 (error): 请指定一个要导入的文件 (give exactly one FILE)")
		fs.Usage()
		return 2
	case *typ == "":
		fmt.Fprintf(stderr, "错误 (error): 请用 --type 指定记录类型：%s (--type is required)\n", strings.Join(types, "|"))
		return 2
	case *correct && strings.TrimSpace(*reason) == "":
		fmt.Fprintln(stderr, "错误 (error): --correct 需要 --reason 说明更正原因 (--correct needs --reason)")
		return 2
	}
	if *typ == "parcels" || *typ == "tracking" { // logistics (M4): logistics_import.go
		return runLogisticsImport(ctx, &sf, *typ, *firm, files[0], *errFile, stdin, stdout, stderr)
	}
	if *typ == "epcis" { // traceability (M10): trace_import.go
		return runEPCISImport(ctx, &sf, *source, files[0], *errFile, stdin, stdout, stderr)
	}
	if *typ == "reviews" { // trade (M5): trade_import.go
		return runReviewImport(ctx, &sf, *platform, files[0], *errFile, stdin, stdout, stderr)
	}
	if *typ == "orders" { // trade (M5): trade_import.go
		return runOrderImport(ctx, &sf, *platform, files[0], *errFile, stdin, stdout, stderr)
	}
	if _, ok := record.Lookup(record.Type(*typ)); !ok {
		fmt.Fprintf(stderr, "错误 (error): 未知的记录类型「%s」，应为 %s (unknown type)\n", *typ, strings.Join(types, "|"))
		return 2
	}

	name := files[0]
	in, closeIn, err := openInput(name, stdin, stderr)
	if err != nil {
		return 2
	}
	defer closeIn()
	rd, err := imports.Open(in, name, record.Type(*typ))
	if err != nil {
		fail(stderr, err)
		return 2
	}
	defer rd.Close()

	a, cctx, err := openStore(ctx, &sf, stderr)
	if err != nil {
		fail(stderr, err)
		return 2
	}
	defer a.Store.Close()
	cctx = withSource(cctx, *source)
	svc := a.Records // the same service as the server's, holiday calendar included

	for _, w := range rd.Warnings {
		fmt.Fprintf(stderr, "提示 (warning) 第 %d 行: %s\n", w.Row, w.Message)
	}
	progress := func(r *imports.Report) {
		fmt.Fprintf(stderr, "已处理 %d 行，成功 %d，失败 %d\n", r.Rows, r.OK(), r.Failed)
	}
	rep, runErr := imports.Run(cctx, rd, svc, imports.Options{Correct: *correct, Reason: *reason, Progress: progress, ProgressEvery: max(*every, 1)})
	rep.File = name

	if !reportErrors(*errFile, stdout, stderr, rep.Errors) {
		return 2
	}
	for _, w := range rep.Warnings[len(rd.Warnings):] {
		fmt.Fprintf(stderr, "提示 (warning) 第 %d 行: %s\n", w.Row, w.Message)
	}
	fmt.Fprintf(stderr, "导入%s：文件 %s（%s，%s），共 %d 行：新增 %d，未变 %d，更正 %d，失败 %d\n",
		map[bool]string{true: "完成", false: "中止"}[runErr == nil], name, rep.Format, rep.Encoding,
		rep.Rows, rep.Created, rep.Unchanged, rep.Corrected, rep.Failed)
	switch {
	case runErr != nil:
		fail(stderr, runErr)
		return 2
	case rep.Failed > 0:
		if *errFile != "" {
			fmt.Fprintf(stderr, "错误报告已写入 %s (error report written)\n", *errFile)
		}
		return 1
	}
	return 0
}

// writeErrorReport writes the per-row errors as CSV: 行号, 列, 错误信息.
func writeErrorReport(w io.Writer, es []imports.CellError) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"行号", "列", "错误信息"})
	for _, e := range es {
		cw.Write([]string{strconv.Itoa(e.Row), e.Column, e.Message})
	}
	cw.Flush()
	return cw.Error()
}

// withSource makes the submitting unit named by --source (when given) the
// actor of ctx: the records' or events' source, and the scope their ids
// are idempotent in.
func withSource(ctx context.Context, source string) context.Context {
	s := strings.TrimSpace(source)
	if s == "" {
		return ctx
	}
	actor := account.From(ctx)
	actor.Name, actor.Department = s, s
	return account.With(ctx, actor)
}
