#!/usr/bin/env bash
# What the dashboard server costs the agent, side by side in one run: the agent with the
# server off, with it on and no client, and with /metrics scraped at 1 Hz; and, scraped at
# the same rate, prometheus-node-exporter. Prints CPU seconds, % of one core and peak RSS
# of each, as a Markdown table.
#
#   bash bench/server_cost.sh [SECONDS]        (default 60)
#
# Needs: a release build (cargo build --release --locked), curl, and from Debian:
#   apt-get install prometheus-node-exporter
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
bin="${CARGO_TARGET_DIR:-$HOME/.cache/hostwatch/target}/release/hostwatch"
[ -x "$bin" ] || { echo "no release build at $bin: run cargo build --release --locked" >&2; exit 2; }
for tool in /usr/bin/prometheus-node-exporter curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (see the header of $0)" >&2; exit 2; }
done
work=$(mktemp -d)
scrapers=()
cleanup() { kill "${pids[@]}" "${scrapers[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
# shellcheck source=bench/lib.sh
. bench/lib.sh
scrape() { # url: GET it once a second for the run
  ( for _ in $(seq $((secs + 5))); do curl -s -o /dev/null "$1" || true; sleep 1; done ) &
  scrapers+=($!)
}
idle=$(free_port)
scraped=$(free_port)
hostwatch_agent "hostwatch (server off)" $'[server]\nenabled = false'
hostwatch_agent "hostwatch (server on, no client)" "$(printf '[server]\nlisten = "127.0.0.1:%s"' "$idle")"
hostwatch_agent "hostwatch (server on, /metrics scraped at 1 Hz)" "$(printf '[server]\nlisten = "127.0.0.1:%s"' "$scraped")"
node=$(free_port)
start "node_exporter (scraped at 1 Hz)" /usr/bin/prometheus-node-exporter --web.listen-address=127.0.0.1:"$node"
sleep 2
scrape "http://127.0.0.1:$scraped/metrics"
scrape "http://127.0.0.1:$node/metrics"
sleep "$secs"
report "$secs"
