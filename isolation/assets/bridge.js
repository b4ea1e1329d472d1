(() => {
  // src/bridge.js
  function createBridge({ frameURL, document: document2, window: window2 }) {
    const pending = /* @__PURE__ */ new Map();
    let nextID = 1;
    let markReady;
    const ready = new Promise((resolve) => {
      markReady = resolve;
    });
    const iframe = document2.createElement("iframe");
    iframe.setAttribute("sandbox", "allow-scripts");
    iframe.setAttribute("aria-hidden", "true");
    iframe.setAttribute("tabindex", "-1");
    iframe.style.cssText = "display:none!important";
    iframe.src = frameURL;
    (document2.body || document2.documentElement).appendChild(iframe);
    const frame = iframe.contentWindow;
    function fail(code, message) {
      const err = new Error(message);
      err.name = "IsogateError";
      err.code = code;
      return err;
    }
    window2.addEventListener("message", (ev) => {
      if (frame === null || ev.source !== frame) return;
      const m = ev.data;
      if (m === null || typeof m !== "object") return;
      if (m.type === "ready") {
        markReady();
        return;
      }
      if (m.type !== "reply") return;
      const p = pending.get(m.id);
      if (p === void 0) return;
      pending.delete(m.id);
      if (m.ok === true) p.resolve(m.result);
      else p.reject(fail(String(m.error && m.error.code), String(m.error && m.error.message)));
    });
    async function invoke(cmd, args) {
      await ready;
      const id = nextID++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        frame.postMessage({ type: "invoke", id, kind: "command", name: cmd, args: args === void 0 ? null : args }, "*");
      });
    }
    return Object.freeze({ invoke, ready });
  }

  // src/bridge-main.js
  (() => {
    const script = document.currentScript;
    const frameURL = script && script.getAttribute("data-isogate-frame");
    if (!frameURL || window.isogate) return;
    script.remove();
    const api = createBridge({ frameURL, document, window });
    Object.defineProperty(window, "isogate", { value: api, enumerable: true });
  })();
})();
