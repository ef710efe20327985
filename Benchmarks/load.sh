#!/usr/bin/env bash
# Load benchmark of the acceptance API, bounded in time, loopback only. For each engine (SQLite,
# PostgreSQL) it starts `onecard serve --demo` (release build), then runs wrk at 64 connections against
# GET /health (the limit), POST /api/v1/acceptances with fresh valid QR tokens, and with physical-card
# challenge–responses, and prints throughput ratios and p50/p99 latency. Then it offers the same two
# requests at a fixed rate, half the throughput just measured, whatever the answers (open loop, paced by
# Benchmarks/acceptance.lua with RATE), and prints p50/p99 latency at that rate: the latency users feel.
# Usage: Benchmarks/load.sh [seconds per run, default 10]   (ONECARD_BIN=path: use that binary, not a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
log() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
command -v wrk >/dev/null || missing+=(wrk)
[ -f /usr/include/qrencode.h ] || missing+=(libqrencode-dev)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then as_root apt-get update -qq; as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; fi
PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"

if [ -n "${ONECARD_BIN:-}" ]; then
  BIN="$ONECARD_BIN"  # a binary already built (a smoke run of the script with a debug build)
else
  log "building onecard (release)"
  swift build -c release --product onecard >/dev/null
  BIN="$(swift build -c release --show-bin-path)/onecard"
fi
. scripts/lib/postgres.sh
WORK="$(mktemp -d /tmp/onecard-load.XXXXXX)"
SERVER_PID=""
GATE="not measured"; GATE_ACCEPTED=0
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; stop_pg; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
json() { python3 -c "import sys, json; print(json.load(sys.stdin)$1)"; }
# wrk's summary: requests/s, p50 and p99 latency in ms
summarise() { python3 Benchmarks/wrk_summary.py "$1"; }  # requests/s, p50 ms, p99 ms, non-2xx, requests

run_engine() {
  local engine="$1" database="$2"
  local dir="$WORK/$engine" port; port="$(free_port)"
  mkdir -p "$dir"
  [ "$engine" = postgres ] && "$BIN" migrate --database "$database" --data-dir "$dir" >/dev/null
  "$BIN" serve --demo --port "$port" --data-dir "$dir" --rate-limit-terminal 0 --rate-limit-public 0 ${database:+--database "$database"} > "$dir/serve.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do grep -q "listening on" "$dir/serve.log" && break; sleep 0.2; done
  local base="http://127.0.0.1:$port"
  # the library terminal and the elderly demo holder's active card
  local key holder_id holder card
  key="$(grep 'terminal' "$dir/serve.log" | grep '图书馆' | grep -o 'oct_[A-Za-z0-9_-]*')"
  holder_id="$(grep 'holder-demo-1' "$dir/serve.log" | awk '{print $2}')"
  holder="$(curl -s -XPOST "$base/api/v1/auth/holder-token" -H 'content-type: application/json' -d "{\"idNumber\":\"$holder_id\",\"password\":\"holder-demo-1\"}" | json '["accessToken"]')"
  card="$(curl -s "$base/api/v1/me/card" -H "authorization: Bearer $holder" | json '["cardNumber"]')"
  local n=$(( DURATION * 12000 ))  # more than the node can take, so no body is sent twice
  "$BIN" bench tokens --data-dir "$dir" --card "$card" --item JJJ-LIB-001 --count "$n" > "$dir/qr.jsonl"
  "$BIN" bench challenges --data-dir "$dir" --card "$card" --item JJJ-LIB-001 --count "$n" > "$dir/card.jsonl"
  wrk -t2 -c64 -d"${DURATION}s" --latency "$base/health" > "$dir/health.txt"
  RUN=qr BODIES="$dir/qr.jsonl" TERMINAL_KEY="$key" wrk -t2 -c64 -d"${DURATION}s" --latency -s Benchmarks/acceptance.lua "$base" > "$dir/qr.txt"
  RUN=card BODIES="$dir/card.jsonl" TERMINAL_KEY="$key" wrk -t2 -c64 -d"${DURATION}s" --latency -s Benchmarks/acceptance.lua "$base" > "$dir/card.txt"
  read -r h_rps h_p50 h_p99 _ _ < <(summarise "$dir/health.txt")
  read -r q_rps q_p50 q_p99 q_err _ < <(summarise "$dir/qr.txt")
  read -r c_rps c_p50 c_p99 c_err _ < <(summarise "$dir/card.txt")
  # Open loop: half the capacity just measured, offered on a fixed schedule (fresh bodies: QR tokens live 60 s).
  local q_rate=$(( q_rps / 2 > 1 ? q_rps / 2 : 1 )) c_rate=$(( c_rps / 2 > 1 ? c_rps / 2 : 1 ))
  "$BIN" bench tokens --data-dir "$dir" --card "$card" --item JJJ-LIB-001 --count $(( q_rate * DURATION + 1000 )) > "$dir/qr-paced.jsonl"
  RUN=qr-paced RATE="$q_rate" BODIES="$dir/qr-paced.jsonl" TERMINAL_KEY="$key" \
    wrk -t2 -c64 -d"${DURATION}s" --latency -s Benchmarks/acceptance.lua "$base" > "$dir/qr-paced.txt"
  "$BIN" bench challenges --data-dir "$dir" --card "$card" --item JJJ-LIB-001 --count $(( c_rate * DURATION + 1000 )) > "$dir/card-paced.jsonl"
  RUN=card-paced RATE="$c_rate" BODIES="$dir/card-paced.jsonl" TERMINAL_KEY="$key" \
    wrk -t2 -c64 -d"${DURATION}s" --latency -s Benchmarks/acceptance.lua "$base" > "$dir/card-paced.txt"
  read -r qo_rps qo_p50 qo_p99 qo_err _ < <(summarise "$dir/qr-paced.txt")
  read -r co_rps co_p50 co_p99 co_err _ < <(summarise "$dir/card-paced.txt")
  local qo_late co_late
  qo_late="$(grep -o '[0-9]* sent, [0-9]* late' "$dir/qr-paced.txt")"; co_late="$(grep -o '[0-9]* sent, [0-9]* late' "$dir/card-paced.txt")"
  local accepted
  accepted="$(curl -s "$base/api/v1/me/uses" -H "authorization: Bearer $holder" | python3 -c 'import sys,json; u=json.load(sys.stdin)["uses"]; print(sum(1 for x in u if x["decision"]=="accepted"))')"
  if [ "$engine" = sqlite ]; then
    # The offline gate: 20,000 fresh tokens on standard input, decided one after another (verify, keep in
    # its journal, print); it reports its own decision-time percentiles when its input ends.
    "$BIN" bench tokens --data-dir "$dir" --card "$card" --item JJJ-LIB-001 --count 20000 \
      | python3 -c 'import sys, json; [print(json.loads(l)["credential"]["token"]) for l in sys.stdin]' > "$dir/gate-tokens.txt"
    "$BIN" terminal --node "$base" --key "$key" --item JJJ-LIB-001 --store "$dir/gate.sqlite" --interval 3600 \
      < "$dir/gate-tokens.txt" > "$dir/gate.out" 2> "$dir/gate.err" || true
    GATE="$(grep -o '[0-9]* decisions, decision time.*' "$dir/gate.err" || echo 'no timing line')"
    GATE_ACCEPTED="$(grep -c '"decision":"accepted"' "$dir/gate.out" || true)"
  fi
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
  printf '%-9s | /health %6s req/s p50 %5s ms p99 %6s ms | QR %6s req/s (%.2f) p50 %5s p99 %6s non-2xx %s | card %6s req/s (%.2f) p50 %5s p99 %6s non-2xx %s\n' \
    "$engine" "$h_rps" "$h_p50" "$h_p99" "$q_rps" "$(python3 -c "print($q_rps/$h_rps)")" "$q_p50" "$q_p99" "$q_err" \
    "$c_rps" "$(python3 -c "print($c_rps/$h_rps)")" "$c_p50" "$c_p99" "$c_err"
  printf '%-9s | open loop at half capacity: QR %6s req/s offered, %6s done p50 %5s ms p99 %6s ms non-2xx %s (%s) | card %6s req/s offered, %6s done p50 %5s ms p99 %6s ms non-2xx %s (%s)\n' \
    "$engine" "$q_rate" "$qo_rps" "$qo_p50" "$qo_p99" "$qo_err" "$qo_late" "$c_rate" "$co_rps" "$co_p50" "$co_p99" "$co_err" "$co_late"
  echo "  (last 500 uses of the card listed as accepted: $accepted)"
}

log "wrk, 2 threads, 64 connections, ${DURATION}s per run; ratios are to /health in the same run; open loop: the same requests offered at half the measured rate, latency from each send (late: sent over 2 ms after its slot)"
run_engine sqlite ""
run_engine postgres "${ONECARD_PG_URL%/postgres}/postgres"
echo
echo "offline gate (onecard terminal): $GATE; accepted $GATE_ACCEPTED of 20000"
