// The frontend of the isolation-pattern test: the same real
// @tauri-apps/api, calls the app's isolation hook has views on.
import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';

const settle = (p) => p.then((v) => ({ ok: v }), (e) => ({ err: e }));
(async () => {
  const out = {};
  for (const name of ['Ada', 'Mallory', 'Nothing', 'Rewrite', 'Sneaky', 'Slow']) out[name] = await settle(invoke('greet', { name }));
  out.upload = await settle(invoke('upload', new Uint8Array([9, 8, 7]), { headers: { 'X-File-Name': 'b.bin' } }));
  out.listen = await settle(listen('ping', () => {}).then(() => 'listening'));
  window.__result = out;
})();
