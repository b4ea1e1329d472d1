// Entry point of the isolation iframe page served by the core.
import { createIsolation } from './isolation.js';
import { batcher } from './batch.js';

(async () => {
  const parent = window.parent;
  if (parent === window) return; // loaded on its own: there is no page to serve
  const el = document.getElementById('isogate-config');
  const config = JSON.parse(el.textContent);
  el.remove();
  // The bridge hands over one end of a MessageChannel once the iframe has
  // loaded: from then on that port is the only way requests come in and
  // replies go out. Nothing else is taken from any window.
  let port = null;
  const early = []; // posted before the port came
  const post = batcher((m, transfer) => (port === null ? early.push([m, transfer]) : port.postMessage(m, transfer)));
  const queue = [];
  let iso = null;
  window.addEventListener('message', (ev) => {
    const d = ev.data;
    if (port !== null || ev.source !== parent || d === null || typeof d !== 'object' || d.type !== 'port' || ev.ports.length !== 1) return;
    port = ev.ports[0];
    port.onmessage = (e) => {
      if (iso === null) queue.push(e.data);
      else iso.handle(e.data);
    };
    for (const [m, transfer] of early.splice(0)) port.postMessage(m, transfer);
  });
  const hook = typeof self.isogateHook === 'function' ? self.isogateHook : null; // set by the policy's hook.js
  iso = await createIsolation({ config, post, WebSocket: window.WebSocket, hook });
  for (const m of queue.splice(0)) iso.handle(m);
})();
