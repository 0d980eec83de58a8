#!/usr/bin/env bash
# Runs ecredit's store benchmarks on SQLite and PostgreSQL (a throwaway
# cluster, via scripts/test.sh) and prints each throughput as a ratio to the
# raw-insert ceiling measured in the same run on the same engine.
#
# Usage: bench/run.sh [SUITE] [GO TEST FLAGS…]
#   SUITE: subjects (default) | records | ledger | orders | parcels | trace | windows | all
#   trace: query latency of trace forward/backward over
#          ECREDIT_BENCH_TRACE_ORDERS orders (default 20000), e.g.
#          ECREDIT_BENCH_TRACE_ORDERS=10000000 bench/run.sh trace -benchtime 200x
#   e.g.   bench/run.sh subjects -benchtime 5000x
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

suite="${1:-subjects}"
[[ $# -gt 0 ]] && shift
case "$suite" in
subjects) pattern='^Benchmark(CreateSubject|CreateSubjectBatch|RawInsertCeiling)$' ;;
records) pattern='^BenchmarkRecord(IngestBatch|FileImport|RawInsertCeiling)$' ;;
ledger) pattern='^Benchmark(AppendLedger|RawInsertCeiling)$' ;;
parcels) pattern='^BenchmarkParcel(EventIngest|EventStore|SchemaInsert|RawInsertCeiling)$' ;; # tracking events, 1000 a batch (logistics)
trace) pattern='^BenchmarkTrace$' ;;
orders) pattern='^BenchmarkOrder(IngestBatch|SchemaInsert|RawInsertCeiling)$' ;; # trade (M5)
windows) pattern='^BenchmarkReviewWindows$' ;; # trade (M5): rolling windows of a shop with ECREDIT_BENCH_REVIEWS reviews (default 100000)
all) pattern='.' ;;
*) echo "bench/run.sh: unknown suite $suite (subjects, records, ledger, orders, parcels, trace, windows, all)" >&2; exit 2 ;;
esac

mkdir -p bench/out
out="bench/out/$suite-$(date -u +%Y%m%dT%H%M%SZ).txt"
bash scripts/test.sh ./sqlstore/ -run '^$' -bench "$pattern" -benchtime 2s -count 1 "$@" | tee "$out"

# Ratio table: for each engine, every benchmark's rows/s divided by the
# ceiling (the benchmark whose name contains "Ceiling") of that engine and
# family: BenchmarkOrderRawInsertCeiling is the ceiling of BenchmarkOrder…,
# BenchmarkRawInsertCeiling of the rest (the longest matching prefix wins).
awk '
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	n = split(name, parts, "/"); engine = ""
	for (i = 2; i <= n; i++) if (parts[i] == "sqlite" || parts[i] == "postgres") engine = parts[i]
	if (engine == "") next
	rate = ""
	for (i = 2; i < NF; i++) if ($(i+1) == "rows/s" || $(i+1) == "records/s" || $(i+1) == "appends/s" || $(i+1) == "queries/s") rate = $i
	if (rate == "") next
	rows[engine, name] = rate; order[++k] = engine SUBSEP name
	if (name ~ /Ceiling/) { fam = parts[1]; sub(/RawInsertCeiling$/, "", fam); ceil[engine, fam] = rate; fams[fam] = 1 }
}
END {
	printf "\n%-55s %14s %8s\n", "benchmark", "per second", "ratio"
	for (j = 1; j <= k; j++) {
		split(order[j], p, SUBSEP); e = p[1]; nm = p[2]
		split(nm, q, "/"); best = ""; found = 0
		for (f in fams) if (index(q[1], f) == 1 && ((e, f) in ceil) && (!found || length(f) > length(best))) { best = f; found = 1 }
		r = (found && ceil[e, best] > 0) ? sprintf("%.3f", rows[e, nm] / ceil[e, best]) : "-"
		printf "%-55s %14.0f %8s\n", nm, rows[e, nm], r
	}
}' "$out" | tee -a "$out"
echo "bench/run.sh: results in $out"
