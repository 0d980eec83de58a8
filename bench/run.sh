#!/usr/bin/env bash
# Runs ecredit's store benchmarks on SQLite and PostgreSQL (a throwaway
# cluster, via scripts/test.sh) and prints each throughput as a ratio to the
# raw-insert ceiling measured in the same run on the same engine.
#
# Usage: bench/run.sh [SUITE] [GO TEST FLAGS…]
#   SUITE: subjects (default) | records | ledger | orders | reviews | parcels | trace | epcis | windows | report | all
#   trace: query latency of trace forward/backward over
#          ECREDIT_BENCH_TRACE_ORDERS orders (default 20000), e.g.
#          ECREDIT_BENCH_TRACE_ORDERS=10000000 bench/run.sh trace -benchtime 200x
#   e.g.   bench/run.sh subjects -benchtime 5000x
#          bench/run.sh orders -benchtime 40x -count 5   (medians of 5 runs)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

suite="${1:-subjects}"
[[ $# -gt 0 ]] && shift
case "$suite" in
subjects) pattern='^Benchmark(CreateSubject|CreateSubjectBatch|RawInsertCeiling)$' ;;
records) pattern='^BenchmarkRecord(IngestBatch|FileImport|RawInsertCeiling)$' ;;
ledger) pattern='^Benchmark(AppendLedger|RawInsertCeiling)$' ;;
parcels) pattern='^BenchmarkParcel(EventIngest|EventAppend|EventStore|SchemaInsert|RawInsertCeiling)$' ;; # tracking events, 1000 a batch (logistics)
trace) pattern='^BenchmarkTrace$' ;;
epcis) pattern='^BenchmarkTraceCapture$' ;; # trace events as inputs, EPCIS JSON-LD and EPCIS XML (M10)
orders) pattern='^BenchmarkOrder(IngestBatch|SchemaInsert|IndexCost|RawInsertCeiling)$' ;; # trade (M5); IndexCost: the ceiling with each index of the real tables
reviews) pattern='^BenchmarkReviewBatch(Ingest|Single|RawInsertCeiling)$' ;; # trade (M5): 1000 reviews a batch, and one call each
windows) pattern='^BenchmarkReviewWindows$' ;; # trade (M5): rolling windows of a shop with ECREDIT_BENCH_REVIEWS reviews (default 100000)
report) pattern='^BenchmarkLogisticsReport$' ;; # logistics (M4): a firm's report with its couriers, ECREDIT_BENCH_REPORT_PARCELS parcels (default 20000)
all) pattern='.' ;;
*) echo "bench/run.sh: unknown suite $suite (subjects, records, ledger, orders, reviews, parcels, trace, epcis, windows, report, all)" >&2; exit 2 ;;
esac

mkdir -p bench/out
out="bench/out/$suite-$(date -u +%Y%m%dT%H%M%SZ).txt"
bash scripts/test.sh ./sqlstore/ -run '^$' -bench "$pattern" -benchtime 2s -count 1 "$@" | tee "$out"

# Ratio table: for each engine, every benchmark's rows/s divided by the
# ceiling (the benchmark whose name contains "Ceiling") of that engine and
# family: BenchmarkOrderRawInsertCeiling is the ceiling of BenchmarkOrder…,
# BenchmarkRawInsertCeiling of the rest (the longest matching prefix wins).
# With -count N (e.g. bench/run.sh orders -benchtime 40x -count 5) each
# figure is the median of its N runs, the ratio that of the medians, and
# "runs" the lowest and highest run against the ceiling's median.
awk '
function median(key, c,   i, j, t, a) {
	for (i = 1; i <= c; i++) a[i] = vals[key, i]
	for (i = 2; i <= c; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j+1] = a[j]; a[j+1] = t }
	lo[key] = a[1]; hi[key] = a[c]
	return (c % 2) ? a[(c+1)/2] : (a[c/2] + a[c/2+1]) / 2
}
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	n = split(name, parts, "/"); engine = ""
	for (i = 2; i <= n; i++) if (parts[i] == "sqlite" || parts[i] == "postgres") engine = parts[i]
	if (engine == "") next
	rate = ""
	for (i = 2; i < NF; i++) if ($(i+1) == "rows/s" || $(i+1) == "records/s" || $(i+1) == "appends/s" || $(i+1) == "queries/s") rate = $i
	if (rate == "") next
	key = engine SUBSEP name
	if (!(key in cnt)) order[++k] = key
	vals[key, ++cnt[key]] = rate + 0
	if (name ~ /Ceiling/) { fam = parts[1]; sub(/RawInsertCeiling$/, "", fam); ceilkey[engine, fam] = key; fams[fam] = 1 }
}
END {
	for (j = 1; j <= k; j++) med[order[j]] = median(order[j], cnt[order[j]])
	printf "\n%-55s %14s %8s %5s %15s\n", "benchmark", "per second", "ratio", "n", "runs"
	for (j = 1; j <= k; j++) {
		split(order[j], p, SUBSEP); e = p[1]; nm = p[2]
		split(nm, q, "/"); best = ""; found = 0
		for (f in fams) if (index(q[1], f) == 1 && ((e, f) in ceilkey) && (!found || length(f) > length(best))) { best = f; found = 1 }
		c = found ? med[ceilkey[e, best]] : 0
		r = c > 0 ? sprintf("%.3f", med[order[j]] / c) : "-"
		span = (c > 0 && cnt[order[j]] > 1) ? sprintf("%.3f–%.3f", lo[order[j]] / c, hi[order[j]] / c) : ""
		printf "%-55s %14.0f %8s %5d %15s\n", nm, med[order[j]], r, cnt[order[j]], span
	}
}' "$out" | tee -a "$out"
echo "bench/run.sh: results in $out"
