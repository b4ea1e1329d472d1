// Entry point of the bridge: <script src="/__isogate/bridge.js"
// data-isogate-frame="URL" [data-isogate-api="{prefixes, status}"]
// [data-isogate-tauri="{window, os}"]>.
import { createBridge } from './bridge.js';
import { installHTTP } from './http.js';
import { installTauri } from './tauri.js';

(() => {
  const script = document.currentScript;
  const frameURL = script && script.getAttribute('data-isogate-frame');
  if (!frameURL || window.isogate) return;
  const apiConfig = script.getAttribute('data-isogate-api');
  const tauriConfig = script.getAttribute('data-isogate-tauri');
  script.remove();
  let call = null;
  let tapped = null; // the Tauri shim's, once installed
  const tap = tauriConfig ? { event: (m) => tapped && tapped.event(m), channel: (m) => tapped && tapped.channel(m) } : null;
  const api = createBridge({ frameURL, document, fetch: window.fetch.bind(window), withCall: (c) => { call = c; }, tap });
  Object.defineProperty(window, 'isogate', { value: api, enumerable: true });
  if (apiConfig) {
    const { prefixes, status } = JSON.parse(apiConfig);
    installHTTP({ win: window, call, prefixes, status });
  }
  if (tauriConfig) tapped = installTauri({ win: window, call, config: JSON.parse(tauriConfig) });
})();
