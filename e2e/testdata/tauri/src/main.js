// A Tauri v2 frontend written against the real @tauri-apps/api, as any
// Tauri app is: it knows nothing of isogate. The test bundles it with
// esbuild; it runs every call once and reports what it got, to the page
// (window.__result, for the Chromium test) and to the backend (the report
// command, for the WebKitGTK window, which no driver can read).
import { invoke, Channel, isTauri } from '@tauri-apps/api/core';
import { listen, once, emit, emitTo } from '@tauri-apps/api/event';
import { getCurrentWindow } from '@tauri-apps/api/window';
import { LogicalSize } from '@tauri-apps/api/dpi';
import { getName, getVersion, getTauriVersion, getIdentifier } from '@tauri-apps/api/app';
import { join, sep, basename, dirname, extname, normalize, isAbsolute, resolve, homeDir } from '@tauri-apps/api/path';

const settle = (p) => p.then((v) => ({ ok: v }), (e) => ({ err: e }));

async function run() {
  const out = {};
  out.isTauri = isTauri();
  out.inlineRan = !!window.inlineRan;
  out.label = getCurrentWindow().label;
  out.greet = await settle(invoke('greet', { name: 'Ada' }));
  out.upload = await settle(invoke('upload', new Uint8Array([1, 2, 3, 250]), { headers: { 'X-File-Name': 'a.bin' } }));
  out.bytes = await settle(invoke('bytes', { n: 5 }).then((r) => (r instanceof ArrayBuffer ? [...new Uint8Array(r)] : `not an ArrayBuffer: ${typeof r}`)));
  out.fail = await settle(invoke('fail'));
  out.denied = await settle(invoke('secret'));
  out.unknown = await settle(invoke('plugin:window|minimize', { label: 'main' }));
  out.window = await settle((async () => {
    const w = getCurrentWindow();
    await w.setTitle('Renamed by Tauri');
    await w.setSize(new LogicalSize(500, 400));
    const s = await w.innerSize();
    return [await w.title(), s.width, s.height, await w.scaleFactor()];
  })());
  out.otherWindow = await settle(invoke('plugin:window|set_title', { label: 'other', value: 'x' }));
  out.app = await settle(Promise.all([getName(), getVersion(), getTauriVersion(), getIdentifier()]));
  out.path = await settle(Promise.all([join('a', 'b', 'c.txt'), basename('/x/y.txt'), Promise.resolve(sep()),
    dirname('/x/y.txt'), extname('/x/y.txt'), normalize('/a/./b/../c'), isAbsolute('/a'), isAbsolute('a'), resolve('/a', 'b', '../c')]));
  out.home = await settle(homeDir());

  // Events: listen, once, a window's listen, emit and emitTo, unlisten.
  const got = [];
  let finish;
  const finished = new Promise((r) => { finish = r; });
  const unlisten = await listen('ping', (e) => got.push(`listen:${e.payload}`));
  await once('ping', (e) => got.push(`once:${e.payload}`));
  await getCurrentWindow().listen('ping', (e) => {
    got.push(`window:${e.payload}`);
    if (e.payload === 'done') finish();
  });
  await emit('ping', 1);
  await emitTo('main', 'ping', 2);
  await emitTo('other', 'ping', 3);
  unlisten();
  await emit('ping', 4);
  await emit('ping', 'done');
  await finished;
  out.events = got;
  out.deniedListen = await settle(listen('forbidden', () => {}));

  // A Channel streaming 1000 ordered messages from the backend.
  const msgs = [];
  let all;
  const allIn = new Promise((r) => { all = r; });
  const ch = new Channel((m) => { msgs.push(m); if (msgs.length === 1000) all(); });
  out.count = await settle(invoke('count', { n: 1000, onEvent: ch }));
  await allIn;
  out.channel = { n: msgs.length, ordered: msgs.every((m, i) => m.i === i) };

  out.global = await settle(window.__TAURI__.core.invoke('greet', { name: 'Global' }));
  // An empty raw body, with a header claiming JSON: Tauri's isolation
  // would decrypt nothing and pass it on; here it is a raw body like any,
  // held to the command's schema and the policy.
  out.emptyRaw = await settle(invoke('upload', new Uint8Array(0), { headers: { 'Content-Type': 'application/json' } }));
  out.emptyRawGreet = await settle(invoke('greet', new Uint8Array(0), { headers: { 'Content-Type': 'application/json' } }));
  out.internals = [typeof window.__TAURI_INTERNALS__.ipc, typeof window.__TAURI_INTERNALS__.postMessage];
  return out;
}

run().then(async (out) => {
  window.__result = out;
  document.getElementById('out').textContent = JSON.stringify(out, null, 1);
  await invoke('report', { out });
}, (e) => { window.__result = { crashed: String(e && e.stack || e) }; });
