#!/usr/bin/env bash
# Probe accuracy, side by side in one run: `hostwatch probe run` and `curl -w %{time_total}`
# against the same local server, which waits a known 200 ms before answering, alternating
# N times; then an ai probe's time to first token and decode rate against what an
# OpenAI-style streaming server (bench/model_site.py) logged of its own sends, N times.
# Prints the medians and the differences.
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
python3 bench/model_site.py "$work/served" >"$work/model_port" &
model=$!
trap 'kill $site $model 2>/dev/null; rm -rf "$work"' EXIT
while [ ! -s "$work/port" ] || [ ! -s "$work/model_port" ]; do sleep 0.1; done
url="http://127.0.0.1:$(cat "$work/port")/health"
printf '[probes.site]\nkind = "http"\nurl = "%s"\n[probes.model]\nkind = "ai"\nurl = "http://127.0.0.1:%s"\n' \
  "$url" "$(cat "$work/model_port")" >"$work/config.toml"
for _ in $(seq "$n"); do
  curl -s -o /dev/null -w '%{time_total}\n' "$url" | awk '{ printf "%.3f\n", $1 * 1000 }' >>"$work/curl"
  "$bin" --config "$work/config.toml" --data-dir "$work/data" probe run site |
    awk '$1 == "probe.duration_seconds" { v = $2; if ($3 == "s") v *= 1000; print v }' >>"$work/probe"
done
for _ in $(seq "$n"); do
  "$bin" --config "$work/config.toml" --data-dir "$work/data" probe run model |
    awk '$1 == "probe.ttft_seconds" { v = $2; if ($3 == "s") v *= 1000; t = v }
         $1 == "probe.tokens_per_second" { r = $2 } END { print t, r }' >>"$work/ai"
done
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
c=$(median "$work/curl"); p=$(median "$work/probe")
echo "| measured by | median total ms ($n runs, server waits 200 ms) |"
echo "|---|---|"
echo "| curl -w %{time_total} | $c |"
echo "| hostwatch probe run ($(basename "$(dirname "$bin")")) | $p |"
awk -v c="$c" -v p="$p" 'BEGIN { printf "| difference | %+.2f |\n", p - c }'
cut -d' ' -f1 "$work/served" >"$work/served_ttft"; cut -d' ' -f2 "$work/served" >"$work/served_rate"
cut -d' ' -f1 "$work/ai" >"$work/ai_ttft"; cut -d' ' -f2 "$work/ai" >"$work/ai_rate"
st=$(median "$work/served_ttft"); pt=$(median "$work/ai_ttft"); sr=$(median "$work/served_rate"); pr=$(median "$work/ai_rate")
echo
echo "| measured by | median time to first token ms | median tokens/s after the first ($n completions) |"
echo "|---|---|---|"
echo "| the server, accept to first token sent | $st | $sr |"
echo "| hostwatch probe run, before connect to first token read | $pt | $pr |"
awk -v a="$st" -v b="$pt" -v c="$sr" -v d="$pr" 'BEGIN { printf "| difference | %+.2f | %+.2f |\n", b - a, d - c }'
