// The adapter between isogate's hook and a Tauri isolation app's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tauriHook, toTauri, fromTauri } from '../src/tauri-hook.js';

test('a message that did not come through Tauri\'s API is shown as the call Tauri would make', () => {
  assert.equal(toTauri({ kind: 'listen', name: 'secret', args: null, window: 'main' }, 1).cmd, 'plugin:event|listen');
  const ev = toTauri({ kind: 'event', name: 'e', args: { a: 1 }, window: 'main' }, 1);
  assert.deepEqual([ev.cmd, ev.payload], ['plugin:event|emit', { event: 'e', payload: { a: 1 } }]);
  // ...and a hook's edit of it stays an event.
  assert.equal(fromTauri({ ...ev, payload: { event: 'e', payload: 2 } }).kind, 'event');
});

test('unchanged goes as it is; changed is re-derived; a throw, no message or no hook vetoes', async () => {
  const win = {};
  const hook = tauriHook(win);
  const m = { kind: 'command', name: 'greet', args: { name: 'x' }, window: 'main', payload: { name: 'x' },
    tauri: { cmd: 'greet', headers: {}, raw: false, channels: [], target: null } };
  assert.equal(await hook(m), 'the isolation hook is not defined');
  win.__TAURI_ISOLATION_HOOK__ = null;
  assert.equal(await hook(m), true);
  win.__TAURI_ISOLATION_HOOK__ = (p) => p;
  assert.equal(await hook(m), true);
  win.__TAURI_ISOLATION_HOOK__ = (p) => { p.payload.name = 'y'; return p; }; // an edit in place is an edit
  assert.deepEqual((await hook(m)).replace.args, { name: 'y' });
  win.__TAURI_ISOLATION_HOOK__ = () => { throw new Error('no'); };
  assert.equal(await hook(m), 'the isolation hook threw: no');
  win.__TAURI_ISOLATION_HOOK__ = () => undefined;
  assert.equal(await hook(m), 'the isolation hook answered no message');
});
