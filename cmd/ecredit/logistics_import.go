package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"ecredit/errs"
	"ecredit/imports"
	"ecredit/logistics"
)

// runLogisticsImport imports a parcels or tracking file (CSV or XLSX, the
// first row the header) of one logistics firm, logistics.MaxBatch rows at
// a time, with the rules of the API: every bad row goes to the error
// report, good rows are stored, re-importing stores nothing twice. Exit
// status as for records: 0, 1 (some rows failed), 2 (nothing imported).
func runLogisticsImport(ctx context.Context, sf *storeFlags, kind, firm, name, errFile string, stdin io.Reader, stdout, stderr io.Writer) int {
	if strings.TrimSpace(firm) == "" {
		fmt.Fprintln(stderr, "错误 (error): 导入运单或轨迹需要 --firm 物流企业的统一社会信用代码 (--firm is required)")
		return 2
	}
	var in io.Reader = stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(stderr, "错误 (error): 无法打开文件 %s：%v (cannot open file)\n", name, err)
			return 2
		}
		defer f.Close()
		in = f
	}
	tb, err := imports.OpenTable(in, name)
	if err != nil {
		fail(stderr, err)
		return 2
	}
	defer tb.Close()
	header, _, err := tb.Next()
	if err != nil {
		fail(stderr, errs.Field("file", "无法读取表头 (cannot read the header)"))
		return 2
	}
	fields, err := logistics.Columns(kind, header)
	if err != nil {
		fail(stderr, err)
		return 2
	}
	a, cctx, err := openStore(ctx, sf, stderr)
	if err != nil {
		fail(stderr, err)
		return 2
	}
	defer a.Store.Close()
	svc := a.Logistics

	var report []imports.CellError
	var rows, created, updated, unchanged, failed int
	var lines []int
	var parcels []logistics.ParcelInput
	var events []logistics.EventInput
	flush := func() error {
		if len(lines) == 0 {
			return nil
		}
		var rs []logistics.Result
		var err error
		if kind == "parcels" {
			rs, err = svc.IngestParcels(cctx, firm, parcels)
		} else {
			rs, err = svc.IngestEvents(cctx, firm, events)
		}
		if err != nil {
			return err
		}
		for i, r := range rs {
			switch r.Status {
			case logistics.ResultCreated:
				created++
			case logistics.ResultUpdated:
				updated++
			case logistics.ResultUnchanged:
				unchanged++
			default:
				failed++
				report = append(report, imports.CellError{Row: lines[i], Column: logistics.FieldHeader(errs.FieldOf(r.Err)), Message: errs.MessageOf(r.Err)})
			}
		}
		lines, parcels, events = lines[:0], parcels[:0], events[:0]
		return nil
	}
	for {
		cells, line, err := tb.Next()
		if err == io.EOF {
			break
		}
		rows++
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				fail(stderr, err)
				return 2
			}
			failed++
			report = append(report, imports.CellError{Row: line, Message: errs.MessageOf(err)})
			continue
		}
		if kind == "parcels" {
			p, err := logistics.ParcelRow(fields, cells)
			if err != nil {
				failed++
				report = append(report, imports.CellError{Row: line, Column: logistics.FieldHeader(errs.FieldOf(err)), Message: errs.MessageOf(err)})
				continue
			}
			parcels = append(parcels, p)
		} else {
			events = append(events, logistics.EventRow(fields, cells))
		}
		lines = append(lines, line)
		if len(lines) == logistics.MaxBatch {
			if err := flush(); err != nil {
				fail(stderr, err)
				return 2
			}
		}
	}
	if err := flush(); err != nil {
		fail(stderr, err)
		return 2
	}
	var out io.Writer = stdout
	if errFile != "" {
		f, err := os.Create(errFile)
		if err != nil {
			fmt.Fprintf(stderr, "错误 (error): 无法写入错误报告 %s：%v\n", errFile, err)
			return 2
		}
		defer f.Close()
		f.WriteString("\ufeff")
		out = f
	}
	if len(report) > 0 || errFile != "" {
		if err := writeErrorReport(out, report); err != nil {
			fmt.Fprintf(stderr, "错误 (error): 写入错误报告失败：%v\n", err)
			return 2
		}
	}
	fmt.Fprintf(stderr, "导入完成：文件 %s（%s，%s），共 %d 行：新增 %d，更新 %d，未变 %d，失败 %d\n",
		name, tb.Format, tb.Encoding, rows, created, updated, unchanged, failed)
	if failed > 0 {
		return 1
	}
	return 0
}
