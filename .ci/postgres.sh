#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on 127.0.0.1 for the test suite and print its URL.
# Usage: eval "$(bash .ci/postgres.sh start)"   ...   bash .ci/postgres.sh stop
set -euo pipefail
PGPORT="${MONITOR_PG_PORT:-54329}"
PGDATA="${MONITOR_PG_DATA:-/tmp/newsmonitor-pg}"
PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -n "$PGBIN" ] || { echo "postgresql is not installed (apt-get install postgresql)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "${1:-start}" in
  start)
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
      rm -rf "$PGDATA"; mkdir -p "$PGDATA"
      [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDATA"
      as_pg "$PGBIN/initdb" -D "$PGDATA" -A trust -U postgres -E UTF8 >/dev/null
    fi
    if ! as_pg "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
      as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k /tmp -c fsync=off" start >/dev/null
    fi
    # Fail loudly (CI stops here) rather than print no URL and let the PostgreSQL tests skip.
    for _ in $(seq 1 30); do
      psql -h 127.0.0.1 -p "$PGPORT" -U postgres -tAc "SELECT 1" >/dev/null 2>&1 && break
      sleep 1
    done
    if ! psql -h 127.0.0.1 -p "$PGPORT" -U postgres -tAc "SELECT 1" >/dev/null 2>&1; then
      echo "PostgreSQL did not start on 127.0.0.1:$PGPORT" >&2
      tail -n 20 "$PGDATA/server.log" >&2 2>/dev/null || true
      exit 1
    fi
    psql -h 127.0.0.1 -p "$PGPORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='monitor_test'" \
      | grep -q 1 || psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qc "CREATE DATABASE monitor_test" >/dev/null
    echo "export MONITOR_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:$PGPORT/monitor_test"
    ;;
  stop)
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null 2>&1 || true
    ;;
esac
