#!/usr/bin/env bash
# The gate's revocation store at a province's scale (issue 18): goals under 64 MB on disk and in memory at 10 million
# revoked cards, a look-up under 1 µs, deltas, and the whole list delivered to a gate from empty in under 60 s.
# 1. `onecard bench revocations`: in one process, a signed snapshot of N cards verified and loaded as a gate does; the
#    store file's size and the process's memory; look-ups of listed and unlisted cards one by one, p50/p99, beside the
#    same look-ups in a Swift Set<UInt64> of the same keys (the limit, same run); a delta applied, merged and saved.
# 2. Delivery from empty: a node on PostgreSQL whose revocation log holds N revoked cards (inserted with generate_series,
#    the real schema, card numbers of the real shape and their real hash) serves GET /api/v1/trust/revocations/snapshot;
#    a real `onecard terminal` starting with no store downloads, verifies, installs and saves it. Wall time (goal < 60 s)
#    and the gate's memory with the list loaded; the limit is the same bytes fetched by curl from a static file server.
# Usage: Benchmarks/revocation_store.sh [cards, default 10000000]   (ONECARD_BIN=path: that binary, not a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
CARDS="${1:-10000000}"
. Benchmarks/lib/common.sh
ONECARD_PG_SETTINGS="-c shared_buffers=1GB" . scripts/lib/postgres.sh
WORK="$(mktemp -d /tmp/onecard-revstore-bench.XXXXXX)"
trap cleanup EXIT
psql_() { "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
kb() { awk -v k="$1" '/^'"$1"':/ {print $2}' "/proc/$2/status"; }

log "1. the store in one process: $CARDS revoked cards"
/usr/bin/time -f 'bench_max_rss_kb: %M' "$BIN" bench revocations --cards "$CARDS" 2>&1 | tee "$WORK/bench.out"

log "2. delivery from empty: a node on PostgreSQL with $CARDS revoked cards"
port="$(free_port)"
"$BIN" migrate --data-dir "$WORK/node" --database "$ONECARD_PG_URL" > "$WORK/migrate.log" 2>&1
"$BIN" serve --demo --port "$port" --data-dir "$WORK/node" --database "$ONECARD_PG_URL" --rate-limit-terminal 0 --rate-limit-public 0 > "$WORK/node.log" 2>&1 &
NODE=$!; PIDS+=($NODE)
for _ in $(seq 1 900); do grep -q "listening on" "$WORK/node.log" && break; sleep 0.2; done
base="http://127.0.0.1:$port"
key="$(grep 'terminal' "$WORK/node.log" | grep '图书馆' | grep -o 'oct_[A-Za-z0-9_-]*' | head -n 1 || true)"
[ -n "$key" ] || { echo "the node did not start:"; cat "$WORK/node.log"; exit 1; }
start=$(date +%s.%N)
# One statement: the list's numbers are taken from sequence_heads under its row lock, as appendRevocation does.
psql_ -c "WITH h AS (UPDATE sequence_heads SET value = value + $CARDS WHERE name = 'revocations' RETURNING value - $CARDS AS head)
  INSERT INTO revocations (seq, card_hash, jti, status, at, iss)
  SELECT h.head + g, encode(sha256(convert_to('Q' || lpad(g::text, 8, '0'), 'UTF8')), 'hex'), NULL,
         CASE WHEN g % 7 = 0 THEN 'temporarily_lost' ELSE 'lost' END, (extract(epoch FROM now()) * 1000)::bigint, NULL
  FROM h, generate_series(1, $CARDS) g" >/dev/null
psql_ -c "VACUUM ANALYZE revocations" >/dev/null
printf 'inserted %s revocation rows in %.1f s; revocations table %s\n' "$CARDS" "$(echo "$(date +%s.%N) - $start" | bc)" \
  "$(psql_ -c "SELECT pg_size_pretty(pg_total_relation_size('revocations'))")"

# A real gate from empty, first: the node builds the snapshot from the database for it (nothing cached).
# Its standard input stays open so that its memory can be read with the list loaded.
mkfifo "$WORK/gate.in"
start=$(date +%s.%N)
"$BIN" terminal --node "$base" --key "$key" --item JJJ-LIB-001 --store "$WORK/gate.sqlite" --interval 3600 < "$WORK/gate.in" > "$WORK/gate.out" 2> "$WORK/gate.err" &
GATE=$!; PIDS+=($GATE)
exec 3> "$WORK/gate.in"
for _ in $(seq 1 3000); do grep -q "revocation snapshot" "$WORK/gate.err" && break; sleep 0.1; done
end=$(date +%s.%N)
grep "revocation snapshot" "$WORK/gate.err" || { echo "no snapshot line:"; cat "$WORK/gate.err"; }
printf 'gate from empty to its list loaded and saved: %.1f s wall (goal < 60 s)\n' "$(echo "$end - $start" | bc)"
sleep 1
echo "gate RSS with the list loaded: $(kb VmRSS $GATE) kB (peak during the load: $(kb VmHWM $GATE) kB)"
ls -l "$WORK/gate.sqlite.revocations" "$WORK/gate.sqlite.revocations.state" | awk '{print "gate store file: " $5 " bytes " $9}'
echo "node peak RSS (VmHWM) after building and serving it: $(kb VmHWM $NODE) kB"
exec 3>&-
wait "$GATE" || true

# Within 30 s the node serves the snapshot it made again (RevocationSnapshotCache): what the next gates get.
curl -s -o "$WORK/snapshot.bin" -w 'the next gate within 30 s (cached): %{time_total} s, %{size_download} bytes, HTTP %{http_code}\n' "$base/api/v1/trust/revocations/snapshot"
# The limit: the same bytes from a static file server on the same machine.
sport="$(free_port)"
python3 -m http.server "$sport" --bind 127.0.0.1 --directory "$WORK" > /dev/null 2>&1 &
PIDS+=($!)
sleep 1
curl -s -o /dev/null -w 'limit, the same bytes from a static file server: %{time_total} s\n' "http://127.0.0.1:$sport/snapshot.bin"

# A second limit: PostgreSQL itself reading the same column of every card row in log order (psql's COPY to nowhere).
start=$(date +%s.%N)
psql_ -c "COPY (SELECT substr(card_hash, 1, 16) || status FROM revocations WHERE card_hash IS NOT NULL ORDER BY seq) TO STDOUT" > /dev/null
printf 'limit, PostgreSQL reading the same rows (COPY to nowhere): %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc)"
