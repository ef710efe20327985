#!/usr/bin/env bash
# Medical settlement at a hospital's counter under load (issue 14: "at least 0.3 of /health throughput for a
# same-province settlement"), bounded in time, loopback only. For each engine (SQLite, PostgreSQL) it starts
# `onecard serve --demo` (release build) and runs wrk at 64 connections against GET /health (the limit, same run)
# and POST /api/v1/medical/settlements with fresh QR tokens of the demo's two insured residents (alternating) and a
# B1-sized bill (甲, 乙 and 丙 lines), each under its own Idempotency-Key; prints throughput, the ratio to /health,
# p50/p99 and how many answers were not 2xx.
# 64 connections, as the acceptance benchmark (load.sh): a throughput is measured with the server busy. Settlements are
# written in groups (one transaction for the bills that arrived while the last one ran), so at 16 connections most of
# them wait for their group's commit and the server sits partly idle: CONNECTIONS=16 measures that (RESULTS.md has both).
# PERSONS=n settles the bills of n insured residents in turn (the demo's two and n - 2 more made through the API) instead
# of the demo's two alone: with two, every bill of a group locks one of the same two persons' accounts and counters, so
# groups on PostgreSQL wait for each other — the worst case, where a hospital's counter serves many patients.
# Usage: Benchmarks/medical_settlement.sh [seconds per run, default 10]   (ONECARD_BIN=path: that binary, not a release build;
#        CONNECTIONS=n: another load; PERSONS=n: that many insured residents, default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
CONNECTIONS="${CONNECTIONS:-64}"
PERSONS="${PERSONS:-2}"
log() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
command -v wrk >/dev/null || missing+=(wrk)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then as_root apt-get update -qq; as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; fi
PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
if [ -n "${ONECARD_BIN:-}" ]; then BIN="$ONECARD_BIN"; else
  swift build -c release --product onecard >/dev/null
  BIN="$(swift build -c release --show-bin-path)/onecard"
fi
. scripts/lib/postgres.sh
WORK="$(mktemp -d /tmp/onecard-medical-bench.XXXXXX)"
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; stop_pg; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
json() { python3 -c "import sys, json; print(json.load(sys.stdin)$1)"; }
summarise() { python3 Benchmarks/wrk_summary.py "$1"; }  # requests/s, p50 ms, p99 ms, non-2xx, requests

run_engine() {
  local engine="$1" database="$2" dir="$WORK/$1" port; port="$(free_port)"
  mkdir -p "$dir"
  [ "$engine" = postgres ] && "$BIN" migrate --database "$database" --data-dir "$dir" >/dev/null
  "$BIN" serve --demo --port "$port" --data-dir "$dir" --rate-limit-terminal 0 --rate-limit-public 0 ${database:+--database "$database"} > "$dir/serve.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 150); do grep -q "listening on" "$dir/serve.log" && break; sleep 0.2; done
  local base="http://127.0.0.1:$port" key cards=()
  key="$(grep 'terminal' "$dir/serve.log" | grep '医院' | grep -o 'oct_[A-Za-z0-9_-]*')"
  local holder
  for n in 1 2; do
    local id
    id="$(grep "holder-demo-$n\$" "$dir/serve.log" | awk '{print $2}')"
    holder="$(curl -s -XPOST "$base/api/v1/auth/holder-token" -H 'content-type: application/json' -d "{\"idNumber\":\"$id\",\"password\":\"holder-demo-$n\"}" | json '["accessToken"]')"
    cards+=("$(curl -s "$base/api/v1/me/card" -H "authorization: Bearer $holder" | json '["cardNumber"]')")
  done
  if [ "$PERSONS" -gt 2 ]; then
    # More residents with active cards, insured as the demo's two are, through the API (an agent and the demo's
    # medical security officer); their card numbers, one a line.
    cards+=($(python3 - "$base" "$(( PERSONS - 2 ))" "$holder" <<'PY'
import random, sys
sys.path.insert(0, "Benchmarks/lib")
from processes import call
from residents import Node, expect, new_card
base, count, holder = sys.argv[1], int(sys.argv[2]), sys.argv[3]
node = Node("demo", base, None, None)
node.agent, medsec = node.login("agent"), node.login("medsec")
region = expect(*call(base, "GET", "/api/v1/me/medical", holder), (200,), "the demo resident's insurance")["insured"]["insuredRegion"]
rng = random.Random(2026)
for sequence in rng.sample(range(100, 1000), count):
    p = new_card(node, "110105", sequence, rng)
    expect(*call(base, "PUT", "/api/v1/medical/insureds/" + p["personId"], medsec,
                 {"scheme": "employee", "insuredRegion": region, "retired": False, "accountBalanceFen": 100000}), (200,), "insure")
    print(p["card"])
PY
))
  fi
  local count=$(( DURATION * 6000 / PERSONS + 1 ))
  for c in "${cards[@]}"; do "$BIN" bench tokens --data-dir "$dir" --card "$c" --item medical_settlement --count "$count" > "$dir/tokens-$c.jsonl"; done
  # Settlement bodies: the residents' tokens in turn, each with the same B1-sized bill.
  python3 - "${cards[@]/#/$dir/tokens-}" > "$dir/settle.jsonl" <<'PY'
import json, sys
bill = [{"code": "MED-A-001", "amountFen": 1200000, "quantity": 1}, {"code": "MED-B-001", "amountFen": 600000, "quantity": 1},
        {"code": "MED-C-001", "amountFen": 200000, "quantity": 1}]
tokens = [open(path + ".jsonl").read().splitlines() for path in sys.argv[1:]]
for turn in zip(*tokens):
    for line in turn:
        print(json.dumps({"credential": json.loads(line)["credential"], "care": "inpatient", "hospitalLevel": 3, "emergency": False, "items": bill},
                         separators=(",", ":")))
PY
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$base/health" > "$dir/health.txt"
  TARGET=/api/v1/medical/settlements RUN="settle-$engine" BODIES="$dir/settle.jsonl" TERMINAL_KEY="$key" \
    wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s Benchmarks/acceptance.lua "$base" > "$dir/settle.txt"
  read -r h_rps h_p50 h_p99 _ _ < <(summarise "$dir/health.txt")
  read -r s_rps s_p50 s_p99 s_err s_total < <(summarise "$dir/settle.txt")
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
  printf '%-9s | /health %6s req/s p50 %5s ms p99 %6s ms | settlement %5s req/s (ratio %.3f, goal 0.3) p50 %6s ms p99 %7s ms non-2xx %s of %s\n' \
    "$engine" "$h_rps" "$h_p50" "$h_p99" "$s_rps" "$(python3 -c "print($s_rps/$h_rps)")" "$s_p50" "$s_p99" "$s_err" "$s_total"
}

echo "wrk, 2 threads, $CONNECTIONS connections, ${DURATION}s per run; ratios to /health in the same run"
run_engine sqlite ""
run_engine postgres "${ONECARD_PG_URL%/postgres}/postgres"
