#!/usr/bin/env bash
# Probe accuracy, side by side in one run: `hostwatch probe run` and `curl -w %{time_total}`
# against the same local server, which waits a known 200 ms before answering, alternating
# N times. Prints each one's median and the difference, in ms.
#
#   bash bench/probe_accuracy.sh [N]        (default 30)
#
# Needs: a build of hostwatch (release if there is one, else the tests' dev build), curl.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-30}
target="${CARGO_TARGET_DIR:-$HOME/.cache/hostwatch/target}"
bin="$target/release/hostwatch"
[ -x "$bin" ] || bin="$target/debug/hostwatch"
[ -x "$bin" ] || { echo "no build of hostwatch under $target" >&2; exit 2; }
command -v curl >/dev/null || { echo "missing curl" >&2; exit 2; }
work=$(mktemp -d)
python3 bench/probe_site.py 0.2 >"$work/port" &
site=$!
trap 'kill $site 2>/dev/null; rm -rf "$work"' EXIT
while [ ! -s "$work/port" ]; do sleep 0.1; done
url="http://127.0.0.1:$(cat "$work/port")/health"
printf '[probes.site]\nkind = "http"\nurl = "%s"\n' "$url" >"$work/config.toml"
for _ in $(seq "$n"); do
  curl -s -o /dev/null -w '%{time_total}\n' "$url" | awk '{ printf "%.3f\n", $1 * 1000 }' >>"$work/curl"
  "$bin" --config "$work/config.toml" --data-dir "$work/data" probe run site |
    awk '$1 == "probe.duration_seconds" { v = $2; if ($3 == "s") v *= 1000; print v }' >>"$work/probe"
done
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
c=$(median "$work/curl"); p=$(median "$work/probe")
echo "| measured by | median total ms ($n runs, server waits 200 ms) |"
echo "|---|---|"
echo "| curl -w %{time_total} | $c |"
echo "| hostwatch probe run ($(basename "$(dirname "$bin")")) | $p |"
awk -v c="$c" -v p="$p" 'BEGIN { printf "| difference | %+.2f |\n", p - c }'
