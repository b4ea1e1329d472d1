// The audit page (package audit): isogate's decisions as they happen, from
// its server-sent events, with filters and two uPlot plots. Everything a
// decision holds came, in the end, from an untrusted page, so it is only
// ever written as text (textContent, canvas), never as markup.
import uPlot from 'uplot';

const MAX = 5000; // decisions kept in the page
const token = new URLSearchParams(location.search).get('token') || '';
const decisions = [];
const windows = new Set();
const $ = (id) => document.getElementById(id);

function verdictOf(d) { return d.result && d.result.allow ? 'allow' : 'deny'; }

function matches(d) {
  const name = $('f-name').value.trim();
  const verdict = $('f-verdict').value;
  const reason = $('f-reason').value.trim();
  const win = $('f-window').value;
  if (name && !String(d.name).includes(name)) return false;
  if (verdict && verdictOf(d) !== verdict) return false;
  if (reason && !(d.result.reasons || []).some((r) => String(r).includes(reason))) return false;
  if (win && d.window !== win) return false;
  return true;
}

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
}

function row(d) {
  const tr = document.createElement('tr');
  tr.className = verdictOf(d);
  cell(tr, new Date(d.time).toLocaleTimeString());
  cell(tr, d.window);
  cell(tr, d.kind);
  cell(tr, d.name, 'name');
  cell(tr, verdictOf(d), 'verdict');
  cell(tr, d.result.code || '');
  cell(tr, (d.result.reasons || []).join('; '), 'reasons');
  cell(tr, String(Math.round((d.latency_ns || 0) / 1000)));
  cell(tr, d.revision);
  d.tr = tr;
  if (!matches(d)) tr.classList.add('hidden');
  return tr;
}

// A reconnect (the server dropped a page that fell behind, or restarted the
// stream) sends the recent decisions again: each is shown once.
const shown = new Set(); // decision ids on the page

function add(d) {
  d.result = d.result || {};
  if (d.decision_id) {
    if (shown.has(d.decision_id)) return;
    shown.add(d.decision_id);
  }
  decisions.push(d);
  const body = $('decisions').tBodies[0];
  body.insertBefore(row(d), body.firstChild);
  if (decisions.length > MAX) {
    const old = decisions.shift();
    old.tr.remove();
    shown.delete(old.decision_id);
  }
  if (d.window && !windows.has(d.window)) {
    windows.add(d.window);
    const o = document.createElement('option');
    o.value = o.textContent = d.window;
    $('f-window').appendChild(o);
  }
  schedule();
}

function refilter() {
  for (const d of decisions) d.tr.classList.toggle('hidden', !matches(d));
  schedule();
}

// Plots, redrawn at most once a frame.
let reasonLabels = [];
const reasons = new uPlot({
  width: 520, height: 240, scales: { x: { time: false } },
  axes: [{ values: (u, splits) => splits.map((i) => (reasonLabels[i] || '').slice(0, 24)), space: 40 }, { size: 60 }],
  series: [{}, { label: 'denials', fill: 'rgba(179,38,30,0.5)', stroke: '#b3261e', paths: uPlot.paths.bars({ size: [0.6] }), points: { show: false } }],
}, [[], []], $('p-reasons'));
let commands = [];
let latency = null;

function latencyPlot(names) {
  if (latency) latency.destroy();
  const colors = ['#1a73e8', '#137333', '#e37400', '#8430ce', '#b3261e', '#007b83', '#5f6368', '#c5221f'];
  latency = new uPlot({
    width: 520, height: 240, axes: [{}, { size: 70 }],
    series: [{}, ...names.map((n, i) => ({ label: n, stroke: colors[i % colors.length], paths: () => null, points: { show: true, size: 5, fill: colors[i % colors.length] } }))],
  }, [[], ...names.map(() => [])], $('p-latency'));
}

function draw() {
  pending = false;
  const shown = decisions.filter(matches);
  const counts = new Map();
  for (const d of shown) {
    if (verdictOf(d) !== 'deny') continue;
    for (const r of (d.result.reasons && d.result.reasons.length ? d.result.reasons : [d.result.code || 'denied'])) counts.set(r, (counts.get(r) || 0) + 1);
  }
  const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 12);
  reasonLabels = top.map(([r]) => r);
  reasons.setData([top.map((_, i) => i), top.map(([, n]) => n)]);
  const perName = new Map();
  for (const d of shown) perName.set(d.name, (perName.get(d.name) || 0) + 1);
  const names = [...perName].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([n]) => n);
  if (names.join('\u0000') !== commands.join('\u0000')) { commands = names; latencyPlot(names); }
  const xs = [];
  const ys = names.map(() => []);
  for (const d of shown) {
    const k = names.indexOf(d.name);
    if (k < 0) continue;
    xs.push(Date.parse(d.time) / 1000);
    ys.forEach((y, i) => y.push(i === k ? (d.latency_ns || 0) / 1000 : null));
  }
  latency.setData([xs, ...ys]);
  const denied = shown.filter((d) => verdictOf(d) === 'deny').length;
  $('counts').textContent = `${shown.length} shown of ${decisions.length}: ${shown.length - denied} allowed, ${denied} denied`;
}

let pending = false;
function schedule() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(draw);
}

for (const id of ['f-name', 'f-reason']) $(id).addEventListener('input', refilter);
for (const id of ['f-verdict', 'f-window']) $(id).addEventListener('change', refilter);
latencyPlot([]);

const es = new EventSource('/decisions?token=' + encodeURIComponent(token));
es.addEventListener('decision', (e) => add(JSON.parse(e.data)));
es.addEventListener('ready', () => { $('status').textContent = 'live'; $('status').className = 'live'; });
es.onerror = () => { $('status').textContent = 'reconnecting…'; $('status').className = 'lost'; };
