#!/usr/bin/env bash
# Transit at a province's scale (issue 13, "Speed"): a day of taps uploaded by a gate over HTTP, paired, priced and charged
# through a running bank-sim until every trip is charged — against raw inserts of as many tap rows into the same database
# (the limit, same run) — on SQLite and on PostgreSQL at production durability (fsync and synchronous_commit on);
# peak memory; the bank's debit statement checked against the trips. Then an offline transit gate (`onecard terminal
# --operator`) deciding fresh QR codes one after another: its decision time p50/p99 (goal p99 under 1 ms).
# Usage: Benchmarks/transit.sh [taps, default 1000000]   (ONECARD_BIN=path: that binary, not a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
TAPS="${1:-1000000}"
. Benchmarks/lib/common.sh
ONECARD_PG_SETTINGS="-c shared_buffers=1GB" . scripts/lib/postgres.sh
WORK="$(mktemp -d /tmp/onecard-transit-bench.XXXXXX)"
trap cleanup EXIT

log "SQLite: $TAPS taps"
bank sqlite --opening-balance 100000000
timeout 1800 "$BIN" bench-transit --taps "$TAPS" --bank-url "$BANK_URL" --data-dir "$WORK/sqlite" 2>&1 | tee "$WORK/sqlite.out"
log "PostgreSQL (fsync and synchronous_commit on, shared_buffers 1 GB): $TAPS taps"
bank postgres --opening-balance 100000000
timeout 1800 "$BIN" bench-transit --taps "$TAPS" --bank-url "$BANK_URL" --data-dir "$WORK/postgres" --database "$ONECARD_PG_URL" 2>&1 | tee "$WORK/postgres.out"

log "offline transit gate: 20,000 fresh QR codes decided one after another"
port="$(free_port)"
"$BIN" serve --demo --port "$port" --data-dir "$WORK/gate-node" --rate-limit-terminal 0 --rate-limit-public 0 > "$WORK/gate-node.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 150); do grep -q "listening on" "$WORK/gate-node.log" && break; sleep 0.2; done
base="http://127.0.0.1:$port"
key="$(grep 'terminal' "$WORK/gate-node.log" | grep '地铁' | grep -o 'oct_[A-Za-z0-9_-]*')"
id="$(grep 'holder-demo-2$' "$WORK/gate-node.log" | awk '{print $2}')"
holder="$(curl -s -XPOST "$base/api/v1/auth/holder-token" -H 'content-type: application/json' -d "{\"idNumber\":\"$id\",\"password\":\"holder-demo-2\"}" \
  | python3 -c 'import sys, json; print(json.load(sys.stdin)["accessToken"])')"
card="$(curl -s "$base/api/v1/me/card" -H "authorization: Bearer $holder" | python3 -c 'import sys, json; print(json.load(sys.stdin)["cardNumber"])')"
"$BIN" bench tokens --data-dir "$WORK/gate-node" --card "$card" --item transit --count 20000 \
  | python3 -c 'import sys, json; [print(json.loads(l)["credential"]["token"]) for l in sys.stdin]' > "$WORK/gate-tokens.txt"
timeout 300 "$BIN" terminal --node "$base" --key "$key" --operator BJ-METRO --station 苹果园 --direction in --store "$WORK/gate.sqlite" \
  --interval 3600 < "$WORK/gate-tokens.txt" > "$WORK/gate.out" 2> "$WORK/gate.err" || true
echo "offline transit gate: $(grep -o '[0-9]* decisions, decision time.*' "$WORK/gate.err" || echo 'no timing line'); accepted $(grep -c '"decision":"accepted"' "$WORK/gate.out" || true) of 20000"
