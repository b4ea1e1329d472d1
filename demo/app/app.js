// The demo page: an ordinary app that knows only window.isogate. On load it
// greets, starts listening, lists its notes and runs the attack panel.
const $ = (id) => document.getElementById(id);
const outcome = (p) => p.then((v) => ({ ok: true, v }), (e) => ({ ok: false, code: e.code, message: e.message }));

async function greet(name) {
  const out = $('greet-out');
  const r = await outcome(isogate.invoke('demo.greet', { name }));
  out.textContent = r.ok ? r.v.greeting : `${r.code}: ${r.message}`;
  out.className = 'big ' + (r.ok ? 'ok' : 'blocked');
}

async function listNotes() {
  const r = await outcome(isogate.invoke('demo.notes.list', {}));
  const ul = $('notes');
  ul.replaceChildren();
  for (const name of r.ok ? r.v : []) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'link';
    b.textContent = name;
    b.onclick = async () => {
      const n = await outcome(isogate.invoke('demo.notes.read', { path: name }));
      $('note-name').value = name;
      $('note-text').value = n.ok ? n.v : '';
    };
    li.append(b);
    ul.append(li);
  }
}

// Each attack resolves to {blocked, code}: what stopped it.
const attacks = [
  ['Forge a frame to the core without the key', async () => {
    const iso = new URL(document.querySelector('iframe[sandbox]').src);
    const r = await new Promise((resolve) => {
      const ws = new WebSocket(`ws://${iso.host}/ws?s=${'ab'.repeat(16)}&a=${'A'.repeat(43)}`);
      ws.binaryType = 'arraybuffer';
      ws.onopen = () => { ws.send(crypto.getRandomValues(new Uint8Array(64))); resolve('open'); };
      ws.onerror = () => resolve('refused');
    });
    return { blocked: r === 'refused', code: 'refused at the handshake' };
  }],
  ['Forge a reply to the page', async () => {
    const real = isogate.invoke('demo.greet', { name: 'Mallory' });
    for (let id = 1; id < 200; id++) window.postMessage({ type: 'reply', id, ok: true, result: { greeting: 'forged' } }, '*');
    const r = await real;
    return { blocked: r.greeting === 'Hello, Mallory!', code: 'ignored: not from the iframe' };
  }],
  ['Post a request straight to the isolation iframe', async () => {
    // Only the bridge holds the channel the iframe listens on: a request
    // posted to the iframe's window is ignored. Checked by its side effect:
    // the note it asks for must not exist afterwards.
    const frame = document.querySelector('iframe[sandbox]').contentWindow;
    const path = `bypass-${Math.floor(Math.random() * 1e9)}.txt`;
    frame.postMessage({ type: 'invoke', id: 900001, kind: 'command', name: 'demo.notes.write', args: { path, text: 'written around the bridge' } }, '*');
    await new Promise((r) => setTimeout(r, 500));
    const notes = await isogate.invoke('demo.notes.list', {});
    const written = notes.includes(path);
    return { blocked: !written, code: written ? 'the note was written!' : 'ignored: not on the bridge\'s channel' };
  }],
  ['Read outside the notes folder', () => expectCode(isogate.invoke('demo.notes.read', { path: '../../../etc/passwd' }))],
  ['Call a command that does not exist', () => expectCode(isogate.invoke('fs.readFile', { path: '/etc/passwd' }))],
  ['Break the schema', () => expectCode(isogate.invoke('demo.greet', { name: 42, admin: true }))],
  ['Call a command the policy denies', () => expectCode(isogate.invoke('demo.secret', {}))],
  ['Smuggle markup past the isolation hook', () => expectCode(isogate.invoke('demo.greet', { name: '<img src=x onerror=alert(1)>' }))],
  ['Listen to an event the policy does not allow', () => expectCode(isogate.listen('demo.secret', () => {}))],
];

async function expectCode(p) {
  const r = await outcome(p);
  return { blocked: !r.ok, code: r.ok ? 'got through!' : r.code };
}

async function runAttacks() {
  const body = document.querySelector('#attacks tbody');
  body.replaceChildren();
  for (const [label, attack] of attacks) {
    const tr = document.createElement('tr');
    const td1 = document.createElement('td');
    const td2 = document.createElement('td');
    td1.textContent = label;
    td2.textContent = '…';
    tr.append(td1, td2);
    body.append(tr);
    let r;
    try { r = await attack(); } catch (e) { r = { blocked: false, code: String(e) }; }
    td2.textContent = (r.blocked ? 'blocked · ' : 'NOT BLOCKED · ') + r.code;
    td2.className = r.blocked ? 'pill blocked' : 'pill bad';
  }
}

// The app's own HTTP API: plain fetch, gated by the bridge and the policy.
// A refusal comes back as an HTTP response (403 with a problem+json body).
async function callAPI(method, path) {
  const r = await fetch(path, { method });
  const body = await r.text();
  let detail = body;
  try { const p = JSON.parse(body); detail = p.reasons ? p.reasons.join('; ') : p.detail || body; } catch {}
  const code = r.headers.get('x-isogate-code');
  $('api-out').textContent = `${method} ${path} → ${r.status}${code ? ` (${code})` : ''}: ${detail}`;
  $('api-out').className = r.ok ? 'ok' : 'blocked';
}

$('api-get').addEventListener('click', () => callAPI('GET', '/api/status'));
$('api-delete').addEventListener('click', () => callAPI('DELETE', '/api/notes/todo.txt'));
$('greet-form').addEventListener('submit', (ev) => { ev.preventDefault(); greet($('greet-name').value); });
$('click-btn').addEventListener('click', () => isogate.emit('demo.clicked', { button: 'demo' }));
$('attack-btn').addEventListener('click', runAttacks);
$('note-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const r = await outcome(isogate.invoke('demo.notes.write', { path: $('note-name').value, text: $('note-text').value }));
  $('note-out').textContent = r.ok ? 'saved' : `${r.code}: ${r.message}`;
  $('note-out').className = r.ok ? 'ok' : 'blocked';
  listNotes();
});

isogate.ready.then(async () => {
  $('status').textContent = 'connected through the isolation iframe';
  $('status').classList.add('on');
  await greet('world');
  await isogate.listen('demo.tick', (e) => { $('tick-n').textContent = e.payload.n; });
  await isogate.listen('demo.clicks', (e) => { $('click-n').textContent = e.payload.count; });
  await listNotes();
  await runAttacks();
});
