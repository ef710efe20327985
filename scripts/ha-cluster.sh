#!/usr/bin/env bash
# A highly available PostgreSQL on loopback for OneCard's multi-process runs and the failover test (issue 18):
# one etcd member, three Patroni members of PostgreSQL (synchronous_mode: no acknowledged commit is lost when the
# leader dies) and HAProxy in front, routing to whichever member Patroni's REST API says is the leader
# (`OPTIONS /primary` answers 200 only there). Short timings (ttl 5, loop_wait 1, retry_timeout 2): a failover takes
# about 5 s. Everything listens on 127.0.0.1, lives in one folder, and is stopped by process id.
#
#   scripts/ha-cluster.sh up              start; prints ONECARD_HA_URL (the HAProxy URL for `onecard serve --database`)
#   scripts/ha-cluster.sh status          the members and their roles
#   scripts/ha-cluster.sh kill-leader     SIGKILL the leader's Patroni and its postmaster; prints the member's name
#   scripts/ha-cluster.sh start NAME      start a stopped member again (it rejoins as a replica, pg_rewind if needed)
#   scripts/ha-cluster.sh down            stop everything and remove the folder
#
# The folder is $ONECARD_HA_DIR (default /tmp/onecard-ha). Debian packages patroni, etcd-server and haproxy are
# installed when missing. Known traps (../shared/domain/scale-facts.md): Patroni must not see PGPASSWORD (replicas then
# fail authentication); killing Patroni alone leaves a writable old primary, so a member is killed whole; initdb
# refuses root, so members run as `postgres` (through setpriv, so the recorded PID is Patroni's own).
set -euo pipefail
DIR="${ONECARD_HA_DIR:-/tmp/onecard-ha}"
SUPERUSER_PASSWORD="onecard-ha-superuser"
MEMBERS=(m1 m2 m3)
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
say() { printf '[ha] %s\n' "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

install_missing() {
  local missing=()
  command -v patroni >/dev/null || missing+=(patroni)
  command -v etcd >/dev/null || missing+=(etcd-server)
  command -v haproxy >/dev/null || missing+=(haproxy)
  { [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ]; } || missing+=(postgresql)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} (Debian)"
    as_root apt-get update -qq
    # Debian's policy-rc.d keeps the packages' own services from starting; nothing here relies on them.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

load_ports() { [ -f "$DIR/ports.env" ] || { say "no cluster in $DIR (run: $0 up)"; exit 1; }; . "$DIR/ports.env"; }
rest_port() { local v="REST_$1"; echo "${!v}"; }

# The member whose REST API answers 200 to GET /primary, if any.
leader() {
  for m in "${MEMBERS[@]}"; do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$(rest_port "$m")/primary")" = 200 ]; then echo "$m"; return 0; fi
  done
  return 1
}

wait_for() {  # seconds, description, command...
  local seconds="$1" what="$2"; shift 2
  local end=$(( $(date +%s) + seconds ))
  while [ "$(date +%s)" -lt "$end" ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.3
  done
  say "timed out after ${seconds}s waiting for $what"; return 1
}

# Every member running, one leader, a synchronous standby and every replica streaming.
healthy() {
  curl -s --max-time 1 "http://127.0.0.1:$(rest_port m1)/cluster" | python3 -c '
import json, sys
members = json.load(sys.stdin)["members"]
roles = [m["role"] for m in members]
ok = len(members) == 3 and roles.count("leader") == 1 and "sync_standby" in roles \
     and all(m["state"] in ("running", "streaming") for m in members)
sys.exit(0 if ok else 1)'
}

member_config() {  # name
  local m="$1" pg="PG_$1" rest="REST_$1"
  cat > "$DIR/$m/patroni.yml" <<YAML
scope: onecard
name: $m
log:
  dir: $DIR/$m
  level: WARNING
restapi:
  listen: 127.0.0.1:${!rest}
  connect_address: 127.0.0.1:${!rest}
etcd3:
  hosts: 127.0.0.1:$ETCD_CLIENT
  protocol: http
bootstrap:
  dcs:
    ttl: 5
    loop_wait: 1
    retry_timeout: 2
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_log_hints: "on"
        wal_retrieve_retry_interval: 1000
        max_connections: 300
        max_wal_senders: 10
        max_replication_slots: 10
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
    - data-checksums
  pg_hba:
    - local all all trust
    - host replication replicator 127.0.0.1/32 md5
    - host all all 127.0.0.1/32 md5
postgresql:
  listen: 127.0.0.1:${!pg}
  connect_address: 127.0.0.1:${!pg}
  data_dir: $DIR/$m/data
  bin_dir: $(pg_bin)
  pgpass: $DIR/$m/pgpass
  authentication:
    superuser: {username: postgres, password: $SUPERUSER_PASSWORD}
    replication: {username: replicator, password: onecard-ha-replicator}
    rewind: {username: rewinder, password: onecard-ha-rewinder}
  parameters:
    unix_socket_directories: $DIR/$m
tags: {nofailover: false, noloadbalance: false, clonefrom: false, nosync: false}
YAML
}

start_member() {  # name
  local m="$1"
  # Never PGPASSWORD in Patroni's environment: libpq would prefer it to Patroni's pgpass and replicas fail to authenticate.
  ( cd "$DIR/$m" && exec env -u PGPASSWORD -u PGUSER -u PGHOST -u PGPORT -u PGDATABASE \
      $( [ "$(id -u)" = 0 ] && echo "setpriv --reuid=postgres --regid=postgres --init-groups --" ) patroni "$DIR/$m/patroni.yml" \
      > "$DIR/$m/patroni.out" 2>&1 ) &
  echo $! > "$DIR/$m/patroni.pid"
}

up() {
  install_missing
  if [ -f "$DIR/ports.env" ]; then say "a cluster is already in $DIR (run: $0 down)"; exit 1; fi
  mkdir -p "$DIR"
  {
    echo "ETCD_CLIENT=$(free_port)"; echo "ETCD_PEER=$(free_port)"; echo "HAPROXY=$(free_port)"
    for m in "${MEMBERS[@]}"; do echo "PG_$m=$(free_port)"; echo "REST_$m=$(free_port)"; done
  } > "$DIR/ports.env"
  load_ports
  for m in "${MEMBERS[@]}"; do mkdir -p "$DIR/$m"; member_config "$m"; done
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$DIR"
  chmod 700 "$DIR"/m*

  etcd --name e1 --data-dir "$DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
    --initial-cluster "e1=http://127.0.0.1:$ETCD_PEER" --initial-cluster-state new > "$DIR/etcd.out" 2>&1 &
  echo $! > "$DIR/etcd.pid"
  wait_for 30 "etcd" curl -sf --max-time 1 "http://127.0.0.1:$ETCD_CLIENT/health"

  start_member m1
  wait_for 60 "a leader" leader
  start_member m2; start_member m3

  cat > "$DIR/haproxy.cfg" <<CFG
global
    maxconn 2000
defaults
    mode tcp
    timeout connect 2s
    timeout client 30m
    timeout server 30m
    timeout check 1s
listen onecard-primary
    bind 127.0.0.1:$HAPROXY
    option httpchk OPTIONS /primary
    http-check expect status 200
    default-server inter 300ms fall 2 rise 1 on-marked-down shutdown-sessions
    server m1 127.0.0.1:$PG_m1 maxconn 600 check port $REST_m1
    server m2 127.0.0.1:$PG_m2 maxconn 600 check port $REST_m2
    server m3 127.0.0.1:$PG_m3 maxconn 600 check port $REST_m3
CFG
  haproxy -f "$DIR/haproxy.cfg" -db > "$DIR/haproxy.out" 2>&1 &
  echo $! > "$DIR/haproxy.pid"
  wait_for 90 "every replica streaming with a synchronous standby" healthy
  echo "ONECARD_HA_URL=postgres://postgres:$SUPERUSER_PASSWORD@127.0.0.1:$HAPROXY/postgres"
  say "up: leader $(leader), HAProxy on 127.0.0.1:$HAPROXY, members' REST API on $REST_m1 $REST_m2 $REST_m3"
}

status() {
  load_ports
  curl -s --max-time 2 "http://127.0.0.1:$(rest_port m1)/cluster" 2>/dev/null \
    || curl -s --max-time 2 "http://127.0.0.1:$(rest_port m2)/cluster" 2>/dev/null \
    || curl -s --max-time 2 "http://127.0.0.1:$(rest_port m3)/cluster"
  echo
}

postmaster_pid() { head -n 1 "$DIR/$1/data/postmaster.pid" 2>/dev/null || true; }

kill_member() {  # name
  local m="$1" patroni postmaster
  patroni="$(cat "$DIR/$m/patroni.pid" 2>/dev/null || true)"
  postmaster="$(postmaster_pid "$m")"
  # The member whole: Patroni and its postmaster (which outlives a killed Patroni and would stay writable).
  [ -n "$patroni" ] && kill -9 "$patroni" 2>/dev/null || true
  [ -n "$postmaster" ] && kill -9 "$postmaster" 2>/dev/null || true
  rm -f "$DIR/$m/patroni.pid"
}

kill_leader() {
  load_ports
  local m; m="$(leader)" || { say "no leader"; exit 1; }
  kill_member "$m"
  echo "$m"
}

start() {
  load_ports
  local m="$1"
  [ -d "$DIR/$m" ] || { say "no member $m"; exit 1; }
  start_member "$m"
}

down() {
  [ -d "$DIR" ] || return 0
  for f in haproxy etcd; do
    local pid; pid="$(cat "$DIR/$f.pid" 2>/dev/null || true)"
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  for m in "${MEMBERS[@]}"; do
    local pid; pid="$(cat "$DIR/$m/patroni.pid" 2>/dev/null || true)"
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  sleep 1
  for m in "${MEMBERS[@]}"; do kill_member "$m"; done
  for f in haproxy etcd; do
    local pid; pid="$(cat "$DIR/$f.pid" 2>/dev/null || true)"
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  done
  # Last, anything still running from inside the folder (a postgres child, a stray backend), by its PID.
  for proc in /proc/[0-9]*; do
    local cwd; cwd="$(readlink "$proc/cwd" 2>/dev/null || true)"
    case "$cwd" in "$DIR"|"$DIR"/*) kill -9 "${proc#/proc/}" 2>/dev/null || true ;; esac
  done
  rm -rf "$DIR"
  say "down"
}

case "${1:-}" in
  up) up ;;
  status) status ;;
  kill-leader) kill_leader ;;
  start) start "${2:?member name}" ;;
  down) down ;;
  *) echo "usage: $0 up|status|kill-leader|start NAME|down" >&2; exit 2 ;;
esac
