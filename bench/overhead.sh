#!/usr/bin/env bash
# Agent overhead, side by side in one run: hostwatch (three settings), sysstat's sadc,
# collectd and prometheus-node-exporter, all sampling every second for the same window.
# Prints CPU seconds, % of one core and peak RSS of each, as a Markdown table.
#
#   bash bench/overhead.sh [SECONDS]        (default 60)
#
# Needs: a release build (cargo build --release --locked), and from Debian:
#   apt-get install sysstat collectd-core prometheus-node-exporter curl
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
bin="${CARGO_TARGET_DIR:-$HOME/.cache/hostwatch/target}/release/hostwatch"
[ -x "$bin" ] || { echo "no release build at $bin: run cargo build --release --locked" >&2; exit 2; }
for tool in /usr/lib/sysstat/sadc /usr/sbin/collectd /usr/bin/prometheus-node-exporter curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (see the header of $0)" >&2; exit 2; }
done

work=$(mktemp -d)
cleanup() { kill "${pids[@]}" 2>/dev/null || true; [ -n "${scraper:-}" ] && kill "$scraper" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
# shellcheck source=bench/lib.sh
. bench/lib.sh

hostwatch() { # name, extra config
  hostwatch_agent "$1" "$(printf '[sampling]\ninterval = "1s"\n%b' "$2")"
}

hostwatch "hostwatch (no process table)" '[processes]\nenabled = false\n'
hostwatch "hostwatch (process table every 30s, default)" ''
hostwatch "hostwatch (process table every 1s)" '[processes]\ninterval = "1s"\n'

start "sadc (default activities)" /usr/lib/sysstat/sadc 1 $((secs + 5)) "$work/sa.data"

cat >"$work/collectd.conf" <<CONF
Interval 1
BaseDir "$work"
PIDFile "$work/collectd.pid"
LoadPlugin cpu
LoadPlugin load
LoadPlugin memory
LoadPlugin swap
LoadPlugin df
LoadPlugin disk
LoadPlugin interface
LoadPlugin uptime
LoadPlugin processes
LoadPlugin csv
<Plugin csv>
  DataDir "$work/csv"
</Plugin>
CONF
start "collectd (9 plugins, CSV)" /usr/sbin/collectd -f -C "$work/collectd.conf"

start "node_exporter (scraped at 1 Hz)" /usr/bin/prometheus-node-exporter --web.listen-address=127.0.0.1:19100
( for _ in $(seq $((secs + 5))); do curl -s -o /dev/null http://127.0.0.1:19100/metrics || true; sleep 1; done ) &
scraper=$!

sleep "$secs"
report "$secs"
