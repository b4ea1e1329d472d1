// Entry point of the isolation iframe page served by the core.
import { createIsolation } from './isolation.js';
import { batcher } from './batch.js';

(async () => {
  const parent = window.parent;
  if (parent === window) return; // loaded on its own: there is no page to serve
  const el = document.getElementById('isogate-config');
  const config = JSON.parse(el.textContent);
  el.remove();
  const post = batcher((m) => parent.postMessage(m, '*')); // the parent's origin is not ours to know; the target is its window
  const queue = [];
  let iso = null;
  window.addEventListener('message', (ev) => {
    if (ev.source !== parent) return;
    if (iso === null) queue.push(ev.data);
    else iso.handle(ev.data);
  });
  const hook = typeof self.isogateHook === 'function' ? self.isogateHook : null; // set by the policy's hook.js
  iso = await createIsolation({ config, post, WebSocket: window.WebSocket, hook });
  for (const m of queue.splice(0)) iso.handle(m);
})();
