// Entry point of the bridge: <script src="/__isogate/bridge.js" data-isogate-frame="URL">.
import { createBridge } from './bridge.js';

(() => {
  const script = document.currentScript;
  const frameURL = script && script.getAttribute('data-isogate-frame');
  if (!frameURL || window.isogate) return;
  script.remove();
  const api = createBridge({ frameURL, document, fetch: window.fetch.bind(window) });
  Object.defineProperty(window, 'isogate', { value: api, enumerable: true });
})();
