#!/usr/bin/env bash
# The README's screenshot of the dashboard (docs/dashboard.png): the agent sampling this
# machine every second for SECONDS with an http probe (bench/probe_site.py), an ai probe
# (bench/model_site.py, an OpenAI-style streaming server), a sqlite probe and one rule set
# low enough to fire, then headless Chromium photographs the page.
#
#   bash bench/screenshot.sh [SECONDS] [OUT]        (default 60, docs/dashboard.png)
#
# Needs: a build (release if there is one, else debug), Debian's chromium and chromium-driver.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
out=${2:-docs/dashboard.png}
target="${CARGO_TARGET_DIR:-$HOME/.cache/hostwatch/target}"
bin="$target/release/hostwatch"
[ -x "$bin" ] || bin="$target/debug/hostwatch"
[ -x "$bin" ] || { echo "no hostwatch build under $target" >&2; exit 2; }
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
# shellcheck source=bench/lib.sh
. bench/lib.sh
python3 bench/probe_site.py 0.04 >"$work/site.port" & pids+=($!)
python3 bench/model_site.py "$work/model.log" >"$work/model.port" & pids+=($!)
python3 -c "import sqlite3; c = sqlite3.connect('$work/app.db'); c.execute('CREATE TABLE jobs(state)'); c.executemany('INSERT INTO jobs VALUES (?)', [('done',)] * 500); c.commit()"
while [ ! -s "$work/site.port" ] || [ ! -s "$work/model.port" ]; do sleep 0.1; done
port=$(free_port)
cat >"$work/config.toml" <<CONF
[sampling]
interval = "1s"
flush_interval = "5s"
[processes]
interval = "5s"
[alerts]
grace = "0s"
[alerts.rules.memory]
warning = 10
critical = 99
clear = 9
for = "0s"
[probes.api]
kind = "http"
url = "http://127.0.0.1:$(cat "$work/site.port")/health"
interval = "5s"
conditions = ["body.status == \"ok\""]
[probes.llm]
kind = "ai"
url = "http://127.0.0.1:$(cat "$work/model.port")"
model = "tiny"
interval = "10s"
completion_interval = "10s"
[probes.app_db]
kind = "sqlite"
path = "$work/app.db"
query = "SELECT count(*) FROM jobs WHERE state = 'done'"
interval = "5s"
[server]
listen = "127.0.0.1:$port"
CONF
"$bin" --config "$work/config.toml" --data-dir "$work/data" run 2>"$work/agent.log" & pids+=($!)
sleep "$secs"
# Through ChromeDriver, so the page runs in real time (a --screenshot with a virtual time
# budget caught the charts before their scales were set).
driver=$(free_port)
chromedriver --port="$driver" >/dev/null 2>&1 & pids+=($!)
python3 - "$driver" "$port" "$work/chrome" "$PWD/$out" <<'PY'
import base64, json, sys, time, urllib.request
driver, port, profile, out = sys.argv[1:]
def call(method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{driver}{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))["value"]
for _ in range(100):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{driver}/status"); break
    except OSError:
        time.sleep(0.1)
args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--hide-scrollbars", "--window-size=1400,1500", f"--user-data-dir={profile}"]
caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome",
        "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}}}}
session = call("POST", "/session", caps)["sessionId"]
call("POST", f"/session/{session}/url", {"url": f"http://127.0.0.1:{port}/"})
time.sleep(5)
open(out, "wb").write(base64.b64decode(call("GET", f"/session/{session}/screenshot")))
call("DELETE", f"/session/{session}")
PY
echo "wrote $out"
