package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"ecredit/account"
	"ecredit/app"
	"ecredit/errs"
	"ecredit/registry"
	"ecredit/trade"
)

// runOrderImport imports a platform's orders file (trade.OrderFileColumns:
// one row per item, the rows of an order adjacent) with the rules of the
// API, trade.MaxBatch orders at a time: an order that fails is reported on
// its row (the first row of the order, or the row at fault), the others
// are stored, re-importing stores nothing twice and moves orders forward
// (a later status, times or waybill). Exit status as for records.
func runOrderImport(ctx context.Context, sf *storeFlags, platform, name, errFile string, stdin io.Reader, stdout, stderr io.Writer) int {
	a, cctx, plat := openPlatform(ctx, sf, platform, "订单", stderr)
	if plat == nil {
		return 2
	}
	defer a.Store.Close()
	platformID := plat.ID
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

// openPlatform opens the store for an import of a platform's file (what:
// 订单, 评价) and finds the registered platform of the credit code given
// with --platform. A nil platform means the import cannot start (the
// reason written; the store closed); else the caller closes the store.
func openPlatform(ctx context.Context, sf *storeFlags, code, what string, stderr io.Writer) (*app.App, context.Context, *registry.Subject) {
	if strings.TrimSpace(code) == "" {
		fmt.Fprintf(stderr, "错误 (error): 导入%s需要 --platform 电商平台的统一社会信用代码 (--platform is required)\n", what)
		return nil, ctx, nil
	}
	a, cctx, err := openStore(ctx, sf, stderr)
	if err != nil {
		fail(stderr, err)
		return nil, ctx, nil
	}
	subs, err := a.Store.FindSubjectsByCodes(cctx, []string{strings.TrimSpace(code)})
	if err != nil {
		a.Store.Close()
		fail(stderr, err)
		return nil, ctx, nil
	}
	for _, s := range subs {
		if s.Kind == registry.KindPlatform {
			return a, cctx, s
		}
	}
	a.Store.Close()
	fmt.Fprintf(stderr, "错误 (error) [platform]: 电商平台 %s 尚未登记 (platform not registered)\n", code)
	return nil, ctx, nil
}

// runReviewImport imports a platform's reviews file
// (trade.ReviewFileColumns: buyers' reviews, 追评 and sellers' ratings of
// buyers, by the platform's order numbers), as the platform, with the
// rules of POST /api/v1/reviews/batch, trade.MaxReviewBatch rows at a
// time: a bad row is reported on its line, the others stored, and
// re-importing stores nothing twice. Exit status as for records.
func runReviewImport(ctx context.Context, sf *storeFlags, platform, name, errFile string, stdin io.Reader, stdout, stderr io.Writer) int {
	a, cctx, plat := openPlatform(ctx, sf, platform, "评价", stderr)
	if plat == nil {
		return 2
	}
	defer a.Store.Close()
	// The lines are the platform's: its order numbers, its scope.
	actor := account.From(cctx)
	actor.Role, actor.SubjectID, actor.Name = account.RolePlatform, plat.ID, plat.Name
	cctx = account.With(cctx, actor)
	var c tableCounts
	var file *trade.ReviewFile
	var batch []trade.ReviewLine
	var lines []int
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		rs, err := a.Trade.IngestReviews(cctx, batch)
		if err != nil {
			return err
		}
		for i, r := range rs {
			c.tally(r.Status, lines[i], trade.ReviewFileColumns.Header(errs.FieldOf(r.Err)), r.Err)
		}
		batch, lines = batch[:0], lines[:0]
		return nil
	}
	return importTable(name, errFile, stdin, stdout, stderr, &c,
		func(header []string) (err error) {
			file, err = trade.NewReviewFile(header)
			return err
		},
		func(line int, cells []string) error {
			in, err := file.Row(cells)
			if err != nil {
				c.fault(line, trade.ReviewFileColumns.Header(errs.FieldOf(err)), err)
				return nil
			}
			if batch, lines = append(batch, in), append(lines, line); len(batch) == trade.MaxReviewBatch {
				return flush()
			}
			return nil
		},
		flush)
}
