#!/usr/bin/env bash
# Runs the whole test suite, PostgreSQL included:
#   - finds Debian's PostgreSQL server (installs the `postgresql` package when
#     missing and running as root), and Chromium with CJK fonts for the
#     browser tests;
#   - starts a throwaway cluster in a temporary directory (Unix socket only,
#     fsync off), exports ECREDIT_TEST_PG for sqlstore/storetest, runs
#     `go vet` and `go test`, and always stops and removes the cluster.
#
# Usage: scripts/test.sh [PACKAGES…] [GO TEST FLAGS…]
#   Leading arguments that do not start with '-' are packages (default ./...);
#   everything from the first flag on goes to `go test`, e.g.
#   scripts/test.sh ./sqlstore/... -run Subjects -bench . -benchtime 2000x
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

pkgs=()
while [[ $# -gt 0 && "$1" != -* ]]; do
	pkgs+=("$1")
	shift
done
if [[ ${#pkgs[@]} -eq 0 ]]; then
	pkgs=(./...)
fi

is_root() { [[ "$(id -u)" == 0 ]]; }

apt_install() {
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends "$@" || { apt-get update && apt-get install -y --no-install-recommends "$@"; }
}

# PostgreSQL server binaries.
find_pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
pgbin="$(find_pgbin)"
if [[ -z "$pgbin" ]]; then
	if is_root; then
		echo "test.sh: PostgreSQL not found, installing Debian's postgresql package" >&2
		apt_install postgresql
		pgbin="$(find_pgbin)"
	fi
	if [[ -z "$pgbin" ]]; then
		echo "test.sh: PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin." >&2
		echo "test.sh: install them with: sudo apt-get install -y postgresql" >&2
		exit 1
	fi
fi

# Chromium and CJK fonts for the browser and PDF tests, pdftotext to read
# the PDFs back.
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[[ -d /usr/share/fonts/opentype/noto ]] || need+=(fonts-noto-cjk)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
if [[ ${#need[@]} -gt 0 ]]; then
	if is_root; then
		echo "test.sh: installing ${need[*]} for the browser and PDF tests" >&2
		apt_install "${need[@]}"
	else
		echo "test.sh: missing ${need[*]}; browser and PDF tests need them (apt-get install -y ${need[*]})" >&2
	fi
fi

# PostgreSQL refuses to run as root: as root, run the server as the
# postgres user (created by the Debian package) or, failing that, nobody.
run_pg=()
owner="$(id -un)"
if is_root; then
	if id postgres >/dev/null 2>&1; then owner=postgres; else owner=nobody; fi
	run_pg=(runuser -u "$owner" --)
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ecredit-pg.XXXXXX")"
chmod 0755 "$tmp"
if is_root; then chown "$owner" "$tmp"; fi
port=$((20000 + RANDOM % 40000))

cleanup() {
	"${run_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${run_pg[@]}" "$pgbin/initdb" -D "$tmp/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$tmp/initdb.log" 2>&1 ||
	{ cat "$tmp/initdb.log" >&2; exit 1; }
if ! "${run_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 start \
	-o "-k $tmp -p $port -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" >/dev/null; then
	cat "$tmp/server.log" >&2
	exit 1
fi

export ECREDIT_TEST_PG="postgres://postgres@/postgres?host=$tmp&port=$port"
echo "test.sh: PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on $tmp port $port" >&2

go vet "${pkgs[@]}"
go test "${pkgs[@]}" "$@"
