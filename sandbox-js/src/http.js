// The app's own HTTP API through the gate. With API prefixes configured
// (--api), the bridge takes over the page's fetch, XMLHttpRequest and
// navigator.sendBeacon for same-origin URLs under a prefix: each request
// goes to the isolation iframe as a message of kind "http" (method, path,
// query, the headers the page set, the body as raw bytes) and comes back as
// a real Response, or real XHR events. Everything else goes to the
// browser's own implementation unchanged. A request that bypasses this (a
// fresh iframe realm, a service worker, a <form>) reaches the core unsealed
// and is refused there; this file only makes the gated path the one the
// app's code takes.

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;
// The Fetch standard's request-body-header names: dropped with the body
// when a redirect turns a request into a GET.
const BODY_HEADERS = ['content-encoding', 'content-language', 'content-location', 'content-type'];

// installHTTP patches win. call(kind, name, args) is the bridge's call;
// prefixes the API prefixes; status maps a rejection code to the HTTP
// status the page sees (from the core: httpapi.Status).
export function installHTTP({ win, call, prefixes, status }) {
  const origin = win.location.origin;
  const nativeFetch = win.fetch.bind(win);

  // gatedURL is the URL if it is one of the app's API, else null.
  function gatedURL(input) {
    let u;
    try {
      u = new URL(input, win.location.href);
    } catch {
      return null;
    }
    if (u.origin !== origin) return null;
    for (const p of prefixes) {
      if (u.pathname === p || u.pathname.startsWith(p + '/')) return u;
    }
    return null;
  }

  // problem is the Response a rejected request answers with: the status
  // for its code, X-Isogate-Code, and a problem+json body (RFC 9457).
  function problem(err) {
    const code = typeof err.code === 'string' ? err.code : 'unavailable';
    const st = status[code] || 500;
    const p = { type: `urn:isogate:problem:${code}`, title: code, status: st, detail: String(err.message), code };
    if (Array.isArray(err.reasons)) p.reasons = err.reasons; // the policy's, as the core's own refusals carry them
    const body = JSON.stringify(p);
    return { status: st, statusText: '', headers: [['content-type', 'application/problem+json'], ['x-isogate-code', code]], body: new TextEncoder().encode(body) };
  }

  // send makes one gated request: {status, statusText, headers, body}. An
  // aborted signal rejects with its reason, and the core cancels the call.
  async function send(method, u, headers, body, signal = null, credentials = 'same-origin') {
    const args = { path: u.pathname, query: u.search.slice(1), headers, body: body && body.byteLength ? new Uint8Array(body) : null };
    if (credentials === 'omit') args.credentials = 'omit'; // the core's jar neither sends the upstream's cookies nor keeps new ones
    try {
      return await call('http', method, args, signal);
    } catch (err) {
      if (signal && signal.aborted && err === signal.reason) throw err;
      return problem(err);
    }
  }

  // gatedFetch is fetch for API URLs: the browser's Request builds the
  // body and its content type (string, URLSearchParams, FormData, Blob,
  // buffers), redirects are followed as new gated requests.
  async function gatedFetch(input, init) {
    // Decided on the URL alone: a Request built here would take over the
    // body of a Request passed in, and the browser's fetch could not send it.
    const href = input instanceof win.Request ? input.url : String(input);
    if (gatedURL(href) === null) return nativeFetch(input, init);
    const req = new Request(input, init);
    let u = gatedURL(req.url);
    if (u === null) return nativeFetch(req);
    const signal = req.signal;
    if (signal.aborted) throw signal.reason;
    const headers = {};
    req.headers.forEach((v, k) => { headers[k] = v; });
    const body = req.method === 'GET' || req.method === 'HEAD' ? null : await req.arrayBuffer();
    const out = await follow(req.method, u, headers, body, {
      signal, redirect: req.redirect, credentials: req.credentials,
      // Only a hop to another origin uses these: it goes to the browser's
      // fetch, which must treat it as the page's request would be.
      native: { mode: req.mode === 'navigate' ? 'same-origin' : req.mode, cache: req.cache, referrerPolicy: req.referrerPolicy, integrity: req.integrity, keepalive: req.keepalive },
    });
    if (out.native) return out.native;
    if (REDIRECTS.has(out.res.status) && req.redirect === 'manual') return opaqueRedirect(out.res, out.u);
    const r = toResponse(out.res, out.u);
    if (out.hops > 0) Object.defineProperty(r, 'redirected', { value: true });
    return r;
  }

  // follow makes a gated request and, as fetch and XHR do, follows its
  // redirects (redirect "follow"; "error" rejects any redirect status,
  // "manual" hands it back, and so does "follow" one without a Location):
  // each hop on the app's API is a new gated request, a hop to
  // anywhere else goes to the browser's fetch, with the request's mode,
  // cache, referrer policy, integrity and keepalive (native). It resolves
  // to {res, u, hops} (the last gated response and its URL) or {native}
  // (the browser's Response from elsewhere).
  async function follow(method, u, headers, body, { signal = null, redirect = 'follow', credentials = 'same-origin', native = {} } = {}) {
    headers = { ...headers };
    for (let hops = 0; ; hops++) {
      const res = await send(method, u, headers, body, signal, credentials);
      const location = res.headers.find(([k]) => k === 'location');
      if (!REDIRECTS.has(res.status) || redirect === 'manual') return { res, u, hops };
      if (redirect === 'error') {
        if (res.body instanceof ReadableStream) res.body.cancel();
        throw new TypeError(`isogate: ${u.pathname} redirected and the request's redirect mode is "error"`);
      }
      if (!location) return { res, u, hops };
      if (res.body instanceof ReadableStream) res.body.cancel(); // a redirect's own body is not read
      if (hops === MAX_REDIRECTS) throw new TypeError('isogate: too many redirects');
      const next = new URL(location[1], u);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new TypeError(`isogate: ${u.pathname} redirected to a ${next.protocol} URL`);
      // Fetch's rule: a 303 turns any method but GET and HEAD into a GET,
      // a 301 or 302 only a POST, and the body goes with the headers that
      // describe it.
      if ((res.status === 303 && method !== 'GET' && method !== 'HEAD') || (res.status <= 302 && method === 'POST')) {
        method = 'GET';
        body = null;
        for (const h of BODY_HEADERS) delete headers[h];
      }
      if (next.origin !== origin) {
        // Fetch's rules for a redirect to another origin: a same-origin
        // request fails, and Authorization is not sent on.
        if (native.mode === 'same-origin') throw new TypeError(`isogate: ${u.pathname} redirected to another origin and the request's mode is "same-origin"`);
        delete headers.authorization;
      }
      const gated = gatedURL(next.href);
      if (gated === null) return { native: await nativeFetch(next.href, { ...native, method, headers, body, signal, credentials }) };
      u = gated;
    }
  }

  // followXHR is follow for XMLHttpRequest, which always follows: a
  // response from another origin is read whole into the gated shape.
  async function followXHR(method, u, headers, body, signal, credentials) {
    const out = await follow(method, u, headers, body, { signal, credentials });
    if (!out.native) return out;
    const n = out.native;
    const hs = [];
    n.headers.forEach((v, k) => hs.push([k, v]));
    return { res: { status: n.status, statusText: n.statusText, headers: hs, body: new Uint8Array(await n.arrayBuffer()) }, u: new URL(n.url) };
  }

  // opaqueRedirect is what fetch gives for a redirect with redirect
  // "manual": an opaque-redirect response, status 0, no headers, no body,
  // the request's URL. The page learns that it was redirected, not where.
  function opaqueRedirect(res, u) {
    if (res.body instanceof ReadableStream) res.body.cancel();
    const r = Response.error(); // status 0, headers empty and immutable, body null
    Object.defineProperties(r, {
      type: { value: 'opaqueredirect' },
      url: { value: withoutFragment(u) },
      clone: { value: () => opaqueRedirect({ body: null }, u) }, // Response.error's clone would be type "error"
    });
    return r;
  }

  // toResponse is the page's Response: its body the bytes, or the stream
  // of them when the core streams a long one.
  function toResponse(res, u) {
    const nullBody = res.status === 204 || res.status === 205 || res.status === 304 || res.status < 200;
    if (nullBody && res.body instanceof ReadableStream) res.body.cancel();
    const r = new Response(nullBody ? null : res.body, { status: res.status, statusText: res.statusText, headers: res.headers });
    Object.defineProperty(r, 'url', { value: withoutFragment(u) });
    return r;
  }

  win.fetch = gatedFetch;
  win.XMLHttpRequest = gatedXHR(win.XMLHttpRequest, gatedURL, followXHR);
  if (win.navigator && typeof win.navigator.sendBeacon === 'function') {
    const nativeBeacon = win.navigator.sendBeacon.bind(win.navigator);
    win.navigator.sendBeacon = (url, data) => {
      const u = gatedURL(url);
      if (u === null) return nativeBeacon(url, data);
      const req = new Request(u.href, { method: 'POST', body: data === undefined ? null : data });
      const headers = {};
      req.headers.forEach((v, k) => { headers[k] = v; });
      req.arrayBuffer().then((b) => send('POST', u, headers, b)).catch(() => {});
      return true; // queued, as a beacon is
    };
  }
  // A WebSocket or EventSource to the API cannot go through the gate yet:
  // refused here with a clear error (the core refuses it unsealed anyway).
  for (const name of ['WebSocket', 'EventSource']) {
    const Native = win[name];
    if (typeof Native !== 'function') continue;
    win[name] = new Proxy(Native, {
      construct(target, args) {
        const u = args.length ? gatedURL(String(args[0]).replace(/^ws/, 'http')) : null;
        if (u !== null) throw new DOMException(`isogate: a ${name} to the app's API (${u.pathname}) does not go through the gate`, 'SecurityError');
        return Reflect.construct(target, args);
      },
    });
  }
}

// withoutFragment is u as a response's URL gives it: without its #fragment.
function withoutFragment(u) {
  const v = new URL(u.href);
  v.hash = '';
  return v.href;
}

// gatedXHR is an XMLHttpRequest whose requests to API URLs go through the
// gate: the same object, events and properties, fed by the gated response.
function gatedXHR(Native, gatedURL, follow) {
  const nativeOpen = Native.prototype.open;
  const nativeSend = Native.prototype.send;
  const nativeSet = Native.prototype.setRequestHeader;
  const nativeAbort = Native.prototype.abort;
  const props = ['readyState', 'status', 'statusText', 'response', 'responseText', 'responseURL', 'responseXML'];
  const g = new WeakMap(); // xhr -> the gated request's state
  const overrides = new WeakMap(); // xhr -> its overrideMimeType, which outlives open

  class XMLHttpRequest extends Native {
    overrideMimeType(mime) {
      const s = g.get(this);
      if (s !== undefined && s.readyState >= 3) throw new DOMException('overrideMimeType after the response began', 'InvalidStateError');
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
        // A synchronous request cannot wait for the gate; it never goes
        // around it either.
        console.error(`isogate: synchronous XMLHttpRequest to ${u.pathname} is not supported: the gate answers asynchronously`);
        throw new DOMException('isogate: synchronous XMLHttpRequest to the app\'s API is not supported', 'InvalidAccessError');
      }
      g.set(this, { method: String(method).toUpperCase(), u, headers: {}, readyState: 1, status: 0, statusText: '', res: null, done: false, aborted: false });
      this.dispatchEvent(new Event('readystatechange'));
    }

    setRequestHeader(name, value) {
      const s = g.get(this);
      if (s === undefined) return nativeSet.call(this, name, value);
      const k = String(name).toLowerCase();
      s.headers[k] = k in s.headers ? `${s.headers[k]}, ${value}` : String(value);
    }

    send(body) {
      const s = g.get(this);
      if (s === undefined) return nativeSend.call(this, body);
      const init = { method: s.method, headers: s.headers };
      if (body !== undefined && body !== null && s.method !== 'GET' && s.method !== 'HEAD') init.body = body;
      const req = new Request(s.u.href, init);
      const headers = {};
      req.headers.forEach((v, k) => { headers[k] = v; });
      const fire = (type, init2) => this.dispatchEvent(type === 'readystatechange' ? new Event(type) : new ProgressEvent(type, init2));
      fire('loadstart', { loaded: 0, total: 0 });
      s.ac = new AbortController(); // abort() and the timeout cancel the gated call
      let timer = null;
      if (this.timeout > 0) {
        timer = setTimeout(() => {
          if (s.done) return;
          s.done = true;
          s.ac.abort(new DOMException('timed out', 'TimeoutError'));
          s.readyState = 4;
          fire('readystatechange');
          fire('timeout');
          fire('loadend');
        }, this.timeout);
      }
      const failed = () => {
        if (s.done) return;
        s.done = true;
        clearTimeout(timer);
        s.res = null;
        s.status = 0;
        s.readyState = 4;
        fire('readystatechange');
        fire('error');
        fire('loadend');
      };
      // Upload events (axios's onUploadProgress) on xhr.upload: the body
      // is sent whole, so one progress event once the gate has it all.
      const upload = this.upload;
      let sent = 0;
      const fireUpload = (type) => upload.dispatchEvent(new ProgressEvent(type, { lengthComputable: true, loaded: type === 'loadstart' ? 0 : sent, total: sent }));
      (init.body === undefined ? Promise.resolve(null) : req.arrayBuffer())
        .then((b) => {
          if (b && b.byteLength) {
            sent = b.byteLength;
            fireUpload('loadstart');
          }
          return follow(s.method, s.u, headers, b, s.ac.signal, this.withCredentials ? 'include' : 'same-origin');
        })
        .then(async ({ res, u }) => {
          if (s.done) return;
          if (sent) for (const type of ['progress', 'load', 'loadend']) fireUpload(type);
          s.u = u; // responseURL is where the redirects ended
          s.res = { ...res, body: null };
          s.status = res.status;
          s.statusText = res.statusText;
          s.readyState = 2;
          fire('readystatechange');
          s.readyState = 3;
          fire('readystatechange');
          // A streamed body is read as it comes, with a progress event per
          // chunk; the response is whole at load, as XHR's is.
          let body = res.body || new Uint8Array(0);
          let whole = true;
          if (body instanceof ReadableStream) {
            whole = false;
            const parts = [];
            let n = 0;
            const reader = body.getReader();
            for (;;) {
              const { done, value } = await reader.read();
              if (s.done) return;
              if (done) break;
              parts.push(value);
              n += value.byteLength;
              fire('progress', { lengthComputable: false, loaded: n, total: 0 });
            }
            body = new Uint8Array(n);
            let at = 0;
            for (const p of parts) { body.set(p, at); at += p.byteLength; }
          }
          if (s.done) return;
          s.done = true;
          clearTimeout(timer);
          s.res.body = body;
          const n = body.byteLength;
          if (whole) fire('progress', { lengthComputable: true, loaded: n, total: n });
          s.readyState = 4;
          fire('readystatechange');
          fire('load', { lengthComputable: true, loaded: n, total: n });
          fire('loadend', { lengthComputable: true, loaded: n, total: n });
        })
        .catch(failed);
    }

    abort() {
      const s = g.get(this);
      if (s === undefined) return nativeAbort.call(this);
      if (s.done || s.readyState === 0) return;
      s.done = true;
      s.aborted = true;
      if (s.ac) s.ac.abort();
      s.readyState = 4;
      this.dispatchEvent(new Event('readystatechange'));
      this.dispatchEvent(new ProgressEvent('abort'));
      this.dispatchEvent(new ProgressEvent('loadend'));
      s.readyState = 0;
    }

    getResponseHeader(name) {
      const s = g.get(this);
      if (s === undefined) return super.getResponseHeader(name);
      if (!s.res || s.readyState < 2) return null;
      const k = String(name).toLowerCase();
      const vs = s.res.headers.filter(([h]) => h === k).map(([, v]) => v);
      return vs.length ? vs.join(', ') : null;
    }

    getAllResponseHeaders() {
      const s = g.get(this);
      if (s === undefined) return super.getAllResponseHeaders();
      if (!s.res || s.readyState < 2) return '';
      return s.res.headers.map(([k, v]) => `${k}: ${v}\r\n`).join('');
    }
  }

  // The response's properties, from the gated response when there is one.
  // finalType is XHR's final MIME type: the overrideMimeType, else the
  // response's Content-Type (null when it has none).
  const finalType = (s, xhr) => {
    if (overrides.has(xhr)) return overrides.get(xhr);
    const ct = s.res.headers.find(([k]) => k === 'content-type');
    return ct ? ct[1] : null;
  };
  // Text is decoded as XHR decodes it: by a byte order mark, else by the
  // charset the final MIME type names, else UTF-8 (also for a charset the
  // browser does not know); JSON is always UTF-8.
  const text = (s, xhr, utf8 = false) => {
    if (!s.res || !s.res.body) return '';
    const b = s.res.body;
    const bom = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 'utf-8'
      : b[0] === 0xfe && b[1] === 0xff ? 'utf-16be'
        : b[0] === 0xff && b[1] === 0xfe ? 'utf-16le' : null;
    const cs = bom || utf8 ? null : /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(finalType(s, xhr) || '');
    const label = bom || (cs ? cs[1] : 'utf-8');
    let dec;
    try { dec = new TextDecoder(label); } catch { dec = new TextDecoder(); }
    return dec.decode(b); // a BOM of its own encoding is dropped
  };
  // documentOf is the response as a Document, as XHR gives it: XML by its
  // content type, HTML too when the responseType is "document"; null for
  // anything else or XML that does not parse. DOMParser runs no scripts,
  // as XHR's documents do not. Parsed once per response.
  const documentOf = (s, xhr, html) => {
    if (!s.res) return null;
    if (!('doc' in s)) {
      const ft = finalType(s, xhr);
      const mime = ft !== null ? ft.split(';')[0].trim().toLowerCase() : 'text/xml'; // XHR's type for a response without one
      const xml = mime === 'text/xml' || mime === 'application/xml' || mime.endsWith('+xml');
      let doc = null;
      if (xml || mime === 'text/html') {
        doc = new DOMParser().parseFromString(text(s, xhr), xml ? 'application/xml' : 'text/html');
        if (xml && doc.getElementsByTagName('parsererror').length > 0) doc = null;
      }
      s.doc = { doc, html: mime === 'text/html' };
    }
    return s.doc.html && !html ? null : s.doc.doc;
  };
  const values = {
    readyState: (s) => s.readyState,
    status: (s) => (s.aborted ? 0 : s.status),
    statusText: (s) => s.statusText,
    responseURL: (s) => (s.res ? withoutFragment(s.u) : ''),
    responseXML: (s, xhr) => {
      if (xhr.responseType !== '' && xhr.responseType !== 'document') throw new DOMException('responseXML is only for documents', 'InvalidStateError');
      return s.readyState === 4 ? documentOf(s, xhr, xhr.responseType === 'document') : null;
    },
    responseText: (s, xhr) => {
      if (xhr.responseType !== '' && xhr.responseType !== 'text') throw new DOMException('responseText is only for text', 'InvalidStateError');
      return s.readyState === 4 ? text(s, xhr) : '';
    },
    response: (s, xhr) => {
      if (s.readyState !== 4 || !s.res) return xhr.responseType === '' || xhr.responseType === 'text' ? '' : null;
      const bytes = s.res.body || new Uint8Array(0);
      switch (xhr.responseType) {
        case 'arraybuffer': return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
        case 'blob': return new Blob([bytes], { type: finalType(s, xhr) || '' });
        case 'json':
          try { return JSON.parse(text(s, xhr, true)); } catch { return null; }
        case 'document':
          return documentOf(s, xhr, true);
        default:
          return text(s, xhr);
      }
    },
  };
  for (const p of props) {
    const native = Object.getOwnPropertyDescriptor(Native.prototype, p) || Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Native.prototype), p);
    Object.defineProperty(XMLHttpRequest.prototype, p, {
      configurable: true,
      enumerable: true,
      get() {
        const s = g.get(this);
        if (s === undefined) return native.get.call(this);
        return values[p](s, this);
      },
    });
  }
  return XMLHttpRequest;
}
