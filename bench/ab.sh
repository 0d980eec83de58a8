#!/usr/bin/env bash
# Compares two builds of a benchmark on this machine, whose speed drifts
# from one minute to the next: runs the two test binaries alternately, N
# pairs, and prints each pair's ns/op and the median of the pairs' ratios
# (B/A; below 1: B is faster).
#
# Usage: bench/ab.sh A.test B.test BENCH_REGEX [PAIRS (10)] [BENCHTIME (100x)]
#   e.g. git stash; go test -c -o /tmp/a.test ./sqlstore; git stash pop
#        go test -c -o /tmp/b.test ./sqlstore
#        bench/ab.sh /tmp/a.test /tmp/b.test 'BenchmarkParcelEventStore$/sqlite'
set -euo pipefail
if [[ $# -lt 3 ]]; then
	sed -n '2,12p' "$0" >&2
	exit 2
fi
a="$1" b="$2" re="$3" pairs="${4:-10}" benchtime="${5:-100x}"
nsop() {
	"$1" -test.run '^$' -test.bench "$re" -test.benchtime "$benchtime" 2>&1 | awk '/^Benchmark/ { print $3; n++ } END { if (n != 1) exit 1 }' ||
		{ echo "bench/ab.sh: $1 must run exactly one benchmark matching $re" >&2; exit 1; }
}
for ((i = 1; i <= pairs; i++)); do
	echo "$(nsop "$a") $(nsop "$b")"
done | awk '
{ r[NR] = $2 / $1; sa += $1; sb += $2; printf "%12d %12d  %.3f\n", $1, $2, $2 / $1 }
END {
	for (i = 2; i <= NR; i++) { t = r[i]; for (j = i - 1; j >= 1 && r[j] > t; j--) r[j+1] = r[j]; r[j+1] = t }
	m = (NR % 2) ? r[(NR + 1) / 2] : (r[NR/2] + r[NR/2 + 1]) / 2
	printf "median B/A %.3f over %d pairs (mean ns/op A %.0f, B %.0f)\n", m, NR, sa / NR, sb / NR
}'
