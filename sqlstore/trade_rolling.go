package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"ecredit/errs"
	"ecredit/trade"
)

// Rolling windows of the reviews (trade/rolling.go, migration 00012).
//
// One statement per call (per 500 shops) reads the lifetime tally of the
// shops from shop_scores and, UNION ALL, their counted, unfolded reviews
// from the first edge on, summed per bucket:
//
//   - the days strictly between edges (Asia/Shanghai calendar days) from
//     review_days, the per-shop, per-day sums the triggers of 00012 keep:
//     about 180 rows a shop for six months, however busy the shop;
//   - the reviews of each edge's own day read one by one from the partial
//     covering index reviews_window_idx (shop_id, created_at, rating,
//     dsr_counted, description, service, logistics WHERE counted = 1 AND
//     folded_at = 0), a range scan per edge day, so the windows start and
//     end at the exact microsecond. The WHERE clause repeats the index's
//     condition literally so that both planners may use it.
//
// One statement is one snapshot on both engines, so the lifetime tally and
// the buckets agree, and "before the first edge" (6个月前) is their
// difference without reading the older reviews.

// Calendar days in Asia/Shanghai (UTC+8, no daylight saving since 1991)
// as review_days numbers them: (unix µs + 8 h) / 24 h.
const (
	dayMicros    = int64(24 * time.Hour / time.Microsecond)
	shanghaiSkew = int64(8 * time.Hour / time.Microsecond)
)

func dayOf(us int64) int64 { return (us + shanghaiSkew) / dayMicros }

// dayStart is the first microsecond of day d.
func dayStart(d int64) int64 { return d*dayMicros - shanghaiSkew }

// windowTallyCols sum the shops' lifetime tallies; windowSums a bucket's
// rows (p u n c d s l: 好评, 中评, 差评, the detailed ratings' count and
// sums). CAST keeps every column BIGINT on PostgreSQL (SUM of a BIGINT is
// NUMERIC there).
const (
	windowTallyCols = `CAST(COALESCE(SUM(reviews), 0) AS BIGINT), CAST(COALESCE(SUM(folded), 0) AS BIGINT),
	CAST(COALESCE(SUM(positive), 0) AS BIGINT), CAST(COALESCE(SUM(neutral), 0) AS BIGINT),
	CAST(COALESCE(SUM(negative), 0) AS BIGINT), CAST(COALESCE(SUM(dsr_count), 0) AS BIGINT),
	CAST(COALESCE(SUM(description_sum), 0) AS BIGINT), CAST(COALESCE(SUM(service_sum), 0) AS BIGINT),
	CAST(COALESCE(SUM(logistics_sum), 0) AS BIGINT)`
	windowSums = `CAST(SUM(p) AS BIGINT), CAST(SUM(u) AS BIGINT), CAST(SUM(n) AS BIGINT), CAST(SUM(c) AS BIGINT),
	CAST(SUM(d) AS BIGINT), CAST(SUM(s) AS BIGINT), CAST(SUM(l) AS BIGINT)`
)

// ReviewWindows returns the lifetime tally of the shops (or, with shopIDs
// nil, of every shop of seller) and their counted, unfolded reviews split
// at the ascending edges (see trade.Store).
func (db *DB) ReviewWindows(ctx context.Context, sellerID int64, shopIDs []int64, edges []time.Time) (trade.Tally, []trade.Tally, error) {
	const op = "sqlstore.ReviewWindows"
	var life trade.Tally
	if len(edges) == 0 {
		return life, nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "edges", Message: "至少需要一个时间边界 (at least one edge)"}
	}
	at := make([]int64, len(edges))
	for i, e := range edges {
		at[i] = micros(e)
		if i > 0 && at[i] <= at[i-1] {
			return life, nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "edges", Message: "时间边界必须递增 (edges must ascend)"}
		}
	}
	buckets := make([]trade.Tally, len(edges))
	if shopIDs == nil {
		err := db.windowQuery(ctx, "seller_id = ?", "shop_id IN (SELECT shop_id FROM shop_scores WHERE seller_id = ?)",
			[]any{sellerID}, at, &life, buckets)
		return life, buckets, mapErr(op, err)
	}
	shopIDs = uniqueIDs(shopIDs)
	for start := 0; start < len(shopIDs); start += inChunk {
		chunk := shopIDs[start:min(start+inChunk, len(shopIDs))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		in := "shop_id IN " + inList(len(chunk))
		if err := db.windowQuery(ctx, in, in, args, at, &life, buckets); err != nil {
			return trade.Tally{}, nil, mapErr(op, err)
		}
	}
	return life, buckets, nil
}

// windowQuery runs the statement of windowSQL, adding into life and
// buckets.
func (db *DB) windowQuery(ctx context.Context, scoreWhere, reviewWhere string, args []any, edges []int64, life *trade.Tally, buckets []trade.Tally) error {
	query, qa := windowSQL(scoreWhere, reviewWhere, args, edges)
	return db.eachRow(ctx, db.r, query, qa, func(r *sql.Rows) error {
		var b int
		var t trade.Tally
		if err := r.Scan(&b, &t.Reviews, &t.Folded, &t.Positive, &t.Neutral, &t.Negative, &t.DSRCount, &t.DescriptionSum,
			&t.ServiceSum, &t.LogisticsSum); err != nil {
			return err
		}
		switch {
		case b == -1:
			life.Add(t)
		case b >= 0 && b < len(buckets):
			buckets[b].Add(t)
		}
		return nil
	})
}

// windowSQL is the statement for the shops that scoreWhere selects in
// shop_scores and reviewWhere in review_days and reviews (each taking
// args): rows (bucket, the sums of a tally), bucket −1 the lifetime tally.
func windowSQL(scoreWhere, reviewWhere string, args []any, edges []int64) (string, []any) {
	var q strings.Builder
	var qa []any
	add := func(sql string, a ...any) { q.WriteString(sql); qa = append(qa, a...) }
	// bucketOf is the CASE giving a value's bucket: the last bound it is
	// at or above (">=", instants) or above (">", days: those left are
	// strictly inside their bucket).
	bucketOf := func(col, op string, bounds []int64) {
		add("CASE")
		for i := len(bounds) - 1; i >= 1; i-- {
			add(" WHEN "+col+" "+op+" ? THEN "+strconv.Itoa(i), bounds[i])
		}
		add(" ELSE 0 END")
	}
	days := make([]int64, len(edges))
	var edgeDays []int64 // distinct, ascending
	for i, e := range edges {
		days[i] = dayOf(e)
		if len(edgeDays) == 0 || edgeDays[len(edgeDays)-1] != days[i] {
			edgeDays = append(edgeDays, days[i])
		}
	}
	add("SELECT -1, "+windowTallyCols+" FROM shop_scores WHERE "+scoreWhere, args...)
	add(" UNION ALL SELECT b, 0, 0, " + windowSums + " FROM (SELECT ")
	// The days strictly inside the buckets.
	bucketOf("day", ">", days)
	add(" AS b, positive AS p, neutral AS u, negative AS n, dsr_count AS c, description_sum AS d, service_sum AS s,"+
		" logistics_sum AS l FROM review_days WHERE "+reviewWhere, args...)
	add(" AND day > ? AND day NOT IN "+inList(len(edgeDays)), days[0])
	for _, d := range edgeDays {
		qa = append(qa, d)
	}
	// The edge days, review by review, from the first edge on.
	for _, d := range edgeDays {
		add(" UNION ALL SELECT ")
		bucketOf("created_at", ">=", edges)
		add(` AS b, CASE WHEN rating = 1 THEN 1 ELSE 0 END, CASE WHEN rating = 0 THEN 1 ELSE 0 END,
			CASE WHEN rating = -1 THEN 1 ELSE 0 END, dsr_counted, dsr_counted * description, dsr_counted * service,
			dsr_counted * logistics FROM reviews WHERE `+reviewWhere, args...)
		add(" AND counted = 1 AND folded_at = 0 AND created_at >= ? AND created_at < ?", max(edges[0], dayStart(d)), dayStart(d+1))
	}
	add(") w GROUP BY b")
	return q.String(), qa
}
