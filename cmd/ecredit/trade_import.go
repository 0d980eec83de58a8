package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"ecredit/errs"
	"ecredit/trade"
)

// runOrderImport imports a platform's orders file (trade.OrderFileColumns:
// one row per item, the rows of an order adjacent) with the rules of the
// API, trade.MaxBatch orders at a time: an order that fails is reported on
// its row (the first row of the order, or the row at fault), the others
// are stored, re-importing stores nothing twice and moves orders forward
// (a later status, times or waybill). Exit status as for records.
func runOrderImport(ctx context.Context, sf *storeFlags, platform, name, errFile string, stdin io.Reader, stdout, stderr io.Writer) int {
	if strings.TrimSpace(platform) == "" {
		fmt.Fprintln(stderr, "错误 (error): 导入订单需要 --platform 电商平台的统一社会信用代码 (--platform is required)")
		return 2
	}
	a, cctx, err := openStore(ctx, sf, stderr)
	if err != nil {
		fail(stderr, err)
		return 2
	}
	defer a.Store.Close()
	subs, err := a.Store.FindSubjectsByCodes(cctx, []string{strings.TrimSpace(platform)})
	if err != nil {
		fail(stderr, err)
		return 2
	}
	var platformID int64
	for _, s := range subs {
		platformID = s.ID
	}
	if platformID == 0 {
		fmt.Fprintf(stderr, "错误 (error) [platform]: 平台 %s 尚未登记 (platform not registered)\n", platform)
		return 2
	}
	var c tableCounts
	c.unit = "笔订单"
	var file *trade.OrderFile
	var batch []*trade.FileOrder
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		ins := make([]trade.OrderInput, len(batch))
		for i, o := range batch {
			ins[i] = o.Input
		}
		rs, err := a.Trade.IngestBatch(cctx, ins)
		if err != nil {
			return err
		}
		for i, r := range rs {
			c.tally(r.Status, batch[i].Line, trade.OrderFileColumns.Header(errs.FieldOf(r.Err)), r.Err)
		}
		batch = batch[:0]
		return nil
	}
	add := func(o *trade.FileOrder) error {
		if o == nil {
			return nil
		}
		c.units++
		if o.Err != nil {
			c.fault(o.Line, trade.OrderFileColumns.Header(errs.FieldOf(o.Err)), o.Err)
			return nil
		}
		if batch = append(batch, o); len(batch) == trade.MaxBatch {
			return flush()
		}
		return nil
	}
	return importTable(name, errFile, stdin, stdout, stderr, &c,
		func(header []string) (err error) {
			file, err = trade.NewOrderFile(platformID, header)
			return err
		},
		func(line int, cells []string) error { return add(file.Row(line, cells)) },
		func() error {
			if err := add(file.Flush()); err != nil {
				return err
			}
			return flush()
		})
}
