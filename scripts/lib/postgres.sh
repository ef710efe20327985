# Starts a throwaway PostgreSQL on a free loopback port and stops it on exit.
# Sets PGPORT and ONECARD_PG_URL. Needs PGBIN (the server's bin folder). Sourced by test.sh and Benchmarks/load.sh.
# Tests run without fsync; ONECARD_PG_SETTINGS replaces that (benchmarks at production durability pass e.g.
# "-c shared_buffers=1GB": fsync and synchronous_commit then keep PostgreSQL's defaults, on); PG_OPTIONS adds options
# to either (-c name=value).
# initdb and pg_ctl refuse to run as root: run them as the postgres user then.
run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PGROOT="$(mktemp -d /tmp/onecard-pg.XXXXXX)"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$PGROOT"
PGPORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
stop_pg() {
  run_pg "$PGBIN/pg_ctl" -D "$PGROOT/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PGROOT"
}
trap stop_pg EXIT
log "starting PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT"
run_pg "$PGBIN/initdb" -D "$PGROOT/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
run_pg "$PGBIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/server.log" -w \
  -o "-p $PGPORT -k $PGROOT -c listen_addresses=127.0.0.1 ${ONECARD_PG_SETTINGS:--c fsync=off -c synchronous_commit=off} -c max_connections=500 ${PG_OPTIONS:-}" start >/dev/null

ONECARD_PG_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
