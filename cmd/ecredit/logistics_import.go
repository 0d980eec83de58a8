package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"ecredit/errs"
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
	a, cctx, err := openStore(ctx, sf, stderr)
	if err != nil {
		fail(stderr, err)
		return 2
	}
	defer a.Store.Close()
	svc := a.Logistics

	var c tableCounts
	var fields []string
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
			c.tally(r.Status, lines[i], logistics.FieldHeader(errs.FieldOf(r.Err)), r.Err)
		}
		lines, parcels, events = lines[:0], parcels[:0], events[:0]
		return nil
	}
	return importTable(name, errFile, stdin, stdout, stderr, &c,
		func(header []string) (err error) {
			fields, err = logistics.Columns(kind, header)
			return err
		},
		func(line int, cells []string) error {
			if kind == "parcels" {
				p, err := logistics.ParcelRow(fields, cells)
				if err != nil {
					c.fault(line, logistics.FieldHeader(errs.FieldOf(err)), err)
					return nil
				}
				parcels = append(parcels, p)
			} else {
				events = append(events, logistics.EventRow(fields, cells))
			}
			if lines = append(lines, line); len(lines) == logistics.MaxBatch {
				return flush()
			}
			return nil
		}, flush)
}
