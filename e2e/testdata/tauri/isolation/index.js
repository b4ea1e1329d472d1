// A Tauri isolation app, as Tauri's docs write one: it sees every IPC
// message and returns the one to send.
window.__TAURI_ISOLATION_HOOK__ = async (payload) => {
  if (payload.cmd === 'greet') {
    const name = payload.payload.name;
    if (name === 'Mallory') throw new Error('no Mallory');
    if (name === 'Slow') return new Promise(() => {});
    if (name === 'Nothing') return undefined;
    if (name === 'Rewrite') return { ...payload, payload: { name: 'Rewritten' }, options: { headers: { 'x-hooked': payload.window } } };
    if (name === 'Sneaky') return { ...payload, cmd: 'secret', payload: {} }; // rewritten into a call the policy denies
  }
  if (payload.cmd.startsWith('plugin:event|')) return payload;
  // Every other command goes on with a header the backend can see.
  return { ...payload, options: { headers: { ...((payload.options && payload.options.headers) || {}), 'x-hooked': payload.window } } };
};
