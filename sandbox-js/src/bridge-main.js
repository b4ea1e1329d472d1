// Entry point of the bridge: <script src="/__isogate/bridge.js"
// data-isogate-frame="URL" [data-isogate-api="{prefixes, status}"]>.
import { createBridge } from './bridge.js';
import { installHTTP } from './http.js';

(() => {
  const script = document.currentScript;
  const frameURL = script && script.getAttribute('data-isogate-frame');
  if (!frameURL || window.isogate) return;
  const apiConfig = script.getAttribute('data-isogate-api');
  script.remove();
  let call = null;
  const api = createBridge({ frameURL, document, fetch: window.fetch.bind(window), withCall: (c) => { call = c; } });
  Object.defineProperty(window, 'isogate', { value: api, enumerable: true });
  if (apiConfig) {
    const { prefixes, status } = JSON.parse(apiConfig);
    installHTTP({ win: window, call, prefixes, status });
  }
})();
