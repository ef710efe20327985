# Shared set-up of the benchmark scripts (sourced from the repository's root): log, PostgreSQL's binaries (installed when
# missing), the onecard binary (ONECARD_BIN, or a release build made here), free loopback ports, and the processes a
# script starts (PIDS), stopped by process id on exit with its temporary folder and its PostgreSQL.
log() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { as_root apt-get update -qq; as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
if [ -n "${ONECARD_BIN:-}" ]; then BIN="$ONECARD_BIN"; else
  swift build -c release --product onecard >/dev/null
  BIN="$(swift build -c release --show-bin-path)/onecard"
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PIDS=()
WORK=""
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; [ -n "$WORK" ] && rm -rf "$WORK"; stop_pg; }
# bank NAME [bank-sim options…]: starts a bank-sim in this shell (so cleanup stops it, by its PID); sets BANK_URL.
bank() {
  local name="$1"; shift
  local port; port="$(free_port)"
  "$BIN" bank-sim --bank BENCH --port "$port" --store "$WORK/bank-$name.sqlite" "$@" > "$WORK/bank-$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/statement" >/dev/null 2>&1 && break; sleep 0.1; done
  BANK_URL="http://127.0.0.1:$port"
}
