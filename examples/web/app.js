// The live gateway page: the browser build of @openclaw-ipc/ws (GatewayClient, WebDeviceIdentity)
// showing agents with their sessions (the merged sync), presence, events as they arrive, the
// connection state and reconnects. Served by `openclaw-ipc gateway <ws-url> web`, which puts
// the gateway URL (and the token, if it was given one) in the page's #config element.
import { GatewayClient } from '@openclaw-ipc/ws';

const $ = (id) => document.getElementById(id);
const config = JSON.parse($('config').textContent);
const MAX_EVENTS = 50;
let client;
let reconnects = 0;

function item(text, attrs = {}) {
  const li = document.createElement('li');
  li.textContent = text;
  for (const [k, v] of Object.entries(attrs)) li.setAttribute(k, v);
  return li;
}

function showState(state, error) {
  const el = $('state');
  el.textContent = state;
  el.dataset.state = state;
  if (state === 'reconnecting') $('reconnects').textContent = String(++reconnects);
  $('error').hidden = !error;
  $('error').textContent = error ? `${error.code}: ${error.message}` : '';
}

function showPresence(entries) {
  const list = $('presence');
  list.replaceChildren();
  for (const p of Array.isArray(entries) ? entries : []) {
    const who = p.host ?? p.instanceId ?? p.deviceId ?? 'unknown';
    const what = [p.mode, p.platform, p.version].filter(Boolean).join(' · ');
    list.append(item(what ? `${who} — ${what}` : who, { 'data-presence': who }));
  }
}

async function sync() {
  const snapshot = await client.sync();
  const list = $('agents');
  list.replaceChildren();
  for (const agent of snapshot.agents) {
    const li = item(agent.name ? `${agent.id} (${agent.name})` : agent.id, { 'data-agent-id': agent.id });
    if (agent.id === snapshot.defaultId) li.append(' ★');
    const sessions = document.createElement('ul');
    for (const s of agent.sessions)
      sessions.append(item(s.key ?? s.sessionId ?? '?', { 'data-session': s.key ?? '' }));
    if (agent.sessions.length === 0) sessions.append(item('no sessions', { class: 'muted' }));
    li.append(sessions);
    list.append(li);
  }
  $('sessions-total').textContent =
    `${snapshot.totalSessions} session(s)${snapshot.moreSessions ? ', more not shown' : ''}`;
}

function logEvent(frame) {
  const list = $('events');
  const time = new Date().toLocaleTimeString();
  const seq = typeof frame.seq === 'number' ? ` #${frame.seq}` : '';
  list.prepend(item(`${time} ${frame.event}${seq}`, { 'data-event': frame.event }));
  while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
  if (frame.event === 'presence') showPresence(frame.payload?.presence ?? frame.payload);
}

async function connect(token) {
  $('login').hidden = true;
  client = new GatewayClient({
    url: config.url,
    token,
    // A page gets scopes only with a paired device; the gateway pairs one silently on loopback
    // for its Control UI. The key stays in this browser's IndexedDB, non-extractable.
    device: { keyName: 'openclaw-ipc-web' },
    client: { id: 'openclaw-control-ui', mode: 'ui', displayName: 'openclaw-ipc web' },
    connectTimeout: 60_000,
  });
  client.onState((state, error) => showState(state, error));
  client.onEventFrame(logEvent);
  client.onHello((hello) => {
    $('protocol').textContent = String(hello.protocol);
    $('conn').textContent = hello.server.connId;
    showPresence(hello.snapshot?.presence);
    sync().catch((e) => showState(client.state, e));
  });
  client.onGap(() => sync().catch(() => {}));
  showState('connecting');
  try {
    await client.start();
  } catch (error) {
    showState('closed', error);
    if (error.code === 'AUTH' && !config.token) $('login').hidden = false;
  }
}

$('gateway').textContent = config.url;
$('refresh').addEventListener('click', () => sync().catch((e) => showState(client.state, e)));
$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  connect($('token').value);
});
if (config.token) connect(config.token);
else $('login').hidden = false;
window.gatewayPage = {
  get client() {
    return client;
  },
};
