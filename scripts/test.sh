#!/usr/bin/env bash
# Runs every test: builds, starts a throwaway PostgreSQL on a free loopback port, runs the Swift test
# suites (store and server suites on SQLite and on PostgreSQL, end-to-end tests against the real
# binary), Schemathesis against a demo node with every role's credentials, browser journeys through
# the web pages in headless Chromium, and stops PostgreSQL again.
# Installs what it needs (Debian's postgresql, chromium and chromium-driver; PyPI's selenium,
# axe-selenium-python, pytest and schemathesis) when missing.
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
# openssl makes the certificate the TLS test serves with.
command -v openssl >/dev/null || missing+=(openssl)
{ [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ]; } || missing+=(postgresql)
# The browser the page tests drive, and its WebDriver.
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
# pdftotext (poppler): the independent reader the oversight report's PDF is checked with.
command -v pdftotext >/dev/null || missing+=(poppler-utils)
# A Chinese font, for the pages' screenshots and the oversight report Chromium prints.
{ command -v fc-list >/dev/null && fc-list :lang=zh | grep -q .; } || missing+=(fonts-wqy-microhei)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} (Debian)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
PGBIN="$(pg_bin)"
# Python's joserfc: the independent JOSE implementation the interop test verifies QR tokens with.
python3 -c 'import joserfc' 2>/dev/null || { log "installing joserfc (PyPI)"; python3 -m pip install -q joserfc; }
# PyPI's http-message-signatures: the independent RFC 9421 implementation federation signatures are checked against.
python3 -c 'import http_message_signatures' 2>/dev/null || {
  log "installing http-message-signatures (PyPI)"; python3 -m pip install -q 'http-message-signatures==3.0.0'; }
# Schemathesis: the property-based API tester that checks the server against its own /openapi.json.
# Schemathesis judges /openapi.json; pinned, so a new release's new checks arrive by a change here, not by surprise in CI.
[ "$(python3 -c 'import schemathesis; print(schemathesis.__version__)' 2>/dev/null)" = "4.32.5" ] || {
  log "installing schemathesis 4.32.5 (PyPI)"; python3 -m pip install -q "schemathesis==4.32.5"; }
# Selenium drives Chromium; axe-selenium-python carries axe-core, the accessibility checker.
python3 -c 'import selenium, axe_selenium_python, pytest' 2>/dev/null || {
  log "installing selenium, axe-selenium-python and pytest (PyPI)"; python3 -m pip install -q selenium axe-selenium-python pytest; }

. "$(dirname "$0")/lib/postgres.sh"

export ONECARD_TEST_POSTGRES_URL="$ONECARD_PG_URL"
export ONECARD_REQUIRE_POSTGRES=1
export ONECARD_REQUIRE_ZBAR=1
export ONECARD_REQUIRE_JOSE=1
export ONECARD_REQUIRE_HTTPSIG=1
# A handler answering an error code its endpoint does not document is a 500 (every server started here).
export ONECARD_STRICT_CONTRACT=1

# Foundation's date formatters corrupt the heap on Linux (swift-corelibs-foundation#5533): times are written by arithmetic
# (`Timestamp`, `PageTime`), and a formatter coming back fails here rather than as a random crash later.
if grep -rnE 'ISO8601DateFormatter|DateFormatter\(\)' Sources Tests --include='*.swift'; then
  echo "a Foundation date formatter is used above: use Timestamp (OneCardCore/Support/Environment.swift) instead"; exit 1
fi
# Foundation's Process.run() on Linux (Swift 6.3.1) reads 256 bytes of every /proc/self/fd entry whatever its length
# (swift-corelibs-foundation PR #5472) and now and then killed the test process with SIGSEGV in memcpy: child processes
# are started with `ChildProcess` (posix_spawn, OneCardCore/Support/ChildProcess.swift), and a Process coming back fails here.
if grep -rnE '(^|[^A-Za-z])(Foundation\.)?Process\(\)' Sources Tests --include='*.swift'; then
  echo "Foundation's Process is used above: use ChildProcess (OneCardCore/Support/ChildProcess.swift) instead"; exit 1
fi
# A blocking read of a child's pipe holds one of the two threads every task of the test process shares (two at once stalled
# the whole run): children are awaited (`ChildProcess.collect`, `exit()`).
if grep -rnE 'readDataToEndOfFile\(\)' Sources Tests --include='*.swift'; then
  echo "a blocking read of a child's output is used above: use ChildProcess.collect (OneCardCore/Support/ChildProcess.swift)"; exit 1
fi

log "building"
swift build --build-tests
export ONECARD_BIN="$(swift build --show-bin-path)/onecard"

log "running the Swift test suites"
# The suites that wait on other processes within time limits (propagation through the hub within 15 s, a gate's answers within
# its timeout) run on their own afterwards, so the hundreds of other tests running in parallel do not starve them.
# A crash prints the crashed thread only: CI keeps the end of the output, which is then the part that says where.
export SWIFT_BACKTRACE=threads=crashed,registers=none,images=none
timed='FederationSuiteTests|FederationPagesTests|OfflineTerminalTests|TransitGateTests|FederationMedicalTests|FederationComplaintTests|FederationTransitTests|ConnectionLossTests'
# The outage test measures the server's own bound (503 within 10 s of a request): alone, since the timed suites' dozens of
# processes at once leave a server on two cores so little CPU that its answers took 11-14 s (local runs, 2026-12-01).
alone='DatabaseOutageTests'
# At most $width tests at once in the first pass. Unbounded, all ~500 start together on two cores and every task of the
# test process waits behind hundreds of others: CI saw a pool wait 60 s for a connection PostgreSQL never refused (its
# log: no "too many clients"), a 30 s cache window and a bank's 1.5 s answer outlived by the test's own steps. A request
# may still wait longer than the 5 s a node in service waits before answering 503 database_unavailable
# (DatabaseOutageTests, in a pass of its own, checks those 5 s).
width="${ONECARD_TEST_WIDTH:-24}"
ONECARD_DB_CONNECTION_WAIT=60 swift test --skip-build --skip "$timed|$alone" --experimental-maximum-parallelization-width "$width"
log "running the timed multi-process suites on their own"
swift test --skip-build --filter "$timed"
log "running the database outage test alone"
swift test --skip-build --filter "$alone"

log "failover: three processes on a Patroni cluster behind HAProxy, the leader killed under load (at most 3 minutes)"
# scripts/ha-cluster.sh installs Debian's patroni, etcd-server and haproxy when missing.
python3 Tests/HA/failover_test.py --bin "$ONECARD_BIN"

log "checking the API against /openapi.json from outside (Schemathesis, every role, a few minutes)"
python3 Tests/Contract/run_schemathesis.py --bin "$ONECARD_BIN"

log "running the browser tests (headless Chromium, axe-core)"
export ONECARD_SCREENSHOTS="$PWD/.test-artifacts/screenshots"
rm -rf "$ONECARD_SCREENSHOTS"
python3 -m pytest -q -p no:cacheprovider Tests/Browser
echo "screenshots of every page: $ONECARD_SCREENSHOTS"
