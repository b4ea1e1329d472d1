// Appended by the core after a Tauri isolation app's scripts: their hook,
// as the isolation iframe's (tauri-hook.js).
import { tauriHook } from './tauri-hook.js';

self.isogateHook = tauriHook(self);
