"use strict";
(() => {
  // src/batch.js
  function batcher(deliver) {
    let pending = null;
    let transfer = [];
    const open = () => {
      pending = [];
      queueMicrotask(() => {
        const messages = pending;
        const moved = transfer;
        pending = null;
        transfer = [];
        if (messages.length > 0) deliver(messages.length === 1 ? messages[0] : { type: "batch", messages }, moved);
      });
    };
    const send = (m, buffers) => {
      if (pending === null) open();
      pending.push(m);
      if (buffers) transfer.push(...buffers);
    };
    send.idle = () => pending === null;
    send.now = (m) => {
      if (pending !== null) throw new Error("batcher: a batch is waiting; send.now would overtake it");
      deliver(m, []);
      open();
    };
    return send;
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

  // src/binary.js
  function buffersOf(v, depth = 64) {
    const out = /* @__PURE__ */ new Set();
    const seen = /* @__PURE__ */ new WeakSet();
    function walk(x, d) {
      if (x === null || typeof x !== "object") return;
      if (x instanceof ArrayBuffer) out.add(x);
      else if (x instanceof Uint8Array) {
        if (x.buffer instanceof ArrayBuffer) out.add(x.buffer);
      } else if (d > 0 && !seen.has(x)) {
        seen.add(x);
        if (Array.isArray(x)) for (let i = 0; i < x.length; i++) walk(x[i], d - 1);
        else for (const k of Object.keys(x)) walk(x[k], d - 1);
      }
    }
    walk(v, depth);
    return [...out];
  }
  var escape = (k) => String(k).replace(/~/g, "~0").replace(/\//g, "~1");
  function unescape(t) {
    return t.replace(/~1/g, "/").replace(/~0/g, "~");
  }
  function parsePointer(path) {
    if (path === "") return [];
    if (path[0] !== "/") throw new Error("bad pointer");
    return path.split("/").slice(1).map(unescape);
  }
  function holderOf(root, toks) {
    let cur = root;
    for (const t of toks.slice(0, -1)) cur = cur !== null && typeof cur === "object" && Object.hasOwn(cur, t) ? cur[t] : void 0;
    const last = toks[toks.length - 1];
    return cur !== null && typeof cur === "object" && Object.hasOwn(cur, last) && cur[last] === null ? cur : void 0;
  }
  function setOwn(o, k, v) {
    Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  }

  // src/bridge.js
  var WATCH_MS = 250;
  function createBridge({ frameURL, document: document2, fetch, MessageChannel = globalThis.MessageChannel, withCall = null, tap = null }) {
    const pending = /* @__PURE__ */ new Map();
    const streams = /* @__PURE__ */ new Map();
    const listeners = /* @__PURE__ */ new Map();
    let nextID = 1;
    let waiting = 0;
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
      toFrame = batcher((m, transfer) => {
        if (frame === target) ch.port1.postMessage(m, transfer);
      });
    }
    async function remount() {
      frame = null;
      if (iframe !== null && iframe.isConnected) iframe.remove();
      resetReady();
      for (const [, p] of pending) p.reject(fail("unavailable", "the isolation iframe was removed"));
      pending.clear();
      for (const [, ctrl] of streams) ctrl.error(fail("unavailable", "the isolation iframe was removed"));
      streams.clear();
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
          if (m.ok !== true) {
            const err = fail(String(m.error && m.error.code), String(m.error && m.error.message));
            if (m.error && "value" in m.error) err.value = m.error.value;
            if (m.error && Array.isArray(m.error.reasons)) err.reasons = m.error.reasons.map(String);
            p.reject(err);
          } else if (typeof m.stream === "string") p.resolve(withStream(m.id, m.result, m.stream));
          else p.resolve(m.result);
          return;
        }
        case "data": {
          const ctrl = streams.get(m.id);
          if (ctrl === void 0) return;
          if (m.payload instanceof Uint8Array && m.payload.byteLength > 0) ctrl.enqueue(m.payload);
          if (!m.end) return;
          streams.delete(m.id);
          if (m.error) ctrl.error(fail(String(m.error.code), String(m.error.message)));
          else ctrl.close();
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
          if (tap) tap.event(m);
          return;
        case "channel":
          if (tap) tap.channel(m);
          return;
        default:
      }
    }
    function withStream(id, result, at) {
      let ctrl;
      const send = toFrame;
      const body = new ReadableStream({
        start(c) {
          ctrl = c;
        },
        cancel() {
          if (streams.delete(id)) send({ type: "cancel", id });
        }
      });
      streams.set(id, ctrl);
      const toks = parsePointer(at);
      if (toks.length === 0) return body;
      setOwn(holderOf(result, toks), toks[toks.length - 1], body);
      return result;
    }
    async function call(kind, name, args, signal = null, tauri = void 0) {
      const value = args === void 0 ? null : args;
      const message = (id2, a) => tauri === void 0 ? { type: "invoke", id: id2, kind, name, args: a } : { type: "invoke", id: id2, kind, name, args: a, tauri };
      let send = toFrame;
      let id;
      if (waiting === 0 && isReady && frame !== null && !(signal && signal.aborted) && send.idle()) {
        id = nextID++;
        send.now(message(id, value));
      } else {
        const copy = structuredClone(value);
        const moved = buffersOf(copy);
        if (tauri !== void 0) tauri = structuredClone(tauri);
        waiting++;
        try {
          await ready;
        } finally {
          waiting--;
        }
        if (frame === null) throw fail("unavailable", "the isolation iframe was removed");
        if (signal && signal.aborted) throw signal.reason;
        id = nextID++;
        send = toFrame;
        send(message(id, copy), moved);
      }
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        if (signal) {
          signal.addEventListener("abort", () => {
            const body = streams.get(id);
            if (body !== void 0) {
              streams.delete(id);
              body.error(signal.reason);
              send({ type: "cancel", id });
              return;
            }
            if (!pending.delete(id)) return;
            reject(signal.reason);
            send({ type: "cancel", id });
          }, { once: true });
        }
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
    if (withCall) withCall(call);
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

  // src/http.js
  var REDIRECTS = /* @__PURE__ */ new Set([301, 302, 303, 307, 308]);
  var MAX_REDIRECTS = 20;
  var BODY_HEADERS = ["content-encoding", "content-language", "content-location", "content-type"];
  function installHTTP({ win, call, prefixes, status }) {
    const origin = win.location.origin;
    const nativeFetch = win.fetch.bind(win);
    function gatedURL(input) {
      let u;
      try {
        u = new URL(input, win.location.href);
      } catch {
        return null;
      }
      if (u.origin !== origin) return null;
      for (const p of prefixes) {
        if (u.pathname === p || u.pathname.startsWith(p + "/")) return u;
      }
      return null;
    }
    function problem(err) {
      const code = typeof err.code === "string" ? err.code : "unavailable";
      const st = status[code] || 500;
      const p = { type: `urn:isogate:problem:${code}`, title: code, status: st, detail: String(err.message), code };
      if (Array.isArray(err.reasons)) p.reasons = err.reasons;
      const body = JSON.stringify(p);
      return { status: st, statusText: "", headers: [["content-type", "application/problem+json"], ["x-isogate-code", code]], body: new TextEncoder().encode(body) };
    }
    async function send(method, u, headers, body, signal = null, credentials = "same-origin") {
      const args = { path: u.pathname, query: u.search.slice(1), headers, body: body && body.byteLength ? new Uint8Array(body) : null };
      if (credentials === "omit") args.credentials = "omit";
      try {
        return await call("http", method, args, signal);
      } catch (err) {
        if (signal && signal.aborted && err === signal.reason) throw err;
        return problem(err);
      }
    }
    async function gatedFetch(input, init) {
      const href = input instanceof win.Request ? input.url : String(input);
      if (gatedURL(href) === null) return nativeFetch(input, init);
      const req = new Request(input, init);
      let u = gatedURL(req.url);
      if (u === null) return nativeFetch(req);
      const signal = req.signal;
      if (signal.aborted) throw signal.reason;
      const headers = {};
      req.headers.forEach((v, k) => {
        headers[k] = v;
      });
      const body = req.method === "GET" || req.method === "HEAD" ? null : await req.arrayBuffer();
      const out = await follow(req.method, u, headers, body, {
        signal,
        redirect: req.redirect,
        credentials: req.credentials,
        // Only a hop to another origin uses these: it goes to the browser's
        // fetch, which must treat it as the page's request would be.
        native: { mode: req.mode === "navigate" ? "same-origin" : req.mode, cache: req.cache, referrerPolicy: req.referrerPolicy, integrity: req.integrity, keepalive: req.keepalive }
      });
      if (out.native) return out.native;
      if (REDIRECTS.has(out.res.status) && req.redirect === "manual") return opaqueRedirect(out.res, out.u);
      const r = toResponse(out.res, out.u);
      if (out.hops > 0) Object.defineProperty(r, "redirected", { value: true });
      return r;
    }
    async function follow(method, u, headers, body, { signal = null, redirect = "follow", credentials = "same-origin", native = {} } = {}) {
      headers = { ...headers };
      for (let hops = 0; ; hops++) {
        const res = await send(method, u, headers, body, signal, credentials);
        const location = res.headers.find(([k]) => k === "location");
        if (!REDIRECTS.has(res.status) || redirect === "manual") return { res, u, hops };
        if (redirect === "error") {
          if (res.body instanceof ReadableStream) res.body.cancel();
          throw new TypeError(`isogate: ${u.pathname} redirected and the request's redirect mode is "error"`);
        }
        if (!location) return { res, u, hops };
        if (res.body instanceof ReadableStream) res.body.cancel();
        if (hops === MAX_REDIRECTS) throw new TypeError("isogate: too many redirects");
        const next = new URL(location[1], u);
        if (next.protocol !== "http:" && next.protocol !== "https:") throw new TypeError(`isogate: ${u.pathname} redirected to a ${next.protocol} URL`);
        if (res.status === 303 && method !== "GET" && method !== "HEAD" || res.status <= 302 && method === "POST") {
          method = "GET";
          body = null;
          for (const h of BODY_HEADERS) delete headers[h];
        }
        if (next.origin !== origin) {
          if (native.mode === "same-origin") throw new TypeError(`isogate: ${u.pathname} redirected to another origin and the request's mode is "same-origin"`);
          delete headers.authorization;
        }
        const gated = gatedURL(next.href);
        if (gated === null) return { native: await nativeFetch(next.href, { ...native, method, headers, body, signal, credentials }) };
        u = gated;
      }
    }
    async function followXHR(method, u, headers, body, signal, credentials) {
      const out = await follow(method, u, headers, body, { signal, credentials });
      if (!out.native) return out;
      const n = out.native;
      const hs = [];
      n.headers.forEach((v, k) => hs.push([k, v]));
      return { res: { status: n.status, statusText: n.statusText, headers: hs, body: new Uint8Array(await n.arrayBuffer()) }, u: new URL(n.url) };
    }
    function opaqueRedirect(res, u) {
      if (res.body instanceof ReadableStream) res.body.cancel();
      const r = Response.error();
      Object.defineProperties(r, {
        type: { value: "opaqueredirect" },
        url: { value: withoutFragment(u) },
        clone: { value: () => opaqueRedirect({ body: null }, u) }
        // Response.error's clone would be type "error"
      });
      return r;
    }
    function toResponse(res, u) {
      const nullBody = res.status === 204 || res.status === 205 || res.status === 304 || res.status < 200;
      if (nullBody && res.body instanceof ReadableStream) res.body.cancel();
      const r = new Response(nullBody ? null : res.body, { status: res.status, statusText: res.statusText, headers: res.headers });
      Object.defineProperty(r, "url", { value: withoutFragment(u) });
      return r;
    }
    win.fetch = gatedFetch;
    win.XMLHttpRequest = gatedXHR(win.XMLHttpRequest, gatedURL, followXHR);
    if (win.navigator && typeof win.navigator.sendBeacon === "function") {
      const nativeBeacon = win.navigator.sendBeacon.bind(win.navigator);
      win.navigator.sendBeacon = (url, data) => {
        const u = gatedURL(url);
        if (u === null) return nativeBeacon(url, data);
        const req = new Request(u.href, { method: "POST", body: data === void 0 ? null : data });
        const headers = {};
        req.headers.forEach((v, k) => {
          headers[k] = v;
        });
        req.arrayBuffer().then((b) => send("POST", u, headers, b)).catch(() => {
        });
        return true;
      };
    }
    for (const name of ["WebSocket", "EventSource"]) {
      const Native = win[name];
      if (typeof Native !== "function") continue;
      win[name] = new Proxy(Native, {
        construct(target, args) {
          const u = args.length ? gatedURL(String(args[0]).replace(/^ws/, "http")) : null;
          if (u !== null) throw new DOMException(`isogate: a ${name} to the app's API (${u.pathname}) does not go through the gate`, "SecurityError");
          return Reflect.construct(target, args);
        }
      });
    }
  }
  function withoutFragment(u) {
    const v = new URL(u.href);
    v.hash = "";
    return v.href;
  }
  function gatedXHR(Native, gatedURL, follow) {
    const nativeOpen = Native.prototype.open;
    const nativeSend = Native.prototype.send;
    const nativeSet = Native.prototype.setRequestHeader;
    const nativeAbort = Native.prototype.abort;
    const props = ["readyState", "status", "statusText", "response", "responseText", "responseURL", "responseXML"];
    const g = /* @__PURE__ */ new WeakMap();
    const overrides = /* @__PURE__ */ new WeakMap();
    class XMLHttpRequest extends Native {
      overrideMimeType(mime) {
        const s = g.get(this);
        if (s !== void 0 && s.readyState >= 3) throw new DOMException("overrideMimeType after the response began", "InvalidStateError");
        super.overrideMimeType(mime);
        overrides.set(this, String(mime));
      }
      open(method, url, async = true, ...rest) {
        const u = gatedURL(url);
        if (u === null) {
          g.delete(this);
          return nativeOpen.call(this, method, url, async, ...rest);
        }
        if (async === false) {
          console.error(`isogate: synchronous XMLHttpRequest to ${u.pathname} is not supported: the gate answers asynchronously`);
          throw new DOMException("isogate: synchronous XMLHttpRequest to the app's API is not supported", "InvalidAccessError");
        }
        g.set(this, { method: String(method).toUpperCase(), u, headers: {}, readyState: 1, status: 0, statusText: "", res: null, done: false, aborted: false });
        this.dispatchEvent(new Event("readystatechange"));
      }
      setRequestHeader(name, value) {
        const s = g.get(this);
        if (s === void 0) return nativeSet.call(this, name, value);
        const k = String(name).toLowerCase();
        s.headers[k] = k in s.headers ? `${s.headers[k]}, ${value}` : String(value);
      }
      send(body) {
        const s = g.get(this);
        if (s === void 0) return nativeSend.call(this, body);
        const init = { method: s.method, headers: s.headers };
        if (body !== void 0 && body !== null && s.method !== "GET" && s.method !== "HEAD") init.body = body;
        const req = new Request(s.u.href, init);
        const headers = {};
        req.headers.forEach((v, k) => {
          headers[k] = v;
        });
        const fire = (type, init2) => this.dispatchEvent(type === "readystatechange" ? new Event(type) : new ProgressEvent(type, init2));
        fire("loadstart", { loaded: 0, total: 0 });
        s.ac = new AbortController();
        let timer = null;
        if (this.timeout > 0) {
          timer = setTimeout(() => {
            if (s.done) return;
            s.done = true;
            s.ac.abort(new DOMException("timed out", "TimeoutError"));
            s.readyState = 4;
            fire("readystatechange");
            fire("timeout");
            fire("loadend");
          }, this.timeout);
        }
        const failed = () => {
          if (s.done) return;
          s.done = true;
          clearTimeout(timer);
          s.res = null;
          s.status = 0;
          s.readyState = 4;
          fire("readystatechange");
          fire("error");
          fire("loadend");
        };
        const upload = this.upload;
        let sent = 0;
        const fireUpload = (type) => upload.dispatchEvent(new ProgressEvent(type, { lengthComputable: true, loaded: type === "loadstart" ? 0 : sent, total: sent }));
        (init.body === void 0 ? Promise.resolve(null) : req.arrayBuffer()).then((b) => {
          if (b && b.byteLength) {
            sent = b.byteLength;
            fireUpload("loadstart");
          }
          return follow(s.method, s.u, headers, b, s.ac.signal, this.withCredentials ? "include" : "same-origin");
        }).then(async ({ res, u }) => {
          if (s.done) return;
          if (sent) for (const type of ["progress", "load", "loadend"]) fireUpload(type);
          s.u = u;
          s.res = { ...res, body: null };
          s.status = res.status;
          s.statusText = res.statusText;
          s.readyState = 2;
          fire("readystatechange");
          s.readyState = 3;
          fire("readystatechange");
          let body2 = res.body || new Uint8Array(0);
          let whole = true;
          if (body2 instanceof ReadableStream) {
            whole = false;
            const parts = [];
            let n2 = 0;
            const reader = body2.getReader();
            for (; ; ) {
              const { done, value } = await reader.read();
              if (s.done) return;
              if (done) break;
              parts.push(value);
              n2 += value.byteLength;
              fire("progress", { lengthComputable: false, loaded: n2, total: 0 });
            }
            body2 = new Uint8Array(n2);
            let at = 0;
            for (const p of parts) {
              body2.set(p, at);
              at += p.byteLength;
            }
          }
          if (s.done) return;
          s.done = true;
          clearTimeout(timer);
          s.res.body = body2;
          const n = body2.byteLength;
          if (whole) fire("progress", { lengthComputable: true, loaded: n, total: n });
          s.readyState = 4;
          fire("readystatechange");
          fire("load", { lengthComputable: true, loaded: n, total: n });
          fire("loadend", { lengthComputable: true, loaded: n, total: n });
        }).catch(failed);
      }
      abort() {
        const s = g.get(this);
        if (s === void 0) return nativeAbort.call(this);
        if (s.done || s.readyState === 0) return;
        s.done = true;
        s.aborted = true;
        if (s.ac) s.ac.abort();
        s.readyState = 4;
        this.dispatchEvent(new Event("readystatechange"));
        this.dispatchEvent(new ProgressEvent("abort"));
        this.dispatchEvent(new ProgressEvent("loadend"));
        s.readyState = 0;
      }
      getResponseHeader(name) {
        const s = g.get(this);
        if (s === void 0) return super.getResponseHeader(name);
        if (!s.res || s.readyState < 2) return null;
        const k = String(name).toLowerCase();
        const vs = s.res.headers.filter(([h]) => h === k).map(([, v]) => v);
        return vs.length ? vs.join(", ") : null;
      }
      getAllResponseHeaders() {
        const s = g.get(this);
        if (s === void 0) return super.getAllResponseHeaders();
        if (!s.res || s.readyState < 2) return "";
        return s.res.headers.map(([k, v]) => `${k}: ${v}\r
`).join("");
      }
    }
    const finalType = (s, xhr) => {
      if (overrides.has(xhr)) return overrides.get(xhr);
      const ct = s.res.headers.find(([k]) => k === "content-type");
      return ct ? ct[1] : null;
    };
    const text = (s, xhr, utf8 = false) => {
      if (!s.res || !s.res.body) return "";
      const b = s.res.body;
      const bom = b[0] === 239 && b[1] === 187 && b[2] === 191 ? "utf-8" : b[0] === 254 && b[1] === 255 ? "utf-16be" : b[0] === 255 && b[1] === 254 ? "utf-16le" : null;
      const cs = bom || utf8 ? null : /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(finalType(s, xhr) || "");
      const label = bom || (cs ? cs[1] : "utf-8");
      let dec;
      try {
        dec = new TextDecoder(label);
      } catch {
        dec = new TextDecoder();
      }
      return dec.decode(b);
    };
    const documentOf = (s, xhr, html) => {
      if (!s.res) return null;
      if (!("doc" in s)) {
        const ft = finalType(s, xhr);
        const mime = ft !== null ? ft.split(";")[0].trim().toLowerCase() : "text/xml";
        const xml = mime === "text/xml" || mime === "application/xml" || mime.endsWith("+xml");
        let doc = null;
        if (xml || mime === "text/html") {
          doc = new DOMParser().parseFromString(text(s, xhr), xml ? "application/xml" : "text/html");
          if (xml && doc.getElementsByTagName("parsererror").length > 0) doc = null;
        }
        s.doc = { doc, html: mime === "text/html" };
      }
      return s.doc.html && !html ? null : s.doc.doc;
    };
    const values = {
      readyState: (s) => s.readyState,
      status: (s) => s.aborted ? 0 : s.status,
      statusText: (s) => s.statusText,
      responseURL: (s) => s.res ? withoutFragment(s.u) : "",
      responseXML: (s, xhr) => {
        if (xhr.responseType !== "" && xhr.responseType !== "document") throw new DOMException("responseXML is only for documents", "InvalidStateError");
        return s.readyState === 4 ? documentOf(s, xhr, xhr.responseType === "document") : null;
      },
      responseText: (s, xhr) => {
        if (xhr.responseType !== "" && xhr.responseType !== "text") throw new DOMException("responseText is only for text", "InvalidStateError");
        return s.readyState === 4 ? text(s, xhr) : "";
      },
      response: (s, xhr) => {
        if (s.readyState !== 4 || !s.res) return xhr.responseType === "" || xhr.responseType === "text" ? "" : null;
        const bytes = s.res.body || new Uint8Array(0);
        switch (xhr.responseType) {
          case "arraybuffer":
            return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
          case "blob":
            return new Blob([bytes], { type: finalType(s, xhr) || "" });
          case "json":
            try {
              return JSON.parse(text(s, xhr, true));
            } catch {
              return null;
            }
          case "document":
            return documentOf(s, xhr, true);
          default:
            return text(s, xhr);
        }
      }
    };
    for (const p of props) {
      const native = Object.getOwnPropertyDescriptor(Native.prototype, p) || Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Native.prototype), p);
      Object.defineProperty(XMLHttpRequest.prototype, p, {
        configurable: true,
        enumerable: true,
        get() {
          const s = g.get(this);
          if (s === void 0) return native.get.call(this);
          return values[p](s, this);
        }
      });
    }
    return XMLHttpRequest;
  }

  // src/tauri.js
  var IPC_KEY = "__TAURI_TO_IPC_KEY__";
  var CHANNEL = /^__CHANNEL__:[0-9]{1,10}$/;
  var LABELLED = /* @__PURE__ */ new Set(["Window", "Webview", "WebviewWindow"]);
  function installTauri({ win, call, config }) {
    const label = String(config.window || "main");
    const windows = config.os === "windows";
    const callbacks = /* @__PURE__ */ new Map();
    function transformCallback(callback, once = false) {
      let id;
      do
        id = win.crypto.getRandomValues(new Uint32Array(1))[0];
      while (callbacks.has(id));
      callbacks.set(id, (data) => {
        if (once) callbacks.delete(id);
        return callback && callback(data);
      });
      return id;
    }
    const unregisterCallback = (id) => {
      callbacks.delete(id);
    };
    function runCallback(id, data) {
      const cb = callbacks.get(id);
      if (cb === void 0) return;
      try {
        cb(data);
      } catch (e) {
        win.setTimeout(() => {
          throw e;
        });
      }
    }
    let nextEventID = 1;
    const listeners = /* @__PURE__ */ new Map();
    function unregisterListener(event, eventId) {
      const l = listeners.get(eventId);
      if (l !== void 0 && l.event === event) listeners.delete(eventId);
    }
    function reached(listenerTarget, target) {
      if (!target || target.kind === "Any" || listenerTarget.kind === "Any") return true;
      if (target.kind === "AnyLabel") return LABELLED.has(listenerTarget.kind) && listenerTarget.label === target.label;
      return listenerTarget.kind === target.kind && listenerTarget.label === target.label;
    }
    const meta = (cmd, extra = {}) => ({ cmd, headers: {}, raw: false, channels: [], target: null, ...extra });
    function tauriError(e) {
      if (e && typeof e === "object" && "value" in e) return e.value;
      if (e && typeof e === "object" && typeof e.code === "string") return `${e.code}: ${e.message}`;
      return String(e);
    }
    function rawResult(r) {
      if (!(r instanceof Uint8Array)) return r;
      return r.byteOffset === 0 && r.byteLength === r.buffer.byteLength ? r.buffer : r.slice().buffer;
    }
    async function eventCall(command, args) {
      const a = args !== null && typeof args === "object" ? args : {};
      switch (command) {
        case "listen": {
          const eventId = nextEventID++;
          listeners.set(eventId, { event: a.event, target: a.target, handler: a.handler });
          try {
            await call("listen", a.event, null, null, meta("plugin:event|listen", { target: a.target }));
          } catch (e) {
            listeners.delete(eventId);
            throw tauriError(e);
          }
          return eventId;
        }
        case "unlisten":
          unregisterListener(a.event, a.eventId);
          return null;
        case "emit":
        case "emit_to":
          try {
            const payload = ipcValue(a.payload === void 0 ? null : a.payload, "", []);
            await call(
              "event",
              a.event,
              payload === void 0 ? null : payload,
              null,
              meta(`plugin:event|${command}`, { target: command === "emit_to" ? a.target : null })
            );
          } catch (e) {
            throw e instanceof Error && !("code" in e) ? `invalid_args: ${e.message}` : tauriError(e);
          }
          return null;
        default:
          throw `unknown_command: unknown command "plugin:event|${command}"`;
      }
    }
    async function invoke(cmd, args = {}, options = void 0) {
      if (typeof cmd !== "string") throw "invalid_args: the command is a string";
      if (cmd.startsWith("plugin:event|")) return eventCall(cmd.slice("plugin:event|".length), args);
      const headers = {};
      if (options && options.headers) new win.Headers(options.headers).forEach((v, k) => {
        headers[k] = v;
      });
      let payload;
      let raw = false;
      const channels = [];
      try {
        if (args instanceof ArrayBuffer || ArrayBuffer.isView(args) || Array.isArray(args)) {
          raw = true;
          payload = rawBody(args);
        } else {
          payload = ipcValue(args, "", channels);
          if (payload === void 0) payload = {};
        }
      } catch (e) {
        throw `invalid_args: ${e.message}`;
      }
      try {
        return rawResult(await call("command", cmd, payload, null, meta(cmd, { headers, raw, channels })));
      } catch (e) {
        throw tauriError(e);
      }
    }
    const lastIndex = /* @__PURE__ */ new Map();
    const tap = {
      event(m) {
        for (const [eventId, l] of listeners) {
          if (l.event === m.name && reached(l.target || { kind: "Any" }, m.target)) {
            runCallback(l.handler, { event: m.name, id: eventId, payload: m.payload });
          }
        }
      },
      channel(m) {
        if (m.lost) {
          runCallback(m.id, { index: (lastIndex.has(m.id) ? lastIndex.get(m.id) : -1) + 1, end: true });
          lastIndex.delete(m.id);
          return;
        }
        if (m.end) {
          lastIndex.delete(m.id);
          runCallback(m.id, { index: m.index, end: true });
          return;
        }
        lastIndex.set(m.id, m.index);
        runCallback(m.id, { index: m.index, id: m.index, message: rawResult(m.message) });
      }
    };
    const internals = {
      invoke,
      transformCallback,
      unregisterCallback,
      runCallback,
      callbacks,
      convertFileSrc(path, protocol = "asset") {
        return `${win.location.origin}/__isogate/asset/${encodeURIComponent(protocol)}/${encodeURIComponent(path)}`;
      },
      metadata: { currentWindow: { label }, currentWebview: { label, windowLabel: label } },
      plugins: { path: { sep: windows ? "\\" : "/", delimiter: windows ? ";" : ":" } }
    };
    const define = (name, value) => Object.defineProperty(win, name, { value, enumerable: false, configurable: false, writable: false });
    define("__TAURI_INTERNALS__", internals);
    define("__TAURI_EVENT_PLUGIN_INTERNALS__", { unregisterListener });
    define("isTauri", true);
    return tap;
  }
  function rawBody(v) {
    if (v instanceof ArrayBuffer) return new Uint8Array(v.slice(0));
    if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
    if (!v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) throw new Error("a raw body given as an array holds byte values (0-255)");
    return Uint8Array.from(v);
  }
  function ipcValue(v, path, channels, depth = 0) {
    if (depth > 64) throw new Error("args are nested too deeply");
    if (v !== null && (typeof v === "object" || typeof v === "function")) {
      if (typeof v[IPC_KEY] === "function") v = v[IPC_KEY]();
      else if (typeof v.toJSON === "function") v = v.toJSON();
    }
    switch (typeof v) {
      case "string":
        if (CHANNEL.test(v) && path !== "") channels.push(path);
        return v;
      case "number":
        return Number.isFinite(v) ? v : null;
      case "boolean":
        return v;
      case "bigint":
        throw new Error("a BigInt cannot be sent");
      case "undefined":
      case "function":
      case "symbol":
        return void 0;
    }
    if (v === null) return null;
    if (v instanceof Uint8Array && Object.getPrototypeOf(v) === Uint8Array.prototype) return v;
    if (v instanceof ArrayBuffer) return v;
    if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    if (Array.isArray(v)) {
      const out2 = [];
      for (let i = 0; i < v.length; i++) {
        const x = ipcValue(v[i], `${path}/${i}`, channels, depth + 1);
        out2.push(x === void 0 ? null : x);
      }
      return out2;
    }
    const out = {};
    const entries = v instanceof Map ? [...v.entries()].map(([k, x]) => [String(k), x]) : Object.entries(v);
    for (const [k, x] of entries) {
      const y = ipcValue(x, `${path}/${escape(k)}`, channels, depth + 1);
      if (y !== void 0) Object.defineProperty(out, k, { value: y, writable: true, enumerable: true, configurable: true });
    }
    return out;
  }

  // src/bridge-main.js
  (() => {
    const script = document.currentScript;
    const frameURL = script && script.getAttribute("data-isogate-frame");
    if (!frameURL || window.isogate) return;
    const apiConfig = script.getAttribute("data-isogate-api");
    const tauriConfig = script.getAttribute("data-isogate-tauri");
    script.remove();
    let call = null;
    let tapped = null;
    const tap = tauriConfig ? { event: (m) => tapped && tapped.event(m), channel: (m) => tapped && tapped.channel(m) } : null;
    const api = createBridge({ frameURL, document, fetch: window.fetch.bind(window), withCall: (c) => {
      call = c;
    }, tap });
    Object.defineProperty(window, "isogate", { value: api, enumerable: true });
    if (apiConfig) {
      const { prefixes, status } = JSON.parse(apiConfig);
      installHTTP({ win: window, call, prefixes, status });
    }
    if (tauriConfig) tapped = installTauri({ win: window, call, config: JSON.parse(tauriConfig) });
  })();
})();
