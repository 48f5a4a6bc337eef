# Sourced by .ci/run: a throwaway PostgreSQL for the compat tests (tokio-postgres
# against a real server, as users run it). Installs Debian's package when missing,
# serves on a Unix socket only (no TCP port to collide with), and stops on exit.
# Exports PGHOST/PGPORT/PGUSER and COMPAT_REQUIRE_POSTGRES=1 so the tests cannot skip.

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -n 1 || true)
if [ -z "$pg_bin" ]; then
  echo "installing postgresql from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)
fi

pg_root=$(mktemp -d /tmp/asupersync-ci-pg.XXXXXX)
chown postgres "$pg_root"
export PGHOST="$pg_root" PGPORT=5432 PGUSER=postgres PGDATABASE=postgres COMPAT_REQUIRE_POSTGRES=1
runuser -u postgres -- "$pg_bin/initdb" -D "$pg_root/data" -A trust -U postgres >/dev/null
runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_root/data" -l "$pg_root/server.log" -w \
  -o "-k $pg_root -p $PGPORT -c listen_addresses=''" start >/dev/null

stop_postgres() {
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_root/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$pg_root"
}
trap stop_postgres EXIT
echo "postgresql $("$pg_bin/postgres" --version | awk '{print $3}') on $pg_root"
