#!/usr/bin/env bash
# What probes cost the agent, side by side in one run: the agent at its defaults, and the
# agent at its defaults plus 10 http probes every 10 s against a local server, for the same
# SECONDS. Prints CPU seconds, % of one core and peak RSS of each, as a Markdown table.
#
#   bash bench/probe_cost.sh [SECONDS]        (default 600)
#
# Needs: a release build (cargo build --release --locked).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
bin="${CARGO_TARGET_DIR:-$HOME/.cache/hostwatch/target}/release/hostwatch"
[ -x "$bin" ] || { echo "no release build at $bin: run cargo build --release --locked" >&2; exit 2; }
work=$(mktemp -d)
python3 bench/probe_site.py 0 >"$work/port" &
site=$!
cleanup() { kill "${pids[@]}" "$site" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
# shellcheck source=bench/lib.sh
. bench/lib.sh
while [ ! -s "$work/port" ]; do sleep 0.1; done
url="http://127.0.0.1:$(cat "$work/port")"
probes=""
for i in $(seq 10); do
  probes+=$(printf '[probes.site%s]\nkind = "http"\nurl = "%s/health/%s"\ninterval = "10s"\nconditions = ["body.status == \\"ok\\""]\n' "$i" "$url" "$i")
  probes+=$'\n'
done
hostwatch_agent "hostwatch (defaults)" ""
hostwatch_agent "hostwatch (defaults + 10 http probes every 10s)" "$probes"
sleep "$secs"
report "$secs"
