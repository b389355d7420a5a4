// hostwatch dashboard: reads the agent's JSON API (docs/API.md) and draws the cards and
// one chart with uPlot. No build step: plain browser JavaScript.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { interval: 5, cores: 1, probes: [], chart: null, range: "1h", zoom: null, filled: new Set() };
const CARDS = ["system", "ai", "db", "probes", "alerts", "checklist", "chart", "processes"];
const PALETTE = ["#2b6cb0", "#c05621", "#2f855a", "#b83280", "#6b46c1", "#b7791f", "#2c7a7b", "#718096"];

async function api(path) {
  const r = await fetch(path, { credentials: "same-origin" });
  const json = (r.headers.get("content-type") || "").startsWith("application/json");
  const body = json ? await r.json() : { error: await r.text() };
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

// Each chart keeps only the answer to its latest request: a slow year must not land
// over the hour asked for after it.
const latest = {};
async function newest(chart, path) {
  const ticket = (latest[chart] = (latest[chart] || 0) + 1);
  const body = await api(path);
  return ticket === latest[chart] ? body : null;
}

// Navigation start to every card filled, for the load-time benchmark and tests.
function filled(card) {
  state.filled.add(card);
  if (state.filled.size === CARDS.length && !performance.getEntriesByName("hostwatch-filled").length) {
    performance.mark("hostwatch-filled");
  }
}

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function bytes(v) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? v.toFixed(0) : v.toFixed(1)) + " " + units[i];
}

function seconds(v) {
  return v < 1 ? (v * 1000).toFixed(0) + " ms" : v.toFixed(2) + " s";
}

// A value in its unit, as a person reads it.
function fmt(v, unit) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  switch (unit) {
    case "%": return v.toFixed(1) + " %";
    case "bytes": return bytes(v);
    case "bytes/s": return bytes(v) + "/s";
    case "s": return seconds(v);
    case "°C": return v.toFixed(1) + " °C";
    case "": return Number.isInteger(v) ? String(v) : v.toFixed(2);
    default: return (Number.isInteger(v) ? v : v.toFixed(2)) + " " + unit;
  }
}

function tile(label, s, shown) {
  const band = s && s.band ? s.band.level : "";
  const key = s ? esc(s.series) : "";
  const text = shown !== undefined ? shown : s ? fmt(s.value, s.unit) : "–";
  const title = s && s.band ? ` title="rule ${esc(s.band.rule)}: warning ${s.band.warning ?? "–"}, critical ${s.band.critical ?? "–"}"` : "";
  return `<div class="value" data-series="${key}" data-band="${band}"${title}><div class="label">${esc(label)}</div><div class="number">${esc(text)}</div></div>`;
}

function pick(series, metric, labels = {}) {
  return series.filter((s) => s.metric === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

function renderSystem(series) {
  const one = (metric, labels) => pick(series, metric, labels)[0];
  const tiles = [
    tile("CPU", one("cpu.usage_percent", { cpu: "total" })),
    tile("Memory", one("memory.used_percent")),
    tile("Swap", one("swap.used_percent")),
  ];
  const load = one("load.avg5");
  if (load) tiles.push(tile(`Load (5 min) per core, ${state.cores} cores`, load, (load.value / state.cores).toFixed(2)));
  for (const d of pick(series, "disk.used_percent")) tiles.push(tile(`Disk ${d.labels.mount}`, d));
  for (const t of pick(series, "temp.celsius")) tiles.push(tile(`${t.labels.sensor || "sensor"} ${t.labels.label || ""}`, t));
  for (const b of pick(series, "battery.charge_percent")) tiles.push(tile(`Battery ${b.labels.battery}`, b));
  $("system-values").innerHTML = tiles.join("");
}

function renderProbeCard(el, kinds, metrics, hint) {
  const probes = state.probes.filter((p) => kinds.includes(p.kind));
  if (!probes.length) {
    el.innerHTML = `<p class="muted">No ${esc(kinds.join(" or "))} probe yet. ${hint}</p>`;
    return;
  }
  el.innerHTML = probes.map((p) => {
    const tiles = metrics.map(([metric, label]) => tile(label, pick(state.series, metric, { probe: p.name })[0]));
    return `<h3>${esc(p.name)}</h3><div class="values">${tiles.join("")}</div>`;
  }).join("");
}

function renderApps() {
  renderProbeCard($("ai-values"), ["ai"], [
    ["probe.ai_response_seconds", "Response time"], ["probe.ttft_seconds", "Time to first token"],
    ["probe.tokens_per_second", "Tokens/s"], ["probe.cache_hit_percent", "Cache hit rate"],
  ], 'Add <code>[probes.NAME]</code> with <code>kind = "ai"</code> and the model\'s <code>url</code> to your config (see <code>hostwatch config default</code>).');
  renderProbeCard($("db-values"), ["postgres", "sqlite"], [
    ["probe.query_seconds", "Query time"], ["probe.db_connections", "Connections in use"],
    ["probe.db_max_connections", "Max connections"], ["probe.db_connections_percent", "Connections used"],
  ], 'Add <code>[probes.NAME]</code> with <code>kind = "postgres"</code> or <code>"sqlite"</code> to your config.');
}

async function refreshStatus() {
  const st = await api("/api/status");
  state.interval = Math.max(1, st.interval_s);
  state.cores = st.cores || 1;
  state.series = st.series;
  state.probes = st.probes;
  $("host").textContent = st.host;
  document.title = `hostwatch: ${st.host}`;
  const up = Math.round((st.now_ms - st.started_ms) / 1000);
  $("agent").textContent = `agent ${st.version}, pid ${st.pid}, up ${Math.floor(up / 3600)} h ${Math.floor((up % 3600) / 60)} min`;
  const a = st.alerts;
  $("alert-summary").innerHTML = a.firing
    ? `<span data-band="${a.critical ? "critical" : "warning"}"><span class="number">${a.firing} firing</span></span>`
    : `<span class="up">no alert firing</span>`;
  renderSystem(st.series);
  renderApps();
  filled("system"); filled("ai"); filled("db");
}

function pct(v) { return v === null || v === undefined ? "–" : (v * 100).toFixed(2) + " %"; }

async function refreshProbes() {
  const probes = await api("/api/probes");
  if (!probes.length) {
    $("probes-table").innerHTML = '<p class="muted">No probe is configured: add a <code>[probes.NAME]</code> table (see <code>hostwatch config default</code>).</p>';
  } else {
    const rows = probes.map((p) => {
      const failed = p.last && p.last.reason;
      const status = !p.last ? '<span class="muted">no attempt yet</span>'
        : failed ? `<span class="down">down (${esc(p.last.reason)})</span>` : '<span class="up">up</span>';
      const band = p.error_rate > 0.05 ? "critical" : p.error_rate > 0.01 ? "warning" : "ok";
      return `<tr data-probe="${esc(p.name)}"><td>${esc(p.name)}</td><td>${esc(p.kind)}</td><td>${status}</td>
        <td>${p.p95 === null ? "–" : seconds(p.p95)}</td><td data-band="${band}">${pct(p.error_rate)}</td>
        <td>${pct(p.availability["24h"])} / ${pct(p.availability["7d"])} / ${pct(p.availability["30d"])}</td></tr>`;
    });
    $("probes-table").innerHTML = `<table><tr><th>probe</th><th>kind</th><th>last</th><th>p95 (1 h)</th>
      <th>errors (1 h)</th><th>available 24 h / 7 d / 30 d</th></tr>${rows.join("")}</table>`;
  }
  filled("probes");
}

function when(ms) { return new Date(ms).toLocaleString(); }

async function refreshAlerts() {
  const a = await api("/api/alerts?since=7d&limit=20");
  const active = a.active.map((t) => `<tr data-band="${t.phase === "firing" ? t.severity : ""}" data-rule="${esc(t.rule)}">
      <td data-band="${t.phase === "firing" ? t.severity : ""}">${esc(t.phase)} ${esc(t.severity)}</td><td>${esc(t.rule)}</td>
      <td>${esc(t.series)}</td><td>${t.value.toFixed(2)}</td><td>${when(t.since_ms)}</td></tr>`);
  const history = a.history.slice(0, 10).map((e) => `<li>${when(e.at_ms)}: ${esc(e.rule)} ${esc(e.event)} (${esc(e.severity)}) on <code>${esc(e.series)}</code></li>`);
  $("alerts-list").innerHTML = (active.length
    ? `<table><tr><th>state</th><th>rule</th><th>series</th><th>value</th><th>since</th></tr>${active.join("")}</table>`
    : '<p class="up">Nothing firing or pending.</p>')
    + (history.length ? `<h3>Last 7 days</h3><ul>${history.join("")}</ul>` : '<p class="muted">No alert in the last 7 days.</p>');
  filled("alerts");
}

// Reports are Markdown; shown as escaped text with headings and bold kept.
function markdown(md) {
  return esc(md).split("\n").map((l) => {
    const h = l.match(/^(#{1,3}) (.*)$/);
    if (h) return `<strong>${h[2]}</strong>`;
    return l.replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>");
  }).join("\n");
}

async function refreshReports() {
  const runs = await api("/api/reports");
  $("reports").innerHTML = runs.length ? runs.map((r) => `<div class="report" data-job="${esc(r.job)}">
      <h3>${esc(r.job)} <span class="muted small">${r.report ? when(r.report.created_ms) + ", " + esc(r.report.level) : esc(r.outcome || "running")}</span></h3>
      ${r.report ? `<details><summary>report</summary><pre>${markdown(r.report.markdown)}</pre></details>` : ""}</div>`).join("")
    : '<p class="muted">No checklist job has run yet.</p>';
  filled("checklist");
}

const RANGES = ["15m", "1h", "6h", "24h", "7d", "30d", "365d"];

async function drawChart() {
  const key = $("series-pick").value;
  if (!key) { filled("chart"); return; }
  const { metric, labels } = JSON.parse(key);
  const q = new URLSearchParams({ metric });
  for (const [k, v] of Object.entries(labels)) q.append("label", `${k}=${v}`);
  if (state.zoom) { q.set("since", state.zoom[0]); q.set("until", state.zoom[1]); } else { q.set("since", state.range); }
  const p = await newest("history", "/api/points?" + q);
  if (!p) return;
  $("chart-note").textContent = `${p.points.length} points, one per ${p.step} s` + (p.note ? `; ${p.note}` : "");
  const cols = [[], [], [], []];
  for (const [t, min, avg, max] of p.points) { cols[0].push(t); cols[1].push(min); cols[2].push(avg); cols[3].push(max); }
  const css = getComputedStyle(document.documentElement);
  const accent = css.getPropertyValue("--accent").trim();
  const opts = {
    width: $("chart").clientWidth || 800, height: 300,
    series: [{}, { label: "min", stroke: "transparent" }, { label: "mean", stroke: accent, width: 1.5 },
      { label: "max", stroke: "transparent" }],
    bands: [{ series: [3, 1], fill: accent + "33" }],
    axes: [{ stroke: css.getPropertyValue("--muted") }, { stroke: css.getPropertyValue("--muted"), size: 80, values: (u, v) => v.map((x) => fmt(x, p.unit)) }],
    hooks: { setSelect: [(u) => {
      if (u.select.width < 5) return;
      const from = Math.floor(u.posToVal(u.select.left, "x")), to = Math.ceil(u.posToVal(u.select.left + u.select.width, "x"));
      state.zoom = [new Date(from * 1000).toISOString(), new Date(to * 1000).toISOString()];
      drawChart().catch(show);
    }] },
  };
  if (state.chart) state.chart.destroy();
  state.chart = new uPlot(opts, cols, $("chart"));
  $("chart").dataset.points = String(p.points.length);
  filled("chart");
}

async function setupChart() {
  const all = await api("/api/series");
  const shown = all.filter((s) => !s.labels.pid);
  $("series-pick").innerHTML = shown.map((s) => {
    const labels = Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(",");
    return `<option value='${esc(JSON.stringify({ metric: s.metric, labels: s.labels }))}'>${esc(s.metric)}${labels ? " {" + esc(labels) + "}" : ""}</option>`;
  }).join("");
  const cpu = [...$("series-pick").options].find((o) => o.text === "cpu.usage_percent {cpu=total}");
  if (cpu) cpu.selected = true;
  $("ranges").innerHTML = RANGES.map((r) => `<button type="button" data-range="${r}" class="${r === state.range ? "active" : ""}">${r}</button>`).join("");
  $("ranges").onclick = (e) => {
    const r = e.target.dataset.range;
    if (!r) return;
    state.range = r; state.zoom = null;
    for (const b of $("ranges").children) b.classList.toggle("active", b.dataset.range === r);
    drawChart().catch(show);
  };
  $("series-pick").onchange = () => { state.zoom = null; drawChart().catch(show); };
  await drawChart();
}

// The top processes over a range: one line per process name, its mean per bucket.
async function drawProcesses() {
  const metric = $("proc-metric").value;
  const p = await newest("processes", `/api/processes?metric=${metric}&since=${$("proc-range").value}`);
  if (!p) return;
  const el = $("proc-chart");
  if (state.procChart) { state.procChart.destroy(); state.procChart = null; }
  el.dataset.lines = String(p.processes.length);
  if (!p.processes.length) {
    el.innerHTML = '<p class="muted">No process sampled in this range (is <code>[processes] enabled</code>?).</p>';
    $("proc-note").textContent = "";
    filled("processes");
    return;
  }
  el.innerHTML = "";
  const times = [...new Set(p.processes.flatMap((l) => l.points.map((pt) => pt[0])))].sort((a, b) => a - b);
  const cols = [times, ...p.processes.map((l) => {
    const at = new Map(l.points.map((pt) => [pt[0], pt[2]]));
    return times.map((t) => (at.has(t) ? at.get(t) : null));
  })];
  const css = getComputedStyle(document.documentElement);
  state.procChart = new uPlot({
    width: el.clientWidth || 800, height: 260,
    series: [{}, ...p.processes.map((l, i) => ({ label: l.name, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: false }))],
    axes: [{ stroke: css.getPropertyValue("--muted") }, { stroke: css.getPropertyValue("--muted"), size: 80, values: (u, v) => v.map((x) => fmt(x, p.unit)) }],
  }, cols, el);
  $("proc-note").textContent = `one point per ${p.step} s` + (p.note ? `; ${p.note}` : "");
  filled("processes");
}

function show(err) {
  $("chart-note").textContent = "error: " + err.message;
}

function theme(next) {
  document.documentElement.dataset.theme = next;
  localStorage.setItem("hostwatch-theme", next);
}

// Live values follow the sampling interval while the tab is visible, and stop when it is not.
let timer = null;
function schedule() {
  clearTimeout(timer);
  if (document.hidden) return;
  timer = setTimeout(async () => {
    await refreshStatus().catch(show);
    schedule();
  }, state.interval * 1000);
}

async function main() {
  const saved = localStorage.getItem("hostwatch-theme");
  theme(saved || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"));
  $("theme").onclick = () => theme(document.documentElement.dataset.theme === "dark" ? "light" : "dark");
  // A first status that fails (the store briefly locked) leaves the page alive: the next
  // poll fills the cards.
  await refreshStatus().catch(show);
  $("proc-metric").onchange = $("proc-range").onchange = () => drawProcesses().catch(show);
  await Promise.all([refreshProbes(), refreshAlerts(), refreshReports(), setupChart(), drawProcesses()].map((p) => p.catch(show)));
  schedule();
  setInterval(() => { if (!document.hidden) Promise.all([refreshProbes(), refreshAlerts(), refreshReports()]).catch(show); }, 30000);
  document.addEventListener("visibilitychange", schedule);
}

main().catch(show);
