// A Tauri frontend that closes its own window through @tauri-apps/api once
// a call has gone through: the app ends, as a Tauri app does when its last
// window closes.
import { invoke } from '@tauri-apps/api/core';
import { getCurrentWindow } from '@tauri-apps/api/window';

(async () => {
  await invoke('greet', { name: 'closing' });
  await getCurrentWindow().close();
})();
