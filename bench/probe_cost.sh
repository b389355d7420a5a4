#!/usr/bin/env bash
# What probes cost the agent, side by side in one run: the agent at its defaults, and the
# agent at its defaults plus 10 http probes every 10 s against a local server and one
# postgres probe every 30 s against a PostgreSQL server of the script's own, for the same
# SECONDS. Prints CPU seconds, % of one core and peak RSS of each, as a Markdown table.
#
#   bash bench/probe_cost.sh [SECONDS]        (default 600)
#
# Needs: a release build (cargo build --release --locked), Debian's postgresql.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
# HOSTWATCH_BIN=path measures another build (two at once: before and after a change).
bin="${HOSTWATCH_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/hostwatch/target}/release/hostwatch}"
[ -x "$bin" ] || { echo "no release build at $bin: run cargo build --release --locked" >&2; exit 2; }
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pgbin/postgres" ] || { echo "no PostgreSQL under /usr/lib/postgresql (apt-get install postgresql)" >&2; exit 2; }
work=$(mktemp -d)
chmod 755 "$work"
python3 bench/probe_site.py 0 >"$work/port" &
site=$!
# PostgreSQL refuses to run as root: as nobody then, in a directory of its own.
pg="$work/pg"
mkdir -p "$pg"
as_pg() { if [ "$(id -u)" = 0 ]; then chown -R nobody:nogroup "$pg"; runuser -u nobody -- "$@"; else "$@"; fi; }
# shellcheck source=bench/lib.sh
. bench/lib.sh
pgport=$(free_port)
as_pg "$pgbin/initdb" -D "$pg/data" -A trust -U postgres --no-sync >/dev/null
as_pg "$pgbin/pg_ctl" -D "$pg/data" -o "-p $pgport -k $pg -c listen_addresses=127.0.0.1" -l "$pg/log" -w start >/dev/null
cleanup() {
  kill "${pids[@]}" "$site" 2>/dev/null || true
  as_pg "$pgbin/pg_ctl" -D "$pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
while [ ! -s "$work/port" ]; do sleep 0.1; done
url="http://127.0.0.1:$(cat "$work/port")"
probes=""
for i in $(seq 10); do
  probes+=$(printf '[probes.site%s]\nkind = "http"\nurl = "%s/health/%s"\ninterval = "10s"\nconditions = ["body.status == \\"ok\\""]\n' "$i" "$url" "$i")
  probes+=$'\n'
done
probes+=$(printf '[probes.pg]\nkind = "postgres"\nconnection = "host=127.0.0.1 port=%s user=postgres dbname=postgres"\ninterval = "30s"\n' "$pgport")
hostwatch_agent "hostwatch (defaults)" ""
hostwatch_agent "hostwatch (defaults + 10 http probes every 10s + 1 postgres every 30s)" "$probes"
sleep "$secs"
report "$secs"
