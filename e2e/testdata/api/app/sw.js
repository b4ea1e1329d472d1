// A service worker: its fetches are not the page's, so the bridge never sees
// them. The test asks it to call the API directly; the core must refuse it.
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('message', (e) => {
  e.waitUntil(fetch('/api/notes', { method: e.data }).then((r) => r.status, () => -1).then((s) => e.source.postMessage(s)));
});
