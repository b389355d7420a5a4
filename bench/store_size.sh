#!/usr/bin/env bash
# Hot-store bytes per sample: run the release agent at 1 s sampling (default collectors,
# process table on its default interval) for SECONDS, stop it, and divide the store's
# size (WAL folded in) by its sample count.
#
#   bash bench/store_size.sh [SECONDS]          (default 3600: one hour)
#   bash bench/store_size.sh --report DATA_DIR  (report on a data dir already written)
#
# With HOSTWATCH_BENCH_KEEP=DIR the recorded data dir is copied to DIR, for the archive
# benchmark on real data (cargo bench --bench archive -- real DIR/hot.sqlite).
set -euo pipefail
cd "$(dirname "$0")/.."

report() { # data dir
  python3 - "$1/hot.sqlite" <<'PY'
import os, sqlite3, sys
path = sys.argv[1]
con = sqlite3.connect(path)
con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
samples, series = con.execute("SELECT (SELECT count(*) FROM samples), (SELECT count(*) FROM series)").fetchone()
first, last = con.execute("SELECT min(ts), max(ts) FROM samples").fetchone()
ticks = con.execute("SELECT count(DISTINCT ts) FROM samples").fetchone()[0]
size = os.path.getsize(path) + (os.path.getsize(path + "-wal") if os.path.exists(path + "-wal") else 0)
print(f"| span | ticks | series | samples | file bytes | bytes/sample |")
print(f"|---|---|---|---|---|---|")
print(f"| {last - first} s | {ticks} | {series} | {samples} | {size} | {size / samples:.2f} |")
PY
}

if [ "${1:-}" = "--report" ]; then report "$2"; exit 0; fi
secs=${1:-3600}
bin="${CARGO_TARGET_DIR:-$HOME/.cache/hostwatch/target}/release/hostwatch"
[ -x "$bin" ] || { echo "no release build at $bin: run cargo build --release --locked" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '[sampling]\ninterval = "1s"\n' >"$work/config.toml"
"$bin" --config "$work/config.toml" --data-dir "$work/data" run &
agent=$!
sleep "$secs"
kill -TERM "$agent"
wait "$agent"
report "$work/data"
if [ -n "${HOSTWATCH_BENCH_KEEP:-}" ]; then cp -r "$work/data" "$HOSTWATCH_BENCH_KEEP"; fi
