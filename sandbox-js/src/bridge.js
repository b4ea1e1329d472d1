// The bridge, injected by the core as the first script of every page. It runs
// in the untrusted main frame and holds nothing secret: it creates the
// isolation iframe, forwards calls to it and settles promises from its
// replies. It accepts messages only from that iframe's window.

export function createBridge({ frameURL, document, window }) {
  const pending = new Map();
  let nextID = 1;
  let markReady;
  const ready = new Promise((resolve) => { markReady = resolve; });

  const iframe = document.createElement('iframe');
  iframe.setAttribute('sandbox', 'allow-scripts');
  iframe.setAttribute('aria-hidden', 'true');
  iframe.setAttribute('tabindex', '-1');
  iframe.style.cssText = 'display:none!important';
  iframe.src = frameURL;
  (document.body || document.documentElement).appendChild(iframe);
  const frame = iframe.contentWindow;

  function fail(code, message) {
    const err = new Error(message);
    err.name = 'IsogateError';
    err.code = code;
    return err;
  }

  window.addEventListener('message', (ev) => {
    if (frame === null || ev.source !== frame) return;
    const m = ev.data;
    if (m === null || typeof m !== 'object') return;
    if (m.type === 'ready') {
      markReady();
      return;
    }
    if (m.type !== 'reply') return;
    const p = pending.get(m.id);
    if (p === undefined) return;
    pending.delete(m.id);
    if (m.ok === true) p.resolve(m.result);
    else p.reject(fail(String(m.error && m.error.code), String(m.error && m.error.message)));
  });

  async function invoke(cmd, args) {
    await ready;
    const id = nextID++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      frame.postMessage({ type: 'invoke', id, kind: 'command', name: cmd, args: args === undefined ? null : args }, '*');
    });
  }

  return Object.freeze({ invoke, ready });
}
