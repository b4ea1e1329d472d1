// The frontend of the two-page test: @tauri-apps/api's event functions,
// for the test to drive.
import { listen, emit } from '@tauri-apps/api/event';

window.got = [];
window.t = {
  listen: async () => {
    let id;
    await listen('ping', (e) => { id = e.id; window.got.push(e.payload); });
    return true;
  },
  emit: (p) => emit('ping', p),
};
