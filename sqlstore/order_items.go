package sqlstore

import (
	"fmt"
	"strconv"

	"ecredit/trade"
)

// An order's items are a column of its row, orders.items (migration
// 00024): one JSON text, an array of
//
//	[line, "gtin", "batch", "name", "category", quantity, price_fen]
//
// in line order. An order's items are written with it and never change,
// and every read of them is by order: so a batch of orders writes one row
// an order, not one more an item. The view order_items expands them into
// the table's old columns for reads in SQL.

// itemsText is the orders.items value of items.
func itemsText(items []trade.Item) string {
	return string(appendItems(make([]byte, 0, 2+96*len(items)), items))
}

// appendItems appends the orders.items value of items to b.
func appendItems(b []byte, items []trade.Item) []byte {
	b = append(b, '[')
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(it.Line), 10)
		for _, s := range [...]string{it.GTIN, it.Batch, it.Name, it.Category} {
			b = append(b, ',')
			b = appendJSONString(b, s)
		}
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(it.Quantity), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, it.PriceFen, 10)
		b = append(b, ']')
	}
	return append(b, ']')
}

// ItemsText is itemsText, for the benchmarks that write orders raw.
func ItemsText(items []trade.Item) string { return itemsText(items) }

// parseItems reads an orders.items value (as itemsText writes it, or as
// migration 00024 built it from the old table, with spaces).
func parseItems(s string) ([]trade.Item, error) {
	r := &jsonRows{s: s}
	if !r.next('[') {
		return nil, fmt.Errorf("order items: %w", r.bad())
	}
	if r.next(']') {
		return nil, r.end()
	}
	var out []trade.Item
	for {
		var it trade.Item
		if err := r.Scan(&it.Line, &it.GTIN, &it.Batch, &it.Name, &it.Category, &it.Quantity, &it.PriceFen); err != nil {
			return nil, fmt.Errorf("order items: %w", err)
		}
		out = append(out, it)
		if r.next(']') {
			return out, r.end()
		}
		if !r.next(',') {
			return nil, fmt.Errorf("order items: %w", r.bad())
		}
	}
}
