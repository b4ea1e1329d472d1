"use strict";
(() => {
  // src/batch.js
  function batcher(deliver) {
    let pending = null;
    return (m) => {
      if (pending === null) {
        pending = [];
        queueMicrotask(() => {
          const messages = pending;
          pending = null;
          deliver(messages.length === 1 ? messages[0] : { type: "batch", messages });
        });
      }
      pending.push(m);
    };
  }
  function unbatch(data, each) {
    if (data !== null && typeof data === "object" && data.type === "batch" && Array.isArray(data.messages)) {
      for (const m of data.messages) each(m);
      return;
    }
    each(data);
  }
  var enc = new TextEncoder();
  var OPEN = enc.encode('{"type":"batch","messages":[');
  var CLOSE = enc.encode("]}");

  // src/bridge.js
  var WATCH_MS = 250;
  function createBridge({ frameURL, document: document2, fetch, MessageChannel = globalThis.MessageChannel }) {
    const pending = /* @__PURE__ */ new Map();
    const listeners = /* @__PURE__ */ new Map();
    let nextID = 1;
    let iframe = null;
    let frame = null;
    let toFrame = null;
    let port = null;
    let ready;
    let markReady;
    function fail(code, message) {
      const err = new Error(message);
      err.name = "IsogateError";
      err.code = code;
      return err;
    }
    let isReady = true;
    function resetReady() {
      if (!isReady) return;
      isReady = false;
      ready = new Promise((resolve) => {
        markReady = () => {
          isReady = true;
          resolve();
        };
      });
    }
    function mount(url) {
      iframe = document2.createElement("iframe");
      iframe.setAttribute("sandbox", "allow-scripts");
      iframe.setAttribute("aria-hidden", "true");
      iframe.setAttribute("tabindex", "-1");
      iframe.style.cssText = "display:none!important";
      iframe.src = url;
      (document2.body || document2.documentElement).appendChild(iframe);
      const target = iframe.contentWindow;
      const mounted = iframe;
      frame = target;
      if (port !== null) port.close();
      const ch = new MessageChannel();
      port = ch.port1;
      ch.port1.onmessage = (ev) => {
        if (frame === target) unbatch(ev.data, receive);
      };
      let loads = 0;
      iframe.addEventListener("load", () => {
        if (loads++ === 0) target.postMessage({ type: "port" }, "*", [ch.port2]);
        else if (iframe === mounted) retry();
      });
      toFrame = batcher((m) => {
        if (frame === target) ch.port1.postMessage(m);
      });
    }
    async function remount() {
      frame = null;
      if (iframe !== null && iframe.isConnected) iframe.remove();
      resetReady();
      for (const [, p] of pending) p.reject(fail("unavailable", "the isolation iframe was removed"));
      pending.clear();
      try {
        const res = await fetch("/__isogate/frame", { method: "POST", headers: { "X-Isogate": "1" } });
        if (!res.ok) throw new Error(String(res.status));
        mount((await res.json()).frame);
        await ready;
        for (const name of listeners.keys()) call("listen", name, null).catch(() => {
        });
      } catch {
        setTimeout(retry, 1e3);
      }
    }
    let remounting = false;
    async function retry() {
      if (remounting) return;
      remounting = true;
      try {
        await remount();
      } finally {
        remounting = false;
      }
    }
    function receive(m) {
      if (m === null || typeof m !== "object") return;
      switch (m.type) {
        case "ready":
          markReady();
          return;
        case "reply": {
          const p = pending.get(m.id);
          if (p === void 0) return;
          pending.delete(m.id);
          if (m.ok === true) p.resolve(m.result);
          else p.reject(fail(String(m.error && m.error.code), String(m.error && m.error.message)));
          return;
        }
        case "event":
          for (const h of [...listeners.get(m.name) || []]) {
            try {
              h({ event: m.name, payload: m.payload });
            } catch (e) {
              setTimeout(() => {
                throw e;
              });
            }
          }
          return;
        default:
      }
    }
    async function call(kind, name, args) {
      const copy = structuredClone(args === void 0 ? null : args);
      await ready;
      if (frame === null) throw fail("unavailable", "the isolation iframe was removed");
      const id = nextID++;
      const send = toFrame;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        send({ type: "invoke", id, kind, name, args: copy });
      });
    }
    const invoke = (cmd, args) => call("command", cmd, args);
    const emit = async (event, payload) => {
      await call("event", event, payload);
    };
    async function listen(event, handler) {
      if (typeof handler !== "function") throw fail("invalid_args", "handler must be a function");
      let set = listeners.get(event);
      if (set === void 0) listeners.set(event, set = /* @__PURE__ */ new Set());
      const entry = (e) => handler(e);
      set.add(entry);
      const unlisten = () => {
        set.delete(entry);
        if (set.size === 0 && listeners.get(event) === set) listeners.delete(event);
      };
      try {
        await call("listen", event, null);
      } catch (e) {
        unlisten();
        throw e;
      }
      return unlisten;
    }
    async function once(event, handler) {
      const unlisten = await listen(event, (e) => {
        unlisten();
        handler(e);
      });
      return unlisten;
    }
    resetReady();
    mount(frameURL);
    setInterval(() => {
      if (frame !== null && !iframe.isConnected) retry();
    }, WATCH_MS);
    return Object.freeze({
      invoke,
      emit,
      listen,
      once,
      get ready() {
        return ready;
      }
    });
  }

  // src/bridge-main.js
  (() => {
    const script = document.currentScript;
    const frameURL = script && script.getAttribute("data-isogate-frame");
    if (!frameURL || window.isogate) return;
    script.remove();
    const api = createBridge({ frameURL, document, fetch: window.fetch.bind(window) });
    Object.defineProperty(window, "isogate", { value: api, enumerable: true });
  })();
})();
