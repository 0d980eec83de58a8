package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"ecredit/code"
)

const codeUsage = `用法 (usage): ecredit code [--json] CODE…
       ecredit code [--json] [-] < codes.txt

识别并校验代码：统一社会信用代码、公民身份号码（含15位旧号码）、商品条码
GTIN-8/12/13/14、GB/T 2260 行政区划代码。每个代码输出一行：类型、是否有效、
各组成部分、警告和错误。不给参数或参数为 "-" 时，从标准输入逐行读取代码。
(Identifies and validates unified social credit codes, resident ID numbers,
GTINs and region codes; one line per code. Reads one code per line from stdin
when no code is given or the argument is "-".)

退出码 (exit status): 0 全部有效 (all valid), 1 有无效代码 (some invalid),
2 用法错误 (usage error).

选项 (options):
`

// runCode implements `ecredit code [--json] CODE…` (also reads codes one per
// line from stdin when no args given or "-"): one line per code with its kind,
// validity, parts, warnings and errors; --json prints the code.Result as one
// JSON object per line, byte-for-byte what `GET /api/v1/codes/{code}` returns.
// Exit status 0 when all valid, 1 when any invalid, 2 on usage error.
func runCode(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("code", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "每个代码输出一个 JSON 对象 (one JSON object per line)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), codeUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	inputs := fs.Args()
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}

	w := bufio.NewWriter(stdout)
	defer w.Flush()
	count, invalid := 0, 0
	emit := func(s string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		r := code.Parse(s, time.Now())
		count++
		if !r.Valid {
			invalid++
		}
		if *asJSON {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			w.Write(b)
			return w.WriteByte('\n')
		}
		_, err := fmt.Fprintln(w, codeHumanLine(r))
		return err
	}

	stdinUsed := false
	for _, in := range inputs {
		if in != "-" {
			if err := emit(in); err != nil {
				return codeFail(w, stderr, err)
			}
			continue
		}
		if stdinUsed {
			continue
		}
		stdinUsed = true
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if err := emit(line); err != nil {
				return codeFail(w, stderr, err)
			}
		}
		if err := sc.Err(); err != nil {
			return codeFail(w, stderr, fmt.Errorf("读取标准输入失败 (reading stdin): %w", err))
		}
	}
	if err := w.Flush(); err != nil {
		return codeFail(w, stderr, err)
	}
	if count == 0 {
		fmt.Fprintln(stderr, "ecredit code: 没有要校验的代码 (no codes given)")
		fs.Usage()
		return 2
	}
	if invalid > 0 {
		return 1
	}
	return 0
}

func codeFail(w *bufio.Writer, stderr io.Writer, err error) int {
	w.Flush()
	fmt.Fprintf(stderr, "ecredit code: %v\n", err)
	return 1
}

// codeHumanLine renders a Result as one line of text, e.g.
//
//	91130802MA0ABCDE6X  统一社会信用代码  有效  region=130802 河北省承德市双桥区  authority=9 工商 (市场监管)  category=1 企业  org=MA0ABCDE-6  check=X
func codeHumanLine(r code.Result) string {
	c := r.Normalized
	if c == "" {
		c = fmt.Sprintf("%q", r.Input)
	}
	parts := []string{c, r.KindLabel}
	if r.Valid {
		parts = append(parts, "有效")
	} else {
		parts = append(parts, "无效")
	}
	add := func(key, val string) {
		if strings.TrimSpace(val) != "" {
			parts = append(parts, key+"="+strings.TrimSpace(val))
		}
	}
	if r.Region != "" {
		add("region", r.Region+" "+r.RegionName)
	}
	if r.Authority != "" {
		add("authority", r.Authority+" "+r.AuthorityLabel)
		add("category", r.Category+" "+r.CategoryLabel)
	}
	add("org", r.OrgCode)
	add("birth", r.BirthDate)
	add("sex", r.SexLabel)
	if r.Upgraded {
		parts = append(parts, "upgraded=15→18")
	}
	add("format", r.Format)
	add("check", r.Check)
	if len(r.Warnings) > 0 {
		parts = append(parts, "警告: "+strings.Join(r.Warnings, "；"))
	}
	if len(r.Errors) > 0 {
		parts = append(parts, "错误: "+strings.Join(r.Errors, "；"))
	}
	return strings.Join(parts, "  ")
}
