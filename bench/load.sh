#!/usr/bin/env bash
# Load test of the public reads with wrk, against a city that already exists,
# with a bare net/http ceiling measured in the same run.
#
#   bench/load.sh DATA_DIR [--db URL] [--duration 30s] [--connections 32]
#                 [--threads 2] [--warmup 3s] [--urls 20000] [--out bench/out]
#
# DATA_DIR holds a city built by bench/scale (or `ecredit demo`): its SQLite
# database (or, with --db, the PostgreSQL DSN; the PII key then comes from
# ECREDIT_PII_KEY or DATA_DIR/pii.key) and its keys. Nothing is generated.
#
# 1. `bench/scale --serve` opens the application on that store with its
#    per-client rate limits lifted (app.Config.NoRateLimit: every request
#    comes from 127.0.0.1), serves it and the ceiling — a bare net/http
#    handler answering the bytes of one real JSON profile — on loopback
#    ports, and writes per endpoint a list of random paths drawn from the
#    store's organisations (profile.txt, html.txt, search.txt).
# 2. wrk drives, in turn, the ceiling, GET /api/v1/public/subjects/{code},
#    GET /subjects/{id} (HTML) and GET /api/v1/public/subjects?q= with the
#    Lua script bench/load.lua cycling through the lists; each endpoint gets
#    a short warm-up first (not counted).
# 3. The report (req/s, p50, p99, non-2xx and socket errors, ratio to the
#    ceiling) goes to stdout and bench/out/load-<UTC time>.txt. Any error
#    (an answer other than 200, a socket error) makes the script exit 1.
#
# wrk is Debian's package: apt-get install -y wrk.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() {
	sed -n '2,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

[[ $# -ge 1 && "$1" != -* ]] || usage
data="$1"
shift
db="" duration=30s connections=32 threads=2 warmup=3s urls=20000 out=bench/out
while [[ $# -gt 0 ]]; do
	case "$1" in
	--db) db="$2"; shift 2 ;;
	--duration) duration="$2"; shift 2 ;;
	--connections) connections="$2"; shift 2 ;;
	--threads) threads="$2"; shift 2 ;;
	--warmup) warmup="$2"; shift 2 ;;
	--urls) urls="$2"; shift 2 ;;
	--out) out="$2"; shift 2 ;;
	-h | --help) usage ;;
	*) echo "load.sh: unknown argument $1" >&2; usage ;;
	esac
done

if ! command -v wrk >/dev/null 2>&1; then
	echo "load.sh: wrk not found; install it with: apt-get install -y wrk" >&2
	exit 1
fi
if [[ -z "$db" && ! -f "$data/ecredit.db" ]]; then
	echo "load.sh: $data/ecredit.db not found: give the data directory of an existing city" >&2
	echo "load.sh: (build one with: go run ./bench/scale --subjects 5000 --records-per-subject 2 --data $data --duration 1s)" >&2
	exit 1
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ecredit-load.XXXXXX")"
pid=""
cleanup() {
	if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

go build -o "$tmp/scale" ./bench/scale
serve_args=(--data "$data" --serve "$tmp/urls" --urls "$urls")
[[ -n "$db" ]] && serve_args+=(--db "$db")
"$tmp/scale" "${serve_args[@]}" 2>"$tmp/server.log" &
pid=$!

for _ in $(seq 1 600); do
	[[ -f "$tmp/urls/servers.env" ]] && break
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "load.sh: the server stopped:" >&2
		cat "$tmp/server.log" >&2
		exit 1
	fi
	sleep 0.2
done
if [[ ! -f "$tmp/urls/servers.env" ]]; then
	echo "load.sh: the server did not start within 120 s:" >&2
	cat "$tmp/server.log" >&2
	exit 1
fi
# APP, CEILING, CEILING_BYTES, SUBJECTS, ORGS, RECORDS, ENGINE
# shellcheck disable=SC1091
source "$tmp/urls/servers.env"

# drive NAME BASE LIST: a warm-up, then the measured run; prints the RESULT
# fields of the measured run.
drive() {
	local name="$1" base="$2" list="$3" res
	wrk -t"$threads" -c"$connections" -d"$warmup" -s bench/load.lua "$base" -- "$list" >/dev/null
	res="$(wrk -t"$threads" -c"$connections" -d"$duration" --latency -s bench/load.lua "$base" -- "$list" | grep '^RESULT ' || true)"
	if [[ -z "$res" ]]; then
		echo "load.sh: wrk gave no result for $name" >&2
		exit 1
	fi
	echo "${res#RESULT }"
}

# field NAME FIELDS: the value of NAME=… in a RESULT line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

names=("ceiling: bare net/http, same bytes" "GET /api/v1/public/subjects/{code}" "GET /subjects/{id} (HTML)" "GET /api/v1/public/subjects?q=")
lists=("$tmp/urls/ceiling.txt" "$tmp/urls/profile.txt" "$tmp/urls/html.txt" "$tmp/urls/search.txt")
bases=("$CEILING" "$APP" "$APP" "$APP")
results=()
for i in 0 1 2 3; do
	echo "load.sh: ${names[$i]} — ${connections} connections, ${threads} threads, ${duration}" >&2
	results+=("$(drive "${names[$i]}" "${bases[$i]}" "${lists[$i]}")")
done

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
report="$out/load-$stamp.txt"
total_errors=0
{
	echo "ecredit load test (wrk)  $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "command:  bench/load.sh $data${db:+ --db …} --duration $duration --connections $connections --threads $threads --warmup $warmup --urls $urls"
	echo "engine:   $ENGINE; $(wrk -v 2>&1 | head -n 1 | awk '{print $1, $2}'); $(nproc) CPUs shared by wrk and the server; rate limits lifted (app.Config.NoRateLimit)"
	echo "city:     $SUBJECTS subjects ($ORGS organisations with a credit code), $RECORDS credit records; $urls random paths per endpoint"
	echo "ceiling:  bare net/http handler on loopback serving one real JSON profile ($CEILING_BYTES bytes)"
	echo
	printf "%-40s %10s %10s %10s %10s %8s %8s %8s\n" endpoint requests req/s p50 p99 non-2xx socket ratio
	ceiling_rate=""
	for i in 0 1 2 3; do
		r="${results[$i]}"
		req="$(field requests "$r")"
		dur="$(field duration_us "$r")"
		p50="$(field p50_us "$r")"
		p99="$(field p99_us "$r")"
		non200="$(field non200 "$r")"
		sock=$(($(field connect "$r") + $(field read "$r") + $(field write "$r") + $(field timeout "$r")))
		rate="$(awk -v n="$req" -v d="$dur" 'BEGIN { printf "%.0f", (d > 0 ? n / (d / 1e6) : 0) }')"
		[[ -z "$ceiling_rate" ]] && ceiling_rate="$rate"
		ratio="$(awk -v r="$rate" -v c="$ceiling_rate" 'BEGIN { printf "%.3f", (c > 0 ? r / c : 0) }')"
		printf "%-40s %10d %10d %10s %10s %8d %8d %8s\n" "${names[$i]}" "$req" "$rate" \
			"$(awk -v u="$p50" 'BEGIN { printf "%.2f ms", u / 1000 }')" "$(awk -v u="$p99" 'BEGIN { printf "%.2f ms", u / 1000 }')" \
			"$non200" "$sock" "$ratio"
		total_errors=$((total_errors + non200 + sock))
	done
	echo
	if [[ "$total_errors" -eq 0 ]]; then
		echo "errors:   0 (every answer 200, no socket errors)"
	else
		echo "errors:   $total_errors — FAILED (answers other than 200 or socket errors; server log below)"
		tail -n 20 "$tmp/server.log"
	fi
} | tee "$report"
echo "load.sh: results in $report" >&2
# the subshell of the pipe cannot set total_errors: read the verdict back
grep -q '^errors:   0 ' "$report"
