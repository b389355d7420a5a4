#!/usr/bin/env bash
# `hostwatch load` against wrk, side by side in one run against the same loopback nginx
# (one worker), with the same connections and duration, each generator on one thread:
# maximum rps, p50 latency, and generator CPU per 1,000 requests, three rounds each,
# alternated. Then an open-model run at 1,000 rps: achieved against intended, and its
# latencies (counted from each request's intended send time). Prints Markdown tables.
#
#   bash bench/load_vs_wrk.sh [SECONDS] [CONNECTIONS]        (default 10 s, 10)
#
# Needs: a release build (cargo build --release --locked), python3, and from Debian:
#   apt-get install wrk nginx-light
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-10}
bin="${CARGO_TARGET_DIR:-$HOME/.cache/hostwatch/target}/release/hostwatch"
[ -x "$bin" ] || { echo "no release build at $bin: run cargo build --release --locked" >&2; exit 2; }
for tool in wrk nginx python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (see the header of $0)" >&2; exit 2; }
done
work=$(mktemp -d)
cleanup() { [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
# shellcheck source=bench/lib.sh
. bench/lib.sh
port=$(free_port)
mkdir -p "$work/www" "$work/logs"
printf 'ok' >"$work/www/index.html"
cat >"$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server { listen 127.0.0.1:$port; root $work/www; keepalive_requests 10000000; }
}
CONF
nginx -c "$work/nginx.conf" -p "$work"
sleep 0.5
url="http://127.0.0.1:$port/index.html"

# Runs a command and prints its children's CPU seconds (user + system) on stderr's last line.
cpu_of() {
  python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=False)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"cpu {r.ru_utime + r.ru_stime:.3f}", file=sys.stderr)' "$@"
}

# The newest run's figures from the store: requests rps p50 p95 p99 intended.
last_run() {
  python3 - "$1" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
kept = json.loads(db.execute("SELECT kept FROM load_runs ORDER BY id DESC LIMIT 1").fetchone()[0])
t = kept["total"]
print(t["requests"], t["rps"], t["latency"]["p50"], t["latency"]["p95"], t["latency"]["p99"], t["intended_rps"] or 0)
PY
}

cat >"$work/config.toml" <<CONF
[server]
enabled = false
[loadtests.max]
url = "$url"
users = $conns
duration = "${secs}s"
ramp_up = "0s"
max_requests = 100000000
[loadtests.open]
url = "$url"
target_rps = 1000
duration = "${secs}s"
ramp_up = "0s"
CONF
hw() { "$bin" --config "$work/config.toml" --data-dir "$work/data" "$@"; }

echo "| round | tool | requests/s | p50 | CPU s per 1,000 requests |"
echo "|---|---|---|---|---|"
for round in 1 2 3; do
  out=$(cpu_of wrk -t1 -c"$conns" -d"${secs}s" --latency "$url" 2>"$work/wrk.cpu")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  cpu=$(awk '/^cpu/ {print $2}' "$work/wrk.cpu")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  awk -v r="$round" -v rps="$rps" -v p="$p50" -v c="$cpu" -v n="$reqs" \
    'BEGIN { printf "| %s | wrk | %.0f | %s | %.4f |\n", r, rps, p, c / (n / 1000) }'
  cpu_of "$bin" --config "$work/config.toml" --data-dir "$work/data" load run max >/dev/null 2>"$work/hw.cpu"
  cpu=$(awk '/^cpu/ {print $2}' "$work/hw.cpu")
  read -r reqs rps p50 _ _ _ <<<"$(last_run "$work/data/hot.sqlite")"
  awk -v r="$round" -v rps="$rps" -v p="$p50" -v c="$cpu" -v n="$reqs" \
    'BEGIN { printf "| %s | hostwatch load | %.0f | %.2fus | %.4f |\n", r, rps, p * 1e6, c / (n / 1000) }'
done
echo
hw load run open >/dev/null 2>&1 || true
read -r reqs rps p50 p95 p99 intended <<<"$(last_run "$work/data/hot.sqlite")"
echo "| open model | intended rps | achieved rps | achieved / intended | p50 | p95 | p99 |"
echo "|---|---|---|---|---|---|---|"
awk -v i="$intended" -v a="$rps" -v p50="$p50" -v p95="$p95" -v p99="$p99" \
  'BEGIN { printf "| 1,000 rps for '"$secs"' s | %.1f | %.1f | %.2f%% | %.0fus | %.0fus | %.0fus |\n", i, a, 100 * a / i, p50 * 1e6, p95 * 1e6, p99 * 1e6 }'
