#!/usr/bin/env bash
# Does the risk monitor slow acceptance? (issue 17: rules evaluated beside acceptance, "never slowing acceptance:
# measure it".) Starts `onecard serve --demo` twice on SQLite, with the monitor looking every 0.2 s (25 times more
# often than the default 5 s) and with it effectively off (--risk-interval 3600: one look at start), and runs the same
# closed-loop QR acceptance load (wrk, 2 threads, 64 connections, a fresh token and Idempotency-Key per request) and
# GET /health (the limit, same run). Prints throughput and p99 for both and the ratio monitored/unmonitored.
# Usage: Benchmarks/risk_monitor.sh [seconds per run, default 10]   (ONECARD_BIN=path: use that binary, not a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
command -v wrk >/dev/null || { sudo apt-get install -y -qq wrk >/dev/null 2>&1 || apt-get install -y -qq wrk >/dev/null; }
if [ -n "${ONECARD_BIN:-}" ]; then BIN="$ONECARD_BIN"; else
  swift build -c release --product onecard >/dev/null
  BIN="$(swift build -c release --show-bin-path)/onecard"
fi
WORK="$(mktemp -d /tmp/onecard-risk-bench.XXXXXX)"
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
json() { python3 -c "import sys, json; print(json.load(sys.stdin)$1)"; }
summarise() { python3 Benchmarks/wrk_summary.py "$1"; }  # requests/s, p50 ms, p99 ms, non-2xx, requests

run() {  # name, --risk-interval
  local name="$1" interval="$2" dir="$WORK/$1" port; port="$(free_port)"
  mkdir -p "$dir"
  "$BIN" serve --demo --port "$port" --data-dir "$dir" --risk-interval "$interval" --rate-limit-terminal 0 --rate-limit-public 0 > "$dir/serve.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do grep -q "listening on" "$dir/serve.log" && break; sleep 0.2; done
  local base="http://127.0.0.1:$port" key holder_id holder card
  key="$(grep 'terminal' "$dir/serve.log" | grep '图书馆' | grep -o 'oct_[A-Za-z0-9_-]*')"
  holder_id="$(grep 'holder-demo-1' "$dir/serve.log" | awk '{print $2}')"
  holder="$(curl -s -XPOST "$base/api/v1/auth/holder-token" -H 'content-type: application/json' -d "{\"idNumber\":\"$holder_id\",\"password\":\"holder-demo-1\"}" | json '["accessToken"]')"
  card="$(curl -s "$base/api/v1/me/card" -H "authorization: Bearer $holder" | json '["cardNumber"]')"
  "$BIN" bench tokens --data-dir "$dir" --card "$card" --item JJJ-LIB-001 --count $(( DURATION * 12000 )) > "$dir/qr.jsonl"
  wrk -t2 -c64 -d"${DURATION}s" --latency "$base/health" > "$dir/health.txt"
  RUN="$name" BODIES="$dir/qr.jsonl" TERMINAL_KEY="$key" wrk -t2 -c64 -d"${DURATION}s" --latency -s Benchmarks/acceptance.lua "$base" > "$dir/qr.txt"
  sleep 1
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
  read -r H_RPS _ H_P99 _ _ <<< "$(summarise "$dir/health.txt")"
  read -r Q_RPS _ Q_P99 Q_ERR _ <<< "$(summarise "$dir/qr.txt")"
  echo "$name: /health $H_RPS req/s; QR acceptance $Q_RPS req/s (ratio to /health $(python3 -c "print(f'{$Q_RPS/$H_RPS:.3f}')")), p99 $Q_P99 ms, non-2xx $Q_ERR"
  eval "${name}_RPS=$Q_RPS"
}

run unmonitored 3600
run monitored 0.2
echo "monitored / unmonitored QR acceptance throughput: $(python3 -c "print(f'{$monitored_RPS/$unmonitored_RPS:.3f}')")  (1.0: no cost; the issue asks for none that matters)"
