// The dashboard: polls the admin API with the token given at sign-in (kept for this tab only)
// and draws the last five minutes of message rates. No framework, no build step.
'use strict';

const POINTS = 300; // one a second: five minutes
const history = { in: [], out: [] };
let last = null;
let token = sessionStorage.getItem('skynet-admin-token');
const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  const res = await fetch(`api/v1/${path}`, { ...options, headers: { authorization: `Bearer ${token}` } });
  const body = await res.json();
  if (!res.ok) throw Object.assign(new Error(body.error || res.statusText), { status: res.status });
  return body;
}

function number(n) {
  return n === null || n === undefined ? '–' : Number(n).toLocaleString('en');
}

function setText(id, text) {
  $(id).textContent = text;
}

function drawChart() {
  const max = Math.max(1, ...history.in, ...history.out);
  // The time axis spans at least a minute, up to five as the history fills.
  const span = Math.max(60, history.in.length);
  const line = (values) => values.map((v, i) => `${(600 * (span - values.length + i)) / (span - 1)},${160 - (150 * v) / max}`).join(' ');
  $('line-in').setAttribute('points', line(history.in));
  $('line-out').setAttribute('points', line(history.out));
  setText('chart-max', number(Math.round(max)));
}

function showStats(stats) {
  setText('broker', `broker ${stats.brokerId} (this instance), up ${number(stats.uptimeSeconds)} s`);
  setText('connections', number(stats.connections));
  setText('received-total', number(stats.received));
  setText('sent-total', number(stats.sent));
  setText('dropped', number(stats.dropped));
  setText('dropped-by', Object.entries(stats.droppedBy).filter(([, n]) => n > 0).map(([r, n]) => `${r} ${number(n)}`).join(', '));
  setText('retained', number(stats.retained));
  const backends = $('backends');
  backends.replaceChildren(
    ...stats.backends.map((b) => {
      const li = document.createElement('li');
      li.className = b.up ? 'up' : 'down';
      li.dataset.backend = b.role;
      const latency = b.latency === null ? '' : ` ${(b.latency * 1000).toFixed(1)} ms`;
      li.textContent = `${b.role} ${b.kind}: ${b.up ? 'up' : 'DOWN'}${latency}`;
      if (b.error) li.title = b.error;
      return li;
    }),
  );
  if (last) {
    const seconds = Math.max(0.001, (Date.parse(stats.time) - Date.parse(last.time)) / 1000);
    const rateIn = (stats.received - last.received) / seconds;
    const rateOut = (stats.sent - last.sent) / seconds;
    history.in.push(rateIn);
    history.out.push(rateOut);
    if (history.in.length > POINTS) history.in.shift();
    if (history.out.length > POINTS) history.out.shift();
    setText('rate-in', number(Math.round(rateIn)));
    setText('rate-out', number(Math.round(rateOut)));
    drawChart();
  }
  last = stats;
}

function showClients(list) {
  setText('client-count', `${number(list.total)}${list.next ? ', first 200 shown' : ''}`);
  $('clients').tBodies[0].replaceChildren(
    ...list.clients.map((c) => {
      const row = document.createElement('tr');
      row.dataset.clientId = c.id;
      for (const value of [c.id, c.address, c.protocolVersion, new Date(c.connectedSince).toLocaleString(), c.subscriptions, c.queued, c.inflight]) {
        const cell = document.createElement('td');
        cell.textContent = String(value);
        row.append(cell);
      }
      const button = document.createElement('button');
      button.className = 'kick';
      button.dataset.clientId = c.id;
      button.textContent = 'kick';
      button.addEventListener('click', () => kick(c.id));
      const cell = document.createElement('td');
      cell.append(button);
      row.append(cell);
      return row;
    }),
  );
}

async function kick(id) {
  if (!confirm(`Disconnect ${id}?`)) return;
  try {
    await api(`clients/${encodeURIComponent(id)}`, { method: 'DELETE' });
  } catch (error) {
    alert(`could not disconnect ${id}: ${error.message}`);
  }
  refreshClients();
}

function failed(error) {
  if (error.status === 401 || error.status === 403 || error.status === 429) return signOut(error.message);
  $('status').className = 'status down';
  setText('status', `cannot reach the broker: ${error.message}`);
}

async function refreshStats() {
  try {
    showStats(await api('stats'));
    $('status').className = 'status';
    setText('status', '');
  } catch (error) {
    failed(error);
  }
}

async function refreshClients() {
  try {
    showClients(await api('clients?limit=200'));
  } catch (error) {
    failed(error);
  }
}

let timers = [];
function start() {
  $('login').hidden = true;
  $('board').hidden = false;
  refreshStats();
  refreshClients();
  timers = [setInterval(refreshStats, 1000), setInterval(refreshClients, 2000)];
}

function signOut(message) {
  timers.forEach(clearInterval);
  timers = [];
  sessionStorage.removeItem('skynet-admin-token');
  token = null;
  $('board').hidden = true;
  $('login').hidden = false;
  setText('login-error', message || '');
}

$('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  token = $('token').value;
  try {
    await api('stats');
    sessionStorage.setItem('skynet-admin-token', token);
    setText('login-error', '');
    start();
  } catch (error) {
    signOut(error.message);
  }
});

if (token) start();
