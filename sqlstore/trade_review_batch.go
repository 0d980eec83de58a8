package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"ecredit/audit"
	"ecredit/errs"
	"ecredit/trade"
)

// ReviewsOfOrders returns the reviews of those orders that have one, by
// order id.
func (db *DB) ReviewsOfOrders(ctx context.Context, orderIDs []int64) (map[int64]*trade.Review, error) {
	out := map[int64]*trade.Review{}
	err := db.byOrderIDs(ctx, orderIDs, "SELECT "+reviewCols+" FROM reviews WHERE order_id IN ", func(r *sql.Rows) error {
		v, err := scanReview(r)
		if err == nil {
			out[v.OrderID] = v
		}
		return err
	})
	return out, mapErr("sqlstore.ReviewsOfOrders", err)
}

// BuyerRatingsOfOrders returns the sellers' ratings of the buyers of
// those orders that have one, by order id.
func (db *DB) BuyerRatingsOfOrders(ctx context.Context, orderIDs []int64) (map[int64]*trade.BuyerRating, error) {
	out := map[int64]*trade.BuyerRating{}
	err := db.byOrderIDs(ctx, orderIDs, "SELECT id, order_id, platform_id, seller_id, buyer, rating, body, created_at FROM buyer_ratings WHERE order_id IN ",
		func(r *sql.Rows) error {
			var v trade.BuyerRating
			var rating int
			var at int64
			if err := r.Scan(&v.ID, &v.OrderID, &v.PlatformID, &v.SellerID, &v.Buyer, &rating, &v.Text, &at); err != nil {
				return err
			}
			v.Rating, v.CreatedAt = trade.Rating(rating), fromMicros(at)
			out[v.OrderID] = &v
			return nil
		})
	return out, mapErr("sqlstore.BuyerRatingsOfOrders", err)
}

// byOrderIDs runs sel followed by an IN list of the ids, inChunk at a
// time.
func (db *DB) byOrderIDs(ctx context.Context, ids []int64, sel string, fn func(*sql.Rows) error) error {
	for start := 0; start < len(ids); start += inChunk {
		in, args := idList(ids[start:min(start+inChunk, len(ids))])
		if err := db.eachRow(ctx, db.r, sel+in, args, fn); err != nil {
			return err
		}
	}
	return nil
}

// reviewInsertCols are the columns CreateReviewBatch writes, with their
// SQL types (for unnest on PostgreSQL).
const reviewInsertCols = "order_id, platform_id, shop_id, seller_id, buyer, month, rating, description, service, logistics, body, counted, dsr_counted, created_at"

var reviewInsertTypes = []string{"BIGINT", "BIGINT", "BIGINT", "BIGINT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "TEXT", "BIGINT", "BIGINT", "BIGINT"}

// pairMonth is a buyer–seller pair of a platform in a month: the unit of
// the bounds on counted reviews.
type pairMonth struct {
	platform, seller int64
	buyer            string
	month            int
}

// CreateReviewBatch stores reviews and sellers' ratings of buyers in one
// transaction with one audit entry (see trade.Store). Each review counts,
// and counts in the detailed ratings, while its pair and month are below
// the bounds, counting the stored unfolded reviews and the batch's earlier
// ones; the shops' tallies take one update a shop. A review or rating of
// an order that has one is a Conflict and nothing is written (the caller
// judges the batch again).
func (db *DB) CreateReviewBatch(ctx context.Context, rs []*trade.Review, brs []*trade.BuyerRating, b trade.Bounds, ev *audit.Entry) error {
	const op = "sqlstore.CreateReviewBatch"
	now := db.now()
	for _, r := range rs {
		if r.CreatedAt.IsZero() {
			r.CreatedAt = now
		}
		norm(&r.CreatedAt)
	}
	for _, r := range brs {
		if r.CreatedAt.IsZero() {
			r.CreatedAt = now
		}
		norm(&r.CreatedAt)
	}
	counted := make([]bool, len(rs))
	dsr := make([]bool, len(rs))
	rids := map[int64]int64{}  // review id by order id
	brids := map[int64]int64{} // rating id by order id
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		// The sellers' locks, as CreateReview takes one.
		var sellers []int64
		for _, r := range rs {
			sellers = append(sellers, r.SellerID)
		}
		slices.Sort(sellers)
		if err := db.lockSellers(ctx, tx, slices.Compact(sellers)); err != nil {
			return err
		}
		have, err := db.pairMonthCounts(ctx, tx, rs)
		if err != nil {
			return err
		}
		type tally struct {
			seller                                    int64
			reviews, pos, neu, neg, dsr, d, s, l, rev int
		}
		tallies := map[int64]*tally{}
		var shops []int64
		rows := make([][]any, len(rs))
		for i, r := range rs {
			k := pairMonth{r.PlatformID, r.SellerID, r.Buyer, r.Month}
			c := have[k]
			counted[i] = c[0] < b.Points
			dsr[i] = counted[i] && c[1] < b.DSR
			if counted[i] {
				c[0]++
			}
			if dsr[i] {
				c[1]++
			}
			have[k] = c
			rows[i] = []any{r.OrderID, r.PlatformID, r.ShopID, r.SellerID, r.Buyer, int64(r.Month), int64(r.Rating), int64(r.Description),
				int64(r.Service), int64(r.Logistics), r.Text, int64(b01(counted[i])), int64(b01(dsr[i])), micros(r.CreatedAt)}
			t := tallies[r.ShopID]
			if t == nil {
				t = &tally{seller: r.SellerID}
				tallies[r.ShopID] = t
				shops = append(shops, r.ShopID)
			}
			t.reviews++
			if counted[i] {
				switch r.Rating {
				case trade.Positive:
					t.pos++
				case trade.Neutral:
					t.neu++
				case trade.Negative:
					t.neg++
				}
			}
			if dsr[i] {
				t.dsr, t.d, t.s, t.l = t.dsr+1, t.d+r.Description, t.s+r.Service, t.l+r.Logistics
			}
		}
		scanIDs := func(into map[int64]int64) func(*sql.Rows) error {
			return func(r *sql.Rows) error {
				var id, order int64
				err := r.Scan(&id, &order)
				into[order] = id
				return err
			}
		}
		if err := db.multiInsert(ctx, tx, "reviews", reviewInsertCols, reviewInsertTypes, rows, 250, "RETURNING id, order_id", scanIDs(rids)); err != nil {
			return err
		}
		slices.Sort(shops) // one order of updates for every writer
		for _, shop := range shops {
			t := tallies[shop]
			if err := db.tallyAdd(ctx, tx, shop, t.seller, shopTally{reviews: t.reviews, pos: t.pos, neu: t.neu, neg: t.neg,
				dsr: t.dsr, d: t.d, s: t.s, l: t.l}, now); err != nil {
				return err
			}
		}
		brows := make([][]any, len(brs))
		for i, r := range brs {
			brows[i] = []any{r.OrderID, r.PlatformID, r.SellerID, r.Buyer, int64(r.Rating), r.Text, micros(r.CreatedAt)}
		}
		if err := db.multiInsert(ctx, tx, "buyer_ratings", "order_id, platform_id, seller_id, buyer, rating, body, created_at",
			[]string{"BIGINT", "BIGINT", "BIGINT", "TEXT", "BIGINT", "TEXT", "BIGINT"}, brows, 250, "RETURNING id, order_id", scanIDs(brids)); err != nil {
			return err
		}
		if len(rids) != len(rs) || len(brids) != len(brs) {
			return &errs.Error{Code: errs.Internal, Message: fmt.Sprintf("stored %d reviews and %d ratings, got %d and %d ids", len(rs), len(brs), len(rids), len(brids))}
		}
		return db.appendAudit(ctx, tx, ev, "", 0)
	})
	if err != nil {
		if errs.Is(err, errs.Conflict) && errs.FieldOf(err) == "" {
			return &errs.Error{Code: errs.Conflict, Op: op, Field: "order_id", Message: "订单已被同时评价，请重试 (an order was rated concurrently)", Err: err}
		}
		return err
	}
	for i, r := range rs {
		r.ID, r.Counted, r.DSRCounted = rids[r.OrderID], counted[i], dsr[i]
	}
	for _, r := range brs {
		r.ID = brids[r.OrderID]
	}
	return nil
}

// lockSellers takes lockSeller's lock of each seller, in ascending order,
// in one statement (PostgreSQL; SQLite has one writer anyway).
func (db *DB) lockSellers(ctx context.Context, tx *sql.Tx, sellers []int64) error {
	if db.d.name != EnginePostgres || len(sellers) == 0 {
		return nil
	}
	keys := make([]int64, len(sellers))
	for i, s := range sellers {
		keys[i] = s % (1 << 31)
	}
	slices.Sort(keys)
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1, k::int) FROM (SELECT k FROM unnest($2::bigint[]) AS k ORDER BY k) AS o",
		int32(0x7472), slices.Compact(keys))
	return err
}

// pairMonthCounts returns, for each pair and month of the reviews, how
// many of its stored unfolded reviews count and count in the detailed
// ratings, in one query (PostgreSQL: the keys as arrays; SQLite: as one
// JSON text).
func (db *DB) pairMonthCounts(ctx context.Context, tx *sql.Tx, rs []*trade.Review) (map[pairMonth][2]int, error) {
	out := map[pairMonth][2]int{}
	var keys []pairMonth
	for _, r := range rs {
		k := pairMonth{r.PlatformID, r.SellerID, r.Buyer, r.Month}
		if _, ok := out[k]; !ok {
			out[k] = [2]int{}
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return out, nil
	}
	if db.d.name == EnginePostgres {
		ps, ss, bs, ms := make([]int64, len(keys)), make([]int64, len(keys)), make([]string, len(keys)), make([]int64, len(keys))
		for i, k := range keys {
			ps[i], ss[i], bs[i], ms[i] = k.platform, k.seller, k.buyer, int64(k.month)
		}
		err := db.eachRow(ctx, tx, `SELECT k.i, COALESCE(SUM(r.counted), 0), COALESCE(SUM(r.dsr_counted), 0)
			FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::bigint[]) WITH ORDINALITY AS k (p, s, b, m, i)
			LEFT JOIN reviews r ON r.platform_id = k.p AND r.seller_id = k.s AND r.buyer = k.b AND r.month = k.m AND r.folded_at = 0
			GROUP BY k.i`, []any{ps, ss, bs, ms}, func(r *sql.Rows) error {
			var i int64
			var c [2]int
			if err := r.Scan(&i, &c[0], &c[1]); err != nil {
				return err
			}
			out[keys[i-1]] = c
			return nil
		})
		return out, err
	}
	// SQLite: the keys as one JSON text, joined to the pairs' index.
	arr := make([]any, len(keys))
	for i, k := range keys {
		arr[i] = []any{k.platform, k.seller, k.buyer, k.month}
	}
	list, err := json.Marshal(arr)
	if err != nil {
		return nil, err
	}
	err = db.eachRow(ctx, tx, `SELECT k.key, COALESCE(SUM(r.counted), 0), COALESCE(SUM(r.dsr_counted), 0) FROM json_each(?) AS k
		LEFT JOIN reviews r ON r.platform_id = k.value ->> 0 AND r.seller_id = k.value ->> 1 AND r.buyer = k.value ->> 2
			AND r.month = k.value ->> 3 AND r.folded_at = 0
		GROUP BY k.key`, []any{string(list)}, func(r *sql.Rows) error {
		var i int
		var c [2]int
		if err := r.Scan(&i, &c[0], &c[1]); err != nil {
			return err
		}
		out[keys[i]] = c
		return nil
	})
	return out, err
}

// shopTally is a change of a shop's tally (shop_scores).
type shopTally struct {
	reviews, folded, pos, neu, neg, dsr, d, s, l int
}

// tallyAdd adds t to a shop's tally, creating it.
func (db *DB) tallyAdd(ctx context.Context, tx *sql.Tx, shopID, sellerID int64, t shopTally, at time.Time) error {
	_, err := db.exec(ctx, tx, `INSERT INTO shop_scores (shop_id, seller_id, reviews, folded, positive, neutral, negative,
		dsr_count, description_sum, service_sum, logistics_sum, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (shop_id) DO UPDATE SET reviews = shop_scores.reviews + excluded.reviews,
		folded = shop_scores.folded + excluded.folded, positive = shop_scores.positive + excluded.positive,
		neutral = shop_scores.neutral + excluded.neutral, negative = shop_scores.negative + excluded.negative,
		dsr_count = shop_scores.dsr_count + excluded.dsr_count,
		description_sum = shop_scores.description_sum + excluded.description_sum,
		service_sum = shop_scores.service_sum + excluded.service_sum,
		logistics_sum = shop_scores.logistics_sum + excluded.logistics_sum, updated_at = excluded.updated_at`,
		shopID, sellerID, t.reviews, t.folded, t.pos, t.neu, t.neg, t.dsr, t.d, t.s, t.l, micros(at))
	return err
}
