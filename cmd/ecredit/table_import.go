package main

import (
	"fmt"
	"io"
	"os"

	"ecredit/errs"
	"ecredit/imports"
)

// tableCounts are the fates of the rows of an imported table.
type tableCounts struct {
	rows, created, updated, unchanged, failed int
	report                                    []imports.CellError
	// unit names what created…failed count when it is not rows, e.g.
	// "笔订单" for an orders file of one row per item; units counts them.
	unit  string
	units int
}

// fault records a row that failed, with the header of the column at fault.
func (c *tableCounts) fault(line int, column string, err error) {
	c.failed++
	c.report = append(c.report, imports.CellError{Row: line, Column: column, Message: errs.MessageOf(err)})
}

// tally counts one ingest result (created, updated, unchanged or error).
func (c *tableCounts) tally(status string, line int, column string, err error) {
	switch status {
	case "created":
		c.created++
	case "updated":
		c.updated++
	case "unchanged":
		c.unchanged++
	default:
		c.fault(line, column, err)
	}
}

// importTable reads the table file name (CSV or XLSX; "-" is stdin): the
// header goes to header, each data row to row; a row the file itself
// cannot give (bad encoding, a broken line) is counted as failed. Then it
// writes the error report (to errFile, or stdout) and the summary, and
// returns the exit status: 0 every row stored, 1 some rows failed, 2 the
// file could not be imported (header or row returning an error).
func importTable(name, errFile string, stdin io.Reader, stdout, stderr io.Writer, c *tableCounts,
	header func([]string) error, row func(line int, cells []string) error, done func() error) int {
	abort := func(err error) int {
		fail(stderr, err)
		return 2
	}
	in, closeIn, err := openInput(name, stdin, stderr)
	if err != nil {
		return 2
	}
	defer closeIn()
	tb, err := imports.OpenTable(in, name)
	if err != nil {
		return abort(err)
	}
	defer tb.Close()
	head, _, err := tb.Next()
	if err != nil {
		return abort(errs.Field("file", "无法读取表头 (cannot read the header)"))
	}
	if err := header(head); err != nil {
		return abort(err)
	}
	for {
		cells, line, err := tb.Next()
		if err == io.EOF {
			break
		}
		c.rows++
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				return abort(err)
			}
			c.fault(line, "", err)
			continue
		}
		if err := row(line, cells); err != nil {
			return abort(err)
		}
	}
	if err := done(); err != nil {
		return abort(err)
	}
	if !reportErrors(errFile, stdout, stderr, c.report) {
		return 2
	}
	of := ""
	if c.unit != "" {
		of = fmt.Sprintf("（%d %s）", c.units, c.unit)
	}
	fmt.Fprintf(stderr, "导入完成：文件 %s（%s，%s），共 %d 行%s：新增 %d，更新 %d，未变 %d，失败 %d\n",
		name, tb.Format, tb.Encoding, c.rows, of, c.created, c.updated, c.unchanged, c.failed)
	if c.failed > 0 {
		return 1
	}
	return 0
}

// openInput opens the file to import ("-" is stdin); on failure it tells
// stderr why.
func openInput(name string, stdin io.Reader, stderr io.Writer) (io.Reader, func(), error) {
	if name == "-" {
		return stdin, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		fmt.Fprintf(stderr, "错误 (error): 无法打开文件 %s：%v (cannot open file)\n", name, err)
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// reportErrors writes the per-row error report as CSV: to errFile (UTF-8
// with a BOM, which Excel needs; written even when empty) or, when there
// are errors, to stdout. It reports false when the report could not be
// written (told to stderr).
func reportErrors(errFile string, stdout, stderr io.Writer, report []imports.CellError) bool {
	out := stdout
	if errFile != "" {
		f, err := os.Create(errFile)
		if err != nil {
			fmt.Fprintf(stderr, "错误 (error): 无法写入错误报告 %s：%v\n", errFile, err)
			return false
		}
		defer f.Close()
		f.WriteString("\ufeff")
		out = f
	} else if len(report) == 0 {
		return true
	}
	if err := writeErrorReport(out, report); err != nil {
		fmt.Fprintf(stderr, "错误 (error): 写入错误报告失败：%v\n", err)
		return false
	}
	return true
}
