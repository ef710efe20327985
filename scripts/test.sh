#!/usr/bin/env bash
# Runs every test: builds, starts a throwaway PostgreSQL on a free loopback port, runs the Swift test
# suites (store and server suites on SQLite and on PostgreSQL, end-to-end tests against the real
# binary), and stops PostgreSQL again. Installs what it needs (Debian's postgresql) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

command -v swift >/dev/null || { echo "Swift 6.3 is required (https://swift.org/install)"; exit 1; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
# Debian packages: QR images (libqrencode, zlib), the independent QR reader the tests decode with
# (zbar-tools) and the PostgreSQL server the store and server suites also run on.
missing=()
[ -f /usr/include/qrencode.h ] || missing+=(libqrencode-dev)
[ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
command -v zbarimg >/dev/null || missing+=(zbar-tools)
{ [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ]; } || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} (Debian)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
PGBIN="$(pg_bin)"
# Python's joserfc: the independent JOSE implementation the interop test verifies QR tokens with.
python3 -c 'import joserfc' 2>/dev/null || { log "installing joserfc (PyPI)"; python3 -m pip install -q joserfc; }

. "$(dirname "$0")/lib/postgres.sh"

export ONECARD_TEST_POSTGRES_URL="$ONECARD_PG_URL"
export ONECARD_REQUIRE_POSTGRES=1
export ONECARD_REQUIRE_ZBAR=1
export ONECARD_REQUIRE_JOSE=1

log "building"
swift build --build-tests
export ONECARD_BIN="$(swift build --show-bin-path)/onecard"

log "running the Swift test suites"
swift test --skip-build
