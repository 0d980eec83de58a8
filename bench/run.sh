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
parcels) pattern='^BenchmarkParcel(EventIngest|EventIngestCold|EventAppend|EventStore|SchemaInsert|RawInsertCeiling)$' ;; # tracking events, 1000 a batch (logistics)
trace) pattern='^BenchmarkTrace$' ;;
epcis) pattern='^BenchmarkTraceCapture$' ;; # trace events as inputs, EPCIS JSON-LD and EPCIS XML (M10)
orders) pattern='^BenchmarkOrder(IngestBatch|SchemaInsert|IndexCost|RawInsertCeiling)$' ;; # trade (M5); IndexCost: the ceiling with each index of the real tables
reviews) pattern='^BenchmarkReviewBatch(Ingest|Single|RawInsertCeiling)$' ;; # trade (M5): 1000 reviews a batch, and one call each
windows) pattern='^BenchmarkReviewWindows$' ;; # trade (M5): rolling windows of a shop with ECREDIT_BENCH_REVIEWS reviews (default 100000)
report) pattern='^BenchmarkLogisticsReport$' ;; # logistics (M4): a firm's report with its couriers, ECREDIT_BENCH_REPORT_PARCELS parcels (default 20000)
all) pattern='.' ;;
*) echo "bench/run.sh: unknown suite $suite (subjects, records, ledger, orders, reviews, parcels, trace, epcis, windows, report, all)" >&2; exit 2 ;;
esac

# -count N becomes N rounds of -count 1, each running every benchmark of
# the suite once, so that a benchmark and its ceiling are measured minutes
# apart at most, not one suite-length apart: on a shared virtual machine
# the speed drifts, and a ratio of two figures taken far apart measures
# the drift.
rounds=1
args=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	-count) rounds="$2"; shift 2 ;;
	-count=*) rounds="${1#-count=}"; shift ;;
	*) args+=("$1"); shift ;;
	esac
done
mkdir -p bench/out
out="bench/out/$suite-$(date -u +%Y%m%dT%H%M%SZ).txt"
: > "$out"
for ((round = 1; round <= rounds; round++)); do
	echo "bench/run.sh: round $round of $rounds" | tee -a "$out"
	bash scripts/test.sh ./sqlstore/ -run '^$' -bench "$pattern" -benchtime 2s -count 1 "${args[@]}" | tee -a "$out"
done

# Ratio table: for each engine, every benchmark's rows/s divided by the
# ceiling (the benchmark whose name contains "Ceiling") of that engine and
# family: BenchmarkOrderRawInsertCeiling is the ceiling of BenchmarkOrder…,
# BenchmarkRawInsertCeiling of the rest (the longest matching prefix wins).
# With -count N (e.g. bench/run.sh orders -benchtime 40x -count 5) each
# figure is the median of its N rounds; the ratio is the median of the N
# rounds' ratios (each against the ceiling of its own round), and "runs"
# their lowest and highest.
awk '
# msort sorts a[1..c] and returns its median; lo and hi get the ends.
function msort(a, c,   i, j, t) {
	for (i = 2; i <= c; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j+1] = a[j]; a[j+1] = t }
	mlo = a[1]; mhi = a[c]
	return (c % 2) ? a[(c+1)/2] : (a[c/2] + a[c/2+1]) / 2
}
/^bench\/run.sh: round / { round = $3 + 0; next }
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
	cnt[key]++
	vals[key, cnt[key]] = rate + 0
	rnd[key, cnt[key]] = round
	if (name ~ /Ceiling/) { fam = parts[1]; sub(/RawInsertCeiling$/, "", fam); ceil[engine, fam, round] = rate + 0; fams[fam] = 1 }
}
END {
	printf "\n%-55s %14s %8s %5s %15s\n", "benchmark", "per second", "ratio", "n", "runs"
	for (j = 1; j <= k; j++) {
		key = order[j]; split(key, p, SUBSEP); e = p[1]; nm = p[2]
		split(nm, q, "/"); best = ""; found = 0
		for (f in fams) if (index(q[1], f) == 1 && (!found || length(f) > length(best))) { best = f; found = 1 }
		delete a; delete rs; m = 0
		for (i = 1; i <= cnt[key]; i++) {
			a[i] = vals[key, i]
			if (found && ((e, best, rnd[key, i]) in ceil)) rs[++m] = vals[key, i] / ceil[e, best, rnd[key, i]]
		}
		med = msort(a, cnt[key])
		r = "-"; span = ""
		if (m > 0) {
			r = sprintf("%.3f", msort(rs, m))
			if (m > 1) span = sprintf("%.3f–%.3f", mlo, mhi)
		}
		printf "%-55s %14.0f %8s %5d %15s\n", nm, med, r, cnt[key], span
	}
}' "$out" | tee -a "$out"
echo "bench/run.sh: results in $out"
