// The local plane's web console. Plain JavaScript, no framework: it reads the
// API it is served by (same origin, relative URLs) and its server-sent event
// streams, and writes the DOM with textContent only.
'use strict';

const $ = (id) => document.getElementById(id);
const el = (tag, className, text) => {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
};
const enc = encodeURIComponent;

// ---- Talking to the API ---------------------------------------------------

const TOKEN_KEY = 'jamsocket-console-token';
let token = sessionStorage.getItem(TOKEN_KEY) || '';

function headers(accept, json) {
  const h = { Accept: accept };
  if (json) h['Content-Type'] = 'application/json';
  if (token) h.Authorization = 'Bearer ' + token;
  return h;
}

class Refused extends Error {}

// api sends one request; a body is sent as JSON. It resolves to the decoded
// answer and rejects with the API's own error message.
async function api(method, path, body) {
  const res = await fetch(path, {
    method, cache: 'no-store', credentials: 'same-origin',
    headers: headers('application/json', body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) { refused(); throw new Refused('the local plane needs its token'); }
  const text = await res.text();
  let data = text;
  try { data = text ? JSON.parse(text) : null; } catch { /* plain text */ }
  if (!res.ok) throw new Error((data && data.error && data.error.message) || `${res.status} ${res.statusText}`);
  return data;
}

// stream reads the server-sent events at path (with fetch: EventSource
// cannot send the token) and calls onEvent(data) for each. After a dropped
// connection it reconnects, resuming with Last-Event-ID; a stream the
// server ends (ends: true) is complete. It returns a function that stops it.
function stream(path, onEvent, { ends = false, onState = () => {} } = {}) {
  const ctl = new AbortController();
  let lastID = null;
  let delay = 250;
  (async () => {
    while (!ctl.signal.aborted) {
      try {
        const h = headers('text/event-stream', false);
        if (lastID !== null) h['Last-Event-ID'] = lastID;
        const res = await fetch(path, { headers: h, signal: ctl.signal, cache: 'no-store' });
        if (res.status === 401) { refused(); return; }
        if (!res.ok) { onState('gone'); return; }
        onState('open');
        delay = 250;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '', data = [], id = null;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
            const line = buf.slice(0, nl).replace(/\r$/, '');
            buf = buf.slice(nl + 1);
            if (line === '') {
              if (id !== null) lastID = id;
              // An event the page cannot handle is a bug to report, not a
              // reason to reconnect.
              if (data.length) try { onEvent(data.join('\n')); } catch (e) { console.error('event', path, e); }
              data = []; id = null;
            } else if (!line.startsWith(':')) {
              const c = line.indexOf(':');
              const field = c < 0 ? line : line.slice(0, c);
              const v = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
              if (field === 'data') data.push(v); else if (field === 'id') id = v;
            }
          }
        }
        if (ends) { onState('ended'); return; }
      } catch {
        if (ctl.signal.aborted) return;
      }
      onState('reconnecting');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  })();
  return () => ctl.abort();
}

// ---- The token ------------------------------------------------------------

let onToken = () => {};

function refused() {
  $('refused').hidden = false;
  $('live').textContent = 'refused: the token is missing or wrong';
  if (!$('token-dialog').open) $('token-dialog').showModal();
}

$('token-form').addEventListener('submit', () => {
  token = $('token-input').value.trim();
  sessionStorage.setItem(TOKEN_KEY, token);
  $('token-input').value = '';
  $('refused').hidden = true;
  onToken();
});
$('token-cancel').addEventListener('click', () => $('token-dialog').close());
$('refused-retry').addEventListener('click', () => $('token-dialog').showModal());

// ---- Formatting -----------------------------------------------------------

const SIGNALS = { 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 15: 'SIGTERM' };

function duration(ms) {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.floor(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

const clock = (t) => new Date(t).toLocaleTimeString(undefined, { hour12: false }) + '.' + String(new Date(t).getMilliseconds()).padStart(3, '0');
const lastState = (b) => b.statuses[b.statuses.length - 1];

// ending says how a terminated backend ended: the reason, and the exit code
// or signal (a process killed by signal N exits with 128+N). The end is
// abnormal (bad) when the backend failed to start, timed out, or exited
// non-zero by itself; the plane's own SIGTERM or SIGKILL is not. One that
// never ran ends, as on Plane, with no reason and no exit code.
function ending(b) {
  const st = lastState(b);
  if (st.status !== 'terminated') return { text: '', bad: false };
  const reason = st.termination_reason || '';
  const code = st.exit_code;
  if (!reason && (code === undefined || code === null)) return { text: 'failed to start', bad: true };
  const parts = reason ? [reason] : [];
  let bad = reason === 'internalerror' || reason === 'startuptimeout';
  if (code !== undefined && code !== null && code !== 0) {
    const sig = code - 128;
    parts.push(sig > 0 && sig < 65 ? `signal ${sig}${SIGNALS[sig] ? ' (' + SIGNALS[sig] + ')' : ''}` : `exit code ${code}`);
    if (!(reason && (sig === 9 || sig === 15))) bad = true;
  }
  return { text: parts.join(', '), bad };
}

// runnerText says what runs a backend: its image, or the plane's runner.
function runnerText(b) {
  if (b.image) return 'image ' + (b.image.startsWith('sha256:') ? b.image.slice(7, 19) : b.image);
  return b.runner + (b.pid ? ` (pid ${b.pid})` : '');
}

function statusBadge(status, node = el('span')) {
  node.className = 'status s-' + status;
  node.textContent = status;
  return node;
}

// ---- Backends list ----------------------------------------------------------

const rows = new Map(); // id -> { b, tr, cells }
const tbody = document.querySelector('#backends tbody');
window.consoleStats = { renders: [] };

// rowTemplate is one row of the list; newRow clones it (faster than
// building each cell).
const rowTemplate = (() => {
  const tr = el('tr');
  for (const name of ['status', 'id', 'key', 'user', 'age', 'runner', 'end']) {
    tr.appendChild(el('td', 'c-' + name + (name === 'user' || name === 'runner' ? ' opt' : '')));
  }
  tr.children[0].appendChild(el('span'));
  tr.children[1].appendChild(el('a'));
  return tr;
})();

function newRow(b) {
  const tr = rowTemplate.cloneNode(true);
  tr.dataset.id = b.id;
  const [status, id, key, user, age, runner, end] = tr.children;
  const cells = { status, id, key, user, age, runner, end, badge: status.firstChild };
  id.firstChild.href = '#/b/' + enc(b.id);
  id.firstChild.textContent = b.id;
  const r = { b, tr, cells };
  fillRow(r, b);
  return r;
}

function fillRow(r, b) {
  r.b = b;
  const st = lastState(b);
  statusBadge(st.status, r.cells.badge);
  r.cells.key.textContent = b.key;
  r.cells.key.title = b.key;
  r.cells.user.textContent = b.user || '';
  r.cells.runner.textContent = r.cells.runner.title = runnerText(b);
  r.cells.age.textContent = duration(Date.now() - Date.parse(b.created_at));
  const end = ending(b);
  r.cells.end.textContent = r.cells.end.title = end.text;
  r.cells.end.classList.toggle('bad', end.bad);
  r.tr.dataset.status = st.status;
}

// filters reads the filter form once per pass over the rows.
function filters() {
  return { status: $('f-status').value, key: $('f-key').value.trim().toLowerCase() };
}

function matches(r, f) {
  const st = r.tr.dataset.status;
  if (f.status === 'live' && st === 'terminated') return false;
  if (f.status && f.status !== 'live' && st !== f.status) return false;
  return !f.key || r.b.key.toLowerCase().includes(f.key);
}

function applyFilters() {
  const f = filters();
  for (const r of rows.values()) r.tr.hidden = !matches(r, f);
  showCount();
}

function showCount() {
  let shown = 0;
  for (const r of rows.values()) if (!r.tr.hidden) shown++;
  $('list-count').textContent = rows.size === shown ? `(${rows.size})` : `(${shown} of ${rows.size})`;
  $('list-empty').hidden = rows.size > 0;
}

// measure records how long a list render took, including style and layout.
function measure(what, start) {
  void tbody.offsetHeight;
  const ms = performance.now() - start;
  window.consoleStats.renders.push({ what, rows: rows.size, ms });
  requestAnimationFrame(() => { window.consoleStats.lastFrame = { what, rows: rows.size, ms: performance.now() - start }; });
}

function resetList(backends) {
  const start = performance.now();
  rows.clear();
  const frag = document.createDocumentFragment();
  for (const b of backends) { // newest first, as the server sends them
    const r = newRow(b);
    rows.set(b.id, r);
    frag.append(r.tr);
  }
  tbody.replaceChildren(frag);
  applyFilters();
  measure('reset', start);
}

function upsert(b) {
  let r = rows.get(b.id);
  if (r) {
    fillRow(r, b);
  } else {
    r = newRow(b);
    rows.set(b.id, r);
    // Newest first: before the first row created earlier (usually the top).
    const created = Date.parse(b.created_at);
    let before = null;
    for (const tr of tbody.children) {
      if (Date.parse(rows.get(tr.dataset.id).b.created_at) < created) { before = tr; break; }
    }
    tbody.insertBefore(r.tr, before);
  }
  r.tr.hidden = !matches(r, filters());
  showCount();
  if (detail && detail.id === b.id) showState(b);
}

function forget(id) {
  const r = rows.get(id);
  if (!r) return;
  r.tr.remove();
  rows.delete(id);
  showCount();
}

$('f-status').addEventListener('change', () => { const t = performance.now(); applyFilters(); measure('filter', t); });
$('f-key').addEventListener('input', () => { const t = performance.now(); applyFilters(); measure('filter', t); });
$('filters').addEventListener('submit', (e) => e.preventDefault());
setInterval(() => { // ages only: no request
  const now = Date.now();
  for (const r of rows.values()) if (!r.tr.hidden) r.cells.age.textContent = duration(now - Date.parse(r.b.created_at));
}, 1000);

let stopList = () => {};

// showPool shows the warm pool's counts (none: no pool).
function showPool(pool) {
  const p = $('pool-info');
  p.hidden = !pool;
  if (!pool) return;
  p.textContent = pool.off ? `Warm pool off: ${pool.off}` :
    `Warm pool: ${pool.ready} ready, ${pool.warming} warming (of ${pool.size})`;
}

function startList() {
  stopList();
  stopList = stream('console/events', (data) => {
    const ev = JSON.parse(data);
    if (ev.type === 'reset') resetList(ev.backends || []);
    else if (ev.type === 'backend') upsert(ev.backend);
    else if (ev.type === 'forgotten') forget(ev.id);
    if (ev.type === 'reset' || ev.type === 'pool') showPool(ev.pool);
    if (ev.type === 'reset' && detail) { const r = rows.get(detail.id); if (r) showState(r.b); }
  }, {
    onState: (s) => { $('live').textContent = s === 'open' ? 'live' : s === 'reconnecting' ? 'reconnecting…' : s; },
  });
}

// ---- The image of a container plane ------------------------------------------

let stopBuild = () => {};

function startBuild() {
  stopBuild();
  let lines = 0;
  stopBuild = stream('console/build', (data) => {
    const ev = JSON.parse(data);
    if (ev.type === 'build' || ev.type === 'state') {
      const state = $('img-state');
      state.textContent = ev.hold ? 'Not spawning: ' + ev.hold : ev.image ? 'Backends run ' + ev.image : 'No image yet';
      state.classList.toggle('bad', ev.hold !== '');
      $('img-rebuild').hidden = !ev.rebuild;
    }
    if (ev.type === 'build') { $('img-log').replaceChildren(); $('img-msg').textContent = ''; lines = 0; }
    for (const line of ev.lines || []) { $('img-log').append(line + '\n'); lines++; }
    $('img-log-count').textContent = ev.build ? `(build ${ev.build}, ${lines} lines)` : '(no build yet)';
    $('img-log').scrollTop = $('img-log').scrollHeight;
  });
}

$('img-rebuild').addEventListener('click', async () => {
  $('img-msg').textContent = 'Rebuild asked for…';
  try { await api('POST', 'console/build/rebuild', {}); } catch (e) { $('img-msg').textContent = 'Rebuild: ' + e.message; }
});

// ---- One backend ------------------------------------------------------------

let detail = null; // { id, stops, paused, pending, lines, cpu, mem }

function stopDetail() {
  if (!detail) return;
  for (const stop of detail.stops) stop();
  detail = null;
}

async function showBackend(id) {
  stopDetail();
  detail = { id, stops: [], paused: false, pending: [], lines: 0, cpu: [], mem: [] };
  const d = detail;
  $('b-id').textContent = id;
  $('b-status').textContent = '';
  $('b-summary').textContent = '';
  $('b-msg').textContent = '';
  $('b-timeline').replaceChildren();
  $('b-steps').replaceChildren();
  $('b-startup').textContent = '';
  $('log').replaceChildren();
  $('log-count').textContent = '';
  $('b-spawn').textContent = '';
  $('b-auth').textContent = '';
  $('log-pause').setAttribute('aria-pressed', 'false');
  $('log-pause').textContent = 'Pause';
  for (const c of ['cpu', 'mem']) { $(c + '-chart').dataset.points = '0'; drawChart($(c + '-chart'), [], String); }
  $('cpu-cap').textContent = 'CPU: no sample yet';
  $('mem-cap').textContent = 'Memory: no sample yet';
  const known = rows.get(id);
  if (known) showState(known.b);
  let info;
  try {
    info = await api('GET', 'console/backends/' + enc(id));
  } catch (e) {
    if (detail === d) $('b-msg').textContent = e.message;
    return;
  }
  if (detail !== d) return;
  showState(info);
  $('b-status-url').href = info.status_url;
  $('b-status-url').textContent = 'Status URL: ' + info.status_url;
  $('b-spawn').textContent = JSON.stringify(info.spawn, null, 2);
  $('b-auth').textContent = JSON.stringify({ user: info.user || null, auth: info.auth }, null, 2);
  d.stops.push(stream(`console/backends/${enc(id)}/logs`, (data) => addLog(d, JSON.parse(data)), { ends: true }));
  d.stops.push(stream(`v2/backend/${enc(id)}/metrics/stream`, (data) => addMetric(d, JSON.parse(data)), { ends: true }));
}

function showState(b) {
  const st = lastState(b);
  statusBadge(st.status, $('b-status'));
  const where = b.account ? `${b.account}/${b.service}/${b.environment}` : 'Plane controller';
  $('b-summary').textContent = `key ${b.key} · ${where} · ${runnerText(b)} · created ${new Date(b.created_at).toLocaleString()}`;
  const start = Date.parse(b.statuses[0].time);
  const items = b.statuses.map((s, i) => {
    const li = el('li');
    li.append(statusBadge(s.status));
    const t = li.appendChild(el('time', '', clock(s.time)));
    t.dateTime = s.time;
    const at = Date.parse(s.time);
    li.append(i === 0 ? 'start' : `+${duration(at - Date.parse(b.statuses[i - 1].time))} (${duration(at - start)} in)`);
    const extra = [s.termination_reason, s.termination_kind].filter(Boolean);
    if (s.exit_code !== undefined && s.exit_code !== null) extra.push('exit code ' + s.exit_code);
    if (s.status === 'terminated') { const e = ending(b); if (e.bad) li.classList.add('bad'); }
    if (extra.length) li.append(' — ' + extra.join(', '));
    return li;
  });
  $('b-timeline').replaceChildren(...items);
  showSteps(b);
  const ended = st.status === 'terminated';
  $('b-open').disabled = ended;
  $('b-soft').disabled = ended || st.status === 'terminating' || st.status === 'hard-terminating';
  $('b-hard').disabled = ended || st.status === 'hard-terminating';
}

// The steps of a backend's start, named as the plane's trace names them
// (localplane.backend.start's status events; the runner's start and the
// readiness probe are spans of their own): each lasts from its status to
// the next one in the history. The longest is marked.
const STEPS = {
  scheduled: 'scheduled',
  loading: 'loading',
  starting: 'starting: the runner starts it',
  waiting: 'waiting: the readiness probe',
};

function showSteps(b) {
  const steps = [];
  for (let i = 0; i + 1 < b.statuses.length && STEPS[b.statuses[i].status]; i++) {
    steps.push({ status: b.statuses[i].status, ms: Date.parse(b.statuses[i + 1].time) - Date.parse(b.statuses[i].time) });
  }
  const total = steps.reduce((sum, s) => sum + s.ms, 0);
  const longest = steps.reduce((max, s) => (s.ms > max.ms ? s : max), { ms: -1 });
  $('b-steps').replaceChildren(...steps.map((s) => {
    const li = el('li');
    li.dataset.status = s.status;
    const bar = el('meter');
    bar.min = 0; bar.max = Math.max(total, 1); bar.value = s.ms;
    li.append(STEPS[s.status], bar, duration(s.ms));
    if (s === longest && steps.length > 1) { li.classList.add('slow'); li.append(' (longest)'); }
    return li;
  }));
  const ready = b.statuses.find((s) => s.status === 'ready');
  $('b-startup').textContent = ready ? `(ready in ${duration(Date.parse(ready.time) - Date.parse(b.statuses[0].time))})` : '';
}

const MAX_LOG_LINES = 2000;

function addLog(d, line) {
  if (detail !== d) return;
  if (d.paused) {
    d.pending.push(line);
    $('log-pause').textContent = `Resume (${d.pending.length} new)`;
    return;
  }
  const log = $('log');
  const div = el('div', line.stream === 'stderr' ? 'stderr' : 'stdout', line.text);
  const q = $('log-search').value.toLowerCase();
  div.hidden = q !== '' && !line.text.toLowerCase().includes(q);
  log.append(div);
  d.lines++;
  if (log.childElementCount > MAX_LOG_LINES) log.firstElementChild.remove();
  $('log-count').textContent = `(${d.lines} lines)`;
  if ($('log-follow').checked) log.scrollTop = log.scrollHeight;
}

$('log-search').addEventListener('input', () => {
  const q = $('log-search').value.toLowerCase();
  for (const div of $('log').children) div.hidden = q !== '' && !div.textContent.toLowerCase().includes(q);
});
$('log-pause').addEventListener('click', () => {
  if (!detail) return;
  const d = detail;
  d.paused = !d.paused;
  $('log-pause').setAttribute('aria-pressed', String(d.paused));
  $('log-pause').textContent = d.paused ? 'Resume' : 'Pause';
  if (!d.paused) for (const line of d.pending.splice(0)) addLog(d, line);
});

const WINDOW_MS = 5 * 60 * 1000;

function addMetric(d, m) {
  if (detail !== d) return;
  const t = Date.now();
  for (const series of [d.cpu, d.mem]) while (series.length && series[0].t < t - WINDOW_MS) series.shift();
  const cpu = m.sys_cpu > 0 ? (100 * m.cpu_used) / m.sys_cpu : 0;
  d.cpu.push({ t, v: cpu });
  d.mem.push({ t, v: m.mem_used });
  const pct = (v) => v.toFixed(1) + ' %';
  const mib = (v) => (v / 1048576).toFixed(1) + ' MiB';
  $('cpu-cap').textContent = `CPU: ${pct(cpu)} of the machine`;
  $('mem-cap').textContent = `Memory: ${mib(m.mem_used)} resident`;
  drawChart($('cpu-chart'), d.cpu, pct);
  drawChart($('mem-chart'), d.mem, mib);
}

// drawChart draws points ({t, v}) of the last five minutes as a line, with
// the scale's top value written in the corner.
function drawChart(canvas, points, format) {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 300, h = canvas.clientHeight || 90;
  canvas.width = w * ratio;
  canvas.height = h * ratio;
  const g = canvas.getContext('2d');
  g.scale(ratio, ratio);
  g.clearRect(0, 0, w, h);
  canvas.dataset.points = String(points.length);
  if (!points.length) return;
  const top = Math.max(...points.map((p) => p.v)) * 1.2 || 1;
  const now = points[points.length - 1].t;
  // The time axis spans the samples so far, up to the last five minutes.
  const span = Math.min(WINDOW_MS, Math.max(now - points[0].t, 5000));
  const x = (p) => w - 6 - ((now - p.t) / span) * (w - 12);
  const y = (p) => h - 4 - (p.v / top) * (h - 20);
  g.strokeStyle = '#d6d6d0';
  g.beginPath(); g.moveTo(0, 16); g.lineTo(w, 16); g.stroke();
  g.fillStyle = '#5d5d58';
  g.font = '11px system-ui, sans-serif';
  g.fillText(format(top), 4, 12);
  g.fillText('last ' + duration(span), w - 70, 12);
  g.strokeStyle = '#1f5fbf';
  g.lineWidth = 2;
  g.beginPath();
  points.forEach((p, i) => (i ? g.lineTo(x(p), y(p)) : g.moveTo(x(p), y(p))));
  g.stroke();
  const last = points[points.length - 1];
  g.fillStyle = '#1f5fbf';
  g.beginPath(); g.arc(x(last), y(last), 3, 0, 2 * Math.PI); g.fill();
}

async function act(what, fn) {
  $('b-msg').textContent = what + '…';
  try { await fn(); $('b-msg').textContent = what + ': asked'; } catch (e) { $('b-msg').textContent = `${what}: ${e.message}`; }
}

$('b-soft').addEventListener('click', () => act('Terminate', () => api('POST', `v2/backend/${enc(detail.id)}/terminate`, { hard: false })));
$('b-hard').addEventListener('click', () => act('Hard terminate', () => api('POST', `v2/backend/${enc(detail.id)}/terminate`, { hard: true })));
$('b-open').addEventListener('click', () => {
  // Open the tab now, while the click counts as a user gesture; point it at
  // the console's own connection once it is minted.
  const tab = window.open('about:blank', '_blank');
  act('Open', async () => {
    try {
      const { url } = await api('POST', `console/backends/${enc(detail.id)}/open`, {});
      if (!tab) throw new Error('the browser blocked the new tab');
      tab.opener = null;
      tab.location.replace(url);
    } catch (e) {
      if (tab) tab.close();
      throw e;
    }
  });
});

// ---- Connect ----------------------------------------------------------------

const form = $('connect-form');

// check shows whether a field holds what it should; it returns the value
// (or undefined when empty) and throws when invalid.
function check(field, msg, parse) {
  const text = field.value.trim();
  let value, error = '';
  try { value = text ? parse(text) : undefined; } catch (e) { error = e.message; }
  field.setAttribute('aria-invalid', String(error !== ''));
  msg.textContent = error || (text ? 'valid' : '');
  msg.classList.toggle('bad', error !== '');
  if (error) throw new Error(error);
  return value;
}

function parseAuth(text) {
  let v;
  try { v = JSON.parse(text); } catch (e) { throw new Error('not JSON: ' + e.message); }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('auth must be a JSON object');
  return v;
}

function parseEnv(text) {
  const env = {};
  for (const [i, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`line ${i + 1}: write NAME=value`);
    env[line.slice(0, eq).trim()] = line.slice(eq + 1);
  }
  return env;
}

const authCheck = () => check(form.auth, $('c-auth-msg'), parseAuth);
const envCheck = () => check(form.env, $('c-env-msg'), parseEnv);
form.auth.addEventListener('input', () => { try { authCheck(); } catch { /* shown */ } });
form.env.addEventListener('input', () => { try { envCheck(); } catch { /* shown */ } });

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const msg = $('c-msg');
  let body;
  try {
    const auth = authCheck(), env = envCheck();
    body = {};
    if (form.key.value) body.key = form.key.value;
    if (form.user.value) body.user = form.user.value;
    if (auth) body.auth = auth;
    if (form.nospawn.checked) {
      if (!body.key) throw new Error('Do not spawn needs a key');
      body.spawn = false;
    } else {
      const spawn = {};
      if (form.idle.value) spawn.max_idle_seconds = Number(form.idle.value);
      if (form.lifetime.value) spawn.lifetime_limit_seconds = Number(form.lifetime.value);
      if (env) spawn.executable = { env };
      if (Object.keys(spawn).length) body.spawn = spawn;
    }
  } catch (err) {
    msg.textContent = err.message;
    return;
  }
  const envName = form.environment.value.trim();
  const path = `v2/service/${enc(form.account.value)}/${enc(form.service.value)}/${envName ? enc(envName) + '/' : ''}connect`;
  msg.textContent = 'Connecting…';
  try {
    showConnectResult(await api('POST', path, body));
    msg.textContent = 'Connected.';
  } catch (err) {
    msg.textContent = 'Connect failed: ' + err.message;
  }
});

const SECRET_FIELDS = new Set(['token', 'secret_token', 'url']);

function showConnectResult(res) {
  const dl = $('connect-fields');
  dl.replaceChildren();
  for (const [name, value] of Object.entries(res)) {
    if (value === null || value === '') continue;
    dl.append(el('dt', '', name));
    const dd = dl.appendChild(el('dd'));
    if (!SECRET_FIELDS.has(name)) { dd.textContent = String(value); continue; }
    dd.append(el('span', 'muted', '•••••••• (hidden) '));
    const copy = dd.appendChild(el('button', '', 'Copy'));
    copy.type = 'button';
    copy.setAttribute('aria-label', 'Copy ' + name);
    copy.addEventListener('click', async () => {
      try { await navigator.clipboard.writeText(String(value)); copy.textContent = 'Copied'; } catch { copy.textContent = 'Copy failed'; }
    });
  }
  $('connect-backend').href = '#/b/' + enc(res.backend_id);
  $('connect-backend').textContent = 'Show backend ' + res.backend_id;
  $('connect-result').hidden = false;
}

// ---- Pages ------------------------------------------------------------------

function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const m = hash.match(/^\/b\/(.+)$/);
  const page = m ? 'backend' : hash === '/connect' ? 'connect' : 'list';
  for (const p of ['list', 'backend', 'connect']) $('view-' + p).hidden = p !== page;
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === page) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  document.title = (page === 'backend' ? 'Backend ' + decodeURIComponent(m[1]) : page === 'connect' ? 'Connect' : 'Backends') + ' · local plane';
  if (page === 'backend') showBackend(decodeURIComponent(m[1])); else stopDetail();
}

async function start() {
  let info;
  try {
    info = await api('GET', 'console/info');
    $('plane-info').textContent = `API ${info.api_url} · proxy ${info.proxy_url} · runs ${info.runner}` +
      (info.hold ? ` · not spawning: ${info.hold}` : '');
  } catch {
    return; // refused: the token dialog is open
  }
  $('image-panel').hidden = !info.container;
  if (info.container) startBuild();
  startList();
  route();
}

onToken = start;
window.addEventListener('hashchange', () => { route(); $('main').focus({ preventScroll: true }); });
start();
